"""How many threads NumPy's BLAS (and any OpenMP runtime) may use, on threadpoolctl.

chainrule does its arithmetic in NumPy, whose matrix products run in a BLAS library
(OpenBLAS, MKL, ...) with its own thread pool.  These functions set that pool's size the way
``torch.set_num_threads`` does for PyTorch, through `threadpoolctl
<https://github.com/joblib/threadpoolctl>`_, which finds the loaded BLAS and OpenMP libraries
and calls their own setters: nothing here guesses at environment variables.

When is one thread faster?  A BLAS thread pool pays for waking and synchronising its threads on
every product.  For the small matrices of a typical mini-batch step (a 784-100-10 network on
batches of 100) that overhead is larger than the work, and on a machine whose cores are busy
with other processes the threads also wait for a core: there one thread is faster, often by a
large factor.  Large products (wide layers, big convolutions, big batches) on idle cores gain
from more threads.  Measure both with ``bench/mlp.py --threads 1`` and ``--threads 2``.

Examples
--------
>>> import chainrule as cr
>>> before = cr.get_num_threads()
>>> with cr.num_threads(1):
...     cr.get_num_threads()
1
>>> cr.get_num_threads() == before
True
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["set_num_threads", "get_num_threads", "num_threads", "one_blas_thread"]

#: the threadpool_limits object of the last set_num_threads call (kept so the limit stays)
_GLOBAL_LIMIT = None
#: threadpoolctl's controller of the BLAS libraries loaded at its first use (finding them takes milliseconds)
_BLAS = None


def _load_blas():
    """Load SciPy's BLAS before a limit is set: threadpoolctl reaches only the libraries loaded at the
    time, and SciPy ships an OpenBLAS of its own beside NumPy's (scikit-learn's and chainrule's
    L-BFGS, ``chainrule.scipy`` run on it), which would otherwise keep its default thread count."""
    try:
        import scipy.linalg  # noqa: F401
    except ImportError:  # pragma: no cover - scipy is a dependency
        pass


def _check(n, what):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: the number of threads must be a positive integer, got {n!r}")
    return n


def set_num_threads(n: int) -> None:
    """Limit NumPy's and SciPy's BLAS and any OpenMP runtime to ``n`` threads, for the rest of the process.

    The limit reaches the libraries loaded when it is set (SciPy's BLAS is loaded first, here);
    one that a later import loads (an OpenMP runtime of scikit-learn's, say) keeps its own
    default until the next call.

    Parameters
    ----------
    n : int
        A positive number of threads (1 is often fastest for small networks on busy machines;
        see :mod:`chainrule.threads`).

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer.

    See Also
    --------
    num_threads : the same limit for a ``with`` block only.
    get_num_threads : the current BLAS thread count.
    """
    global _GLOBAL_LIMIT
    _check(n, "set_num_threads")
    from threadpoolctl import threadpool_limits

    _load_blas()

    _GLOBAL_LIMIT = threadpool_limits(limits=n)


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS library uses now (the largest, if several are loaded).

    Returns
    -------
    int
        As threadpoolctl reports it; 1 when no BLAS library is loaded.
    """
    from threadpoolctl import threadpool_info

    counts = [int(info["num_threads"]) for info in threadpool_info() if info.get("user_api") == "blas"]
    return max(counts) if counts else 1


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Limit BLAS and OpenMP to ``n`` threads inside a ``with`` block; the old limits come back after.

    Parameters
    ----------
    n : int
        A positive number of threads.

    Examples
    --------
    >>> import chainrule as cr
    >>> with cr.num_threads(1):
    ...     cr.get_num_threads()
    1
    """
    _check(n, "num_threads")
    from threadpoolctl import threadpool_limits

    _load_blas()

    with threadpool_limits(limits=n):
        yield


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """A context in which the BLAS runs on one thread, for work made of many small products
    (a recurrent layer's step-by-step loop, a QR factorization of a weight matrix): waking and
    synchronising a second thread for a product of some microseconds costs more than it saves,
    and on a machine whose other core is busy each product waits for it.  The thread count in
    force comes back on leaving.  A no-op where the BLAS already runs on one thread (a cheap
    check), so a loop of such calls pays for the limit only when there is one to set.

    The BLAS libraries are the ones loaded when this is first called (threadpoolctl finds them once).
    """
    global _BLAS
    try:
        if _BLAS is None:
            from threadpoolctl import ThreadpoolController
            _BLAS = ThreadpoolController().select(user_api="blas")
        if all(lib.get_num_threads() <= 1 for lib in _BLAS.lib_controllers):
            return contextlib.nullcontext()
        return _BLAS.limit(limits=1)
    except Exception:  # pragma: no cover - threadpoolctl is a dependency; without it, run as is
        return contextlib.nullcontext()

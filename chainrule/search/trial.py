"""One trial: build a candidate's model, fit it on one fold, score it.  Runs wherever the backend puts it.

``build(params)`` may return

* a compiled chainrule model (any :class:`chainrule.nn.Module` after ``compile``), fitted with
  ``model.fit(X, y, seed=<trial seed>, verbose=0, **fit_kwargs)``;
* a scikit-learn style estimator (``chainrule.sklearn.MLPClassifier``, scikit-learn's own, ...),
  fitted with ``est.fit(X, y, **fit_kwargs)``; a ``random_state`` left at None gets the trial seed;
* ``(net, scheduler)`` with a :class:`chainrule.ffnn.FFNN` and its scheduler, fitted with
  ``net.fit(X, t, scheduler, verbose=False, **fit_kwargs)`` (integer labels are one-hot encoded
  for a network with several outputs); a net without a seed gets the trial seed;

and any of them with a dict of per-candidate fit arguments last: ``(model, {"epochs": 20})``,
``(net, scheduler, {"lam": 0.1})``.  ``build`` runs with chainrule's global generator seeded by
the trial seed, so initial weights drawn there are the trial's too.

A trial never raises: an exception becomes ``status='failed'`` with its message and traceback,
a training loss (or network output) that became NaN or infinite becomes ``status='diverged'``.
One process runs one trial at a time (chainrule's generator and default dtype are global).
"""
from __future__ import annotations

import contextlib
import math
import os
import socket
import sys
import threading
import time
import traceback
import warnings

from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, Union

import numpy as np

from chainrule.search.space import jsonable
from chainrule.search.state import State
from chainrule.tensor import fork_rng, get_default_dtype, set_default_dtype

if TYPE_CHECKING:
    from chainrule.ffnn import FFNN, Scheduler
    from chainrule.training import Trainer

__all__ = ["Bundle", "Task", "run_trial", "run_trials", "adapt", "score_model"]

_LOCK = threading.Lock()
_LIMITS = {"threads": None, "handle": None}


class Bundle:
    """What every trial of a search shares: shipped to each worker once (as a worker plugin on Dask)."""

    def __init__(self, build: Callable[[dict[str, Any]], Any], X: np.ndarray, y: np.ndarray,
                 X_val: np.ndarray | None, y_val: np.ndarray | None,
                 folds: list[tuple[np.ndarray, np.ndarray]] | None, fit_kwargs: dict[str, Any],
                 scoring: str | Callable[[Any, Any, Any], float] | None, threads: int, resource: str | None) -> None:
        self.build, self.X, self.y, self.X_val, self.y_val = build, X, y, X_val, y_val
        self.folds, self.fit_kwargs, self.scoring, self.threads, self.resource = \
            folds, fit_kwargs, scoring, threads, resource

    def split(self, fold: int, n_resources: int | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(X_train, y_train, X_test, y_test) of one fold; ``n_resources`` samples when the resource is n_samples."""
        if self.X_val is not None:
            Xtr, ytr, Xte, yte = self.X, self.y, self.X_val, self.y_val
        else:
            tr, te = self.folds[fold]
            Xtr, ytr, Xte, yte = self.X[tr], self.y[tr], self.X[te], self.y[te]
        if self.resource == "n_samples" and n_resources is not None:
            Xtr, ytr = Xtr[:n_resources], ytr[:n_resources]
        return Xtr, ytr, Xte, yte


class Task:
    """One trial to run: a candidate's parameters on one fold, with its key and seed."""

    __slots__ = ("key", "candidate", "fold", "params", "seed", "n_resources", "rung", "state", "keep_state")

    def __init__(self, key: str, candidate: int, fold: int, params: dict[str, Any], seed: int,
                 n_resources: int | None = None, rung: int | None = None, state: State | None = None,
                 keep_state: bool = False) -> None:
        self.key, self.candidate, self.fold, self.params, self.seed = key, candidate, fold, params, seed
        self.n_resources, self.rung = n_resources, rung
        #: the candidate's state after the previous rung (halving over epochs): training goes on from it
        self.state = state
        #: return this trial's state (weights, optimizer, generator, epochs) for the next rung
        self.keep_state = keep_state

    def __getstate__(self):
        return {s: getattr(self, s) for s in self.__slots__}

    def __setstate__(self, state):
        for k, v in state.items():
            setattr(self, k, v)


def _limit_threads(n):
    """Limit BLAS/OpenMP threads of this (worker) process to n, once; threadpoolctl keeps the limit."""
    if n is None or _LIMITS["threads"] == n:
        return
    from threadpoolctl import threadpool_limits
    _LIMITS["handle"] = threadpool_limits(limits=int(n))
    _LIMITS["threads"] = n


def _thread_controller():
    """This process's threadpoolctl controller, made once: a trial on a shared (Dask) worker limits
    its BLAS threads through it.  Making one inspects every loaded library (about 4 ms, 7-12 ms a
    trial on a Dask worker with limiting and restoring: a seventh of a short trial's CPU); the
    libraries a worker has when it runs its first trial are the ones it limits."""
    ctl = _LIMITS.get("controller")
    if ctl is None:
        from threadpoolctl import ThreadpoolController
        ctl = _LIMITS["controller"] = ThreadpoolController()
    return ctl


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters (malloc.h)
_LIBC = {}


def _glibc():
    """glibc through ctypes (for mallopt), or None elsewhere."""
    if "lib" not in _LIBC:
        lib = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes
                cand = ctypes.CDLL("libc.so.6")
                lib = cand if hasattr(cand, "mallopt") and hasattr(cand, "gnu_get_libc_version") else None
            except OSError:
                lib = None
        _LIBC["lib"] = lib
    return _LIBC["lib"]


@contextlib.contextmanager
def _malloc_kept():
    """Run a trial with glibc's malloc keeping freed memory, in a process started with ``MALLOC_TRIM_THRESHOLD_``.

    Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (which also pins the mmap
    threshold at 128 KiB), so that long-lived workers give memory back.  For a trial, which frees
    and allocates the same NumPy temporaries thousands of times, it means a page fault per 4 KiB
    each time: nearly twice the CPU time.  During the trial the thresholds are raised; after it the
    process's own are set back and the memory is trimmed once, as Dask's setting intends.
    """
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    libc = _glibc() if trim is not None else None
    if libc is None:
        yield
        return
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    try:
        yield
    finally:
        try:
            libc.mallopt(_M_MMAP_THRESHOLD, int(os.environ.get("MALLOC_MMAP_THRESHOLD_", 128 << 10)))
            libc.mallopt(_M_TRIM_THRESHOLD, int(trim))
        except ValueError:   # a value the process was started with that is not a number: glibc ignored it too
            pass
        libc.malloc_trim(0)


def _finite_list(values):
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(f if math.isfinite(f) else None)
    return out


def _first_not_finite(values):
    for i, v in enumerate(values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(f):
            return i, f
    return None


# ------------------------------------------------------------------------ adapters
class _Module:
    """A compiled chainrule model."""

    kind = "chainrule"

    def __init__(self, model, fit_kwargs):
        if getattr(model, "_compiled", None) is None:
            raise TypeError("build returned a chainrule model that is not compiled; call model.compile(optimizer=..., "
                            "loss=..., metrics=['accuracy']) inside build")
        self.model, self.fit_kwargs, self.hist = model, fit_kwargs, None
        self.initial_epoch, self.prev_hist, self.rng_state, self.gen, self.epochs = 0, {}, None, None, None

    def fit(self, X, y, seed, resource, n_resources):
        kw = {"verbose": 0, **self.fit_kwargs}
        if resource == "epochs" and n_resources is not None:
            kw["epochs"] = n_resources
        # the fit draws its shuffles (and dropout masks) from this generator, as fit(seed=seed) would from its
        # own: kept, its state lets the next rung go on with the very stream a longer fit would have drawn
        self.gen = np.random.default_rng(seed)
        if self.rng_state is not None:
            self.gen.bit_generator.state = self.rng_state
        if self.initial_epoch:
            kw["initial_epoch"] = self.initial_epoch
        with fork_rng(self.gen):
            self.hist = self.model.fit(X, y, seed=None, **kw).history
        self.epochs = int(kw.get("epochs", 1))

    def history(self):
        new = {k: _finite_list(v) for k, v in (self.hist or {}).items()}
        if not self.prev_hist:
            return new
        return {k: list(self.prev_hist.get(k, [])) + new.get(k, []) for k in {**self.prev_hist, **new}}

    def continue_from(self, state):
        """Load the weights, optimizer state, epochs and generator of ``state`` (from :meth:`snapshot`)."""
        m = state.meta
        if m.get("kind") != self.kind or self.fit_kwargs.get("callbacks"):
            return False  # callbacks (EarlyStopping, ...) keep state of their own that a new fit would not have
        w = {k[2:]: v for k, v in state.arrays.items() if k.startswith("w/")}
        self.model.load_state_dict(w)
        opt = m["optimizer"]
        slots = [{name: state.arrays[f"o/{i}/{name}"] for name in names} for i, names in enumerate(opt["slots"])]
        self.model._compiled["optimizer"].load_state_dict({"config": opt["config"], "iterations": opt["iterations"],
                                                           "state": slots, "groups": opt["groups"]})
        self.rng_state = m["rng"]
        self.initial_epoch, self.prev_hist = int(m["epochs"]), m.get("history") or {}
        return True

    def snapshot(self):
        """The state to go on from: weights and buffers, optimizer slots and steps, epochs, the generator."""
        if self.gen is None or self.fit_kwargs.get("callbacks") or \
                len((self.hist or {}).get("loss", [])) != self.epochs - self.initial_epoch:
            return None  # stopped early (a callback, a non-finite loss): a longer fit would not simply go on
        arrays = {f"w/{k}": v for k, v in self.model.state_dict().items()}
        sd = self.model._compiled["optimizer"].state_dict()
        for i, entry in enumerate(sd["state"]):
            for name, v in entry.items():
                arrays[f"o/{i}/{name}"] = np.asarray(v)
        meta = {"kind": self.kind, "epochs": self.epochs, "rng": self.gen.bit_generator.state,
                "optimizer": {"config": sd["config"], "iterations": sd["iterations"], "groups": sd["groups"],
                              "slots": [list(entry) for entry in sd["state"]]},
                "history": self.history()}
        return State(meta, arrays)

    def diverged(self):
        bad = _first_not_finite((self.hist or {}).get("loss", []))
        if bad:
            return f"the training loss became {bad[1]} in epoch {bad[0] + 1}"
        return None

    def default_scoring(self):
        for m in self.model._compiled["metrics"]:
            if isinstance(m, str) and m in ("accuracy", "acc", "r2", "binary_accuracy", "categorical_accuracy",
                                            "sparse_categorical_accuracy"):
                return m
        return "neg_loss"

    def score(self, X, y, scoring):
        if callable(scoring):
            return scoring(self.model, X, y)
        logs = self.model.evaluate(X, y, verbose=0, return_dict=True)
        name, sign = (scoring[4:], -1.0) if scoring.startswith("neg_") else (scoring, 1.0)
        if name in logs:
            return sign * float(logs[name])
        from chainrule import metrics as _metrics
        try:
            fn = _metrics.get(name)
        except ValueError:
            raise ValueError(f"scoring={scoring!r}: the model reports {', '.join(logs)} (compile it with "
                             f"metrics=[{name!r}]), or pass a callable scoring(model, X, y)") from None
        return sign * float(fn(y, self.model.predict(X)))

    @property
    def fitted(self):
        return self.model


class _Estimator:
    """A scikit-learn style estimator."""

    kind = "sklearn"

    def __init__(self, est, fit_kwargs):
        self.est, self.fit_kwargs = est, fit_kwargs
        self.initial_epoch = 0

    def continue_from(self, state):
        """Estimators train each rung from scratch: scikit-learn's ``fit`` (warm_start too) draws its
        shuffles from a generator made afresh from ``random_state`` on every call and starts a new
        optimizer and stopping counter, so a continued fit would not be the longer fit, and an
        estimator's state has no form but a pickle, which a resumed search would have to load."""
        return False

    def snapshot(self):
        """None: see :meth:`continue_from`."""
        return None

    def fit(self, X, y, seed, resource, n_resources):
        params = self.est.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            self.est.set_params(random_state=int(seed))
        kw = dict(self.fit_kwargs)
        if resource == "epochs" and n_resources is not None:
            if "max_iter" in params:
                self.est.set_params(max_iter=int(n_resources))
            else:
                kw["epochs"] = n_resources
        self.est.fit(X, y, **kw)

    def history(self):
        h = {}
        for attr, name in (("loss_curve_", "loss"), ("validation_scores_", "val_score")):
            v = getattr(self.est, attr, None)
            if v is not None:
                h[name] = _finite_list(v)
        return h

    def diverged(self):
        bad = _first_not_finite(getattr(self.est, "loss_curve_", None) or [])
        if bad:
            return f"the training loss became {bad[1]} in iteration {bad[0] + 1}"
        return None

    def default_scoring(self):
        return "score"

    def score(self, X, y, scoring):
        if callable(scoring):
            return scoring(self.est, X, y)
        if scoring == "score":
            return self.est.score(X, y)
        from sklearn.metrics import get_scorer
        return get_scorer(scoring)(self.est, X, y)

    @property
    def fitted(self):
        return self.est


class _FFNN:
    """The notes' FFNN with its scheduler."""

    kind = "ffnn"

    def __init__(self, net, scheduler, fit_kwargs):
        from chainrule.ffnn import Scheduler
        if not isinstance(scheduler, Scheduler):
            raise TypeError(f"build returned (FFNN, {type(scheduler).__name__}); the second entry must be the "
                            f"network's scheduler, e.g. (net, Constant(eta=params['eta']))")
        self.net, self.scheduler, self.fit_kwargs, self.scores = net, scheduler, fit_kwargs, None
        self.overflow = None
        self.initial_epoch, self.prev_hist, self.epochs = 0, {}, None

    def _continuable(self):
        # FFNN.fit shuffles once, with a generator made afresh from the net's seed, and gives every weight
        # matrix a fresh copy of the scheduler, which these three empty at the end of every epoch anyway:
        # their weights are all there is to carry.  Momentum, AdagradMomentum (the velocity) and Adam (its
        # epoch count) keep state across epochs in copies FFNN.fit makes anew on every call, so they restart.
        from chainrule.ffnn import Adagrad, Constant, RMS_prop
        return type(self.scheduler) in (Constant, Adagrad, RMS_prop)

    def continue_from(self, state):
        """Load the weights and epochs of ``state`` when the scheduler keeps nothing across epochs."""
        if state.meta.get("kind") != self.kind or not self._continuable():
            return False
        weights = [state.arrays[f"w/{i}"] for i in range(len(self.net.weights))]
        if [w.shape for w in weights] != [w.shape for w in self.net.weights]:
            return False
        self._weights = weights
        self.initial_epoch, self.prev_hist = int(state.meta["epochs"]), state.meta.get("history") or {}
        return True

    def snapshot(self):
        """The weights and epochs to go on from (None for schedulers with state across epochs, or a stop)."""
        errs = (self.scores or {}).get("train_errors")
        if not self._continuable() or self.overflow is not None or errs is None or not np.all(np.isfinite(errs)):
            return None
        meta = {"kind": self.kind, "epochs": self.epochs, "history": self.history()}
        return State(meta, {f"w/{i}": np.array(w, copy=True) for i, w in enumerate(self.net.weights)})

    def targets(self, y):
        y = np.asarray(y)
        n_out = self.net.dimensions[-1]
        if y.ndim == 1 and n_out > 1 and y.dtype.kind in "iu":
            return np.eye(n_out)[y]
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def fit(self, X, y, seed, resource, n_resources):
        if self.net.seed is None:
            self.net.seed = int(seed)
            self.net.reset_weights()
        kw = {"verbose": False, **self.fit_kwargs}
        if resource == "epochs" and n_resources is not None:
            kw["epochs"] = n_resources
        self.epochs = int(kw.get("epochs", 100))
        if self.initial_epoch:
            self.net.weights = [np.array(w, dtype=float, copy=True) for w in self._weights]
            kw["epochs"] = self.epochs - self.initial_epoch
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.scores = self.net.fit(X, self.targets(y), self.scheduler, **kw)
        for w in caught:
            if "overflowed" in str(w.message):
                self.overflow = str(w.message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        errs = self.scores["train_errors"]
        if self.overflow is None and not np.all(np.isfinite(errs)):
            raise KeyboardInterrupt  # FFNN.fit stops quietly on Ctrl-C: the trial did not finish

    def history(self):
        new = {k: _finite_list(v) for k, v in (self.scores or {}).items()}
        if not self.prev_hist:
            return new
        return {k: list(self.prev_hist.get(k, [])) + new.get(k, []) for k in {**self.prev_hist, **new}}

    def diverged(self):
        return self.overflow

    def default_scoring(self):
        return "accuracy" if self.net.classification else "neg_mean_squared_error"

    def score(self, X, y, scoring):
        if callable(scoring):
            return scoring(self.net, X, y)
        t = self.targets(y)
        out = self.net._feedforward(np.asarray(X, dtype=float))
        if scoring == "accuracy":
            return self.net._accuracy(self.net._decide(out), t)
        if scoring == "neg_mean_squared_error":
            return -float(np.mean((out - t) ** 2))
        if scoring == "neg_loss":
            return -float(self.net.cost_func(t)(out))
        raise ValueError(f"scoring={scoring!r}: an FFNN is scored by 'accuracy', 'neg_loss' or "
                         f"'neg_mean_squared_error', or by a callable scoring(net, X, y)")

    @property
    def fitted(self):
        return self.net


#: what :func:`adapt` returns: the trial's handle on a built model
Adapter = Union["_Module", "_Estimator", "_FFNN"]


def adapt(built: Any, fit_kwargs: dict[str, Any]) -> Adapter:
    """The adapter for what ``build`` returned (see the module docstring)."""
    from chainrule.ffnn import FFNN
    from chainrule.training import Trainer
    extra = {}
    items = built if isinstance(built, tuple) else (built,)
    if len(items) > 1 and isinstance(items[-1], dict):
        extra, items = items[-1], items[:-1]
    kw = {**fit_kwargs, **extra}
    if "seed" in kw:
        raise ValueError("fit_kwargs: 'seed' is set for every trial from the search's seed and the candidate; pass "
                         "seed= to the search instead")
    model = items[0]
    if isinstance(model, FFNN):
        if len(items) != 2:
            raise TypeError("build returned an FFNN without its scheduler; return (net, scheduler), e.g. "
                            "(net, Constant(eta=params['eta'])), optionally with a dict of fit arguments "
                            "(net, scheduler, {'lam': params['lam']})")
        return _FFNN(model, items[1], kw)
    if len(items) != 1:
        raise TypeError(f"build returned a tuple of {len(built)} items; return a model, (model, fit_kwargs) or "
                        f"(FFNN, scheduler[, fit_kwargs])")
    if isinstance(model, Trainer):
        return _Module(model, kw)
    if hasattr(model, "fit") and hasattr(model, "get_params"):
        return _Estimator(model, kw)
    raise TypeError(f"build returned {type(model).__name__}; expected a compiled chainrule model, a scikit-learn "
                    f"estimator (fit and get_params), or (FFNN, scheduler)")


def score_model(adapter: Adapter, X: np.ndarray, y: np.ndarray, scoring: str | Callable[[Any, Any, Any], float]
                ) -> float:
    """A fitted model's score on (X, y) with ``scoring`` (a scikit-learn scorer name or a callable), as
    a float; a TypeError when the scorer returns something that is not one number."""
    v = adapter.score(X, y, scoring)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"scoring returned {v!r}; it must return one number (greater is better)") from None


# ---------------------------------------------------------------------------- a trial
def _continued(adapter, task, bundle):
    """The adapter, with the previous rung's state loaded; a fresh one (from scratch) if it cannot be."""
    try:
        adapter.continue_from(task.state)  # False: this kind restarts (continue_from says why), left as built
        return adapter
    except Exception as err:  # a state that does not fit the model: train from scratch, which gives the same
        warnings.warn(f"could not go on from the previous rung's state ({type(err).__name__}: {err}); trained "
                      f"from scratch", RuntimeWarning)
        with fork_rng(task.seed):
            built = bundle.build(dict(task.params))
        return adapt(built, bundle.fit_kwargs)


def run_trial(bundle: Bundle, task: Task, limit_threads: Literal["process", "trial"] | None = None
              ) -> dict[str, Any]:
    """Run one trial; returns its record (a JSON-able dict).  Never raises, except KeyboardInterrupt.

    ``limit_threads``: None (the caller limits the BLAS threads), 'process' (limit this worker
    process for good: loky's workers are the search's), 'trial' (limit during this trial and
    restore afterwards: a Dask worker may serve others too).
    """
    with _LOCK:
        if limit_threads == "process":
            _limit_threads(bundle.threads)
        elif limit_threads == "trial":
            with _thread_controller().limit(limits=int(bundle.threads)), _malloc_kept():
                return _run(bundle, task)
        return _run(bundle, task)


def run_trials(bundle: Bundle, tasks: Sequence[Task], limit_threads: Literal["process", "trial"] | None = None
               ) -> list[dict[str, Any]]:
    """Run several trials one after another (one Dask task); returns their records in order."""
    return [run_trial(bundle, t, limit_threads) for t in tasks]


def _run(bundle, task):
    rec = {"key": task.key, "candidate": task.candidate, "fold": task.fold, "params": jsonable(task.params),
           "seed": task.seed, "status": "ok", "test_score": None, "train_score": None, "fit_time": None,
           "score_time": None, "history": None, "error": None, "traceback": None, "warnings": [],
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    if task.rung is not None:
        rec["rung"], rec["n_resources"] = task.rung, task.n_resources
    dtype = get_default_dtype()
    t_start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            Xtr, ytr, Xte, yte = bundle.split(task.fold, task.n_resources)
            with fork_rng(task.seed):
                built = bundle.build(dict(task.params))
            adapter = adapt(built, bundle.fit_kwargs)
            if task.state is not None:
                adapter = _continued(adapter, task, bundle)
            scoring = bundle.scoring if bundle.scoring is not None else adapter.default_scoring()
            t0 = time.perf_counter()
            adapter.fit(Xtr, ytr, task.seed, bundle.resource, task.n_resources)
            rec["fit_time"] = time.perf_counter() - t0
            if task.rung is not None:
                rec["initial_epoch"] = adapter.initial_epoch
            rec["history"] = adapter.history()
            why = adapter.diverged()
            t0 = time.perf_counter()
            try:
                test = score_model(adapter, Xte, yte, scoring)
                train = score_model(adapter, Xtr, ytr, scoring)
            except Exception:
                if why is None:
                    raise
                test = train = math.nan  # a diverged model may not even score
            rec["score_time"] = time.perf_counter() - t0
            rec["test_score"] = test if math.isfinite(test) else None
            rec["train_score"] = train if math.isfinite(train) else None
            if why is None and not (math.isfinite(test) and math.isfinite(train)):
                why = f"the score is {test if not math.isfinite(test) else train}"
            if why is not None:
                rec["status"], rec["error"] = "diverged", why
            rec["scoring"] = scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "callable")
            if task.keep_state and rec["status"] == "ok":
                state = adapter.snapshot()
                if state is not None:
                    state.meta["key"] = task.key
                    rec["_state"] = state   # taken off by the driver before the record is journaled
        seen = []
        for w in caught:
            text = f"{w.category.__name__}: {w.message}"
            if text not in seen:
                seen.append(text)
        rec["warnings"] = seen[:5]
    except Exception as err:  # the trial failed; the search goes on
        rec["status"] = "failed"
        rec["error"] = f"{type(err).__name__}: {err}"
        rec["traceback"] = traceback.format_exc()[-4000:]
        if rec["fit_time"] is None:
            rec["fit_time"] = time.perf_counter() - t_start
    finally:
        if get_default_dtype() != dtype:
            set_default_dtype(dtype)
    return rec

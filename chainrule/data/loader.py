"""Datasets and the DataLoader that cuts them into (shuffled) mini-batches.

One epoch visits the n samples in the order  pi = a random permutation of
0..n-1  (or 0..n-1 without shuffling) and yields the batches
pi[0:B], pi[B:2B], ...; the last batch holds the n mod B leftover samples
unless ``drop_last``.  A new permutation is drawn at the start of every epoch.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from chainrule.tensor import Tensor, get_rng

if TYPE_CHECKING:
    from chainrule._typing import Any, Iterator, Seed, Sequence, TensorLike

__all__ = ["Dataset", "TensorDataset", "DataLoader", "Batch", "batches", "default_collate"]


def _check_positive_int(value, what):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def batches(n: int, batch_size: int, shuffle: bool = False, rng: Seed = None,
            drop_last: bool = False) -> Iterator[np.ndarray]:
    """Yield the index arrays of one epoch's mini-batches over ``n`` samples.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Samples per batch (the last batch may be smaller unless ``drop_last``).
    shuffle : bool
        Visit the samples in a random order, drawn from ``rng``.
    rng : numpy.random.Generator or int, optional
        The generator (or a seed for a fresh one); chainrule's global generator
        (see :func:`chainrule.manual_seed`) when None.
    drop_last : bool
        Skip the final batch when it has fewer than ``batch_size`` samples.

    The permutation is drawn when this function is called, not lazily.

    Examples
    --------
    >>> [b.tolist() for b in batches(5, 2)]
    [[0, 1], [2, 3], [4]]
    >>> [b.tolist() for b in batches(5, 2, drop_last=True)]
    [[0, 1], [2, 3]]
    >>> sorted(np.concatenate(list(batches(5, 2, shuffle=True, rng=0))).tolist())
    [0, 1, 2, 3, 4]
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"batches: n must be a non-negative integer, got {n!r}")
    batch_size = _check_positive_int(batch_size, "batches: batch_size")
    n = int(n)
    order = get_rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return (order[i:i + batch_size] for i in range(0, stop, batch_size))


class Dataset:
    """A map-style dataset: ``len(ds)`` samples, ``ds[i]`` the i-th one (usually a tuple of arrays).

    Subclass it and define ``__len__`` and ``__getitem__``; any object with
    those two methods works with :class:`DataLoader` too.
    """

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples are the rows of several arrays of equal length: ``ds[i] = (X[i], y[i])``.

    Parameters
    ----------
    *arrays : ndarray or Tensor
        Each with the samples along the first axis; all must have the same
        length.  Tensors are unwrapped to their arrays (no copy is made).

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((4, 3)), np.arange(4))
    >>> len(ds), ds[1][0].shape, int(ds[1][1])
    (4, (3,), 1)
    >>> TensorDataset(np.zeros((4, 3)), np.arange(5))
    Traceback (most recent call last):
    ...
    ValueError: TensorDataset: all arrays must have the same number of samples (first axis), got lengths [4, 5]
    """

    def __init__(self, *arrays: TensorLike) -> None:
        if not arrays:
            raise ValueError("TensorDataset: pass at least one array, e.g. TensorDataset(X, y)")
        data = []
        for i, a in enumerate(arrays):
            arr = a.data if isinstance(a, Tensor) else np.asarray(a)
            if arr.ndim == 0:
                raise ValueError(f"TensorDataset: array {i} is a scalar; every array needs a sample axis first")
            if arr.dtype.hasobject:
                raise TypeError(f"TensorDataset: array {i} has dtype object; expected numbers")
            data.append(arr)
        lengths = [len(a) for a in data]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: all arrays must have the same number of samples (first axis), got "
                             f"lengths {lengths}")
        self.arrays = tuple(data)

    @property
    def tensors(self) -> tuple[np.ndarray, ...]:
        """The arrays (PyTorch's name)."""
        return self.arrays

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        """The tuple of every array's entry at ``index`` (an int, a slice or an index array)."""
        return tuple(a[index] for a in self.arrays)

    def __repr__(self):
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


def _stack(items, what):
    first = items[0]
    if isinstance(first, (np.ndarray, np.generic, Tensor)):
        arrays = [x.data if isinstance(x, Tensor) else x for x in items]
        try:
            return Tensor(np.stack(arrays))
        except ValueError as err:
            shapes = sorted({np.shape(a) for a in arrays})
            raise ValueError(f"DataLoader: cannot stack {what} into a batch: the samples have shapes {shapes} "
                             f"({err}); make every sample the same shape") from None
    if isinstance(first, (bool, int, float, np.number)):
        return Tensor(list(items))  # Python floats take chainrule's default dtype
    raise TypeError(f"DataLoader: cannot batch {what} of type {type(first).__name__}; samples must be arrays, "
                    f"Tensors or numbers (or tuples/dicts of them)")


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into one batch: tuples -> tuple of Tensors, dicts -> dict, arrays -> a Tensor.

    Examples
    --------
    >>> import numpy as np
    >>> xb, yb = default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
    >>> xb.shape, yb.tolist()
    ((2, 3), [1, 0])
    """
    if not samples:
        raise ValueError("default_collate: got no samples")
    first = samples[0]
    if isinstance(first, (tuple, list)):
        width = len(first)
        if any(not isinstance(s, (tuple, list)) or len(s) != width for s in samples):
            raise ValueError(f"DataLoader: every sample must be a tuple of {width} items like the first one")
        return tuple(_stack([s[j] for s in samples], f"item {j} of the samples") for j in range(width))
    if isinstance(first, dict):
        keys = list(first)
        if any(not isinstance(s, dict) or list(s) != keys for s in samples):
            raise ValueError(f"DataLoader: every sample must be a dict with the keys {keys} like the first one")
        return {k: _stack([s[k] for s in samples], f"key {k!r} of the samples") for k in keys}
    return _stack(samples, "the samples")


class Batch(tuple):
    """A batch a dataset's ``__getitems__`` has stacked already (a tuple of Tensors): the loader passes it on."""


def _collated(items):
    return items if isinstance(items, Batch) else default_collate(list(items))


class DataLoader:
    """Iterate over a dataset in mini-batches, reshuffled every epoch (PyTorch's ``DataLoader``).

    Parameters
    ----------
    dataset : TensorDataset or any object with ``__len__`` and ``__getitem__``
        ``dataset[i]`` should return a sample (a tuple of arrays, usually).
    batch_size : int
        Samples per batch.
    shuffle : bool
        Draw a new random order at the start of each epoch (each ``iter()``).
    seed : int or numpy.random.Generator, optional
        Seeds the loader's own generator, so the sequence of epochs is
        reproducible; when None, chainrule's global generator is used
        (see :func:`chainrule.manual_seed`).
    drop_last : bool
        Skip the last, smaller batch.

    Each batch is a tuple of :class:`~chainrule.Tensor` (one per array of a
    TensorDataset), keeping the arrays' dtypes and not requiring gradients.
    For a TensorDataset a batch is gathered by indexing the whole arrays at
    once; without shuffling its Tensors are views of the dataset's arrays.
    ``len(loader)`` is the number of batches per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> loader = DataLoader(TensorDataset(np.arange(6.0)), batch_size=4, shuffle=True, seed=0)
    >>> len(loader)
    2
    >>> sorted(float(v) for (xb,) in loader for v in xb.numpy())
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    """

    def __init__(self, dataset: Any, batch_size: int = 32, shuffle: bool = False, seed: Seed = None,
                 drop_last: bool = False) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: expected a dataset with __len__ and __getitem__ (e.g. "
                            f"TensorDataset(X, y)), got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = _check_positive_int(batch_size, "DataLoader: batch_size")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = None if seed is None else get_rng(seed)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        rng = self._rng if self._rng is not None else get_rng()
        if isinstance(self.dataset, TensorDataset):
            arrays = self.dataset.arrays
            if not self.shuffle:  # contiguous slices: views, no copies
                stop = n - n % self.batch_size if self.drop_last else n
                return (tuple(Tensor(a[i:i + self.batch_size]) for a in arrays)
                        for i in range(0, stop, self.batch_size))
            index = batches(n, self.batch_size, True, rng, self.drop_last)
            return (tuple(Tensor(a[idx]) for a in arrays) for idx in index)
        index = batches(n, self.batch_size, self.shuffle, rng, self.drop_last)
        dataset = self.dataset
        many = getattr(dataset, "__getitems__", None)
        if many is not None:   # PyTorch 2's batched fetch: a list of samples, or a batch already stacked
            return (_collated(many([int(i) for i in idx])) for idx in index)
        return (default_collate([dataset[int(i)] for i in idx]) for idx in index)

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")

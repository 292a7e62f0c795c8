"""Splitting, label encoding and feature scaling."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, Optional, Union

__all__ = ["train_test_split", "one_hot", "standardize", "Standardizer"]


def _n_samples(a) -> int:
    shape = np.shape(a)
    if len(shape) == 0:
        raise ValueError("train_test_split got a scalar; every input must have a first axis")
    return shape[0]


def _resolve_test_count(test_size, n: int) -> int:
    if isinstance(test_size, bool):
        raise TypeError("test_size must be a float in (0, 1) or a positive int, got bool")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"test_size={n_test} as a count must be in 1 .. {n - 1} for {n} samples"
            )
        return n_test
    if isinstance(test_size, numbers.Real):
        frac = float(test_size)
        if not 0.0 < frac < 1.0:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {frac}")
        n_test = math.ceil(frac * n)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"test_size={frac} of {n} samples gives {n_test} test and {n - n_test} "
                "train samples; both sets need at least one"
            )
        return n_test
    raise TypeError(
        f"test_size must be a float in (0, 1) or a positive int, got {type(test_size).__name__}"
    )


def _take(a, idx):
    if isinstance(a, np.ndarray):
        return a[idx]
    return np.asarray(a)[idx]


def _stratified_test_indices(labels, n_test: int, rng) -> np.ndarray:
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if np.any(counts < 2):
        bad = classes[counts < 2]
        raise ValueError(
            "stratified split needs at least 2 samples of every class; "
            f"class(es) {bad.tolist()} have only 1"
        )
    n = len(labels)
    exact = counts * (n_test / n)
    alloc = np.floor(exact).astype(np.int64)
    remaining = n_test - int(alloc.sum())
    if remaining > 0:
        # largest remainders first; random tie-breaking so no class is favoured
        frac = exact - alloc
        order = np.lexsort((rng.random(len(classes)), -frac))
        alloc[order[:remaining]] += 1
    test_parts = []
    for k in range(len(classes)):
        members = np.flatnonzero(inverse == k)
        test_parts.append(rng.permutation(members)[: alloc[k]])
    return np.concatenate(test_parts)


def train_test_split(*arrays: ArrayLike, test_size: Union[float, int, None] = None,
                     train_size: Union[float, int, None] = None, random_state: Optional[int] = None,
                     shuffle: bool = True, stratify: Optional[ArrayLike] = None,
                     seed: Optional[int] = None) -> list[np.ndarray]:
    """Split arrays into random train and test subsets, with scikit-learn's arguments.

    Parameters
    ----------
    *arrays : array_like
        One or more arrays (NumPy arrays, lists, ...) with the same length
        along the first axis. Rows stay aligned across arrays.
    test_size : float or int, optional
        A fraction in ``(0, 1)`` (the test count is rounded up) or an absolute
        number of test samples.  Default 0.2, or what ``train_size`` leaves.
    train_size : float or int, optional
        The training part instead (a fraction is rounded down), as in scikit-learn.
    random_state : int, numpy.random.Generator or None
        Seed for the shuffle (scikit-learn's name; ``seed`` is the same).
    stratify : array_like, optional
        Class labels; when given, every class keeps (as nearly as possible)
        the same proportion in both subsets.
    shuffle : bool, default True
        If False, the last ``test_size`` rows form the test set, in order.
    seed : int, numpy.random.Generator or None
        chainrule's name for ``random_state``.

    Returns
    -------
    list of ndarray
        ``[a_train, a_test, b_train, b_test, ...]``, two entries per input.

    Raises
    ------
    ValueError
        No arrays, arrays of different lengths, a ``test_size`` that leaves an
        empty subset, a stratification class with fewer than 2 samples, or
        ``stratify`` combined with ``shuffle=False``.

    Notes
    -----
    The split is chainrule's own, not scikit-learn's: the same ``random_state`` gives another
    permutation than :func:`sklearn.model_selection.train_test_split` does, and a stratified split
    may leave a rare class out of a small test set where scikit-learn refuses (the command line's
    validation split of small data sets relies on it).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(20).reshape(10, 2)
    >>> y = np.arange(10)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0)
    >>> X_tr.shape, X_te.shape
    ((7, 2), (3, 2))
    >>> bool(np.all(X_te[:, 0] == 2 * y_te))
    True
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    lengths = [_n_samples(a) for a in arrays]
    n = lengths[0]
    if any(length != n for length in lengths):
        raise ValueError(
            f"all arrays must have the same number of samples, got lengths {lengths}"
        )
    if n < 2:
        raise ValueError(f"train_test_split needs at least 2 samples, got {n}")
    if train_size is not None:
        if test_size is not None:
            raise TypeError("train_test_split: give test_size or train_size, not both")
        if isinstance(train_size, float) and 0.0 < train_size < 1.0:
            n_test = n - int(math.floor(train_size * n))   # scikit-learn rounds the training part down
        else:
            n_test = n - _resolve_test_count(train_size, n) if isinstance(train_size, numbers.Integral) \
                else _resolve_test_count(train_size, n)
        if not 1 <= n_test <= n - 1:
            raise ValueError(f"train_size={train_size!r} of {n} samples leaves an empty subset")
    else:
        n_test = _resolve_test_count(0.2 if test_size is None else test_size, n)
    if seed is not None and random_state is not None:
        raise TypeError("train_test_split: give random_state or seed (the same thing), not both")
    seed = random_state if random_state is not None else seed

    if stratify is not None:
        if not shuffle:
            raise ValueError("stratify requires shuffle=True")
        labels = np.asarray(stratify)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(
                f"stratify must be 1-D with one label per sample ({n}), got shape {labels.shape}"
            )
        rng = np.random.default_rng(seed)
        test_idx = _stratified_test_indices(labels, n_test, rng)
        mask = np.ones(n, dtype=bool)
        mask[test_idx] = False
        train_idx = rng.permutation(np.flatnonzero(mask))
        test_idx = rng.permutation(test_idx)
    elif shuffle:
        rng = np.random.default_rng(seed)
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    else:
        train_idx, test_idx = np.arange(n - n_test), np.arange(n - n_test, n)

    out = []
    for a in arrays:
        out.append(_take(a, train_idx))
        out.append(_take(a, test_idx))
    return out


def one_hot(y: ArrayLike, num_classes: Optional[int] = None) -> np.ndarray:
    """One-hot encode integer class labels.

    Parameters
    ----------
    y : array_like of int, shape (n,) or (n, 1)
        Labels in ``0 .. num_classes-1``. Floats are accepted when they hold
        whole numbers.
    num_classes : int, optional
        Number of columns; defaults to ``max(y) + 1``. Pass it explicitly when
        encoding a subset (e.g. a test split) that may lack some classes.

    Returns
    -------
    ndarray of float64, shape (n, num_classes)

    Raises
    ------
    ValueError
        On negative labels, labels ``>= num_classes``, non-integer values or a
        wrongly shaped ``y``.

    Examples
    --------
    >>> one_hot([0, 2, 1], num_classes=4)
    array([[1., 0., 0., 0.],
           [0., 0., 1., 0.],
           [0., 1., 0., 0.]])
    """
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"one_hot expects labels of shape (n,) or (n, 1), got {labels.shape}")
    if labels.size and labels.dtype.kind not in "iub":
        if labels.dtype.kind != "f":
            raise TypeError(f"one_hot expects integer labels, got dtype {labels.dtype}")
        finite = np.isfinite(labels)
        bad = labels[~finite | (labels != np.where(finite, np.round(labels), 0.0))]
        if bad.size:
            raise ValueError(f"one_hot expects integer labels, got non-integer value {float(bad[0])!r}")
    labels = labels.astype(np.int64)

    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
            raise TypeError(f"num_classes must be an integer, got {type(num_classes).__name__}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        num_classes = int(num_classes)
    if labels.size and labels.min() < 0:
        raise ValueError(
            f"one_hot got negative label {int(labels.min())}; labels must be in "
            + (f"0 .. {num_classes - 1} for num_classes={num_classes}"
               if num_classes is not None else "0 .. num_classes-1")
        )
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"one_hot got label {int(labels.max())} but num_classes={num_classes}; "
            f"labels must be in 0 .. {num_classes - 1}"
        )
    out = np.zeros((labels.shape[0], num_classes), dtype=np.float64)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


class Standardizer:
    """Scale features to zero mean and unit variance, using training statistics.

    The statistics are scikit-learn's :class:`~sklearn.preprocessing.StandardScaler`'s (samples of
    any shape: each value of a sample is a feature).  Columns with (numerically) zero variance
    are only centred: their scale is 1 so nothing is divided by zero.

    Attributes
    ----------
    mean_ : ndarray
        Per-feature mean of the data passed to :meth:`fit`.
    scale_ : ndarray
        Per-feature standard deviation, with 1 for constant features.

    Examples
    --------
    >>> import numpy as np
    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[2.0, 5.0], [5.0, 6.0]]))
    array([[0., 0.],
           [3., 1.]])
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    def fit(self, X: ArrayLike) -> Standardizer:
        """Compute the per-feature mean and scale of ``X`` (first axis = samples)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 0:
            raise ValueError("Standardizer.fit needs an array with a sample axis, got a scalar")
        if X.shape[0] == 0:
            raise ValueError(f"Standardizer.fit needs at least one sample, got shape {X.shape}")
        from sklearn.preprocessing import StandardScaler

        flat = X.reshape(X.shape[0], -1)   # scikit-learn's scaler is 2-D: image pixels become features
        if not np.all(np.isfinite(flat)):
            raise ValueError("Standardizer.fit: the data contains NaN or infinite values; clean or impute it first")
        scaler = StandardScaler().fit(flat)   # constant features get scale 1 there too
        self.mean_ = scaler.mean_.reshape(X.shape[1:])
        self.scale_ = scaler.scale_.reshape(X.shape[1:])
        return self

    def _check(self, X):
        if self.mean_ is None:
            raise ValueError("this Standardizer is not fitted yet; call fit(X_train) first")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] != self.mean_.shape:
            raise ValueError(
                f"Standardizer was fitted on samples of shape {self.mean_.shape}, "
                f"got samples of shape {X.shape[1:]}"
            )
        return X

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Return ``(X - mean_) / scale_``."""
        X = self._check(X)
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        """Fit on ``X`` and return it transformed."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Undo :meth:`transform`."""
        X = self._check(X)
        return X * self.scale_ + self.mean_


def standardize(X_train: ArrayLike,
                X_test: Optional[ArrayLike] = None) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Standardize features with the mean and standard deviation of the training set.

    Parameters
    ----------
    X_train : array_like, shape (n, ...)
        Training data; statistics are computed over the first axis.
    X_test : array_like, optional
        Data scaled with the training statistics (never its own).

    Returns
    -------
    X_train_s : ndarray of float64
        Standardized training data.
    X_test_s : ndarray of float64
        Only returned when ``X_test`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> tr, te = standardize(np.array([[0.0], [2.0]]), np.array([[4.0]]))
    >>> tr.ravel().tolist(), te.ravel().tolist()
    ([-1.0, 1.0], [3.0])
    """
    scaler = Standardizer().fit(X_train)
    X_train_s = scaler.transform(X_train)
    if X_test is None:
        return X_train_s
    return X_train_s, scaler.transform(X_test)

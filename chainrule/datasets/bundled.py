"""Small real data sets that ship with scikit-learn (no download needed)."""

from __future__ import annotations

import numpy as np

__all__ = ["load_digits", "load_breast_cancer"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits from scikit-learn (UCI optical recognition set).

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Flattened 8x8 images with pixel intensities 0..16.
    y : ndarray of int64, shape (1797,)
        Digit labels 0..9.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((1797, 64), dtype('float64'), (1797,), dtype('int64'))
    >>> float(X.max()), int(y.max())
    (16.0, 9)
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    X, y = _sk_load_digits(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """The Wisconsin diagnostic breast cancer data from scikit-learn.

    Returns
    -------
    X : ndarray of float64, shape (569, 30)
        Thirty real-valued features per tumour.
    y : ndarray of int64, shape (569,)
        0 = malignant, 1 = benign.

    Examples
    --------
    >>> X, y = load_breast_cancer()
    >>> X.shape, y.shape, np.bincount(y).tolist()
    ((569, 30), (569,), [212, 357])
    """
    from sklearn.datasets import load_breast_cancer as _sk_load_breast_cancer

    X, y = _sk_load_breast_cancer(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)

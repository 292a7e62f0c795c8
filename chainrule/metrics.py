"""Metrics: numbers to report, not to differentiate.

Plain NumPy on arrays (Tensors are read through ``.data``), each returning a
Python float.  Argument order is ``(y_true, y_pred)`` as in Keras and
scikit-learn.  Shapes (N,) and (N, 1) are accepted for each other; any other
mismatch is a ValueError naming both shapes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from chainrule._typing import Any, Callable, TensorLike, Union

__all__ = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error", "r2_score", "mse", "mae", "acc", "get"]


def _fraction(hits):
    """The fraction of True entries: (number true) / n, the exact mean of a boolean array, without
    np.mean's float reduction (the same value, a fraction of the time on a mini-batch).  Counted
    with np.count_nonzero: summing a boolean array casts it to integers first, 2.3 us against
    0.6 us for a batch of 100."""
    return int(np.count_nonzero(hits)) / hits.size


def _array(x, name, what):
    arr = np.asarray(getattr(x, "data", x)) if not isinstance(x, np.ndarray) else x
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: {what} must be numbers, got an array of dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name}: got an empty {what} array (shape {arr.shape}); a metric needs at least one sample")
    return arr


def _pair(y_true, y_pred, name):
    """Both arrays, with (N,) and (N, 1) reconciled; ValueError naming both shapes otherwise."""
    t, p = _array(y_true, name, "targets"), _array(y_pred, name, "predictions")
    if t.shape != p.shape:
        if t.size == p.size and (t.shape + (1,) == p.shape or t.shape == p.shape + (1,)):
            t = t.reshape(p.shape)
        else:
            raise ValueError(f"{name}: targets of shape {t.shape} do not fit predictions of shape {p.shape}; "
                             f"expected the same shape")
    return t, p


def binary_accuracy(y_true: TensorLike, y_pred: TensorLike, threshold: float = 0.5) -> float:
    """Fraction of predictions on the right side of ``threshold``:  (1/n) sum_i [ (a_i > thr) == (y_i > 0.5) ].

    ``y_pred`` are probabilities (threshold 0.5) or logits (pass ``threshold=0``);
    ``y_true`` are 0/1 labels.  Multi-label outputs (N, k) are scored elementwise.

    >>> from chainrule import metrics
    >>> metrics.binary_accuracy([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.1])
    0.75
    >>> metrics.binary_accuracy([0, 1], [-3.0, 2.0], threshold=0.0)
    1.0
    """
    t, p = _pair(y_true, y_pred, "binary_accuracy")
    return _fraction((p > threshold) == (t > 0.5))


def _class_scores(y_pred, name):
    p = _array(y_pred, name, "predictions")
    if p.ndim < 2:
        raise ValueError(f"{name}: expected class scores of shape (batch, classes), got shape {p.shape}")
    return p


def categorical_accuracy(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Fraction of samples whose highest score is the target's class:  (1/n) sum_i [ argmax_c a_ic == argmax_c t_ic ].

    >>> from chainrule import metrics
    >>> metrics.categorical_accuracy([[0, 1], [1, 0]], [[0.3, 0.7], [0.4, 0.6]])
    0.5
    """
    name = "categorical_accuracy"
    t, p = _array(y_true, name, "targets"), _class_scores(y_pred, name)
    if t.shape != p.shape:
        hint = ("; these look like integer labels, use sparse_categorical_accuracy"
                if t.shape in (p.shape[:-1], p.shape[:-1] + (1,)) else "")
        raise ValueError(f"{name}: targets of shape {t.shape} do not fit predictions of shape {p.shape}; expected "
                         f"one-hot targets of shape {p.shape}{hint}")
    return _fraction(p.argmax(axis=-1) == t.argmax(axis=-1))


def sparse_categorical_accuracy(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Fraction of samples whose highest score is the labelled class:  (1/n) sum_i [ argmax_c a_ic == y_i ].

    ``y_true`` are integer labels of shape (N,) or (N, 1); ``y_pred`` scores (N, C)
    (probabilities or logits: the argmax is the same).

    >>> from chainrule import metrics
    >>> metrics.sparse_categorical_accuracy([2, 0], [[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]])
    0.5
    """
    name = "sparse_categorical_accuracy"
    t, p = _array(y_true, name, "targets"), _class_scores(y_pred, name)
    lead = p.shape[:-1]
    if t.shape == lead + (1,):
        t = t.reshape(lead)
    if t.shape != lead:
        hint = "; these look like one-hot targets, use categorical_accuracy" if t.shape == p.shape else ""
        raise ValueError(f"{name}: labels of shape {t.shape} do not fit predictions of shape {p.shape}; expected "
                         f"labels of shape {lead}{hint}")
    return _fraction(p.argmax(axis=-1) == t)


def accuracy(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Accuracy, choosing the kind from the shapes (Keras' ``'accuracy'``).

    * integer predictions of shape (N,) or (N, 1): class labels, compared with the
      targets as they are (scikit-learn's ``accuracy_score``);
    * float predictions of shape (N,) or (N, 1): probabilities, :func:`binary_accuracy` at 0.5
      (for logits call ``binary_accuracy(..., threshold=0)``);
    * scores (N, C) with targets (N, C): one-hot, :func:`categorical_accuracy`;
    * scores (N, C) with targets (N,) or (N, 1): labels, :func:`sparse_categorical_accuracy`.

    >>> from chainrule import metrics
    >>> metrics.accuracy([1, 0, 1], [0.9, 0.4, 0.2])
    0.6666666666666666
    >>> metrics.accuracy([1, 0], [[0.2, 0.8], [0.6, 0.4]])
    1.0
    """
    name = "accuracy"
    t, p = _array(y_true, name, "targets"), _array(y_pred, name, "predictions")
    if p.ndim <= 1 or (p.ndim == 2 and p.shape[1] == 1):
        if p.dtype.kind in "iub":
            t, p = _pair(t, p, name)
            return _fraction(t == p)
        return binary_accuracy(t, p)
    if t.shape == p.shape:
        return categorical_accuracy(t, p)
    if t.shape in (p.shape[:-1], p.shape[:-1] + (1,)):
        return sparse_categorical_accuracy(t, p)
    raise ValueError(f"{name}: targets of shape {t.shape} do not fit predictions of shape {p.shape}; expected "
                     f"one-hot targets of shape {p.shape} or integer labels of shape {p.shape[:-1]}")


def mean_squared_error(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Mean squared error:  (1/n) sum_i (y_i - a_i)^2.

    >>> from chainrule import metrics
    >>> metrics.mean_squared_error([0.0, 1.0], [1.0, 1.0])
    0.5
    """
    t, p = _pair(y_true, y_pred, "mean_squared_error")
    d = np.asarray(p, dtype=np.float64) - t
    return float(np.mean(d * d))


def mean_absolute_error(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Mean absolute error:  (1/n) sum_i |y_i - a_i|.

    >>> from chainrule import metrics
    >>> metrics.mean_absolute_error([0.0, 1.0], [1.0, 3.0])
    1.5
    """
    t, p = _pair(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.abs(np.asarray(p, dtype=np.float64) - t)))


def r2_score(y_true: TensorLike, y_pred: TensorLike) -> float:
    """Coefficient of determination, as scikit-learn computes it.

    Formula::

        R^2 = 1 - sum_i (y_i - a_i)^2 / sum_i (y_i - mean(y))^2

    For several outputs (N, k), the plain average of each column's R^2.  A constant
    target gives 1.0 for a perfect fit and 0.0 otherwise (scikit-learn's
    ``force_finite=True``).

    >>> from chainrule import metrics
    >>> metrics.r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    name = "r2_score"
    t, p = _pair(y_true, y_pred, name)
    if t.shape[0] < 2:
        raise ValueError(f"{name}: R^2 needs at least two samples, got shape {t.shape}")
    t = np.asarray(t, dtype=np.float64).reshape(t.shape[0], -1)
    p = np.asarray(p, dtype=np.float64).reshape(t.shape)
    ss_res = np.sum((t - p) ** 2, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    ok = ss_tot != 0
    r2 = np.where(ss_res == 0, 1.0, 0.0)
    r2[ok] = 1 - ss_res[ok] / ss_tot[ok]
    return float(np.mean(r2))


#: Short names, as in Keras.
mse = mean_squared_error
mae = mean_absolute_error
acc = accuracy

_METRICS = {
    "accuracy": accuracy, "acc": accuracy,
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "r2": r2_score, "r2_score": r2_score,
}


def get(identifier: Union[str, Callable[..., Any]]) -> Callable[..., Any]:
    """Resolve a metric name (or return a callable unchanged).

    >>> from chainrule import metrics
    >>> metrics.get("acc") is metrics.accuracy
    True
    """
    if callable(identifier):
        # a stateful metric object (Keras' BinaryAccuracy(), chainrule.keras.metrics): its per-batch function
        return getattr(identifier, "batch_function", identifier)
    if isinstance(identifier, str) and identifier.lower() in _METRICS:
        return _METRICS[identifier.lower()]
    raise ValueError(f"metrics.get: unknown metric {identifier!r}; valid names are {', '.join(sorted(_METRICS))}")

"""``keras.metrics`` on chainrule: Keras' metric names and stateful metric classes over :mod:`chainrule.metrics`.

The functions are chainrule's (``binary_accuracy(y_true, y_pred)`` etc.; Keras' names).  A class
such as ``BinaryAccuracy()`` keeps Keras' running state: ``update_state(y_true, y_pred)`` adds a
batch, ``result()`` is the mean over every sample seen, ``reset_state()`` starts over, and
calling it does both (update, then result).  Given to ``compile(metrics=[...])`` it is logged
under its ``name``, computed per batch by its stateless function.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import metrics as _m
from chainrule._unsupported import missing

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, DTypeLike, TensorLike

__all__ = ["Metric", "Mean", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "MeanSquaredError", "MeanAbsoluteError", "R2Score", "accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "mean_squared_error", "mean_absolute_error", "mse", "mae", "get"]

accuracy = _m.accuracy
binary_accuracy = _m.binary_accuracy
categorical_accuracy = _m.categorical_accuracy
sparse_categorical_accuracy = _m.sparse_categorical_accuracy
mean_squared_error = mse = _m.mean_squared_error
mean_absolute_error = mae = _m.mean_absolute_error


class Metric:
    """Keras' stateful metric: a mean of per-batch values weighted by the batch sizes."""

    _default_name = "metric"

    def __init__(self, name: str | None = None, dtype: DTypeLike = None) -> None:
        self.name = name or self._default_name
        self.__name__ = self.name
        self.reset_state()

    def batch_function(self, y_true: TensorLike, y_pred: TensorLike) -> float:  # pragma: no cover - abstract
        """The metric's value on one batch; subclasses define it (the base class raises ``NotImplementedError``)."""
        raise NotImplementedError

    def update_state(self, y_true: TensorLike, y_pred: TensorLike, sample_weight: ArrayLike | None = None) -> None:
        """Add one batch to the running state, weighting its ``batch_function`` value by the batch size."""
        if sample_weight is not None:
            raise NotImplementedError(f"keras.metrics.{type(self).__name__}.update_state(sample_weight=...) is not "
                                      f"implemented in chainrule")
        n = len(np.asarray(getattr(y_pred, "data", y_pred)))
        self._total += float(self.batch_function(y_true, y_pred)) * n
        self._count += n

    def result(self) -> float:
        """The current value: the size-weighted mean over every sample seen so far (0.0 before any update)."""
        return self._total / self._count if self._count else 0.0

    def reset_state(self) -> None:
        """Clear the running state so the metric starts again from nothing (``reset_states`` is an alias)."""
        self._total, self._count = 0.0, 0

    reset_states = reset_state

    def __call__(self, y_true: TensorLike, y_pred: TensorLike, sample_weight: ArrayLike | None = None) -> float:
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a dict (here just ``name``), as in Keras."""
        return {"name": self.name}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _metric(cls_name, fn, default, doc):
    def batch_function(self, y_true: TensorLike, y_pred: TensorLike) -> float:
        """The metric's value on one batch, from chainrule's stateless metric function."""
        return fn(y_true, y_pred)
    return type(cls_name, (Metric,), {"batch_function": batch_function, "_default_name": default, "__doc__": doc})


Accuracy = _metric("Accuracy", _m.accuracy, "accuracy", "Keras' ``Accuracy``: the fraction of right predictions.")
CategoricalAccuracy = _metric("CategoricalAccuracy", _m.categorical_accuracy, "categorical_accuracy",
                              "argmax(y_pred) == argmax(y_true) (one-hot targets).")
SparseCategoricalAccuracy = _metric("SparseCategoricalAccuracy", _m.sparse_categorical_accuracy,
                                    "sparse_categorical_accuracy", "argmax(y_pred) == y_true (integer labels).")
MeanSquaredError = _metric("MeanSquaredError", _m.mean_squared_error, "mean_squared_error",
                           "(1/n) sum (y - a)^2 over all entries.")
MeanAbsoluteError = _metric("MeanAbsoluteError", _m.mean_absolute_error, "mean_absolute_error",
                            "(1/n) sum |y - a| over all entries.")


class BinaryAccuracy(Metric):
    """Keras' ``BinaryAccuracy(threshold=0.5)``: (a > threshold) == (y > 0.5)."""

    _default_name = "binary_accuracy"

    def __init__(self, name: str = "binary_accuracy", dtype: DTypeLike = None, threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def batch_function(self, y_true: TensorLike, y_pred: TensorLike) -> float:
        """The fraction of one batch's predictions that land on the right side of ``threshold``."""
        return _m.binary_accuracy(y_true, y_pred, threshold=self.threshold)


class Mean(Metric):
    """Keras' ``Mean``: the running mean of the values given to ``update_state(values)``."""

    _default_name = "mean"

    def update_state(self, values: TensorLike, sample_weight: ArrayLike | None = None) -> None:
        """Add ``values`` (optionally weighted by ``sample_weight``) to the running total and count."""
        v = np.asarray(getattr(values, "data", values), dtype=np.float64)
        w = np.ones_like(v) if sample_weight is None else np.broadcast_to(np.asarray(sample_weight, float), v.shape)
        self._total += float((v * w).sum())
        self._count += float(w.sum())

    def __call__(self, values: TensorLike, sample_weight: ArrayLike | None = None) -> float:
        self.update_state(values, sample_weight)
        return self.result()


class R2Score(Metric):
    """Keras' ``R2Score``: 1 - sum (y - a)^2 / sum (y - mean y)^2 over everything seen (not a batch mean)."""

    _default_name = "r2_score"

    def batch_function(self, y_true: TensorLike, y_pred: TensorLike) -> float:
        """The coefficient of determination R^2 of one batch on its own."""
        return _m.r2_score(y_true, y_pred)

    def reset_state(self) -> None:
        """Forget every target and prediction collected so far."""
        self._t, self._p = [], []

    def update_state(self, y_true: TensorLike, y_pred: TensorLike, sample_weight: ArrayLike | None = None) -> None:
        """Store a batch's targets and predictions; R^2 is computed over all of them in ``result``."""
        self._t.append(np.asarray(getattr(y_true, "data", y_true), float))
        self._p.append(np.asarray(getattr(y_pred, "data", y_pred), float))

    def result(self) -> float:
        """R^2 over every sample seen since the last reset (0.0 if nothing has been seen)."""
        return _m.r2_score(np.concatenate(self._t), np.concatenate(self._p)) if self._t else 0.0


def get(identifier: str | Callable[..., Any]) -> Callable[..., Any]:
    """Keras' ``metrics.get``: a metric function from a name (or the object itself)."""
    return _m.get(identifier)


__getattr__ = missing(__name__, "keras.metrics", {
    n: "chainrule's metrics are the accuracies, mean squared/absolute error and R2" for n in
    ("AUC", "Precision", "Recall", "F1Score", "TopKCategoricalAccuracy", "RootMeanSquaredError",
     "SparseTopKCategoricalAccuracy", "MeanIoU", "Sum", "KLDivergence")})

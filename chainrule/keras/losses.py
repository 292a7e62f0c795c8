"""``keras.losses`` on chainrule: Keras' loss functions and classes over :mod:`chainrule.losses`.

The functions follow Keras: ``mean_squared_error(y_true, y_pred)`` returns one loss per sample
(the mean over the last axis), not their mean; passed to ``compile`` they are replaced by
chainrule's function of the same name, whose mean over the batch is the same training loss (and
runs inside the fused dense stack).  The classes reduce as Keras' do (``reduction=
'sum_over_batch_size'``, the mean; ``'sum'``; ``None`` or ``'none'``) and take Keras' arguments;
they subclass chainrule's classes of the same names (Keras' signature has more arguments), so
saved models rebuild chainrule's own classes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chainrule import losses as _losses
from chainrule import ops
from chainrule._unsupported import missing, unsupported
from chainrule.nn import functional as _F
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, DTypeLike, TensorLike

__all__ = ["Loss", "mean_squared_error", "mean_absolute_error", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "huber", "mse", "mae", "MeanSquaredError", "MeanAbsoluteError",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Huber", "get"]

Loss = _losses.Loss


def _per_sample(fn, elementwise):
    """Keras' form of a chainrule loss: one value per sample (elementwise losses averaged over the last axis)."""
    def loss(y_true: TensorLike, y_pred: TensorLike, **kwargs: Any) -> Tensor | np.ndarray:
        out = fn(y_true, y_pred, reduction="none", **kwargs)
        return ops.mean(out, axis=-1) if elementwise and getattr(out, "ndim", 0) > 1 else out
    loss.__name__ = fn.__name__
    loss.__doc__ = (f"Keras' ``{fn.__name__}(y_true, y_pred)``: one loss per sample; see "
                    f":func:`chainrule.losses.{fn.__name__}` for the formula.")
    loss.reduced_form = fn   # what compile() trains with: the mean over the batch
    return loss


mean_squared_error = _per_sample(_losses.mean_squared_error, True)
mean_absolute_error = _per_sample(_losses.mean_absolute_error, True)
binary_crossentropy = _per_sample(_losses.binary_crossentropy, True)
categorical_crossentropy = _per_sample(_losses.categorical_crossentropy, False)
sparse_categorical_crossentropy = _per_sample(_losses.sparse_categorical_crossentropy, False)
mse, mae = mean_squared_error, mean_absolute_error


def huber(y_true: TensorLike, y_pred: TensorLike, delta: float = 1.0) -> Tensor | np.ndarray:
    """Keras' ``huber``: per sample, the mean over the last axis of d^2 / 2 (|d| <= delta), delta (|d| - delta/2)
    otherwise, d = y_pred - y_true."""
    out = _F.huber_loss(y_pred, _losses._values(y_true), reduction="none", delta=delta)
    return ops.mean(out, axis=-1) if getattr(out, "ndim", 0) > 1 else out


_REDUCTIONS = {"sum_over_batch_size": "mean", "mean": "mean", "sum": "sum", "none": "none", None: "none"}


def _reduction(reduction, cls):
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"{cls}: reduction must be 'sum_over_batch_size', 'sum', 'mean', 'none' or None, got "
                         f"{reduction!r}") from None


def _no_extras(cls, **extras):
    for key, (value, default) in extras.items():
        if value != default:
            raise unsupported(f"keras.losses.{cls}({key}={value!r})")


class _KerasReduced:
    """Keras' reductions: the per-sample losses l_i (:func:`mean_squared_error` etc.; one per step of a
    sequence output), weighted by w_i, then summed ('sum'), divided by their number n ('sum_over_batch_size',
    Keras' default), or kept (None).  Weights of one per sample apply to each of its steps.  Without sample
    weights the default is chainrule's own mean, the same number by its fused path."""

    per_sample = None
    keras_reduction = True   # the weighted sum divided by n, as the Trainer wants it (losses.averages_weights)

    def __call__(self, y_true: TensorLike, y_pred: TensorLike, sample_weight: ArrayLike | None = None
                 ) -> Tensor | np.ndarray:
        if self.reduction == "mean" and sample_weight is None:
            return super().__call__(y_true, y_pred)
        per = type(self).per_sample(y_true, y_pred, **self._options())
        values = _losses._values(per)
        if sample_weight is not None:
            w = np.asarray(getattr(sample_weight, "data", sample_weight), dtype=values.dtype)
            if w.shape != values.shape:
                if w.size == values.size:
                    w = w.reshape(values.shape)               # (n, 1) for (n,), and the like
                elif w.ndim and w.ndim < values.ndim and w.shape == values.shape[:w.ndim]:
                    w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
                else:
                    raise ValueError(f"keras.losses.{type(self).__name__}: sample_weight of shape {w.shape} does not "
                                     f"fit the per-sample losses of shape {values.shape}")
            per = ops.mul(per, w)
        if self.reduction == "none":
            return per
        total = ops.sum(per)
        return total if self.reduction == "sum" else ops.div(total, float(values.size or 1))


class MeanSquaredError(_KerasReduced, _losses.MeanSquaredError):
    """Keras' ``MeanSquaredError(reduction='sum_over_batch_size', name='mean_squared_error')``."""

    per_sample = staticmethod(mean_squared_error)

    def __init__(self, reduction: Literal["sum_over_batch_size", "mean", "sum", "none"] | None = "sum_over_batch_size",
                 name: str = "mean_squared_error", dtype: DTypeLike = None) -> None:
        super().__init__(reduction=_reduction(reduction, "MeanSquaredError"), name=name)


class MeanAbsoluteError(_KerasReduced, _losses.MeanAbsoluteError):
    """Keras' ``MeanAbsoluteError(reduction='sum_over_batch_size', name='mean_absolute_error')``."""

    per_sample = staticmethod(mean_absolute_error)

    def __init__(self, reduction: Literal["sum_over_batch_size", "mean", "sum", "none"] | None = "sum_over_batch_size",
                 name: str = "mean_absolute_error", dtype: DTypeLike = None) -> None:
        super().__init__(reduction=_reduction(reduction, "MeanAbsoluteError"), name=name)


class BinaryCrossentropy(_KerasReduced, _losses.BinaryCrossentropy):
    """Keras' ``BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction=...)``."""

    per_sample = staticmethod(binary_crossentropy)

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Literal["sum_over_batch_size", "mean", "sum", "none"] | None = "sum_over_batch_size",
                 name: str = "binary_crossentropy", dtype: DTypeLike = None) -> None:
        _no_extras("BinaryCrossentropy", label_smoothing=(label_smoothing, 0.0), axis=(axis, -1))
        super().__init__(from_logits=from_logits, reduction=_reduction(reduction, "BinaryCrossentropy"), name=name)


class CategoricalCrossentropy(_KerasReduced, _losses.CategoricalCrossentropy):
    """Keras' ``CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction=...)``."""

    per_sample = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Literal["sum_over_batch_size", "mean", "sum", "none"] | None = "sum_over_batch_size",
                 name: str = "categorical_crossentropy", dtype: DTypeLike = None) -> None:
        _no_extras("CategoricalCrossentropy", label_smoothing=(label_smoothing, 0.0), axis=(axis, -1))
        super().__init__(from_logits=from_logits, reduction=_reduction(reduction, "CategoricalCrossentropy"),
                         name=name)


class SparseCategoricalCrossentropy(_KerasReduced, _losses.SparseCategoricalCrossentropy):
    """Keras' ``SparseCategoricalCrossentropy(from_logits=False, ignore_class=None, reduction=...)``."""

    per_sample = staticmethod(sparse_categorical_crossentropy)

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: Literal["sum_over_batch_size", "mean", "sum", "none"] | None = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy", dtype: DTypeLike = None) -> None:
        _no_extras("SparseCategoricalCrossentropy", ignore_class=(ignore_class, None))
        super().__init__(from_logits=from_logits, reduction=_reduction(reduction, "SparseCategoricalCrossentropy"),
                         name=name)


class Huber(_losses.Loss):
    """Keras' ``Huber(delta=1.0)``:  mean of d^2 / 2 where |d| <= delta, delta (|d| - delta / 2) elsewhere."""

    fn = staticmethod(huber)

    def __init__(self, delta: float = 1.0,
                 reduction: Literal["sum_over_batch_size", "mean", "sum", "none"] | None = "sum_over_batch_size",
                 name: str = "huber_loss", dtype: DTypeLike = None) -> None:
        self.delta = float(delta)
        self.reduction = _reduction(reduction, "Huber")
        self.name = name

    def __call__(self, y_true: TensorLike, y_pred: TensorLike, sample_weight: ArrayLike | None = None
                 ) -> Tensor | np.ndarray:
        if sample_weight is not None:
            raise unsupported("keras.losses.Huber with sample_weight")
        per = huber(y_true, y_pred, self.delta)
        return per if self.reduction == "none" else (ops.sum(per) if self.reduction == "sum" else ops.mean(per))

    def get_config(self) -> dict[str, Any]:
        """The loss's arguments (``delta``, ``reduction``, ``name``), for saving."""
        return {"delta": self.delta, "reduction": self.reduction, "name": self.name}


def get(identifier: str | Callable[..., Any]) -> Callable[..., Any]:
    """Keras' ``losses.get``: a loss from a name or a callable (the same resolution as ``compile``)."""
    return _losses.get(identifier)


__getattr__ = missing(__name__, "keras.losses", {
    n: "chainrule has mean squared/absolute error, the cross-entropies and Huber" for n in
    ("KLDivergence", "Hinge", "SquaredHinge", "CategoricalHinge", "LogCosh", "Poisson", "CosineSimilarity",
     "MeanSquaredLogarithmicError", "MeanAbsolutePercentageError", "Dice", "Tversky", "CategoricalFocalCrossentropy",
     "BinaryFocalCrossentropy", "kl_divergence", "hinge", "log_cosh", "poisson", "cosine_similarity")})

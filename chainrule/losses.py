"""Loss (cost) functions: the last link of the chain rule.

The notes define the cost C as the mean over the n samples of a per-sample loss
and start back-propagation from its derivative dC/da^L.  Each loss here comes in
three forms that share one implementation:

* a Keras-style function ``loss(y_true, y_pred, ...)``: the mean over the batch,
  a scalar Tensor when ``y_pred`` is a Tensor (a plain 0-d ndarray otherwise);
* a Keras-style class (``MeanSquaredError()``, ...) whose ``__call__(y_true, y_pred,
  sample_weight=None)`` calls that function, with ``get_config()``;
* a PyTorch-style wrapper (``MSELoss()``, ...) with PyTorch's argument order
  ``(input, target)`` and ``reduction='mean' | 'sum' | 'none'``.

Notation (the notes'): y_i the targets, a_i = y-tilde_i the network's outputs
(probabilities after a sigmoid or softmax), z_i the logits (the outputs before it),
n the number of samples, and t_ic the one-hot (or soft) targets of sample i.

Numerical stability
    From logits the cross-entropies are computed without forming a probability:
    binary, l = softplus(z) - y z = log(1 + e^z) - y z; categorical,
    l = logsumexp(z) - sum_c t_c z_c (the fused
    :func:`chainrule.ops.softmax_cross_entropy`).  On probabilities, a is clipped to
    [eps, 1 - eps], eps = 1e-7, as Keras does.  And, as in Keras, when ``y_pred`` was
    produced by a softmax over the last axis (or by a sigmoid) in the recorded graph,
    the loss reads the logits from that node and takes the stable path; the value is
    the same, the gradient (a - y)/n is exact and the loss stays finite for any
    logits.

Reductions and sample weights
    ``reduction='none'`` keeps one loss per element for the elementwise losses
    (MSE, MAE, binary cross-entropy: the shape of ``y_pred``) and one per sample for
    the categorical ones (the shape of ``y_pred`` without its last, class axis), as
    in PyTorch; ``'sum'`` adds them up; ``'mean'`` (the default) divides the sum by
    their number.  ``sample_weight`` of shape (n,) multiplies each sample's losses
    and turns the mean into a weighted mean,  C = sum_i w_i l_i / sum_i w_i  (so a
    weight of 2 counts a sample twice, as in scikit-learn; Keras' default divides by
    n instead).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal

import numpy as np

from chainrule import ops
from chainrule.ops.elementwise import Sigmoid
from chainrule.ops.heads import SoftmaxCrossEntropy, labels_out_of_range
from chainrule.ops.reduce import Softmax
from chainrule.tensor import Tensor, get_default_dtype

if TYPE_CHECKING:
    from chainrule._typing import (Any, ArrayLike, Callable, Mapping, Optional, Sequence, TensorLike, TensorOrArray,
                                    Union)

#: how a loss reduces its per-sample values
Reduction = Literal["mean", "sum", "none"]

__all__ = [
    "mean_squared_error", "mean_absolute_error", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "mse", "mae",
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "get", "serialize", "deserialize", "check_targets", "call_validated", "averages_weights", "EPSILON",
]

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before their logarithm (Keras' epsilon).
EPSILON = 1e-7
_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- checks
class _Trust(threading.local):
    on = False  # True while a caller that validated the whole target array runs one loss on its batches


_TRUST = _Trust()


def _values(x):
    if isinstance(x, Tensor):
        return x.data
    return x if type(x) is np.ndarray else np.asarray(x)


def _check_reduction(reduction, name):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {', '.join(map(repr, _REDUCTIONS))}, got {reduction!r}")
    return reduction


def _prediction(y_pred, name):
    """y_pred as a floating Tensor (kept as is, graph and all) or a floating ndarray."""
    arr = _values(y_pred)
    if arr.dtype.kind != "f":
        if arr.dtype.kind not in "iub":
            raise TypeError(f"{name}: predictions must be numbers, got an array of dtype {arr.dtype}")
        arr = arr.astype(get_default_dtype())
        y_pred = Tensor._make(arr, False, None) if isinstance(y_pred, Tensor) else arr
    elif not isinstance(y_pred, Tensor):
        y_pred = arr
    if arr.size == 0:
        raise ValueError(f"{name}: got an empty batch of predictions (shape {arr.shape}); a loss needs at least "
                         f"one sample")
    return y_pred


def _targets_like(y_true, shape, dtype, name, hint=""):
    """Float targets with the predictions' shape; (n,) and (n, 1) are accepted for each other."""
    t = _values(y_true)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{name}: targets must be numbers, got an array of dtype {t.dtype}")
    if t.shape != shape:
        if t.size == int(np.prod(shape)) and (t.shape + (1,) == shape or t.shape == shape + (1,)):
            t = t.reshape(shape)
        else:
            raise ValueError(f"{name}: targets of shape {t.shape} do not fit predictions of shape {shape}; "
                             f"expected targets of shape {shape}{hint}")
    return t.astype(dtype, copy=False)


def _check_unit_interval(a, what, name, hint="", allow_nan=False):
    """Values in [0, 1].  NaN predictions pass (the loss is then NaN, which training callbacks watch for)."""
    if _TRUST.on and what != "probabilities":
        return  # targets already checked, all of them, by check_targets
    lo, hi = float(np.min(a)), float(np.max(a))
    if not allow_nan and np.isnan(lo + hi):
        raise ValueError(f"{name}: {what} contain NaN")
    if lo < 0 or hi > 1:
        raise ValueError(f"{name}: {what} must lie in [0, 1], got values from {lo:g} to {hi:g}{hint}")


def _labels(y_true, shape, name):
    """Integer class labels for predictions of shape (..., C): shape (...) or (..., 1), values in [0, C-1]."""
    t = _values(y_true)
    lead, c = shape[:-1], shape[-1]
    if t.shape == lead + (1,):
        t = t.reshape(lead)
    if t.shape != lead:
        hint = ("; these look like one-hot targets, use categorical_crossentropy for them" if t.shape == shape
                else "")
        raise ValueError(f"{name}: integer labels of shape {t.shape} do not fit predictions of shape {shape}; "
                         f"expected labels of shape {lead} or {lead + (1,)}, one per sample{hint}")
    if _TRUST.on and t.dtype.kind in "iu":
        return t  # all the labels were checked once by check_targets
    if t.dtype.kind not in "iu":
        if t.dtype.kind == "b" or (t.dtype.kind == "f" and np.all(t == np.round(t))):
            t = t.astype(np.int64)
        else:
            raise ValueError(f"{name}: expected integer class labels in [0, {c - 1}], got an array of dtype "
                             f"{t.dtype} with non-integer values; use categorical_crossentropy for soft targets")
    if labels_out_of_range(t, c):
        raise ValueError(f"{name}: labels must lie in [0, {c - 1}] for {c} classes (the last axis of predictions "
                         f"of shape {shape}), got labels from {t.min()} to {t.max()}")
    return t


def _weights(sample_weight, loss_shape, dtype, name):
    """Sample weights of shape (n,) (or any leading part of the loss' shape), expanded to broadcast over it."""
    if sample_weight is None:
        return None
    w = np.asarray(_values(sample_weight), dtype=dtype)
    if w.shape != loss_shape[:w.ndim]:
        if w.ndim >= 1 and w.size == w.shape[0] and w.shape[:1] == loss_shape[:1]:
            w = w.reshape(w.shape[:1])  # (n, 1) -> (n,)
        else:
            n = loss_shape[0] if loss_shape else 1
            raise ValueError(f"{name}: sample_weight of shape {w.shape} does not fit losses of shape {loss_shape}; "
                             f"expected one weight per sample, shape ({n},)")
    return w.reshape(w.shape + (1,) * (len(loss_shape) - w.ndim))


def _reduce(loss, w, reduction):
    """Weight, then reduce: 'none' keeps the losses, 'sum' adds them, 'mean' is sum(w l) / sum(w)."""
    if w is not None:
        loss = ops.mul(loss, w)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return ops.sum(loss)
    if w is None:
        return ops.mean(loss)
    denom = float(np.broadcast_to(w, _values(loss).shape).sum())
    total = ops.sum(loss)
    return ops.div(total, denom) if denom else total


def _fused_logits(y_pred, kind):
    """The logits z behind y_pred = softmax(z) (last axis) or sigmoid(z) in the recorded graph, else None."""
    ctx = getattr(y_pred, "_ctx", None)
    if ctx is None or not isinstance(ctx, kind):
        return None
    if kind is Softmax and ctx.axis not in (-1, y_pred.ndim - 1):
        return None
    z = ctx.parents[0]
    return z if isinstance(z, Tensor) else None


# ------------------------------------------------------------------ the functions
def mean_squared_error(y_true: ArrayLike, y_pred: TensorLike, sample_weight: Optional[ArrayLike] = None, *,
                       reduction: Reduction = "mean") -> TensorOrArray:
    """Mean squared error, the notes' OLS cost.

    Formula::

        C = (1/n) sum_i (y_i - a_i)^2          dC/da_i = 2 (a_i - y_i) / n

    over all n elements (for outputs of shape (N, d), the mean over the batch of
    each sample's mean over its d outputs, as in Keras).

    Parameters
    ----------
    y_true : array_like
        Targets y, of the shape of ``y_pred`` ((N,) and (N, 1) are accepted for each other).
    y_pred : Tensor or array_like
        Predictions a.
    sample_weight : array_like of shape (N,), optional
        Per-sample weights; the mean becomes sum_i w_i l_i / sum_i w_i.
    reduction : {'mean', 'sum', 'none'}
        'none' returns the squared error of each element.

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import losses
    >>> a = cr.tensor([[1.0, 1.0], [1.0, 0.0]], requires_grad=True)
    >>> C = losses.mean_squared_error([[0.0, 1.0], [0.0, 0.0]], a)
    >>> C
    tensor(0.5, requires_grad=True)
    >>> C.backward()
    >>> a.grad
    array([[0.5, 0. ],
           [0.5, 0. ]], dtype=float32)
    """
    name = "mean_squared_error"
    _check_reduction(reduction, name)
    a = _prediction(y_pred, name)
    shape, dtype = _values(a).shape, _values(a).dtype
    t = _targets_like(y_true, shape, dtype, name)
    w = _weights(sample_weight, shape, dtype, name)
    if reduction != "none" and len(shape) and (w is None or w.size == shape[0]):
        return ops.pointwise_loss(a, t, weights=None if w is None else w.reshape(-1), kind="squared",
                                  scale=1.0 if reduction == "sum" else None)
    d = ops.sub(a, t)
    return _reduce(ops.mul(d, d), w, reduction)


def mean_absolute_error(y_true: ArrayLike, y_pred: TensorLike, sample_weight: Optional[ArrayLike] = None, *,
                        reduction: Reduction = "mean") -> TensorOrArray:
    """Mean absolute error.

    Formula::

        C = (1/n) sum_i |y_i - a_i|          dC/da_i = sign(a_i - y_i) / n

    Same arguments as :func:`mean_squared_error`.

    Examples
    --------
    >>> from chainrule import losses
    >>> float(losses.mean_absolute_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
    0.5
    """
    name = "mean_absolute_error"
    _check_reduction(reduction, name)
    a = _prediction(y_pred, name)
    shape, dtype = _values(a).shape, _values(a).dtype
    d = ops.sub(a, _targets_like(y_true, shape, dtype, name))
    return _reduce(ops.abs(d), _weights(sample_weight, shape, dtype, name), reduction)


def binary_crossentropy(y_true: ArrayLike, y_pred: TensorLike, from_logits: bool = False,
                        sample_weight: Optional[ArrayLike] = None, *, reduction: Reduction = "mean") -> TensorOrArray:
    """Binary cross-entropy, the negative log-likelihood of logistic regression.

    Formula::

        C = -(1/n) sum_i [ y_i log a_i + (1 - y_i) log(1 - a_i) ],   a_i = sigma(z_i)
          =  (1/n) sum_i [ log(1 + exp(z_i)) - y_i z_i ]              (from logits)
        dC/dz_i = (a_i - y_i) / n

    From logits (``from_logits=True``) the second line is computed with the stable
    softplus.  On probabilities a is clipped to [1e-7, 1 - 1e-7] first; if ``y_pred``
    is the output of a sigmoid in the recorded graph, its input z is used instead
    (exact, and finite for any z).

    Parameters
    ----------
    y_true : array_like
        Targets y in [0, 1], of the shape of ``y_pred`` ((N,) and (N, 1) fit each other).
    y_pred : Tensor or array_like
        Probabilities a (``from_logits=False``) or logits z.
    from_logits : bool
        Whether ``y_pred`` holds logits.
    sample_weight : array_like of shape (N,), optional
    reduction : {'mean', 'sum', 'none'}

    Examples
    --------
    >>> import numpy as np, chainrule as cr
    >>> from chainrule import losses
    >>> z = cr.tensor([0.0, 0.0], requires_grad=True)
    >>> C = losses.binary_crossentropy([0.0, 1.0], z, from_logits=True)
    >>> bool(np.isclose(float(C), np.log(2)))
    True
    >>> C.backward()
    >>> z.grad                      # (sigma(z) - y) / n
    array([ 0.25, -0.25], dtype=float32)
    """
    name = "binary_crossentropy"
    _check_reduction(reduction, name)
    if not from_logits:
        z = _fused_logits(y_pred, Sigmoid)
        if z is not None:
            y_pred, from_logits = z, True
    a = _prediction(y_pred, name)
    shape, dtype = _values(a).shape, _values(a).dtype
    hint = ""
    if len(shape) >= 2 and shape[-1] > 1 and _values(y_true).shape == shape[:-1]:
        hint = (f"; for integer labels of {shape[-1]} classes use sparse_categorical_crossentropy with a "
                f"softmax output")
    y = _targets_like(y_true, shape, dtype, name, hint)
    _check_unit_interval(y, "binary targets", name)
    if from_logits:
        w = _weights(sample_weight, shape, dtype, name)
        if reduction != "none" and len(shape) and (w is None or w.size == shape[0]):
            return ops.pointwise_loss(a, y, weights=None if w is None else w.reshape(-1), kind="logistic",
                                      scale=1.0 if reduction == "sum" else None)
        loss = ops.sub(ops.softplus(a), ops.mul(y, a))
    else:
        _check_unit_interval(_values(a), "probabilities", name,
                             "; these look like logits, pass from_logits=True", allow_nan=True)
        a = ops.clip(a, EPSILON, 1 - EPSILON)
        loss = ops.neg(ops.add(ops.mul(y, ops.log(a)), ops.mul(1 - y, ops.log(ops.sub(1, a)))))
    return _reduce(loss, _weights(sample_weight, shape, dtype, name), reduction)


def _crossentropy(t, a, sparse, from_logits, sample_weight, reduction, name):
    """Shared core of the categorical cross-entropies; t is labels (sparse) or a distribution."""
    arr = _values(a)
    shape = arr.shape
    lead, c = shape[:-1], shape[-1]
    w = _weights(sample_weight, lead, arr.dtype, name)
    z = a if from_logits else _fused_logits(a, Softmax)
    if z is not None:
        rows = len(shape) == 2
        sm = a._ctx if z is not a and rows and a._ctx.y.shape == shape else None
        z2 = z if rows else ops.reshape(z, (-1, c))
        t2 = t.reshape(-1) if sparse else t.reshape(-1, c)
        if reduction == "none":  # per-sample losses: -sum_c t_c log softmax(z)_c, composed
            logp = ops.log_softmax(z2, axis=-1)
            per = (ops.neg(ops.getitem(logp, (np.arange(t2.shape[0]), t2))) if sparse
                   else ops.neg(ops.sum(ops.mul(t2, logp), axis=-1)))
            return _reduce(ops.reshape(per, lead), w, "none")
        wf = None if w is None else np.broadcast_to(w, lead).reshape(-1)
        mean = SoftmaxCrossEntropy.apply(z2, t2, weights=wf, softmax=sm, validated=True)
        if reduction == "mean":
            return mean
        return ops.mul(mean, float(t2.shape[0]) if wf is None else (float(wf.sum()) or 1.0))
    if float(np.min(_values(a))) < 0:  # rows are renormalised, so only a negative value betrays logits
        raise ValueError(f"{name}: probabilities must be non-negative, got values from {float(np.min(_values(a))):g} "
                         f"to {float(np.max(_values(a))):g}; these look like logits, pass from_logits=True")
    if sparse:
        t = np.eye(c, dtype=arr.dtype)[t]
    p = ops.div(a, ops.sum(a, axis=-1, keepdims=True))
    p = ops.clip(p, EPSILON, 1 - EPSILON)
    return _reduce(ops.neg(ops.sum(ops.mul(t, ops.log(p)), axis=-1)), w, reduction)


def _class_prediction(y_pred, name):
    a = _prediction(y_pred, name)
    if _values(a).ndim < 1:
        raise ValueError(f"{name}: expected predictions of shape (batch, classes), got a scalar")
    return a


def categorical_crossentropy(y_true: ArrayLike, y_pred: TensorLike, from_logits: bool = False,
                             sample_weight: Optional[ArrayLike] = None, *,
                             reduction: Reduction = "mean") -> TensorOrArray:
    """Categorical cross-entropy of one-hot (or soft) targets, the negative log-likelihood of softmax regression.

    Formula::

        C = -(1/n) sum_i sum_c t_ic log a_ic,   a_ic = softmax(z_i)_c = exp(z_ic) / sum_c' exp(z_ic')
          =  (1/n) sum_i [ log sum_c exp(z_ic) - sum_c t_ic z_ic ]      (from logits)
        dC/dz_ic = (a_ic - t_ic) / n                                     (when sum_c t_ic = 1)

    From logits the fused, stable :func:`chainrule.ops.softmax_cross_entropy` is used.
    On probabilities each row is renormalised to sum to 1 and clipped to
    [1e-7, 1 - 1e-7] (as Keras does); if ``y_pred`` is the output of a softmax over
    the last axis in the recorded graph, its input z is used instead.

    Parameters
    ----------
    y_true : array_like of shape (N, C)
        Targets t, each row a distribution over the C classes (one-hot for hard labels).
    y_pred : Tensor or array_like of shape (N, C)
        Probabilities a (``from_logits=False``) or logits z.  Leading axes beyond the
        batch, e.g. (N, T, C), are treated as more samples.
    from_logits : bool
    sample_weight : array_like of shape (N,), optional
    reduction : {'mean', 'sum', 'none'}
        'none' returns one loss per sample.

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import losses
    >>> z = cr.tensor([[0.0, 0.0, 0.0, 0.0]], requires_grad=True)
    >>> C = losses.categorical_crossentropy([[0.0, 1.0, 0.0, 0.0]], z, from_logits=True)   # log 4
    >>> round(float(C), 6)
    1.386294
    >>> C.backward()
    >>> z.grad                      # softmax(z) - t
    array([[ 0.25, -0.75,  0.25,  0.25]], dtype=float32)
    """
    name = "categorical_crossentropy"
    _check_reduction(reduction, name)
    a = _class_prediction(y_pred, name)
    shape = _values(a).shape
    t_shape = _values(y_true).shape
    hint = ""
    if t_shape in (shape[:-1], shape[:-1] + (1,)):
        hint = "; these look like integer labels: use sparse_categorical_crossentropy, or one-hot encode them"
    if t_shape != shape:
        raise ValueError(f"{name}: targets of shape {t_shape} do not fit predictions of shape {shape}; expected "
                         f"one-hot targets of shape {shape}{hint}")
    t = _values(y_true).astype(_values(a).dtype, copy=False)
    _check_unit_interval(t, "target probabilities", name)
    return _crossentropy(t, a, False, from_logits, sample_weight, reduction, name)


def sparse_categorical_crossentropy(y_true: ArrayLike, y_pred: TensorLike, from_logits: bool = False,
                                    sample_weight: Optional[ArrayLike] = None, *,
                                    reduction: Reduction = "mean") -> TensorOrArray:
    """Categorical cross-entropy of integer class labels.

    Formula::

        C = -(1/n) sum_i log a_i,y_i  =  (1/n) sum_i [ log sum_c exp(z_ic) - z_i,y_i ]
        dC/dz_ic = (a_ic - [c = y_i]) / n

    the same as :func:`categorical_crossentropy` with t_i the one-hot vector of label
    y_i, without building it on the logits path.

    Parameters
    ----------
    y_true : array_like of shape (N,) or (N, 1)
        Integer labels in [0, C-1] (integral floats are accepted).
    y_pred : Tensor or array_like of shape (N, C)
        Probabilities (``from_logits=False``) or logits.
    from_logits : bool
    sample_weight : array_like of shape (N,), optional
    reduction : {'mean', 'sum', 'none'}
        'none' returns one loss per sample.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import losses
    >>> a = np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]])
    >>> bool(np.isclose(float(losses.sparse_categorical_crossentropy([0, 2], a)), np.log(2)))
    True
    """
    name = "sparse_categorical_crossentropy"
    ctx = getattr(y_pred, "_ctx", None)
    if type(ctx) is Softmax and reduction == "mean" and sample_weight is None and not from_logits:
        p = ctx.y
        if p.ndim == 2 and ctx.axis in (-1, 1) and p.dtype.kind == "f" and p.size:
            # the training step's case, (N, C) probabilities of a softmax node: its logits go straight to
            # the fused softmax cross-entropy (the same call as the general path below makes)
            return SoftmaxCrossEntropy.apply(ctx.parents[0], _labels(y_true, p.shape, name), softmax=ctx,
                                             validated=True)
    _check_reduction(reduction, name)
    a = _class_prediction(y_pred, name)
    labels = _labels(y_true, _values(a).shape, name)
    return _crossentropy(labels, a, True, from_logits, sample_weight, reduction, name)


#: Short names, as in Keras.
mse = mean_squared_error
mae = mean_absolute_error


# --------------------------------------------------------------- Keras-style classes
class Loss:
    """Base of the Keras-style loss classes: ``loss(y_true, y_pred, sample_weight=None)``.

    A subclass names its function in ``fn`` and its options in ``_options()``.

    Parameters
    ----------
    reduction : {'mean', 'sum', 'none'}
    name : str, optional
        Defaults to the function's name.
    """

    fn = None

    def __init__(self, reduction: Reduction = "mean", name: Optional[str] = None) -> None:
        self.reduction = _check_reduction(reduction, type(self).__name__)
        self.name = name or self.fn.__name__

    def _options(self):
        return {}

    def __call__(self, y_true: ArrayLike, y_pred: TensorLike,
                 sample_weight: Optional[ArrayLike] = None) -> TensorOrArray:
        return self.fn(y_true, y_pred, sample_weight=sample_weight, reduction=self.reduction, **self._options())

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-able: ``type(loss)(**loss.get_config())`` rebuilds it."""
        return {"name": self.name, "reduction": self.reduction, **self._options()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Loss:
        """Build a loss of this class from the dict that :meth:`get_config` returns."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _FromLogits(Loss):
    def __init__(self, from_logits: bool = False, reduction: Reduction = "mean", name: Optional[str] = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.from_logits = bool(from_logits)

    def _options(self):
        return {"from_logits": self.from_logits}


class MeanSquaredError(Loss):
    """Mean squared error as a class:  C = (1/n) sum_i (y_i - a_i)^2.  See :func:`mean_squared_error`.

    >>> from chainrule import losses
    >>> float(losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]))
    0.5
    """

    fn = staticmethod(mean_squared_error)


class MeanAbsoluteError(Loss):
    """Mean absolute error as a class:  C = (1/n) sum_i |y_i - a_i|.  See :func:`mean_absolute_error`.

    >>> from chainrule import losses
    >>> float(losses.MeanAbsoluteError(reduction="sum")([[0.0, 1.0]], [[1.0, 3.0]]))
    3.0
    """

    fn = staticmethod(mean_absolute_error)


class BinaryCrossentropy(_FromLogits):
    """Binary cross-entropy as a class.  See :func:`binary_crossentropy`.

    Formula::

        C = -(1/n) sum_i [ y_i log a_i + (1 - y_i) log(1 - a_i) ] = (1/n) sum_i [ log(1 + e^z_i) - y_i z_i ]

    >>> from chainrule import losses
    >>> losses.BinaryCrossentropy(from_logits=True).get_config()
    {'name': 'binary_crossentropy', 'reduction': 'mean', 'from_logits': True}
    """

    fn = staticmethod(binary_crossentropy)


class CategoricalCrossentropy(_FromLogits):
    """Categorical cross-entropy of one-hot targets as a class.  See :func:`categorical_crossentropy`.

    Formula::

        C = -(1/n) sum_i sum_c t_ic log a_ic = (1/n) sum_i [ log sum_c e^z_ic - sum_c t_ic z_ic ]

    >>> from chainrule import losses
    >>> loss = losses.CategoricalCrossentropy()
    >>> round(float(loss([[0.0, 1.0]], [[0.5, 0.5]])), 6)    # log 2
    0.693147
    """

    fn = staticmethod(categorical_crossentropy)


class SparseCategoricalCrossentropy(_FromLogits):
    """Categorical cross-entropy of integer labels as a class.  See :func:`sparse_categorical_crossentropy`.

    Formula::

        C = -(1/n) sum_i log a_i,y_i = (1/n) sum_i [ log sum_c e^z_ic - z_i,y_i ]

    >>> from chainrule import losses
    >>> loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> round(float(loss([1], [[0.0, 0.0]])), 6)              # log 2
    0.693147
    """

    fn = staticmethod(sparse_categorical_crossentropy)


# ---------------------------------------------------------- PyTorch-style wrappers
class _TorchStyle:
    """PyTorch-style loss: ``loss(input, target)`` (prediction first) with ``reduction``."""

    def __init__(self, reduction: Reduction = "mean") -> None:
        self.reduction = _check_reduction(reduction, type(self).__name__)

    def __call__(self, input: TensorLike, target: ArrayLike) -> TensorOrArray:  # noqa: A002 (PyTorch's names)
        return self.forward(input, target)

    def forward(self, input: TensorLike,  # pragma: no cover - abstract
                target: ArrayLike) -> TensorOrArray:  # noqa: A002
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-able: ``type(loss)(**loss.get_config())`` rebuilds it."""
        return {"reduction": self.reduction}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> _TorchStyle:
        """Build a loss of this class from the dict that :meth:`get_config` returns."""
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MSELoss(_TorchStyle):
    """PyTorch's ``nn.MSELoss``:  l_i = (a_i - y_i)^2, then mean / sum / none.

    ``MSELoss()(input, target) == mean_squared_error(target, input)``.

    >>> from chainrule import losses
    >>> float(losses.MSELoss(reduction="sum")([1.0, 3.0], [0.0, 1.0]))
    5.0
    """

    def forward(self, input: TensorLike, target: ArrayLike) -> TensorOrArray:  # noqa: A002
        """Return the mean squared error between ``input`` and ``target``, reduced as ``reduction`` says."""
        return mean_squared_error(target, input, reduction=self.reduction)


class BCELoss(_TorchStyle):
    """PyTorch's ``nn.BCELoss`` on probabilities:  l_i = -[y_i log a_i + (1 - y_i) log(1 - a_i)].

    ``BCELoss()(input, target) == binary_crossentropy(target, input)`` (log arguments clipped
    at 1e-7 where PyTorch clamps the log at -100).

    >>> from chainrule import losses
    >>> round(float(losses.BCELoss()([0.5, 0.5], [0.0, 1.0])), 6)     # log 2
    0.693147
    """

    def forward(self, input: TensorLike, target: ArrayLike) -> TensorOrArray:  # noqa: A002
        """Return the binary cross-entropy of the probabilities ``input`` against ``target``."""
        return binary_crossentropy(target, input, reduction=self.reduction)


class BCEWithLogitsLoss(_TorchStyle):
    """PyTorch's ``nn.BCEWithLogitsLoss``:  l_i = log(1 + exp(z_i)) - y_i z_i  (stable for any z).

    ``BCEWithLogitsLoss()(input, target) == binary_crossentropy(target, input, from_logits=True)``.

    >>> from chainrule import losses
    >>> float(losses.BCEWithLogitsLoss(reduction="none")([-1000.0, 1000.0], [0.0, 1.0]).sum())
    0.0
    """

    def forward(self, input: TensorLike, target: ArrayLike) -> TensorOrArray:  # noqa: A002
        """Return the binary cross-entropy of the logits ``input`` against ``target``."""
        return binary_crossentropy(target, input, from_logits=True, reduction=self.reduction)


class CrossEntropyLoss(_TorchStyle):
    """PyTorch's ``nn.CrossEntropyLoss`` on logits:  l_i = log sum_c exp(z_ic) - sum_c t_ic z_ic.

    ``target`` is integer class indices (N,) (then t_i is one-hot) or class
    probabilities (N, C), like PyTorch's; it calls
    :func:`sparse_categorical_crossentropy` or :func:`categorical_crossentropy` with
    ``from_logits=True``.  The class axis is the last one (chainrule is channels-last;
    for 2-D input this is PyTorch's convention).

    >>> import numpy as np
    >>> from chainrule import losses
    >>> bool(np.isclose(float(losses.CrossEntropyLoss()(np.zeros((2, 4)), [1, 3])), np.log(4)))
    True
    """

    def forward(self, input: TensorLike, target: ArrayLike) -> TensorOrArray:  # noqa: A002
        """Return the cross-entropy of the logits ``input`` against ``target``, given as class indices or as
        probabilities of the same shape."""
        target = _values(target)
        if self.reduction == "mean" and isinstance(input, Tensor) and target.ndim == 1 and target.dtype.kind in "iu":
            z = input.data
            if (z.ndim == 2 and z.dtype.kind == "f" and z.size and z.shape[0] == target.shape[0]
                    and not labels_out_of_range(target, z.shape[1])):
                # the training step's case, valid as it stands: straight to the fused primitive
                # (anything else takes the full path below, which also says what is wrong)
                return SoftmaxCrossEntropy.apply(input, target, validated=True)
        if target.shape == _values(input).shape:
            return categorical_crossentropy(target, input, from_logits=True, reduction=self.reduction)
        return sparse_categorical_crossentropy(target, input, from_logits=True, reduction=self.reduction)


# ------------------------------------------------------------- lookup and configs
_FUNCTIONS = {fn.__name__: fn for fn in (mean_squared_error, mean_absolute_error, binary_crossentropy,
                                         categorical_crossentropy, sparse_categorical_crossentropy)}
_ALIASES = {
    "mse": "mean_squared_error", "mae": "mean_absolute_error",
    "bce": "binary_crossentropy", "binary_cross_entropy": "binary_crossentropy", "log_loss": "binary_crossentropy",
    "cce": "categorical_crossentropy", "categorical_cross_entropy": "categorical_crossentropy",
    "crossentropy": "categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy", "sparse_categorical_cross_entropy": "sparse_categorical_crossentropy",
}
_CLASSES = {cls.__name__: cls for cls in (MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy,
                                          CategoricalCrossentropy, SparseCategoricalCrossentropy,
                                          MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss)}


def _valid_names():
    return ", ".join(sorted(_FUNCTIONS) + sorted(_ALIASES) + sorted(_CLASSES))


def get(identifier: Union[str, Mapping[str, Any], Callable[..., Any], type, None],
        custom_objects: Optional[Mapping[str, Any]] = None) -> Optional[Callable[..., Any]]:
    """Resolve a loss: a name, a config (see :func:`serialize`), a loss object or any callable.

    Function names and aliases ('mse', 'mae', 'bce', 'binary_crossentropy',
    'categorical_crossentropy', 'sparse_categorical_crossentropy', ...) give the
    function; class names ('MeanSquaredError', 'CrossEntropyLoss', ...) give an
    instance with default arguments; callables are returned unchanged.

    >>> from chainrule import losses
    >>> losses.get("mse") is losses.mean_squared_error
    True
    >>> losses.get("BinaryCrossentropy")
    BinaryCrossentropy(name='binary_crossentropy', reduction='mean', from_logits=False)
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, str):
        if custom_objects and identifier in custom_objects:
            obj = custom_objects[identifier]
            return obj() if isinstance(obj, type) else obj
        key = identifier.lower()
        key = _ALIASES.get(key, key)
        if key in _FUNCTIONS:
            return _FUNCTIONS[key]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise ValueError(f"losses.get: unknown loss {identifier!r}; valid names are {_valid_names()}")
    if isinstance(identifier, type):
        if issubclass(identifier, (Loss, _TorchStyle)):
            return identifier()
    elif callable(identifier):
        # a function whose batch mean is one of these (Keras' per-sample functions, chainrule.keras.losses)
        return getattr(identifier, "reduced_form", identifier)
    raise ValueError(f"losses.get: could not interpret {identifier!r} as a loss; pass a name ({_valid_names()}), "
                     f"a loss object or a callable(y_true, y_pred)")


def serialize(loss: Union[str, Callable[..., Any]]) -> Union[str, dict[str, Any]]:
    """A JSON-able description of a built-in loss: a function's name, or ``{'class_name', 'config'}``.

    >>> from chainrule import losses
    >>> losses.serialize(losses.CategoricalCrossentropy(from_logits=True))
    {'class_name': 'CategoricalCrossentropy', 'config': {'name': 'categorical_crossentropy', 'reduction': 'mean', 'from_logits': True}}
    >>> losses.serialize("mse")
    'mean_squared_error'
    """
    if isinstance(loss, str):
        loss = get(loss)
    if callable(loss) and getattr(loss, "__name__", None) in _FUNCTIONS and _FUNCTIONS[loss.__name__] is loss:
        return loss.__name__
    if isinstance(loss, (Loss, _TorchStyle)):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    raise ValueError(f"losses.serialize: cannot describe {loss!r}; only the built-in losses and Loss subclasses "
                     f"have a saved form ({', '.join(sorted(_FUNCTIONS) + sorted(_CLASSES))})")


def deserialize(config: Union[str, Mapping[str, Any]],
                custom_objects: Optional[Mapping[str, Any]] = None) -> Callable[..., Any]:
    """Rebuild a loss from :func:`serialize`'s output.

    >>> from chainrule import losses
    >>> losses.deserialize({"class_name": "MSELoss", "config": {"reduction": "sum"}})
    MSELoss(reduction='sum')
    """
    if isinstance(config, str):
        return get(config, custom_objects)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"losses.deserialize: expected a name or a dict with 'class_name' and 'config', "
                         f"got {config!r}")
    name = config["class_name"]
    classes = {**_CLASSES, **(custom_objects or {})}
    if name not in classes:
        raise ValueError(f"losses.deserialize: unknown loss class {name!r}; valid classes are "
                         f"{', '.join(sorted(classes))} (pass custom_objects={{{name!r}: cls}} for your own)")
    cls = classes[name]
    cfg = config.get("config") or {}
    return cls.from_config(cfg) if hasattr(cls, "from_config") else cls(**cfg)


# ------------------------------------------------------- targets checked once per fit
def _base_function(loss):
    """The built-in function behind a loss object, with its from_logits, or (None, None)."""
    if isinstance(loss, Loss):
        fn = type(loss).fn
        fn = getattr(fn, "__func__", fn)
        return (fn, getattr(loss, "from_logits", False)) if fn in _FUNCTIONS.values() else (None, None)
    if isinstance(loss, (BCELoss, BCEWithLogitsLoss)):
        return binary_crossentropy, isinstance(loss, BCEWithLogitsLoss)
    if isinstance(loss, MSELoss):
        return mean_squared_error, False
    if callable(loss) and getattr(loss, "__name__", None) in _FUNCTIONS and _FUNCTIONS[loss.__name__] is loss:
        return loss, False
    return None, None


def check_targets(loss: Callable[..., Any], y_true: ArrayLike, pred_shape: Sequence[int]) -> tuple[ArrayLike, bool]:
    """Validate a whole target array once for a built-in ``loss`` and predictions of ``pred_shape``.

    Returns ``(targets, checked)``: the targets as the loss uses them (integer labels, floats) and
    whether ``loss`` is one whose batches :func:`call_validated` may run without scanning the
    values again (label ranges, probabilities in [0, 1]).  A custom loss gives ``(y_true, False)``.
    Raises the loss's own error for bad targets, naming what is wrong.
    """
    fn, _ = _base_function(loss)
    y = _values(y_true)
    if fn is None and isinstance(loss, CrossEntropyLoss):
        fn = categorical_crossentropy if y.shape == tuple(pred_shape) else sparse_categorical_crossentropy
    if fn is None or len(pred_shape) == 0:
        return y_true, False
    name = fn.__name__
    if fn is sparse_categorical_crossentropy:
        return _labels(y, tuple(pred_shape), name), True
    if fn is categorical_crossentropy:
        if y.shape != tuple(pred_shape):
            return y_true, False  # the loss's own call says what is wrong
        _check_unit_interval(y, "target probabilities", name)
        return y, True
    if y.dtype.kind not in "fiub":
        return y_true, False
    if fn is binary_crossentropy:
        _check_unit_interval(y, "binary targets", name)
    return y, True


def averages_weights(loss: Callable[..., Any]) -> bool:
    """True if ``loss(y_true, y_pred, sample_weight=w)`` is this module's weighted mean,
    sum_i w_i l_i / sum_i w_i: its functions, and its classes with reduction 'mean'.

    Keras divides the weighted sum by the number of losses instead (its reduction
    'sum_over_batch_size'), so weights that all double double the loss; the Trainer, which is
    Keras' ``fit``, converts one into the other.  A loss that reduces as Keras does says so with a
    true ``keras_reduction`` attribute (the classes of :mod:`chainrule.keras.losses`); of any other
    callable nothing is known, and False is returned.
    """
    if isinstance(loss, Loss):
        return loss.reduction == "mean" and not getattr(loss, "keras_reduction", False)
    return any(loss is fn for fn in _FUNCTIONS.values())


def call_validated(loss: Callable[..., Any], y_true: ArrayLike, y_pred: TensorLike,
                   sample_weight: Optional[ArrayLike] = None) -> TensorOrArray:
    """``loss(y_true, y_pred[, sample_weight])`` for targets that :func:`check_targets` accepted:
    the same computation and shape checks, without scanning the target values again."""
    _TRUST.on = True
    try:
        return loss(y_true, y_pred) if sample_weight is None else loss(y_true, y_pred, sample_weight=sample_weight)
    finally:
        _TRUST.on = False

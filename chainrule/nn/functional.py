"""``chainrule.nn.functional``: activations and losses under PyTorch's names (``torch.nn.functional``).

Every function takes Tensors (recording the graph) or arrays, and follows PyTorch's arguments: the
losses take ``(input, target)`` (prediction first) and ``reduction='mean' | 'sum' | 'none'``.  The
activations are the primitives of :mod:`chainrule.ops` or compositions of them; the losses that
:mod:`chainrule.losses` already defines are called from there (one implementation each), the others
are composed here with their formula beside them.  The class axis of ``cross_entropy`` and
``nll_loss`` is the last one (chainrule is channels-last; for (N, C) inputs this is PyTorch's layout).

>>> import numpy as np, chainrule as cr
>>> import chainrule.nn.functional as F
>>> z = cr.tensor(np.array([[2.0, 0.0, -1.0]]), requires_grad=True)
>>> loss = F.cross_entropy(z, np.array([0]))
>>> loss.backward()
>>> np.round(z.grad, 4)                      # softmax(z) - onehot(target)
array([[-0.1562,  0.1142,  0.042 ]])
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np

from chainrule import losses as _losses
from chainrule import ops
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, DTypeLike, Sequence, TensorLike

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
           "sigmoid", "logsigmoid", "tanh", "hardtanh", "hardsigmoid", "hardswish", "softmax", "log_softmax",
           "linear", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div", "embedding", "embedding_indices",
           "layer_norm", "normalize"]


def _dim(dim, fname):
    if dim is None:
        raise TypeError(f"{fname}: give dim= (the axis to normalize over), as PyTorch asks")
    return dim


# ------------------------------------------------------------------ activations
def relu(input: TensorLike, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002 (PyTorch's names)
    """max(0, x);  derivative 1 for x > 0, 0 for x <= 0."""
    return ops.relu(input)


def relu6(input: TensorLike, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """min(max(0, x), 6);  derivative 1 on (0, 6), 0 elsewhere (and at the bounds)."""
    return ops.relu6(input)


def leaky_relu(input: TensorLike, negative_slope: float = 0.01,
               inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """x for x > 0, negative_slope x otherwise."""
    return ops.leaky_relu(input, negative_slope)


def elu(input: TensorLike, alpha: float = 1.0, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    return ops.elu(input, alpha)


def selu(input: TensorLike, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """scale (max(0, x) + min(0, alpha (exp(x) - 1))), alpha = 1.6733, scale = 1.0507 (self-normalizing)."""
    return ops.selu(input)


def celu(input: TensorLike, alpha: float = 1.0, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1))  (elu of x / alpha, times alpha)."""
    return ops.mul(ops.elu(ops.div(input, alpha), 1.0), alpha)


def gelu(input: TensorLike, approximate: Literal["none", "tanh"] = "none") -> Tensor | np.ndarray:  # noqa: A002
    """x Phi(x), Phi the standard normal CDF:  x (1 + erf(x / sqrt 2)) / 2;  with ``approximate='tanh'``
    x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2."""
    x = ops._arr(input)
    if approximate == "tanh":
        inner = ops.mul(ops.add(x, ops.mul(0.044715, ops.mul(ops.mul(x, x), x))), math.sqrt(2 / math.pi))
        return ops.mul(ops.mul(x, 0.5), ops.add(1.0, ops.tanh(inner)))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.gelu(x)


def silu(input: TensorLike, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """x sigma(x) (swish);  derivative sigma(x) (1 + x (1 - sigma(x)))."""
    return ops.silu(input)


def mish(input: TensorLike, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """x tanh(softplus(x))."""
    return ops.mish(input)


def softplus(input: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor | np.ndarray:  # noqa: A002
    """(1/beta) log(1 + exp(beta x)), and x itself where beta x > threshold (PyTorch's linear tail)."""
    x = ops._arr(input)
    if beta == 1.0:
        sp = ops.softplus(x)
    else:
        sp = ops.div(ops.softplus(ops.mul(x, beta)), beta)
    return ops.where(np.asarray(ops._value(x)) * beta > threshold, x, sp)


def softsign(input: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
    """x / (1 + |x|)."""
    return ops.softsign(input)


def sigmoid(input: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
    """1 / (1 + exp(-x));  derivative y (1 - y)."""
    return ops.sigmoid(input)


def logsigmoid(input: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
    """log sigma(x) = -softplus(-x), stable for any x."""
    return ops.neg(ops.softplus(ops.neg(ops._arr(input))))


def tanh(input: TensorLike) -> Tensor | np.ndarray:  # noqa: A002
    """tanh(x);  derivative 1 - y^2."""
    return ops.tanh(input)


def hardtanh(input: TensorLike, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """x clipped to [min_val, max_val];  derivative 1 strictly inside, 0 outside (as PyTorch)."""
    return ops.clip(input, min_val, max_val)


def hardsigmoid(input: TensorLike, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """clip(x / 6 + 1/2, 0, 1);  derivative 1/6 on (-3, 3), 0 elsewhere."""
    return ops.hard_sigmoid(input)


def hardswish(input: TensorLike, inplace: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """x hardsigmoid(x) = x clip(x + 3, 0, 6) / 6."""
    return ops.hard_silu(input)


def softmax(input: TensorLike, dim: int | None = None, dtype: DTypeLike = None) -> Tensor | np.ndarray:  # noqa: A002
    """exp(x_i) / sum_j exp(x_j) along ``dim``;  dy_i/dx_j = y_i (delta_ij - y_j)."""
    x = ops._arr(input) if dtype is None else ops.astype(ops._arr(input), dtype)
    return ops.softmax(x, axis=_dim(dim, "softmax"))


def log_softmax(input: TensorLike, dim: int | None = None,
                dtype: DTypeLike = None) -> Tensor | np.ndarray:  # noqa: A002
    """x_i - logsumexp(x) along ``dim``."""
    x = ops._arr(input) if dtype is None else ops.astype(ops._arr(input), dtype)
    return ops.log_softmax(x, axis=_dim(dim, "log_softmax"))


def linear(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor | np.ndarray:  # noqa: A002
    """PyTorch's linear: y = x W^T + b with W of shape (out_features, in_features)."""
    y = ops.matmul(input, ops.transpose(weight))
    return y if bias is None else ops.add(y, bias)


# ------------------------------------------------------------------ losses
def _reduce(loss, reduction, name, weight=None):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if weight is not None:
        loss = ops.mul(loss, weight)
    if reduction == "none":
        return loss
    return ops.sum(loss) if reduction == "sum" else ops.mean(loss)


def _target(target):
    return target.data if isinstance(target, Tensor) and not target.requires_grad else target


def mse_loss(input: TensorLike, target: TensorLike,
             reduction: Literal["mean", "sum", "none"] = "mean") -> Tensor | np.ndarray:  # noqa: A002
    """Mean squared error  l_i = (a_i - y_i)^2  (:func:`chainrule.losses.mean_squared_error`)."""
    return _losses.mean_squared_error(_target(target), input, reduction=reduction)


def l1_loss(input: TensorLike, target: TensorLike,
            reduction: Literal["mean", "sum", "none"] = "mean") -> Tensor | np.ndarray:  # noqa: A002
    """Mean absolute error  l_i = |a_i - y_i|  (:func:`chainrule.losses.mean_absolute_error`)."""
    return _losses.mean_absolute_error(_target(target), input, reduction=reduction)


def huber_loss(input: TensorLike, target: TensorLike, reduction: Literal["mean", "sum", "none"] = "mean",
               delta: float = 1.0) -> Tensor | np.ndarray:  # noqa: A002
    """Huber loss.  With d = a - y:  l = d^2 / 2 for |d| < delta, delta (|d| - delta/2) otherwise;
    dl/da = d inside, delta sign(d) outside (the gradient is clipped at delta)."""
    d = ops.sub(input, target)
    ad = ops.abs(d)
    inside = np.asarray(ops._value(ad)) < delta
    loss = ops.where(inside, ops.mul(ops.mul(d, d), 0.5), ops.mul(ops.sub(ad, delta / 2), delta))
    return _reduce(loss, reduction, "huber_loss")


def smooth_l1_loss(input: TensorLike, target: TensorLike, reduction: Literal["mean", "sum", "none"] = "mean",
                   beta: float = 1.0) -> Tensor | np.ndarray:  # noqa: A002
    """Smooth L1 loss: l = d^2 / (2 beta) for |d| < beta, |d| - beta/2 otherwise (huber_loss / beta)."""
    if beta == 0:
        return l1_loss(input, target, reduction)
    return ops.div(huber_loss(input, target, reduction, delta=beta), beta)


def binary_cross_entropy(input: TensorLike, target: TensorLike, weight: TensorLike | None = None,
                         reduction: Literal["mean", "sum", "none"] = "mean") -> Tensor | np.ndarray:  # noqa: A002
    """Binary cross-entropy on probabilities  l_i = -w_i [y_i log a_i + (1 - y_i) log(1 - a_i)]
    (:func:`chainrule.losses.binary_crossentropy`, which clips a to [1e-7, 1 - 1e-7] where PyTorch
    clamps the log at -100); ``weight`` rescales each element."""
    if weight is None:
        return _losses.binary_crossentropy(_target(target), input, reduction=reduction)
    per = _losses.binary_crossentropy(_target(target), input, reduction="none")
    return _reduce(per, reduction, "binary_cross_entropy", weight)


def binary_cross_entropy_with_logits(input: TensorLike, target: TensorLike, weight: TensorLike | None = None,
                                     reduction: Literal["mean", "sum", "none"] = "mean",
                                     pos_weight: TensorLike | None = None) -> Tensor | np.ndarray:  # noqa: A002
    """Binary cross-entropy on logits, stable for any z:  l = softplus(z) - y z  (:func:`chainrule.losses.
    binary_crossentropy` with ``from_logits=True``); with ``pos_weight`` p the positive term is
    weighted:  l = (1 - y) z + (1 + (p - 1) y) softplus(-z)."""
    if weight is None and pos_weight is None:
        return _losses.binary_crossentropy(_target(target), input, from_logits=True, reduction=reduction)
    if pos_weight is None:
        per = _losses.binary_crossentropy(_target(target), input, from_logits=True, reduction="none")
    else:
        z, y = ops._arr(input), ops._arr(_target(target))
        per = ops.add(ops.mul(ops.sub(1.0, y), z),
                      ops.mul(ops.add(1.0, ops.mul(ops.sub(pos_weight, 1.0), y)), ops.softplus(ops.neg(z))))
    return _reduce(per, reduction, "binary_cross_entropy_with_logits", weight)


def _class_weighted(logp, target, weight, ignore_index, reduction, name):
    """-w_t logp[t] per sample for class indices t, PyTorch's weighted mean sum w_t l / sum w_t."""
    t = np.asarray(ops._value(target))
    c = ops._value(logp).shape[-1]
    keep = t != ignore_index
    tt = np.where(keep, t, 0)
    if tt.size and (tt.min() < 0 or tt.max() >= c):
        raise ValueError(f"{name}: class indices must lie in [0, {c - 1}] (or be ignore_index={ignore_index}), "
                         f"got values from {t.min()} to {t.max()}")
    lead = np.indices(tt.shape)
    picked = ops.neg(ops.getitem(logp, tuple(lead) + (tt,)))
    w = np.ones(c) if weight is None else np.asarray(ops._value(weight), dtype=float)
    wt = np.where(keep, w[tt], 0.0)
    per = ops.mul(picked, wt)
    if reduction == "none":
        return per
    if reduction == "sum":
        return ops.sum(per)
    if reduction != "mean":
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return ops.div(ops.sum(per), float(wt.sum()))


def nll_loss(input: TensorLike, target: ArrayLike, weight: ArrayLike | None = None, ignore_index: int = -100,
             reduction: Literal["mean", "sum", "none"] = "mean") -> Tensor | np.ndarray:  # noqa: A002
    """Negative log-likelihood of log-probabilities:  l_i = -w_{t_i} input[i, t_i]; the mean is
    weighted, sum_i l_i / sum_i w_{t_i}; samples with target ``ignore_index`` count for nothing."""
    return _class_weighted(ops._arr(input), target, weight, ignore_index, reduction, "nll_loss")


def cross_entropy(input: TensorLike, target: TensorLike, weight: ArrayLike | None = None, ignore_index: int = -100,
                  reduction: Literal["mean", "sum", "none"] = "mean",
                  label_smoothing: float = 0.0) -> Tensor | np.ndarray:  # noqa: A002
    """Cross-entropy of logits:  l_i = logsumexp(z_i) - sum_c t_ic z_ic  with t_i one-hot (class indices)
    or given probabilities; gradient (softmax(z) - t) / N for the mean.

    Without class weights, ignored indices or smoothing it is :class:`chainrule.losses.CrossEntropyLoss`
    (the fused softmax cross-entropy); otherwise composed from log_softmax:  ``label_smoothing`` eps
    mixes the targets with the uniform distribution, t = (1 - eps) t + eps / C."""
    target = _target(target)
    tv = np.asarray(ops._value(target))
    z = ops._arr(input)
    c = np.shape(ops._value(z))[-1]
    soft = tv.shape == np.shape(ops._value(z)) and tv.dtype.kind == "f"
    if weight is None and label_smoothing == 0 and (soft or not np.any(tv == ignore_index)):
        return _losses.CrossEntropyLoss(reduction=reduction)(z, target)
    logp = ops.log_softmax(z, axis=-1)
    if not soft and label_smoothing == 0:
        return _class_weighted(logp, tv, weight, ignore_index, reduction, "cross_entropy")
    if soft:
        t = tv
        keep = np.ones(tv.shape[:-1], bool)
    else:
        keep = tv != ignore_index
        t = np.eye(c)[np.where(keep, tv, 0)] * keep[..., None]
    if label_smoothing:
        t = (1 - label_smoothing) * t + label_smoothing / c * keep[..., None]
    w = np.ones(c) if weight is None else np.asarray(ops._value(weight), dtype=float)
    per = ops.neg(ops.sum(ops.mul(logp, t * w), axis=-1))
    if reduction == "mean" and not soft:
        wt = np.where(keep, w[np.where(keep, tv, 0)], 0.0)
        return ops.div(ops.sum(per), float(wt.sum()))
    return _reduce(per, reduction, "cross_entropy")


def kl_div(input: TensorLike, target: TensorLike, reduction: Literal["mean", "batchmean", "sum", "none"] = "mean",
           log_target: bool = False) -> Tensor | np.ndarray:  # noqa: A002
    """Kullback-Leibler divergence with ``input`` log-probabilities:  l = t (log t - input)  (0 where
    t = 0), or with ``log_target`` l = exp(t) (t - input).  ``reduction='batchmean'`` divides the sum by
    the batch size (the true KL divergence per sample); 'mean' by the number of elements."""
    x = ops._arr(input)
    t = ops._arr(_target(target))
    if log_target:
        loss = ops.mul(ops.exp(t), ops.sub(t, x))
    else:
        tv = np.asarray(ops._value(t))
        pos = tv > 0
        logt = ops.log(ops.where(pos, t, 1.0))
        loss = ops.where(pos, ops.mul(t, ops.sub(logt, x)), 0.0)
    if reduction == "batchmean":
        return ops.div(ops.sum(loss), float(np.shape(ops._value(x))[0]))
    return _reduce(loss, reduction, "kl_div")


# ------------------------------------------------------------------ embeddings
def embedding_indices(input: ArrayLike | Tensor, num_embeddings: int, who: str = "embedding") -> np.ndarray:
    """``input`` as an array of row numbers in [0, num_embeddings): integers, or floats holding whole
    numbers (Keras casts its inputs); anything else, or an index out of range, is a clear error (NumPy
    would wrap a negative index round to the last rows without a word)."""
    idx = np.asarray(input.data if isinstance(input, Tensor) else input)
    if idx.dtype.kind == "f":
        if not np.all(np.isfinite(idx)) or not np.all(idx == np.round(idx)):
            raise TypeError(f"{who}: the inputs are row numbers and must be whole numbers; got {idx.dtype} values "
                            f"that are not")
        idx = idx.astype(np.int64)
    elif idx.dtype.kind not in "iu":
        raise TypeError(f"{who}: the inputs are row numbers and must be integers, got an array of {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= num_embeddings):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ValueError(f"{who}: index {int(bad)} is out of range for {num_embeddings} rows "
                         f"(expected 0 <= index < {num_embeddings})")
    return idx


def embedding(input: ArrayLike | Tensor, weight: TensorLike, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor | np.ndarray:
    """Look rows up: y[..., :] = W[i, :] for each index i of ``input``;  Wbar[k] = the sum of ybar over
    the places where i = k (a scatter-add).

    As PyTorch's: the row ``padding_idx`` takes no gradient; ``max_norm`` first rescales, in place and
    outside the graph, each looked-up row whose ``norm_type``-norm exceeds it to that norm;
    ``scale_grad_by_freq`` divides each row's gradient by how often the row occurs in ``input``.
    ``sparse=True`` gives the same values and gradients as dense ones (chainrule's gradients are dense
    arrays).  Keras' ``Embedding`` layer is this lookup with no options.

    >>> import numpy as np, chainrule as cr
    >>> W = cr.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    >>> y = embedding(np.array([[2, 0, 2]]), W)
    >>> y.sum().backward()
    >>> y.data.tolist(), W.grad.tolist()
    ([[[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]], [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])
    """
    W = ops._arr(weight)
    shape = np.shape(ops._value(W))
    if len(shape) != 2:
        raise ValueError(f"embedding: weight must be a matrix (num_embeddings, embedding_dim), got shape {shape}")
    return _lookup(embedding_indices(input, shape[0]), W, padding_idx, max_norm, norm_type, scale_grad_by_freq)


def _lookup(idx, W, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False):
    """:func:`embedding` on checked row numbers ``idx`` (from :func:`embedding_indices`)."""
    if max_norm is not None:
        data = np.asarray(ops._value(W))
        rows = np.unique(idx)
        norms = np.linalg.norm(data[rows], ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():   # PyTorch's renorm: scale max_norm / (norm + 1e-7), the weights changed in place
            data[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(data.dtype)
            if isinstance(W, Tensor):
                W._changed()     # (a graph that read these rows before cannot be back-propagated now)
    y = ops.take(W, idx, axis=0)
    if scale_grad_by_freq and isinstance(y, Tensor):
        _, inverse, counts = np.unique(idx, return_inverse=True, return_counts=True)
        c = (1.0 / counts[inverse.reshape(idx.shape)])[..., None].astype(y.data.dtype)
        y = ops.add(ops.mul(y, c), y.data * (1 - c))        # the values of y, the gradient scaled by c
    if padding_idx is not None and isinstance(y, Tensor):
        pad = idx == padding_idx
        if pad.any():           # those places read the row as a constant: no gradient reaches it
            y = ops.where(pad[..., None], y.data, y)
    return y


def _normalize_over(x: TensorLike, axes: tuple[int, ...], gamma: TensorLike | None, beta: TensorLike | None,
                   eps: float) -> Tensor | np.ndarray:
    """Layer normalization over ``axes`` of each sample (Ba, Kiros and Hinton 2016), the one place both
    Keras' LayerNormalization and PyTorch's LayerNorm compute it:

        mu = mean_axes(x),  sigma^2 = mean_axes((x - mu)^2)  (the biased variance),
        y = (x - mu) / sqrt(sigma^2 + eps) * gamma + beta.

    Written with the engine's primitives (mean, subtract, square, sqrt, divide), so its gradient and
    forward mode are theirs."""
    mu = ops.mean(x, axis=axes, keepdims=True)
    d = ops.sub(x, mu)
    var = ops.mean(ops.mul(d, d), axis=axes, keepdims=True)
    y = ops.div(d, ops.sqrt(ops.add(var, eps)))
    if gamma is not None:
        y = ops.mul(y, gamma)
    if beta is not None:
        y = ops.add(y, beta)
    return y


def normalize(input: TensorLike, p: float = 2.0, dim: int | Sequence[int] = 1,  # noqa: A002
              eps: float = 1e-12) -> Tensor | np.ndarray:
    """PyTorch's ``F.normalize``: x / max(||x||_p, eps), the p-norm taken over ``dim`` (an axis or several)
    of each slice; ``p`` = 2 gives unit vectors (Keras' ``UnitNormalization``).
    Written with the engine's primitives, so its gradient and forward mode are theirs."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise ValueError(f"normalize: p must be a positive number, got {p!r}")
    axes = tuple(dim) if isinstance(dim, (list, tuple)) else dim
    if p == 2:
        norm = ops.sqrt(ops.sum(ops.mul(input, input), axis=axes, keepdims=True))
    else:
        norm = ops.pow(ops.sum(ops.pow(ops.abs(input), p), axis=axes, keepdims=True), 1.0 / p)
    return ops.div(input, ops.maximum(norm, eps))


def layer_norm(input: TensorLike, normalized_shape: int | Sequence[int], weight: TensorLike | None = None,  # noqa: A002
               bias: TensorLike | None = None, eps: float = 1e-5) -> Tensor | np.ndarray:
    """PyTorch's ``F.layer_norm``: each sample normalized over its last ``len(normalized_shape)`` axes,
    which must have that shape, then scaled by ``weight`` and shifted by ``bias`` (of that shape):
    mu and sigma^2 the mean and biased variance over those axes, y = (x - mu) / sqrt(sigma^2 + eps) * weight + bias."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(int(d) for d in normalized_shape)
    got = np.shape(input.data if isinstance(input, Tensor) else input)
    if not shape or got[len(got) - len(shape):] != shape or len(got) < len(shape):
        raise ValueError(f"layer_norm: the input's last axes must have the normalized shape {shape}, got an input of "
                         f"shape {got}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"layer_norm: eps must be a number >= 0, got {eps!r}")
    return _normalize_over(input, tuple(range(-len(shape), 0)), weight, bias, float(eps))

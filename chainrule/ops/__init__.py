"""The primitives, as functions that take Tensors, ndarrays or numbers.

Each public function here is one line over a :class:`~chainrule.function.Function`
subclass (where the value, the VJP and the JVP live side by side), or a
composition of other primitives when no new derivative is needed: ``mean`` is
``sum / n`` and ``leaky_relu`` is a ``where``.  With no Tensor among the inputs
the result is a plain ndarray, so these are also ordinary NumPy functions.
"""
from __future__ import annotations

import numpy as np

from chainrule.ops.elementwise import (Abs, Activation, Add, AsType, Clip, Div, Elu, Exp, Identity, LeakyRelu,
                                       Log, Mul, Neg, Pow, Relu, Sigmoid, Softplus, Sqrt, Sub, Tanh, Where)
from chainrule.ops.linalg import MatMul
from chainrule.ops.reduce import LogSoftmax, LogSumExp, Max, Min, Softmax, Sum, _norm_axis
from chainrule.ops.shape import BroadcastTo, Concatenate, GetItem, Pad, Reshape, Stack, Transpose
from chainrule.tensor import Tensor

__all__ = ["add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt", "abs", "tanh",
           "sigmoid", "relu", "leaky_relu", "elu", "softplus", "clip", "where", "sum", "mean", "var",
           "max", "min", "logsumexp", "softmax", "log_softmax", "reshape", "transpose", "getitem",
           "concatenate", "stack", "pad", "broadcast_to", "astype", "identity"]


def _doc(cls):
    """Give a public wrapper function the primitive's docstring (its equations)."""
    def deco(fn):
        fn.__doc__ = (cls.__doc__ or "") + ("\n\n" + fn.__doc__ if fn.__doc__ else "")
        return fn
    return deco


# --- arithmetic --------------------------------------------------------------
@_doc(Add)
def add(a, b): return Add.apply(a, b)
@_doc(Sub)
def sub(a, b): return Sub.apply(a, b)
@_doc(Mul)
def mul(a, b): return Mul.apply(a, b)
@_doc(Div)
def div(a, b): return Div.apply(a, b)
@_doc(Pow)
def pow(a, b): return Pow.apply(a, b)  # noqa: A001 (NumPy's name)
@_doc(Neg)
def neg(x): return Neg.apply(x)
@_doc(MatMul)
def matmul(a, b): return MatMul.apply(a, b)


# --- elementwise functions ----------------------------------------------------
@_doc(Exp)
def exp(x): return Exp.apply(x)
@_doc(Log)
def log(x): return Log.apply(x)
@_doc(Sqrt)
def sqrt(x): return Sqrt.apply(x)
@_doc(Abs)
def abs(x): return Abs.apply(x)  # noqa: A001
@_doc(Clip)
def clip(x, a_min=None, a_max=None): return Clip.apply(x, lo=a_min, hi=a_max)
@_doc(Where)
def where(cond, a, b): return Where.apply(_value(cond), a, b)
@_doc(AsType)
def astype(x, dtype): return AsType.apply(x, dtype=np.dtype(dtype))


# --- activations (each defined once in chainrule/ops/elementwise.py; the table is chainrule.ops.activations)
def _check_alpha(name, alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) \
            or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name}: alpha must be a finite number >= 0, got {alpha!r}")
    return float(alpha)


@_doc(Identity)
def identity(x):
    return x


@_doc(Tanh)
def tanh(x): return Tanh.apply(x)
@_doc(Sigmoid)
def sigmoid(x): return Sigmoid.apply(x)
@_doc(Relu)
def relu(x): return Relu.apply(x)


@_doc(LeakyRelu)
def leaky_relu(x, alpha=0.01):
    return LeakyRelu.apply(x, alpha=_check_alpha("leaky_relu", alpha))


@_doc(Elu)
def elu(x, alpha=1.0):
    return Elu.apply(x, alpha=_check_alpha("elu", alpha))


@_doc(Softplus)
def softplus(x): return Softplus.apply(x)


# --- reductions ---------------------------------------------------------------
@_doc(Sum)
def sum(x, axis=None, keepdims=False): return Sum.apply(x, axis=axis, keepdims=keepdims)  # noqa: A001
@_doc(Max)
def max(x, axis=None, keepdims=False): return Max.apply(x, axis=axis, keepdims=keepdims)  # noqa: A001
@_doc(Min)
def min(x, axis=None, keepdims=False): return Min.apply(x, axis=axis, keepdims=keepdims)  # noqa: A001
@_doc(LogSumExp)
def logsumexp(x, axis=None, keepdims=False): return LogSumExp.apply(x, axis=axis, keepdims=keepdims)
@_doc(Softmax)
def softmax(x, axis=-1): return Softmax.apply(x, axis=axis)
@_doc(LogSoftmax)
def log_softmax(x, axis=-1): return LogSoftmax.apply(x, axis=axis)


def _count(x, axis):
    shape = np.shape(_value(x))
    return int(np.prod([shape[a] for a in _norm_axis(axis, len(shape))]))


def mean(x, axis=None, keepdims=False):
    """Mean.  y = (1/n) sum_i x_i;  dy/dx_i = 1/n.  Composed as sum / n."""
    return div(sum(x, axis=axis, keepdims=keepdims), _count(x, axis))


def var(x, axis=None, keepdims=False):
    """Population variance.  y = (1/n) sum_i (x_i - mean(x))^2.  Composed from mean."""
    d = sub(x, mean(x, axis=axis, keepdims=True))
    return mean(mul(d, d), axis=axis, keepdims=keepdims)


# --- shape ----------------------------------------------------------------------
@_doc(Reshape)
def reshape(x, shape): return Reshape.apply(x, shape=shape)
@_doc(Transpose)
def transpose(x, axes=None): return Transpose.apply(x, axes=axes)
@_doc(GetItem)
def getitem(x, index): return GetItem.apply(x, index=_value(index))


@_doc(Concatenate)
def concatenate(xs, axis=0):
    if len(xs) == 0:
        raise ValueError("concatenate: expected a non-empty sequence of arrays, got an empty one")
    return Concatenate.apply(*xs, axis=axis)


@_doc(Stack)
def stack(xs, axis=0):
    if len(xs) == 0:
        raise ValueError("stack: expected a non-empty sequence of arrays, got an empty one")
    return Stack.apply(*xs, axis=axis)


@_doc(BroadcastTo)
def broadcast_to(x, shape):
    return BroadcastTo.apply(x, shape=(shape,) if isinstance(shape, (int, np.integer)) else tuple(shape))


@_doc(Pad)
def pad(x, pad_width, constant_values=0):
    return Pad.apply(x, pad_width=pad_width, constant_values=constant_values)


def _value(x):
    return x.data if isinstance(x, Tensor) else x


# --- fused (speed or stability; each tested against its composition) -----------
from chainrule.ops.fused import DenseStack, Linear  # noqa: E402
from chainrule.ops.heads import PointwiseLoss, SoftmaxCrossEntropy, add_l2  # noqa: E402


@_doc(Linear)
def linear(x, W, b=None):
    return Linear.apply(x, W, b) if b is not None else Linear.apply(x, W)


@_doc(SoftmaxCrossEntropy)
def softmax_cross_entropy(logits, targets, weights=None, softmax=None, validated=False):
    """``softmax`` may be the Softmax node that was applied to ``logits`` (its probabilities are reused);
    ``validated=True`` skips checking the targets, for callers that have (chainrule.losses)."""
    return SoftmaxCrossEntropy.apply(logits, _value(targets), weights=weights, softmax=softmax,
                                     validated=validated)


@_doc(PointwiseLoss)
def pointwise_loss(a, y, weights=None, kind="squared", scale=None):
    return PointwiseLoss.apply(a, _value(y), weights=weights, kind=kind, scale=scale)


__all__ += ["linear", "softmax_cross_entropy", "pointwise_loss", "add_l2"]


# --- convolution and pooling (chainrule/ops/conv.py) ---------------------------
from chainrule.ops.conv import (convolution, conv1d, conv2d, max_pool, max_pool1d, max_pool2d, avg_pool,  # noqa: E402
                                avg_pool1d, avg_pool2d)

__all__ += ["convolution", "conv1d", "conv2d", "max_pool", "max_pool1d", "max_pool2d", "avg_pool", "avg_pool1d",
            "avg_pool2d"]

# --- recurrent (fused sequences through a SimpleRNN, LSTM or GRU cell; chainrule/ops/recurrent.py) ------
from chainrule.ops.recurrent import simple_rnn, lstm, gru  # noqa: E402

__all__ += ["simple_rnn", "lstm", "gru"]

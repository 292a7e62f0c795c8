"""The primitives, as functions that take Tensors, ndarrays or numbers.

Each public function here is one line over a :class:`~chainrule.function.Function`
subclass (where the value, the VJP and the JVP live side by side), or a
composition of other primitives when no new derivative is needed: ``mean`` is
``sum / n`` and ``leaky_relu`` is a ``where``.  With no Tensor among the inputs
the result is a plain ndarray, so these are also ordinary NumPy functions.

A Python list or tuple that holds Tensors is read as the array it spells, stacked
by the differentiable :class:`~chainrule.ops.shape.Stack` (``cr.mean([x, x + 2])``
differentiates through both entries), as NumPy and HIPS autograd read such lists.
Functions whose derivative is zero wherever it exists (``sign``, ``floor``, ``round``, ...)
return a constant: no graph is recorded through them, as in HIPS autograd.
"""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import TYPE_CHECKING

import numpy as np

from chainrule.ops.elementwise import (Abs, Activation, Add, Arccos, Arccosh, Arcsin, Arcsinh, Arctan, Arctan2,
                                       Arctanh, AsType, Cbrt, Clip, Cos, Cosh, Div, Elu, Erf, Erfc, Exp, Exp2, Expm1,
                                       Gelu, HardSigmoid, HardSilu, Hypot, Identity, LeakyRelu, Log, Log10, Log1p,
                                       Log2, Logaddexp, Maximum, Minimum, Mish, Mod, Mul, Neg, Pow, Relu, Relu6,
                                       Selu, Sigmoid, Silu, Sin, Sinh, Softplus, Softsign, Sqrt, Sub, Tan, Tanh,
                                       Where)
from chainrule.ops.linalg import (Cholesky, Det, Eigh, Einsum, Inv, LogAbsDet, MatMul, Solve, Svd,
                                  _sublists_to_subscripts)
from chainrule.ops.reduce import (Cumprod, Cumsum, LogSoftmax, LogSumExp, Max, Min, Prod, Softmax, Sum,
                                  _norm_axis)
from chainrule.ops.shape import BroadcastTo, Concatenate, GetItem, Pad, Reshape, Scatter, Stack, Transpose
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import (Any, ArrayLike, Axis, DTypeLike, Literal, Optional, Sequence, Shape, TensorLike,
                                    TensorOrArray, Union)

__all__ = ["add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt", "abs", "tanh",
           "sigmoid", "relu", "leaky_relu", "elu", "softplus", "selu", "softsign", "relu6", "hard_sigmoid", "silu",
           "gelu", "mish", "hard_silu", "clip", "where", "sum", "mean", "var",
           "max", "min", "logsumexp", "softmax", "log_softmax", "reshape", "transpose", "getitem",
           "concatenate", "stack", "pad", "broadcast_to", "astype", "identity",
           # NumPy's elementwise functions
           "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
           "exp2", "expm1", "log2", "log10", "log1p", "cbrt", "square", "reciprocal", "erf", "erfc",
           "maximum", "minimum", "logaddexp", "arctan2", "hypot", "mod", "sign", "floor", "ceil", "round",
           "rint", "trunc", "floor_divide", "deg2rad", "rad2deg",
           # reductions
           "prod", "std", "cumsum", "cumprod", "average", "ptp",
           # products
           "dot", "vdot", "outer", "inner", "tensordot", "einsum", "trace", "diagonal", "diag", "tril", "triu",
           "kron",
           # shapes
           "ravel", "squeeze", "expand_dims", "swapaxes", "moveaxis", "flip", "roll", "repeat", "tile", "take",
           "take_along_axis", "sort", "split", "array_split", "hstack", "vstack", "dstack", "column_stack",
           "atleast_1d", "atleast_2d", "atleast_3d", "append", "diff", "array",
           # linear algebra
           "inv", "det", "slogdet", "solve", "cholesky", "eigh", "eigvalsh", "svd", "norm"]


def _doc(cls):
    """Give a public wrapper function the primitive's docstring (its equations)."""
    def deco(fn):
        fn.__doc__ = (cls.__doc__ or "") + ("\n\n" + fn.__doc__ if fn.__doc__ else "")
        return fn
    return deco


# --- sequences of Tensors -------------------------------------------------------
def _has_tensor(x):
    if isinstance(x, Tensor):
        return True
    t = type(x)
    if t is list or t is tuple:
        return builtins.any(_has_tensor(e) for e in x)
    return False


def _pack(seq):
    """A (nested) list or tuple as one array: stacked (differentiably) when it holds Tensors."""
    if not _has_tensor(seq):
        return np.asarray(seq)
    return Stack.apply(*[_pack(e) if type(e) in (list, tuple) else e for e in seq], axis=0)


def _arr(x):
    """x itself, or for a list or tuple the array it spells (see :func:`_pack`)."""
    t = type(x)
    if t is list or t is tuple:
        return _pack(x)
    return x


def array(obj: TensorLike, dtype: Optional[DTypeLike] = None) -> TensorOrArray:
    """An array from nested lists of Tensors, arrays and numbers (NumPy's ``np.array``): with a
    Tensor inside, a Tensor stacked from the entries, through which gradients flow back to each."""
    if isinstance(obj, Tensor):
        return obj if dtype is None else astype(obj, dtype)
    out = _pack(obj) if type(obj) in (list, tuple) else np.array(obj, dtype=dtype)
    if dtype is not None and isinstance(out, Tensor):
        out = astype(out, dtype)
    return out


def _value(x):
    return x.data if isinstance(x, Tensor) else x


def _shape(x):
    return np.shape(x.data if isinstance(x, Tensor) else x)


def _constant(fn, *args, **kwargs):
    """fn applied to the values, as a constant: for functions whose derivative is zero wherever it
    exists (sign, floor, round, ...), as HIPS autograd treats them.  A Tensor in, a Tensor out."""
    out = fn(*[_value(a) for a in args], **kwargs)
    if builtins.any(isinstance(a, Tensor) for a in args):
        return Tensor._make(np.asarray(out), False, None)
    return out


# --- arithmetic --------------------------------------------------------------
_SEQ = (list, tuple)


@_doc(Add)
def add(a: TensorLike, b: TensorLike) -> TensorOrArray:
    if type(a) in _SEQ or type(b) in _SEQ:
        a, b = _arr(a), _arr(b)
    return Add.apply(a, b)


@_doc(Sub)
def sub(a: TensorLike, b: TensorLike) -> TensorOrArray:
    if type(a) in _SEQ or type(b) in _SEQ:
        a, b = _arr(a), _arr(b)
    return Sub.apply(a, b)


@_doc(Mul)
def mul(a: TensorLike, b: TensorLike) -> TensorOrArray:
    if type(a) in _SEQ or type(b) in _SEQ:
        a, b = _arr(a), _arr(b)
    return Mul.apply(a, b)


@_doc(Div)
def div(a: TensorLike, b: TensorLike) -> TensorOrArray:
    if type(a) in _SEQ or type(b) in _SEQ:
        a, b = _arr(a), _arr(b)
    return Div.apply(a, b)


@_doc(Pow)
def pow(a: TensorLike, b: TensorLike) -> TensorOrArray:  # noqa: A001 (NumPy's name)
    if type(a) in _SEQ or type(b) in _SEQ:
        a, b = _arr(a), _arr(b)
    return Pow.apply(a, b)


@_doc(Neg)
def neg(x: TensorLike) -> TensorOrArray: return Neg.apply(_arr(x))


@_doc(MatMul)
def matmul(a: TensorLike, b: TensorLike) -> TensorOrArray:
    if type(a) in _SEQ or type(b) in _SEQ:
        a, b = _arr(a), _arr(b)
    return MatMul.apply(a, b)


# --- elementwise functions ----------------------------------------------------
@_doc(Exp)
def exp(x: TensorLike) -> TensorOrArray: return Exp.apply(_arr(x))
@_doc(Log)
def log(x: TensorLike) -> TensorOrArray: return Log.apply(_arr(x))
@_doc(Sqrt)
def sqrt(x: TensorLike) -> TensorOrArray: return Sqrt.apply(_arr(x))
@_doc(Abs)
def abs(x: TensorLike) -> TensorOrArray: return Abs.apply(_arr(x))  # noqa: A001
@_doc(Clip)
def clip(x: TensorLike, a_min: Optional[TensorLike] = None, a_max: Optional[TensorLike] = None) -> TensorOrArray:
    """Bounds that are Tensors themselves get gradients too: then clip is maximum(minimum(...))."""
    x = _arr(x)
    if isinstance(a_min, Tensor) or isinstance(a_max, Tensor):
        y = x if a_min is None else maximum(x, a_min)
        return y if a_max is None else minimum(y, a_max)
    return Clip.apply(x, lo=a_min, hi=a_max)
@_doc(AsType)
def astype(x: TensorLike, dtype: DTypeLike) -> TensorOrArray: return AsType.apply(_arr(x), dtype=np.dtype(dtype))


@_doc(Where)
def where(cond: TensorLike, a: TensorLike, b: TensorLike) -> TensorOrArray:
    return Where.apply(_value(_arr(cond)), _arr(a), _arr(b))


@_doc(Sin)
def sin(x: TensorLike) -> TensorOrArray: return Sin.apply(_arr(x))
@_doc(Cos)
def cos(x: TensorLike) -> TensorOrArray: return Cos.apply(_arr(x))
@_doc(Tan)
def tan(x: TensorLike) -> TensorOrArray: return Tan.apply(_arr(x))
@_doc(Arcsin)
def arcsin(x: TensorLike) -> TensorOrArray: return Arcsin.apply(_arr(x))
@_doc(Arccos)
def arccos(x: TensorLike) -> TensorOrArray: return Arccos.apply(_arr(x))
@_doc(Arctan)
def arctan(x: TensorLike) -> TensorOrArray: return Arctan.apply(_arr(x))
@_doc(Sinh)
def sinh(x: TensorLike) -> TensorOrArray: return Sinh.apply(_arr(x))
@_doc(Cosh)
def cosh(x: TensorLike) -> TensorOrArray: return Cosh.apply(_arr(x))
@_doc(Arcsinh)
def arcsinh(x: TensorLike) -> TensorOrArray: return Arcsinh.apply(_arr(x))
@_doc(Arccosh)
def arccosh(x: TensorLike) -> TensorOrArray: return Arccosh.apply(_arr(x))
@_doc(Arctanh)
def arctanh(x: TensorLike) -> TensorOrArray: return Arctanh.apply(_arr(x))
@_doc(Exp2)
def exp2(x: TensorLike) -> TensorOrArray: return Exp2.apply(_arr(x))
@_doc(Expm1)
def expm1(x: TensorLike) -> TensorOrArray: return Expm1.apply(_arr(x))
@_doc(Log2)
def log2(x: TensorLike) -> TensorOrArray: return Log2.apply(_arr(x))
@_doc(Log10)
def log10(x: TensorLike) -> TensorOrArray: return Log10.apply(_arr(x))
@_doc(Log1p)
def log1p(x: TensorLike) -> TensorOrArray: return Log1p.apply(_arr(x))
@_doc(Cbrt)
def cbrt(x: TensorLike) -> TensorOrArray: return Cbrt.apply(_arr(x))
@_doc(Erf)
def erf(x: TensorLike) -> TensorOrArray: return Erf.apply(_arr(x))
@_doc(Erfc)
def erfc(x: TensorLike) -> TensorOrArray: return Erfc.apply(_arr(x))


def square(x: TensorLike) -> TensorOrArray:
    """Square.  y = x^2 = x * x;  y' = 2x (the product rule on x * x)."""
    x = _arr(x)
    return Mul.apply(x, x)


def reciprocal(x: TensorLike) -> TensorOrArray:
    """Reciprocal.  y = 1 / x;  y' = -1 / x^2.  Composed as a division."""
    return Div.apply(1.0, _arr(x))


def deg2rad(x: TensorLike) -> TensorOrArray:
    """Degrees to radians.  y = x pi / 180."""
    return Mul.apply(_arr(x), np.pi / 180)


def rad2deg(x: TensorLike) -> TensorOrArray:
    """Radians to degrees.  y = x 180 / pi."""
    return Mul.apply(_arr(x), 180 / np.pi)


def _binary(cls):
    def fn(a: TensorLike, b: TensorLike) -> TensorOrArray:
        return cls.apply(_arr(a), _arr(b))
    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = cls.__doc__
    return fn


maximum = _binary(Maximum)
minimum = _binary(Minimum)
logaddexp = _binary(Logaddexp)
arctan2 = _binary(Arctan2)
hypot = _binary(Hypot)
mod = _binary(Mod)


def sign(x: TensorLike) -> TensorOrArray:
    """Sign, -1, 0 or 1: a constant (its derivative is 0 wherever it exists)."""
    return _constant(np.sign, _arr(x))


def floor(x: TensorLike) -> TensorOrArray:
    """Floor: a constant (zero derivative between the integers)."""
    return _constant(np.floor, _arr(x))


def ceil(x: TensorLike) -> TensorOrArray:
    """Ceiling: a constant (zero derivative between the integers)."""
    return _constant(np.ceil, _arr(x))


def round(x: TensorLike, decimals: int = 0) -> TensorOrArray:  # noqa: A001
    """Rounding to ``decimals`` digits: a constant (zero derivative between the steps)."""
    return _constant(np.round, _arr(x), decimals=decimals)


def rint(x: TensorLike) -> TensorOrArray:
    """Rounding to the nearest integer: a constant."""
    return _constant(np.rint, _arr(x))


def trunc(x: TensorLike) -> TensorOrArray:
    """Truncation towards zero: a constant."""
    return _constant(np.trunc, _arr(x))


def floor_divide(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """floor(a / b): a constant (a step function of both)."""
    return _constant(np.floor_divide, _arr(a), _arr(b))


# --- activations (each defined once in chainrule/ops/elementwise.py; the table is chainrule.ops.activations)
def _check_alpha(name, alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) \
            or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name}: alpha must be a finite number >= 0, got {alpha!r}")
    return float(alpha)


@_doc(Identity)
def identity(x: TensorLike) -> TensorOrArray:
    return x


@_doc(Tanh)
def tanh(x: TensorLike) -> TensorOrArray: return Tanh.apply(_arr(x))
@_doc(Sigmoid)
def sigmoid(x: TensorLike) -> TensorOrArray: return Sigmoid.apply(_arr(x))
@_doc(Relu)
def relu(x: TensorLike) -> TensorOrArray: return Relu.apply(_arr(x))


@_doc(LeakyRelu)
def leaky_relu(x: TensorLike, alpha: float = 0.01) -> TensorOrArray:
    return LeakyRelu.apply(_arr(x), alpha=_check_alpha("leaky_relu", alpha))


@_doc(Elu)
def elu(x: TensorLike, alpha: float = 1.0) -> TensorOrArray:
    return Elu.apply(_arr(x), alpha=_check_alpha("elu", alpha))


@_doc(Softplus)
def softplus(x: TensorLike) -> TensorOrArray: return Softplus.apply(_arr(x))
@_doc(Selu)
def selu(x: TensorLike) -> TensorOrArray: return Selu.apply(_arr(x))
@_doc(Softsign)
def softsign(x: TensorLike) -> TensorOrArray: return Softsign.apply(_arr(x))
@_doc(Relu6)
def relu6(x: TensorLike) -> TensorOrArray: return Relu6.apply(_arr(x))
@_doc(HardSigmoid)
def hard_sigmoid(x: TensorLike) -> TensorOrArray: return HardSigmoid.apply(_arr(x))
@_doc(Silu)
def silu(x: TensorLike) -> TensorOrArray: return Silu.apply(_arr(x))
@_doc(Gelu)
def gelu(x: TensorLike) -> TensorOrArray: return Gelu.apply(_arr(x))
@_doc(Mish)
def mish(x: TensorLike) -> TensorOrArray: return Mish.apply(_arr(x))
@_doc(HardSilu)
def hard_silu(x: TensorLike) -> TensorOrArray: return HardSilu.apply(_arr(x))


# --- reductions ---------------------------------------------------------------
@_doc(Sum)
def sum(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> TensorOrArray:  # noqa: A001
    return Sum.apply(_arr(x), axis=axis, keepdims=keepdims)
@_doc(Max)
def max(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> TensorOrArray:  # noqa: A001
    return Max.apply(_arr(x), axis=axis, keepdims=keepdims)
@_doc(Min)
def min(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> TensorOrArray:  # noqa: A001
    return Min.apply(_arr(x), axis=axis, keepdims=keepdims)
@_doc(Prod)
def prod(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> TensorOrArray:
    return Prod.apply(_arr(x), axis=axis, keepdims=keepdims)
@_doc(Cumsum)
def cumsum(x: TensorLike, axis: Optional[int] = None) -> TensorOrArray: return Cumsum.apply(_arr(x), axis=axis)
@_doc(Cumprod)
def cumprod(x: TensorLike, axis: Optional[int] = None) -> TensorOrArray: return Cumprod.apply(_arr(x), axis=axis)
@_doc(Softmax)
def softmax(x: TensorLike, axis: Axis = -1) -> TensorOrArray: return Softmax.apply(_arr(x), axis=axis)
@_doc(LogSoftmax)
def log_softmax(x: TensorLike, axis: Axis = -1) -> TensorOrArray: return LogSoftmax.apply(_arr(x), axis=axis)


@_doc(LogSumExp)
def logsumexp(x: TensorLike, axis: Axis = None, keepdims: bool = False,
              b: Optional[TensorLike] = None) -> TensorOrArray:
    """With ``b`` (scipy's scale factors, b >= 0, broadcast against x):
    log sum_i b_i exp(x_i) = logsumexp(x + log b)."""
    x = _arr(x)
    if b is not None:
        with np.errstate(divide="ignore"):   # b_i = 0 drops a term: log 0 = -inf
            x = add(x, log(_arr(b)) if isinstance(b, Tensor) else np.log(b))
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def _count(x, axis):
    shape = _shape(x)
    return int(np.prod([shape[a] for a in _norm_axis(axis, len(shape))]))


def mean(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> TensorOrArray:
    """Mean.  y = (1/n) sum_i x_i;  dy/dx_i = 1/n.  Composed as sum / n."""
    x = _arr(x)
    return div(sum(x, axis=axis, keepdims=keepdims), _count(x, axis))


def var(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> TensorOrArray:
    """Variance.  y = (1/(n - ddof)) sum_i (x_i - mean(x))^2  (ddof = 0: the population variance,
    NumPy's default; ddof = 1: the sample variance).  Composed from mean and sum."""
    x = _arr(x)
    d = sub(x, mean(x, axis=axis, keepdims=True))
    return div(sum(mul(d, d), axis=axis, keepdims=keepdims), _count(x, axis) - ddof)


def std(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> TensorOrArray:
    """Standard deviation.  y = sqrt(var(x, ddof));  dy/dx_i = (x_i - mean) / ((n - ddof) y).

    Composed as sqrt(var).  Over a single value (n = 1) the function is constant and the gradient 0,
    as HIPS autograd; for n > 1 identical values sit at the kink of sqrt, where it is NaN (autograd too).
    """
    x = _arr(x)
    if _count(x, axis) <= 1 and ddof == 0:
        return _constant(lambda v: np.std(v, axis=axis, keepdims=keepdims), x)
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


def ptp(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> TensorOrArray:
    """Range.  y = max(x) - min(x)."""
    x = _arr(x)
    return sub(max(x, axis=axis, keepdims=keepdims), min(x, axis=axis, keepdims=keepdims))


def average(x: TensorLike, axis: Axis = None, weights: Optional[TensorLike] = None,
            keepdims: bool = False) -> TensorOrArray:
    """Weighted mean.  y = sum_i w_i x_i / sum_i w_i  (the mean when no weights are given); 1-D weights
    with an integer axis weigh that axis, as in NumPy."""
    x = _arr(x)
    if weights is None:
        return mean(x, axis=axis, keepdims=keepdims)
    w = _arr(weights)
    nd = len(_shape(x))
    if len(_shape(w)) == 1 and nd > 1 and isinstance(axis, (int, np.integer)):
        shape = [1] * nd
        shape[axis % nd] = _shape(w)[0]
        w = reshape(w, tuple(shape))
    return div(sum(mul(x, w), axis=axis, keepdims=keepdims),
               sum(mul(w, np.ones(np.broadcast_shapes(_shape(x), _shape(w)))), axis=axis, keepdims=keepdims))


# --- shape ----------------------------------------------------------------------
@_doc(Reshape)
def reshape(x: TensorLike, shape: Shape) -> TensorOrArray: return Reshape.apply(_arr(x), shape=shape)
@_doc(Transpose)
def transpose(x: TensorLike, axes: Optional[Sequence[int]] = None) -> TensorOrArray:
    return Transpose.apply(_arr(x), axes=None if axes is None else tuple(axes))
@_doc(GetItem)
def getitem(x: TensorLike, index: Any) -> TensorOrArray:
    if type(index) is tuple:   # Tensors inside an index (boolean masks, index tensors) as their arrays
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(_arr(x), index=_value(index))


@_doc(Concatenate)
def concatenate(xs: Sequence[TensorLike], axis: Optional[int] = 0) -> TensorOrArray:
    xs = [_arr(x) for x in xs]
    if len(xs) == 0:
        raise ValueError("concatenate: expected a non-empty sequence of arrays, got an empty one")
    if axis is None:
        xs, axis = [ravel(x) for x in xs], 0
    return Concatenate.apply(*xs, axis=axis)


@_doc(Stack)
def stack(xs: Sequence[TensorLike], axis: int = 0) -> TensorOrArray:
    xs = [_arr(x) for x in xs]
    if len(xs) == 0:
        raise ValueError("stack: expected a non-empty sequence of arrays, got an empty one")
    return Stack.apply(*xs, axis=axis)


@_doc(BroadcastTo)
def broadcast_to(x: TensorLike, shape: Shape) -> TensorOrArray:
    return BroadcastTo.apply(_arr(x), shape=(shape,) if isinstance(shape, (int, np.integer)) else tuple(shape))


def pad(x: TensorLike, pad_width: Any, mode: str = "constant", constant_values: float = 0) -> TensorOrArray:
    """Padding.  ``mode='constant'``: x surrounded by a constant (:class:`~chainrule.ops.shape.Pad`:
    xbar = ybar with the border cut off).  'edge', 'reflect', 'symmetric', 'wrap': every output entry
    is a copy of an input entry, so y = x[i_0, i_1, ...] with the source indices from NumPy's own
    padding of arange(n) along each axis; the adjoint adds ybar back to the sources."""
    x = _arr(x)
    if mode == "constant":
        return Pad.apply(x, pad_width=pad_width, constant_values=constant_values)
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise ValueError(f"pad: mode must be 'constant', 'edge', 'reflect', 'symmetric' or 'wrap', got {mode!r}")
    shape = _shape(x)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2))
    idx = [np.pad(np.arange(n), tuple(w), mode=mode) for n, w in zip(shape, pw)]
    return getitem(x, np.ix_(*idx))


def ravel(x: TensorLike) -> TensorOrArray:
    """Flattening.  y = x as a vector (C order);  xbar = ybar reshaped back."""
    return reshape(x, (-1,))


def _axes_tuple(axis, ndim, name):
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of range for an array with {ndim} dimensions")
        out.append(int(a) % ndim)
    return out


def squeeze(x: TensorLike, axis: Axis = None) -> TensorOrArray:
    """Removal of size-1 axes (all of them, or the given ones): a reshape."""
    x = _arr(x)
    shape = _shape(x)
    if axis is None:
        return reshape(x, tuple(n for n in shape if n != 1))
    axes = _axes_tuple(axis, len(shape), "squeeze")
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: cannot remove axis {a} of an array of shape {shape}: its size is "
                             f"{shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def expand_dims(x: TensorLike, axis: Union[int, Sequence[int]]) -> TensorOrArray:
    """A new axis (or axes) of size 1 at ``axis``: a reshape."""
    x = _arr(x)
    shape = list(_shape(x))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = _axes_tuple(axes, len(shape) + len(axes), "expand_dims")
    for a in sorted(axes):
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def swapaxes(x: TensorLike, axis1: int, axis2: int) -> TensorOrArray:
    """Exchange of two axes: a transpose."""
    x = _arr(x)
    nd = len(_shape(x))
    a, b = _axes_tuple((axis1, axis2), nd, "swapaxes")
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x: TensorLike, source: Union[int, Sequence[int]], destination: Union[int, Sequence[int]]) -> TensorOrArray:
    """Axes moved to new positions, the others keeping their order: a transpose."""
    x = _arr(x)
    nd = len(_shape(x))
    src = _axes_tuple(source, nd, "moveaxis")
    dst = _axes_tuple(destination, nd, "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of elements")
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def flip(x: TensorLike, axis: Axis = None) -> TensorOrArray:
    """Reversal along axes (all when None): a slice with step -1;  xbar = ybar reversed back."""
    x = _arr(x)
    nd = len(_shape(x))
    axes = range(nd) if axis is None else _axes_tuple(axis, nd, "flip")
    index = [slice(None)] * nd
    for a in axes:
        index[a] = slice(None, None, -1)
    return getitem(x, tuple(index))


def roll(x: TensorLike, shift: Union[int, Sequence[int]], axis: Axis = None) -> TensorOrArray:
    """Cyclic shift.  y_i = x_{(i - shift) mod n};  xbar = ybar shifted back (an index gather)."""
    x = _arr(x)
    shape = _shape(x)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    for s, a in zip(shifts.tolist(), axes.tolist()):
        a = _axes_tuple(a, len(shape), "roll")[0]
        n = shape[a]
        if n:
            x = take(x, (np.arange(n) - s) % n, axis=a)
    return x


def take(x: TensorLike, indices: ArrayLike, axis: Optional[int] = None) -> TensorOrArray:
    """Gathering.  y = x[indices] along ``axis`` (of the flattened x when None);  xbar = ybar added
    back at the indices (repeated indices accumulate)."""
    x = _arr(x)
    indices = np.asarray(_value(indices))
    if axis is None:
        return getitem(ravel(x), indices)
    a = _axes_tuple(axis, len(_shape(x)), "take")[0]
    return getitem(x, (slice(None),) * a + (indices,))


def take_along_axis(x: TensorLike, indices: ArrayLike, axis: Optional[int]) -> TensorOrArray:
    """Gathering along one axis with an index array of x's rank (NumPy's take_along_axis,
    PyTorch's gather):  y[..., i, ...] = x[..., indices[..., i, ...], ...]."""
    x = _arr(x)
    indices = np.asarray(_value(indices))
    shape = _shape(x)
    if axis is None:
        return take(x, indices.reshape(-1))
    a = _axes_tuple(axis, len(shape), "take_along_axis")[0]
    if indices.ndim != len(shape):
        raise ValueError(f"take_along_axis: indices must have the input's {len(shape)} dimensions, got "
                         f"shape {indices.shape}")
    fancy = []
    for d, n in enumerate(shape):
        if d == a:
            fancy.append(indices)
        else:
            fancy.append(np.arange(n).reshape([-1 if i == d else 1 for i in range(len(shape))]))
    return getitem(x, tuple(fancy))


def sort(x: TensorLike, axis: Optional[int] = -1) -> TensorOrArray:
    """Sorting: a permutation of the entries, found on the values;  xbar = ybar permuted back.
    Ties keep their order (a stable sort), so each tied entry gets its own adjoint."""
    x = _arr(x)
    if axis is None:
        x, axis = ravel(x), 0
    perm = np.argsort(_value(x), axis=axis, kind="stable")
    return take_along_axis(x, perm, axis)


def repeat(x: TensorLike, repeats: Union[int, Sequence[int]], axis: Optional[int] = None) -> TensorOrArray:
    """Repetition of each entry (NumPy's repeat):  y = x[j_0, j_0, ..., j_1, ...] along ``axis``
    (of the flattened x when None);  xbar_j = the sum of ybar over the copies of x_j."""
    x = _arr(x)
    if axis is None:
        x, axis = ravel(x), 0
    a = _axes_tuple(axis, len(_shape(x)), "repeat")[0]
    return take(x, np.repeat(np.arange(_shape(x)[a]), repeats), axis=a)


def tile(x: TensorLike, reps: Union[int, Sequence[int]]) -> TensorOrArray:
    """Tiling (NumPy's tile):  x repeated ``reps`` times along each axis.  Composed as a reshape that
    gives each axis a size-1 partner, a broadcast over the partners, and a reshape that merges them
    (so xbar sums ybar over the copies)."""
    x = _arr(x)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = _shape(x)
    d = builtins.max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + tuple(shape)
    reps = (1,) * (d - len(reps)) + reps
    inter = tuple(v for n in shape for v in (1, n))
    full = tuple(v for r, n in zip(reps, shape) for v in (r, n))
    return reshape(broadcast_to(reshape(x, inter), full), tuple(r * n for r, n in zip(reps, shape)))


def _split_points(n, indices_or_sections, name, equal):
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"{name}: number of sections must be larger than 0, got {k}")
        if equal and n % k:
            raise ValueError(f"{name}: an axis of length {n} does not split into {k} equal sections; "
                             f"use array_split for unequal ones")
        size, extra = divmod(n, k)
        sizes = [size + 1] * extra + [size] * (k - extra)
        bounds = np.cumsum([0] + sizes)
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    return list(zip(bounds[:-1], bounds[1:]))


def split(x: TensorLike, indices_or_sections: Union[int, Sequence[int]], axis: int = 0, _equal: bool = True,
          _name: str = "split") -> list[TensorOrArray]:
    """Splitting into pieces along an axis: slices;  xbar = the pieces' adjoints side by side."""
    x = _arr(x)
    shape = _shape(x)
    a = _axes_tuple(axis, len(shape), _name)[0]
    pieces = []
    for lo, hi in _split_points(shape[a], indices_or_sections, _name, _equal):
        pieces.append(getitem(x, (slice(None),) * a + (slice(int(lo), int(hi)),)))
    return pieces


def array_split(x: TensorLike, indices_or_sections: Union[int, Sequence[int]],
                axis: int = 0) -> list[TensorOrArray]:
    """Splitting into possibly unequal pieces (the first ones one longer), as NumPy."""
    return split(x, indices_or_sections, axis=axis, _equal=False, _name="array_split")


def atleast_1d(*xs: TensorLike) -> Union[TensorOrArray, list[TensorOrArray]]:
    """Inputs with at least one dimension (a 0-d array becomes shape (1,))."""
    out = [reshape(x, (1,)) if len(_shape(x)) == 0 else x for x in map(_arr, xs)]
    return out[0] if len(out) == 1 else out


def atleast_2d(*xs: TensorLike) -> Union[TensorOrArray, list[TensorOrArray]]:
    """Inputs with at least two dimensions: (n,) becomes (1, n), a scalar (1, 1)."""
    out = []
    for x in map(_arr, xs):
        s = _shape(x)
        out.append(reshape(x, (1, 1) if len(s) == 0 else (1,) + s) if len(s) < 2 else x)
    return out[0] if len(out) == 1 else out


def atleast_3d(*xs: TensorLike) -> Union[TensorOrArray, list[TensorOrArray]]:
    """Inputs with at least three dimensions: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    out = []
    for x in map(_arr, xs):
        s = _shape(x)
        new = {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s))
        out.append(reshape(x, new) if new is not None else x)
    return out[0] if len(out) == 1 else out


def _as_list(xs):
    return [atleast_1d(x) for x in xs]


def hstack(xs: Sequence[TensorLike]) -> TensorOrArray:
    """Concatenation along the second axis (the first for vectors)."""
    xs = _as_list(xs)
    return concatenate(xs, axis=0 if len(_shape(xs[0])) == 1 else 1)


def vstack(xs: Sequence[TensorLike]) -> TensorOrArray:
    """Concatenation along the first axis, vectors taken as rows."""
    return concatenate([atleast_2d(x) for x in xs], axis=0)


def dstack(xs: Sequence[TensorLike]) -> TensorOrArray:
    """Concatenation along the third axis."""
    return concatenate([atleast_3d(x) for x in xs], axis=2)


def column_stack(xs: Sequence[TensorLike]) -> TensorOrArray:
    """Vectors as the columns of a matrix (2-D inputs are concatenated as they are)."""
    cols = []
    for x in map(_arr, xs):
        s = _shape(x)
        cols.append(reshape(x, (-1, 1)) if len(s) < 2 else x)
    return concatenate(cols, axis=1)


def append(x: TensorLike, values: TensorLike, axis: Optional[int] = None) -> TensorOrArray:
    """x with ``values`` added at the end (both flattened when ``axis`` is None)."""
    x, values = _arr(x), _arr(values)
    if axis is None:
        return concatenate([ravel(x), ravel(values)], axis=0)
    return concatenate([x, values], axis=axis)


def diff(x: TensorLike, n: int = 1, axis: int = -1) -> TensorOrArray:
    """Differences of neighbours, ``n`` times:  y_i = x_{i+1} - x_i along ``axis``."""
    x = _arr(x)
    nd = len(_shape(x))
    a = _axes_tuple(axis, nd, "diff")[0]
    for _ in range(n):
        hi = getitem(x, (slice(None),) * a + (slice(1, None),))
        lo = getitem(x, (slice(None),) * a + (slice(None, -1),))
        x = sub(hi, lo)
    return x


# --- products -------------------------------------------------------------------
def outer(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Outer product.  y_ij = a_i b_j  (both flattened)."""
    return mul(reshape(_arr(a), (-1, 1)), reshape(_arr(b), (1, -1)))


def tensordot(a: TensorLike, b: TensorLike, axes: Union[int, Sequence[Sequence[int]]] = 2) -> TensorOrArray:
    """Tensor contraction over ``axes`` (NumPy's tensordot): the summed axes of a moved last and
    those of b first, both reshaped to matrices, one matrix product, reshaped to the free axes."""
    a, b = _arr(a), _arr(b)
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, (int, np.integer)):
        if axes < 0:
            raise ValueError(f"tensordot: axes must be a non-negative integer or a pair of sequences, got {axes}")
        ax_a, ax_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        ax_a, ax_b = ([axes[0]] if isinstance(axes[0], (int, np.integer)) else list(axes[0]),
                      [axes[1]] if isinstance(axes[1], (int, np.integer)) else list(axes[1]))
    ax_a = [int(i) % builtins.max(len(sa), 1) for i in ax_a]
    ax_b = [int(i) % builtins.max(len(sb), 1) for i in ax_b]
    if len(ax_a) != len(ax_b) or builtins.any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError(f"tensordot: shape mismatch for sum: axes {ax_a} of {sa} and {ax_b} of {sb}")
    free_a = [i for i in range(len(sa)) if i not in ax_a]
    free_b = [i for i in range(len(sb)) if i not in ax_b]
    k = int(np.prod([sa[i] for i in ax_a]))
    am = reshape(transpose(a, free_a + ax_a), (-1, k))
    bm = reshape(transpose(b, ax_b + free_b), (k, -1))
    return reshape(matmul(am, bm), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def dot(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Dot product (NumPy's dot): a product for scalars, the matrix product for vectors and matrices,
    and for N-D b a contraction of a's last axis with b's second to last."""
    a, b = _arr(a), _arr(b)
    na, nb = len(_shape(a)), len(_shape(b))
    if na == 0 or nb == 0:
        return mul(a, b)
    if nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2]))


def vdot(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Dot product of the flattened inputs.  y = sum_i a_i b_i."""
    return sum(mul(ravel(a), ravel(b)))


def inner(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Inner product over the last axes (a product when either is a scalar)."""
    a, b = _arr(a), _arr(b)
    na, nb = len(_shape(a)), len(_shape(b))
    if na == 0 or nb == 0:
        return mul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def _einsum_operands(operands):
    """(subscripts, operands) from einsum's arguments in either form, lists of Tensors packed."""
    if not operands:
        raise ValueError("einsum: expected subscripts and operands")
    if isinstance(operands[0], str):
        spec, ops = operands[0], operands[1:]
    else:
        spec, ops = _sublists_to_subscripts(operands)
    for o in ops:   # a plain loop, not a comprehension: this runs on every call
        t = type(o)
        if t is list or t is tuple:
            return spec, [_arr(o) for o in ops]
    return spec, ops


@_doc(Einsum)
def einsum(*operands: TensorLike, optimize: Union[bool, str] = False) -> TensorOrArray:
    """``einsum('ij,jk->ik', A, B)``, or NumPy's interleaved form ``einsum(A, [0, 1], B, [1, 2], [0, 2])``."""
    spec, ops = _einsum_operands(operands)
    return Einsum.apply(*ops, subscripts=spec, optimize=optimize)


def diagonal(x: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> TensorOrArray:
    """Diagonal entries y_i = x[i, i + offset] of the (axis1, axis2) planes, as a last axis (NumPy's
    diagonal): a gather, whose adjoint scatters ybar back onto the diagonal."""
    x = _arr(x)
    nd = len(_shape(x))
    a1, a2 = _axes_tuple((axis1, axis2), nd, "diagonal")
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    x = moveaxis(x, (a1, a2), (-2, -1))
    n, m = _shape(x)[-2:]
    rows = np.arange(builtins.max(0, -offset), builtins.min(n, m - offset)) if offset < m else np.arange(0)
    return getitem(x, (Ellipsis, rows, rows + offset))


def trace(x: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> TensorOrArray:
    """Trace.  y = sum_i x[i, i + offset]."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diag(v: TensorLike, k: int = 0) -> TensorOrArray:
    """A 1-D v placed on the k-th diagonal of a square matrix (a scatter), or the k-th diagonal of a
    matrix (a gather), as NumPy's diag."""
    v = _arr(v)
    s = _shape(v)
    if len(s) == 2:
        return diagonal(v, k)
    if len(s) != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D input, got shape {s}")
    n = s[0] + builtins.abs(k)
    rows = np.arange(s[0]) + builtins.max(0, -k)
    return Scatter.apply(v, index=(rows, rows + k), shape=(n, n), basic=False)


def _tri_mask(x, k, lower):
    n, m = _shape(x)[-2:]
    return np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)


def tril(x: TensorLike, k: int = 0) -> TensorOrArray:
    """Lower triangle (entries above the k-th diagonal set to 0):  y = where(mask, x, 0)."""
    x = _arr(x)
    return where(_tri_mask(x, k, True), x, 0.0)


def triu(x: TensorLike, k: int = 0) -> TensorOrArray:
    """Upper triangle (entries below the k-th diagonal set to 0):  y = where(mask, x, 0)."""
    x = _arr(x)
    return where(_tri_mask(x, k, False), x, 0.0)


def kron(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Kronecker product.  y[i_a n_b + i_b, ...] = a[i_a, ...] b[i_b, ...]: the outer product with
    the axes interleaved, merged pairwise."""
    a, b = _arr(a), _arr(b)
    sa, sb = _shape(a), _shape(b)
    d = builtins.max(len(sa), len(sb))
    sa, sb = (1,) * (d - len(sa)) + tuple(sa), (1,) * (d - len(sb)) + tuple(sb)
    ai = reshape(a, tuple(v for n in sa for v in (n, 1)))
    bi = reshape(b, tuple(v for n in sb for v in (1, n)))
    return reshape(mul(ai, bi), tuple(p * q for p, q in zip(sa, sb)))


# --- linear algebra ----------------------------------------------------------------
@_doc(Inv)
def inv(a: TensorLike) -> TensorOrArray: return Inv.apply(_arr(a))
@_doc(Det)
def det(a: TensorLike) -> TensorOrArray: return Det.apply(_arr(a))
@_doc(Solve)
def solve(a: TensorLike, b: TensorLike) -> TensorOrArray:
    if type(a) in _SEQ or type(b) in _SEQ:
        a, b = _arr(a), _arr(b)
    return Solve.apply(a, b)
@_doc(Cholesky)
def cholesky(a: TensorLike) -> TensorOrArray: return Cholesky.apply(_arr(a))


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


@_doc(LogAbsDet)
def slogdet(a: TensorLike) -> SlogdetResult:
    """(sign, log|det A|): the sign is a constant, the log-determinant differentiable."""
    a = _arr(a)
    logdet = LogAbsDet.apply(a)
    return SlogdetResult(_constant(lambda v: np.linalg.slogdet(v)[0], a), logdet)


@_doc(Eigh)
def eigh(a: TensorLike, UPLO: Literal['L', 'U'] = "L") -> EighResult:
    """(w, V), the eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    packed = Eigh.apply(_arr(a), UPLO=UPLO)
    return EighResult(getitem(packed, (Ellipsis, 0, slice(None))), getitem(packed, (Ellipsis, slice(1, None), slice(None))))


def eigvalsh(a: TensorLike, UPLO: Literal['L', 'U'] = "L") -> TensorOrArray:
    """The eigenvalues of a symmetric matrix (see :func:`eigh`)."""
    return eigh(a, UPLO)[0]


@_doc(Svd)
def svd(a: TensorLike, full_matrices: bool = True,
        compute_uv: bool = True) -> Union[SVDResult, TensorOrArray]:
    """(U, s, Vh) with A = U diag(s) Vh, or s alone with ``compute_uv=False``.  ``full_matrices=True``
    (NumPy's default) is the reduced decomposition for square matrices; for non-square ones the extra
    columns of U or rows of Vh are not determined by A, so for a Tensor pass ``full_matrices=False``."""
    a = _arr(a)
    s = _shape(a)
    if len(s) < 2:
        raise ValueError(f"svd: expected a matrix (or a stack of them, shape (..., m, n)), got shape {s}")
    if not compute_uv:
        return Svd.apply(a, compute_uv=False)
    if full_matrices and s[-1] != s[-2] and isinstance(a, Tensor):
        raise ValueError(f"svd: full_matrices=True on a non-square {s[-2]}x{s[-1]} matrix adds singular vectors "
                         f"that A does not determine, so they have no derivative; pass full_matrices=False")
    if not isinstance(a, Tensor):
        return np.linalg.svd(a, full_matrices=full_matrices)
    m, n = s[-2:]
    k = builtins.min(m, n)
    packed = Svd.apply(a)
    lead = tuple(s[:-2])
    u = reshape(getitem(packed, (Ellipsis, slice(0, m * k))), lead + (m, k))
    sv = getitem(packed, (Ellipsis, slice(m * k, m * k + k)))
    vh = reshape(getitem(packed, (Ellipsis, slice(m * k + k, None))), lead + (k, n))
    return SVDResult(u, sv, vh)


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return sqrt(sum(mul(x, x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return _constant(lambda v: np.sum(v != 0, axis=axis, keepdims=keepdims).astype(float), x)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; give a 2-D input or axis=(i, j)")
    return pow(sum(pow(abs(x), float(ord)), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    r, c = axes
    nd = len(_shape(x))
    if ord is None or ord == "fro":
        y = sqrt(sum(mul(x, x), axis=(r, c), keepdims=True))
    elif ord in ("nuc", 2, -2):
        s = svd(moveaxis(x, (r, c), (-2, -1)), compute_uv=False)
        red = {"nuc": sum, 2: max, -2: min}[ord]
        y = expand_dims(red(s, axis=-1), tuple(sorted((r, c))))
    elif ord in (1, -1):
        red = max if ord == 1 else min
        y = red(sum(abs(x), axis=r, keepdims=True), axis=c, keepdims=True)
    elif ord in (np.inf, -np.inf):
        red = max if ord > 0 else min
        y = red(sum(abs(x), axis=c, keepdims=True), axis=r, keepdims=True)
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    if keepdims:
        return y
    return squeeze(y, axis=tuple(a % nd for a in (r, c)))


def norm(x: TensorLike, ord: Union[int, float, str, None] = None, axis: Axis = None,
         keepdims: bool = False) -> TensorOrArray:
    """Vector and matrix norms, as NumPy's linalg.norm, composed from sums, abs, max and (for 'nuc',
    2 and -2 of matrices) the singular values.  The 2-norm's derivative x / ||x|| is NaN at x = 0
    (the kink; HIPS autograd gives NaN there too)."""
    x = _arr(x)
    nd = len(_shape(x))
    if axis is None:
        if ord is None:
            y = sqrt(sum(mul(x, x)))
            return reshape(y, (1,) * nd) if keepdims else y
        if nd == 1:
            return _vector_norm(x, ord, 0, keepdims)
        if nd == 2:
            return _matrix_norm(x, ord, (0, 1), keepdims)
        raise ValueError(f"norm: ord={ord!r} needs a 1-D or 2-D input (or axis=), got {nd} dimensions")
    if isinstance(axis, (int, np.integer)):
        return _vector_norm(x, ord, int(axis), keepdims)
    axis = tuple(axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis}")


# --- fused (speed or stability; each tested against its composition) -----------
from chainrule.ops.fused import DenseStack, Linear  # noqa: E402
from chainrule.ops.heads import PointwiseLoss, SoftmaxCrossEntropy, add_l2  # noqa: E402


@_doc(Linear)
def linear(x: TensorLike, W: TensorLike, b: Optional[TensorLike] = None) -> TensorOrArray:
    return Linear.apply(x, W, b) if b is not None else Linear.apply(x, W)


@_doc(SoftmaxCrossEntropy)
def softmax_cross_entropy(logits: TensorLike, targets: TensorLike, weights: Optional[TensorLike] = None,
                          softmax: Optional[Softmax] = None, validated: bool = False) -> TensorOrArray:
    """``softmax`` may be the Softmax node that was applied to ``logits`` (its probabilities are reused);
    ``validated=True`` skips checking the targets, for callers that have (chainrule.losses)."""
    return SoftmaxCrossEntropy.apply(logits, _value(targets), weights=weights, softmax=softmax,
                                     validated=validated)


@_doc(PointwiseLoss)
def pointwise_loss(a: TensorLike, y: TensorLike, weights: Optional[TensorLike] = None, kind: str = "squared",
                   scale: Optional[float] = None) -> TensorOrArray:
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

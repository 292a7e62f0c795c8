"""The differentiable NumPy: ``import chainrule.numpy as np`` (HIPS autograd's ``autograd.numpy``).

The lecture notes write their cost functions, activations and derivative examples with
``import autograd.numpy as np`` and ``from autograd import grad, elementwise_grad``; with those two
imports changed to ``chainrule.numpy`` and ``chainrule``, the code runs as written:

>>> import chainrule.numpy as np
>>> from chainrule import grad, elementwise_grad
>>> def CostOLS(target):
...     def func(X):
...         return (1.0 / target.shape[0]) * np.sum((target - X) ** 2)
...     return func
>>> grad(CostOLS(np.array([1.0, 2.0])))(np.array([0.0, 0.0]))
array([-1., -2.])
>>> elementwise_grad(np.sin)(np.array([0.0, np.pi]))
array([ 1., -1.])

Every function here takes ndarrays, Python numbers, (nested) lists and Tensors.  Called without a
Tensor it *is* NumPy: the call goes straight to the NumPy function of the same name, so values,
dtypes and every NumPy option are NumPy's.  Called with Tensors it records the operation, so it is
differentiable in reverse and forward mode and to any order; each derivative is written once, beside
its primitive in :mod:`chainrule.ops` (with its formula in the docstring).  Integer and boolean
results (``argmax``, comparisons, ``shape``) carry no gradient; functions with a zero derivative
(``sign``, ``floor``, ``round``) return constants, as in HIPS autograd.

Names that are not differentiable functions (``zeros``, ``ones``, ``arange``, ``linspace``, ``eye``,
``random``, ``float64``, ``pi``, ``newaxis``, ...) are NumPy's own, passed through.  A NumPy function
that chainrule cannot differentiate, called on a Tensor that requires grad, raises a TypeError that
names it (see :meth:`chainrule.Tensor.__array_function__`): never a silently detached array.
Options that would detach the result (``out=``, ``where=``) raise a TypeError on Tensors too.
"""
from __future__ import annotations

import builtins
import functools
from typing import TYPE_CHECKING

import numpy as _np

from chainrule import ops as _ops
from chainrule.ops import _has_tensor
from chainrule.ops.linalg import Einsum as _Einsum
from chainrule.tensor import Tensor

# NumPy's names pass through unless defined below (zeros, arange, float64, pi, newaxis, random, ...)
from numpy import random, fft  # noqa: F401,E402  (submodules, as autograd.numpy.random)

if TYPE_CHECKING:
    from chainrule._typing import (Any, ArrayLike, Axis, DTypeLike, Optional, Sequence, Shape, TensorLike,
                                    TensorOrArray, Union, np)

#: NumPy function or ufunc -> the chainrule.numpy implementation run when a Tensor is among its
#: arguments (used by Tensor.__array_function__ and Tensor.__array_ufunc__)
HANDLED = {}
#: ufunc -> chainrule.numpy function for ``ufunc.reduce`` and ``ufunc.accumulate`` on Tensors
REDUCE, ACCUMULATE = {}, {}
#: ufunc -> the chainrule primitive it is, for the plain call ``np.exp(t)`` (no out=, where=, dtype=):
#: the NumPy protocol goes straight to it, without the keyword checks of the wrapper in HANDLED
CALL = {}


def _any_tensor(args, kwargs):
    """True when a Tensor is among ``args`` or the values of ``kwargs``, or inside a (nested) list or
    tuple there.  (Loops, not generators: this runs on every call of a wrapped function.)"""
    for a in args:
        t = type(a)
        if t is list or t is tuple:
            if _has_tensor(a):
                return True
        elif isinstance(a, Tensor):
            return True
    return _any_tensor(kwargs.values(), ()) if kwargs else False


def _implements(*npfuncs):
    """Register ``ours`` as the Tensor implementation of the NumPy functions ``npfuncs``; the public
    function calls NumPy itself when no Tensor is among the arguments."""
    def deco(ours):
        primary = npfuncs[0]

        @functools.wraps(ours)
        def fn(*args, **kwargs):
            if (args and type(args[0]) is Tensor) or _any_tensor(args, kwargs):
                return ours(*args, **kwargs)
            return primary(*args, **kwargs)
        for f in npfuncs:
            HANDLED[f] = ours
        fn._chainrule = ours
        return fn
    return deco


class _NoValue:
    """Marks an option that was not given (NumPy's own sentinel is private)."""

    def __repr__(self):
        return "<no value>"


_NV = _NoValue()


def _refuse(name, **opts):
    """A TypeError for NumPy options that would write into arrays or select entries by a mask,
    which on a Tensor would cut the gradient."""
    given = {k: v for k, v in opts.items() if v is not _NV and v is not None and not (k == "where" and v is True)}
    if given:
        keys = ", ".join(f"{k}=" for k in given)
        raise TypeError(f"chainrule.numpy.{name}: {keys} is not supported on Tensors (the result would not be "
                        f"recorded); call it without and use the returned Tensor (chainrule.numpy.where selects)")


def _cast(y, dtype):
    return y if dtype is None else _ops.astype(y, dtype)


def _kd(keepdims):
    return False if keepdims is _NV else bool(keepdims)


# ------------------------------------------------------------------ ufuncs
def _ufunc1(npf, op, name=None):
    name = name or npf.__name__

    def ours(x: TensorLike, out: Optional[np.ndarray] = None, *, where: Union[bool, ArrayLike] = True,
             dtype: Optional[DTypeLike] = None, **kwargs: Any) -> TensorOrArray:
        if out is not None or where is not True or kwargs:
            _refuse(name, out=out, where=where,
                    **{k: v for k, v in kwargs.items() if k not in ("casting", "order", "subok")})
        return op(x) if dtype is None else _ops.astype(op(x), dtype)
    ours.__name__ = name
    ours.__qualname__ = name
    ours.__doc__ = (op.__doc__ or "") + f"\n\nNumPy's ``{npf.__name__}``, differentiable on Tensors."
    CALL[npf] = op
    return _implements(npf)(ours)


def _ufunc2(npf, op, name=None):
    name = name or npf.__name__

    def ours(x1: TensorLike, x2: TensorLike, out: Optional[np.ndarray] = None, *,
             where: Union[bool, ArrayLike] = True, dtype: Optional[DTypeLike] = None, **kwargs: Any) -> TensorOrArray:
        if out is not None or where is not True or kwargs:
            _refuse(name, out=out, where=where,
                    **{k: v for k, v in kwargs.items() if k not in ("casting", "order", "subok")})
        return op(x1, x2) if dtype is None else _ops.astype(op(x1, x2), dtype)
    ours.__name__ = name
    ours.__qualname__ = name
    ours.__doc__ = (op.__doc__ or "") + f"\n\nNumPy's ``{npf.__name__}``, differentiable on Tensors."
    CALL[npf] = op
    return _implements(npf)(ours)


negative = _ufunc1(_np.negative, _ops.neg)
positive = _ufunc1(_np.positive, lambda x: _ops.mul(_ops._arr(x), 1))
absolute = _ufunc1(_np.absolute, _ops.abs)
abs = absolute  # noqa: A001
fabs = _ufunc1(_np.fabs, _ops.abs)
exp = _ufunc1(_np.exp, _ops.exp)
exp2 = _ufunc1(_np.exp2, _ops.exp2)
expm1 = _ufunc1(_np.expm1, _ops.expm1)
log = _ufunc1(_np.log, _ops.log)
log2 = _ufunc1(_np.log2, _ops.log2)
log10 = _ufunc1(_np.log10, _ops.log10)
log1p = _ufunc1(_np.log1p, _ops.log1p)
sqrt = _ufunc1(_np.sqrt, _ops.sqrt)
cbrt = _ufunc1(_np.cbrt, _ops.cbrt)
square = _ufunc1(_np.square, _ops.square)
reciprocal = _ufunc1(_np.reciprocal, _ops.reciprocal)
sin = _ufunc1(_np.sin, _ops.sin)
cos = _ufunc1(_np.cos, _ops.cos)
tan = _ufunc1(_np.tan, _ops.tan)
arcsin = _ufunc1(_np.arcsin, _ops.arcsin)
arccos = _ufunc1(_np.arccos, _ops.arccos)
arctan = _ufunc1(_np.arctan, _ops.arctan)
sinh = _ufunc1(_np.sinh, _ops.sinh)
cosh = _ufunc1(_np.cosh, _ops.cosh)
tanh = _ufunc1(_np.tanh, _ops.tanh)
arcsinh = _ufunc1(_np.arcsinh, _ops.arcsinh)
arccosh = _ufunc1(_np.arccosh, _ops.arccosh)
arctanh = _ufunc1(_np.arctanh, _ops.arctanh)
deg2rad = _ufunc1(_np.deg2rad, _ops.deg2rad)
radians = _ufunc1(_np.radians, _ops.deg2rad)
rad2deg = _ufunc1(_np.rad2deg, _ops.rad2deg)
degrees = _ufunc1(_np.degrees, _ops.rad2deg)
sign = _ufunc1(_np.sign, _ops.sign)
floor = _ufunc1(_np.floor, _ops.floor)
ceil = _ufunc1(_np.ceil, _ops.ceil)
rint = _ufunc1(_np.rint, _ops.rint)
trunc = _ufunc1(_np.trunc, _ops.trunc)

add = _ufunc2(_np.add, _ops.add)
subtract = _ufunc2(_np.subtract, _ops.sub)
multiply = _ufunc2(_np.multiply, _ops.mul)
divide = _ufunc2(_np.divide, _ops.div)
true_divide = divide
power = _ufunc2(_np.power, _ops.pow)
float_power = _ufunc2(_np.float_power, lambda a, b: _ops.pow(_ops.astype(_ops._arr(a), _np.float64), b))
mod = _ufunc2(_np.remainder, _ops.mod, "mod")
remainder = mod
floor_divide = _ufunc2(_np.floor_divide, _ops.floor_divide)
maximum = _ufunc2(_np.maximum, _ops.maximum)
minimum = _ufunc2(_np.minimum, _ops.minimum)
logaddexp = _ufunc2(_np.logaddexp, _ops.logaddexp)
logaddexp2 = _ufunc2(_np.logaddexp2, lambda a, b: _ops.div(
    _ops.logaddexp(_ops.mul(_ops._arr(a), _np.log(2)), _ops.mul(_ops._arr(b), _np.log(2))), _np.log(2)))
arctan2 = _ufunc2(_np.arctan2, _ops.arctan2)
hypot = _ufunc2(_np.hypot, _ops.hypot)
matmul = _ufunc2(_np.matmul, _ops.matmul)


@_implements(_np.fix)
def fix(x: TensorLike, out: Optional[np.ndarray] = None) -> TensorOrArray:
    """Rounding towards zero: a constant (zero derivative between the integers)."""
    _refuse("fix", out=out)
    return _ops.trunc(x)


@_implements(_np.round, _np.around)
def round(a: TensorLike, decimals: int = 0, out: Optional[np.ndarray] = None) -> TensorOrArray:  # noqa: A001
    """Rounding to ``decimals`` digits: a constant (zero derivative between the steps)."""
    _refuse("round", out=out)
    return _ops.round(a, decimals=decimals)


around = round


@_implements(_np.clip)
def clip(a: TensorLike, a_min: Optional[TensorLike] = _NV, a_max: Optional[TensorLike] = _NV,
         out: Optional[np.ndarray] = None, *, min: Optional[ArrayLike] = _NV, max: Optional[ArrayLike] = _NV,
         **kwargs: Any) -> TensorOrArray:  # noqa: A002
    """Clipping to [a_min, a_max].  y' = 1 strictly inside, 0 outside and at the bounds (HIPS
    autograd's convention); bounds that are Tensors get gradients too."""
    _refuse("clip", out=out, **kwargs)
    lo = a_min if a_min is not _NV else (None if min is _NV else min)
    hi = a_max if a_max is not _NV else (None if max is _NV else max)
    return _ops.clip(a, lo, hi)


@_implements(_np.where)
def where(condition: TensorLike, x: TensorLike = _NV, y: TensorLike = _NV) -> TensorOrArray:
    """Selection.  y = x where condition else y;  the adjoint goes to the chosen side.  With the
    condition alone, the indices where it holds (NumPy's nonzero: integers, no gradient)."""
    if x is _NV and y is _NV:
        return _np.nonzero(_ops._value(_ops._arr(condition)))
    if x is _NV or y is _NV:
        raise ValueError("where: give both x and y, or neither")
    return _ops.where(condition, x, y)


# ------------------------------------------------------------------ reductions
def _axis(axis):
    return None if axis is None else (tuple(axis) if isinstance(axis, (list, tuple)) else axis)


@_implements(_np.sum)
def sum(a: TensorLike, axis: Axis = None, dtype: Optional[DTypeLike] = None, out: Optional[np.ndarray] = None,
        keepdims: bool = _NV, initial: ArrayLike = _NV,
        where: Union[bool, ArrayLike] = _NV) -> TensorOrArray:  # noqa: A001
    """Sum over axes.  y = sum_i x_i;  xbar_i = ybar."""
    _refuse("sum", out=out, initial=initial, where=where)
    return _ops.sum(_cast(_ops._arr(a), dtype), axis=_axis(axis), keepdims=_kd(keepdims))


@_implements(_np.mean)
def mean(a: TensorLike, axis: Axis = None, dtype: Optional[DTypeLike] = None, out: Optional[np.ndarray] = None,
         keepdims: bool = _NV, *, where: Union[bool, ArrayLike] = _NV) -> TensorOrArray:
    """Mean.  y = (1/n) sum_i x_i;  xbar_i = ybar / n."""
    _refuse("mean", out=out, where=where)
    return _ops.mean(_cast(_ops._arr(a), dtype), axis=_axis(axis), keepdims=_kd(keepdims))


@_implements(_np.prod)
def prod(a: TensorLike, axis: Axis = None, dtype: Optional[DTypeLike] = None, out: Optional[np.ndarray] = None,
         keepdims: bool = _NV, initial: ArrayLike = _NV, where: Union[bool, ArrayLike] = _NV) -> TensorOrArray:
    """Product over axes.  y = prod_i x_i;  dy/dx_i = prod_{j != i} x_j (exact also at zeros)."""
    _refuse("prod", out=out, initial=initial, where=where)
    return _ops.prod(_cast(_ops._arr(a), dtype), axis=_axis(axis), keepdims=_kd(keepdims))


def _ddof(ddof, correction):
    if correction is not _NV:
        return correction
    return ddof


@_implements(_np.var)
def var(a: TensorLike, axis: Axis = None, dtype: Optional[DTypeLike] = None, out: Optional[np.ndarray] = None,
        ddof: int = 0, keepdims: bool = _NV, *, where: Union[bool, ArrayLike] = _NV, mean: ArrayLike = _NV,
        correction: float = _NV) -> TensorOrArray:
    """Variance.  y = (1/(n - ddof)) sum_i (x_i - mean)^2;  xbar_i = ybar 2 (x_i - mean) / (n - ddof)."""
    _refuse("var", out=out, where=where, mean=mean)
    return _ops.var(_cast(_ops._arr(a), dtype), axis=_axis(axis), keepdims=_kd(keepdims), ddof=_ddof(ddof, correction))


@_implements(_np.std)
def std(a: TensorLike, axis: Axis = None, dtype: Optional[DTypeLike] = None, out: Optional[np.ndarray] = None,
        ddof: int = 0, keepdims: bool = _NV, *, where: Union[bool, ArrayLike] = _NV, mean: ArrayLike = _NV,
        correction: float = _NV) -> TensorOrArray:
    """Standard deviation.  y = sqrt(var(x, ddof));  xbar_i = ybar (x_i - mean) / ((n - ddof) y)."""
    _refuse("std", out=out, where=where, mean=mean)
    return _ops.std(_cast(_ops._arr(a), dtype), axis=_axis(axis), keepdims=_kd(keepdims), ddof=_ddof(ddof, correction))


@_implements(_np.max, _np.amax)
def max(a: TensorLike, axis: Axis = None, out: Optional[np.ndarray] = None, keepdims: bool = _NV,
        initial: ArrayLike = _NV, where: Union[bool, ArrayLike] = _NV) -> TensorOrArray:  # noqa: A001
    """Maximum.  The adjoint goes to the largest entry (split evenly among ties, as HIPS autograd)."""
    _refuse("max", out=out, initial=initial, where=where)
    return _ops.max(a, axis=_axis(axis), keepdims=_kd(keepdims))


@_implements(_np.min, _np.amin)
def min(a: TensorLike, axis: Axis = None, out: Optional[np.ndarray] = None, keepdims: bool = _NV,
        initial: ArrayLike = _NV, where: Union[bool, ArrayLike] = _NV) -> TensorOrArray:  # noqa: A001
    """Minimum.  The adjoint goes to the smallest entry (split evenly among ties)."""
    _refuse("min", out=out, initial=initial, where=where)
    return _ops.min(a, axis=_axis(axis), keepdims=_kd(keepdims))


amax, amin = max, min


@_implements(_np.ptp)
def ptp(a: TensorLike, axis: Axis = None, out: Optional[np.ndarray] = None,
        keepdims: bool = _NV) -> TensorOrArray:
    """Range.  y = max - min."""
    _refuse("ptp", out=out)
    return _ops.ptp(a, axis=_axis(axis), keepdims=_kd(keepdims))


@_implements(_np.cumsum)
def cumsum(a: TensorLike, axis: Optional[int] = None, dtype: Optional[DTypeLike] = None,
           out: Optional[np.ndarray] = None) -> TensorOrArray:
    """Running sum.  y_k = sum_{j <= k} x_j;  xbar_j = sum_{k >= j} ybar_k."""
    _refuse("cumsum", out=out)
    return _ops.cumsum(_cast(_ops._arr(a), dtype), axis=axis)


@_implements(_np.cumprod)
def cumprod(a: TensorLike, axis: Optional[int] = None, dtype: Optional[DTypeLike] = None,
            out: Optional[np.ndarray] = None) -> TensorOrArray:
    """Running product.  y_k = prod_{j <= k} x_j;  xbar_j = sum_{k >= j} ybar_k y_k / x_j."""
    _refuse("cumprod", out=out)
    return _ops.cumprod(_cast(_ops._arr(a), dtype), axis=axis)


@_implements(_np.average)
def average(a: TensorLike, axis: Axis = None, weights: Optional[TensorLike] = None, returned: bool = False, *,
            keepdims: bool = _NV) -> Union[TensorOrArray, tuple[TensorOrArray, TensorOrArray]]:
    """Weighted mean.  y = sum_i w_i x_i / sum_i w_i."""
    y = _ops.average(a, axis=_axis(axis), weights=weights, keepdims=_kd(keepdims))
    if returned:
        a = _ops._arr(a)
        w = _np.ones(_np.shape(_ops._value(a))) if weights is None else weights
        return y, _ops.sum(_ops.mul(w, _np.ones(_np.shape(_ops._value(a)))), axis=_axis(axis), keepdims=_kd(keepdims))
    return y


def logsumexp(a: TensorLike, axis: Axis = None, b: Optional[TensorLike] = None, keepdims: bool = False,
              return_sign: bool = False) -> Union[TensorOrArray, tuple[np.ndarray, np.ndarray]]:
    """log sum_i b_i exp(a_i), computed stably (shifted by the maximum);  d/da_i = b_i exp(a_i - y),
    the softmax weights.  ``b`` (default 1) scales the terms, b_i >= 0; b_i = 0 drops a term.

    SciPy's ``scipy.special.logsumexp`` (also :func:`chainrule.scipy.special.logsumexp`); not a NumPy
    name, here because the notes' softmax and cross-entropy code reaches for it beside np.sum.
    Without a Tensor among the arguments it is SciPy's own."""
    if not _any_tensor((a, b), {}):
        import scipy.special
        return scipy.special.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    if return_sign:
        raise TypeError("logsumexp: return_sign=True is not supported on Tensors (for b >= 0 the sign is +1)")
    if b is not None and _np.any(_np.asarray(_ops._value(_ops._arr(b))) < 0):
        raise ValueError("logsumexp: negative b needs return_sign=True, which is not supported on Tensors")
    return _ops.logsumexp(a, axis=axis, keepdims=keepdims, b=b)


REDUCE.update({
    _np.add: lambda a, axis, dtype, keepdims: _ops.sum(_cast(_ops._arr(a), dtype), axis=axis, keepdims=keepdims),
    _np.multiply: lambda a, axis, dtype, keepdims: _ops.prod(_cast(_ops._arr(a), dtype), axis=axis, keepdims=keepdims),
    _np.maximum: lambda a, axis, dtype, keepdims: _cast(_ops.max(a, axis=axis, keepdims=keepdims), dtype),
    _np.minimum: lambda a, axis, dtype, keepdims: _cast(_ops.min(a, axis=axis, keepdims=keepdims), dtype)})
ACCUMULATE.update({_np.add: lambda a, axis, dtype: _ops.cumsum(_cast(_ops._arr(a), dtype), axis=axis),
                   _np.multiply: lambda a, axis, dtype: _ops.cumprod(_cast(_ops._arr(a), dtype), axis=axis)})


# ------------------------------------------------------------------ products
@_implements(_np.dot)
def dot(a: TensorLike, b: TensorLike, out: Optional[np.ndarray] = None) -> TensorOrArray:
    """Dot product: matrix product for vectors and matrices; for N-D b, a contraction of a's last
    axis with b's second to last."""
    _refuse("dot", out=out)
    return _ops.dot(a, b)


@_implements(_np.vdot)
def vdot(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Dot product of the flattened inputs."""
    return _ops.vdot(a, b)


@_implements(_np.outer)
def outer(a: TensorLike, b: TensorLike, out: Optional[np.ndarray] = None) -> TensorOrArray:
    """Outer product.  y_ij = a_i b_j."""
    _refuse("outer", out=out)
    return _ops.outer(a, b)


@_implements(_np.inner)
def inner(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Inner product over the last axes."""
    return _ops.inner(a, b)


@_implements(_np.tensordot)
def tensordot(a: TensorLike, b: TensorLike, axes: Union[int, Sequence[Sequence[int]]] = 2) -> TensorOrArray:
    """Tensor contraction over ``axes``."""
    return _ops.tensordot(a, b, axes)


def einsum(*operands: TensorLike, out: Optional[np.ndarray] = None, optimize: Union[bool, str] = False,
           **kwargs: Any) -> TensorOrArray:
    """Einstein summation; the adjoint of each operand is an einsum with ybar in its place.

    NumPy's ``einsum`` without a Tensor among the operands.  (Written out rather than wrapped by
    ``_implements``, and straight to the primitive: two call levels less on every call; the first
    operand after the subscripts is looked at before the scan of all of them, as ``_implements`` does.)"""
    if ((len(operands) < 2 or type(operands[1]) is not Tensor) and not _any_tensor(operands, kwargs)
            and not isinstance(out, Tensor)):
        return _np.einsum(*operands, out=out, optimize=optimize, **kwargs)
    dtype = None
    if out is not None or kwargs:
        dtype = kwargs.pop("dtype", None)
        _refuse("einsum", out=out, **{k: v for k, v in kwargs.items() if k not in ("casting", "order")})
    spec, operands = _ops._einsum_operands(operands)
    y = _Einsum.apply(*operands, subscripts=spec, optimize=optimize)
    return y if dtype is None else _ops.astype(y, dtype)


HANDLED[_np.einsum] = einsum


@_implements(_np.trace)
def trace(a: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Optional[DTypeLike] = None,
          out: Optional[np.ndarray] = None) -> TensorOrArray:
    """Trace.  y = sum_i a[i, i + offset];  abar = ybar on the diagonal."""
    _refuse("trace", out=out)
    return _cast(_ops.trace(a, offset, axis1, axis2), dtype)


@_implements(_np.diag)
def diag(v: TensorLike, k: int = 0) -> TensorOrArray:
    """A vector placed on the k-th diagonal, or a matrix's k-th diagonal."""
    return _ops.diag(v, k)


@_implements(_np.diagonal)
def diagonal(a: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> TensorOrArray:
    """The diagonal entries of the (axis1, axis2) planes, as a last axis."""
    return _ops.diagonal(a, offset, axis1, axis2)


@_implements(_np.tril)
def tril(m: TensorLike, k: int = 0) -> TensorOrArray:
    """Lower triangle."""
    return _ops.tril(m, k)


@_implements(_np.triu)
def triu(m: TensorLike, k: int = 0) -> TensorOrArray:
    """Upper triangle."""
    return _ops.triu(m, k)


@_implements(_np.kron)
def kron(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Kronecker product."""
    return _ops.kron(a, b)


# ------------------------------------------------------------------ shapes
def _order(name, order):
    if order not in ("C", None, "K", "A"):
        raise TypeError(f"chainrule.numpy.{name}: order={order!r} is not supported on Tensors (C order only)")


@_implements(_np.reshape)
def reshape(a: TensorLike, shape: Optional[Shape] = None, order: str = "C", *,
            newshape: Optional[Shape] = None, copy: Optional[bool] = None) -> TensorOrArray:
    """Reshape;  abar = ybar reshaped back."""
    _order("reshape", order)
    shape = newshape if shape is None else shape
    return _ops.reshape(a, (shape,) if isinstance(shape, (int, _np.integer)) else tuple(shape))


@_implements(_np.ravel)
def ravel(a: TensorLike, order: str = "C") -> TensorOrArray:
    """Flattening."""
    _order("ravel", order)
    return _ops.ravel(a)


@_implements(_np.squeeze)
def squeeze(a: TensorLike, axis: Axis = None) -> TensorOrArray:
    """Removal of size-1 axes."""
    return _ops.squeeze(a, axis)


@_implements(_np.expand_dims)
def expand_dims(a: TensorLike, axis: Union[int, Sequence[int]]) -> TensorOrArray:
    """A new size-1 axis."""
    return _ops.expand_dims(a, axis)


@_implements(_np.transpose)
def transpose(a: TensorLike, axes: Optional[Sequence[int]] = None) -> TensorOrArray:
    """Axis permutation;  abar = ybar permuted back."""
    return _ops.transpose(a, axes)


@_implements(_np.swapaxes)
def swapaxes(a: TensorLike, axis1: int, axis2: int) -> TensorOrArray:
    """Exchange of two axes."""
    return _ops.swapaxes(a, axis1, axis2)


@_implements(_np.moveaxis)
def moveaxis(a: TensorLike, source: Union[int, Sequence[int]], destination: Union[int, Sequence[int]]) -> TensorOrArray:
    """Axes moved to new positions."""
    return _ops.moveaxis(a, source, destination)


@_implements(_np.concatenate)
def concatenate(arrays: Sequence[TensorLike], axis: Optional[int] = 0, out: Optional[np.ndarray] = None, *,
                dtype: Optional[DTypeLike] = None, casting: str = "same_kind") -> TensorOrArray:
    """Concatenation;  each input's adjoint is its block of ybar."""
    _refuse("concatenate", out=out)
    return _cast(_ops.concatenate(list(arrays), axis=axis), dtype)


@_implements(_np.stack)
def stack(arrays: Sequence[TensorLike], axis: int = 0, out: Optional[np.ndarray] = None, *,
          dtype: Optional[DTypeLike] = None, casting: str = "same_kind") -> TensorOrArray:
    """Stacking along a new axis."""
    _refuse("stack", out=out)
    return _cast(_ops.stack(list(arrays), axis=axis), dtype)


@_implements(_np.hstack)
def hstack(tup: Sequence[TensorLike], *, dtype: Optional[DTypeLike] = None,
           casting: str = "same_kind") -> TensorOrArray:
    """Concatenation along the second axis (the first for vectors)."""
    return _cast(_ops.hstack(list(tup)), dtype)


@_implements(_np.vstack)
def vstack(tup: Sequence[TensorLike], *, dtype: Optional[DTypeLike] = None,
           casting: str = "same_kind") -> TensorOrArray:
    """Concatenation of rows."""
    return _cast(_ops.vstack(list(tup)), dtype)


@_implements(_np.dstack)
def dstack(tup: Sequence[TensorLike]) -> TensorOrArray:
    """Concatenation along the third axis."""
    return _ops.dstack(list(tup))


@_implements(_np.column_stack)
def column_stack(tup: Sequence[TensorLike]) -> TensorOrArray:
    """Vectors as columns."""
    return _ops.column_stack(list(tup))


@_implements(_np.split)
def split(ary: TensorLike, indices_or_sections: Union[int, Sequence[int]], axis: int = 0) -> list[TensorOrArray]:
    """Splitting into equal pieces (or at given indices)."""
    return _ops.split(ary, indices_or_sections, axis)


@_implements(_np.array_split)
def array_split(ary: TensorLike, indices_or_sections: Union[int, Sequence[int]],
                axis: int = 0) -> list[TensorOrArray]:
    """Splitting into possibly unequal pieces."""
    return _ops.array_split(ary, indices_or_sections, axis)


@_implements(_np.hsplit)
def hsplit(ary: TensorLike, indices_or_sections: Union[int, Sequence[int]]) -> list[TensorOrArray]:
    """Splitting along the second axis (the first for vectors)."""
    ary = _ops._arr(ary)
    return _ops.split(ary, indices_or_sections, axis=1 if _np.ndim(_ops._value(ary)) > 1 else 0)


@_implements(_np.vsplit)
def vsplit(ary: TensorLike, indices_or_sections: Union[int, Sequence[int]]) -> list[TensorOrArray]:
    """Splitting along the first axis."""
    return _ops.split(ary, indices_or_sections, axis=0)


@_implements(_np.flip)
def flip(m: TensorLike, axis: Axis = None) -> TensorOrArray:
    """Reversal along axes."""
    return _ops.flip(m, axis)


@_implements(_np.fliplr)
def fliplr(m: TensorLike) -> TensorOrArray:
    """Reversal of the columns."""
    return _ops.flip(m, 1)


@_implements(_np.flipud)
def flipud(m: TensorLike) -> TensorOrArray:
    """Reversal of the rows."""
    return _ops.flip(m, 0)


@_implements(_np.roll)
def roll(a: TensorLike, shift: Union[int, Sequence[int]], axis: Axis = None) -> TensorOrArray:
    """Cyclic shift."""
    return _ops.roll(a, shift, axis)


@_implements(_np.repeat)
def repeat(a: TensorLike, repeats: Union[int, Sequence[int]], axis: Optional[int] = None) -> TensorOrArray:
    """Repetition of each entry."""
    return _ops.repeat(a, repeats, axis)


@_implements(_np.tile)
def tile(A: TensorLike, reps: Union[int, Sequence[int]]) -> TensorOrArray:  # noqa: N803 (NumPy's name)
    """Tiling."""
    return _ops.tile(A, reps)


@_implements(_np.pad)
def pad(array: TensorLike, pad_width: Any, mode: str = "constant", **kwargs: Any) -> TensorOrArray:
    """Padding ('constant', 'edge', 'reflect', 'symmetric', 'wrap')."""
    cv = kwargs.pop("constant_values", 0)
    if kwargs:
        raise TypeError(f"chainrule.numpy.pad: {', '.join(kwargs)} not supported on Tensors")
    return _ops.pad(array, pad_width, mode=mode, constant_values=cv)


@_implements(_np.sort)
def sort(a: TensorLike, axis: Optional[int] = -1, kind: Optional[str] = None,
         order: Union[str, Sequence[str], None] = None, *,
         stable: Optional[bool] = None) -> TensorOrArray:
    """Sorting;  the adjoint is permuted back."""
    if order is not None:
        raise TypeError("chainrule.numpy.sort: order= (structured arrays) is not supported on Tensors")
    return _ops.sort(a, axis)


@_implements(_np.take)
def take(a: TensorLike, indices: ArrayLike, axis: Optional[int] = None, out: Optional[np.ndarray] = None,
         mode: str = "raise") -> TensorOrArray:
    """Gathering by index."""
    _refuse("take", out=out)
    if mode != "raise":
        raise TypeError(f"chainrule.numpy.take: mode={mode!r} is not supported on Tensors")
    return _ops.take(a, indices, axis)


@_implements(_np.take_along_axis)
def take_along_axis(arr: TensorLike, indices: ArrayLike, axis: Optional[int] = -1) -> TensorOrArray:
    """Gathering along one axis."""
    return _ops.take_along_axis(arr, indices, axis)


@_implements(_np.broadcast_to)
def broadcast_to(array: TensorLike, shape: Shape, subok: bool = False) -> TensorOrArray:
    """Broadcasting;  the adjoint is summed over the broadcast axes."""
    return _ops.broadcast_to(array, shape)


@_implements(_np.atleast_1d)
def atleast_1d(*arys: TensorLike) -> Union[TensorOrArray, list[TensorOrArray]]:
    """At least one dimension."""
    return _ops.atleast_1d(*arys)


@_implements(_np.atleast_2d)
def atleast_2d(*arys: TensorLike) -> Union[TensorOrArray, list[TensorOrArray]]:
    """At least two dimensions."""
    return _ops.atleast_2d(*arys)


@_implements(_np.atleast_3d)
def atleast_3d(*arys: TensorLike) -> Union[TensorOrArray, list[TensorOrArray]]:
    """At least three dimensions."""
    return _ops.atleast_3d(*arys)


@_implements(_np.append)
def append(arr: TensorLike, values: TensorLike, axis: Optional[int] = None) -> TensorOrArray:
    """Values added at the end."""
    return _ops.append(arr, values, axis)


@_implements(_np.diff)
def diff(a: TensorLike, n: int = 1, axis: int = -1, prepend: ArrayLike = _NV,
         append: ArrayLike = _NV) -> TensorOrArray:
    """Differences of neighbours."""
    if prepend is not _NV or append is not _NV:
        a = _ops.concatenate([v for v in (prepend, a, append) if v is not _NV], axis=axis)
    return _ops.diff(a, n, axis)


@_implements(_np.array)
def array(object: TensorLike, dtype: Optional[DTypeLike] = None, *, copy: Optional[bool] = True,
          order: str = "K", subok: bool = False, ndmin: int = 0, **kwargs: Any) -> TensorOrArray:  # noqa: A002
    """An array from nested lists of numbers, arrays and Tensors (as the notes build arrays); with a
    Tensor inside, a Tensor through which the gradient reaches every entry."""
    out = _ops.array(object, dtype=dtype)
    while ndmin and _np.ndim(_ops._value(out)) < ndmin:
        out = _ops.reshape(out, (1,) + _np.shape(_ops._value(out)))
    return out


@_implements(_np.asarray)
def asarray(a: TensorLike, dtype: Optional[DTypeLike] = None, order: Optional[str] = None,
            **kwargs: Any) -> TensorOrArray:
    """The input as an array: a Tensor stays the Tensor it is (so the graph is kept)."""
    return _ops.array(a, dtype=dtype)


HANDLED.pop(_np.asarray, None)   # not dispatched by NumPy
HANDLED.pop(_np.array, None)

from chainrule.numpy import linalg  # noqa: E402,F401


def __getattr__(name):
    """Every other NumPy name, passed through (constants, dtypes, array creation, random, ...)."""
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy' has no attribute {name!r} (nor has numpy)") from None


def __dir__():
    return sorted(set(globals()) | set(dir(_np)))

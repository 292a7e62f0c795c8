"""Reductions: sum, max/min, and the log-sum-exp family (softmax, log_softmax).

A reduction over ``axis`` maps the adjoint back by broadcasting it over the
reduced axes; :func:`_expand` restores those axes so the broadcast lines up.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function
from chainrule.ops.elementwise import Exp
from chainrule.ops.shape import BroadcastTo
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Axis, Grads, Optional, Tangent, TensorOrArray


_ONES = {}


def _ones(n, dtype):
    """A cached vector of n ones (read-only) of the NumPy dtype ``dtype``, for summing with one BLAS
    matrix-vector product, in native byte order.  Cached by the dtype's type character: hashing a
    dtype costs more than a short row sum's arithmetic."""
    key = (n, dtype.char)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = _ONES[key] = np.ones(n, dtype=key[1])
        v.flags.writeable = False
    return v


def _is_rows(x, axis):
    """True if ``axis`` names the last axis of the 2-D array x (a batch of rows, e.g. logits)."""
    return x.ndim == 2 and (axis == -1 or axis == 1 or axis == (1,))


def row_max(x: np.ndarray) -> np.ndarray:
    """max_j x_ij of a 2-D array as an (N, 1) column.

    NumPy reduces a short last axis one row at a time; for a few columns (the
    classes of a softmax) reducing the transposed copy along its first axis
    runs across all rows at once: 3x faster for 100 x 10, 10x for 1000 x 10.
    """
    n, c = x.shape
    if c <= 32 and n >= 8:
        return np.maximum.reduce(x.T.copy(), axis=0).reshape(n, 1)
    return np.maximum.reduce(x, axis=1, keepdims=True)


def row_sum(x: np.ndarray) -> np.ndarray:
    """sum_j x_ij of a 2-D array as an (N, 1) column; for float32/float64 one BLAS
    matrix-vector product (2x to 7x faster than np.add.reduce along a short last axis).
    Meant for finite values: where an inf is among them, a BLAS kernel may raise a spurious
    invalid-value flag (NumPy then warns) though the sum it returns is right; a caller that expects
    infinities sums with np.add.reduce (as logsumexp's infinite-slice path does)."""
    if x.dtype.char not in "fd":
        return np.add.reduce(x, axis=1, keepdims=True)
    return np.matmul(x, _ones(x.shape[1], x.dtype)).reshape(-1, 1)


def _norm_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:   # the common case, without the loop below
        return (axis % ndim,)
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an input with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def _expand(g, axes, keepdims):
    """Re-insert reduced axes (size 1) so g broadcasts against the input (for ndarray or Tensor g)."""
    if keepdims or not axes:
        return g
    shape = list(g.shape)
    for a in axes:  # ascending, so each lands where it was
        shape.insert(a, 1)
    return g.reshape(tuple(shape))


class Sum(Function):
    """Sum over axes.  y = sum_i x_i;  VJP: xbar_i = ybar (broadcast);  JVP: ydot = sum_i xdot_i."""

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        x = np.asarray(x)
        self.shape = x.shape
        self.axes = _norm_axis(axis, x.ndim)
        self.keepdims = keepdims
        # the output's shape with the reduced axes kept as 1: the adjoint broadcasts from it
        self.kept = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
        return np.add.reduce(x, axis=self.axes, keepdims=keepdims)

    def backward(self, g: TensorOrArray) -> Grads:
        return (BroadcastTo.apply(g.reshape(self.kept), shape=self.shape),)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.sum(dx, axis=self.axes, keepdims=self.keepdims)


class _Extremum(Function):
    """Shared VJP of max and min: the adjoint goes to the arg-extremum (split evenly among ties)."""

    _reduce = None

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if x.size == 0:
            raise ValueError(f"{type(self).__name__.lower()}: cannot reduce an empty array")
        self.axes = _norm_axis(axis, x.ndim)
        self.keepdims = keepdims
        y = type(self)._reduce(x, axis=self.axes, keepdims=True)
        mask = x == y
        self.weight = mask / mask.sum(axis=self.axes, keepdims=True)
        return y if keepdims else np.squeeze(y, axis=self.axes)

    def backward(self, g: TensorOrArray) -> Grads:
        return (_expand(g, self.axes, self.keepdims) * self.weight,)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.sum(dx * self.weight, axis=self.axes, keepdims=self.keepdims)


class Max(_Extremum):
    """Maximum over axes.  y = max_i x_i;  dy/dx_i = 1 at the maximum (1/k for a k-way tie), else 0."""
    _reduce = staticmethod(np.max)


class Min(_Extremum):
    """Minimum over axes.  y = min_i x_i;  dy/dx_i = 1 at the minimum (1/k for a k-way tie), else 0."""
    _reduce = staticmethod(np.min)


def _logsumexp(x, axis, rows, m=None):
    """log sum_i exp(x_i) along axis (keepdims), stable: shift by the maximum m first,
    log sum_i exp(x_i) = m + log sum_i exp(x_i - m).  (ufunc.reduce directly: the np.max
    wrapper costs more than the arithmetic on a batch of logits.)  ``rows``: _is_rows(x, axis);
    ``m``: a shift of the reduced shape chosen by the caller instead of the maximum (the
    infinite case below calls itself with one)."""
    if m is None:
        m = row_max(x) if rows else np.maximum.reduce(x, axis=axis, keepdims=True)
        if np.isinf(m).any():
            # an all -inf (or a +inf) slice is shifted by 0 instead, as SciPy does: an all -inf slice
            # gives log 0 = -inf, and a +inf slice may also hold finite values so large that their exp
            # overflows, to the same +inf answer; neither warns (SciPy's does not)
            # (and summed by NumPy's reduction, not row_sum's BLAS product: some BLAS kernels multiply
            # an inf by the zero padding of their vector and raise a spurious invalid-value flag, which
            # NumPy reports after the product, e.g. OpenBLAS 0.3.31's SkylakeX kernel on a 3 x 3 block)
            m = np.where(np.isfinite(m), m, 0).astype(m.dtype)
            with np.errstate(over="ignore", divide="ignore"):
                return _logsumexp(x, axis, False, m)
    e = np.subtract(x, m)
    np.exp(e, out=e)
    s = row_sum(e) if rows else np.add.reduce(e, axis=axis, keepdims=True)
    np.log(s, out=s)
    s += m
    return s


class LogSumExp(Function):
    """Log-sum-exp.  y = log sum_i exp(x_i) = m + log sum_i exp(x_i - m), m = max_i x_i;
    dy/dx_i = softmax(x)_i."""

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        ndim = x.ndim
        self.axes = axes = _norm_axis(axis, ndim)
        self.keepdims = keepdims
        self.x = x
        rows = ndim == 2 and axes == (1,)   # _is_rows, for the normalised axes
        self.y = y = _logsumexp(x, axes, rows)   # with the reduced axes kept: it broadcasts against x
        if keepdims:
            return y
        return y[:, 0] if rows else np.squeeze(y, axis=axes)

    @property
    def p(self) -> np.ndarray:
        """softmax(x) = exp(x - y), formed when a derivative asks for it (not on every forward pass)."""
        p = self.__dict__.get("_p")
        if p is None:
            p = self.__dict__["_p"] = np.exp(self.x - self.y)
        return p

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        return {"_p": Exp.apply(inputs[0] - _expand(out, self.axes, self.keepdims))}

    def backward(self, g: TensorOrArray) -> Grads:
        return (_expand(g, self.axes, self.keepdims) * self.p,)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.sum(self.p * dx, axis=self.axes, keepdims=self.keepdims)


class Softmax(Function):
    """Softmax.  y_i = exp(x_i) / sum_j exp(x_j);  dy_i/dx_j = y_i (delta_ij - y_j).

    VJP: xbar = y * (ybar - sum_j ybar_j y_j);  JVP: ydot = y * (xdot - sum_j y_j xdot_j).
    """

    def forward(self, x: np.ndarray, axis: Axis = -1) -> np.ndarray:
        x = np.asarray(x)
        self.axis = axis
        rows = _is_rows(x, axis)
        self.m = row_max(x) if rows else np.maximum.reduce(x, axis=axis, keepdims=True)
        e = np.subtract(x, self.m)
        np.exp(e, out=e)
        self.s = row_sum(e) if rows else np.add.reduce(e, axis=axis, keepdims=True)
        e /= self.s
        self.y = e
        return e

    def logsumexp(self) -> np.ndarray:
        """log sum_j exp(x_j) = m + log s, from the shift m and the sum s this forward pass kept."""
        return np.log(self.s) + self.m

    def backward(self, g: TensorOrArray) -> Grads:
        y = self.y
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)

    def jvp(self, dx: Tangent) -> Tangent:
        y = self.y
        return y * (dx - np.sum(dx * y, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """Log-softmax.  y_i = x_i - logsumexp(x);  dy_i/dx_j = delta_ij - softmax(x)_j.

    VJP: xbar = ybar - softmax(x) sum_j ybar_j;  JVP: ydot = xdot - sum_j softmax(x)_j xdot_j.
    """

    def forward(self, x: np.ndarray, axis: Axis = -1) -> np.ndarray:
        x = np.asarray(x)
        self.axis = axis
        y = x - _logsumexp(x, axis, _is_rows(x, axis))
        self.p = np.exp(y)
        return y

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        return {"p": Exp.apply(out)}

    def backward(self, g: TensorOrArray) -> Grads:
        return (g - self.p * g.sum(axis=self.axis, keepdims=True),)

    def jvp(self, dx: Tangent) -> Tangent:
        return dx - np.sum(self.p * dx, axis=self.axis, keepdims=True)


def _flip(x, axis):
    """x reversed along ``axis`` (basic slicing: works on ndarrays and Tensors)."""
    return x[(slice(None),) * (axis % x.ndim) + (slice(None, None, -1),)]


class Cumsum(Function):
    """Running sum along an axis.  y_k = sum_{j <= k} x_j;  VJP: xbar_j = sum_{k >= j} ybar_k
    (the running sum taken from the other end);  JVP: ydot = cumsum(xdot).
    With ``axis=None`` the input is flattened first, as in NumPy."""

    def forward(self, x: np.ndarray, axis: Optional[int] = None) -> np.ndarray:
        x = np.asarray(x)
        self.shape = x.shape
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, g: TensorOrArray) -> Grads:
        ax = 0 if self.axis is None else self.axis
        xbar = _flip(Cumsum.apply(_flip(g, ax), axis=ax), ax)
        return (xbar.reshape(self.shape) if self.axis is None else xbar,)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.cumsum(np.broadcast_to(dx, self.shape), axis=self.axis)


class Cumprod(Function):
    """Running product along an axis.  y_k = prod_{j <= k} x_j;  dy_k/dx_j = y_k / x_j for j <= k, so
    VJP: xbar_j = (sum_{k >= j} ybar_k y_k) / x_j;  JVP: ydot_k = sum_{j <= k} y_k xdot_j / x_j.
    Both divide by x: at an x_j = 0 they are not defined (NaN); ``prod`` does not go through them."""

    def forward(self, x: np.ndarray, axis: Optional[int] = None) -> np.ndarray:
        x = np.asarray(x)
        self.shape = x.shape
        self.axis = axis
        self.x = x
        self.y = np.cumprod(x, axis=axis)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        ax = 0 if self.axis is None else self.axis
        x = self.x if self.axis is not None else self.x.reshape((-1,))
        with np.errstate(divide="ignore", invalid="ignore"):
            xbar = _flip(Cumsum.apply(_flip(g * self.y, ax), axis=ax), ax) / x
        return (xbar.reshape(self.shape) if self.axis is None else xbar,)

    def jvp(self, dx: Tangent) -> Tangent:
        ax = 0 if self.axis is None else self.axis
        dx = np.broadcast_to(dx, self.shape)
        if self.axis is None:
            dx = dx.reshape(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.y * np.cumsum(dx / self.x.reshape(dx.shape), axis=ax)


def _moved_flat(x, axes):
    """x with the ``axes`` moved to the end and merged into one (for ndarrays and Tensors),
    and the permutation used."""
    keep = [i for i in range(x.ndim) if i not in axes]
    perm = tuple(keep) + tuple(axes)
    xt = x.transpose(perm) if perm != tuple(range(x.ndim)) else x
    lead = tuple(x.shape[i] for i in keep)
    return xt.reshape(lead + (-1,)), perm


def _prod_of_others(x, axes):
    """prod_{j != i} x_j over the reduced ``axes``, for every i, without dividing (exact where some
    x_j = 0): the product of everything before i times everything after it, two running products."""
    from chainrule.ops.shape import Concatenate
    xf, perm = _moved_flat(x, axes)
    one = np.ones(xf.shape[:-1] + (1,), dtype=xf.dtype)
    before = Cumprod.apply(Concatenate.apply(one, xf[..., :-1], axis=-1), axis=-1)
    after = _flip(Cumprod.apply(_flip(Concatenate.apply(xf[..., 1:], one, axis=-1), -1), axis=-1), -1)
    others = (before * after).reshape(tuple(x.shape[i] for i in perm))
    inverse = tuple(np.argsort(perm))
    return others.transpose(inverse) if inverse != tuple(range(x.ndim)) else others


class Prod(Function):
    """Product over axes.  y = prod_i x_i;  dy/dx_i = prod_{j != i} x_j  (= y / x_i when no x_j is 0);
    VJP: xbar_i = ybar prod_{j != i} x_j;  JVP: ydot = sum_i prod_{j != i} x_j xdot_i.

    Where some x_j = 0 the products of the others are formed directly (HIPS autograd's y / x_i
    gives NaN there); their own derivative (a second derivative of prod at a zero) is not defined.
    """

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        x = np.asarray(x)
        self.axes = _norm_axis(axis, x.ndim)
        self.keepdims = keepdims
        y = np.multiply.reduce(x, axis=self.axes, keepdims=True)
        self.others = self._others(x, y)
        return y if keepdims else np.squeeze(y, axis=self.axes)

    def _others(self, x, y):
        xv = _value(x)
        if not self.axes or xv.size == 0:   # a product of one factor: dy/dx = 1
            return np.ones(xv.shape, xv.dtype)
        if np.all(xv != 0):
            return y / x
        return _prod_of_others(x, self.axes)

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        x = inputs[0]
        if x is None:
            return {}
        return {"others": self._others(x, _expand(out, self.axes, self.keepdims))}

    def backward(self, g: TensorOrArray) -> Grads:
        return (_expand(g, self.axes, self.keepdims) * self.others,)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.sum(self.others * dx, axis=self.axes, keepdims=self.keepdims)


def _value(x):
    return x.data if isinstance(x, Tensor) else x

"""Shape primitives: reshape, transpose, indexing, concatenate, stack, pad.

None of these change values, only where they sit, so each VJP puts the adjoint
back where the value came from (and each JVP moves the tangent the same way as
the value).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function
from chainrule.tensor import _unbroadcast

if TYPE_CHECKING:
    from chainrule._typing import Any, Axis, Grads, Optional, Sequence, Shape, Tangent, TensorOrArray


class Reshape(Function):
    """Reshape.  y = x viewed with a new shape;  xbar = ybar reshaped back."""

    def forward(self, x: np.ndarray, shape: Optional[Shape] = None) -> np.ndarray:
        self.shape = np.shape(x)
        try:
            y = np.reshape(x, shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape an input of shape {self.shape} "
                             f"({int(np.prod(self.shape))} values) into shape {shape}") from None
        self.out_shape = y.shape
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return (g.reshape(self.shape),)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.reshape(np.broadcast_to(dx, self.shape), self.out_shape)


class Transpose(Function):
    """Axis permutation.  y = x.transpose(axes);  xbar = ybar.transpose(inverse(axes))."""

    def forward(self, x: np.ndarray, axes: Optional[Sequence[int]] = None) -> np.ndarray:
        x = np.asarray(x)
        self.axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(axes)
        if sorted(a % max(x.ndim, 1) for a in self.axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes "
                             f"of an input of shape {x.shape}")
        self.inverse = tuple(np.argsort([a % x.ndim for a in self.axes])) if x.ndim else ()
        return np.transpose(x, self.axes)

    def backward(self, g: TensorOrArray) -> Grads:
        return (g.transpose(self.inverse),)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.transpose(dx, self.axes)


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


class GetItem(Function):
    """Indexing and slicing.  y = x[index];  xbar = zeros like x with ybar scattered to x[index]
    (added, so repeated indices accumulate)."""

    name = "getitem"

    def forward(self, x: np.ndarray, index: Any = None) -> np.ndarray:
        x = np.asarray(x)
        if isinstance(index, list):
            index = np.asarray(index)
        self.index = index
        self.shape, self.dtype = x.shape, x.dtype
        self.basic = _is_basic_index(index)
        try:
            return x[index]
        except IndexError as err:
            raise IndexError(f"getitem: index {index!r} does not fit an input of shape {x.shape}: {err}") from None

    def backward(self, g: TensorOrArray) -> Grads:
        return (Scatter.apply(g, index=self.index, shape=self.shape, basic=self.basic),)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.broadcast_to(dx, self.shape)[self.index]


class Concatenate(Function):
    """Concatenation along an axis.  y = [x_1, ..., x_n];  xbar_k = the k-th block of ybar."""

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        xs = [np.asarray(x) for x in xs]
        self.axis = axis
        self.shapes = [x.shape for x in xs]
        try:
            y = np.concatenate(xs, axis=axis)
        except ValueError:
            raise ValueError(f"concatenate: along axis {axis} all other dimensions must match, "
                             f"got shapes {self.shapes}") from None
        ax = axis % y.ndim
        edges = np.cumsum([0] + [s[ax] for s in self.shapes])
        self.blocks = [(slice(None),) * ax + (slice(lo, hi),) for lo, hi in zip(edges[:-1], edges[1:])]
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return tuple(g[block] for block in self.blocks)

    def jvp(self, *dxs: Tangent) -> Tangent:
        return np.concatenate([np.zeros(s) if d is None else np.broadcast_to(d, s)
                               for d, s in zip(dxs, self.shapes)], axis=self.axis)


class Stack(Function):
    """Stacking along a new axis.  y[..., k, ...] = x_k;  xbar_k = ybar taken at k."""

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        xs = [np.asarray(x) for x in xs]
        self.axis = axis
        self.shape = xs[0].shape if xs else ()
        try:
            y = np.stack(xs, axis=axis)
        except ValueError:
            raise ValueError(f"stack: all inputs must have the same shape, got {[x.shape for x in xs]}") from None
        self.lead = (slice(None),) * (axis % y.ndim)
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return tuple(g[self.lead + (k,)] for k in range(g.shape[len(self.lead)]))

    def jvp(self, *dxs: Tangent) -> Tangent:
        return np.stack([np.zeros(self.shape) if d is None else np.broadcast_to(d, self.shape)
                         for d in dxs], axis=self.axis)


class Pad(Function):
    """Constant padding.  y = x surrounded by a constant;  xbar = ybar with the border cut off."""

    def forward(self, x: np.ndarray, pad_width: Any = None, constant_values: float = 0) -> np.ndarray:
        x = np.asarray(x)
        pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2)) if x.ndim else np.zeros((0, 2), int)
        if (pw < 0).any():
            raise ValueError(f"pad: pad widths must be non-negative, got {pad_width}")
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pw, x.shape))
        y = np.pad(x, pw, mode="constant", constant_values=constant_values)
        self.out_shape = y.shape
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return (g[self.slices],)

    def jvp(self, dx: Tangent) -> Tangent:
        out = np.zeros(self.out_shape, dtype=dx.dtype)
        out[self.slices] = dx
        return out


class BroadcastTo(Function):
    """Broadcasting.  y = x repeated along new or size-1 axes to ``shape``;
    VJP: xbar = ybar summed over those axes;  JVP: ydot = xdot broadcast the same way."""

    name = "broadcast_to"

    def forward(self, x: np.ndarray, shape: Optional[Shape] = None) -> np.ndarray:
        self.shape = np.shape(x)
        y = np.broadcast_to(x, shape)
        self.out_shape = y.shape
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return (_unbroadcast(g, self.shape),)

    def jvp(self, dx: Tangent) -> Tangent:
        return np.broadcast_to(dx, self.out_shape)


class Scatter(Function):
    """Scatter-add, the adjoint of indexing.  y = zeros(shape) with y[index] += x;
    VJP: xbar = ybar[index];  JVP: ydot = scatter(xdot).  (It is getitem's VJP, written as a
    primitive so that getitem can be differentiated twice.)"""

    def forward(self, x: np.ndarray, index: Any = None, shape: Optional[Shape] = None,
                basic: bool = False) -> np.ndarray:
        self.index = index
        out = np.zeros(shape, dtype=np.result_type(x))
        if basic:
            out[index] = x
        else:
            np.add.at(out, index, x)
        self.out_shape = shape
        self.basic = basic
        return out

    def backward(self, g: TensorOrArray) -> Grads:
        return (g[self.index],)

    def jvp(self, dx: Tangent) -> Tangent:
        return Scatter().forward(dx, index=self.index, shape=self.out_shape, basic=self.basic)

"""The Function base class: one primitive, its value, its VJP and its JVP in one place.

A primitive subclasses :class:`Function` and defines

``forward(self, *arrays, **params) -> ndarray``
    the value y = f(x1, ..., xn), computed with NumPy; whatever the
    derivatives need is saved on ``self``;
``backward(self, ybar) -> tuple``
    the vector-Jacobian product (reverse mode): xbar_i = ybar . dy/dx_i for each
    input, or ``None`` for an input that needs no gradient
    (``self.needs_input_grad[i]`` tells which);
``jvp(self, *xdots) -> ndarray``
    the Jacobian-vector product (forward mode): ydot = sum_i dy/dx_i . xdot_i,
    where an ``xdot_i`` of ``None`` stands for a zero tangent.

Gradients may come back with the broadcast shape of the output; they are summed
back to each input's shape in one place, :func:`chainrule.tensor._unbroadcast`.

``Sub.apply(a, b)`` runs the primitive.  Inputs may be Tensors, ndarrays or
Python numbers.  When no input is a Tensor the result is a plain ndarray and no
graph is recorded, so every primitive is also an ordinary NumPy function.
"""
from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor, _state

__all__ = ["Function"]


class Function:
    """Base class of all primitives (see the module docstring)."""

    #: Name used in error messages; defaults to the lower-cased class name.
    name = None
    #: Parameters passed to ``forward`` by keyword, recorded for error messages.
    __slots__ = ("parents", "needs_input_grad", "__dict__")

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, ybar):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no VJP")

    def jvp(self, *xdots):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no JVP")

    @classmethod
    def apply(cls, *inputs, **params):
        ctx = cls.__new__(cls)
        arrays = []
        parents = []
        any_tensor = False
        requires = False
        for x in inputs:
            if type(x) is Tensor or isinstance(x, Tensor):
                arrays.append(x.data)
                parents.append(x)
                any_tensor = True
                requires = requires or x.requires_grad
            else:
                arrays.append(x)
                parents.append(None)
        try:
            out = ctx.forward(*arrays, **params)
        except ValueError as err:
            raise cls._shape_error(arrays, params, err) from None
        if not any_tensor:
            return out
        if type(out) is not np.ndarray:
            out = np.asarray(out)  # a full reduction gives a NumPy scalar; Tensors hold arrays
        requires = requires and _state.grad_enabled
        if requires:
            ctx.parents = parents
            ctx.needs_input_grad = [p is not None and p.requires_grad for p in parents]
            result = Tensor._make(out, True, ctx)
        else:
            result = Tensor._make(out, False, None)
        if _state.forward_depth:
            tangents = [p._tangent if p is not None else None for p in parents]
            if any(t is not None for t in tangents):
                tan = ctx.jvp(*tangents)
                if tan is not None:
                    tan = np.asarray(tan)
                    if tan.shape != out.shape:
                        tan = np.broadcast_to(tan, out.shape).copy()
                    result._tangent = tan
        return result

    @classmethod
    def _shape_error(cls, arrays, params, err):
        name = cls.name or cls.__name__.lower()
        shapes = " and ".join(str(np.shape(a)) for a in arrays)
        return ValueError(f"{name}: cannot apply to inputs of shapes {shapes} ({err})")

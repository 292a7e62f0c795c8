"""The Function base class: one primitive, its value, its VJP and its JVP in one place.

A primitive subclasses :class:`Function` and defines

``forward(self, *arrays, **params) -> ndarray``
    the value y = f(x1, ..., xn), computed with NumPy; whatever the
    derivatives need is saved on ``self``;
``backward(self, ybar) -> tuple``
    the vector-Jacobian product (reverse mode): xbar_i = ybar . dy/dx_i for each
    input, or ``None`` for an input that needs no gradient
    (``self.needs_input_grad[i]`` tells which);
``backward(self, ybar, out)`` instead, with ``backward_out = True``
    the VJP may write input i's gradient into ``out[i]`` when that is an array
    (see :attr:`Function.backward_out`); only matrix products do, where the
    saved copy is worth it;
``jvp(self, *xdots) -> ndarray``
    the Jacobian-vector product (forward mode): ydot = sum_i dy/dx_i . xdot_i,
    where an ``xdot_i`` of ``None`` stands for a zero tangent.

Gradients may come back with the broadcast shape of the output; they are summed
back to each input's shape in one place, :func:`chainrule.tensor._unbroadcast`.

Second and higher derivatives come from the same ``backward``: it is written
with operators and chainrule functions (``g * self.y``, ``g @ self.W.T``,
``.sum(axis=...)``), which act on ndarrays and Tensors alike.  When a gradient is
requested with ``create_graph=True`` (as ``hessian`` and nested ``grad`` do),
:meth:`Function._graph_backward` calls ``backward`` with Tensors: the adjoint is a
Tensor, and every saved input or output is swapped for its graph node, so the
VJP is itself recorded and can be differentiated again (HIPS autograd's and
PyTorch's double backward).  A primitive that saves a value *derived* from its
inputs (say softmax(x) for log-sum-exp) rebuilds it from the graph nodes in
:meth:`Function.saved_from_graph`; saved constants (masks, signs, shapes) need
nothing, as their derivative is zero.

``Sub.apply(a, b)`` runs the primitive.  Inputs may be Tensors, ndarrays or
Python numbers.  When no input is a Tensor the result is a plain ndarray and no
graph is recorded, so every primitive is also an ordinary NumPy function.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.tensor import Tensor, _as_array, _clock, _state

if TYPE_CHECKING:
    from chainrule._typing import Any, Grads, Optional, Tangent, TensorLike, TensorOrArray

__all__ = ["Function"]

_new = object.__new__   # builds apply's output Tensor as Tensor._make does, without the call


class Function:
    """Base class of all primitives (see the module docstring)."""

    #: Name used in error messages; defaults to the lower-cased class name.
    name = None
    #: True for a primitive whose VJP is ``backward(ybar, out)``: ``out[i]``, when not None, is
    #: storage for input i's gradient that the VJP may write into (NumPy's ``out=``) and return.
    #: The backward pass offers it for a Parameter whose optimizer keeps its gradient in a flat
    #: buffer (``Parameter._grad_out``), so the update finds the gradient in place, uncopied.
    backward_out = False
    #: Parameters passed to ``forward`` by keyword, recorded for error messages.
    __slots__ = ("parents", "needs_input_grad", "__dict__")

    def forward(self, *arrays: np.ndarray, **params: Any) -> np.ndarray:  # pragma: no cover - abstract
        """The value y = f(x_1, ..., x_n) of the primitive, from plain ndarrays (the class docstring
        has its equation); saves on ``self`` what :meth:`backward` and :meth:`jvp` need."""
        raise NotImplementedError

    def backward(self, ybar: TensorOrArray) -> Grads:  # pragma: no cover - abstract
        """The vector-Jacobian product: the adjoints xbar_i = ybar dy/dx_i, one per input (None where
        ``self.needs_input_grad[i]`` is False).  Written with operators and chainrule functions, so
        that with ``create_graph`` it is recorded and differentiable again."""
        raise NotImplementedError(f"{type(self).__name__} has no VJP")

    def jvp(self, *xdots: Tangent) -> Tangent:  # pragma: no cover - abstract
        """The Jacobian-vector product (forward mode): ydot = sum_i (dy/dx_i) xdot_i, where a tangent
        of None is zero."""
        raise NotImplementedError(f"{type(self).__name__} has no JVP")

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        """Saved values derived from the inputs, rebuilt with chainrule functions of the graph
        nodes ``inputs`` (one per input, ``None`` for a constant) and ``out``, as a dict
        attribute -> Tensor.  Used only when differentiating a VJP (``create_graph``).
        Saved inputs and outputs themselves are swapped in automatically; a primitive whose
        backward reads nothing else returns the default, ``{}``."""
        return {}

    def _graph_backward(self, out, g):
        """The VJP ``backward(g)`` as a recorded, differentiable computation (see the module
        docstring): g is a Tensor, and so is every saved input and output it reads."""
        nodes = {}
        for p in self.parents:
            if p is not None and nodes.setdefault(id(p.data), p) is not p:
                raise ValueError(
                    f"{self.name or type(self).__name__.lower()}: cannot differentiate twice through an "
                    f"operation whose inputs are different tensors sharing one array (such as x and "
                    f"x.detach()); give one of them its own copy, e.g. cr.tensor(x.numpy().copy())")
        nodes.setdefault(id(out.data), out)
        if "_raw_out" in self.__dict__:
            nodes.setdefault(id(self._raw_out), out)
        view = object.__new__(type(self))
        view.parents, view.needs_input_grad = self.parents, self.needs_input_grad
        view.__dict__.update({k: nodes.get(id(v), v) for k, v in self.__dict__.items()})
        view.__dict__.update(self.saved_from_graph(list(self.parents), out))
        return view.backward(g)

    @classmethod
    def apply(cls, *inputs: TensorLike, **params: Any) -> TensorOrArray:
        """Run the primitive on ``inputs`` and return its output as a Tensor, recording it in the graph when
        an input requires a gradient (plain arrays in give a plain array back)."""
        ctx = cls.__new__(cls)
        arrays = []
        parents = []
        needs = []
        any_tensor = requires = tangent = False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
                parents.append(x)
                any_tensor = True
                if x._tangent is not None:
                    tangent = True
                if x.requires_grad:
                    needs.append(True)
                    requires = True
                else:
                    needs.append(False)
            else:
                arrays.append(x)
                parents.append(None)
                needs.append(False)
        try:
            out = ctx.forward(*arrays, **params) if params else ctx.forward(*arrays)
        except ValueError as err:
            raise cls._shape_error(arrays, params, err) from None
        except TypeError as err:   # strings, objects, dates: say so here, not in NumPy's words
            bad = cls._dtype_error(arrays)
            if bad is None:
                raise
            raise bad from err
        if not any_tensor:
            return out
        raw = None
        if type(out) is not np.ndarray:
            raw, out = out, np.asarray(out)  # a 0-d result is a NumPy scalar; Tensors hold arrays
        result = _new(Tensor)   # Tensor._make, inline: a call less on every primitive
        result.data = out
        result.grad = result._tangent = result.name = None
        result._version = 0
        state = _state
        if requires and state.grad_enabled:
            ctx.parents = parents
            ctx.needs_input_grad = needs
            ctx._stamp = _clock[0]  # the in-place clock: backward checks no input changed since
            if raw is not None:
                ctx._raw_out = raw  # what forward returned (and may have saved): the output too
            result.requires_grad = True
            result._ctx = ctx
        else:
            result.requires_grad = False
            result._ctx = None
        if tangent and state.forward_depth:   # (the thread-local read only when an input has a tangent)
            tan = ctx.jvp(*[p._tangent if p is not None else None for p in parents])
            if tan is not None:
                tan = np.asarray(tan)
                if tan.shape != out.shape:
                    tan = np.broadcast_to(tan, out.shape).copy()
                result._tangent = tan
        return result

    @classmethod
    def _dtype_error(cls, arrays):
        """A TypeError naming the first input that is not numbers by Tensor's rule (``_as_array``:
        strings, dates, None), or None if every input is numbers."""
        for i, a in enumerate(arrays):
            try:
                if a is not None:
                    _as_array(a)
            except TypeError:
                name = cls.name or cls.__name__.lower()
                return TypeError(f"{name}: input {i} must hold numbers (a float, integer or boolean array), "
                                 f"got dtype {np.asarray(a).dtype}")
            except ValueError:   # ragged nesting: not a question of dtype
                continue
        return None

    @classmethod
    def _shape_error(cls, arrays, params, err):
        name = cls.name or cls.__name__.lower()
        shapes = " and ".join(str(np.shape(a)) for a in arrays)
        return ValueError(f"{name}: cannot apply to inputs of shapes {shapes} ({err})")

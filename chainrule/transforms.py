"""Function transformations in the style of HIPS autograd: grad, jacobian, vjp, jvp, ...

They take a function written with chainrule functions (``cr.exp``, ``cr.sum``,
``@``, ...) and return a new function that takes and returns plain ndarrays.
Reverse mode (``grad``, ``vjp``, ``jacobian``) records the graph and walks it
backwards; forward mode (``jvp``) pushes tangents alongside the values.
"""
from __future__ import annotations

import functools

import numpy as np

from chainrule.ops import reshape, stack
from chainrule.tensor import Tensor, _adjoints, _state, _toposort, enable_grad, get_default_dtype

__all__ = ["grad", "value_and_grad", "elementwise_grad", "jacobian", "hessian", "vjp", "jvp"]


def _leaf(x, name="input"):
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "fc":
        if arr.dtype.kind in "iub":
            arr = arr.astype(get_default_dtype() if arr.dtype.kind == "b" else np.float64)
        else:
            raise TypeError(f"{name}: expected numbers, got an array of dtype {arr.dtype}")
    return Tensor._make(arr, True, None)


def _out_data(y):
    return y.data if isinstance(y, Tensor) else np.asarray(y)


def _check_argnum(args, argnum, fname):
    if not isinstance(argnum, (int, np.integer)) or not -len(args) <= argnum < len(args):
        raise ValueError(f"{fname}: argnum={argnum!r} but the function was called with {len(args)} positional "
                         f"argument(s)")


class _Trace:
    """One reverse-mode differentiation of f at args[argnum]: the variable x, the result y,
    and whether the derivatives must themselves be differentiable (``nested``).

    They must be when x, or anything else f used, belongs to an enclosing computation:
    ``grad(grad(f))``, ``jacobian(grad(f))`` (the Hessian), ``jvp(grad(f), ...)``
    (a Hessian-vector product), or a gradient of a model with trainable parameters.
    Then the VJPs are recorded (``create_graph``) and Tensors are returned in place of
    ndarrays, so the enclosing computation differentiates through them, as HIPS
    autograd does with nested boxes.
    """

    def __init__(self, f, args, kwargs, argnum, fname):
        _check_argnum(args, argnum, fname)
        a = args[argnum]
        outer = isinstance(a, Tensor) and (a.requires_grad or a._tangent is not None)
        if outer and a.requires_grad:
            x = a  # differentiate with respect to the enclosing computation's own node
        else:
            x = _leaf(a, fname)
            if outer:  # carried a tangent of an enclosing jvp: keep it
                x._tangent = a._tangent
        args = list(args)
        args[argnum] = x
        with enable_grad():
            y = f(*args, **kwargs)
        self.x, self.y = x, y
        self.nested = outer or bool(_state.forward_depth) or self._uses_outer_tensors()

    def _uses_outer_tensors(self):
        y = self.y
        if not (isinstance(y, Tensor) and y.requires_grad):
            return False
        return any(node._ctx is None and node is not self.x for node in _toposort(y))

    def value(self):
        return self.y if self.nested else _out_data(self.y)

    def pull(self, seed):
        """xbar for the adjoint ``seed`` of y (zeros if y does not depend on x)."""
        x, y = self.x, self.y
        g = None
        if isinstance(y, Tensor) and y.requires_grad:
            if self.nested:
                seed = seed if isinstance(seed, Tensor) else Tensor._make(seed, False, None)
                with enable_grad():
                    (g,) = _adjoints(y, seed, [x], create_graph=True)
            else:
                (g,) = _adjoints(y, seed, [x])
        if g is None:
            g = np.zeros_like(x.data)
            return Tensor._make(g, False, None) if self.nested else g
        if isinstance(g, Tensor) and not self.nested:
            g = g.data
        return g


def value_and_grad(f, argnum=0):
    """Return a function computing ``(f(x), df/dx)`` for a scalar-valued f.

    >>> import chainrule as cr
    >>> v, g = cr.value_and_grad(lambda x: cr.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(v), g
    (5.0, array([2., 4.]))
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        tr = _Trace(f, args, kwargs, argnum, "grad")
        val = _out_data(tr.y)
        if val.size != 1:
            raise ValueError(f"grad: the function must return a single value, got shape {val.shape}; "
                             f"use elementwise_grad or jacobian for array outputs")
        g = tr.pull(np.ones_like(val))
        if tr.nested:
            return tr.y, g
        return val.reshape(()) if val.ndim else val, g
    return wrapped


def grad(f, argnum=0):
    """Return the gradient function of a scalar-valued f with respect to argument ``argnum``.

    The lecture's first example, f(x) = exp(x^2), has f'(x) = 2x exp(x^2):

    >>> import numpy as np, chainrule as cr
    >>> df = cr.grad(lambda x: cr.exp(x ** 2))
    >>> bool(np.isclose(df(1.0), 2 * np.e))
    True
    """
    vg = value_and_grad(f, argnum)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]
    return wrapped


def elementwise_grad(f, argnum=0):
    """Gradient of ``sum(f(x))``: for an elementwise f, the derivative f'(x_i) at every point.

    >>> import numpy as np, chainrule as cr
    >>> cr.elementwise_grad(cr.tanh)(np.zeros(3))
    array([1., 1., 1.])
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        tr = _Trace(f, args, kwargs, argnum, "elementwise_grad")
        return tr.pull(np.ones_like(_out_data(tr.y)))
    return wrapped


def vjp(f, *primals, argnum=0):
    """Return ``(f(x), vjp_fn)`` where ``vjp_fn(ybar) = ybar^T J``, the reverse-mode product.

    >>> import numpy as np, chainrule as cr
    >>> y, back = cr.vjp(lambda x: 3 * x, np.ones(2))
    >>> back(np.array([1.0, 2.0]))
    array([3., 6.])
    """
    tr = _Trace(f, primals, {}, argnum, "vjp")
    val = _out_data(tr.y)

    def vjp_fn(ybar):
        if not isinstance(ybar, Tensor):
            ybar = np.asarray(ybar, dtype=val.dtype)
        if ybar.shape != val.shape:
            raise ValueError(f"vjp: the cotangent must have the output's shape {val.shape}, got {ybar.shape}")
        return tr.pull(ybar)
    return tr.value(), vjp_fn


def jvp(f, primals, tangents):
    """Forward mode: return ``(f(x), J @ v)`` for primals x and tangents v.

    ``primals`` and ``tangents`` are sequences of the same length (one entry
    per argument of f), or single arrays for a function of one argument.

    >>> import numpy as np, chainrule as cr
    >>> y, ydot = cr.jvp(lambda x: x ** 2, (np.array([1.0, 3.0]),), (np.ones(2),))
    >>> ydot
    array([2., 6.])
    """
    single = not isinstance(primals, (tuple, list))
    if single:
        primals, tangents = (primals,), (tangents,)
    if not isinstance(tangents, (tuple, list)) or len(primals) != len(tangents):
        raise ValueError(f"jvp: expected one tangent per primal, got {len(primals)} primal(s) and "
                         f"{len(tangents) if isinstance(tangents, (tuple, list)) else 'a non-sequence of'} tangent(s)")
    if _state.forward_depth:
        raise ValueError("jvp: cannot run inside another jvp (one tangent per value); for second derivatives "
                         "use jvp(grad(f), ...) or hessian(f)")
    if any(isinstance(p, Tensor) and p.requires_grad for p in primals):
        raise ValueError("jvp: cannot be differentiated in reverse mode (its tangents are computed with NumPy); "
                         "put the reverse mode inside instead: jvp(grad(f), x, v) is the Hessian-vector product")
    xs = []
    for k, (p, t) in enumerate(zip(primals, tangents)):
        x = _leaf(p, "jvp")
        x.requires_grad = False
        tan = np.asarray(t, dtype=x.data.dtype)
        if tan.shape != x.shape:
            raise ValueError(f"jvp: tangent {k} must have its primal's shape {x.shape}, got {tan.shape}")
        x._tangent = tan
        xs.append(x)
    _state.forward_depth += 1
    try:
        y = f(*xs)
    finally:
        _state.forward_depth -= 1
    val = _out_data(y)
    tan = y._tangent if isinstance(y, Tensor) else None
    if tan is None:
        tan = np.zeros_like(val, dtype=val.dtype if val.dtype.kind == "f" else np.float64)
    return val, tan


def jacobian(f, argnum=0):
    """Return the function x -> J(x) with J[i..., j...] = d f(x)[i...] / d x[j...].

    Built row by row in reverse mode; the shape is ``f(x).shape + x.shape``.

    >>> import numpy as np, chainrule as cr
    >>> cr.jacobian(lambda x: x * x)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        tr = _Trace(f, args, kwargs, argnum, "jacobian")
        val, x = _out_data(tr.y), tr.x
        eye = np.eye(val.size, dtype=val.dtype if val.dtype.kind == "f" else x.data.dtype)
        rows = [tr.pull(eye[i].reshape(val.shape)) for i in range(val.size)]
        if tr.nested:
            return reshape(stack(rows), val.shape + x.shape)
        return np.stack(rows).reshape(val.shape + x.shape) if rows else np.zeros(val.shape + x.shape)
    return wrapped


def hessian(f, argnum=0):
    """Return the function x -> H(x), the matrix of second derivatives of a scalar f.

    H = jacobian(grad(f)): the gradient is computed with its VJPs recorded
    (``create_graph``), and that recorded gradient is differentiated again in
    reverse mode, one row per coordinate, exactly as HIPS autograd's
    ``hessian``.  The shape is ``x.shape + x.shape``.

    >>> import numpy as np, chainrule as cr
    >>> cr.hessian(lambda x: cr.sum(x ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacobian(grad(f, argnum), argnum)

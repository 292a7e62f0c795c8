"""Function transformations in the style of HIPS autograd: grad, jacobian, vjp, jvp, ...

They take a function written with chainrule functions (``cr.exp``, ``cr.sum``,
``@``, ...) and return a new function that takes and returns plain ndarrays.
Reverse mode (``grad``, ``vjp``, ``jacobian``) records the graph and walks it
backwards; forward mode (``jvp``) pushes tangents alongside the values.
"""
from __future__ import annotations

import functools

import numpy as np

from chainrule.tensor import Tensor, _state, enable_grad, get_default_dtype

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


def _reverse(f, args, kwargs, argnum, fname):
    """Run f with args[argnum] as a differentiable leaf; return (leaf, output Tensor or array)."""
    _check_argnum(args, argnum, fname)
    x = _leaf(args[argnum], fname)
    args = list(args)
    args[argnum] = x
    with enable_grad():
        y = f(*args, **kwargs)
    return x, y


def _pull(x, y, seed):
    """xbar for the seed ybar, zeros if y does not depend on x."""
    x.grad = None
    if isinstance(y, Tensor) and y.requires_grad:
        y.backward(seed)
    return x.grad if x.grad is not None else np.zeros_like(x.data)


def value_and_grad(f, argnum=0):
    """Return a function computing ``(f(x), df/dx)`` for a scalar-valued f.

    >>> import chainrule as cr
    >>> v, g = cr.value_and_grad(lambda x: cr.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(v), g
    (5.0, array([2., 4.]))
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        x, y = _reverse(f, args, kwargs, argnum, "grad")
        val = _out_data(y)
        if val.size != 1:
            raise ValueError(f"grad: the function must return a single value, got shape {val.shape}; "
                             f"use elementwise_grad or jacobian for array outputs")
        return val.reshape(()) if val.ndim else val, _pull(x, y, np.ones_like(val))
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
        x, y = _reverse(f, args, kwargs, argnum, "elementwise_grad")
        return _pull(x, y, np.ones_like(_out_data(y)))
    return wrapped


def vjp(f, *primals, argnum=0):
    """Return ``(f(x), vjp_fn)`` where ``vjp_fn(ybar) = ybar^T J``, the reverse-mode product.

    >>> import numpy as np, chainrule as cr
    >>> y, back = cr.vjp(lambda x: 3 * x, np.ones(2))
    >>> back(np.array([1.0, 2.0]))
    array([3., 6.])
    """
    x, y = _reverse(f, primals, {}, argnum, "vjp")
    val = _out_data(y)

    def vjp_fn(ybar):
        ybar = np.asarray(ybar, dtype=val.dtype)
        if ybar.shape != val.shape:
            raise ValueError(f"vjp: the cotangent must have the output's shape {val.shape}, got {ybar.shape}")
        return _pull(x, y, ybar)
    return val, vjp_fn


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
        x, y = _reverse(f, args, kwargs, argnum, "jacobian")
        val = _out_data(y)
        rows = np.zeros((val.size,) + x.shape, dtype=x.data.dtype)
        seed = np.zeros(val.size, dtype=val.dtype if val.dtype.kind == "f" else x.data.dtype)
        for i in range(val.size):
            seed[:] = 0
            seed[i] = 1
            rows[i] = _pull(x, y, seed.reshape(val.shape))
        return rows.reshape(val.shape + x.shape)
    return wrapped


def hessian(f, argnum=0, eps=None):
    """Return the function x -> H(x), the matrix of second derivatives of a scalar f.

    Each column is the change of the exact reverse-mode gradient along one
    coordinate, H[:, j] = (grad f(x + h e_j) - grad f(x - h e_j)) / (2h): the
    first derivatives are exact and only the second is a central difference,
    accurate to about 1e-9 relative in float64 (the input is promoted to
    float64).  The result is symmetrised, (H + H^T)/2.

    >>> import numpy as np, chainrule as cr
    >>> np.round(cr.hessian(lambda x: cr.sum(x ** 3))(np.array([1.0, 2.0])), 6)
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    g = grad(f, argnum)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        _check_argnum(args, argnum, "hessian")
        x0 = np.asarray(_out_data(args[argnum]), dtype=np.float64)
        n = x0.size
        H = np.zeros((n, n))
        args = list(args)
        for j in range(n):
            h = (eps or 1e-5) * max(1.0, abs(float(x0.flat[j])))
            xp, xm = x0.copy(), x0.copy()
            xp.flat[j] += h
            xm.flat[j] -= h
            args[argnum] = xp
            gp = g(*args, **kwargs)
            args[argnum] = xm
            gm = g(*args, **kwargs)
            H[:, j] = (np.ravel(gp) - np.ravel(gm)) / (2 * h)
        H = 0.5 * (H + H.T)
        return H.reshape(x0.shape + x0.shape)
    return wrapped

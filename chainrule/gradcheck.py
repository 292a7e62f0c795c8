"""Gradient checking: reverse mode vs forward mode vs central finite differences.

For a function f of several arrays, pick a fixed random projection u of the
output and look at the scalar s(x) = sum(u * f(x)).  Then for every input k and
every index j, three numbers must agree:

* reverse mode:  (ds/dx_k)_j from one ``backward`` with seed u;
* forward mode:  the JVP of s along the unit vector e_j of input k;
* central differences: (s(x + eps e_j) - s(x - eps e_j)) / (2 eps).

A random u checks the whole Jacobian (an error hidden by it has probability 0),
while each disagreement can still be reported by input and index.

:func:`gradgradcheck` does the same one order up (PyTorch's name): along a
random direction v it compares the Hessian-vector product H v of s computed by
reverse-over-reverse (differentiating the recorded gradient, ``create_graph``),
by forward-over-reverse (the JVP of the gradient) and by central differences of
the exact gradient, (grad s(x + eps v) - grad s(x - eps v)) / (2 eps).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.tensor import Tensor, _state, enable_grad, gradients

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, Callable, Seed

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised when reverse mode, forward mode and finite differences disagree."""


def _as_f64(x):
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "fciub":
        raise TypeError(f"gradcheck: inputs must be numeric arrays, got dtype {arr.dtype}")
    return np.array(arr, dtype=np.float64)


def _inputs_f64(inputs, name):
    xs = [_as_f64(x) for x in inputs]
    if not xs:
        raise ValueError(f"{name}: expected at least one input array, got none")
    return xs


def gradcheck(f: Callable[..., Tensor], *inputs: ArrayLike, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: Seed = 0, check_forward: bool = True) -> bool:
    """Check f's derivatives with respect to every input; return True or raise GradcheckError.

    Parameters
    ----------
    f : callable
        Takes Tensors (one per input) and returns a Tensor of any shape.
    *inputs : array_like
        Points at which to check; converted to float64.
    eps : float
        Finite-difference step.
    atol, rtol : float
        A value passes when ``|a - b| <= atol + rtol * |b|`` with b the finite difference.
    check_forward : bool
        Also compare forward mode (each primitive's JVP).

    Examples
    --------
    >>> import numpy as np, chainrule as cr
    >>> cr.gradcheck(lambda x, w: cr.tanh(x @ w), np.ones((2, 3)), np.full((3, 2), 0.1))
    True
    """
    xs = _inputs_f64(inputs, "gradcheck")
    rng = np.random.default_rng(seed)

    def run(arrays, requires=False, tangents=None):
        ts = []
        for k, a in enumerate(arrays):
            t = Tensor._make(a, requires, None)
            if tangents is not None:
                t._tangent = tangents[k]
            ts.append(t)
        with enable_grad():
            y = f(*ts)
        if not isinstance(y, Tensor):
            y = Tensor._make(np.asarray(y, dtype=np.float64), False, None)
        return ts, y

    ts, y = run(xs, requires=True)
    u = rng.standard_normal(y.shape)
    if y.requires_grad:
        y.backward(u)
    reverse = [t.grad if t.grad is not None else np.zeros_like(t.data) for t in ts]

    def s(arrays):
        return float(np.sum(u * run(arrays)[1].data))

    for k, x in enumerate(xs):
        for j in np.ndindex(*x.shape):
            xp = [a.copy() for a in xs]
            xm = [a.copy() for a in xs]
            xp[k][j] += eps
            xm[k][j] -= eps
            numeric = (s(xp) - s(xm)) / (2 * eps)
            rev = float(reverse[k][j])
            checks = [("reverse mode", rev)]
            if check_forward:
                tangents = [np.zeros_like(a) for a in xs]
                tangents[k][j] = 1.0
                _state.forward_depth += 1
                try:
                    _, yf = run(xs, tangents=tangents)
                finally:
                    _state.forward_depth -= 1
                fwd = 0.0 if yf._tangent is None else float(np.sum(u * yf._tangent))
                checks.append(("forward mode", fwd))
            for mode, val in checks:
                if not abs(val - numeric) <= atol + rtol * abs(numeric):
                    raise GradcheckError(
                        f"gradcheck: input {k}, index {j}: {mode} gives {val!r} but central differences give "
                        f"{numeric!r} (difference {abs(val - numeric):.3g}, allowed {atol + rtol * abs(numeric):.3g})")
    return True


def gradgradcheck(f: Callable[..., Tensor], *inputs: ArrayLike, eps: float = 1e-5, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: Seed = 0) -> bool:
    """Check f's second derivatives along a random direction; return True or raise GradcheckError.

    With s(x) = sum(u * f(x)) for a fixed random u and a random direction v over
    all inputs, the Hessian-vector product H v must agree three ways: reverse
    over reverse, forward over reverse, and central differences of the exact
    gradient (see the module docstring).  Arguments as for :func:`gradcheck`.

    >>> import numpy as np, chainrule as cr
    >>> cr.gradgradcheck(lambda x, w: cr.tanh(x @ w), np.ones((2, 3)), np.full((3, 2), 0.1))
    True
    """
    xs = _inputs_f64(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(x.shape) for x in xs]
    u = None

    def grads(arrays, tangents=None, create_graph=False):
        """The leaves and ds/dx_k for each input (as Tensors when create_graph)."""
        nonlocal u
        ts = [Tensor._make(a, True, None) for a in arrays]
        if tangents is not None:
            for t, v in zip(ts, tangents):
                t._tangent = v
        with enable_grad():
            y = f(*ts)
            if u is None:
                u = rng.standard_normal(np.shape(y.data if isinstance(y, Tensor) else y))
            if not (isinstance(y, Tensor) and y.requires_grad):
                return ts, [None] * len(ts)
            gs = gradients(y, ts, grad_outputs=u, create_graph=create_graph)
        return ts, gs

    def dense(g, x):
        if g is None:
            return np.zeros_like(x)
        return np.asarray(g.data if isinstance(g, Tensor) else g, dtype=np.float64)

    grads(xs)  # fixes u from the output's shape
    gp = grads([x + eps * v for x, v in zip(xs, vs)])[1]
    gm = grads([x - eps * v for x, v in zip(xs, vs)])[1]
    numeric = [(dense(a, x) - dense(b, x)) / (2 * eps) for a, b, x in zip(gp, gm, xs)]

    # reverse over reverse: d/dx of sum_k <ds/dx_k, v_k>
    ts, gs = grads(xs, create_graph=True)
    inner = None
    for g, v in zip(gs, vs):
        if isinstance(g, Tensor):
            term = (g * v).sum()
            inner = term if inner is None else inner + term
    if inner is not None and inner.requires_grad:
        rr = [dense(h, x) for h, x in zip(gradients(inner, ts), xs)]
    else:
        rr = [np.zeros_like(x) for x in xs]

    # forward over reverse: the tangent of the recorded gradient along v
    _state.forward_depth += 1
    try:
        _, gs = grads(xs, tangents=vs, create_graph=True)
    finally:
        _state.forward_depth -= 1
    fr = [dense(None if not isinstance(g, Tensor) else g._tangent, x) for g, x in zip(gs, xs)]

    for k, x in enumerate(xs):
        for j in np.ndindex(*x.shape):
            num = float(numeric[k][j])
            for mode, val in (("reverse-over-reverse", float(rr[k][j])), ("forward-over-reverse", float(fr[k][j]))):
                if not abs(val - num) <= atol + rtol * abs(num):
                    raise GradcheckError(
                        f"gradgradcheck: input {k}, index {j}: {mode} gives H v = {val!r} but central differences "
                        f"of the gradient give {num!r} (difference {abs(val - num):.3g}, "
                        f"allowed {atol + rtol * abs(num):.3g})")
    return True

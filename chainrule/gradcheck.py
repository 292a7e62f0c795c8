"""Gradient checking: reverse mode vs forward mode vs central finite differences.

For a function f of several arrays, pick a fixed random projection u of the
output and look at the scalar s(x) = sum(u * f(x)).  Then for every input k and
every index j, three numbers must agree:

* reverse mode:  (ds/dx_k)_j from one ``backward`` with seed u;
* forward mode:  the JVP of s along the unit vector e_j of input k;
* central differences: (s(x + eps e_j) - s(x - eps e_j)) / (2 eps).

A random u checks the whole Jacobian (an error hidden by it has probability 0),
while each disagreement can still be reported by input and index.
"""
from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor, _state, enable_grad

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised when reverse mode, forward mode and finite differences disagree."""


def _as_f64(x):
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "fciub":
        raise TypeError(f"gradcheck: inputs must be numeric arrays, got dtype {arr.dtype}")
    return np.array(arr, dtype=np.float64)


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, check_forward=True):
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
    xs = [_as_f64(x) for x in inputs]
    if not xs:
        raise ValueError("gradcheck: expected at least one input array, got none")
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

"""The bar every chainrule.numpy function meets, at one point (used by the tests in this folder).

``check(name, f, oracle, *xs)`` with f and the oracle written once for both libraries:

* gradcheck and gradgradcheck in float64: reverse mode, forward mode and finite differences agree,
  to first and second order;
* the value on Tensors, the gradient and the Hessian (each argument's block) of s(x) = sum(u f(x))
  for a fixed random u, and the forward-mode JVP, equal to the oracle's: HIPS autograd's (``kind=
  'autograd'``, f called with autograd.numpy) or PyTorch's (``kind='torch'``, a function of torch
  tensors) where autograd lacks the function.
"""
import autograd
import autograd.numpy as anp
from autograd.differential_operators import make_jvp_reversemode
import numpy as onp
from hypothesis import settings, strategies as st
from hypothesis.extra.numpy import arrays

import chainrule as cr
import chainrule.numpy as cnp

FAST = settings(max_examples=3, deadline=None)
RTOL, ATOL = 1e-9, 1e-11


def values(shape, lo=-2.0, hi=2.0, avoid=()):
    """float64 arrays in [lo, hi], at least 0.05 away from each point in ``avoid`` (kinks)."""
    elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)
    if avoid:
        elems = elems.filter(lambda v: all(abs(v - a) > 0.05 for a in avoid))
    return arrays(onp.float64, shape, elements=elems)


def _u(shape, seed=1):
    return onp.random.default_rng(seed).standard_normal(shape)


def _close(a, b, what, rtol=RTOL, atol=ATOL):
    onp.testing.assert_allclose(onp.asarray(a, dtype=float), onp.asarray(b, dtype=float), rtol=rtol, atol=atol,
                                err_msg=what)


def check(f, oracle, *xs, kind="autograd", second=True, hessian=True, rtol=RTOL, atol=ATOL):
    """f(m, *xs) written with a NumPy module m (chainrule.numpy here, autograd.numpy for the oracle)
    unless ``kind='torch'``, where ``oracle`` is a function of torch tensors."""
    def ours(*a):
        return f(cnp, *a)
    assert cr.gradcheck(ours, *xs)
    if second:
        assert cr.gradgradcheck(ours, *xs)
    y = ours(*[cr.tensor(x) for x in xs])
    assert isinstance(y, cr.Tensor)
    u = _u(y.shape)
    vs = [_u(onp.shape(x), seed=2 + k) for k, x in enumerate(xs)]

    def s_ours(*a):
        return cnp.sum(ours(*a) * u)
    _, jv = cr.jvp(ours, tuple(xs), tuple(vs))
    if kind == "autograd":
        def theirs(*a):
            return oracle(anp, *a)

        def s_theirs(*a):
            return anp.sum(theirs(*a) * u)
        _close(y.numpy(), theirs(*xs), "value")
        # J v by autograd's reverse-over-reverse trick (its forward mode lacks some of these functions)
        jv_theirs = sum(make_jvp_reversemode(theirs, k)(*xs)(vs[k]) for k in range(len(xs)))
        for k in range(len(xs)):
            _close(cr.grad(s_ours, k)(*xs), autograd.grad(s_theirs, k)(*xs), f"gradient {k}", rtol, atol)
            if hessian:
                _close(cr.hessian(s_ours, k)(*xs), autograd.hessian(s_theirs, k)(*xs), f"Hessian {k}", rtol, atol)
    else:
        import torch
        ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        yt = oracle(*ts)
        _close(y.numpy(), yt.detach().numpy(), "value")
        ut = torch.tensor(u)

        def s_theirs(*a):
            return (oracle(*a) * ut).sum()
        gts = torch.autograd.grad(s_theirs(*ts), ts, allow_unused=True)
        jv_theirs = torch.autograd.functional.jvp(oracle, tuple(t.detach() for t in ts),
                                                  tuple(torch.tensor(v) for v in vs))[1].numpy()
        H = torch.autograd.functional.hessian(s_theirs, tuple(t.detach() for t in ts)) if hessian else None
        for k in range(len(xs)):
            g = onp.zeros(onp.shape(xs[k])) if gts[k] is None else gts[k].numpy()
            _close(cr.grad(s_ours, k)(*xs), g, f"gradient {k}", rtol, atol)
            if hessian:
                _close(cr.hessian(s_ours, k)(*xs), H[k][k].numpy(), f"Hessian {k}", rtol, atol)
    _close(jv, jv_theirs, "JVP", rtol, atol)

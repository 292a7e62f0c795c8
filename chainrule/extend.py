"""New differentiable functions in three lines, as in HIPS autograd's ``autograd.extend``.

>>> import numpy as np, chainrule as cr
>>> @cr.primitive
... def logsumexp(x):
...     m = np.max(x)
...     return m + np.log(np.sum(np.exp(x - m)))
>>> cr.defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
>>> cr.grad(logsumexp)(np.array([0.0, 0.0]))
array([0.5, 0.5])

``primitive(fun)`` wraps a function of NumPy arrays; ``defvjp(fun, vjpmaker_0, vjpmaker_1, ...)``
gives, for each positional argument, ``vjpmaker(ans, *args, **kwargs)`` returning the map
``g -> g . d ans / d arg`` (``None`` for an argument with no gradient); ``defjvp(fun, jvp_0, ...)``
gives ``jvp(g, ans, *args, **kwargs)``, the tangent of ans for the tangent g of that argument.
A gradient may come back with the output's broadcast shape: it is summed back to the argument's
shape by the engine.

Written with NumPy functions (``np.exp`` above), the VJPs are differentiable too: when a second
derivative is taken, ``ans``, the arguments and ``g`` are Tensors, and NumPy hands its functions on
Tensors to :mod:`chainrule.numpy`, which records them.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from chainrule.function import Function
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Any, Callable, Optional, Sequence

__all__ = ["primitive", "defvjp", "defjvp"]


class _UserPrimitive(Function):
    """The Function behind a :func:`primitive`: forward calls the wrapped NumPy function; the VJP and
    JVP call the rules given with :func:`defvjp` and :func:`defjvp`."""

    prim = None

    def forward(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.ans = self.prim.fun(*args, **kwargs)
        return self.ans

    def _vjp(self, g, ans, args):
        grads = []
        for i, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            maker = self.prim.vjps.get(i)
            if maker is None:
                raise NotImplementedError(f"{self.prim.__name__}: no VJP with respect to argument {i}; give it with "
                                          f"chainrule.defvjp({self.prim.__name__}, ...)")
            grads.append(maker(ans, *args, **self.kwargs)(g))
        return tuple(grads)

    def backward(self, g):
        return self._vjp(g, self.ans, self.args)

    def _graph_backward(self, out, g):
        args = [p if p is not None else a for p, a in zip(self.parents, self.args)]
        return self._vjp(g, out, args)

    def jvp(self, *tangents):
        total = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            rule = self.prim.jvps.get(i)
            if rule is None:
                raise NotImplementedError(f"{self.prim.__name__}: no JVP (forward mode) with respect to argument {i}; "
                                          f"give it with chainrule.defjvp({self.prim.__name__}, ...)")
            term = rule(t, self.ans, *self.args, **self.kwargs)
            total = term if total is None else total + term
        return total


class primitive:  # noqa: N801 (autograd's name)
    """Decorator: a function of NumPy arrays becomes a chainrule primitive (see the module docstring).
    Called without a Tensor argument it is the function itself."""

    def __init__(self, fun: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.vjps, self.jvps = {}, {}
        self._cls = type(fun.__name__, (_UserPrimitive,), {"prim": self, "name": fun.__name__})

    def __call__(self, *args, **kwargs):
        if not any(isinstance(a, Tensor) for a in args):
            return self.fun(*args, **kwargs)
        return self._cls.apply(*args, **kwargs)

    def __repr__(self):
        return f"<chainrule primitive {self.fun.__name__}>"


def _check(fun, name):
    if not isinstance(fun, primitive):
        raise TypeError(f"{name}: expected a function decorated with @chainrule.primitive, got {fun!r}")


def defvjp(fun: primitive, *vjpmakers: Optional[Callable[..., Callable[[Any], Any]]],
           argnums: Optional[Sequence[int]] = None) -> None:
    """Define the VJPs of a :func:`primitive`, one ``vjpmaker(ans, *args, **kwargs) -> (g -> grad)`` per
    positional argument in ``argnums`` (default 0, 1, ...); ``None`` for an argument with no gradient."""
    _check(fun, "defvjp")
    for i, maker in zip(range(len(vjpmakers)) if argnums is None else argnums, vjpmakers):
        if maker is not None:
            fun.vjps[i] = maker
        else:
            fun.vjps.pop(i, None)


def defjvp(fun: primitive, *jvpfuns: Optional[Callable[..., Any]], argnums: Optional[Sequence[int]] = None) -> None:
    """Define the JVPs of a :func:`primitive`, one ``jvp(g, ans, *args, **kwargs) -> tangent of ans`` per
    positional argument in ``argnums`` (default 0, 1, ...)."""
    _check(fun, "defjvp")
    for i, rule in zip(range(len(jvpfuns)) if argnums is None else argnums, jvpfuns):
        if rule is not None:
            fun.jvps[i] = rule

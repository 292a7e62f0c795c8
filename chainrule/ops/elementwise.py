"""Elementwise primitives: arithmetic, exp/log, and the activation functions.

Notation of the lecture notes: y = f(x) is the forward value, ybar the adjoint
of the output arriving from the layer above (reverse mode), xdot the tangent of
the input (forward mode).  For an elementwise f both products reduce to
multiplying by f'(x):  xbar = ybar * f'(x),  ydot = f'(x) * xdot.
"""
from __future__ import annotations

import numpy as np

from chainrule.function import Function
from chainrule.tensor import _data as _value


def _sum_tangents(*terms):
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


class Add(Function):
    """Addition.  y = a + b;  VJP: abar = ybar, bbar = ybar;  JVP: ydot = adot + bdot."""

    def forward(self, a, b):
        return np.add(a, b)

    def backward(self, g):
        return g, g

    def jvp(self, da, db):
        return _sum_tangents(da, db)


class Sub(Function):
    """Subtraction.  y = a - b;  VJP: abar = ybar, bbar = -ybar;  JVP: ydot = adot - bdot."""

    def forward(self, a, b):
        return np.subtract(a, b)

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)

    def jvp(self, da, db):
        return _sum_tangents(da, None if db is None else -db)


class Mul(Function):
    """Product.  y = a * b;  VJP: abar = ybar * b, bbar = ybar * a;  JVP: ydot = adot b + a bdot."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.multiply(a, b)

    def backward(self, g):
        ga, gb = self.needs_input_grad
        return (g * self.b if ga else None), (g * self.a if gb else None)

    def jvp(self, da, db):
        return _sum_tangents(None if da is None else da * self.b,
                             None if db is None else self.a * db)


class Div(Function):
    """Quotient.  y = a / b;  VJP: abar = ybar / b, bbar = -ybar a / b^2;  JVP: ydot = (adot - y bdot) / b."""

    def forward(self, a, b):
        self.b = b
        self.y = np.true_divide(a, b)
        return self.y

    def backward(self, g):
        ga, gb = self.needs_input_grad
        q = g / self.b
        return (q if ga else None), (-q * self.y if gb else None)

    def jvp(self, da, db):
        return _sum_tangents(None if da is None else da / self.b,
                             None if db is None else -self.y * db / self.b)


class Pow(Function):
    """Power.  y = a ** b;  VJP: abar = ybar b a^(b-1), bbar = ybar y log(a);
    JVP: ydot = b a^(b-1) adot + y log(a) bdot."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = np.power(a, b)
        return self.y

    def _da(self):
        b = self.b
        if np.ndim(b) == 0 and b == 2:
            return 2 * self.a
        return b * self.a ** (b - 1)

    def _db(self):
        pos = np.asarray(_value(self.a)) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            # d/db a^b = a^b log a; where a == 0 the limit (for b > 0) is 0.
            return Where.apply(pos, self.y * Log.apply(Where.apply(pos, self.a, 1)), 0)

    def backward(self, g):
        ga, gb = self.needs_input_grad
        return (g * self._da() if ga else None), (g * self._db() if gb else None)

    def jvp(self, da, db):
        return _sum_tangents(None if da is None else self._da() * da,
                             None if db is None else self._db() * db)


class Neg(Function):
    """Negation.  y = -x;  VJP: xbar = -ybar;  JVP: ydot = -xdot."""

    def forward(self, x):
        return np.negative(x)

    def backward(self, g):
        return (-g,)

    def jvp(self, dx):
        return -dx


class Exp(Function):
    """Exponential.  y = exp(x);  y' = exp(x) = y;  VJP: xbar = ybar y;  JVP: ydot = y xdot."""

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, g):
        return (g * self.y,)

    def jvp(self, dx):
        return self.y * dx


class Log(Function):
    """Natural logarithm.  y = log(x);  y' = 1/x;  VJP: xbar = ybar / x;  JVP: ydot = xdot / x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)

    def jvp(self, dx):
        return dx / self.x


class Sqrt(Function):
    """Square root.  y = sqrt(x);  y' = 1 / (2 sqrt(x));  VJP: xbar = ybar / (2y);  JVP: ydot = xdot / (2y)."""

    def forward(self, x):
        self.y = np.sqrt(x)
        return self.y

    def backward(self, g):
        return (g / (2 * self.y),)

    def jvp(self, dx):
        return dx / (2 * self.y)


class Abs(Function):
    """Absolute value.  y = |x|;  y' = sign(x) (0 at the kink x = 0)."""

    def forward(self, x):
        self.s = np.sign(x)
        return np.abs(x)

    def backward(self, g):
        return (g * self.s,)

    def jvp(self, dx):
        return self.s * dx


class Tanh(Function):
    """Hyperbolic tangent.  y = tanh(x);  y' = 1 - tanh^2(x) = 1 - y^2."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, g):
        return (g * (1 - self.y * self.y),)

    def jvp(self, dx):
        return (1 - self.y * self.y) * dx


def _sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)) for any x, in four in-place passes.

    This form is accurate everywhere: for x -> -inf, exp(-x) overflows to inf
    and 1 / (1 + inf) = 0 is the right limit (the overflow warning is
    silenced); for x -> +inf, exp(-x) -> 0 and the result tends to 1.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    y = np.negative(x)
    if y.ndim == 0:
        y = np.array(y)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)
    return y


class Sigmoid(Function):
    """Logistic function.  y = sigma(x) = 1 / (1 + exp(-x));  sigma'(x) = sigma(x) (1 - sigma(x)).

    VJP: xbar = ybar y (1 - y);  JVP: ydot = y (1 - y) xdot.  Stable for |x| up to inf.
    """

    def forward(self, x):
        self.y = _sigmoid(x)
        return self.y

    def backward(self, g):
        d = 1 - self.y  # sigma' = y (1 - y), formed in one buffer
        d *= self.y
        d *= g
        return (d,)

    def jvp(self, dx):
        y = self.y
        return y * (1 - y) * dx


class Relu(Function):
    """Rectified linear unit.  y = max(0, x);  y' = 1 if x > 0 else 0."""

    def forward(self, x):
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, g):
        return (g * self.mask,)

    def jvp(self, dx):
        return dx * self.mask


class Elu(Function):
    """Exponential linear unit.  y = x for x > 0, alpha (exp(x) - 1) otherwise;
    y' = 1 for x > 0, y + alpha otherwise."""

    def forward(self, x, alpha=1.0):
        self.mask = x > 0
        self.alpha = alpha
        self.y = np.where(self.mask, x, alpha * np.expm1(np.minimum(x, 0)))
        return self.y

    def _dy(self):
        return Where.apply(self.mask, 1, self.y + self.alpha)

    def backward(self, g):
        return (g * self._dy(),)

    def jvp(self, dx):
        return self._dy() * dx


class Softplus(Function):
    """Softplus.  y = log(1 + exp(x));  y' = sigma(x).  Computed as logaddexp(0, x), stable for any x."""

    def forward(self, x):
        self.x = x
        return np.logaddexp(0, x)

    def backward(self, g):
        return (g * Sigmoid.apply(self.x),)

    def jvp(self, dx):
        return _sigmoid(self.x) * dx


class Clip(Function):
    """Clipping to [lo, hi].  y = min(max(x, lo), hi);  y' = 1 inside the interval, 0 outside."""

    def forward(self, x, lo=None, hi=None):
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of a_min and a_max")
        lo_ = -np.inf if lo is None else lo
        hi_ = np.inf if hi is None else hi
        self.mask = (x >= lo_) & (x <= hi_)
        return np.clip(x, lo, hi)

    def backward(self, g):
        return (g * self.mask,)

    def jvp(self, dx):
        return dx * self.mask


class Where(Function):
    """Selection.  y = a where cond else b;  VJP: abar = ybar [cond], bbar = ybar [not cond].

    ``cond`` is a constant boolean array: selection is not differentiable in it.
    """

    name = "where"

    def forward(self, cond, a, b):
        self.cond = np.asarray(cond, dtype=bool)
        return np.where(self.cond, a, b)

    def backward(self, g):
        _, ga, gb = self.needs_input_grad
        zero = np.zeros((), g.dtype)
        return (None, Where.apply(self.cond, g, zero) if ga else None,
                Where.apply(self.cond, zero, g) if gb else None)

    def jvp(self, dc, da, db):
        zero = 0.0
        return np.where(self.cond, zero if da is None else da, zero if db is None else db)


class AsType(Function):
    """Dtype conversion.  y = x (as dtype);  xbar = ybar cast back to x's dtype."""

    name = "astype"

    def forward(self, x, dtype=None):
        self.src = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.src),)

    def jvp(self, dx):
        return dx

"""Elementwise primitives: arithmetic, exp/log, and the activation functions.

Notation of the lecture notes: y = f(x) is the forward value, ybar the adjoint
of the output arriving from the layer above (reverse mode), xdot the tangent of
the input (forward mode).  For an elementwise f both products reduce to
multiplying by f'(x):  xbar = ybar * f'(x),  ydot = f'(x) * xdot.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function
from chainrule.tensor import Tensor, _data as _value

if TYPE_CHECKING:
    from chainrule._typing import Any, ArrayLike, DTypeLike, Grads, Optional, Tangent, TensorOrArray


def _sum_tangents(*terms):
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    return out


class Add(Function):
    """Addition.  y = a + b;  VJP: abar = ybar, bbar = ybar;  JVP: ydot = adot + bdot."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.add(a, b)

    def backward(self, g: TensorOrArray) -> Grads:
        return g, g

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(da, db)


class Sub(Function):
    """Subtraction.  y = a - b;  VJP: abar = ybar, bbar = -ybar;  JVP: ydot = adot - bdot."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.subtract(a, b)

    def backward(self, g: TensorOrArray) -> Grads:
        return g, (-g if self.needs_input_grad[1] else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(da, None if db is None else -db)


class Mul(Function):
    """Product.  y = a * b;  VJP: abar = ybar * b, bbar = ybar * a;  JVP: ydot = adot b + a bdot."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.multiply(a, b)

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        return (g * self.b if ga else None), (g * self.a if gb else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(None if da is None else da * self.b,
                             None if db is None else self.a * db)


class Div(Function):
    """Quotient.  y = a / b;  VJP: abar = ybar / b, bbar = -ybar a / b^2;  JVP: ydot = (adot - y bdot) / b."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.b = b
        self.y = np.true_divide(a, b)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        q = g / self.b
        return (q if ga else None), (-q * self.y if gb else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(None if da is None else da / self.b,
                             None if db is None else -self.y * db / self.b)


class Pow(Function):
    """Power.  y = a ** b;  VJP: abar = ybar b a^(b-1), bbar = ybar y log(a);
    JVP: ydot = b a^(b-1) adot + y log(a) bdot.

    At the edges, as HIPS autograd and PyTorch: where b == 0, dy/da = 0 (also at a = 0, where
    a^(b-1) is infinite: y = a^0 = 1 is constant); where a == 0, dy/db = 0 (log a is replaced by
    log 1); for a < 0, dy/db = y log(a) is NaN (a^b is not differentiable in b there).
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        self.y = np.power(a, b)
        return self.y

    def _da(self):
        b = self.b
        if np.ndim(b) == 0 and not isinstance(b, Tensor):   # a constant exponent
            if b == 2:
                return 2 * self.a
            if b == 0:
                return 0 * self.a
            return b * self.a ** (b - 1)
        # b a^(b-1) is 0 * inf at a = 0, b = 0: take the exponent 1 there (the limit, 0)
        safe = (np.asarray(_value(b)) != 0) | (np.asarray(_value(self.a)) != 0)
        return b * self.a ** (b - 1 if safe.all() else Where.apply(safe, b - 1, 1))

    def _db(self):
        zero = np.asarray(_value(self.a)) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            # d/db a^b = a^b log a; log 0 is replaced by log 1 = 0 (the limit for b > 0)
            return self.y * Log.apply(Where.apply(zero, 1, self.a) if zero.any() else self.a)

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        return (g * self._da() if ga else None), (g * self._db() if gb else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(None if da is None else self._da() * da,
                             None if db is None else self._db() * db)


class Neg(Function):
    """Negation.  y = -x;  VJP: xbar = -ybar;  JVP: ydot = -xdot."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.negative(x)

    def backward(self, g: TensorOrArray) -> Grads:
        return (-g,)

    def jvp(self, dx: Tangent) -> Tangent:
        return -dx


class Exp(Function):
    """Exponential.  y = exp(x);  y' = exp(x) = y;  VJP: xbar = ybar y;  JVP: ydot = y xdot."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.exp(x)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        return (g * self.y,)

    def jvp(self, dx: Tangent) -> Tangent:
        return self.y * dx


class Log(Function):
    """Natural logarithm.  y = log(x);  y' = 1/x;  VJP: xbar = ybar / x;  JVP: ydot = xdot / x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log(x)

    def backward(self, g: TensorOrArray) -> Grads:
        return (g / self.x,)

    def jvp(self, dx: Tangent) -> Tangent:
        return dx / self.x


class Sqrt(Function):
    """Square root.  y = sqrt(x);  y' = 1 / (2 sqrt(x));  VJP: xbar = ybar / (2y);  JVP: ydot = xdot / (2y)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.sqrt(x)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        return (g / (2 * self.y),)

    def jvp(self, dx: Tangent) -> Tangent:
        return dx / (2 * self.y)


class Abs(Function):
    """Absolute value.  y = |x|;  y' = sign(x) (0 at the kink x = 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.s = np.sign(x)
        return np.abs(x)

    def backward(self, g: TensorOrArray) -> Grads:
        return (g * self.s,)

    def jvp(self, dx: Tangent) -> Tangent:
        return self.s * dx


# ------------------------------------------------------------------ activations
class Activation(Function):
    """An elementwise activation  y = f(x),  defined once with everything every path needs.

    A subclass writes, side by side:

    ``f_(x, out, **p)``
        the value y = f(x), computed into ``out`` (which may be ``x`` itself: in place).  The
        primitive's forward runs it, and so do the fused layers (dense stacks, convolutions,
        recurrent cells), so every path computes the same numbers;
    ``df(y, x, **p)``
        the derivative f'(x), written through the output y where the notes do that
        (sigma' = y (1 - y), tanh' = 1 - y^2, ...) and through x only where it must be
        (``uses_input = True``).  It is written with operators and chainrule functions, so
        it acts on ndarrays and Tensors alike: the VJP ``xbar = ybar f'(x)`` it gives is
        itself differentiable (``create_graph``);
    ``df_(y, x, out, **p)`` (optional)
        the same derivative written into ``out`` with in-place NumPy calls, for the hot
        paths; the default evaluates ``df``.  Tests compare the two bit for bit.

    The class registers itself under ``name`` (and ``aliases``) in :data:`ACTIVATIONS`;
    :mod:`chainrule.ops.activations` looks activations up there by name or function.
    """

    #: name -> Activation subclass, filled in as subclasses are defined
    registry = {}
    #: True when f' needs the input x, not only the output y (then the fused layers keep x)
    uses_input = False
    #: default keyword parameters of f (e.g. {"alpha": 0.01})
    params = {}
    #: True when f never decreases (for parameters >= 0): then f commutes with a maximum, and a
    #: convolution can run max pooling before it (chainrule.ops.conv.MONOTONE_ACTIVATIONS)
    non_decreasing = False
    aliases = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            for key in (cls.name, *cls.aliases):
                Activation.registry[key] = cls

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray, **p: float) -> np.ndarray:  # pragma: no cover - abstract
        """Write f(x) into ``out`` (which may be ``x`` itself, for in-place use) and return ``out``."""
        raise NotImplementedError

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray], **p: float) -> TensorOrArray:  # pragma: no cover - abstract
        """The derivative f'(x), from the output ``y = f(x)`` where the activation allows it (``x`` is
        None then), written with operators so that it also works on Tensors (second derivatives)."""
        raise NotImplementedError

    @classmethod
    def df_(cls, y: np.ndarray, x: Optional[np.ndarray], out: np.ndarray, **p: float) -> np.ndarray:
        """The in-place kernel of :meth:`df`: write f'(x) into the array ``out`` and return it."""
        out[...] = cls.df(y, x, **p)
        return out

    @classmethod
    def value(cls, x: ArrayLike, **p: float) -> np.ndarray:
        """f(x) as a new float array (x itself is left alone)."""
        x = np.asarray(x)
        out = np.empty(x.shape, x.dtype if x.dtype.kind == "f" else np.float64)
        return cls.f_(x, out, **p)

    def forward(self, x: np.ndarray, **p: Any) -> np.ndarray:
        self.y = self.value(x, **p)
        self.p = p
        if self.uses_input:
            self.x = x
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        x = self.x if self.uses_input else None
        if type(g) is np.ndarray and g.shape == self.y.shape and g.dtype == self.y.dtype:
            d = type(self).df_(self.y, x, np.empty_like(self.y), **self.p)   # f'(x) in one buffer
            d *= g
            return (d,)
        return (g * self.df(self.y, x, **self.p),)    # on Tensors too (differentiating the VJP)

    def jvp(self, dx: Tangent) -> Tangent:
        return self.df(self.y, self.x if self.uses_input else None, **self.p) * dx


class Identity(Activation):
    """Identity (linear activation).  y = x;  f'(x) = 1.  ``ops.identity`` returns x itself, records nothing."""

    name = "identity"
    non_decreasing = True
    aliases = ("linear",)

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        if out is not x:
            np.copyto(out, x)
        return out

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        return np.ones_like(_value(y))


class Tanh(Activation):
    """Hyperbolic tangent.  y = tanh(x);  tanh'(x) = 1 - tanh^2(x) = 1 - y^2."""

    name = "tanh"
    non_decreasing = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.tanh(x, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        return 1 - y * y

    @staticmethod
    def df_(y: np.ndarray, x: Optional[np.ndarray], out: np.ndarray) -> np.ndarray:
        np.multiply(y, y, out=out)
        return np.subtract(1.0, out, out=out)


class Sigmoid(Activation):
    """Logistic function.  y = sigma(x) = 1 / (1 + exp(-x));  sigma'(x) = sigma(x) (1 - sigma(x)) = y (1 - y).

    VJP: xbar = ybar y (1 - y);  JVP: ydot = y (1 - y) xdot.  Stable for |x| up to inf: for
    x -> -inf, exp(-x) overflows to inf and 1 / (1 + inf) = 0 is the right limit (the overflow
    warning is silenced); for x -> +inf, exp(-x) -> 0 and y -> 1.  Four in-place passes.
    """

    name = "sigmoid"
    non_decreasing = True
    aliases = ("logistic",)

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.negative(x, out=out)
        with np.errstate(over="ignore", under="ignore"):
            np.exp(out, out=out)
        one = _constants(out.dtype)[0]
        np.add(out, one, out)
        # 1 / (1 + e) as a division, not np.reciprocal: the same correctly rounded quotient, bit for
        # bit, but NumPy 2 runs float32/float64 reciprocal on its baseline (SSE) loop and divide on
        # its AVX2 one where the CPU has it (numpy.lib.introspect.opt_func_info): 1.8 against 2.6 us
        # for 256 x 32 float32 values
        return np.divide(one, out, out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        return y * (1 - y)

    @staticmethod
    def df_(y: np.ndarray, x: Optional[np.ndarray], out: np.ndarray) -> np.ndarray:
        np.subtract(1.0, y, out=out)
        out *= y
        return out


def _sigmoid(x):
    """sigma(x) as a new float array (the Sigmoid primitive's value, without a graph)."""
    return Sigmoid.value(x)


def sigmoid_tanh_from_tanh_(w: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """Sigmoid of rows ``[:n]`` and tanh of rows ``[n:]`` of a (..., rows, columns) block, all from
    one tanh pass (a recurrent cell's gates: :class:`Sigmoid` and :class:`Tanh` values together).

    The input holds the sigmoid rows' pre-activations halved: ``w = [x_s / 2; x_t]`` (a cell folds
    the factors of the kernel's ``scales`` attribute, (1/2, 1), into its weights, which is exact in
    binary floating point, so that its matrix product yields ``w`` directly).  With t = tanh(w):
    sigma(x_s) = (1 + t) / 2  on the first n rows, and the tanh rows are t itself, NumPy's own
    ``np.tanh``.  Three in-place NumPy calls: tanh over the whole block, then times 1/2 and plus 1/2
    on the sigmoid rows.  Nothing overflows.  ``out`` may be ``w``.

    The sigmoid values agree with :meth:`Sigmoid.f_` to about a unit of the dtype's epsilon in
    absolute terms, not relative ones: a gate value below about eps / 4 comes out as 0 (in float32 from
    x < -17 or so), where 1 / (1 + exp(-x)) keeps its relative precision.  A gate multiplies
    values of order one, so that difference is below the rounding of what it multiplies.  The
    derivatives are still :meth:`Sigmoid.df_` and :meth:`Tanh.df_` of the values.

    >>> import numpy as np
    >>> x = np.array([[0.3], [-1.2], [0.7]])              # two sigmoid rows, one tanh row
    >>> y = sigmoid_tanh_from_tanh_(x * [[0.5], [0.5], [1]], 2, np.empty_like(x))
    >>> bool(np.allclose(y[:2], 1 / (1 + np.exp(-x[:2]))) and np.allclose(y[2], np.tanh(x[2])))
    True
    """
    half = _constants(out.dtype)[2]
    np.tanh(w, out)
    if n:
        s = out[..., :n, :]
        np.multiply(s, half, s)                  # sigma(x) = (1 + tanh(x / 2)) / 2 on the rows before n
        np.add(s, half, s)
    return out


def sigmoid_tanh_from_exp_(w: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """The same gate values as :func:`sigmoid_tanh_from_tanh_`, all from one exp pass.

    The input holds ``w = [-x_s; -2 x_t]`` (the kernel's ``scales``, (-1, -2)): with
    r = 1 / (1 + exp(w)),  sigma(x_s) = r  on the first n rows (:meth:`Sigmoid.f_`'s own formula,
    its negation folded into the weights) and  tanh(x_t) = 2 sigma(2 x_t) - 1 = 2 r - 1  on the rest.  Five in-place NumPy calls: exp, plus one
    and one divided by the result over the whole block, times 2 and minus 1 on the tanh rows.  ``out`` may be ``w``.

    exp overflows to inf for x_s below about -88 (float32), and 1 / (1 + inf) = 0 is the right
    limit; the caller silences the warning (``np.errstate(over="ignore")``), once around its loop
    rather than once a call.  The tanh rows agree with ``np.tanh`` to a unit of epsilon absolutely,
    not relatively (a value near 0 is the difference of two numbers near 1), as the sigmoid rows
    of the tanh form do.

    >>> import numpy as np
    >>> x = np.array([[0.3], [-1.2], [0.7]])              # two sigmoid rows, one tanh row
    >>> y = sigmoid_tanh_from_exp_(x * [[-1], [-1], [-2]], 2, np.empty_like(x))
    >>> bool(np.allclose(y[:2], 1 / (1 + np.exp(-x[:2]))) and np.allclose(y[2], np.tanh(x[2])))
    True
    """
    one, two, _ = _constants(out.dtype)
    np.exp(w, out)
    np.add(out, one, out)
    np.divide(one, out, out)                     # 1 / (1 + e): a division, as in Sigmoid.f_
    if n < out.shape[-2]:
        t = out[..., n:, :]
        np.multiply(t, two, t)                   # tanh(x) = 2 sigma(2x) - 1 on the rows from n
        np.subtract(t, one, t)
    return out


def _tanh_has_wide_simd() -> bool:
    """Whether NumPy runs float32 tanh on this machine with its AVX-512 loop (NumPy's own dispatch,
    as :func:`numpy.lib.introspect.opt_func_info` reports it)."""
    try:
        from numpy.lib.introspect import opt_func_info
        # no signature= filter: NumPy matches that pattern against each type character alone, so
        # "^ff$" matched nothing and this always answered False
        current = opt_func_info(func_name="^tanh$")["tanh"]["ff"]["current"]
    except (ImportError, KeyError, TypeError):      # an older NumPy or another layout: the exp form
        return False
    return "AVX512" in current or "X86_V4" in current


# The recurrent cells' gate kernel, one of the two forms above: whichever is faster on this machine's
# NumPy.  With its AVX-512 loop NumPy's float32 tanh costs about half its exp per value (0.20 against
# 0.37-0.49 ns, measured on an Intel core), so one tanh pass gives an LSTM step's 256 x 32 gates in
# 3.0 us; without it (AVX2 here, an AMD EPYC core) tanh costs 3.3 ns a value against exp's 1.45,
# and the exp form takes 20 us against 26-28.  On an AVX-512 AMD EPYC core the gates took 5.1-5.3 us
# through one tanh against 7.3-8.0 us through one exp.  Both forms are tested against Sigmoid and Tanh on
# every machine.  Each form carries the factors its input needs, ``scales`` = (sigmoid rows, tanh
# rows): a cell multiplies its weights by them (exact in binary floating point) so that its product
# yields the kernel's input.
sigmoid_tanh_from_tanh_.scales = (0.5, 1.0)          # type: ignore[attr-defined]
sigmoid_tanh_from_exp_.scales = (-1.0, -2.0)         # type: ignore[attr-defined]
sigmoid_tanh_ = sigmoid_tanh_from_tanh_ if _tanh_has_wide_simd() else sigmoid_tanh_from_exp_


_CONSTANTS: dict = {}


def _constants(dtype):
    """1, 2 and 1/2 as 0-d arrays of ``dtype``: a small in-place ufunc call with one of these costs
    half what it costs with a Python number (NumPy converts and promotes the number on every call; a
    per-step kernel makes thousands of such calls)."""
    c = _CONSTANTS.get(dtype)
    if c is None:
        c = (np.ones((), dtype), np.full((), 2, dtype), np.full((), 0.5, dtype))
        for a in c:
            a.flags.writeable = False
        _CONSTANTS[dtype] = c
    return c


class Relu(Activation):
    """Rectified linear unit.  y = max(0, x);  relu'(x) = 1 if x > 0 else 0, i.e. [y > 0]."""

    name = "relu"
    non_decreasing = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        return (_value(y) > 0).astype(_value(y).dtype)

    @staticmethod
    def df_(y: np.ndarray, x: Optional[np.ndarray], out: np.ndarray) -> np.ndarray:
        return np.greater(y, 0, out=out)


class LeakyRelu(Activation):
    """Leaky ReLU.  y = x for x > 0, alpha x otherwise (alpha >= 0, default 0.01);
    f'(x) = 1 or alpha, i.e. 1 where y > 0 (which is where x > 0), alpha elsewhere."""

    name = "leaky_relu"
    non_decreasing = True
    aliases = ("lrelu", "leakyrelu")
    params = {"alpha": 0.01}

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray, alpha: float = 0.01) -> np.ndarray:
        return np.multiply(x, np.where(x > 0, 1.0, alpha).astype(out.dtype, copy=False), out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray], alpha: float = 0.01) -> TensorOrArray:
        return np.where(_value(y) > 0, 1.0, alpha).astype(_value(y).dtype)

    @staticmethod
    def df_(y: np.ndarray, x: Optional[np.ndarray], out: np.ndarray, alpha: float = 0.01) -> np.ndarray:
        out[...] = np.where(y > 0, 1.0, alpha)
        return out


class Elu(Activation):
    """Exponential linear unit.  y = x for x > 0, alpha (exp(x) - 1) otherwise (alpha >= 0);
    f'(x) = 1 for x > 0, alpha exp(x) = y + alpha otherwise (x > 0 exactly where y > 0)."""

    name = "elu"
    non_decreasing = True
    params = {"alpha": 1.0}

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        out[...] = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        return out

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray], alpha: float = 1.0) -> TensorOrArray:
        return Where.apply(_value(y) > 0, 1, y + alpha)


class Softplus(Activation):
    """Softplus.  y = log(1 + exp(x)), computed as logaddexp(0, x), stable for any x;  f'(x) = sigma(x).

    The derivative is taken from the input (sigma(x) = 1 - exp(-y) loses every digit in float32
    for x below about -17), so the fused layers keep x for it.
    """

    name = "softplus"
    non_decreasing = True
    uses_input = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.logaddexp(0, x, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        return Sigmoid.apply(x) if isinstance(x, Tensor) else Sigmoid.value(x)


# SELU's constants (Klambauer et al. 2017, as Keras 3 and PyTorch write them)
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


class Selu(Activation):
    """Scaled exponential linear unit.  y = scale x for x > 0, scale alpha (exp(x) - 1) otherwise, with
    alpha = 1.6733 and scale = 1.0507 (self-normalizing);  f'(x) = scale for x > 0, and
    scale alpha exp(x) = y + scale alpha otherwise (x > 0 exactly where y > 0)."""

    name = "selu"
    non_decreasing = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        out[...] = np.where(x > 0, _SELU_SCALE * x, (_SELU_SCALE * _SELU_ALPHA) * np.expm1(np.minimum(x, 0)))
        return out

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        return Where.apply(_value(y) > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA)


class Softsign(Activation):
    """Softsign.  y = x / (1 + |x|);  f'(x) = 1 / (1 + |x|)^2 = (1 - |y|)^2."""

    name = "softsign"
    non_decreasing = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        d = np.abs(x)
        d += 1
        return np.divide(x, d, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        r = 1 - Abs.apply(y)
        return r * r


class Relu6(Activation):
    """ReLU capped at 6.  y = min(max(0, x), 6);  f'(x) = 1 for 0 < x < 6, 0 elsewhere (and at the
    kinks), i.e. 1 where 0 < y < 6."""

    name = "relu6"
    non_decreasing = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.clip(x, 0, 6, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        v = _value(y)
        return ((v > 0) & (v < 6)).astype(v.dtype)


class HardSigmoid(Activation):
    """Hard sigmoid, Keras 3's and PyTorch's.  y = relu6(x + 3) / 6, i.e. 0 below -3, 1 above 3 and
    x / 6 + 1/2 between;  f'(x) = 1/6 where 0 < y < 1, 0 elsewhere.  (Keras 2 wrote it with slope
    0.2: clip(0.2 x + 0.5, 0, 1).)"""

    name = "hard_sigmoid"
    non_decreasing = True
    aliases = ("hardsigmoid",)

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        np.add(x, 3, out=out)
        np.clip(out, 0, 6, out=out)
        return np.divide(out, 6, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        v = _value(y)
        return np.where((v > 0) & (v < 1), 1 / 6, 0).astype(v.dtype)


class Silu(Activation):
    """Sigmoid-weighted linear unit (swish).  y = x sigma(x);
    f'(x) = sigma(x) (1 + x (1 - sigma(x))) = sigma(x) + y (1 - sigma(x)), which needs x."""

    name = "silu"
    aliases = ("swish",)
    uses_input = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        s = Sigmoid.value(x)
        return np.multiply(x, s, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        s = Sigmoid.apply(x)
        return s + y * (1 - s)


class Gelu(Activation):
    """Gaussian error linear unit, exact.  y = x Phi(x), Phi the standard normal CDF,
    Phi(x) = erfc(-x / sqrt 2) / 2;  f'(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    (The tanh approximation is ``chainrule.nn.functional.gelu(x, approximate='tanh')``.)"""

    name = "gelu"
    uses_input = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        phi = _erfc(x * -_SQRT_HALF).astype(out.dtype, copy=False)
        phi *= 0.5
        return np.multiply(x, phi, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        return 0.5 * Erfc.apply(x * -_SQRT_HALF) + x * (_INV_SQRT_2PI * Exp.apply(x * x * -0.5))


class Mish(Activation):
    """Mish.  y = x tanh(softplus(x));  with t = tanh(softplus(x)),
    f'(x) = t + x (1 - t^2) sigma(x), which needs x."""

    name = "mish"
    uses_input = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        t = np.tanh(np.logaddexp(0, x))
        return np.multiply(x, t, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        t = Tanh.apply(Softplus.apply(x))
        return t + x * (1 - t * t) * Sigmoid.apply(x)


class HardSilu(Activation):
    """Hard SiLU (hard swish).  y = x relu6(x + 3) / 6;  f'(x) = 0 below -3, 1 above 3 and
    (2x + 3) / 6 between: the hard sigmoid of x plus x / 6 on (-3, 3)."""

    name = "hard_silu"
    aliases = ("hard_swish", "hardswish")
    uses_input = True

    @staticmethod
    def f_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        h = HardSigmoid.value(x)
        return np.multiply(x, h, out=out)

    @staticmethod
    def df(y: TensorOrArray, x: Optional[TensorOrArray]) -> TensorOrArray:
        v = _value(x)
        inside = ((v > -3) & (v < 3)).astype(v.dtype) / 6
        return HardSigmoid.apply(x) + x * inside


class Clip(Function):
    """Clipping to [lo, hi].  y = min(max(x, lo), hi);  y' = 1 inside the interval, 0 outside and
    at the bounds (HIPS autograd's convention; PyTorch's clamp gives 1 at the bounds)."""

    def forward(self, x: np.ndarray, lo: Optional[ArrayLike] = None, hi: Optional[ArrayLike] = None) -> np.ndarray:
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of a_min and a_max")
        lo_ = -np.inf if lo is None else lo
        hi_ = np.inf if hi is None else hi
        self.mask = (x > lo_) & (x < hi_)   # 0 at the bounds themselves, as HIPS autograd
        return np.clip(x, lo, hi)

    def backward(self, g: TensorOrArray) -> Grads:
        return (g * self.mask,)

    def jvp(self, dx: Tangent) -> Tangent:
        return dx * self.mask


class Where(Function):
    """Selection.  y = a where cond else b;  VJP: abar = ybar [cond], bbar = ybar [not cond].

    ``cond`` is a constant boolean array: selection is not differentiable in it.
    """

    name = "where"

    def forward(self, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.cond = np.asarray(cond, dtype=bool)
        return np.where(self.cond, a, b)

    def backward(self, g: TensorOrArray) -> Grads:
        _, ga, gb = self.needs_input_grad
        zero = np.zeros((), g.dtype)
        return (None, Where.apply(self.cond, g, zero) if ga else None,
                Where.apply(self.cond, zero, g) if gb else None)

    def jvp(self, dc: Tangent, da: Tangent, db: Tangent) -> Tangent:
        zero = 0.0
        return np.where(self.cond, zero if da is None else da, zero if db is None else db)


class AsType(Function):
    """Dtype conversion.  y = x (as dtype);  xbar = ybar cast back to x's dtype."""

    name = "astype"

    def forward(self, x: np.ndarray, dtype: Optional[DTypeLike] = None) -> np.ndarray:
        self.src = x.dtype
        return x.astype(dtype)

    def backward(self, g: TensorOrArray) -> Grads:
        return (g.astype(self.src),)

    def jvp(self, dx: Tangent) -> Tangent:
        return dx


# ------------------------------------------------------------- NumPy's elementwise functions
# The ufuncs of chainrule.numpy.  Each value comes from NumPy's own kernel (np.log1p, np.hypot, ...:
# composing them from exp and log would lose accuracy where they exist to keep it); each derivative
# is written once, in ``d``, with operators and chainrule primitives, so the same line serves the
# VJP, the JVP and (on Tensors) the differentiated VJP.  Kinks follow HIPS autograd.
class Ufunc(Function):
    """An elementwise NumPy function  y = f(x),  with  VJP: xbar = ybar f'(x),  JVP: ydot = f'(x) xdot.

    A subclass names the NumPy ``ufunc`` and writes f'(x) as ``d(x, y)`` (from the input x, the
    output y, or both, whichever is clearer); the saved x and y are swapped for their graph nodes
    when the VJP is differentiated, so ``d`` needs nothing else.
    """

    ufunc = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        self.y = y = type(self).ufunc(x)
        return y

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:  # pragma: no cover - abstract
        """The derivative dy/dx of the ufunc at ``x``, given its value ``y``, written with chainrule's
        operators so that it can be differentiated again."""
        raise NotImplementedError

    def backward(self, g: TensorOrArray) -> Grads:
        return (g * self.d(self.x, self.y),)

    def jvp(self, dx: Tangent) -> Tangent:
        return self.d(self.x, self.y) * dx


class Sin(Ufunc):
    """Sine.  y = sin(x);  y' = cos(x)."""
    ufunc = np.sin

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return Cos.apply(x)


class Cos(Ufunc):
    """Cosine.  y = cos(x);  y' = -sin(x)."""
    ufunc = np.cos

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return -Sin.apply(x)


class Tan(Ufunc):
    """Tangent.  y = tan(x);  y' = 1 / cos^2(x) = 1 + y^2."""
    ufunc = np.tan

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 + y * y


class Arcsin(Ufunc):
    """Inverse sine.  y = arcsin(x);  y' = 1 / sqrt(1 - x^2)  (infinite at x = +-1)."""
    ufunc = np.arcsin

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / Sqrt.apply(1 - x * x)


class Arccos(Ufunc):
    """Inverse cosine.  y = arccos(x);  y' = -1 / sqrt(1 - x^2)."""
    ufunc = np.arccos

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return -1 / Sqrt.apply(1 - x * x)


class Arctan(Ufunc):
    """Inverse tangent.  y = arctan(x);  y' = 1 / (1 + x^2)."""
    ufunc = np.arctan

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / (1 + x * x)


class Sinh(Ufunc):
    """Hyperbolic sine.  y = sinh(x);  y' = cosh(x)."""
    ufunc = np.sinh

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return Cosh.apply(x)


class Cosh(Ufunc):
    """Hyperbolic cosine.  y = cosh(x);  y' = sinh(x)."""
    ufunc = np.cosh

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return Sinh.apply(x)


class Arcsinh(Ufunc):
    """Inverse hyperbolic sine.  y = arcsinh(x);  y' = 1 / sqrt(x^2 + 1)."""
    ufunc = np.arcsinh

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / Sqrt.apply(x * x + 1)


class Arccosh(Ufunc):
    """Inverse hyperbolic cosine.  y = arccosh(x), x >= 1;  y' = 1 / sqrt(x^2 - 1)."""
    ufunc = np.arccosh

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / Sqrt.apply(x * x - 1)


class Arctanh(Ufunc):
    """Inverse hyperbolic tangent.  y = arctanh(x), |x| < 1;  y' = 1 / (1 - x^2)."""
    ufunc = np.arctanh

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / (1 - x * x)


class Exp2(Ufunc):
    """Power of two.  y = 2^x;  y' = 2^x log 2 = y log 2."""
    ufunc = np.exp2

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return y * _LN2


class Expm1(Ufunc):
    """exp(x) - 1, accurate for small x.  y = e^x - 1;  y' = e^x = y + 1."""
    ufunc = np.expm1

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return y + 1


class Log2(Ufunc):
    """Base-2 logarithm.  y = log2(x);  y' = 1 / (x log 2)."""
    ufunc = np.log2

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / (x * _LN2)


class Log10(Ufunc):
    """Base-10 logarithm.  y = log10(x);  y' = 1 / (x log 10)."""
    ufunc = np.log10

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / (x * _LN10)


class Log1p(Ufunc):
    """log(1 + x), accurate for small x.  y = log(1 + x);  y' = 1 / (1 + x)."""
    ufunc = np.log1p

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / (1 + x)


class Cbrt(Ufunc):
    """Cube root.  y = x^(1/3) (real, also for x < 0);  y' = 1 / (3 y^2)  (infinite at 0)."""
    ufunc = np.cbrt

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return 1 / (3 * y * y)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf(x), elementwise, by SciPy (imported when first needed)."""
    from scipy.special import erf  # scipy comes with scikit-learn; imported on first use
    return erf(x)


def _erfc(x: np.ndarray) -> np.ndarray:
    """erfc(x) = 1 - erf(x), elementwise, by SciPy (imported when first needed)."""
    from scipy.special import erfc
    return erfc(x)


class Erf(Ufunc):
    """Error function.  y = erf(x) = (2/sqrt(pi)) int_0^x exp(-t^2) dt;  y' = (2/sqrt(pi)) exp(-x^2)."""
    ufunc = staticmethod(_erf)

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return _TWO_OVER_SQRT_PI * Exp.apply(-(x * x))


class Erfc(Ufunc):
    """Complementary error function.  y = erfc(x) = 1 - erf(x);  y' = -(2/sqrt(pi)) exp(-x^2)."""
    ufunc = staticmethod(_erfc)

    @staticmethod
    def d(x: TensorOrArray, y: TensorOrArray) -> TensorOrArray:
        return -_TWO_OVER_SQRT_PI * Exp.apply(-(x * x))


_LN2, _LN10, _TWO_OVER_SQRT_PI = float(np.log(2)), float(np.log(10)), float(2 / np.sqrt(np.pi))
_SQRT_HALF, _INV_SQRT_2PI = float(np.sqrt(0.5)), float(1 / np.sqrt(2 * np.pi))


class Maximum(Function):
    """Elementwise maximum.  y = max(a, b);  VJP: abar = ybar [a > b], bbar = ybar [b > a],
    and at a tie a == b each gets half (HIPS autograd's convention): abar = ybar [a == y] / (1 + [a == b])."""

    _ufunc = staticmethod(np.maximum)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = type(self)._ufunc(a, b)
        dtype = y.dtype if y.dtype.kind == "f" else np.float64
        half = (1.0 + np.equal(a, b)).astype(dtype)
        self.wa = np.equal(a, y) / half   # constant weights: the selection has no derivative
        self.wb = np.equal(b, y) / half
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        return (g * self.wa if ga else None), (g * self.wb if gb else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(None if da is None else self.wa * da, None if db is None else self.wb * db)


class Minimum(Maximum):
    """Elementwise minimum.  y = min(a, b);  the adjoint goes to the smaller input, half to each at a tie."""

    _ufunc = staticmethod(np.minimum)


class Logaddexp(Function):
    """log(exp(a) + exp(b)), computed without overflow.  VJP: abar = ybar exp(a - y), bbar = ybar exp(b - y)
    (the softmax weights of the pair)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        self.y = np.logaddexp(a, b)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        return ((g * Exp.apply(self.a - self.y) if ga else None),
                (g * Exp.apply(self.b - self.y) if gb else None))

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(None if da is None else Exp.apply(self.a - self.y) * da,
                             None if db is None else Exp.apply(self.b - self.y) * db)


class Arctan2(Function):
    """Angle of the point (b, a).  y = arctan2(a, b);  dy/da = b / (a^2 + b^2),  dy/db = -a / (a^2 + b^2)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.arctan2(a, b)

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        r2 = self.a * self.a + self.b * self.b
        return (g * self.b / r2 if ga else None), (-g * self.a / r2 if gb else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        r2 = self.a * self.a + self.b * self.b
        return _sum_tangents(None if da is None else self.b * da / r2, None if db is None else -self.a * db / r2)


class Hypot(Function):
    """Length of the hypotenuse, without overflow.  y = sqrt(a^2 + b^2);  dy/da = a / y,  dy/db = b / y."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        self.y = np.hypot(a, b)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        q = g / self.y
        return (q * self.a if ga else None), (q * self.b if gb else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(None if da is None else self.a * da / self.y, None if db is None else self.b * db / self.y)


class Mod(Function):
    """Remainder with the sign of the divisor (Python's %, np.mod).  y = a - b floor(a / b);
    dy/da = 1,  dy/db = -floor(a / b)  (away from the jumps at multiples of b)."""

    name = "mod"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.q = np.floor_divide(a, b)   # floor(a / b): a constant step function
        return np.remainder(a, b)

    def backward(self, g: TensorOrArray) -> Grads:
        ga, gb = self.needs_input_grad
        return (g if ga else None), (-g * self.q if gb else None)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        return _sum_tangents(da, None if db is None else -self.q * db)

"""Optimizers: the update rules of gradient descent, in increasing complexity.

Notation of the lecture notes: theta are the parameters, g = grad C(theta) the
gradient of the cost at the current step, eta the learning rate, t = 1, 2, ...
the step number; operations on vectors are elementwise.  Each class gives its
update rule in its docstring and computes it in ``_update``; binding, clipping
and state live in :class:`chainrule.optim.base.Optimizer`.

Every optimizer is used in one of two ways::

    opt = Adam(model.parameters(), lr=1e-3)       # PyTorch style
    for X, y in batches:
        opt.zero_grad(); loss_fn(model(X), y).backward(); opt.step()

    model.compile(optimizer=Adam(lr=1e-3), ...)   # Keras style: compile calls opt.bind(...)
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from chainrule.optim.base import LearningRate, Optimizer, ParamsLike, _Default, _from_config, _in_range, from_config

if TYPE_CHECKING:
    from chainrule._typing import Any, Mapping, Optional, Union

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Constant", "Momentum",
           "AdagradMomentum", "get", "from_config"]


# =========================================================================
# The lecture notes' family: plain GD, momentum, Adagrad with momentum
# =========================================================================
class Constant(Optimizer):
    """Plain (stochastic) gradient descent with a constant learning rate.

    theta_{t+1} = theta_t - eta * g_t

    With mini-batch gradients this is SGD; combine with a schedule such as
    ``InverseTimeDecay(t0, t1)`` (eta_t = t0 / (t + t1)) for a decaying rate.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.nn import Parameter
    >>> p = Parameter(np.array([1.0, 2.0]))
    >>> opt = Constant([p], lr=0.1)
    >>> p.grad = np.array([0.5, -1.0])
    >>> opt.step()
    >>> p.data.tolist()
    [0.95, 2.1]
    """

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.01), **kwargs: Any) -> None:
        super().__init__(params, lr, {}, **kwargs)

    def _update(self, g, tmp, slots, lr, t, h):
        np.multiply(g, lr, out=tmp)
        return tmp


class Momentum(Optimizer):
    """Gradient descent with momentum, as in the lecture notes (Rumelhart, Hinton & Williams 1986).

    v_t = gamma * v_{t-1} + eta * g_t,    theta_{t+1} = theta_t - v_t,   v_0 = 0

    (gamma = ``momentum``.)  The learning rate sits inside the velocity, so a
    change of eta affects future steps gradually; :class:`SGD` with momentum
    uses PyTorch's form v = gamma v + g, theta -= eta v instead.  The two agree
    for a constant eta.
    """

    _hyper_names = ("momentum",)
    _slot_names = ("change",)

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.01), momentum: float = 0.9,
                 **kwargs: Any) -> None:
        super().__init__(params, lr, {"momentum": momentum}, **kwargs)

    def _validate(self, h):
        h["momentum"] = _in_range(type(self).__name__, "momentum", h["momentum"], 0.0, 1.0, hi_open=True)
        return h

    def _update(self, g, tmp, slots, lr, t, h):
        change = slots[0]
        change *= h["momentum"]
        np.multiply(g, lr, out=tmp)
        change += tmp
        return change


class AdagradMomentum(Optimizer):
    """Adagrad-scaled steps accumulated with momentum (the notes' ``AdagradMomentum`` scheduler).

    G_t = G_{t-1} + g_t^2,
    v_t = gamma * v_{t-1} + eta * g_t / (eps + sqrt(G_t)),    theta_{t+1} = theta_t - v_t,

    with G_0 = v_0 = 0 and gamma = ``momentum``.  Adagrad's per-coordinate
    rate (Duchi, Hazan & Singer 2011, https://jmlr.org/papers/v12/duchi11a.html)
    combined with the momentum of :class:`Momentum`.

    The accumulator G is kept per entry, as in the Adagrad paper and
    :class:`Adagrad`.  (The course's reference code accumulates the diagonal
    of g g^T, i.e. one sum per row of a weight matrix, and resets G every
    epoch; for a column-vector parameter and within an epoch the two coincide.)
    """

    _hyper_names = ("momentum", "eps")
    _slot_names = ("sum", "change")

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.01), momentum: float = 0.9,
                 eps: float = 1e-8, **kwargs: Any) -> None:
        super().__init__(params, lr, {"momentum": momentum, "eps": eps}, **kwargs)

    def _validate(self, h):
        name = type(self).__name__
        h["momentum"] = _in_range(name, "momentum", h["momentum"], 0.0, 1.0, hi_open=True)
        h["eps"] = _in_range(name, "eps", h["eps"], lo=0.0)
        return h

    def _update(self, g, tmp, slots, lr, t, h):
        acc, change = slots
        np.multiply(g, g, out=tmp)
        acc += tmp
        np.sqrt(acc, out=tmp)
        tmp += h["eps"]
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        change *= h["momentum"]
        change += tmp
        return change


# =========================================================================
# The standard optimizers (PyTorch semantics)
# =========================================================================
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay.

    PyTorch's formulation (``torch.optim.SGD``), with gamma = ``momentum``,
    lambda = ``weight_decay``::

        g_t <- g_t + lambda * theta_t                       (if lambda > 0, L2 penalty)
        v_t = gamma * v_{t-1} + g_t,   v_0 = 0              (if gamma > 0)
        d_t = g_t + gamma * v_t  (nesterov)  or  v_t  or  g_t  (gamma = 0)
        theta_{t+1} = theta_t - eta * d_t

    Nesterov momentum: Sutskever et al. 2013,
    http://proceedings.mlr.press/v28/sutskever13.html.

    Examples
    --------
    One step by hand: theta = 1, g = 2, eta = 0.1, gamma = 0.9 gives
    v = 0.9 * 0 + 2 = 2 and theta = 1 - 0.1 * 2 = 0.8; a second step with
    g = 2 gives v = 0.9 * 2 + 2 = 3.8 and theta = 0.8 - 0.38 = 0.42.

    >>> import numpy as np
    >>> from chainrule.nn import Parameter
    >>> p = Parameter(np.array([1.0]))
    >>> opt = SGD([p], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     p.grad = np.array([2.0])
    ...     opt.step()
    >>> round(float(p.data[0]), 12)
    0.42
    """

    _hyper_names = ("momentum", "nesterov", "weight_decay")

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.01), momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(params, lr, {"momentum": momentum, "nesterov": nesterov,
                                      "weight_decay": weight_decay}, **kwargs)

    def _validate(self, h):
        name = type(self).__name__
        h["momentum"] = _in_range(name, "momentum", h["momentum"], 0.0, 1.0, hi_open=True)
        h["weight_decay"] = _in_range(name, "weight_decay", h["weight_decay"], lo=0.0)
        if not isinstance(h["nesterov"], (bool, np.bool_)):
            raise TypeError(f"{name}: nesterov must be True or False, got {h['nesterov']!r}")
        h["nesterov"] = bool(h["nesterov"])
        if h["nesterov"] and h["momentum"] == 0:
            raise ValueError(f"{name}: nesterov=True needs momentum in (0, 1), got momentum=0")
        return h

    @property
    def _slot_names(self):
        uses = [self.defaults, *self.param_groups]
        return ("momentum_buffer",) if any(h.get("momentum", 0) > 0 for h in uses) else ()

    @property
    def _pre_update(self):
        uses = [self.defaults, *self.param_groups]
        return self._decay if any(h.get("weight_decay", 0) > 0 for h in uses) else None

    _pre_update_writes_grad = True

    @staticmethod
    def _decay(p, g, tmp, lr, h):
        if h["weight_decay"]:
            np.multiply(p, h["weight_decay"], out=tmp)   # g += lambda * theta (g is our buffer, not .grad)
            g += tmp

    def _update(self, g, tmp, slots, lr, t, h):
        mu = h["momentum"]
        if not mu:
            np.multiply(g, lr, out=tmp)
            return tmp
        buf = slots[0]
        buf *= mu
        buf += g
        if h["nesterov"]:
            np.multiply(buf, mu, out=tmp)
            tmp += g
            tmp *= lr
        else:
            np.multiply(buf, lr, out=tmp)
        return tmp


class Adagrad(Optimizer):
    """Adagrad: per-coordinate rates from the sum of squared gradients.

    G_t = G_{t-1} + g_t^2,   G_0 = ``initial_accumulator_value``
    theta_{t+1} = theta_t - eta * g_t / (sqrt(G_t) + eps)

    Duchi, Hazan & Singer 2011, https://jmlr.org/papers/v12/duchi11a.html
    (PyTorch's ``torch.optim.Adagrad`` without lr_decay).
    """

    _hyper_names = ("eps", "initial_accumulator_value")
    _slot_names = ("sum",)

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.01), eps: float = 1e-8,
                 initial_accumulator_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(params, lr, {"eps": eps, "initial_accumulator_value": initial_accumulator_value},
                         **kwargs)

    def _validate(self, h):
        name = type(self).__name__
        h["eps"] = _in_range(name, "eps", h["eps"], lo=0.0)
        h["initial_accumulator_value"] = _in_range(name, "initial_accumulator_value",
                                                   h["initial_accumulator_value"], lo=0.0)
        return h

    def _slot_inits(self):
        return [self.defaults["initial_accumulator_value"]]

    def _update(self, g, tmp, slots, lr, t, h):
        acc = slots[0]
        np.multiply(g, g, out=tmp)
        acc += tmp
        np.sqrt(acc, out=tmp)
        tmp += h["eps"]
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        return tmp


class RMSprop(Optimizer):
    """RMSprop: divide by a running root-mean-square of the gradients.

    s_t = rho * s_{t-1} + (1 - rho) * g_t^2,   s_0 = 0
    u_t = g_t / (sqrt(s_t) + eps)
    theta_{t+1} = theta_t - eta * u_t                            (momentum = 0)
    b_t = mu * b_{t-1} + u_t,   theta_{t+1} = theta_t - eta * b_t  (momentum mu > 0)

    Hinton, Neural Networks for Machine Learning, lecture 6e (2012),
    https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf;
    PyTorch's ``torch.optim.RMSprop`` (alpha = rho, centered=False).
    """

    _hyper_names = ("rho", "eps", "momentum")

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.001), rho: float = 0.9,
                 eps: float = 1e-8, momentum: float = 0.0, **kwargs: Any) -> None:
        super().__init__(params, lr, {"rho": rho, "eps": eps, "momentum": momentum}, **kwargs)

    def _validate(self, h):
        name = type(self).__name__
        h["rho"] = _in_range(name, "rho", h["rho"], 0.0, 1.0, hi_open=True)
        h["eps"] = _in_range(name, "eps", h["eps"], lo=0.0)
        h["momentum"] = _in_range(name, "momentum", h["momentum"], 0.0, 1.0, hi_open=True)
        return h

    @property
    def _slot_names(self):
        uses = [self.defaults, *self.param_groups]
        return ("square_avg", "momentum_buffer") if any(h.get("momentum", 0) > 0 for h in uses) \
            else ("square_avg",)

    def _update(self, g, tmp, slots, lr, t, h):
        s = slots[0]
        rho = h["rho"]
        s *= rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - rho
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += h["eps"]
        np.divide(g, tmp, out=tmp)
        if h["momentum"]:
            buf = slots[1]
            buf *= h["momentum"]
            buf += tmp
            np.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        return tmp


class Adam(Optimizer):
    """Adam: momentum on the gradient and on its square, with bias correction.

    Kingma & Ba 2015, https://arxiv.org/abs/1412.6980 (Algorithm 1)::

        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2          m_0 = v_0 = 0
        m_hat = m_t / (1 - beta1^t),   v_hat = v_t / (1 - beta2^t)
        theta_{t+1} = theta_t - eta * m_hat / (sqrt(v_hat) + eps)      (PyTorch's formula)

    Computed as (the paper's "more efficient" ordering, section 2)::

        eta_t = eta * sqrt(1 - beta2^t) / (1 - beta1^t),   eps_hat = eps * sqrt(1 - beta2^t)
        theta_{t+1} = theta_t - eta_t * m_t / (sqrt(v_t) + eps_hat)

    which is the same number: with c1 = 1 - beta1^t, c2 = 1 - beta2^t,

        eta * (m/c1) / (sqrt(v/c2) + eps) = eta * (m/c1) / ((sqrt(v) + eps sqrt(c2)) / sqrt(c2))
                                          = (eta sqrt(c2) / c1) * m / (sqrt(v) + eps sqrt(c2)),

    and needs no pass over the arrays for m_hat and v_hat.  (With eps_hat = eps
    instead, as in the paper's ordering, the results differ slightly from
    PyTorch's.)  ``betas=(beta1, beta2)`` is accepted as in PyTorch.

    For float32 (and narrower) parameters the moments are kept divided by their
    weights, M = m / (1 - beta1) and V = v / (1 - beta2), so that

        M_t = beta1 M_{t-1} + g_t,   V_t = beta2 V_{t-1} + g_t^2,
        theta_{t+1} = theta_t - eta_t' M_t / (sqrt(V_t) + eps_hat'),
        eta_t' = eta_t (1 - beta1) / sqrt(1 - beta2),   eps_hat' = eps_hat / sqrt(1 - beta2):

    ten passes over the arrays per step instead of twelve (NumPy has no fused
    multiply-add).  :meth:`state_dict` still gives m and v themselves, in float64, from
    which the float32 slots come back bit for bit.

    Examples
    --------
    Created without parameters (as for ``model.compile``) and bound later; the
    first step moves each entry by about lr in the direction of -sign(g):

    >>> import numpy as np
    >>> from chainrule.nn import Parameter
    >>> opt = Adam(learning_rate=0.1)
    >>> p = Parameter(np.array([1.0, 1.0]))
    >>> _ = opt.bind([p])
    >>> p.grad = np.array([3.0, -0.02])
    >>> opt.step()
    >>> np.round(p.data, 6).tolist(), opt.iterations
    ([0.9, 1.1], 1)
    """

    _hyper_names = ("beta1", "beta2", "eps")
    _slot_names = ("m", "v")

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.001),
                 beta1: float = _Default(0.9), beta2: float = _Default(0.999), eps: float = 1e-8, *,
                 betas: Optional[tuple[float, float]] = None, **kwargs: Any) -> None:
        super().__init__(params, lr, self._betas(beta1, beta2, betas, eps), **kwargs)

    def _betas(self, beta1, beta2, betas, eps, **extra):
        if betas is not None:
            if not (isinstance(beta1, _Default) and isinstance(beta2, _Default)):
                raise TypeError(f"{type(self).__name__}: got both betas={betas!r} and beta1/beta2; pass one")
            try:
                beta1, beta2 = betas
            except (TypeError, ValueError):
                raise ValueError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), "
                                 f"got {betas!r}") from None
        return {"beta1": beta1, "beta2": beta2, "eps": eps, **extra}

    def _group_aliases(self):
        return {"betas"}

    def _validate(self, h):
        name = type(self).__name__
        if "betas" in h:
            h["beta1"], h["beta2"] = h.pop("betas")
        h["beta1"] = _in_range(name, "beta1", h["beta1"], 0.0, 1.0, hi_open=True)
        h["beta2"] = _in_range(name, "beta2", h["beta2"], 0.0, 1.0, hi_open=True)
        h["eps"] = _in_range(name, "eps", h["eps"], lo=0.0)
        return h

    #: True: eps is added to sqrt(v_hat) (PyTorch, Keras 3), so eps_hat = eps sqrt(1 - beta2^t);
    #: False: eps is added to sqrt(v) (the paper's Algorithm 1 as scikit-learn computes it).
    _eps_on_v_hat = True

    def _slot_scales(self, group, dtype):
        if dtype.itemsize > 4:
            return None  # float64: m and v as they are (their state_dict stays exact in their own dtype)
        return (1.0 / (1.0 - group["beta1"]), 1.0 / (1.0 - group["beta2"]))

    def _update(self, g, tmp, slots, lr, t, h):
        m, v = slots
        b1, b2 = h["beta1"], h["beta2"]
        c2 = math.sqrt(1.0 - b2 ** t)
        lr_t = lr * c2 / (1.0 - b1 ** t)
        eps = h["eps"] * c2 if self._eps_on_v_hat else h["eps"]
        if g.dtype.itemsize <= 4:             # M = m / (1 - b1), V = v / (1 - b2): see the class docstring
            m *= b1                           # M = b1 M + g
            m += g
            np.multiply(g, g, out=tmp)        # V = b2 V + g^2
            v *= b2
            v += tmp
            s2 = math.sqrt(1.0 - b2)
            lr_t *= (1.0 - b1) / s2
            eps /= s2
        else:
            m *= b1                           # m = b1 m + (1 - b1) g
            np.multiply(g, 1.0 - b1, out=tmp)
            m += tmp
            v *= b2                           # v = b2 v + (1 - b2) g^2
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v += tmp
        np.sqrt(v, out=tmp)                   # d = lr_t m / (sqrt(v) + eps_hat)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        return tmp


class AdamW(Adam):
    """Adam with decoupled weight decay.

    theta_t <- theta_t - eta * lambda * theta_t   (lambda = ``weight_decay``), then the Adam step.

    Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101; PyTorch's
    ``torch.optim.AdamW`` (the decay is not scaled by the bias corrections or
    by sqrt(v), unlike an L2 penalty added to the gradient).
    """

    _hyper_names = ("beta1", "beta2", "eps", "weight_decay")

    def __init__(self, params: Optional[ParamsLike] = None, lr: LearningRate = _Default(0.001),
                 beta1: float = _Default(0.9), beta2: float = _Default(0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, *, betas: Optional[tuple[float, float]] = None, **kwargs: Any) -> None:
        Optimizer.__init__(self, params, lr, self._betas(beta1, beta2, betas, eps, weight_decay=weight_decay),
                           **kwargs)

    def _validate(self, h):
        h = super()._validate(h)
        h["weight_decay"] = _in_range(type(self).__name__, "weight_decay", h["weight_decay"], lo=0.0)
        return h

    @staticmethod
    def _pre_update(p, g, tmp, lr, h):
        if h["weight_decay"]:
            p *= 1.0 - lr * h["weight_decay"]


# =========================================================================
# Lookup by name and from config
# =========================================================================
_OPTIMIZERS = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
    "constant": Constant, "momentum": Momentum, "adagrad_momentum": AdagradMomentum,
}
#: The names ``get`` accepts, in a stable order (for command lines and error messages).
NAMES = tuple(_OPTIMIZERS)


def get(identifier: Union[str, Mapping[str, Any], type[Optimizer], Optimizer], **kwargs: Any) -> Optimizer:
    """An optimizer from a name, a config dict, a class or an instance (Keras' ``optimizers.get``).

    Names (case-insensitive, '_' optional): 'sgd', 'adam', 'adamw', 'rmsprop',
    'adagrad', 'constant', 'momentum', 'adagrad_momentum'.  ``kwargs`` are
    passed to the constructor; an instance is returned as it is.

    Examples
    --------
    >>> get("Adam", lr=0.01)
    Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08, unbound)
    """
    if isinstance(identifier, Optimizer):
        if kwargs:
            raise TypeError(f"optim.get: got an optimizer instance and keyword arguments {sorted(kwargs)}; "
                            f"set them when creating the optimizer")
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier(**kwargs)
    if isinstance(identifier, dict):
        opt = from_config(identifier)
        if kwargs:
            raise TypeError("optim.get: keyword arguments cannot be combined with a config dict")
        return opt
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        cls = _OPTIMIZERS.get(key) or {k.replace("_", ""): v for k, v in _OPTIMIZERS.items()}.get(
            key.replace("_", ""))
        if cls is None:
            raise ValueError(f"optim.get: unknown optimizer {identifier!r}; valid names are "
                             f"{', '.join(repr(k) for k in _OPTIMIZERS)}")
        return cls(**kwargs)
    raise TypeError(f"optim.get: expected an optimizer name, config dict, class or instance, got "
                    f"{type(identifier).__name__}")

"""Learning-rate schedules: eta as a function of the step count t.

A schedule is a callable ``schedule(t) -> eta`` where ``t`` is the number of
optimizer steps already taken (0 for the first update).  Pass one as an
optimizer's ``lr`` and the optimizer evaluates it before every step::

    opt = Adam(model.parameters(), lr=ExponentialDecay(1e-3, 0.96, 1000))

Schedules hold no state, so an optimizer's ``state_dict`` (which stores the
step count) is all that is needed to resume one exactly.

:class:`ReduceLROnPlateau` is different: it watches a validation metric once
per epoch and lowers ``optimizer.lr`` when the metric stops improving.
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from chainrule import _checks

if TYPE_CHECKING:
    from chainrule._typing import Any, Literal, Mapping
    from chainrule.optim.base import Optimizer

__all__ = ["LearningRateSchedule", "StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineDecay",
           "ReduceLROnPlateau"]


_number = _checks.number        # the argument checks shared with the layers (chainrule._checks)
_in_range = _checks.in_range


def _positive_int(owner, name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class LearningRateSchedule:
    """Base class: a learning rate as a function of the step count.

    Subclasses implement ``__call__(step) -> float`` and list their constructor
    arguments in ``_config_keys`` so that :meth:`get_config` and
    :meth:`from_config` round-trip them.
    """

    _config_keys: tuple = ()

    def __call__(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """A JSON-able dict: the class name and the constructor arguments."""
        cfg = {"class_name": type(self).__name__}
        cfg.update({k: getattr(self, k) for k in self._config_keys})
        return cfg

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LearningRateSchedule:
        """Rebuild a schedule from :meth:`get_config`'s dict."""
        cfg = dict(config)
        name = cfg.pop("class_name", cls.__name__)
        target = _SCHEDULES.get(name)
        if target is None or (cls is not LearningRateSchedule and target is not cls):
            raise ValueError(f"{cls.__name__}.from_config: unknown schedule {name!r}; "
                             f"expected one of {sorted(_SCHEDULES)}")
        return target(**cfg)

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._config_keys)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = object.__hash__


class StepDecay(LearningRateSchedule):
    """Piecewise-constant decay: eta_t = eta_0 * drop^floor(t / every).

    Parameters
    ----------
    initial_lr : float
        eta_0 >= 0.
    drop : float
        Factor applied every ``every`` steps, in (0, 1].
    every : int
        Steps between drops, >= 1.

    Examples
    --------
    >>> s = StepDecay(0.1, drop=0.5, every=10)
    >>> [s(0), s(9), s(10), s(25)]
    [0.1, 0.1, 0.05, 0.025]
    """

    _config_keys = ("initial_lr", "drop", "every")

    def __init__(self, initial_lr: float, drop: float, every: int) -> None:
        self.initial_lr = _in_range("StepDecay", "initial_lr", initial_lr, lo=0.0)
        self.drop = _in_range("StepDecay", "drop", drop, lo=0.0, hi=1.0, lo_open=True)
        self.every = _positive_int("StepDecay", "every", every)

    def __call__(self, step: int) -> float:
        return self.initial_lr * self.drop ** (int(step) // self.every)


class ExponentialDecay(LearningRateSchedule):
    """Exponential decay: eta_t = eta_0 * r^(t / T)  (r^floor(t / T) with ``staircase=True``).

    As Keras' ``ExponentialDecay``: the rate falls by the factor ``decay_rate``
    every ``decay_steps`` steps, smoothly unless ``staircase``.

    Examples
    --------
    >>> s = ExponentialDecay(1.0, decay_rate=0.5, decay_steps=100)
    >>> [s(0), s(100), s(150)]
    [1.0, 0.5, 0.3535533905932738]
    >>> ExponentialDecay(1.0, 0.5, 100, staircase=True)(150)
    0.5
    """

    _config_keys = ("initial_lr", "decay_rate", "decay_steps", "staircase")

    def __init__(self, initial_lr: float, decay_rate: float, decay_steps: int, staircase: bool = False) -> None:
        self.initial_lr = _in_range("ExponentialDecay", "initial_lr", initial_lr, lo=0.0)
        self.decay_rate = _in_range("ExponentialDecay", "decay_rate", decay_rate, lo=0.0, lo_open=True)
        self.decay_steps = _positive_int("ExponentialDecay", "decay_steps", decay_steps)
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_lr * self.decay_rate ** p


class InverseTimeDecay(LearningRateSchedule):
    """The lecture notes' schedule for stochastic gradient descent: eta_t = t0 / (t + t1).

    It starts at eta_0 = t0 / t1 and decays like 1/t, which satisfies the
    Robbins-Monro conditions (sum eta_t = inf, sum eta_t^2 < inf) under which
    SGD converges.

    Parameters
    ----------
    t0 : float
        Numerator, >= 0.
    t1 : float
        Offset, > 0 (it sets the initial rate t0 / t1).

    Examples
    --------
    >>> s = InverseTimeDecay(t0=5, t1=50)
    >>> [s(0), s(50), s(450)]
    [0.1, 0.05, 0.01]
    """

    _config_keys = ("t0", "t1")

    def __init__(self, t0: float, t1: float) -> None:
        self.t0 = _in_range("InverseTimeDecay", "t0", t0, lo=0.0)
        self.t1 = _in_range("InverseTimeDecay", "t1", t1, lo=0.0, lo_open=True)

    def __call__(self, step: int) -> float:
        return self.t0 / (step + self.t1)


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter, SGDR, https://arxiv.org/abs/1608.03983, without restarts).

    eta_t = eta_0 * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha),
    falling from eta_0 at t = 0 to alpha * eta_0 at t = T and staying there.

    Examples
    --------
    >>> s = CosineDecay(1.0, decay_steps=100, alpha=0.1)
    >>> [round(s(t), 6) for t in (0, 50, 100, 200)]
    [1.0, 0.55, 0.1, 0.1]
    """

    _config_keys = ("initial_lr", "decay_steps", "alpha")

    def __init__(self, initial_lr: float, decay_steps: int, alpha: float = 0.0) -> None:
        self.initial_lr = _in_range("CosineDecay", "initial_lr", initial_lr, lo=0.0)
        self.decay_steps = _positive_int("CosineDecay", "decay_steps", decay_steps)
        self.alpha = _in_range("CosineDecay", "alpha", alpha, lo=0.0, hi=1.0)

    def __call__(self, step: int) -> float:
        frac = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return self.initial_lr * ((1.0 - self.alpha) * cosine + self.alpha)


_SCHEDULES = {c.__name__: c for c in (StepDecay, ExponentialDecay, InverseTimeDecay, CosineDecay)}


class ReduceLROnPlateau:
    """Lower the learning rate when a monitored metric stops improving (PyTorch semantics).

    Call :meth:`step` once per epoch with the metric (e.g. validation loss).
    The metric improves when it beats the best value so far by more than
    ``min_delta`` (``mode='min'``: metric < best - min_delta; ``'max'``:
    metric > best + min_delta; with ``threshold_mode='rel'`` the margin is
    ``min_delta * |best|`` instead, as PyTorch's default).  After more than
    ``patience`` epochs in a row without improvement every parameter group's
    rate becomes max(lr * factor, min_lr), and the count pauses for
    ``cooldown`` epochs.

    Parameters
    ----------
    optimizer : Optimizer
        Its ``lr`` (every group's) is changed in place.  It must have a float
        learning rate, not a schedule.
    factor : float
        Multiplier in (0, 1).
    patience : int
        Epochs without improvement tolerated before a reduction (>= 0).
    min_lr : float
        Lower bound on the rate (>= 0).
    mode : {'min', 'max'}
    min_delta : float
        Smallest change that counts as an improvement (>= 0).
    cooldown : int
        Epochs to wait after a reduction before counting again (>= 0).
    threshold_mode : {'abs', 'rel'}

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.nn import Parameter
    >>> from chainrule.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(2))], lr=1.0)
    >>> plateau = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> [plateau.step(loss) for loss in [3.0, 2.0, 2.0, 2.0, 2.0]]   # True: reduced at that epoch
    [False, False, False, True, False]
    >>> opt.lr
    0.5
    """

    def __init__(self, optimizer: Optimizer, factor: float = 0.1, patience: int = 10, min_lr: float = 0.0,
                 mode: Literal["min", "max"] = "min", min_delta: float = 1e-4, cooldown: int = 0,
                 threshold_mode: Literal["abs", "rel"] = "abs") -> None:
        from chainrule.optim.optimizers import Optimizer  # schedules do not depend on optimizers otherwise
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected a chainrule.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("abs", "rel"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'abs' or 'rel', got {threshold_mode!r}")
        self.optimizer = optimizer
        self.factor = _in_range("ReduceLROnPlateau", "factor", factor, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.patience = _positive_int("ReduceLROnPlateau", "patience", patience, minimum=0)
        self.min_lr = _in_range("ReduceLROnPlateau", "min_lr", min_lr, lo=0.0)
        self.min_delta = _in_range("ReduceLROnPlateau", "min_delta", min_delta, lo=0.0)
        self.cooldown = _positive_int("ReduceLROnPlateau", "cooldown", cooldown, minimum=0)
        self.mode = mode
        self.threshold_mode = threshold_mode
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _is_better(self, value):
        if math.isinf(self.best):  # the first finite value is always an improvement
            return value < self.best if self.mode == "min" else value > self.best
        margin = self.min_delta * abs(self.best) if self.threshold_mode == "rel" else self.min_delta
        if self.mode == "min":
            return value < self.best - margin
        return value > self.best + margin

    def step(self, metric: float) -> bool:
        """Record one epoch's metric; reduce the learning rate if it has plateaued.

        Returns True when the rate was reduced at this call.
        """
        value = float(metric)
        if self._is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            reduced = self._reduce()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
            return reduced
        return False

    def _reduce(self):
        reduced = False
        opt = self.optimizer
        groups = opt.param_groups or [None]
        for i, group in enumerate(groups):
            old = opt.lr if group is None else opt.group_lr(i)
            new = max(old * self.factor, self.min_lr)
            if old - new > 1e-12 * max(old, 1e-300):
                if group is None:
                    opt.lr = new
                else:
                    opt.set_group_lr(i, new)
                reduced = True
        return reduced

    def state_dict(self) -> dict[str, Any]:
        """Return the scheduler's progress (best value, bad-epoch count, cooldown) as a dict."""
        return {"best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the progress saved by :meth:`state_dict`."""
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])

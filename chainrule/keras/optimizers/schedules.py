"""``keras.optimizers.schedules``: Keras' learning-rate schedules as chainrule's (:mod:`chainrule.optim.schedules`).

Each returns a chainrule schedule object, which an optimizer evaluates at its step count:
``ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)`` is
eta_0 r^(t / T); ``InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate)`` is
eta_0 / (1 + r t / T) = t0 / (t + t1) with t0 = eta_0 T / r, t1 = T / r (the notes' schedule);
``CosineDecay(initial_learning_rate, decay_steps, alpha=0.0)``.
"""
from __future__ import annotations

from chainrule._unsupported import missing, unsupported
from chainrule.optim import schedules as _s
from chainrule.optim.schedules import LearningRateSchedule

__all__ = ["ExponentialDecay", "InverseTimeDecay", "CosineDecay", "LearningRateSchedule"]


def ExponentialDecay(initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                     name: str | None = None) -> _s.ExponentialDecay:  # noqa: N802
    """eta_t = eta_0 decay_rate^(t / decay_steps) (floored with ``staircase``)."""
    return _s.ExponentialDecay(initial_learning_rate, decay_rate, decay_steps, staircase=staircase)


def InverseTimeDecay(initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                     name: str | None = None) -> _s.InverseTimeDecay:  # noqa: N802
    """eta_t = eta_0 / (1 + decay_rate t / decay_steps)."""
    if staircase:
        raise unsupported("keras.optimizers.schedules.InverseTimeDecay(staircase=True)")
    t1 = decay_steps / decay_rate
    return _s.InverseTimeDecay(t0=initial_learning_rate * t1, t1=t1)


def CosineDecay(initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,  # noqa: N802
                name: str | None = None, warmup_target: float | None = None, warmup_steps: int = 0) -> _s.CosineDecay:
    """eta_t = eta_0 ((1 - alpha) (1 + cos(pi min(t, T) / T)) / 2 + alpha)."""
    if warmup_target is not None or warmup_steps:
        raise unsupported("keras.optimizers.schedules.CosineDecay(warmup_steps=...)")
    return _s.CosineDecay(initial_learning_rate, decay_steps, alpha=alpha)


__getattr__ = missing(__name__, "keras.optimizers.schedules", {
    n: "chainrule has ExponentialDecay, InverseTimeDecay and CosineDecay" for n in
    ("PiecewiseConstantDecay", "PolynomialDecay", "CosineDecayRestarts")})

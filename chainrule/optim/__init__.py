"""Optimizers, learning-rate schedules and gradient clipping.

Optimizers, in increasing complexity (each docstring gives its update rule):

* the lecture notes' family: :class:`Constant` (plain gradient descent),
  :class:`Momentum`, :class:`AdagradMomentum`;
* the standard ones with PyTorch's semantics: :class:`SGD` (momentum,
  Nesterov, weight decay), :class:`Adagrad`, :class:`RMSprop`, :class:`Adam`,
  :class:`AdamW`.

Schedules (:mod:`chainrule.optim.schedules`) make the learning rate a function
of the step: :class:`StepDecay`, :class:`ExponentialDecay`,
:class:`InverseTimeDecay` (the notes' t0 / (t + t1)), :class:`CosineDecay`;
:class:`ReduceLROnPlateau` lowers it when a metric stalls.
"""
from chainrule.optim.base import Optimizer
from chainrule.optim.optimizers import (NAMES, SGD, Adagrad, RMSprop, Adam, AdamW, Constant, Momentum,
                                        AdagradMomentum, get, from_config)
from chainrule.optim.schedules import (LearningRateSchedule, StepDecay, ExponentialDecay, InverseTimeDecay,
                                       CosineDecay, ReduceLROnPlateau)
from chainrule.optim.clipping import clip_grad_norm_, clip_grad_value_

__all__ = [
    "NAMES",
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Constant", "Momentum", "AdagradMomentum",
    "get", "from_config",
    "LearningRateSchedule", "StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineDecay",
    "ReduceLROnPlateau",
    "clip_grad_norm_", "clip_grad_value_",
]

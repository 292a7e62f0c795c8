"""``keras.optimizers`` on chainrule: Keras' optimizers with Keras' arguments and update rules.

They are :mod:`chainrule.optim.keras_rules` (the optimizers of :mod:`chainrule.optim`,
subclassed where Keras' signature or formula differs from PyTorch's), exported under Keras'
names; ``model.compile(optimizer='adam')`` builds the same classes from a name.
"""
from __future__ import annotations

from chainrule._unsupported import missing
from chainrule.keras.optimizers import schedules  # noqa: F401
from chainrule.optim.base import Optimizer
from chainrule.optim.keras_rules import (MISSING, KerasAdagrad, KerasAdam, KerasAdamW, KerasRMSprop, KerasSGD,
                                         get)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "get", "schedules"]

SGD, Adam, AdamW, RMSprop, Adagrad = KerasSGD, KerasAdam, KerasAdamW, KerasRMSprop, KerasAdagrad

__getattr__ = missing(__name__, "keras.optimizers", {
    n: "chainrule has SGD, Adam, AdamW, RMSprop and Adagrad" for n in MISSING})

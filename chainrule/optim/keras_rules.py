"""Keras' update rules and defaults for the standard optimizers, beside PyTorch's in :mod:`chainrule.optim`.

Keras and PyTorch share the names SGD, Adam, AdamW, RMSprop and Adagrad but not every formula or
default, so each class here subclasses the PyTorch-style optimizer of that name and changes only
what Keras does differently (the buffers, the flat in-place update, clipping and schedules are
the same code):

* arguments: ``learning_rate`` (tf.keras 2's ``lr=`` is accepted too, as the notes use it),
  ``beta_1``/``beta_2``/``epsilon``, with Keras' defaults (epsilon = 1e-7);
* Adam and AdamW add epsilon to sqrt(v), not to sqrt(v_hat); RMSprop and Adagrad take the square
  root of v + epsilon; Adagrad starts its accumulator at 0.1 and its learning rate at 0.001.

* SGD with momentum keeps Keras' velocity m = mu m - eta g (theta += m), which holds the
  learning rate, where PyTorch keeps v = mu v + g (theta -= eta v): the same numbers while eta is
  constant, not once a schedule or a callback changes it.

These are the optimizers that ``model.compile(optimizer='adam')`` builds from a name, because
``compile`` is Keras' interface; :mod:`chainrule.keras.optimizers` exports them as ``Adam`` etc.
The classes are named ``KerasAdam`` etc. so that saved models tell them apart from PyTorch's
rules.  Keras options chainrule lacks (``amsgrad``, ``centered``, ``use_ema``, ...) raise a
NotImplementedError.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._unsupported import unsupported
from chainrule.optim import optimizers as _optim
from chainrule.optim.base import Optimizer
from chainrule.optim.schedules import LearningRateSchedule

__all__ = ["KerasSGD", "KerasAdam", "KerasAdamW", "KerasRMSprop", "KerasAdagrad", "KERAS_NAMES", "MISSING", "get"]


def _keras_args(cls, learning_rate, lr, kwargs, unsupported_defaults):
    """The learning rate (Keras' ``learning_rate`` or tf.keras 2's ``lr``) and the clipping arguments; a
    NotImplementedError for Keras options chainrule lacks, a TypeError for unknown ones."""
    if lr is not None:
        learning_rate = lr
    clips = {k: kwargs.pop(k) for k in ("clipnorm", "clipvalue", "global_clipnorm") if k in kwargs}
    kwargs.pop("name", None)
    for key, default in unsupported_defaults.items():
        if key in kwargs:
            value = kwargs.pop(key)
            if not (value == default or (not value and not default)):
                raise unsupported(f"keras.optimizers.{cls}({key}={value!r})")
    if kwargs:
        raise TypeError(f"{cls}: unexpected keyword arguments {sorted(kwargs)}")
    return learning_rate, clips


_COMMON = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
           "loss_scale_factor": None, "gradient_accumulation_steps": None}


class KerasSGD(_optim.SGD):
    """Keras' ``SGD(learning_rate=0.01, momentum=0.0, nesterov=False)``.

    m_t = mu m_(t-1) - eta_t g_t,  theta += m_t  (Nesterov: theta += mu m_t - eta_t g_t), with the
    learning rate inside the velocity m (its state, ``'momentum'``), as Keras computes it.
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, *, lr: float | None = None, **kwargs: Any) -> None:
        learning_rate, clips = _keras_args("SGD", learning_rate, lr, kwargs, _COMMON)
        super().__init__(None, learning_rate, momentum=momentum, nesterov=nesterov, **clips)

    @property
    def _slot_names(self):
        return ("momentum",) if super()._slot_names else ()

    def _update(self, g, tmp, slots, lr, t, h):
        mu = h["momentum"]
        if not mu:
            return super()._update(g, tmp, slots, lr, t, h)
        m = slots[0]
        np.multiply(g, lr, out=tmp)                # eta g
        m *= mu
        m -= tmp                                   # m = mu m - eta g
        if h["nesterov"]:                          # theta += mu m - eta g:  d = eta g - mu m
            tmp -= m * mu
        else:                                      # theta += m:  d = -m
            np.negative(m, out=tmp)
        return tmp


class KerasAdam(_optim.Adam):
    """Keras' ``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``.

    m = beta_1 m + (1 - beta_1) g,  v = beta_2 v + (1 - beta_2) g^2,
    alpha_t = eta sqrt(1 - beta_2^t) / (1 - beta_1^t),  theta -= alpha_t m / (sqrt(v) + epsilon).
    """

    _eps_on_v_hat = False

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, *, lr: float | None = None, beta1: float | None = None,
                 beta2: float | None = None, eps: float | None = None, **kwargs: Any) -> None:
        learning_rate, clips = _keras_args("Adam", learning_rate, lr, kwargs, {**_COMMON})
        if amsgrad:
            raise unsupported("keras.optimizers.Adam(amsgrad=True)")
        super().__init__(None, learning_rate, beta_1 if beta1 is None else beta1, beta_2 if beta2 is None else beta2,
                         epsilon if eps is None else eps, **clips)


class KerasAdamW(_optim.AdamW):
    """Keras' ``AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``:
    theta -= eta lambda theta, then Keras' Adam step (epsilon added to sqrt(v))."""

    _eps_on_v_hat = False

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, *,
                 lr: float | None = None, beta1: float | None = None, beta2: float | None = None,
                 eps: float | None = None, **kwargs: Any) -> None:
        learning_rate, clips = _keras_args("AdamW", learning_rate, lr, kwargs,
                                           {k: v for k, v in _COMMON.items() if k != "weight_decay"})
        if amsgrad:
            raise unsupported("keras.optimizers.AdamW(amsgrad=True)")
        super().__init__(None, learning_rate, beta_1 if beta1 is None else beta1, beta_2 if beta2 is None else beta2,
                         epsilon if eps is None else eps, weight_decay=weight_decay, **clips)


class KerasRMSprop(_optim.RMSprop):
    """Keras' ``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7)``.

    s = rho s + (1 - rho) g^2,  u = eta g / sqrt(s + epsilon),  theta -= u
    (momentum mu > 0: b = mu b + u, theta -= b).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, *, lr: float | None = None, eps: float | None = None,
                 **kwargs: Any) -> None:
        learning_rate, clips = _keras_args("RMSprop", learning_rate, lr, kwargs, _COMMON)
        if centered:
            raise unsupported("keras.optimizers.RMSprop(centered=True)")
        super().__init__(None, learning_rate, rho=rho, eps=epsilon if eps is None else eps, momentum=momentum,
                         **clips)

    def _update(self, g, tmp, slots, lr, t, h):
        s = slots[0]
        rho = h["rho"]
        s *= rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - rho
        s += tmp
        np.add(s, h["eps"], out=tmp)      # u = eta g / sqrt(s + eps)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        if h["momentum"]:
            buf = slots[1]
            buf *= h["momentum"]
            buf += tmp
            return buf
        return tmp


class KerasAdagrad(_optim.Adagrad):
    """Keras' ``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)``.

    G = G + g^2 (G_0 = 0.1),  theta -= eta g / sqrt(G + epsilon).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, *, lr: float | None = None, eps: float | None = None, **kwargs: Any) -> None:
        learning_rate, clips = _keras_args("Adagrad", learning_rate, lr, kwargs, _COMMON)
        super().__init__(None, learning_rate, eps=epsilon if eps is None else eps,
                         initial_accumulator_value=initial_accumulator_value, **clips)

    def _update(self, g, tmp, slots, lr, t, h):
        acc = slots[0]
        np.multiply(g, g, out=tmp)
        acc += tmp
        np.add(acc, h["eps"], out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        return tmp


#: Keras' optimizer names and the classes that follow Keras' rules for them
KERAS_NAMES = {"sgd": KerasSGD, "adam": KerasAdam, "adamw": KerasAdamW, "rmsprop": KerasRMSprop,
               "adagrad": KerasAdagrad}

#: Keras optimizers chainrule does not have
MISSING = ("Adadelta", "Adamax", "Nadam", "Ftrl", "Lion", "Lamb", "Adafactor", "LossScaleOptimizer", "Muon")


def get(identifier: str | Optimizer | type[Optimizer] | dict[str, Any]) -> Optimizer:
    """An optimizer as Keras' ``optimizers.get`` and ``compile(optimizer=...)`` make it.

    A Keras name ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'; any case) gives that optimizer with
    Keras' defaults and update rule; the lecture notes' own names ('constant', 'momentum',
    'adagrad_momentum') give chainrule's; a Keras name chainrule lacks ('nadam', ...) raises a
    NotImplementedError; an instance, a class or a config dict is handled by
    :func:`chainrule.optim.get`.

    Examples
    --------
    >>> get("adam")
    KerasAdam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07, unbound)
    """
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        cls = KERAS_NAMES.get(key)
        if cls is not None:
            return cls()
        if key in {m.lower() for m in MISSING}:
            raise unsupported(f"the Keras optimizer {identifier!r}", f"chainrule has {sorted(KERAS_NAMES)}")
    return _optim.get(identifier)

"""The activation table: every activation function by name, one definition each.

An elementwise activation is one :class:`~chainrule.ops.elementwise.Activation` subclass
(chainrule/ops/elementwise.py), which holds its value, its derivative written from its
output, and the in-place kernels the fused layers run.  This module only indexes them:
layers (``Dense(activation='relu')``), the fused dense stack, the convolution and recurrent
primitives, the scikit-learn estimators, the notes' ``derivate()`` and the activation plots
all look activations up here, so adding one means writing its class, its one-line function in
:mod:`chainrule.ops` and its entry below, and nothing else.

``softmax`` is an activation too (for output layers) but not an elementwise one: it maps a
row to a row, and lives with the other reductions (:class:`~chainrule.ops.reduce.Softmax`).

>>> import numpy as np
>>> get("relu") is relu
True
>>> spec("sigmoid").df(np.array([0.5]), None)      # sigma' written from y = sigma(x) = 0.5
array([0.25])
>>> name_of(get("linear"))
'identity'
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from chainrule.ops import (elu, exp, gelu, hard_sigmoid, hard_silu, identity, leaky_relu, mish, relu, relu6, selu,
                           sigmoid, silu, softmax, softplus, softsign, tanh)
from chainrule.ops.elementwise import Activation

if TYPE_CHECKING:
    from chainrule._typing import ActivationLike, Callable, Optional, TensorOrArray

__all__ = ["NAMES", "FUSABLE", "get", "spec", "name_of", "fusable", "same_as", "Activation"]

#: public function of each activation, by its canonical name
_FUNCTIONS = {"identity": identity, "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "leaky_relu": leaky_relu,
              "elu": elu, "softplus": softplus, "softmax": softmax,
              # Keras' other names (its leaky_relu slope aside: chainrule's 'leaky_relu' is the notes' 0.01)
              "selu": selu, "softsign": softsign, "relu6": relu6, "hard_sigmoid": hard_sigmoid, "silu": silu,
              "gelu": gelu, "mish": mish, "hard_silu": hard_silu, "exponential": exp}
#: other spellings users type (Keras' 'linear', scikit-learn's 'logistic', ...)
_ALIASES = {alias: cls.name for alias, cls in Activation.registry.items() if alias != cls.name}
_BY_FUNCTION = {fn: name for name, fn in _FUNCTIONS.items()}
#: the canonical names, in a stable order (for error messages, command lines and plots)
NAMES = tuple(_FUNCTIONS)
#: the names a fused layer can apply in place (their derivative follows from the output)
FUSABLE = tuple(n for n in NAMES if n in Activation.registry and not Activation.registry[n].uses_input)


def _key(name):
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def get(activation: ActivationLike) -> Callable[..., TensorOrArray]:
    """The activation function for a name, a callable (returned as it is) or None (the identity).

    >>> get(None) is identity, get("Leaky-ReLU") is leaky_relu, get("logistic") is sigmoid
    (True, True, True)
    """
    if activation is None:
        return identity
    if callable(activation):
        return activation
    if isinstance(activation, str):
        fn = _FUNCTIONS.get(_key(activation))
        if fn is not None:
            return fn
    raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(NAMES)} (or "
                     f"{', '.join(sorted(_ALIASES))}), a callable, or None for the identity")


def name_of(fn: Callable[..., TensorOrArray]) -> Optional[str]:
    """The canonical name of an activation function (for saving), or None for a custom callable.

    A ``functools.partial`` of a table function (``partial(leaky_relu, alpha=0.2)``) has no name:
    its parameters would be lost.
    """
    if isinstance(fn, functools.partial):
        return None
    try:
        return _BY_FUNCTION.get(fn)
    except TypeError:  # an unhashable callable
        return None


def same_as(fn: Callable[..., TensorOrArray], name: str) -> None:
    """Record that a front door's ``fn`` is the table's ``name`` when called with one argument (Keras'
    ``relu(x, negative_slope=0, max_value=None, threshold=0)`` is ``relu``), so a layer given ``fn``
    fuses and saves it as ``name``."""
    canonical = _key(name)
    if canonical not in _FUNCTIONS:
        raise ValueError(f"same_as: unknown activation {name!r}")
    _BY_FUNCTION[fn] = canonical


def spec(activation: ActivationLike) -> Optional[type[Activation]]:
    """The :class:`Activation` subclass behind a name or table function, or None (softmax, custom).

    >>> spec("tanh").__name__, spec(relu).__name__, spec("softmax")
    ('Tanh', 'Relu', None)
    """
    if isinstance(activation, str):
        return Activation.registry.get(_key(activation))
    name = name_of(activation)
    return None if name is None else Activation.registry.get(name)


def fusable(activation: ActivationLike) -> Optional[type[Activation]]:
    """The Activation subclass if a fused layer can apply ``activation`` in place and take its
    derivative from the output alone (so it keeps no copy of its input), else None."""
    cls = spec(activation)
    return cls if cls is not None and not cls.uses_input else None

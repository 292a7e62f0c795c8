"""``keras.activations`` on chainrule: the activation functions of :mod:`chainrule.ops`, by Keras' names.

Each is chainrule's own primitive (:mod:`chainrule.ops.activations`, so a layer given one runs the
same code as a layer given its name), except two: ``leaky_relu`` takes Keras' default
``negative_slope=0.2`` (the ``'leaky_relu'`` name chainrule's layers accept is the notes' 0.01),
and ``gelu(x, approximate=True)`` is the tanh formula composed of primitives.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import ops
from chainrule._unsupported import missing
from chainrule.nn import activations as _table
from chainrule.nn import functional as _F
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import TensorLike

__all__ = ["relu", "sigmoid", "tanh", "elu", "softplus", "softmax", "linear", "leaky_relu", "selu", "gelu", "silu",
           "swish", "softsign", "exponential", "relu6", "hard_sigmoid", "mish", "hard_silu", "hard_swish", "log_softmax",
           "get", "serialize", "deserialize"]

relu, sigmoid, tanh, elu, softplus, softmax = ops.relu, ops.sigmoid, ops.tanh, ops.elu, ops.softplus, ops.softmax
linear = ops.identity
log_softmax = ops.log_softmax
selu, silu, softsign, relu6, hard_sigmoid = ops.selu, ops.silu, ops.softsign, ops.relu6, ops.hard_sigmoid
mish, hard_silu = ops.mish, ops.hard_silu
swish, hard_swish = silu, hard_silu
exponential = ops.exp


def leaky_relu(x: TensorLike, negative_slope: float = 0.2) -> Tensor | np.ndarray:
    """Keras' ``leaky_relu``: x for x > 0, negative_slope x otherwise (default slope 0.2)."""
    return ops.leaky_relu(x, negative_slope)


def gelu(x: TensorLike, approximate: bool = False) -> Tensor | np.ndarray:
    """x Phi(x) (the tanh approximation with ``approximate=True``, as Keras' flag)."""
    return _F.gelu(x, approximate="tanh" if approximate else "none")


_BY_NAME = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "elu": elu, "softplus": softplus, "softmax": softmax,
            "linear": linear, "leaky_relu": leaky_relu, "selu": selu, "gelu": gelu, "silu": silu, "swish": swish,
            "softsign": softsign, "exponential": exponential, "relu6": relu6, "hard_sigmoid": hard_sigmoid,
            "mish": mish, "hard_silu": hard_silu, "hard_swish": hard_swish, "log_softmax": log_softmax}


def get(identifier: str | Callable[..., Any] | None) -> Callable[..., Any]:
    """The function for a Keras activation name (None is ``linear``), or a callable as it is."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    return _table.get(identifier)


def serialize(activation: Callable[..., Any]) -> str:
    """The Keras name of an activation function."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    name = _table.name_of(activation)
    if name is None:
        raise ValueError(f"activations.serialize: {activation!r} has no name")
    return "linear" if name == "identity" else name


def deserialize(name: str) -> Callable[..., Any]:
    """The activation function of a Keras name (what :func:`serialize` gave), as :func:`get`."""
    return get(name)


__getattr__ = missing(__name__, "keras.activations", {"celu": "chainrule.nn.functional.celu"})

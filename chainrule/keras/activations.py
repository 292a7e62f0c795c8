"""``keras.activations`` on chainrule: the activation functions of :mod:`chainrule.ops`, by Keras' names.

Each is chainrule's own primitive (:mod:`chainrule.ops.activations`, so a layer given one runs the
same code as a layer given its name), with Keras' extra arguments where it has them:
``relu(x, negative_slope, max_value, threshold)`` is the relu primitive with its defaults (relu6 with
``max_value=6``, leaky_relu with a slope alone) and Keras 3's composition of primitives otherwise;
``leaky_relu`` takes Keras' default ``negative_slope=0.2`` (the ``'leaky_relu'`` name chainrule's
layers accept is the notes' 0.01), and ``gelu(x, approximate=True)`` is the tanh formula composed of
primitives.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import ops
from chainrule._unsupported import missing
from chainrule.nn import activations as _table
from chainrule.nn import functional as _F
from chainrule.ops.activations import same_as as _same_as
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import TensorLike

__all__ = ["relu", "sigmoid", "tanh", "elu", "softplus", "softmax", "linear", "leaky_relu", "selu", "gelu", "silu",
           "swish", "softsign", "exponential", "relu6", "hard_sigmoid", "mish", "hard_silu", "hard_swish", "log_softmax",
           "get", "serialize", "deserialize"]

sigmoid, tanh, elu, softplus, softmax = ops.sigmoid, ops.tanh, ops.elu, ops.softplus, ops.softmax
linear = ops.identity
log_softmax = ops.log_softmax
selu, silu, softsign, relu6, hard_sigmoid = ops.selu, ops.silu, ops.softsign, ops.relu6, ops.hard_sigmoid
mish, hard_silu = ops.mish, ops.hard_silu
swish, hard_swish = silu, hard_silu
exponential = ops.exp


def relu(x: TensorLike, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Tensor | np.ndarray:
    """Keras' ``relu``: max(x, 0), capped at ``max_value`` when given; with ``threshold`` the values up to
    it become 0, and with ``negative_slope`` the part below it becomes negative_slope (x - threshold).

    The defaults run the relu primitive (so a layer given this function fuses it and saves it as
    'relu'), ``max_value=6`` alone relu6 and a slope alone leaky_relu; the other combinations are
    Keras 3's own composition of primitives, step for step.
    """
    if not threshold and max_value is None:
        return ops.leaky_relu(x, negative_slope) if negative_slope else ops.relu(x)
    x = ops._arr(x)
    xv = np.asarray(ops._value(x))
    if negative_slope:
        below = ops.relu(ops.sub(threshold, x) if threshold else ops.neg(x))
    clip = max_value is not None
    if threshold:
        y = ops.where(xv > threshold, x, 0.0)
    elif max_value == 6:
        y, clip = ops.relu6(x), False
    else:
        y = ops.relu(x)
    if clip:
        y = ops.clip(y, 0.0, float(max_value))
    return ops.sub(y, ops.mul(below, negative_slope)) if negative_slope else y


_same_as(relu, "relu")   # with its defaults it is the table's relu


def leaky_relu(x: TensorLike, negative_slope: float = 0.2) -> Tensor | np.ndarray:
    """Keras' ``leaky_relu``: x for x > 0, negative_slope x otherwise (default slope 0.2)."""
    return ops.leaky_relu(x, negative_slope)


def gelu(x: TensorLike, approximate: bool = False) -> Tensor | np.ndarray:
    """x Phi(x) (the tanh approximation with ``approximate=True``, as Keras' flag)."""
    return _F.gelu(x, approximate="tanh" if approximate else "none")


#: Keras names -> functions ('relu' is the primitive itself, as the table gives it; keras.activations.relu
#: adds Keras' optional arguments to it)
_BY_NAME = {"relu": ops.relu, "sigmoid": sigmoid, "tanh": tanh, "elu": elu, "softplus": softplus, "softmax": softmax,
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

"""Activation functions by name, as the layers and compile() accept them.

Each is a chainrule primitive (or a composition), so its derivative comes from
the engine: see chainrule/ops/elementwise.py for f'(x) of each.
"""
from __future__ import annotations

import functools

from chainrule import ops

_ACTIVATIONS = {
    "identity": ops.identity,
    "linear": ops.identity,
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "relu": ops.relu,
    "leaky_relu": ops.leaky_relu,
    "elu": ops.elu,
    "softmax": ops.softmax,
    "softplus": ops.softplus,
}
NAMES = tuple(_ACTIVATIONS)


def get(activation):
    """Resolve an activation given by name, callable or None (identity).

    >>> get('relu') is ops.relu
    True
    """
    if activation is None:
        return ops.identity
    if callable(activation):
        return activation
    if isinstance(activation, str):
        key = activation.lower().replace("-", "_")
        key = {"lrelu": "leaky_relu", "leakyrelu": "leaky_relu"}.get(key, key)
        if key in _ACTIVATIONS:
            return _ACTIVATIONS[key]
    raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(NAMES)} or a callable")


def name_of(fn):
    """The registry name of an activation function (for saving), or None for a custom callable."""
    if isinstance(fn, functools.partial):
        return None
    for name, f in _ACTIVATIONS.items():
        if f is fn:
            return name
    return None

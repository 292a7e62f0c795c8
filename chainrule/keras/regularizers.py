"""``keras.regularizers`` on chainrule: Keras' weight penalties, as :mod:`chainrule.nn.regularizers` computes them.

l2: Omega(W) = l2 sum W^2,  l1: Omega(W) = l1 sum |W|  (no factor 1/2, as in Keras); the notes'
total cost is C + Omega summed over the regularized weights.  ``L1`` and ``L2`` are
:class:`chainrule.nn.regularizers.L1L2` with one coefficient (subclassed for Keras' signatures),
and the lowercase functions take Keras' keyword names (``l2(l2=0.01)``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chainrule._unsupported import missing
from chainrule.nn.regularizers import L1L2, Regularizer, get as _get, serialize
from chainrule.tensor import Tensor

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize"]


class L1(L1L2):
    """Keras' ``L1(l1=0.01)``: Omega(W) = l1 sum |W|."""

    def __init__(self, l1: float | None = 0.01) -> None:  # noqa: F811
        super().__init__(l1=0.01 if l1 is None else l1)


class L2(L1L2):
    """Keras' ``L2(l2=0.01)``: Omega(W) = l2 sum W^2."""

    def __init__(self, l2: float | None = 0.01) -> None:  # noqa: F811
        super().__init__(l2=0.01 if l2 is None else l2)


def l1(l1: float = 0.01) -> L1:  # noqa: F811 (Keras' names)
    """Keras' ``l1(l1=0.01)``."""
    return L1(l1)


def l2(l2: float = 0.01) -> L2:  # noqa: F811
    """Keras' ``l2(l2=0.01)``."""
    return L2(l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: F811
    """Keras' ``l1_l2(l1=0.01, l2=0.01)``: both penalties."""
    return L1L2(l1=l1, l2=l2)


def get(identifier: str | Regularizer | Mapping[str, Any] | Callable[[Tensor], Tensor] | None
        ) -> Regularizer | Callable[[Tensor], Tensor] | None:
    """A regularizer from a name ('l1', 'l2', 'l1_l2'), a config, an instance or a callable."""
    return _get(identifier)


__getattr__ = missing(__name__, "keras.regularizers", {"OrthogonalRegularizer": "chainrule has L1, L2 and L1L2"})

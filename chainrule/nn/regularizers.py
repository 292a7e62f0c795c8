"""Weight penalties added to the loss (Keras conventions).

l2:  Omega(W) = lambda sum_ij W_ij^2   (gradient 2 lambda W; the notes' lambda ||W||^2 term)
l1:  Omega(W) = lambda sum_ij |W_ij|   (gradient lambda sign(W))
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chainrule import _checks, ops
from chainrule.tensor import Tensor


class Regularizer:
    """Base class: ``reg(W) -> scalar Tensor``."""

    def __call__(self, w: Tensor) -> Tensor | float:  # pragma: no cover - abstract
        raise NotImplementedError

    def l2_coefficient(self) -> float | None:
        """lambda if this penalty is exactly lambda sum W^2 (then fused layers can absorb it), else None."""
        return None

    def get_config(self) -> dict[str, Any]:
        """Return the regularizer's settings as a dict, enough to rebuild it."""
        return dict(vars(self))


class L1L2(Regularizer):
    """Omega(W) = l1 sum |W| + l2 sum W^2."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _checks.in_range("regularizer", "l1", l1, lo=0.0)
        self.l2 = _checks.in_range("regularizer", "l2", l2, lo=0.0)

    def __call__(self, w: Tensor) -> Tensor | float:
        out = 0.0
        if self.l1:
            out = out + self.l1 * ops.sum(ops.abs(w))
        if self.l2:
            out = out + self.l2 * ops.sum(w * w)
        return out

    def l2_coefficient(self) -> float | None:
        return self.l2 if not self.l1 else None

    def __repr__(self):
        return f"L1L2(l1={self.l1}, l2={self.l2})"


def l1(lam: float = 0.01) -> L1L2:
    """L1 penalty lam * sum |W|."""
    return L1L2(l1=lam)


def l2(lam: float = 0.01) -> L1L2:
    """L2 penalty lam * sum W^2."""
    return L1L2(l2=lam)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: F811 - Keras' names
    """Both penalties: l1 * sum |W| + l2 * sum W^2."""
    return L1L2(l1=l1, l2=l2)


def get(reg: str | Regularizer | Mapping[str, Any] | Callable[[Tensor], Tensor] | None
        ) -> Regularizer | Callable[[Tensor], Tensor] | None:
    """A regularizer from a name ('l1', 'l2', 'l1_l2'), a saved config dict, a Regularizer or a callable
    (returned as it is); None stays None."""
    if reg is None or isinstance(reg, Regularizer) or callable(reg):
        return reg
    if isinstance(reg, dict):
        return L1L2(**reg.get("config", reg))
    if isinstance(reg, str) and reg in ("l1", "l2", "l1_l2"):
        return {"l1": l1, "l2": l2, "l1_l2": l1_l2}[reg]()
    raise ValueError(f"unknown regularizer {reg!r}; expected l1(lam), l2(lam), l1_l2(l1, l2) or a callable")


def serialize(reg: Regularizer | None) -> dict[str, Any] | None:
    """An L1L2 penalty as a JSON-able ``{'class_name': 'L1L2', 'config': {...}}`` dict (None stays None)."""
    if reg is None:
        return None
    if not isinstance(reg, L1L2):
        raise TypeError(f"cannot save a custom regularizer {reg!r}; use l1, l2 or l1_l2")
    return {"class_name": "L1L2", "config": reg.get_config()}

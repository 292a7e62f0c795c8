"""Weight constraints (Keras' ``keras.constraints``): a projection applied to a weight after each
optimizer update, W <- c(W).

With the norms taken along ``axis`` (0 by default: for a Dense kernel (n_in, units) the weights
into each unit; for a Conv2D kernel (rows, cols, channels, filters) pass ``axis=[0, 1, 2]`` for each
filter), ||w|| = sqrt(sum w^2), and eps = 1e-7 (Keras' ``backend.epsilon()``):

* ``MaxNorm(max_value=2)``:  w <- w min(||w||, max_value) / (eps + ||w||), the max-norm
  regularization that Srivastava et al. pair with dropout;
* ``MinMaxNorm(min_value=0, max_value=1, rate=1)``:  the norm moved a fraction ``rate`` of the way
  into [min_value, max_value];
* ``UnitNorm()``:  w <- w / (eps + ||w||);
* ``NonNeg()``:  w <- max(w, 0).

A layer takes them as Keras' layers do (``Dense(4, kernel_constraint=MaxNorm(3))``,
``LSTM(8, recurrent_constraint='unit_norm')``, ``add_weight(constraint=...)``): the layer hands the
constraint to its weight's :class:`~chainrule.parameter.Parameter`, and every chainrule optimizer
projects a constrained parameter right after updating it, as Keras' optimizers do.  A constraint
acts on the values (NumPy arrays), outside the graph.

>>> import numpy as np
>>> MaxNorm(1.0)(np.array([[3.0, 0.1], [4.0, 0.0]])).round(4)      # column norms 5 and 0.1
array([[0.6, 0.1],
       [0.8, 0. ]])
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule import _checks

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm", "non_neg",
           "unit_norm", "get", "serialize"]

#: Keras' backend.epsilon(), in the norm constraints' denominators
EPSILON = 1e-7


class Constraint:
    """Base class: ``c(w) -> the projected array`` (the identity here; subclasses override it)."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w

    def get_config(self) -> dict[str, Any]:
        """The constraint's settings as a dict, enough to rebuild it."""
        return {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Constraint:
        """Rebuild the constraint from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _axis(who, axis):
    if isinstance(axis, (list, tuple)):
        return tuple(_checks.axis(who, a) for a in axis)
    return _checks.axis(who, axis)


def _norms(w, axis):
    w = np.asarray(w)
    return w, np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """w <- w min(||w||, max_value) / (eps + ||w||), the norms along ``axis``."""

    def __init__(self, max_value: float = 2, axis: int | Sequence[int] = 0) -> None:
        self.max_value = _checks.in_range("MaxNorm", "max_value", max_value, lo=0.0)
        self.axis = _axis("MaxNorm", axis)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w, norms = _norms(w, self.axis)
        return w * (np.clip(norms, 0, self.max_value) / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class MinMaxNorm(Constraint):
    """w <- w (rate clip(||w||, min_value, max_value) + (1 - rate) ||w||) / (eps + ||w||)."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | Sequence[int] = 0) -> None:
        self.min_value = _checks.in_range("MinMaxNorm", "min_value", min_value, lo=0.0)
        self.max_value = _checks.in_range("MinMaxNorm", "max_value", max_value, lo=self.min_value)
        self.rate = _checks.in_range("MinMaxNorm", "rate", rate, lo=0.0, hi=1.0)
        self.axis = _axis("MinMaxNorm", axis)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w, norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class UnitNorm(Constraint):
    """w <- w / (eps + ||w||), the norms along ``axis``."""

    def __init__(self, axis: int | Sequence[int] = 0) -> None:
        self.axis = _axis("UnitNorm", axis)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w, norms = _norms(w, self.axis)
        return w / (EPSILON + norms)

    def get_config(self) -> dict[str, Any]:
        return {"axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class NonNeg(Constraint):
    """w <- max(w, 0)."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return np.maximum(w, 0)


# Keras' lowercase aliases
max_norm, min_max_norm, unit_norm, non_neg = MaxNorm, MinMaxNorm, UnitNorm, NonNeg

_CLASSES = {c.__name__: c for c in (MaxNorm, MinMaxNorm, UnitNorm, NonNeg)}
_NAMES = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "unit_norm": UnitNorm, "non_neg": NonNeg, **_CLASSES}


def get(constraint: str | Constraint | Mapping[str, Any] | Callable[[np.ndarray], np.ndarray] | None
        ) -> Constraint | Callable[[np.ndarray], np.ndarray] | None:
    """A constraint from a name ('max_norm', 'MaxNorm', 'non_neg', ...), a saved config dict
    (``{'class_name': 'MaxNorm', 'config': {...}}``), a Constraint, or a callable w -> w (returned as
    it is); None stays None."""
    if constraint is None or isinstance(constraint, Constraint) or callable(constraint):
        return constraint
    if isinstance(constraint, Mapping):
        cls = _CLASSES.get(constraint.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown constraint {dict(constraint)!r}; expected a class_name among "
                             f"{', '.join(sorted(_CLASSES))}")
        return cls.from_config(constraint.get("config") or {})
    if isinstance(constraint, str) and constraint in _NAMES:
        return _NAMES[constraint]()
    raise ValueError(f"unknown constraint {constraint!r}; expected one of {', '.join(sorted(_NAMES))}, a "
                     f"Constraint or a callable w -> w")


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """A built-in constraint as a JSON-able ``{'class_name': ..., 'config': {...}}`` dict (None stays None)."""
    if constraint is None:
        return None
    if type(constraint) not in _CLASSES.values():
        raise TypeError(f"cannot save a custom constraint {constraint!r}; use MaxNorm, MinMaxNorm, UnitNorm or "
                        f"NonNeg")
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}

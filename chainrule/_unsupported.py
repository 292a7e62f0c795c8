"""Names of Keras or PyTorch that chainrule does not have: using one raises a NotImplementedError naming it.

Each module of the namespaces :mod:`chainrule.keras` and :mod:`chainrule.torch` ends with
``__getattr__ = missing(__name__, "keras.layers", {"Embedding": "hint", ...})``.  The names listed
become stand-ins in the module (so ``from chainrule.keras.layers import Embedding`` works) that
raise a NotImplementedError naming the feature when called or used; any other public name the
module lacks raises the same error on access (an exception that is also an AttributeError, so
``hasattr`` and the tools that probe modules see a missing attribute).  Never an AttributeError
from deep inside, never something silently different.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, Optional

__all__ = ["missing", "unsupported", "Unsupported"]


class Unsupported(NotImplementedError, AttributeError):
    """A Keras or PyTorch feature chainrule does not implement."""

#: module attributes that pytest and unittest probe for (never Keras or PyTorch names)
_PROBED = frozenset({"setUpModule", "tearDownModule", "setup_module", "teardown_module", "setup", "teardown",
                     "load_tests"})


def unsupported(feature: str, hint: str = "") -> Unsupported:
    """The NotImplementedError for a feature chainrule does not have."""
    return Unsupported(f"{feature} is not implemented in chainrule{'; ' + hint if hint else ''}")


class _StandIn:
    """What ``from chainrule.keras.layers import Embedding`` imports: it raises when it is used."""

    def __init__(self, feature: str, hint: str) -> None:
        self._feature, self._hint = feature, hint

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise unsupported(self._feature, self._hint)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(f"{self._feature}.{name}", self._hint)

    def __repr__(self):
        return f"<{self._feature}: not implemented in chainrule>"


def missing(module_name: str, public_name: str,
            hints: Optional[Mapping[str, str]] = None) -> Callable[[str], NoReturn]:
    """A module ``__getattr__`` raising :func:`unsupported` for the names the module lacks; the names in
    ``hints`` are put in the module as stand-ins that raise when used."""
    hints = hints or {}
    module = sys.modules.get(module_name)
    if module is not None:
        for name, hint in hints.items():
            if not hasattr(module, name) or isinstance(getattr(module, name, None), _StandIn):
                setattr(module, name, _StandIn(f"{public_name}.{name}", hint))

    def __getattr__(name: str) -> NoReturn:
        # private names, and what test runners look for on every module they collect (pytest_plugins,
        # pytestmark, the module-level fixtures: `make test` collects these modules for their doctests),
        # are plainly absent
        if name.startswith(("_", "pytest")) or name in _PROBED:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise unsupported(f"{public_name}.{name}", hints.get(name, ""))
    return __getattr__

"""Names of Keras or PyTorch that chainrule does not have: using one raises a NotImplementedError naming it.

Each module of the namespaces :mod:`chainrule.keras` and :mod:`chainrule.torch` ends with
``__getattr__ = missing(__name__, "keras.layers")``: an attribute that is neither defined nor
private then fails with the feature's name (never an AttributeError from deep inside, never
something silently different); ``from chainrule.keras.layers import Embedding`` says the same.
"""
from __future__ import annotations

__all__ = ["missing", "unsupported"]

#: module attributes that pytest and unittest probe for (never Keras or PyTorch names)
_PROBED = frozenset({"setUpModule", "tearDownModule", "setup_module", "teardown_module", "setup", "teardown",
                     "load_tests"})


def unsupported(feature, hint=""):
    """The NotImplementedError for a feature chainrule does not have."""
    return NotImplementedError(f"{feature} is not implemented in chainrule{'; ' + hint if hint else ''}")


def missing(module_name, public_name, hints=None):
    """A module ``__getattr__`` raising :func:`unsupported` for public names the module lacks."""
    hints = hints or {}

    def __getattr__(name):
        # private names, and what test runners look for on every module they collect (pytest_plugins,
        # pytestmark, the module-level fixtures: `make test` collects these modules for their doctests),
        # are plainly absent
        if name.startswith(("_", "pytest")) or name in _PROBED:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise unsupported(f"{public_name}.{name}", hints.get(name, ""))
    return __getattr__

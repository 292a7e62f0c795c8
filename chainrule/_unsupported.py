"""Names of Keras or PyTorch that chainrule does not have: using one raises a NotImplementedError naming it.

Each module of the namespaces :mod:`chainrule.keras` and :mod:`chainrule.torch` ends with
``__getattr__ = missing(__name__, "keras.layers")``: an attribute that is neither defined nor
private then fails with the feature's name (never an AttributeError from deep inside, never
something silently different); ``from chainrule.keras.layers import Embedding`` says the same.
"""
from __future__ import annotations

__all__ = ["missing", "unsupported"]


def unsupported(feature, hint=""):
    """The NotImplementedError for a feature chainrule does not have."""
    return NotImplementedError(f"{feature} is not implemented in chainrule{'; ' + hint if hint else ''}")


def missing(module_name, public_name, hints=None):
    """A module ``__getattr__`` raising :func:`unsupported` for public names the module lacks."""
    hints = hints or {}

    def __getattr__(name):
        if name.startswith("_"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise unsupported(f"{public_name}.{name}", hints.get(name, ""))
    return __getattr__

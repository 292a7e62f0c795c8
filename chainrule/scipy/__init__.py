"""SciPy's differentiable functions on chainrule (``autograd.scipy``'s role): :mod:`chainrule.scipy.special`."""
from chainrule.scipy import special  # noqa: F401

__all__ = ["special"]

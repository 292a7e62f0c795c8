"""``chainrule.nn.Parameter`` is :class:`chainrule.parameter.Parameter` (it lives at engine level,
so the optimizers use it without importing the layers)."""
from chainrule.parameter import Parameter

__all__ = ["Parameter"]

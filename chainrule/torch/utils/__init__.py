"""``torch.utils`` on chainrule: ``torch.utils.data``."""
from chainrule._unsupported import missing
from chainrule.torch.utils import data  # noqa: F401

__all__ = ["data"]

__getattr__ = missing(__name__, "torch.utils")

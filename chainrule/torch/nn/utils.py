"""``torch.nn.utils``: gradient clipping (:mod:`chainrule.optim.clipping`)."""
from chainrule._unsupported import missing
from chainrule.optim.clipping import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]

__getattr__ = missing(__name__, "torch.nn.utils")

"""``torch.nn.utils``: gradient clipping (:mod:`chainrule.optim.clipping`) and ``rnn``, PyTorch's padded and
packed batches of sequences (:mod:`chainrule.torch.nn.utils.rnn`)."""
from chainrule._unsupported import missing
from chainrule.optim.clipping import clip_grad_norm_, clip_grad_value_
from chainrule.torch.nn.utils import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]

__getattr__ = missing(__name__, "torch.nn.utils")

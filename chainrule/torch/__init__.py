"""PyTorch's names over chainrule: ``import chainrule.torch as torch``.

The front door of a PyTorch program (the issue titled "The notes' Keras and PyTorch programs run
with their imports changed"): ``torch.tensor``, ``torch.float32``, ``torch.no_grad``,
``torch.max(x, 1)``, ``torch.nn``, ``torch.nn.functional``, ``torch.optim`` (with
``lr_scheduler``), ``torch.utils.data`` and a torchvision stand-in, :mod:`chainrule.torch.vision`.
The tensors are chainrule's :class:`~chainrule.Tensor` (``.size(0)``, ``.unsqueeze``, ``.view``,
``.item()``, ``.cpu()``, ``.to('cpu')``, ``.detach().numpy()``), the modules chainrule's layers,
never copies.  Where PyTorch's semantics and chainrule's NumPy-style top level differ
(``torch.max(x, dim)`` gives ``(values, indices)``, ``torch.var`` divides by n - 1) this namespace
follows PyTorch.  chainrule runs on the CPU: ``.to('cuda')`` says so.  A PyTorch feature chainrule
lacks raises a NotImplementedError naming it.
"""
from chainrule._unsupported import missing
from chainrule.torch._core import *  # noqa: F401,F403
from chainrule.torch._core import __all__ as _core_all
from chainrule.torch import nn, optim, utils, vision  # noqa: F401
from chainrule.torch.io import save, load  # noqa: F401

__all__ = ["nn", "optim", "utils", "vision", "save", "load", *_core_all]

autograd = __import__("chainrule.torch.autograd", fromlist=["grad"])

__getattr__ = missing(__name__, "torch", {"jit": "chainrule runs eagerly", "compile": "chainrule runs eagerly",
                                          "distributed": "", "fft": "", "sparse": "", "onnx": ""})

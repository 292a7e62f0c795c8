"""``torch.nn`` on chainrule (``import chainrule.torch.nn as nn``): PyTorch's modules over chainrule's layers.

``nn.Module`` is :class:`chainrule.nn.Module` (a subclass calls ``super().__init__()`` and defines
``forward``), ``nn.Linear(in_features, out_features)`` and ``nn.Sequential`` are chainrule's (the
same dense primitives), and ``print(model)`` shows PyTorch's format
(``Linear(in_features=2, out_features=4, bias=True)``).  Convolutions are channels-first,
recurrent layers ``batch_first`` or time-major, as PyTorch writes them.  A PyTorch module chainrule
does not have raises a NotImplementedError naming it.
"""
from chainrule._unsupported import missing
from chainrule.parameter import Parameter
from chainrule.nn.module import Module
from chainrule.nn.sequential import Sequential
from chainrule.nn.core import Linear, ReLU, Sigmoid, Tanh, Softplus, Identity, LeakyReLU, ELU, Softmax
from chainrule.torch.nn.modules import (ModuleList, ModuleDict, TorchFlatten as Flatten, TorchDropout as Dropout,
                                        BatchNorm1d, LogSoftmax, GELU, SiLU, SELU, ReLU6, Hardsigmoid, Hardswish,
                                        Mish, Softsign, TorchEmbedding as Embedding, LayerNorm, Unflatten)
from chainrule.torch.nn.losses import (MSELoss, L1Loss, NLLLoss, HuberLoss, SmoothL1Loss, KLDivLoss,
                                       CrossEntropyLoss, BCELoss, BCEWithLogitsLoss)
from chainrule.torch.nn import functional, init  # noqa: F401
from chainrule.torch.nn import utils  # noqa: F401

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "ReLU", "Sigmoid",
           "Tanh", "Softplus", "LeakyReLU", "ELU", "Softmax", "LogSoftmax", "GELU", "SiLU", "SELU", "ReLU6",
           "Hardsigmoid", "Hardswish", "Mish", "Softsign", "Embedding", "Flatten", "Unflatten", "Dropout",
           "BatchNorm1d", "LayerNorm", "MSELoss", "L1Loss", "NLLLoss", "HuberLoss", "SmoothL1Loss", "KLDivLoss",
           "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "functional", "init", "utils"]

# convolutional networks, channels-first (chainrule/nn/conv_torch.py)
from chainrule.nn.conv_torch import (Conv1d, Conv2d, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d,  # noqa: E402
                                     AdaptiveAvgPool2d, BatchNorm2d)

__all__ += ["Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
            "BatchNorm2d"]

from chainrule.torch.nn.recurrent import RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell  # noqa: E402  (recurrent family)

__all__ += ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

__getattr__ = missing(__name__, "torch.nn", {
    "Transformer": "", "MultiheadAttention": "",
    "Conv3d": "chainrule has Conv1d and Conv2d", "ConvTranspose2d": "", "GroupNorm": "",
    "DataParallel": "chainrule runs on one CPU process"})

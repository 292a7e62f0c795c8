"""``torch.nn`` on chainrule: PyTorch's layer names and layouts (channels-first images,
``batch_first`` sequences) over the primitives of :mod:`chainrule.nn`.

Each family adds its names here with one import line.
"""
__all__ = []

# convolutional networks, channels-first (chainrule/nn/conv_torch.py); Flatten flattens (C, H, W) as PyTorch's
from chainrule.nn.conv_torch import (Conv1d, Conv2d, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d,  # noqa: E402
                                     AdaptiveAvgPool2d, BatchNorm2d)
from chainrule.nn.core import Flatten  # noqa: E402

__all__ += ["Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
            "BatchNorm2d", "Flatten"]

from chainrule.torch.nn.recurrent import RNN, LSTM, GRU  # noqa: E402  (recurrent family)

__all__ += ["RNN", "LSTM", "GRU"]

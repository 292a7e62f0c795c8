"""Neural-network building blocks: Module, Sequential, layers, initializers, regularizers.

PyTorch's loss modules (``MSELoss``, ``BCELoss``, ``BCEWithLogitsLoss``,
``CrossEntropyLoss``) are offered here too, as thin wrappers over
:mod:`chainrule.losses`.
"""
from chainrule.parameter import Parameter
from chainrule.nn.module import Module, Sequential, NotBuiltError
from chainrule.nn.layers import (Layer, Dense, Linear, Activation, ReLU, Sigmoid, Tanh, Softplus, Identity, LeakyReLU,
                                 ELU, Softmax, Dropout, Flatten, BatchNormalization)
from chainrule.nn import activations, init, regularizers
from chainrule.nn.regularizers import l1, l2, l1_l2

__all__ = ["Parameter", "Module", "Sequential", "NotBuiltError", "Layer", "Dense", "Linear", "Activation", "ReLU",
           "Sigmoid", "Tanh", "Softplus", "Identity", "LeakyReLU", "ELU", "Softmax", "Dropout", "Flatten",
           "BatchNormalization", "activations", "init", "regularizers", "l1", "l2", "l1_l2"]

# recurrent layers (chainrule/nn/recurrent.py) and the Masking layer with its mask table (chainrule/nn/masking.py)
from chainrule.nn.masking import Masking  # noqa: E402
from chainrule.nn.recurrent import SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed  # noqa: E402
from chainrule.nn import masking, recurrent  # noqa: E402

__all__ += ["Masking", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "masking", "recurrent"]

try:  # the PyTorch-order loss modules live with the other losses
    from chainrule.losses import MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss  # noqa: F401
    __all__ += ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]
except ImportError:  # pragma: no cover - while losses.py is being written
    pass

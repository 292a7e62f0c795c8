"""Neural-network building blocks: Module, Sequential, layers, initializers, regularizers.

PyTorch's loss modules (``MSELoss``, ``BCELoss``, ``BCEWithLogitsLoss``,
``CrossEntropyLoss``) are offered here too, as thin wrappers over
:mod:`chainrule.losses`.
"""
from chainrule.parameter import Parameter
from chainrule.nn.module import Module, NotBuiltError
from chainrule.nn.sequential import Sequential
from chainrule.nn.core import (Layer, Dense, Linear, Activation, ReLU, Sigmoid, Tanh, Softplus, Identity, LeakyReLU,
                               ELU, Softmax, Dropout, Flatten)
from chainrule.nn.normalization import BatchNormalization
from chainrule.nn import activations, init, regularizers
from chainrule.nn import functional  # noqa: E402  (PyTorch's torch.nn.functional names)
from chainrule.nn.regularizers import l1, l2, l1_l2

__all__ = ["Parameter", "Module", "Sequential", "NotBuiltError", "Layer", "Dense", "Linear", "Activation", "ReLU",
           "Sigmoid", "Tanh", "Softplus", "Identity", "LeakyReLU", "ELU", "Softmax", "Dropout", "Flatten",
           "BatchNormalization", "activations", "functional", "init", "regularizers", "l1", "l2", "l1_l2"]

# the PyTorch-order loss modules live with the other losses
from chainrule.losses import MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss  # noqa: E402

__all__ += ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]

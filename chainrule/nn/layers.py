"""The layers by family live in chainrule/nn/core.py, normalization.py, ... ; this module keeps
their former import path (``chainrule.nn.layers``) working."""
from chainrule.nn.core import (Activation, Dense, Dropout, ELU, Flatten, Identity, Layer, LeakyReLU, Linear, ReLU,
                               Sigmoid, Softmax, Softplus, Tanh, _data)
from chainrule.nn.normalization import BatchNormalization

__all__ = ["Layer", "Dense", "Linear", "Activation", "ReLU", "Sigmoid", "Tanh", "Softplus", "Identity", "LeakyReLU",
           "ELU", "Softmax", "Dropout", "Flatten", "BatchNormalization", "_data"]

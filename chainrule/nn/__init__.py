"""Neural-network building blocks: Module, Sequential, layers, initializers, regularizers.

PyTorch's loss modules (``MSELoss``, ``BCELoss``, ``BCEWithLogitsLoss``,
``CrossEntropyLoss``) are offered here too, as thin wrappers over
:mod:`chainrule.losses`.
"""
from chainrule.parameter import Parameter
from chainrule.nn.module import Module, NotBuiltError
from chainrule.nn.sequential import Sequential
from chainrule.nn.core import (Layer, Dense, Linear, Activation, ReLU, Sigmoid, Tanh, Softplus, Identity, LeakyReLU,
                               ELU, Softmax, Dropout, Flatten, Lambda)
from chainrule.nn.normalization import BatchNormalization, LayerNormalization, UnitNormalization
from chainrule.nn.noise import GaussianNoise, GaussianDropout, AlphaDropout
from chainrule.nn import activations, init, regularizers
from chainrule.nn import functional  # noqa: E402  (PyTorch's torch.nn.functional names)
from chainrule.nn.regularizers import l1, l2, l1_l2

__all__ = ["Parameter", "Module", "Sequential", "NotBuiltError", "Layer", "Dense", "Linear", "Activation", "ReLU",
           "Sigmoid", "Tanh", "Softplus", "Identity", "LeakyReLU", "ELU", "Softmax", "Dropout", "Flatten", "Lambda",
           "BatchNormalization", "LayerNormalization", "UnitNormalization", "GaussianNoise", "GaussianDropout",
           "AlphaDropout", "activations", "functional", "init", "regularizers", "l1", "l2",
           "l1_l2"]

# the PyTorch-order loss modules live with the other losses
from chainrule.losses import MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss  # noqa: E402

__all__ += ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]

# convolutional networks (chainrule/nn/conv.py); PyTorch's channels-first names are in chainrule.torch.nn
from chainrule.nn.conv import (Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D,  # noqa: E402
                               AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
                               GlobalMaxPooling2D, ZeroPadding1D, ZeroPadding2D, SpatialDropout1D, SpatialDropout2D,
                               Reshape, Permute, UpSampling1D, Cropping1D, from_torch_conv2d, from_torch_linear)
from chainrule.nn import conv, conv_torch  # noqa: E402,F401  (conv_torch: registers PyTorch's names for load_model)

__all__ += ["Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
            "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
            "ZeroPadding1D", "ZeroPadding2D", "SpatialDropout1D", "SpatialDropout2D", "Reshape", "Permute",
            "UpSampling1D", "Cropping1D", "from_torch_conv2d", "from_torch_linear", "conv"]

# recurrent layers (chainrule/nn/recurrent.py) and the Masking layer with its mask table (chainrule/nn/masking.py)
from chainrule.nn.masking import Masking  # noqa: E402
from chainrule.nn.recurrent import SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, RepeatVector  # noqa: E402
from chainrule.nn import masking, recurrent  # noqa: E402

__all__ += ["Masking", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "RepeatVector", "masking",
            "recurrent"]

# Keras' cell API: one step of a recurrent cell, and RNN to run a cell over a sequence (chainrule/nn/cells.py)
from chainrule.nn.cells import SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, RNN  # noqa: E402
from chainrule.nn import cells  # noqa: E402

__all__ += ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "RNN", "cells"]

# Keras' functional API (chainrule/nn/graph.py) and merging layers (chainrule/nn/merge.py)
from chainrule.nn.graph import Input, InputLayer, Model  # noqa: E402
from chainrule.nn.merge import Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate  # noqa: E402
from chainrule.nn import graph, merge, naming  # noqa: E402

__all__ += ["Input", "InputLayer", "Model", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
            "Concatenate", "graph", "merge", "naming"]

# embeddings of integer tokens (chainrule/nn/embedding.py)
from chainrule.nn.embedding import Embedding  # noqa: E402

__all__ += ["Embedding"]

# Keras' dot-product and additive attention (chainrule/nn/attention.py)
from chainrule.nn.attention import Attention  # noqa: E402

__all__ += ["Attention"]

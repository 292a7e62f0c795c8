"""``keras.layers`` on chainrule: the layers of :mod:`chainrule.nn` under Keras' names.

The classes are chainrule's own (``keras.layers.Dense is chainrule.nn.Dense``), so a model built
here trains with the same primitives as one built from :mod:`chainrule.nn`.  Three are Keras'
variants of PyTorch-style modules chainrule.nn also has, subclassed because Keras' signature and
defaults differ: ``LeakyReLU(negative_slope=0.3)`` (PyTorch's default is 0.01), ``Softmax(axis=-1)``
(PyTorch's takes ``dim``) and ``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``.
A Keras layer chainrule does not have (``Conv3D``, ...) raises a
NotImplementedError naming it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._unsupported import missing
from chainrule.keras import activations as _keras_activations
from chainrule.nn.core import Layer, Dense, Activation, Dropout, Flatten, ELU, Lambda
from chainrule.nn.core import LeakyReLU as _TorchLeakyReLU, Softmax as _TorchSoftmax, ReLU as _TorchReLU
from chainrule.nn.normalization import BatchNormalization, LayerNormalization, UnitNormalization
from chainrule.nn.noise import GaussianNoise, GaussianDropout, AlphaDropout
from chainrule.nn.conv import (Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D,
                               GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                               ZeroPadding1D, ZeroPadding2D, SpatialDropout1D, SpatialDropout2D, Reshape,
                               Permute, UpSampling1D, Cropping1D)
from chainrule.nn.masking import Masking
from chainrule.nn.embedding import Embedding
from chainrule.nn.recurrent import SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, RepeatVector
from chainrule.nn.cells import SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, RNN
from chainrule.nn.graph import Input, InputLayer
from chainrule.nn.attention import Attention
from chainrule.nn.merge import (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, add, subtract,
                                multiply, average, maximum, minimum, concatenate)

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Lambda",
           "BatchNormalization", "LayerNormalization", "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D",
           "MaxPool1D", "MaxPool2D", "AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "ZeroPadding1D",
           "ZeroPadding2D", "SpatialDropout1D", "SpatialDropout2D", "Reshape", "Permute", "UpSampling1D",
           "Cropping1D", "Masking", "Embedding", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed",
           "RepeatVector", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "add",
           "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "ReLU", "LeakyReLU", "ELU",
           "Softmax"]
__all__ += ["Attention"]
__all__ += ["UnitNormalization", "GaussianNoise", "GaussianDropout", "AlphaDropout"]
__all__ += ["RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]   # the cell API (chainrule/nn/cells.py)

# Keras' shorter aliases
MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D


class KerasLeakyReLU(_TorchLeakyReLU):
    """Keras' ``LeakyReLU(negative_slope=0.3)``: y = x for x > 0, negative_slope x otherwise (tf.keras 2 called
    the slope ``alpha``).  The same layer as PyTorch's ``nn.LeakyReLU``, whose default slope is 0.01."""

    _auto_name = "LeakyReLU"

    def __init__(self, negative_slope: float = 0.3, alpha: float | None = None, **kwargs: Any) -> None:
        Activation.__init__(self, "leaky_relu", alpha=float(negative_slope if alpha is None else alpha), **kwargs)

    def get_config(self) -> dict[str, Any]:
        """The layer's arguments under Keras' name (``negative_slope``), for saving."""
        return {"negative_slope": self.kwargs["alpha"]}


class KerasSoftmax(_TorchSoftmax):
    """Keras' ``Softmax(axis=-1)``: y_c = e^(x_c) / sum_k e^(x_k) along ``axis`` (PyTorch's takes ``dim``)."""

    _auto_name = "Softmax"

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        Activation.__init__(self, "softmax", axis=int(axis), **kwargs)

    def get_config(self) -> dict[str, Any]:
        """The layer's arguments under Keras' name (``axis``), for saving."""
        return {"axis": self.kwargs["axis"]}


class KerasReLU(_TorchReLU):
    """Keras' ``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``: y = min(x, max_value) for
    x >= threshold, negative_slope (x - threshold) below it (:func:`chainrule.keras.activations.relu`;
    the defaults are the relu primitive, fused in a dense stack like ``Dense(activation='relu')``)."""

    _auto_name = "ReLU"

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        for what, v in (("max_value", max_value), ("negative_slope", negative_slope), ("threshold", threshold)):
            if v is None and what == "max_value":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not v >= 0:
                raise ValueError(f"ReLU: {what} must be a number >= 0{' or None' if what == 'max_value' else ''}, "
                                 f"got {v!r}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)
        if self.max_value is None and not self.negative_slope and not self.threshold:
            Activation.__init__(self, "relu", **kwargs)
        else:
            Activation.__init__(self, _keras_activations.relu, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold, **kwargs)

    def get_config(self) -> dict[str, Any]:
        """The layer's arguments, for saving."""
        return {"max_value": self.max_value, "negative_slope": self.negative_slope, "threshold": self.threshold}


ReLU, LeakyReLU, Softmax = KerasReLU, KerasLeakyReLU, KerasSoftmax

__getattr__ = missing(__name__, "keras.layers", {
    "Conv3D": "chainrule has 1-D and 2-D convolutions (Conv1D, Conv2D)",
})

"""Keras' names over chainrule: ``from chainrule.keras.layers import Dense`` where a program had
``from tensorflow.keras.layers import Dense`` (or ``from keras.layers import Dense``).

The front door of a Keras program (the issue titled "The notes' Keras and PyTorch programs run
with their imports changed").  The layers and models are chainrule's own classes
(``chainrule.keras.layers.Dense is chainrule.nn.Dense``): a model built here trains on the same
primitives as any other.  Keras' semantics where chainrule's own differ are Keras': automatic
layer names (``dense``, ``dense_1``, ...), the functional API (``Input``, ``Model(inputs,
outputs)``), ``evaluate`` returning the loss or ``[loss, *metrics]``, ``fit(batch_size=None)``
meaning 32, the optimizers' ``learning_rate``/``epsilon`` and update rules, per-sample loss
functions.  tf.keras 2's spellings the lecture notes use (``optimizers.SGD(lr=...)``,
``Dense(units=250 / 2)``) are accepted.  A Keras feature chainrule lacks raises a
NotImplementedError naming it.
"""
from chainrule._unsupported import missing
from chainrule.keras import (activations, backend, callbacks, constraints, datasets, initializers, layers, losses,
                             metrics, models, ops, optimizers, preprocessing, regularizers, utils)
from chainrule.keras.layers import Input, InputLayer, Layer
from chainrule.keras.models import Model, Sequential, load_model, save_model

__all__ = ["activations", "backend", "callbacks", "constraints", "datasets", "initializers", "layers", "losses",
           "metrics", "models", "ops", "optimizers", "preprocessing", "regularizers", "utils", "Input", "InputLayer",
           "Layer", "Model", "Sequential", "load_model", "save_model"]

__version__ = "3 (chainrule)"

__getattr__ = missing(__name__, "keras", {"applications": "", "mixed_precision": "",
                                          "saving": "use model.save and keras.models.load_model"})

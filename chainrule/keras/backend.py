"""``keras.backend`` on chainrule: the session-wide settings (``import chainrule.keras.backend as K``).

``clear_session()`` starts the automatic layer names over (``dense``, ``dense_1``, ...); chainrule
keeps no graph between models, so there is nothing else to clear.  ``set_floatx('float64')``
sets the dtype new weights get (:func:`chainrule.set_default_dtype`); ``epsilon()`` is the fuzz
factor the losses clip probabilities with, 1e-7.
"""
from __future__ import annotations

import gc
from typing import Any, Literal

import numpy as np

from chainrule import losses as _losses
from chainrule._unsupported import missing, unsupported
from chainrule.nn import naming
from chainrule.tensor import get_default_dtype, set_default_dtype

__all__ = ["clear_session", "floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format",
           "set_image_data_format", "backend", "get_uid", "is_keras_tensor", "int_shape"]


def clear_session(free_memory: bool = True) -> None:
    """Start a new session: the automatic layer names count from zero again (``dense``, ``dense_1``, ...)."""
    naming.reset()
    if free_memory:
        gc.collect()


def floatx() -> str:
    """The dtype of new weights: 'float32' unless changed."""
    return get_default_dtype().name


def set_floatx(value: Literal["float32", "float64"]) -> None:
    """'float32' or 'float64' for new weights and Python floats (chainrule.set_default_dtype)."""
    if value == "float16" or value == "bfloat16":
        raise unsupported(f"keras.backend.set_floatx({value!r})", "chainrule computes in float32 or float64")
    set_default_dtype(value)


def epsilon() -> float:
    """The fuzz factor: probabilities are clipped to [epsilon, 1 - epsilon] before their logarithm (1e-7)."""
    return _losses.EPSILON


def set_epsilon(value: float) -> None:
    """Change the fuzz factor of the losses."""
    if not 0 < float(value) < 0.5:
        raise ValueError(f"set_epsilon: expected a small positive number, got {value!r}")
    _losses.EPSILON = float(value)


def image_data_format() -> Literal["channels_last"]:
    """'channels_last': images are (batch, height, width, channels), as Keras' default."""
    return "channels_last"


def set_image_data_format(data_format: Literal["channels_last"]) -> None:
    """Keep Keras' 'channels_last' (the only global setting chainrule has); any other value raises, naming
    the per-layer ``data_format='channels_first'`` instead."""
    if data_format != "channels_last":
        raise unsupported(f"keras.backend.set_image_data_format({data_format!r})",
                          "pass data_format='channels_first' to the layers, or use chainrule.torch.nn")


def backend() -> str:
    """The name of the array library under the layers."""
    return "numpy"


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... per prefix (Keras' ``backend.get_uid``)."""
    return naming.get_uid(prefix)


def is_keras_tensor(x: Any) -> bool:
    """True if ``x`` is a symbolic tensor of the functional API (from ``Input(...)`` or a layer called on one)."""
    from chainrule.nn.symbolic import KerasTensor
    return isinstance(x, KerasTensor)


def int_shape(x: Any) -> tuple[int | None, ...]:
    """The shape as a tuple (None for unknown sizes of symbolic tensors)."""
    return tuple(getattr(x, "shape", np.shape(x)))


__getattr__ = missing(__name__, "keras.backend")

"""Masks of padded time steps: the ``Masking`` layer and the side table that carries its mask.

Keras lets sequences of different lengths share a batch by padding them with a value and
putting ``Masking(mask_value)`` first: a step whose features all equal the value is masked, and
a recurrent layer then skips it (sample n's states stay as they were at step t, and its output
repeats the previous one).

chainrule has no mask propagation in the engine.  Instead the mask travels beside the values in
a side table: :func:`set_mask` records "this array or Tensor carries this (batch, time) mask",
keyed by the object itself through a weak reference (the entry disappears with the object), and
:func:`get_mask` looks it up.  ``Masking`` sets it on its output; the recurrent layers, their
``Bidirectional`` wrapper and ``TimeDistributed`` read it from their input and, when they return
a sequence, set it on their output, as Keras' ``compute_mask`` does.  The layers that act on each
time step alone (Dense, Activation, Dropout, BatchNormalization, LayerNormalization: Keras'
``supports_masking``) hand their input's mask to their output (``Module._passes_mask``), and the
merging layers combine their inputs' masks as Keras does (:mod:`chainrule.nn.merge`).  Any other
layer produces a new object without one, so the mask stops there, as it does in Keras for a layer
that does not support masking; pass ``mask=`` to the recurrent layer yourself then.  A model output
that still carries a mask has its masked steps left out of the loss and the metrics of ``fit`` and
``evaluate`` (:mod:`chainrule.training`), as in Keras.

>>> import numpy as np
>>> x = np.array([[[1.0], [0.0], [2.0]]])          # one sequence, its middle step padded with 0
>>> y = Masking(0.0)(x)
>>> get_mask(y)
array([[ True, False,  True]])
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule import ops
from chainrule._masks import get_mask, pass_mask, set_mask
from chainrule.nn.core import Layer
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Any, Sequence, TensorLike

__all__ = ["Masking", "set_mask", "get_mask", "pass_mask"]

class Masking(Layer):
    """Masks the time steps whose features all equal ``mask_value`` (Keras' ``Masking``).

    y = x m,  m_nt = [some feature of x_nt differs from mask_value],  so masked steps become 0,
    and m is attached to y for the recurrent layers after it (see the module docstring).

    Parameters
    ----------
    mask_value : float
        The padding value.
    input_shape : tuple, optional
        (time, features); lets a Sequential build its layers at once.
    """

    def __init__(self, mask_value: float = 0.0, input_shape: Sequence[int | None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(input_shape, **kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Masking: mask_value must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def forward(self, x: TensorLike) -> Tensor:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.ndim < 3:
            raise ValueError(f"{self!r}: expected input of rank 3 (batch, time, features), got shape {data.shape}")
        keep = np.any(data != self.mask_value, axis=-1)
        y = ops.mul(x, keep[..., None].astype(data.dtype if data.dtype.kind == "f" else np.float64))
        return set_mask(y, keep)

    def get_config(self) -> dict[str, Any]:
        return {"mask_value": self.mask_value,
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:])}

    def extra_repr(self) -> str:
        return f"mask_value={self.mask_value}"

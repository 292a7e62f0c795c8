"""The side table of (batch, time) masks (see :mod:`chainrule.nn.masking`, which exports these): below the
layers and the Trainer, so that ``Module.__call__`` can hand a mask on (``_passes_mask``) and the Trainer can
leave masked steps out of the loss and the metrics (as Keras does) without importing a layer."""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike

__all__ = ["set_mask", "get_mask", "pass_mask"]

#: id(object) -> (weak reference to the object, its mask)
_MASKS = {}


def set_mask(obj: Tensor | np.ndarray, mask: ArrayLike | None) -> Tensor | np.ndarray:
    """Record that ``obj`` (a Tensor or an ndarray of shape (batch, time, ...)) carries ``mask``,
    a boolean (batch, time) array (None removes the record); returns ``obj``."""
    key = id(obj)
    if mask is None:
        _MASKS.pop(key, None)
        return obj
    mask = np.asarray(mask, dtype=bool)
    shape = np.shape(obj.data if isinstance(obj, Tensor) else obj)
    if mask.shape != tuple(shape[:2]):
        raise ValueError(f"set_mask: a mask of shape {mask.shape} does not fit a batch of shape {shape}; "
                         f"expected (batch, time) = {tuple(shape[:2])}")
    _MASKS[key] = (weakref.ref(obj, lambda _, key=key: _MASKS.pop(key, None)), mask)
    return obj


def get_mask(obj: object) -> np.ndarray | None:
    """The (batch, time) mask ``obj`` carries, or None."""
    entry = _MASKS.get(id(obj))
    if entry is None or entry[0]() is not obj:
        return None
    return entry[1]


def pass_mask(x: object, out: object) -> None:
    """Give ``out`` the mask ``x`` carries, if it has none of its own and the same (batch, time) axes: what a
    layer that acts on each time step alone does (Dense, Activation, Dropout, the normalizations)."""
    mask = get_mask(x)
    if mask is not None and isinstance(out, (Tensor, np.ndarray)) and get_mask(out) is None and \
            np.shape(out)[:2] == mask.shape:
        set_mask(out, mask)

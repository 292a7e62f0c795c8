"""``torch.save`` / ``torch.load`` for state dicts and tensors, in a safe ``.npz`` (never pickled).

``torch.save(model.state_dict(), path)`` writes every array under its name; ``torch.load(path)``
gives back the dict (of ndarrays) that ``model.load_state_dict`` takes.  Anything else than a
Tensor, an array or a dict of them is refused (PyTorch would pickle it).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from chainrule.io import _write_npz
from chainrule.tensor import Tensor

__all__ = ["save", "load"]

_ONE = "__tensor__"


def save(obj, f):
    if isinstance(obj, (Tensor, np.ndarray)):
        arrays = {_ONE: np.asarray(obj.data if isinstance(obj, Tensor) else obj)}
    elif isinstance(obj, dict):
        arrays = {}
        for k, v in obj.items():
            if not isinstance(k, str) or not isinstance(v, (Tensor, np.ndarray, np.generic, int, float)):
                raise TypeError(f"torch.save: chainrule writes Tensors, arrays and dicts of them (a state_dict); got "
                                f"{type(v).__name__} at key {k!r} (PyTorch would pickle it; chainrule never does)")
            arrays[k] = np.asarray(v.data if isinstance(v, Tensor) else v)
    else:
        raise TypeError(f"torch.save: chainrule writes Tensors, arrays and dicts of them (a state_dict), got "
                        f"{type(obj).__name__}; save a model with model.save(path)")
    return _write_npz(str(f), arrays, "torch.save")


def load(f, map_location=None, weights_only=True, **kwargs):
    """What :func:`save` wrote: a Tensor, or the dict of arrays (read with ``allow_pickle=False``)."""
    with np.load(f, allow_pickle=False) as data:
        if list(data.files) == [_ONE]:
            return Tensor(data[_ONE])
        return OrderedDict((k, data[k]) for k in data.files)

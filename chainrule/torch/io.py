"""``torch.save`` / ``torch.load`` for state dicts and tensors, in a safe ``.npz`` (never pickled).

``torch.save(model.state_dict(), path)`` writes every array under its name; ``torch.load(path)``
gives back the dict (of ndarrays) that ``model.load_state_dict`` takes.  Anything else than a
Tensor, an array or a dict of them is refused (PyTorch would pickle it).

Reading is bounded as :func:`chainrule.load_model` is (what ``torch.load(weights_only=True)``
promises, and more): every array's declared size is read from the zip directory and its ``.npy``
header and checked against the file and ``max_bytes`` before anything is inflated, and every
problem -- not a chainrule file, a PyTorch pickle, damaged, too large -- is a
:class:`~chainrule.io.ModelFileError` (a ``ValueError``) naming the file.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from chainrule.io import ModelFileError, _Archive, _guarded, _write_npz
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import PathLike

__all__ = ["save", "load"]

_ONE = "__tensor__"


def save(obj: Tensor | np.ndarray | dict[str, Any], f: PathLike) -> str:
    """Write a Tensor, an array or a dict of them (a ``state_dict``) to ``f`` as a safe ``.npz`` archive (nothing
    pickled, written atomically); :func:`load` reads it back.  Returns the path written."""
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


def load(f: PathLike | IO[bytes], map_location: Any = None, weights_only: bool = True, *, max_bytes: int | None = None,
         **kwargs: Any) -> Tensor | OrderedDict[str, np.ndarray]:
    """What :func:`save` wrote: a Tensor, or the dict of arrays (nothing is unpickled).

    ``f`` is a path or an open binary file; ``max_bytes`` bounds the arrays it may hold (default
    :data:`chainrule.io.MAX_BYTES`).  ``map_location`` and ``weights_only`` are PyTorch's and change
    nothing (chainrule runs on the CPU and reads weights only).  Raises
    :class:`~chainrule.io.ModelFileError` for anything but a file :func:`save` wrote.
    """
    what = "torch.load"
    name = f if hasattr(f, "read") else os.fspath(f)
    if not hasattr(f, "read") and not os.path.exists(name):
        raise FileNotFoundError(f"{what}: no such file {name!r}")
    label = getattr(f, "name", "<file object>") if hasattr(f, "read") else name
    with _guarded(label, what):
        head = _peek(f, name)
        if head.startswith(b"\x80") or head.startswith(b"PK") and _is_torch_zip(f, name):
            raise ModelFileError(f"{what}: {label!r} is a file written by PyTorch's torch.save (pickled); chainrule "
                                 f"never unpickles: in PyTorch, save the arrays with safetensors "
                                 f"(safetensors.torch.save_file) and read them with chainrule.io.load_weights")
        with _Archive(name, what, max_bytes, meta=False, kind="file written by chainrule.torch.save") as archive:
            names = list(archive.entries)
            arrays = archive.read_all(names)
    if names == [_ONE]:
        return Tensor(arrays[_ONE])
    return OrderedDict(arrays)


def _peek(f, name):
    if hasattr(f, "read"):
        pos = f.tell()
        head = f.read(8)
        f.seek(pos)
        return head
    with open(name, "rb") as fh:
        return fh.read(8)


def _is_torch_zip(f, name):
    """A zip whose entries hold a pickle (``data.pkl``): what PyTorch's own torch.save writes."""
    import zipfile
    try:
        if hasattr(f, "read"):
            pos = f.tell()
            try:
                names = zipfile.ZipFile(f).namelist()
            finally:
                f.seek(pos)
        else:
            with zipfile.ZipFile(name) as z:
                names = z.namelist()
    except Exception:  # damaged: the archive reader says so
        return False
    return any(n.endswith("data.pkl") for n in names)

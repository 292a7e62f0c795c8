"""A candidate's training state between the rungs of a halving search, and its files beside the journal.

Successive halving over epochs trains the promoted candidates on from where the previous rung
stopped (Keras' ``initial_epoch``), instead of again from scratch.  What a trial hands to the
next rung is a :class:`State`: plain arrays (weights, buffers, optimizer slots) and a JSON-able
``meta`` (what kind of model, epochs done, the shuffling generator's state, the optimizer's
configuration and step count, the history so far).  It travels between the driver and the
workers as arrays (pickled by loky and Dask like any task argument, never read from disk that
way), and the driver writes it beside the journal as ``<journal>.states/<trial key>.npz``
(written atomically; the meta is a JSON string in a uint8 array; read back with
``allow_pickle=False``), so a resumed search continues from it too.  A state that is missing or
does not match is not an error: the trial then trains from scratch for all its epochs, which
gives the same bits (that is what continuing must give).
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

__all__ = ["State", "save_state", "load_state", "state_path"]


class State:
    """Arrays and JSON-able metadata: everything a trial needs to go on training where another stopped."""

    __slots__ = ("meta", "arrays")

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.meta, self.arrays = meta, arrays

    @property
    def epochs(self) -> int:
        """The epochs trained so far."""
        return int(self.meta["epochs"])

    def __getstate__(self) -> dict[str, Any]:
        return {"meta": self.meta, "arrays": self.arrays}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.meta, self.arrays = state["meta"], state["arrays"]


_META = "__meta__"


def state_path(folder: str, key: str) -> str:
    """The file of the state of the trial ``key`` in ``folder``."""
    return os.path.join(folder, f"{key}.npz")


def save_state(path: str, state: State) -> str:
    """Write ``state`` to ``path`` (.npz) atomically; returns the path."""
    from chainrule._atomic import write_atomic
    meta = np.frombuffer(json.dumps(state.meta, separators=(",", ":"), allow_nan=False).encode(), dtype=np.uint8)
    arrays = {_META: meta, **state.arrays}
    return write_atomic(path, lambda f: np.savez(f, **arrays))


def load_state(path: str, key: str | None = None, epochs: int | None = None) -> State | None:
    """The state in ``path``, or None when there is none or it is not the one expected (``key``, ``epochs``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z[_META]).decode())
            arrays = {k: z[k] for k in z.files if k != _META}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None
    if not isinstance(meta, dict) or "epochs" not in meta:
        return None
    if key is not None and meta.get("key") != key:
        return None
    if epochs is not None and meta.get("epochs") != epochs:
        return None
    return State(meta, arrays)

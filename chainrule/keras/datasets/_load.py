"""Keras' ``load_data()`` over chainrule's readers: Keras' shapes and dtypes."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from chainrule.datasets import files as _files

if TYPE_CHECKING:
    from chainrule._typing import PathLike


def load(name: str, path: PathLike | None,
         reader: Callable[[PathLike | None], tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]]
         ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` as Keras returns them, from ``path`` or the search path.

    ``path`` may be a folder (searched first) or a ``.npz`` file with Keras' four arrays
    (x_train, y_train, x_test, y_test), read without unpickling anything.
    """
    folder = None
    if path is not None and os.path.isfile(path) and str(path).endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
            if missing:
                raise ValueError(f"{name}.load_data: {path} has no {missing}; expected Keras' npz with x_train, "
                                 f"y_train, x_test and y_test")
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    if path is not None and os.path.isdir(path):
        folder = path
    (x, y), (xt, yt) = reader(folder)
    return (x, y.astype(np.uint8)), (xt, yt.astype(np.uint8))


DatasetNotFoundError = _files.DatasetNotFoundError

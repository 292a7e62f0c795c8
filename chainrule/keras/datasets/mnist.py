"""``keras.datasets.mnist``: the handwritten digits, ``load_data()`` as Keras returns them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.datasets import files as _files
from chainrule.keras.datasets._load import load

if TYPE_CHECKING:
    import numpy as np

    from chainrule._typing import PathLike


def load_data(path: PathLike | None = "mnist.npz"
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (60000, 28, 28) and (10000, 28, 28), uint8 labels.

    The IDX files are looked for where :func:`chainrule.datasets.load_mnist` looks (``path`` may be a
    folder searched first); nothing is downloaded here (``chainrule.datasets.load_mnist(download=True)``
    fetches them).  Raises DatasetNotFoundError naming every folder looked in.
    """
    return load("mnist", path, lambda folder: _files.load_mnist(folder))

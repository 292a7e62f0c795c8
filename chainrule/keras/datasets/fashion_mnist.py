"""``keras.datasets.fashion_mnist``: Zalando's clothing images, ``load_data()`` as Keras returns them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.datasets import files as _files
from chainrule.keras.datasets._load import load

if TYPE_CHECKING:
    import numpy as np

    from chainrule._typing import PathLike


def load_data(path: PathLike | None = None
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (60000, 28, 28) and (10000, 28, 28), uint8 labels.

    From the folders :func:`chainrule.datasets.load_fashion_mnist` searches
    (``apt-get install dataset-fashion-mnist`` provides them); raises DatasetNotFoundError naming
    every folder looked in.
    """
    return load("fashion_mnist", path, lambda folder: _files.load_fashion_mnist(folder))

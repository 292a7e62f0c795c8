"""``keras.datasets.cifar10``: 60,000 32x32 colour images in 10 classes, ``load_data()`` as Keras returns them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.datasets import files as _files
from chainrule.keras.datasets._load import load

if TYPE_CHECKING:
    import numpy as np

    from chainrule._typing import PathLike


def load_data(path: PathLike | None = None
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (50000, 32, 32, 3) and (10000, 32, 32, 3)
    (channels last) and uint8 labels of shape (50000, 1) and (10000, 1), as Keras returns them.

    From the binary distribution (cifar-10-batches-bin) in the folders
    :func:`chainrule.datasets.load_cifar10` searches; raises DatasetNotFoundError naming every
    folder looked in and where to download the files.
    """
    (x, y), (xt, yt) = load("cifar10", path, lambda folder: _files.load_cifar10(folder))
    return (x, y.reshape(-1, 1)), (xt, yt.reshape(-1, 1))

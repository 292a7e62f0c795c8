"""torchvision's ``datasets``: ``MNIST``, ``FashionMNIST`` and ``CIFAR10``, ``(root, train=True, transform=None,
target_transform=None, download=False)``.

``dataset[i]`` is ``(image, label)``: the image a uint8 array (H, W) or (H, W, 3) (torchvision
gives a PIL image; ``transforms.ToTensor()`` takes either), passed through ``transform``, the label
a Python int.  ``.data`` and ``.targets`` hold every image and label.  The files are read with
chainrule's readers (:mod:`chainrule.datasets.files`), from torchvision's layout under ``root``
(``root/MNIST/raw``, ``root/FashionMNIST/raw``, ``root/cifar-10-batches-bin``) or chainrule's search
path (``$CHAINRULE_DATA``, the cache, ``/usr/share/datasets``); the error for missing files lists
every folder it looked in.  ``download=True`` fetches MNIST (SHA-256 checked) when it is nowhere;
Fashion-MNIST and CIFAR-10 are not downloaded (the error says how to get them).  CIFAR-10 is read
from its binary version: the pickled "python version" is never unpickled.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._unsupported import missing
from chainrule.data import Batch, Dataset
from chainrule.datasets import files as _files
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import PathLike

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "VisionDataset"]


class VisionDataset(Dataset):
    """Images and labels in memory, with torchvision's ``transform``/``target_transform``."""

    classes = []

    def __init__(self, root: PathLike, train: bool = True, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None, download: bool = False) -> None:
        self.root, self.train = root, bool(train)
        self.transform, self.target_transform = transform, target_transform
        (x, y), (xt, yt) = self._load(download)
        images, labels = (x, y) if self.train else (xt, yt)
        self._images, self._labels = images, labels.astype(np.int64)

    @property
    def data(self) -> Tensor:
        """All images as one tensor, before any transform."""
        return Tensor(self._images)

    @property
    def targets(self) -> Tensor:
        """All labels as one tensor, before any target transform."""
        return Tensor(self._labels)

    @property
    def class_to_idx(self) -> dict[str, int]:
        """A dict from each class name to its integer label."""
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        img, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices):
        """A whole batch at once: the transforms run on the stacked images when they can (Compose of
        ToTensor / Normalize), else image by image."""
        idx = np.asarray(indices, dtype=np.int64)
        images, labels = self._images[idx], self._labels[idx]
        if self.target_transform is None:
            if self.transform is None:
                return Batch((Tensor(images), Tensor(labels)))
            batch = getattr(self.transform, "batch", None)
            out = batch(images) if batch is not None else None
            if out is not None:
                return Batch((Tensor(out), Tensor(labels)))
        return [self[int(i)] for i in idx]

    def _folders(self, *names):
        root = Path(os.path.expanduser(str(self.root))) if self.root is not None else None
        if root is None:
            return None
        for name in names:
            if (root / name).is_dir():
                return root / name
        return root

    def __repr__(self):
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: "
                f"{self.root}\n    Split: {split}")


class MNIST(VisionDataset):
    """The MNIST digits: 60,000 training and 10,000 test images of 28 x 28 pixels, labels 0-9."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def _load(self, download):
        folder = self._folders("MNIST/raw", "MNIST")
        try:
            return _files.load_mnist(folder)
        except _files.DatasetNotFoundError:
            if not download:
                raise
            dest = None if self.root is None else Path(os.path.expanduser(str(self.root))) / "MNIST" / "raw"
            _files.download_mnist(dest)
            return _files.load_mnist(dest)


class FashionMNIST(VisionDataset):
    """Zalando's Fashion-MNIST: 60,000 + 10,000 clothing images of 28 x 28 pixels in 10 classes."""

    classes = list(_files.FASHION_MNIST_CLASSES)

    def _load(self, download):
        return _files.load_fashion_mnist(self._folders("FashionMNIST/raw", "FashionMNIST", "fashion-mnist"))


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 + 10,000 colour images of 32 x 32 pixels (H, W, 3) in 10 classes."""

    classes = list(_files.CIFAR10_CLASSES)

    def _load(self, download):
        return _files.load_cifar10(self._folders("cifar-10-batches-bin", "CIFAR10", "cifar10"))


__getattr__ = missing(__name__, "torchvision.datasets", {
    n: "chainrule.torch.vision reads MNIST, FashionMNIST and CIFAR10" for n in
    ("CIFAR100", "ImageFolder", "KMNIST", "EMNIST", "SVHN", "STL10", "CelebA", "ImageNet", "QMNIST")})

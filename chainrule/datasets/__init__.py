"""Data sets and data preparation for chainrule (pure NumPy, plus scikit-learn's bundled sets).

* Bundled: :func:`load_digits`, :func:`load_breast_cancer`.
* The notes' extrapolation series: :func:`pairing_energies`.
* Generated: :func:`make_moons`, :func:`logic_gate`, :func:`franke`,
  :func:`franke_function`, :func:`noisy_sine`, :func:`make_sequences`.
* Files: :func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_cifar10`,
  with the IDX reader/writer :func:`read_idx` / :func:`write_idx`.
* Preparation: :func:`train_test_split`, :func:`one_hot`, :func:`standardize`,
  :class:`Standardizer`.
* Registry: :data:`DATASETS` and :func:`available`.

Examples
--------
>>> from chainrule.datasets import logic_gate, one_hot
>>> X, y = logic_gate("and")
>>> one_hot(y)
array([[1., 0.],
       [1., 0.],
       [1., 0.],
       [0., 1.]])
"""
from __future__ import annotations

from .bundled import load_breast_cancer, load_digits
from .files import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    DatasetNotFoundError,
    cache_dir,
    download_mnist,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    locate,
    read_cifar10_batch,
    search_dirs,
)
from .idx import DatasetFileError, read_idx, write_idx
from .pairing import pairing_energies
from .preprocessing import Standardizer, one_hot, standardize, train_test_split
from .registry import DATASETS, Availability, DatasetInfo, available
from .synthetic import (
    franke,
    franke_function,
    logic_gate,
    make_moons,
    make_sequences,
    noisy_sine,
)

__all__ = [
    "load_digits",
    "load_breast_cancer",
    "make_moons",
    "logic_gate",
    "franke",
    "franke_function",
    "noisy_sine",
    "make_sequences",
    "pairing_energies",
    "train_test_split",
    "one_hot",
    "standardize",
    "Standardizer",
    "read_idx",
    "write_idx",
    "read_cifar10_batch",
    "DatasetFileError",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "download_mnist",
    "DatasetNotFoundError",
    "locate",
    "search_dirs",
    "cache_dir",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
    "DATASETS",
    "DatasetInfo",
    "Availability",
    "available",
]

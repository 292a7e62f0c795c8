"""Named data sets for the command line: ``DATASETS`` and :func:`available`."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

from . import bundled, files, synthetic

__all__ = ["DatasetInfo", "Availability", "DATASETS", "available"]


@dataclass(frozen=True)
class DatasetInfo:
    """Description of one named data set.

    Attributes
    ----------
    name : str
        Registry key.
    description : str
        One line for listings.
    task : {'classification', 'regression'}
    loader : callable
        Returns the data; keyword arguments are passed through (for example
        ``seed=`` for the synthetic sets, ``path=`` for the file-based ones).
    source : {'scikit-learn', 'synthetic', 'files'}
        Where the data comes from.
    presplit : bool
        True if ``loader()`` returns ``((X_train, y_train), (X_test, y_test))``;
        otherwise it returns ``(X, y)``.
    n_classes : int or None
        Number of classes for classification sets.
    """

    name: str
    description: str
    task: str
    loader: Callable
    source: str
    presplit: bool = False
    n_classes: Optional[int] = None

    def load(self, **kwargs: Any) -> Any:
        """Call the loader."""
        return self.loader(**kwargs)

    def locate(self) -> Optional[Path]:
        """Folder holding a file-based set (None if absent or not file-based)."""
        if self.source != "files":
            return None
        return files.locate(self.name)


class Availability(NamedTuple):
    """Whether a data set can be loaded here, and from which folder (file-based sets)."""

    present: bool
    location: Optional[str]


def _entry(name, description, task, loader, source, presplit=False, n_classes=None):
    return name, DatasetInfo(name, description, task, loader, source, presplit, n_classes)


DATASETS = dict(
    [
        _entry("digits", "8x8 handwritten digits, 1797 x 64 features (scikit-learn)",
               "classification", bundled.load_digits, "scikit-learn", n_classes=10),
        _entry("breast_cancer", "Wisconsin breast cancer, 569 x 30 features (scikit-learn)",
               "classification", bundled.load_breast_cancer, "scikit-learn", n_classes=2),
        _entry("moons", "two interleaving half circles in 2-D",
               "classification", synthetic.make_moons, "synthetic", n_classes=2),
        _entry("xor", "XOR truth table, 4 points (not linearly separable)",
               "classification", functools.partial(synthetic.logic_gate, "xor"), "synthetic",
               n_classes=2),
        _entry("and", "AND truth table, 4 points",
               "classification", functools.partial(synthetic.logic_gate, "and"), "synthetic",
               n_classes=2),
        _entry("or", "OR truth table, 4 points",
               "classification", functools.partial(synthetic.logic_gate, "or"), "synthetic",
               n_classes=2),
        _entry("franke", "Franke's function on the unit square, 2 inputs -> 1 output",
               "regression", synthetic.franke, "synthetic"),
        _entry("sine", "one period of sin(2 pi x) with Gaussian noise",
               "regression", synthetic.noisy_sine, "synthetic"),
        _entry("fashion_mnist", "Fashion-MNIST, 70000 28x28 clothing images (IDX files)",
               "classification", files.load_fashion_mnist, "files", presplit=True, n_classes=10),
        _entry("mnist", "MNIST, 70000 28x28 handwritten digits (IDX files)",
               "classification", files.load_mnist, "files", presplit=True, n_classes=10),
        _entry("cifar10", "CIFAR-10, 60000 32x32 colour images (binary batches)",
               "classification", files.load_cifar10, "files", presplit=True, n_classes=10),
    ]
)


def available() -> dict:
    """Which registered data sets can be loaded on this machine.

    File-based sets are only looked up (files exist), never read.

    Returns
    -------
    dict
        name -> :class:`Availability` ``(present, location)``; ``location`` is
        the folder for file-based sets and None for the others.

    Examples
    --------
    >>> status = available()
    >>> status["xor"]
    Availability(present=True, location=None)
    >>> sorted(status) == sorted(DATASETS)
    True
    """
    out = {}
    for name, info in DATASETS.items():
        if info.source == "files":
            folder = info.locate()
            out[name] = Availability(folder is not None, None if folder is None else str(folder))
        else:
            out[name] = Availability(True, None)
    return out

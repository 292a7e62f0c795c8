"""``torch.utils.data`` on chainrule: ``Dataset``, ``TensorDataset``, ``DataLoader``, ``Subset``, ``random_split``.

``Dataset`` and ``TensorDataset`` are :mod:`chainrule.data`'s; ``DataLoader`` takes PyTorch's
signature (``batch_size=1`` by default, ``collate_fn``, ``generator``; ``num_workers`` and
``pin_memory`` change nothing here: batches are gathered in this process).  A dataset with
``__getitems__(indices)`` (as PyTorch 2 defines it) hands out whole batches at once, which the
torchvision-style datasets of :mod:`chainrule.torch.vision` use to apply their transforms to a
batch in one go.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._unsupported import missing, unsupported
from chainrule.data import DataLoader as _DataLoader, Dataset, TensorDataset, default_collate
from chainrule.tensor import get_rng

if TYPE_CHECKING:
    from chainrule.torch._core import Generator

__all__ = ["Dataset", "TensorDataset", "DataLoader", "Subset", "ConcatDataset", "random_split", "default_collate"]


class DataLoader(_DataLoader):
    """``DataLoader(dataset, batch_size=1, shuffle=False, ..., drop_last=False, collate_fn=None, generator=None)``.

    Each epoch (each ``iter()``) visits the samples in a fresh random order when ``shuffle``;
    batches are tuples of Tensors (``default_collate``) unless ``collate_fn`` says otherwise.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, sampler: None = None,
                 batch_sampler: None = None, num_workers: int = 0, collate_fn: Callable[[list[Any]], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None, multiprocessing_context: Any = None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "") -> None:
        if sampler is not None or batch_sampler is not None:
            raise unsupported("torch.utils.data.DataLoader(sampler=..., batch_sampler=...)", "use shuffle=True")
        if batch_size is None:
            raise unsupported("torch.utils.data.DataLoader(batch_size=None)", "give a batch size")
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle,
                         seed=None if generator is None else generator.rng, drop_last=drop_last)
        self.collate_fn = collate_fn
        self.num_workers = num_workers

    def __iter__(self):
        if self.collate_fn is None:
            return super().__iter__()
        rng = self._rng if self._rng is not None else get_rng()
        n = len(self.dataset)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        return (self.collate_fn([self.dataset[int(i)] for i in order[s:s + self.batch_size]])
                for s in range(0, stop, self.batch_size))


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Iterable[int]) -> None:
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        if isinstance(i, (list, np.ndarray)):
            return self.dataset[[self.indices[int(j)] for j in i]]
        return self.dataset[self.indices[i]]

    def __getitems__(self, idx):
        inner = [self.indices[int(j)] for j in idx]
        get = getattr(self.dataset, "__getitems__", None)
        return get(inner) if get is not None else [self.dataset[j] for j in inner]


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self):
        return int(self.cumulative_sizes[-1]) if self.datasets else 0

    def __getitem__(self, i):
        if i < 0:
            i += len(self)
        k = int(np.searchsorted(self.cumulative_sizes, i, side="right"))
        start = 0 if k == 0 else int(self.cumulative_sizes[k - 1])
        return self.datasets[k][i - start]


def random_split(dataset: Dataset, lengths: Sequence[int] | Sequence[float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths (or fractions summing to 1;
    the remainder goes round-robin to the first subsets, as in PyTorch)."""
    n = len(dataset)
    lengths = list(lengths)
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0) and sum(lengths) <= 1 + 1e-9:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {lengths} do not sum to the dataset's length {n}")
    rng = generator.rng if generator is not None else get_rng()
    perm = rng.permutation(n)
    out, start = [], 0
    for size in lengths:
        out.append(Subset(dataset, perm[start:start + size]))
        start += size
    return out


__getattr__ = missing(__name__, "torch.utils.data", {
    n: "" for n in ("Sampler", "RandomSampler", "SequentialSampler", "WeightedRandomSampler", "IterableDataset",
                    "BatchSampler", "get_worker_info")})

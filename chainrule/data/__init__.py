"""Batching: PyTorch-style :class:`TensorDataset` and :class:`DataLoader`, and the :func:`batches` index helper.

An epoch of mini-batch gradient descent visits every sample once, in a fresh
random order (when shuffling), ``batch_size`` samples at a time.  A
:class:`DataLoader` does exactly that and hands out each batch as a tuple of
:class:`~chainrule.Tensor` objects, ready for ``model(xb)``.

Examples
--------
>>> import numpy as np
>>> from chainrule.data import TensorDataset, DataLoader
>>> X, y = np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1])
>>> loader = DataLoader(TensorDataset(X, y), batch_size=2)
>>> len(loader)
3
>>> [tuple(xb.shape) + tuple(yb.shape) for xb, yb in loader]
[(2, 2, 2), (2, 2, 2), (1, 2, 1)]
"""
from chainrule.data.loader import Dataset, TensorDataset, DataLoader, Batch, batches, default_collate

__all__ = ["Dataset", "TensorDataset", "DataLoader", "Batch", "batches", "default_collate"]

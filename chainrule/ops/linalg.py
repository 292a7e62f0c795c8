"""Matrix product, the workhorse of every dense layer."""
from __future__ import annotations

import numpy as np

from chainrule.function import Function


class MatMul(Function):
    """Matrix product.  Y = A @ B;  VJP: Abar = Ybar @ B^T,  Bbar = A^T @ Ybar;
    JVP: Ydot = Adot @ B + A @ Bdot.

    Vectors follow NumPy: a 1-D A is a row, a 1-D B a column, and the added axis
    is dropped again.  Leading (batch) axes broadcast; their gradients are summed
    back by the engine.
    """

    def forward(self, a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}; "
                             f"use * for scalars")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape} "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        ga, gb = self.needs_input_grad
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g = g.reshape((1, 1))
        elif a.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        elif b.ndim == 1:
            g = g.reshape(g.shape + (1,))
        da = db = None
        if ga:
            da = g @ _mT(b2)
            if a.ndim == 1:
                da = da.reshape(da.shape[:-2] + da.shape[-1:]) if da.ndim > 2 else da[0]
        if gb:
            db = _mT(a2) @ g
            if b.ndim == 1:
                db = db[..., 0]
        return da, db

    def jvp(self, da, db):
        out = None
        if da is not None:
            out = np.matmul(da, self.b)
        if db is not None:
            t = np.matmul(self.a, db)
            out = t if out is None else out + t
        return out


def _mT(x):
    """Swap the last two axes (the matrix transpose of a stack of matrices), for ndarrays and Tensors."""
    if x.ndim == 2:
        return x.T
    return x.transpose(tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))

"""Parameter: a Tensor that a Module owns and an optimizer updates."""
from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


class Parameter(Tensor):
    """A trainable Tensor (``requires_grad=True``), registered by the Module that holds it.

    Optimizers update ``p.data`` in place, so a Parameter's array keeps its
    identity for the whole run.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True, name=None):
        arr = data.data if isinstance(data, Tensor) else data
        super().__init__(np.asarray(arr), requires_grad=requires_grad, name=name)

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype}{', name=' + repr(self.name) if self.name else ''})"

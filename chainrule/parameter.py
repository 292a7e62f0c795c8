"""Parameter: a Tensor that a Module owns and an optimizer updates."""
from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor


class Parameter(Tensor):
    """A trainable Tensor (``requires_grad=True``), registered by the Module that holds it.

    Optimizers update ``p.data`` in place, so a Parameter's array keeps its
    identity for the whole run.

    An optimizer that keeps the gradients of its parameters in one flat buffer
    (and does not clip them there) sets ``_grad_out`` to this parameter's slice
    of it.  Back-propagation then writes the gradient straight into that slice
    and ``.grad`` is a view of it, as PyTorch's ``.grad`` is one tensor reused
    under ``zero_grad(set_to_none=False)``: the next backward pass after
    ``zero_grad()`` writes into the same array, so copy ``.grad`` to keep it.
    """

    __slots__ = ("_grad_out",)

    def __init__(self, data, requires_grad=True, name=None):
        arr = data.data if isinstance(data, Tensor) else data
        super().__init__(np.asarray(arr), requires_grad=requires_grad, name=name)
        self._grad_out = None

    def grad_storage(self):
        """The slice of the optimizer's flat gradient buffer offered for this parameter, if it still
        fits (same shape and dtype: ``.data`` may have been replaced since), else None."""
        buf = self._grad_out
        if buf is None or buf.shape != self.data.shape or buf.dtype != self.data.dtype:
            return None
        return buf

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype}{', name=' + repr(self.name) if self.name else ''})"

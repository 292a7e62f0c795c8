"""Parameter: a Tensor that a Module owns and an optimizer updates; a limit on creating them."""
from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Callable, Optional, Sequence, TensorLike


#: counts the constraints set on Parameters in this process: while it is 0 the optimizers skip looking for them
constraints_changed = [0]


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

    ``constraint`` (None, or a function of the values returning their projection, such as Keras'
    ``MaxNorm``: :mod:`chainrule.nn.constraints`) is applied by the optimizers right after each
    update of this parameter: ``p.data <- constraint(p.data)``.
    """

    __slots__ = ("_grad_out", "_constraint")

    def __init__(self, data: TensorLike, requires_grad: bool = True, name: Optional[str] = None) -> None:
        arr = data.data if isinstance(data, Tensor) else data
        super().__init__(np.asarray(arr), requires_grad=requires_grad, name=name)
        self._grad_out = None
        self._constraint = None

    @property
    def constraint(self) -> Optional[Callable[[np.ndarray], np.ndarray]]:
        """The projection the optimizers apply after updating this parameter (None: none)."""
        return getattr(self, "_constraint", None)

    @constraint.setter
    def constraint(self, fn: Optional[Callable[[np.ndarray], np.ndarray]]) -> None:
        if fn is not None and not callable(fn):
            raise TypeError(f"Parameter.constraint must be a function of the values (such as "
                            f"chainrule.nn.constraints.MaxNorm()) or None, got {type(fn).__name__}")
        self._constraint = fn
        constraints_changed[0] += 1

    def grad_storage(self) -> Optional[np.ndarray]:
        """The slice of the optimizer's flat gradient buffer offered for this parameter, if it still
        fits (same shape and dtype: ``.data`` may have been replaced since), else None."""
        buf = self._grad_out
        if buf is None or buf.shape != self.data.shape or buf.dtype != self.data.dtype:
            return None
        return buf

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype}{', name=' + repr(self.name) if self.name else ''})"


# ------------------------------------------------------------------ allocation limit
class AllocationLimitError(ValueError):
    """Creating a weight would exceed the limit set by :func:`allocation_limit`."""

    def __init__(self, shape: Sequence[int], n: int, left: int) -> None:
        self.shape, self.n, self.left = tuple(shape), n, left
        super().__init__(f"a weight of shape {self.shape} ({n} numbers) exceeds the allocation limit "
                         f"({left} numbers left)")


_limit = threading.local()


@contextlib.contextmanager
def allocation_limit(n_values: int) -> Iterator[None]:
    """Within the block, weights of more than ``n_values`` numbers in all are refused before they are
    allocated (:class:`AllocationLimitError`).  ``chainrule.io.load_model`` rebuilds a saved
    architecture under the number of weights its file holds, so a tiny file describing a huge
    network cannot make it allocate gigabytes.  Layers count each weight with :func:`reserve`.
    """
    prev = getattr(_limit, "left", None)
    _limit.left = int(n_values)
    try:
        yield
    finally:
        _limit.left = prev


def reserve(shape: Sequence[int]) -> None:
    """Count a weight of ``shape`` against the current :func:`allocation_limit` (none: free), before
    allocating it; raises :class:`AllocationLimitError` when it does not fit."""
    left = getattr(_limit, "left", None)
    if left is None:
        return
    n = math.prod(max(int(s), 0) for s in shape)
    if n > left:
        raise AllocationLimitError(shape, n, left)
    _limit.left = left - n

"""PyTorch's ``torch.nn.functional`` (``import chainrule.torch.nn.functional as F``): chainrule.nn.functional
(activations and losses under PyTorch's names and arguments) plus ``dropout`` and ``one_hot``."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule import ops
from chainrule._unsupported import missing
from chainrule.nn.functional import *  # noqa: F401,F403
from chainrule.nn.core import dropout_mask
from chainrule.nn.functional import __all__ as _base_all
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, TensorLike

__all__ = list(_base_all) + ["dropout", "one_hot"]


def dropout(input: TensorLike, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> TensorLike:  # noqa: A002
    """Inverted dropout: in training y = x m / (1 - p), m_i ~ Bernoulli(1 - p); y = x otherwise."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p!r}")
    if not training or p == 0:
        return input
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    return ops.mul(input, dropout_mask(data.shape, p, data.dtype))


def one_hot(tensor: ArrayLike, num_classes: int = -1) -> Tensor:
    """Class indices -> int64 one-hot rows (a new last axis of size num_classes)."""
    t = np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {t.dtype}")
    n = int(t.max()) + 1 if num_classes == -1 else int(num_classes)
    return Tensor(np.eye(n, dtype=np.int64)[t])


__getattr__ = missing(__name__, "torch.nn.functional", {
    n: "use the modules of chainrule.torch.nn (Conv2d, MaxPool2d, ...)" for n in
    ("conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
     "interpolate", "pad", "embedding")})

"""Gradient clipping, as standalone functions on parameters' ``.grad`` (PyTorch's names).

These modify ``.grad`` in place because that is what the caller asks for.  The
optimizers' own ``clipvalue`` / ``clipnorm`` / ``global_clipnorm`` options
(Keras' names) clip private copies instead and never touch ``.grad``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Union

import numpy as np

from chainrule.optim.schedules import _in_range
from chainrule.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(params, fname):
    if isinstance(params, Tensor):
        params = [params]
    out = []
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fname}: expected Parameters (Tensors), got {type(p).__name__} at position {i}")
        if p.grad is not None:
            if not p.grad.flags.writeable:
                p.grad = p.grad.copy()
            out.append(p)
    return out


def clip_grad_norm_(params: Union[Tensor, Iterable[Tensor]], max_norm: float, norm_type: float = 2.0) -> float:
    """Rescale gradients together so that their global norm is at most ``max_norm``.

    ||g|| = (sum over parameters and entries of |g|^p)^(1/p) (p = ``norm_type``,
    ``inf`` for the largest entry); every ``.grad`` is multiplied in place by
    min(1, max_norm / (||g|| + 1e-6)), exactly as PyTorch's
    ``torch.nn.utils.clip_grad_norm_``.  Parameters without a gradient are
    ignored.

    Returns
    -------
    float
        The global norm before clipping.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.nn import Parameter
    >>> a, b = Parameter(np.zeros(1)), Parameter(np.zeros(1))
    >>> a.grad, b.grad = np.array([3.0]), np.array([4.0])
    >>> clip_grad_norm_([a, b], max_norm=1.0)
    5.0
    >>> np.round([a.grad[0], b.grad[0]], 6).tolist()
    [0.6, 0.8]
    """
    max_norm = _in_range("clip_grad_norm_", "max_norm", max_norm, lo=0.0)
    norm_type = _in_range("clip_grad_norm_", "norm_type", norm_type, lo=0.0, lo_open=True, finite=False)
    ps = _grads(params, "clip_grad_norm_")
    if not ps:
        return 0.0
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(p.grad))) if p.grad.size else 0.0 for p in ps)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in ps))
    else:
        total = sum(float(np.sum(np.abs(p.grad) ** norm_type)) for p in ps) ** (1.0 / norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in ps:
            p.grad *= p.grad.dtype.type(coef)
    return total


def clip_grad_value_(params: Union[Tensor, Iterable[Tensor]], clip_value: float) -> None:
    """Clip every gradient entry to [-clip_value, clip_value], in place (PyTorch's name).

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.nn import Parameter
    >>> p = Parameter(np.zeros(3))
    >>> p.grad = np.array([-5.0, 0.5, 2.0])
    >>> clip_grad_value_([p], 1.0)
    >>> p.grad.tolist()
    [-1.0, 0.5, 1.0]
    """
    c = _in_range("clip_grad_value_", "clip_value", clip_value, lo=0.0)
    for p in _grads(params, "clip_grad_value_"):
        np.clip(p.grad, -c, c, out=p.grad)

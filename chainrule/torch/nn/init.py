"""PyTorch's ``torch.nn.init``: fill a weight in place (``nn.init.xavier_uniform_(layer.weight)``).

Fans are PyTorch's: for a weight of shape (out, in, *kernel), fan_in = in k and fan_out = out k
(k the kernel's size), which is the layout of ``Linear.weight`` and ``Conv2d.weight`` here too
(views of chainrule's kernels, so filling them fills the kernels).  The random draws come from
chainrule's generator (``torch.manual_seed`` seeds it)::

    xavier_uniform_   U[-a, a],  a = gain sqrt(6 / (fan_in + fan_out))
    xavier_normal_    N(0, gain^2 2 / (fan_in + fan_out))
    kaiming_uniform_  U[-b, b],  b = gain sqrt(3 / fan),  gain = calculate_gain(nonlinearity, a)
    kaiming_normal_   N(0, gain^2 / fan)
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from chainrule.tensor import Tensor, get_rng

if TYPE_CHECKING:
    from chainrule.torch._core import Generator

#: the weight a function fills, returned as it came (a Tensor or Parameter, or an ndarray)
_W = TypeVar("_W", Tensor, np.ndarray)

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "trunc_normal_"]


def _fill(tensor, values):
    arr = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"nn.init: expected a Tensor or Parameter, got {type(tensor).__name__}")
    arr[...] = np.asarray(values, dtype=arr.dtype).reshape(arr.shape)
    return tensor


def _shape(tensor):
    return tuple(np.shape(tensor.data if isinstance(tensor, Tensor) else tensor))


def _fans(tensor):
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError(f"nn.init: fan in and fan out need a weight of 2 or more dimensions, got shape {shape}")
    k = math.prod(shape[2:])
    return shape[1] * k, shape[0] * k


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's gains: 1 (linear, sigmoid), 5/3 (tanh), sqrt 2 (relu), sqrt(2 / (1 + a^2)) (leaky_relu), 3/4 (selu)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
              "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def uniform_(tensor: _W, a: float = 0.0, b: float = 1.0, generator: Generator | None = None) -> _W:
    """Fill ``tensor`` in place with draws from U[a, b]."""
    return _fill(tensor, get_rng().uniform(a, b, _shape(tensor)))


def normal_(tensor: _W, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None) -> _W:
    """Fill ``tensor`` in place with draws from N(mean, std^2)."""
    return _fill(tensor, get_rng().normal(mean, std, _shape(tensor)))


def trunc_normal_(tensor: _W, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Generator | None = None) -> _W:
    """N(mean, std^2) restricted to [a, b] (redrawn outside)."""
    x = get_rng().normal(mean, std, _shape(tensor))
    bad = (x < a) | (x > b)
    while bad.any():
        x[bad] = get_rng().normal(mean, std, int(bad.sum()))
        bad = (x < a) | (x > b)
    return _fill(tensor, x)


def constant_(tensor: _W, val: float) -> _W:
    """Fill ``tensor`` in place with ``val``."""
    return _fill(tensor, np.full(_shape(tensor), val))


def zeros_(tensor: _W) -> _W:
    """Fill ``tensor`` in place with zeros."""
    return constant_(tensor, 0.0)


def ones_(tensor: _W) -> _W:
    """Fill ``tensor`` in place with ones."""
    return constant_(tensor, 1.0)


def eye_(tensor: _W) -> _W:
    """Fill the 2-D ``tensor`` in place with the identity matrix."""
    return _fill(tensor, np.eye(*_shape(tensor)))


def xavier_uniform_(tensor: _W, gain: float = 1.0, generator: Generator | None = None) -> _W:
    """Glorot's uniform draw in place: U[-a, a], a = gain sqrt(6 / (fan_in + fan_out))."""
    fi, fo = _fans(tensor)
    a = gain * math.sqrt(6.0 / (fi + fo))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor: _W, gain: float = 1.0, generator: Generator | None = None) -> _W:
    """Glorot's normal draw in place: N(0, gain^2 2 / (fan_in + fan_out))."""
    fi, fo = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fi + fo)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    fi, fo = _fans(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return calculate_gain(nonlinearity, a) / math.sqrt(fi if mode == "fan_in" else fo)


def kaiming_uniform_(tensor: _W, a: float = 0.0, mode: Literal["fan_in", "fan_out"] = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Generator | None = None) -> _W:
    """He's uniform draw in place: U[-b, b], b = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: _W, a: float = 0.0, mode: Literal["fan_in", "fan_out"] = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Generator | None = None) -> _W:
    """He's normal draw in place: N(0, gain^2 / fan), gain = calculate_gain(nonlinearity, a)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def orthogonal_(tensor: _W, gain: float = 1.0, generator: Generator | None = None) -> _W:
    """A random matrix with orthonormal rows or columns (QR of a normal matrix, signs fixed by diag R), times gain."""
    shape = _shape(tensor)
    rows, cols = shape[0], math.prod(shape[1:])
    q, r = np.linalg.qr(get_rng().standard_normal((max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q)

"""Keras' noise layers, regularizers that act in training only (the identity in evaluation), on the
engine's primitives: the gradient of each is the noise it drew (y = x + e: ybar; y = x m: ybar m).

* ``GaussianNoise(stddev)``:  y = x + e,  e ~ N(0, stddev^2) (additive noise, e.g. on a series' inputs);
* ``GaussianDropout(rate)``:  y = x m,  m ~ N(1, rate / (1 - rate)) (multiplicative noise with the
  mean and variance of inverted dropout's x m / (1 - rate));
* ``AlphaDropout(rate)``: dropout for self-normalizing (SELU) networks (Klambauer et al. 2017).  A
  dropped unit is set to SELU's negative saturation alpha' = -lambda alpha instead of 0, and the
  result is mapped by y = a x' + b with a = ((1 - rate)(1 + rate alpha'^2))^(-1/2) and
  b = -a alpha' rate, which keeps a zero-mean, unit-variance input so.

Each keeps the input's padding mask (they act on each time step alone), as Keras' do.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _checks, ops
from chainrule.nn.core import Dropout, Layer, _check_float_input, _data
from chainrule.ops.elementwise import _SELU_ALPHA, _SELU_SCALE
from chainrule.tensor import get_rng

if TYPE_CHECKING:
    from chainrule._typing import TensorLike

__all__ = ["GaussianNoise", "GaussianDropout", "AlphaDropout"]


class _Noise(Layer):
    """What the noise layers share: a seed of their own or the global generator, training only."""

    _passes_mask = True    # each time step alone: the input's mask stays (Keras' supports_masking)

    def __init__(self, seed: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = _checks.seed(type(self).__name__, seed)
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _generator(self):
        return self._rng or get_rng()

    def _normal(self, data):
        """Standard normal draws of ``data``'s shape and dtype (drawn in float64 for float64, else float32)."""
        _check_float_input(type(self).__name__, data)
        draw = np.float64 if data.dtype == np.float64 else np.float32
        return self._generator().standard_normal(data.shape, dtype=draw).astype(data.dtype, copy=False)


class GaussianNoise(_Noise):
    """Keras' ``GaussianNoise(stddev, seed=None)``: y = x + e with e ~ N(0, stddev^2) in training, y = x
    in evaluation.

    >>> import numpy as np
    >>> layer = GaussianNoise(0.1, seed=0)
    >>> x = np.ones((1000, 4), dtype="float32")
    >>> y = layer(x)                                   # a new layer is in training mode
    >>> bool(abs(float(np.std(y)) - 0.1) < 0.01)
    True
    >>> layer.eval()(x) is x
    True
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        self.stddev = _checks.in_range("GaussianNoise", "stddev", stddev, lo=0.0)
        super().__init__(seed, **kwargs)

    def forward(self, x: TensorLike) -> TensorLike:
        if not self.training or self.stddev == 0:
            return x
        data = _data(x)
        e = self._normal(data)
        e *= data.dtype.type(self.stddev)
        return ops.add(x, e)

    def get_config(self) -> dict[str, Any]:
        return {"stddev": self.stddev, "seed": self.seed}

    def extra_repr(self) -> str:
        return f"stddev={self.stddev}"


class GaussianDropout(_Noise):
    """Keras' ``GaussianDropout(rate, seed=None)``: y = x m with m ~ N(1, rate / (1 - rate)) in training,
    y = x in evaluation."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        self.rate = _checks.in_range("GaussianDropout", "rate", rate, 0.0, 1.0, hi_open=True)
        super().__init__(seed, **kwargs)

    def forward(self, x: TensorLike) -> TensorLike:
        if not self.training or self.rate == 0:
            return x
        data = _data(x)
        m = self._normal(data)
        m *= data.dtype.type(math.sqrt(self.rate / (1.0 - self.rate)))
        m += 1
        return ops.mul(x, m)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed}

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class AlphaDropout(Dropout):
    """Keras' ``AlphaDropout(rate, noise_shape=None, seed=None)`` (the module docstring has its equations):
    y = a (x k + alpha' (1 - k)) + b with k ~ Bernoulli(1 - rate) in training, y = x in evaluation;
    ``rate``, ``noise_shape`` and ``seed`` as in :class:`~chainrule.nn.Dropout`."""

    def forward(self, x: TensorLike) -> TensorLike:
        if not self.training or self.rate == 0:
            return x
        data = _data(x)
        keep = ((self._rng or get_rng()).random(self._mask_shape(data), dtype=np.float32) >= self.rate).astype(
            data.dtype)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        # a (x k + alpha' (1 - k)) + b = x (a k) + (a alpha' (1 - k) + b): one product, one sum
        shift = (1 - keep) * data.dtype.type(a * alpha_p) + data.dtype.type(b)
        keep *= data.dtype.type(a)
        return ops.add(ops.mul(x, keep), shift)

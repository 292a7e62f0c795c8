"""``keras.initializers`` on chainrule: Keras' initializers with Keras' arguments and distributions.

The uniform ones are :mod:`chainrule.nn.init`'s (``GlorotUniform``, ``HeUniform``, ``Zeros``,
``Ones``, ``Orthogonal``); the others are subclassed for Keras' signatures and draws:
``RandomNormal(mean=0.0, stddev=0.05)``, ``RandomUniform(minval=-0.05, maxval=0.05)``,
``Constant(value=0.0)``, and the normal variance-scaling initializers ``GlorotNormal``,
``HeNormal`` and ``LecunNormal``, which Keras draws from a normal truncated at two standard
deviations, scaled so that the variance is 2 / (n_in + n_out), 2 / n_in and 1 / n_in.
Each takes ``seed=``: a seeded initializer gives the same values at every call, as in Keras.
The classes are named ``KerasGlorotNormal`` etc. (exported under Keras' names) so that a saved
model's config names them apart from chainrule's.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._unsupported import missing
from chainrule.nn import init as _init
from chainrule.nn.init import GlorotUniform as _GlorotUniform, HeUniform as _HeUniform, Initializer
from chainrule.nn.init import Orthogonal as _Orthogonal, Zeros, Ones, _fans

if TYPE_CHECKING:
    from chainrule._typing import DTypeLike

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "GlorotUniform",
           "GlorotNormal", "HeUniform", "HeNormal", "LecunNormal", "LecunUniform", "Orthogonal", "TruncatedNormal",
           "get", "zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "orthogonal"]


class _Seeded:
    """Keras' ``seed=``: the same draw at every call."""

    def __call__(self, shape: Sequence[int], dtype: DTypeLike = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        if getattr(self, "seed", None) is not None:
            rng = np.random.default_rng(self.seed)
        return super().__call__(shape, dtype=dtype, rng=rng)


class KerasGlorotUniform(_Seeded, _GlorotUniform):
    """W ~ U[-l, l], l = sqrt(6 / (n_in + n_out))."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed


class KerasHeUniform(_Seeded, _HeUniform):
    """W ~ U[-l, l], l = sqrt(6 / n_in)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed


class KerasLecunUniform(_Seeded, Initializer):
    """W ~ U[-l, l], l = sqrt(3 / n_in)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Draw an array of the given shape uniformly from [-l, l] with l = sqrt(3 / n_in)."""
        lim = np.sqrt(3.0 / _fans(shape)[0])
        return rng.uniform(-lim, lim, size=shape)


class KerasOrthogonal(_Seeded, _Orthogonal):
    """A random orthogonal matrix times ``gain``."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(gain)
        self.seed = seed


class KerasConstant(_init.Constant):
    """Keras' ``Constant(value=0.0)``."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(value)


class KerasRandomNormal(_Seeded, _init.Normal):
    """Keras' ``RandomNormal(mean=0.0, stddev=0.05)``: W ~ N(mean, stddev^2)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(mean, stddev)
        self.seed = seed

    def get_config(self) -> dict[str, Any]:
        """The initializer's arguments (``mean``, ``stddev``, ``seed``) as a dict under Keras' names."""
        return {"mean": self.mean, "stddev": self.std, "seed": self.seed}


class KerasRandomUniform(_Seeded, _init.Uniform):
    """Keras' ``RandomUniform(minval=-0.05, maxval=0.05)``: W ~ U[minval, maxval]."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        super().__init__(minval, maxval)
        self.seed = seed

    def get_config(self) -> dict[str, Any]:
        """The initializer's arguments (``minval``, ``maxval``, ``seed``) as a dict under Keras' names."""
        return {"minval": self.low, "maxval": self.high, "seed": self.seed}


def _truncated_normal(rng, shape, std):
    """N(0, std^2) restricted to [-2 std, 2 std] (redrawn outside), as Keras' truncated normal."""
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2.0
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2.0
    return x * std


class KerasTruncatedNormal(_Seeded, Initializer):
    """Keras' ``TruncatedNormal(mean=0.0, stddev=0.05)``: N(mean, stddev^2) cut at two standard deviations."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Draw an array of the given shape from N(mean, stddev^2), redrawing values beyond two standard deviations."""
        return self.mean + _truncated_normal(rng, shape, self.stddev)


class _VarianceScalingNormal(_Seeded, Initializer):
    """Var(W) = scale / n (n = n_in, or (n_in + n_out) / 2), drawn from a truncated normal whose standard
    deviation is sqrt(scale / n) / 0.8796 (the factor makes up for the cut tails, as in Keras)."""

    scale, mode = 1.0, "fan_in"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Draw an array of the given shape from the truncated normal of variance ``scale / n``."""
        fi, fo = _fans(shape)
        n = fi if self.mode == "fan_in" else (fi + fo) / 2.0
        return _truncated_normal(rng, shape, np.sqrt(self.scale / n) / 0.87962566103423978)


class KerasGlorotNormal(_VarianceScalingNormal):
    """Keras' ``GlorotNormal``: truncated normal with Var(W) = 2 / (n_in + n_out)."""
    scale, mode = 1.0, "fan_avg"


class KerasHeNormal(_VarianceScalingNormal):
    """Keras' ``HeNormal``: truncated normal with Var(W) = 2 / n_in."""
    scale, mode = 2.0, "fan_in"


class KerasLecunNormal(_VarianceScalingNormal):
    """Keras' ``LecunNormal``: truncated normal with Var(W) = 1 / n_in."""
    scale, mode = 1.0, "fan_in"


(GlorotUniform, HeUniform, LecunUniform, Orthogonal, Constant, RandomNormal, RandomUniform, TruncatedNormal,
 GlorotNormal, HeNormal, LecunNormal) = (KerasGlorotUniform, KerasHeUniform, KerasLecunUniform, KerasOrthogonal,
                                         KerasConstant, KerasRandomNormal, KerasRandomUniform, KerasTruncatedNormal,
                                         KerasGlorotNormal, KerasHeNormal, KerasLecunNormal)

_NAMES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
          "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "glorot_uniform": GlorotUniform,
          "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
          "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "orthogonal": Orthogonal}
zeros, ones, glorot_uniform, glorot_normal = Zeros, Ones, GlorotUniform, GlorotNormal
he_uniform, he_normal, orthogonal = HeUniform, HeNormal, Orthogonal


def get(identifier: str | Initializer | type[Initializer] | Mapping[str, Any] | Callable[..., np.ndarray]
        ) -> Initializer | Callable[..., np.ndarray]:
    """Keras' ``initializers.get``: an initializer from a Keras name, a class, an instance or a callable."""
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    return _init.get(identifier)


__getattr__ = missing(__name__, "keras.initializers", {
    n: "see chainrule.keras.initializers for the ones chainrule has" for n in
    ("VarianceScaling", "Identity", "IdentityInitializer", "STFT")})

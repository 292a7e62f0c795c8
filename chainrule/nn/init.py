"""Weight initializers.

Fan-in and fan-out are the input and output sizes of a (n_in, n_out) kernel.
Glorot (Xavier) keeps the variance of activations and gradients equal across
layers: Var(W) = 2 / (n_in + n_out); He does it for ReLU: Var(W) = 2 / n_in.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.parameter import reserve
from chainrule.threads import one_blas_thread
from chainrule.tensor import get_default_dtype, get_rng

if TYPE_CHECKING:
    from chainrule._typing import DTypeLike


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class WeightTooLargeError(ValueError, MemoryError):
    """A weight too large for this machine's memory: a layer size (units, filters, input size) that is
    absurd.  Both a ``ValueError`` (bad input) and a ``MemoryError`` (what NumPy raised)."""

    def __init__(self, shape: Sequence[int], dtype: DTypeLike) -> None:
        self.shape = tuple(int(s) for s in shape)
        n = 1
        for s in self.shape:
            n *= max(s, 0)
        need = n * np.dtype(dtype).itemsize
        super().__init__(f"a weight of shape {self.shape} ({n} numbers of {np.dtype(dtype).name}, {need / 2**30:.3g} "
                         f"GiB) does not fit in this machine's memory; check the layer sizes (units, filters, the "
                         f"input's features)")


class Initializer:
    """Base class: ``init(shape, dtype=None, rng=None) -> ndarray``."""

    def __call__(self, shape: Sequence[int], dtype: DTypeLike = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        dtype = np.dtype(dtype or get_default_dtype())
        reserve(shape)  # within an allocation limit (load_model), refused before allocating
        try:
            return np.asarray(self.sample(tuple(shape), rng if rng is not None else get_rng()), dtype=dtype)
        except MemoryError:
            raise WeightTooLargeError(shape, dtype) from None

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - abstract
        """Return an array of the given ``shape`` drawn with the generator ``rng``; subclasses implement
        it."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Return the initializer's settings as a dict, enough to rebuild it."""
        return {k: v for k, v in vars(self).items()}


class Zeros(Initializer):
    """All zeros (the default bias)."""
    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return an array of zeros of the given shape."""
        return np.zeros(shape)


class Ones(Initializer):
    """All ones (BatchNormalization's scale)."""
    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return an array of ones of the given shape."""
        return np.ones(shape)


class Constant(Initializer):
    """Every entry ``value``; the notes start biases at 0.01 so every ReLU unit fires at first."""
    def __init__(self, value: float = 0.01) -> None:
        self.value = float(value)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return an array of the given shape filled with ``value``."""
        return np.full(shape, self.value)


class Normal(Initializer):
    """W ~ N(mean, std^2); the notes' ``np.random.randn`` is mean 0, std 1."""
    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        if std < 0:
            raise ValueError(f"Normal: std must be >= 0, got {std}")
        self.mean, self.std = float(mean), float(std)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return normal samples with mean ``mean`` and standard deviation ``std``."""
        return rng.normal(self.mean, self.std, size=shape)


class Uniform(Initializer):
    """W ~ U[low, high]; the notes' default interval is [-0.7, 0.7]."""
    def __init__(self, low: float = -0.7, high: float = 0.7) -> None:
        if not low < high:
            raise ValueError(f"Uniform: expected low < high, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return uniform samples between ``low`` and ``high``."""
        return rng.uniform(self.low, self.high, size=shape)


class GlorotUniform(Initializer):
    """Xavier uniform: W ~ U[-l, l], l = sqrt(6 / (n_in + n_out))."""
    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return uniform samples in plus or minus ``sqrt(6 / (fan_in + fan_out))``."""
        fi, fo = _fans(shape)
        lim = np.sqrt(6.0 / (fi + fo))
        return rng.uniform(-lim, lim, size=shape)


class GlorotNormal(Initializer):
    """Xavier normal: W ~ N(0, 2 / (n_in + n_out))."""
    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return normal samples with mean 0 and variance ``2 / (fan_in + fan_out)``."""
        fi, fo = _fans(shape)
        return rng.normal(0.0, np.sqrt(2.0 / (fi + fo)), size=shape)


class HeUniform(Initializer):
    """He uniform: W ~ U[-l, l], l = sqrt(6 / n_in)."""
    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return uniform samples in plus or minus ``sqrt(6 / fan_in)``."""
        fi, _ = _fans(shape)
        lim = np.sqrt(6.0 / fi)
        return rng.uniform(-lim, lim, size=shape)


class HeNormal(Initializer):
    """He normal: W ~ N(0, 2 / n_in)."""
    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return normal samples with mean 0 and variance ``2 / fan_in``."""
        fi, _ = _fans(shape)
        return rng.normal(0.0, np.sqrt(2.0 / fi), size=shape)


class Orthogonal(Initializer):
    """A random orthogonal matrix (Saxe et al. 2014), Keras' default recurrent kernel: W = gain Q
    with Q from the QR decomposition of a standard normal matrix (signs fixed by diag(R), so Q is
    uniform over the orthogonal group).  For a (rows, cols) shape, Q has orthonormal rows when
    rows <= cols (W W^T = gain^2 I) and orthonormal columns otherwise; leading axes are flattened
    into the rows."""
    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return a (semi-)orthogonal matrix from a QR decomposition, reshaped to ``shape`` and scaled by
        ``gain``."""
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape of rank 2 or more, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        # one BLAS thread: a QR of a weight-sized matrix gains nothing from more, and OpenBLAS's threaded QR
        # can stall on a busy machine (9 s instead of 0.07 s for a 750 x 250 matrix on a loaded 2-core one)
        with one_blas_thread():
            q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


_REGISTRY = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "normal": Normal, "random_normal": Normal,
    "uniform": Uniform, "random_uniform": Uniform, "glorot_uniform": GlorotUniform,
    "xavier_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal, "orthogonal": Orthogonal,
}


def get(init: str | Initializer | Mapping[str, Any] | Callable[..., np.ndarray]) -> Initializer | Callable[..., np.ndarray]:
    """Resolve an initializer from a name, an Initializer, a config dict, or a callable(shape, dtype, rng)."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, str):
        cls = _REGISTRY.get(init.lower())
        if cls is None:
            raise ValueError(f"unknown initializer {init!r}; expected one of {', '.join(sorted(_REGISTRY))}")
        return cls()
    if isinstance(init, dict):
        return deserialize(init)
    if callable(init):
        return init
    raise TypeError(f"initializer: expected a name, an Initializer or a callable, got {type(init).__name__}")


def serialize(init: Initializer) -> dict[str, Any]:
    """An Initializer as a JSON-able ``{'class_name': ..., 'config': {...}}`` dict (what a saved model stores)."""
    if not isinstance(init, Initializer):
        raise TypeError(f"cannot save a custom initializer {init!r}; use a named one or an Initializer subclass")
    return {"class_name": type(init).__name__, "config": init.get_config()}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def deserialize(config: Mapping[str, Any]) -> Initializer:
    """The Initializer a :func:`serialize` dict describes (looked up by its class name)."""
    # chainrule's initializers, then any other Initializer subclass by its class name (those of
    # chainrule.keras.initializers, say, or your own)
    classes = {c.__name__: c for c in _subclasses(Initializer)}
    classes.update({c.__name__: c for c in _REGISTRY.values()})
    name = config.get("class_name")
    if name not in classes:
        raise ValueError(f"unknown initializer class {name!r} in saved config")
    return classes[name](**config.get("config", {}))

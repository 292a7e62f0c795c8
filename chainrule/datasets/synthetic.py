"""Small generated data sets: logic gates, two moons, the Franke function,
a noisy sine and sliding windows over a time series."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, Optional

__all__ = [
    "logic_gate",
    "make_moons",
    "franke_function",
    "franke",
    "noisy_sine",
    "make_sequences",
    "LOGIC_GATES",
]

#: Truth tables of the supported gates, indexed by the inputs (0,0), (0,1), (1,0), (1,1).
LOGIC_GATES = {
    "xor": (0, 1, 1, 0),
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
}


def _seed(seed, random_state, fname):
    """``seed``, or scikit-learn's name for it, ``random_state`` (not both)."""
    if seed is not None and random_state is not None:
        raise TypeError(f"{fname}: give seed or random_state (the same thing), not both")
    return seed if random_state is None else random_state


def _check_count(n, name="n") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be at least 1, got {n}")
    return int(n)


def _check_noise(noise) -> float:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a real number, got {type(noise).__name__}")
    noise = float(noise)
    if not noise >= 0.0:  # also rejects NaN
        raise ValueError(f"noise must be >= 0, got {noise}")
    return noise


def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Truth table of a two-input logic gate.

    Parameters
    ----------
    name : {'xor', 'and', 'or'}
        The gate (case-insensitive).

    Returns
    -------
    X : ndarray of float64, shape (4, 2)
        All four input combinations ``(0,0), (0,1), (1,0), (1,1)``.
    y : ndarray of int64, shape (4,)
        The gate's output for each row of ``X``.

    Raises
    ------
    ValueError
        For an unknown gate name; the message lists the valid names.

    Examples
    --------
    >>> X, y = logic_gate("xor")
    >>> X
    array([[0., 0.],
           [0., 1.],
           [1., 0.],
           [1., 1.]])
    >>> y
    array([0, 1, 1, 0])
    """
    if not isinstance(name, str):
        raise TypeError(f"logic_gate name must be a string, got {type(name).__name__}")
    key = name.lower()
    if key not in LOGIC_GATES:
        raise ValueError(
            f"unknown logic gate {name!r}; valid names are {', '.join(map(repr, LOGIC_GATES))}"
        )
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array(LOGIC_GATES[key], dtype=np.int64)
    return X, y


def make_moons(n: int = 200, noise: float = 0.1, seed: Optional[int] = None, *,
               random_state: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Parameters
    ----------
    n : int, default 200
        Number of points, split as evenly as possible between the moons.
    noise : float, default 0.1
        Standard deviation of Gaussian noise added to the points.
    seed : int, numpy.random.Generator or None
        Seed for reproducible output (``random_state``, scikit-learn's name, is the same).

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
    y : ndarray of int64, shape (n,)
        Moon membership, 0 or 1.

    Examples
    --------
    >>> X, y = make_moons(10, noise=0.0, seed=0)
    >>> X.shape, y.shape, sorted(set(y.tolist()))
    ((10, 2), (10,), [0, 1])
    """
    from sklearn.datasets import make_moons as _sk_make_moons

    n = _check_count(n)
    noise = _check_noise(noise)
    seed = _seed(seed, random_state, "make_moons")
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**32))
    X, y = _sk_make_moons(n_samples=n, noise=noise, random_state=seed)
    return X.astype(np.float64, copy=False), y.astype(np.int64, copy=False)


def franke_function(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Franke's bivariate test function.

    .. math::

        f(x, y) = \\tfrac34 e^{-(9x-2)^2/4 - (9y-2)^2/4}
                + \\tfrac34 e^{-(9x+1)^2/49 - (9y+1)/10}
                + \\tfrac12 e^{-(9x-7)^2/4 - (9y-3)^2/4}
                - \\tfrac15 e^{-(9x-4)^2 - (9y-7)^2}

    Parameters
    ----------
    x, y : array_like
        Coordinates, broadcast against each other. Usually in ``[0, 1]``.

    Returns
    -------
    ndarray or float
        ``f(x, y)`` with the broadcast shape.

    Examples
    --------
    >>> round(float(franke_function(0.0, 0.0)), 6)
    0.766421
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    t1 = 0.75 * np.exp(-((9 * x - 2) ** 2) / 4.0 - ((9 * y - 2) ** 2) / 4.0)
    t2 = 0.75 * np.exp(-((9 * x + 1) ** 2) / 49.0 - (9 * y + 1) / 10.0)
    t3 = 0.5 * np.exp(-((9 * x - 7) ** 2) / 4.0 - ((9 * y - 3) ** 2) / 4.0)
    t4 = -0.2 * np.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2)
    return t1 + t2 + t3 + t4


def franke(n: int = 100, noise: float = 0.0, seed: Optional[int] = None, *,
           random_state: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Samples of the Franke function at uniform random points of the unit square.

    Parameters
    ----------
    n : int, default 100
        Number of samples.
    noise : float, default 0.0
        Standard deviation of Gaussian noise added to the targets.
    seed : int, numpy.random.Generator or None
        Seed for reproducible output. The inputs drawn for a given seed do not
        depend on ``noise``.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        Points uniform in ``[0, 1]^2``.
    y : ndarray of float64, shape (n,)
        ``franke_function(X[:, 0], X[:, 1]) + noise * N(0, 1)``.

    Examples
    --------
    >>> X, y = franke(5, seed=1)
    >>> X.shape, y.shape
    ((5, 2), (5,))
    >>> bool(np.allclose(y, franke_function(X[:, 0], X[:, 1])))
    True
    """
    n = _check_count(n)
    noise = _check_noise(noise)
    rng = np.random.default_rng(_seed(seed, random_state, "franke"))
    X = rng.uniform(0.0, 1.0, size=(n, 2))
    eps = rng.standard_normal(n)
    y = franke_function(X[:, 0], X[:, 1]) + noise * eps
    return X, y


def noisy_sine(n: int = 100, noise: float = 0.1, seed: Optional[int] = None, *,
               random_state: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of one period of a sine wave, ``y = sin(2 pi x) + noise``.

    Parameters
    ----------
    n : int, default 100
        Number of samples.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise.
    seed : int, numpy.random.Generator or None
        Seed for reproducible output (``random_state``, scikit-learn's name, is the same).

    Returns
    -------
    x : ndarray of float64, shape (n, 1)
        Inputs uniform in ``[0, 1]``.
    y : ndarray of float64, shape (n, 1)
        Targets.

    Examples
    --------
    >>> x, y = noisy_sine(4, noise=0.0, seed=0)
    >>> x.shape, y.shape
    ((4, 1), (4, 1))
    >>> bool(np.allclose(y, np.sin(2 * np.pi * x)))
    True
    """
    n = _check_count(n)
    noise = _check_noise(noise)
    rng = np.random.default_rng(_seed(seed, random_state, "noisy_sine"))
    x = rng.uniform(0.0, 1.0, size=(n, 1))
    y = np.sin(2.0 * np.pi * x) + noise * rng.standard_normal((n, 1))
    return x, y


def make_sequences(series: ArrayLike, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows over a time series, for next-value prediction.

    Window ``i`` holds ``series[i:i+steps]`` and its target is the value that
    follows it, ``series[i+steps]``.

    Parameters
    ----------
    series : array_like, shape (T,) or (T, F)
        The series; a 2-D input holds ``F`` features per time step.
    steps : int
        Window length, ``1 <= steps < T``.

    Returns
    -------
    X : ndarray, shape (T - steps, steps) or (T - steps, steps, F)
    y : ndarray, shape (T - steps,) or (T - steps, F)

    Raises
    ------
    ValueError
        If ``steps`` is not in ``1 .. T-1`` or ``series`` is not 1-D or 2-D.
    TypeError
        If ``steps`` is not an integer.

    Examples
    --------
    >>> X, y = make_sequences([0, 1, 2, 3, 4], steps=3)
    >>> X
    array([[0, 1, 2],
           [1, 2, 3]])
    >>> y
    array([3, 4])
    """
    s = np.asarray(series)
    if s.ndim not in (1, 2):
        raise ValueError(
            f"make_sequences expects a 1-D series of shape (T,) or 2-D of shape (T, F), "
            f"got shape {s.shape}"
        )
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"steps must be an integer, got {type(steps).__name__}")
    T = s.shape[0]
    if not 1 <= steps < T:
        raise ValueError(
            f"steps must satisfy 1 <= steps < len(series) = {T} "
            f"(each window needs a following target value), got steps={steps}"
        )
    steps = int(steps)
    windows = np.lib.stride_tricks.sliding_window_view(s, steps, axis=0)[:-1]
    if s.ndim == 2:  # (N, F, steps) -> (N, steps, F)
        windows = windows.transpose(0, 2, 1)
    X = np.ascontiguousarray(windows).copy()
    y = s[steps:].copy()
    return X, y

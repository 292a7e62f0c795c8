"""Checks for public arguments where they enter: the right type, finite, in range.

Every constructor and function that takes a hyperparameter (a learning rate, a rate, an
epsilon, a size, a seed) checks it with one of these, so that a bad value is refused with a
message naming the owner, the argument, the range and the value -- never accepted and turned
into NaN weights later.  ``True`` is not an integer here, nor NaN or infinity a number.

>>> in_range("Dropout", "rate", 0.5, 0.0, 1.0, hi_open=True)
0.5
>>> positive_int("Dense", "units", True)
Traceback (most recent call last):
...
ValueError: Dense: units must be a positive integer, got True
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import numpy as np

__all__ = ["number", "in_range", "positive_int", "seed", "shape", "dtype", "axis"]


def number(owner: str, name: str, value: Any, finite: bool = True) -> float:
    """``value`` as a float: a real number (not a bool), not NaN, finite unless ``finite`` is False."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value}")
    return value


def in_range(owner: str, name: str, value: Any, lo: Optional[float] = None, hi: Optional[float] = None,
             lo_open: bool = False, hi_open: bool = False, finite: bool = True) -> float:
    """Check lo <= value <= hi (open ends where asked), and that value is finite unless ``finite`` is
    False; ValueError naming the range and the value.  Returns the value as a float."""
    value = number(owner, name, value, finite)
    bad = ((lo is not None and (value <= lo if lo_open else value < lo))
           or (hi is not None and (value >= hi if hi_open else value > hi)))
    if bad:
        if hi is None:
            rng = f"> {lo:g}" if lo_open else f">= {lo:g}"
        elif lo is None:
            rng = f"< {hi:g}" if hi_open else f"<= {hi:g}"
        else:
            rng = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"{owner}: {name} must be {rng}, got {value!r}")
    return value


def positive_int(owner: str, name: str, value: Any, minimum: int = 1, allow_none: bool = False,
                 whole_floats: bool = False) -> Optional[int]:
    """``value`` as an int >= ``minimum`` (an integer, not a bool); None passes if ``allow_none``.

    ``whole_floats`` also takes a float with a whole value (``units=n / 2``, as tf.keras 2 did)."""
    if value is None and allow_none:
        return None
    if whole_floats and isinstance(value, (float, numbers.Real)) and not isinstance(value, numbers.Integral) \
            and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{owner}: {name} must be {what}, got {value!r}")
    return int(value)


def seed(owner: str, value: Any, name: str = "seed") -> Optional[int]:
    """A seed for ``numpy.random.default_rng``: None or a non-negative integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{owner}: {name} must be a non-negative integer or None, got {value!r}")
    return int(value)


def shape(owner: str, name: str, value: Any, unknown_ok: bool = True) -> tuple[Optional[int], ...]:
    """A shape as a tuple of positive ints (None for a size left open where ``unknown_ok``); one int
    is a 1-tuple.  Refuses bools, fractions, zero and negative sizes, naming the owner and argument."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        dims = tuple(value)
    except TypeError:
        dims = None
    if isinstance(value, (str, bytes)) or dims is None or not all(
            (d is None and unknown_ok) or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0)
            for d in dims):
        sizes = "positive integers (None for a size that may vary)" if unknown_ok else "positive integers"
        raise ValueError(f"{owner}: {name} must be a tuple of {sizes}, got {value!r}")
    return tuple(None if d is None else int(d) for d in dims)


def dtype(owner: str, value: Any, name: str = "dtype") -> np.dtype:
    """``value`` as a NumPy dtype (a name such as 'float32', a NumPy type), with the owner in the error."""
    import numpy as np
    try:
        return np.dtype(value)
    except TypeError:
        raise TypeError(f"{owner}: {name} must be a NumPy dtype or its name, e.g. 'float32', got {value!r}") from None


def axis(owner: str, value: Any, name: str = "axis") -> int:
    """An axis index (an integer, negative from the end; not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{owner}: {name} must be an integer axis (e.g. -1, the last), got {value!r}")
    return int(value)

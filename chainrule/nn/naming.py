"""Keras' automatic layer names: ``dense``, ``dense_1``, ``dense_2``, ... per class, until ``clear_session()``.

A layer built without ``name=`` takes its class name in snake case (``Dense`` -> ``dense``,
``MaxPooling2D`` -> ``max_pooling2d``, ``SimpleRNN`` -> ``simple_rnn``) and, from the second
one of that name on, a counter: the n-th unnamed ``Dense`` of a session is ``dense_{n-1}``,
as Keras 3 numbers them.  ``reset()`` (``keras.backend.clear_session()``) starts the counters
over.  A name given explicitly is taken as it is and counts nothing.

>>> reset()
>>> [unique_name("Dense") for _ in range(3)], unique_name("MaxPooling2D"), unique_name("SimpleRNN")
(['dense', 'dense_1', 'dense_2'], 'max_pooling2d', 'simple_rnn')
"""
from __future__ import annotations

import collections
import contextlib
import re
import threading
from collections.abc import Iterator

__all__ = ["to_snake_case", "unique_name", "reset", "get_uid", "suspended"]


class _Counters(threading.local):
    def __init__(self):
        self.uids = collections.defaultdict(int)
        self.suspended = 0


_STATE = _Counters()


def to_snake_case(name: str) -> str:
    """``'BatchNormalization'`` -> ``'batch_normalization'`` (Keras' rule, digits stay with the word before)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(class_name: str) -> str:
    """The next automatic name for an object of class ``class_name`` (its counter moves on).

    While :func:`suspended` is in effect (a saved model is being rebuilt with its saved names)
    the counter stays where it is."""
    prefix = to_snake_case(class_name)
    if _STATE.suspended:
        return prefix
    n = _STATE.uids[prefix]
    _STATE.uids[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def get_uid(prefix: str = "") -> int:
    """Keras' ``backend.get_uid``: 1, 2, 3, ... per prefix (shares the counters of the names)."""
    _STATE.uids[prefix] += 1
    return _STATE.uids[prefix]


def reset() -> None:
    """Start every counter over (``keras.backend.clear_session()``)."""
    _STATE.uids.clear()


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Automatic names within the block move no counter (they are replaced by saved names)."""
    _STATE.suspended += 1
    try:
        yield
    finally:
        _STATE.suspended -= 1

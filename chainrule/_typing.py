"""The names chainrule's type hints use, written once.

A hint in chainrule says what a function accepts the way its users think of it:
``TensorLike`` is anything the engine turns into an array (a Tensor, an ndarray, a
Python or NumPy scalar, a nested list), ``ArrayLike`` the same without Tensors.
Every module writes ``from __future__ import annotations``, so hints cost nothing
at import time; ``typing.get_type_hints`` resolves them against this module's names.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, Optional, TypeVar, Union

import numpy as np
import numpy.typing as npt

from chainrule.tensor import Tensor

__all__ = ["ArrayLike", "TensorLike", "DTypeLike", "Shape", "Axis", "Seed", "PathLike",
           "Callable", "Iterable", "Iterator", "Mapping", "Sequence", "Any", "Literal", "Optional", "TypeVar",
           "Union", "Tensor", "np", "npt", "TensorOrArray", "Grads", "Tangent",
           "ActivationLike", "PyTree", "ArgNums"]

#: what NumPy turns into an array: an ndarray, a scalar, a nested list or tuple
ArrayLike = npt.ArrayLike
#: what chainrule's functions take: a Tensor or anything NumPy turns into an array
TensorLike = Union[Tensor, npt.ArrayLike]
#: a dtype, its name ('float32') or a type (np.float64)
DTypeLike = npt.DTypeLike
#: an array's shape
Shape = tuple[int, ...]
#: an axis argument: one axis, several, or None for all of them
Axis = Union[int, Sequence[int], None]
#: a random seed as NumPy's default_rng takes it
Seed = Union[int, np.random.Generator, np.random.SeedSequence, None]
#: a path on disk
PathLike = Union[str, os.PathLike]
#: what chainrule's functions return: a Tensor when an input is a Tensor, else a plain ndarray
TensorOrArray = Union[Tensor, np.ndarray]
#: what a primitive's VJP (``Function.backward``) returns: one adjoint per input, None where none is needed
Grads = tuple[Optional[TensorOrArray], ...]
#: a forward-mode tangent as ``Function.jvp`` takes and returns it; None stands for zero
Tangent = Optional[np.ndarray]
#: an activation as the layers take it: a name ('relu', 'Leaky-ReLU'), a function, or None (the identity)
ActivationLike = Union[str, Callable[..., Any], None]
#: a nested structure of lists, tuples and dicts whose leaves are arrays or Tensors (JAX's pytree)
PyTree = Any
#: which positional argument(s) a transform differentiates: one index, or several
ArgNums = Union[int, Sequence[int]]

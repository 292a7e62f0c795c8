"""Keras' merging layers: combine a list of tensors into one (the joints of a functional graph).

``Add()([a, b])`` is a + b, ``Subtract`` a - b, ``Multiply`` the product entry by entry,
``Average`` the mean, ``Maximum``/``Minimum`` the largest/smallest entry, ``Concatenate(axis=-1)``
puts them side by side.  Each is a composition of primitives (the adjoint of a sum goes to every
summand, that of a product to each factor times the others, ...), so they need no derivative of
their own.

>>> import numpy as np
>>> np.asarray(Add()([np.ones((2, 3)), np.ones((2, 3))])).tolist()[0]
[2.0, 2.0, 2.0]
>>> Concatenate()([np.ones((2, 3)), np.zeros((2, 1))]).shape
(2, 4)
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _checks, ops
from chainrule.nn.core import Layer, _data
from chainrule.nn.masking import get_mask, set_mask
from chainrule.nn.symbolic import KerasTensor
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import TensorLike

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate"]


class _Merge(Layer):
    def _inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected a list of at least 2 inputs, got "
                             f"{type(inputs).__name__}{' of length ' + str(len(inputs)) if isinstance(inputs, (list, tuple)) else ''}")
        return list(inputs)

    def _check_same(self, shapes):
        first = tuple(shapes[0])
        for s in shapes[1:]:
            if len(s) != len(first) or any(a is not None and b is not None and a != b and 1 not in (a, b)
                                           for a, b in zip(first, s)):
                raise ValueError(f"{self.name} ({type(self).__name__}): the inputs must have the same shape (or "
                                 f"broadcast), got {[tuple(x) for x in shapes]}")

    def build(self, input_shape: Sequence[Sequence[int | None]]) -> tuple[int | None, ...]:
        self._check_same(input_shape)
        return Layer.build(self, input_shape)

    def compute_output_shape(self, input_shape: Sequence[Sequence[int | None]]) -> tuple[int | None, ...]:
        shapes = [tuple(s) for s in input_shape]
        self._check_same(shapes)
        return tuple(next((d for d in dims if d not in (None, 1)), dims[0]) for dims in zip(*shapes))

    def forward(self, inputs: Sequence[TensorLike]) -> Tensor | np.ndarray:
        xs = self._inputs(inputs)
        self._check_same([np.shape(_data(x)) for x in xs])
        out = xs[0]
        for x in xs[1:]:
            out = self._combine(out, x)
        return self._merge_masks(xs, self._finish(out, len(xs)))

    def _merge_masks(self, xs, out):
        """Keras' mask of an entrywise merge: the OR of the inputs' (batch, time) masks when every input has
        one, else none."""
        masks = [get_mask(x) for x in xs]
        if out is not xs[0] and masks and all(m is not None for m in masks):
            merged = masks[0]
            for m in masks[1:]:
                merged = merged | m
            if np.shape(_data(out))[:2] == merged.shape:
                set_mask(out, merged)
        return out

    def _finish(self, out, n):
        return out


class Add(_Merge):
    """y = x_1 + x_2 + ... + x_n."""
    def _combine(self, a, b):
        return ops.add(a, b)


class Subtract(_Merge):
    """y = x_1 - x_2 (exactly two inputs)."""
    def _inputs(self, inputs):
        xs = super()._inputs(inputs)
        if len(xs) != 2:
            raise ValueError(f"{self.name} (Subtract): expected exactly 2 inputs, got {len(xs)}")
        return xs

    def _combine(self, a, b):
        return ops.sub(a, b)


class Multiply(_Merge):
    """y = x_1 x_2 ... x_n, entry by entry."""
    def _combine(self, a, b):
        return ops.mul(a, b)


class Average(_Merge):
    """y = (x_1 + ... + x_n) / n."""
    def _combine(self, a, b):
        return ops.add(a, b)

    def _finish(self, out, n):
        return ops.div(out, float(n))


class Maximum(_Merge):
    """y = max(x_1, ..., x_n), entry by entry (the adjoint goes to the largest)."""
    def _combine(self, a, b):
        return ops.maximum(a, b)


class Minimum(_Merge):
    """y = min(x_1, ..., x_n), entry by entry."""
    def _combine(self, a, b):
        return ops.minimum(a, b)


class Concatenate(_Merge):
    """The inputs side by side along ``axis`` (the last by default); the other axes must agree."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _checks.axis("Concatenate", axis)

    def _check_same(self, shapes):
        shapes = [tuple(s) for s in shapes]
        rank = len(shapes[0])
        ax = self.axis % rank if rank else 0
        for s in shapes[1:]:
            if len(s) != rank or any(a is not None and b is not None and a != b
                                     for i, (a, b) in enumerate(zip(shapes[0], s)) if i != ax):
                raise ValueError(f"{self.name} (Concatenate): the inputs must agree on every axis but axis "
                                 f"{self.axis}, got {shapes}")

    def compute_output_shape(self, input_shape: Sequence[Sequence[int | None]]) -> tuple[int | None, ...]:
        shapes = [tuple(s) for s in input_shape]
        self._check_same(shapes)
        ax = self.axis % len(shapes[0])
        sizes = [s[ax] for s in shapes]
        out = list(shapes[0])
        out[ax] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def forward(self, inputs: Sequence[TensorLike]) -> Tensor | np.ndarray:
        xs = self._inputs(inputs)
        self._check_same([np.shape(_data(x)) for x in xs])
        return self._merge_masks(xs, ops.concatenate(xs, axis=self.axis))

    def _merge_masks(self, xs, out):
        """Keras' mask of a concatenation: along the batch or time axis the inputs' masks side by side, along
        a feature axis their OR; an input without a mask counts as unmasked."""
        masks = [get_mask(x) for x in xs]
        shape = np.shape(_data(out))
        if all(m is None for m in masks) or len(shape) < 2:
            return out
        full = [np.ones(np.shape(_data(x))[:2], bool) if m is None else m for x, m in zip(xs, masks)]
        ax = self.axis % len(shape)
        if ax < 2:
            merged = np.concatenate(full, axis=ax)
        else:
            merged = full[0]
            for m in full[1:]:
                merged = merged | m
        if merged.shape == shape[:2]:
            set_mask(out, merged)
        return out

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


def _functional(cls, doc):
    def merge(inputs: Sequence[TensorLike | KerasTensor], **kwargs: Any) -> Tensor | np.ndarray | KerasTensor:
        return cls(**kwargs)(inputs)
    merge.__doc__ = doc
    merge.__name__ = cls.__name__.lower()
    return merge


add = _functional(Add, "``add([a, b])``: ``Add()([a, b])`` (Keras' functional form).")
subtract = _functional(Subtract, "``subtract([a, b])``: ``Subtract()([a, b])``.")
multiply = _functional(Multiply, "``multiply([a, b])``: ``Multiply()([a, b])``.")
average = _functional(Average, "``average([a, b])``: ``Average()([a, b])``.")
maximum = _functional(Maximum, "``maximum([a, b])``: ``Maximum()([a, b])``.")
minimum = _functional(Minimum, "``minimum([a, b])``: ``Minimum()([a, b])``.")
concatenate = _functional(Concatenate, "``concatenate([a, b], axis=-1)``: ``Concatenate(axis)([a, b])``.")

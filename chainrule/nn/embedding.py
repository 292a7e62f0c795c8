"""Embeddings: integer tokens (words, categories, particle species) to learned vectors.

``Embedding(input_dim, output_dim)`` is Keras' layer: a matrix E of shape (input_dim, output_dim)
whose row i is the vector of token i, so an input of token numbers (batch, time) becomes
(batch, time, output_dim), y[n, t] = E[x[n, t]].  Its gradient adds each output's gradient into
the row it was read from (:func:`chainrule.nn.functional.embedding`, the one lookup that PyTorch's
``nn.Embedding`` in :mod:`chainrule.torch.nn` uses too).  With ``mask_zero=True`` token 0 is
padding: the output carries the mask x != 0, so a recurrent layer after it skips the padded
steps, as after ``Masking`` (:mod:`chainrule.nn.masking`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule import _checks
from chainrule.nn import functional as F
from chainrule.nn import init, regularizers
from chainrule.nn.core import Layer
from chainrule.nn.masking import set_mask
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor, get_default_dtype, get_rng

if TYPE_CHECKING:
    from chainrule._typing import Any, ArrayLike, Callable, DTypeLike, Sequence
    from chainrule.nn.init import Initializer
    from chainrule.nn.regularizers import Regularizer

__all__ = ["Embedding"]

#: Keras' names of RandomUniform(-0.05, 0.05), this layer's default (elsewhere chainrule's 'uniform'
#: is the notes' U(-0.7, 0.7))
_KERAS_UNIFORM = ("uniform", "random_uniform")


class Embedding(Layer):
    """Keras' ``Embedding``: token i -> row i of the embedding matrix E (input_dim, output_dim).

    y[..., :] = E[x[...], :] for integer inputs x of any shape (usually (batch, time)); the
    gradient dL/dE[k] is the sum of dL/dy over the places where x = k.

    Parameters
    ----------
    input_dim : int
        Vocabulary size: the inputs are 0 ... input_dim - 1.
    output_dim : int
        Length of each vector.
    embeddings_initializer : str or Initializer
        Keras' default 'uniform' draws from U(-0.05, 0.05) (for this layer the name means Keras'
        RandomUniform, not the notes' U(-0.7, 0.7) of :mod:`chainrule.nn.init`).
    embeddings_regularizer : Regularizer, optional
        A penalty on E added to the training loss (``l2(1e-4)``).
    embeddings_constraint : Constraint, optional
        A projection of E after each optimizer update (``MaxNorm(1.0)``: :mod:`chainrule.nn.constraints`).
    mask_zero : bool
        Token 0 is padding: the output carries the (batch, time) mask x != 0 for the recurrent
        layers after it (so input_dim should count the padding token too).
    weights : array or [array], optional
        Initial values of E (Keras' ``weights=``).
    input_length : int, optional
        Keras 2's sequence length, taken as ``input_shape=(input_length,)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Embedding(10, 4, mask_zero=True)
    >>> y = layer(np.array([[3, 1, 0], [2, 0, 0]]))
    >>> y.shape, layer.embeddings.shape
    ((2, 3, 4), (10, 4))
    >>> from chainrule.nn.masking import get_mask
    >>> get_mask(y).tolist()
    [[True, True, False], [True, False, False]]
    """

    _weight_regularizers = (("embeddings_regularizer", "embeddings"),)
    _weight_constraints = (("embeddings_constraint", "embeddings"),)

    def __init__(self, input_dim: int, output_dim: int,
                 embeddings_initializer: str | Initializer | Callable[..., np.ndarray] = "uniform",
                 embeddings_regularizer: str | Regularizer | Callable[[Tensor], Tensor] | None = None,
                 embeddings_constraint: str | Callable[[np.ndarray], np.ndarray] | None = None,
                 mask_zero: bool = False,
                 weights: ArrayLike | Sequence[ArrayLike] | None = None, input_length: int | None = None,
                 dtype: DTypeLike = None, **kwargs: Any) -> None:
        who = "Embedding"
        input_dim = _checks.positive_int(who, "input_dim", input_dim)
        output_dim = _checks.positive_int(who, "output_dim", output_dim)
        if not isinstance(mask_zero, (bool, np.bool_)):
            raise TypeError(f"Embedding: mask_zero must be True or False, got {mask_zero!r}")
        if input_length is not None and kwargs.get("input_shape") is None:
            kwargs["input_shape"] = (_checks.positive_int(who, "input_length", input_length),)
        super().__init__(embeddings_constraint=embeddings_constraint, **kwargs)
        self.input_dim, self.output_dim, self.mask_zero = int(input_dim), int(output_dim), bool(mask_zero)
        if isinstance(embeddings_initializer, str) and embeddings_initializer.lower() in _KERAS_UNIFORM:
            embeddings_initializer = init.Uniform(-0.05, 0.05)   # Keras' RandomUniform defaults
        self.embeddings_initializer = init.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.dtype = _checks.dtype(who, dtype) if dtype is not None else None
        shape = (self.input_dim, self.output_dim)
        self.embeddings = Parameter(self.embeddings_initializer(shape, dtype=self.dtype or get_default_dtype(),
                                                                rng=get_rng()))
        if weights is not None:
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])
        if self.input_shape is not None:
            self.build(self.input_shape)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*tuple(input_shape), self.output_dim)

    def forward(self, x: ArrayLike | Tensor) -> Tensor:
        idx = F.embedding_indices(x, self.input_dim, repr(self))
        y = F._lookup(idx, self.embeddings)
        if self.mask_zero and idx.ndim == 2:
            set_mask(y, idx != 0)
        return y

    def compute_mask(self, x: ArrayLike | Tensor) -> np.ndarray | None:
        """Keras' mask of the output: x != 0 when ``mask_zero``, else None."""
        return np.asarray(x.data if isinstance(x, Tensor) else x) != 0 if self.mask_zero else None

    def get_config(self) -> dict[str, Any]:
        return {"input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": init.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                **self._constraint_config(), "mask_zero": self.mask_zero,
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:]),
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, output_dim={self.output_dim}" + (", mask_zero=True"
                                                                             if self.mask_zero else "")

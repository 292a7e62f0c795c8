"""Keras' ``Attention`` layer (dot-product attention of Luong et al. 2015, or the additive "concat" score of
Bahdanau et al. 2015), on the engine's primitives: the attention over an LSTM encoder's outputs.

For a query q (batch, Tq, d), a value v (batch, Tv, d_v) and a key k (batch, Tv, d), by default k = v::

    scores s_ij = q_i . k_j              (score_mode='dot'; times a learned scalar with use_scale)
    scores s_ij = c sum_d tanh(q_id + k_jd)   (score_mode='concat'; tanh(g (q + k)) with use_scale,
                                          c and g learned scalars)
    weights a_ij = softmax_j(s_ij),      masked steps j of the value get s_ij - 1e9 (Keras' rule)
    output o_i = sum_j a_ij v_j          (0 where the query step i is masked)

Masks come from ``mask=[query_mask, value_mask]`` or from the inputs themselves (an Embedding with
``mask_zero``, a ``Masking`` layer), and ``use_causal_mask`` lets step i see only j <= i.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _checks, ops
from chainrule.nn.core import Layer, _data
from chainrule.nn.masking import get_mask, set_mask
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor, get_default_dtype, get_rng

if TYPE_CHECKING:
    from chainrule._typing import Literal, Sequence, TensorLike

__all__ = ["Attention"]


class Attention(Layer):
    """Keras' ``Attention(use_scale=False, score_mode='dot', dropout=0.0, seed=None)``, called on
    ``[query, value]`` or ``[query, value, key]`` (see the module docstring for the equations).

    ``return_attention_scores=True`` also returns the weights a (batch, Tq, Tv); ``dropout`` drops
    weights in training.  Weights: ``scale`` with ``use_scale``, ``concat_score_weight`` with
    ``score_mode='concat'``, scalars starting at 1.

    >>> import numpy as np
    >>> q, v = np.ones((2, 3, 4), dtype='float32'), np.arange(40, dtype='float32').reshape(2, 5, 4)
    >>> out, a = Attention()([q, v], return_attention_scores=True)
    >>> out.shape, a.shape
    ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, use_scale: bool = False, score_mode: Literal["dot", "concat"] = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        who = "Attention"
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{who}: score_mode must be 'dot' or 'concat', got {score_mode!r}")
        if not isinstance(use_scale, (bool, np.bool_)):
            raise TypeError(f"{who}: use_scale must be True or False, got {use_scale!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout = _checks.in_range(who, "dropout", dropout, 0.0, 1.0, hi_open=True)
        self.seed = _checks.seed(who, seed)
        super().__init__(**kwargs)
        object.__setattr__(self, "_rng", None if seed is None else np.random.default_rng(seed))
        object.__setattr__(self, "_self_built", False)

    def build(self, input_shape: Sequence[Any]) -> Any:
        shapes = self._shapes(input_shape)
        dtype = self.__dict__.get("dtype") or get_default_dtype()
        if self.use_scale:
            self.scale = Parameter(np.ones((), dtype))
        if self.score_mode == "concat":
            self.concat_score_weight = Parameter(np.ones((), dtype))
        return Layer.build(self, [tuple(s) for s in shapes])

    def _shapes(self, shapes):
        who = f"{self!r}"
        if not isinstance(shapes, (list, tuple)) or len(shapes) not in (2, 3) or \
                not all(isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{who}: expected the inputs [query, value] or [query, value, key], got {shapes!r}")
        q, v = tuple(shapes[0]), tuple(shapes[1])
        k = tuple(shapes[2]) if len(shapes) > 2 else v
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(f"{who}: query, value and key must be (batch, steps, features), got shapes {q}, {v}, {k}")
        if q[-1] is not None and k[-1] is not None and q[-1] != k[-1]:
            raise ValueError(f"{who}: query and key must have the same number of features, got shapes {q} and {k}")
        if v[1] is not None and k[1] is not None and v[1] != k[1]:
            raise ValueError(f"{who}: value and key must have the same number of steps, got shapes {v} and {k}")
        return q, v, k

    def compute_output_shape(self, input_shape: Sequence[Any]) -> tuple[int | None, ...]:
        q, v, _ = self._shapes(input_shape)
        return (*q[:-1], v[-1])

    def _scores(self, q, k):
        if self.score_mode == "dot":
            s = ops.matmul(q, ops.swapaxes(k, -2, -1))
            return ops.mul(s, self.scale) if self.use_scale else s
        z = ops.add(ops.expand_dims(q, -2), ops.expand_dims(k, -3))      # (batch, Tq, Tv, d)
        if self.use_scale:
            z = ops.mul(z, self.scale)
        return ops.mul(ops.sum(ops.tanh(z), axis=-1), self.concat_score_weight)

    def forward(self, inputs: Sequence[TensorLike], mask: Sequence[Any] | None = None,
                training: bool | None = None, return_attention_scores: bool = False,
                use_causal_mask: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{self!r}: expected the inputs [query, value] or [query, value, key], got "
                             f"{type(inputs).__name__}")
        shapes = [np.shape(_data(x)) for x in inputs]
        self._shapes(shapes)
        if not self.__dict__.get("_self_built"):
            self.build(shapes)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask, v_mask = (None, None) if mask is None else (list(mask) + [None, None])[:2]
        q_mask = get_mask(q) if q_mask is None else np.asarray(_data(q_mask), dtype=bool)
        v_mask = get_mask(v) if v_mask is None else np.asarray(_data(v_mask), dtype=bool)
        s = self._scores(q, k)
        tq, tv = shapes[0][1], shapes[1][1]
        keep = None if v_mask is None else v_mask[:, None, :]
        if use_causal_mask:
            causal = np.tril(np.ones((tq, tv), dtype=bool))[None]
            keep = causal if keep is None else keep & causal
        if keep is not None:
            s = ops.where(keep, s, ops.sub(s, 1e9))
        a = ops.softmax(s, axis=-1)
        training = self.training if training is None else bool(training)
        if self.dropout and training:   # inverted dropout on the weights, as Keras drops them
            rng = self.__dict__["_rng"] or get_rng()
            keep_w = (rng.random(np.shape(_data(a))) >= self.dropout).astype(_data(a).dtype) / (1.0 - self.dropout)
            a = ops.mul(a, keep_w)
        out = ops.matmul(a, v)
        if q_mask is not None:
            out = ops.where(q_mask[:, :, None], out, 0.0)
            set_mask(out, q_mask)
        return (out, a) if return_attention_scores else out

    def get_config(self) -> dict[str, Any]:
        return {"use_scale": self.use_scale, "score_mode": self.score_mode, "dropout": self.dropout,
                "seed": self.seed, "name": self.name}

    def extra_repr(self) -> str:
        return f"score_mode={self.score_mode!r}, use_scale={self.use_scale}"

"""Loss heads: the last link of the chain rule, as primitives that keep dC/da.

A head maps the network's output a (logits, for the classification heads) and the targets
to the scalar cost C, and keeps delta = dC/da from its forward pass, so its VJP is one
multiplication.  Applied to the output of a :class:`~chainrule.ops.fused.DenseStack`, a
head is absorbed into that node (see its docstring): the stack and its loss become one node
of the graph, and back-propagation starts from delta.  :func:`add_l2` absorbs an L2 penalty
on the stack's weights the same way.

* :class:`SoftmaxCrossEntropy`  C = -(1/N) sum_n sum_c t_nc log softmax(z_n)_c, from logits,
  through log-sum-exp (never log(0)), with the famous delta = (softmax(z) - t) / N;
* :class:`PointwiseLoss`  C = s sum_i w_i sum_j l(a_ij, y_ij) for the squared error and for
  the logistic and Poisson losses of a logit / log-rate a (the canonical links, whose
  derivatives are  sigma(a) - y  and  exp(a) - y).

``chainrule.losses`` computes its losses through these, and the composed versions in the
tests are their oracles.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function
from chainrule.ops.elementwise import Activation, Exp, Identity, Sigmoid
from chainrule.ops.fused import DenseStack
from chainrule.ops.reduce import Softmax, row_max, row_sum
from chainrule.tensor import Tensor, _state

if TYPE_CHECKING:
    from chainrule._typing import Any, Grads, Optional, Sequence, Tangent, TensorLike, TensorOrArray

__all__ = ["SoftmaxCrossEntropy", "PointwiseLoss", "add_l2", "labels_out_of_range"]


def _stack_behind(ctx):
    """The DenseStack node a head can be absorbed into, for the node ``ctx`` that made its input:
    the stack itself, or a fusable activation applied to the output of a stack whose last layer
    has none (a Sequential leaves its final sigmoid out of the stack, so that the cross-entropy
    finds the logits behind it; other losses take it back in)."""
    if type(ctx) is DenseStack:
        return ctx if ctx.head is None else None
    if isinstance(ctx, Activation) and not ctx.uses_input and ctx.needs_input_grad[0]:
        inner = ctx.parents[0]._ctx
        if type(inner) is DenseStack and inner.head is None and inner.kernels[-1][0] is Identity:
            return inner.extended(ctx)
    return None


class _Head(Function):
    """Base of the loss heads: ``apply`` on the output of a DenseStack node is absorbed into it."""

    @classmethod
    def apply(cls, a: TensorLike, *args: TensorLike, **params: Any) -> TensorOrArray:
        ctx = getattr(a, "_ctx", None)
        if ctx is not None and _state.grad_enabled and not _state.forward_depth:
            stack = _stack_behind(ctx)
            if stack is not None:
                for v in args:
                    if isinstance(v, Tensor):
                        if v.requires_grad:  # a loss differentiated in its targets too: a node of its own
                            return super().apply(a, *args, **params)
                        args = [v.data if isinstance(v, Tensor) else v for v in args]
                        break
                return stack.absorb_head(cls, a, args, params)
        return super().apply(a, *args, **params)

    def backward(self, g: TensorOrArray) -> Grads:
        if not self.needs_input_grad[0]:
            return (None,) * len(self.needs_input_grad)
        rest = (None,) * (len(self.needs_input_grad) - 1)
        if type(g) is np.ndarray and g.ndim == 0 and float(g) == 1.0:
            return (self.delta, *rest)  # the seed dC/dC = 1: delta as it is (read-only, so never changed)
        return (self.delta * g, *rest)

    def jvp(self, da: Tangent, *rest: Tangent) -> Tangent:
        return None if da is None else np.sum(self.delta * da)


def labels_out_of_range(t: np.ndarray, c: int) -> bool:
    """True if some integer label of ``t`` lies outside [0, c-1] (one pass over the labels:
    seen as unsigned integers, a negative label is larger than any class index)."""
    if not t.size:
        return False
    if t.dtype.kind == "i":
        t = t.view(np.dtype(f"u{t.itemsize}"))
    return int(np.maximum.reduce(t, axis=None)) >= c


def _check_targets(z, t, op):
    """Validate targets against logits z of shape (N, C): integer labels (N,) or a distribution (N, C)."""
    if z.ndim != 2:
        raise ValueError(f"{op}: expected logits of shape (batch, classes), got shape {z.shape}")
    t = np.asarray(t)
    n, c = z.shape
    if t.ndim == 1 or (t.ndim == 2 and t.shape[1] == 1 and c > 1 and t.dtype.kind in "iu"):
        t = t.reshape(-1)
        if t.shape[0] != n:
            raise ValueError(f"{op}: got {t.shape[0]} labels for {n} samples (logits shape {z.shape})")
        if t.dtype.kind not in "iub":
            if t.dtype.kind == "f" and np.all(t == np.round(t)):
                t = t.astype(np.int64)
            else:
                raise ValueError(f"{op}: integer class labels expected for targets of shape {t.shape}, got dtype "
                                 f"{t.dtype}; pass one-hot targets of shape {z.shape} for soft labels")
        if t.dtype.kind == "b":
            t = t.astype(np.int64)  # as class indices 0/1, never as a mask
        if labels_out_of_range(t, c):
            raise ValueError(f"{op}: labels must lie in [0, {c - 1}] for {c} output classes, got labels from "
                             f"{t.min()} to {t.max()}")
        return t, True
    if t.shape != z.shape:
        raise ValueError(f"{op}: targets of shape {t.shape} do not fit outputs of shape {z.shape}; expected integer "
                         f"labels of shape ({n},) or one-hot targets of shape {z.shape}")
    return t, False


_ROW_STARTS = {}


def _row_starts(n, c):
    """Flat index of the first entry of each row of an (n, c) array: 0, c, 2c, ... (cached, read-only)."""
    a = _ROW_STARTS.get((n, c))
    if a is None:
        if len(_ROW_STARTS) > 64:
            _ROW_STARTS.clear()
        a = _ROW_STARTS[(n, c)] = np.arange(0, n * c, c, dtype=np.intp)
        a.flags.writeable = False
    return a


def _softmax_lse(z, m, scale=1):
    """softmax(z) / scale over the rows of z, and logsumexp(z) as an (N, 1) column, given the row
    maxima m (the shift that keeps exp from overflowing)."""
    p = np.subtract(z, m)
    np.exp(p, out=p)
    s = row_sum(p)
    lse = np.log(s)
    lse += m
    if scale != 1:
        s *= scale
    p /= s
    return p, lse


class SoftmaxCrossEntropy(_Head):
    """Mean softmax cross-entropy from logits.

    C = -(1/N) sum_n sum_c t_nc log softmax(z_n)_c,  log softmax(z)_c = z_c - logsumexp(z);
    VJP: zbar = Cbar (softmax(z) - t) / N;  JVP: Cdot = (1/N) sum_nc (softmax(z) - t)_nc zdot_nc.

    ``t`` is integer labels (N,) or a target distribution (N, C) (one-hot or soft),
    optionally weighted per sample by ``weights`` (N,) (the mean then divides by sum of weights).
    ``validated=True`` says the caller has already checked ``t`` against z (chainrule.losses
    does): integer labels of shape (N,) within range, or a float array of z's shape.
    """

    name = "softmax_cross_entropy"

    def forward(self, z: np.ndarray, t: np.ndarray, weights: Optional[np.ndarray] = None,
                softmax: Optional[Softmax] = None, validated: bool = False) -> np.ndarray:
        if type(z) is not np.ndarray:
            z = np.asarray(z)
        if validated:
            sparse = t.ndim == 1
        else:
            t, sparse = _check_targets(z, t, self.name)
        n = z.shape[0]
        w = None
        denom = n
        if weights is not None:
            w = np.asarray(weights, dtype=z.dtype).reshape(-1)
            if w.shape[0] != n:
                raise ValueError(f"{self.name}: got {w.shape[0]} sample weights for {n} samples")
            denom = float(w.sum()) or 1.0
        # the mean's 1/N goes into the softmax's normalisation, so delta = (p - t) / N costs no extra pass
        scale = denom if (w is None and sparse) else 1
        if softmax is not None:
            # z already went through a softmax node (the model's output layer): reuse its work
            p = softmax.y.copy() if scale == 1 else np.multiply(softmax.y, 1.0 / scale)
            loss = self._loss_and_delta(z, t, sparse, w, denom, scale, p, softmax.logsumexp())
        else:
            m = row_max(z)
            loss = self._loss_and_delta(z, t, sparse, w, denom, scale, *_softmax_lse(z, m, scale))
            if not math.isfinite(loss) and np.isinf(m).any():
                # an infinite logit makes z - max(z) NaN; shifting such rows by 0 instead gives the
                # limits (an infinite loss, not NaN).  Rare, so looked for only when the loss shows it.
                m = np.where(np.isfinite(m), m, 0).astype(m.dtype)
                loss = self._loss_and_delta(z, t, sparse, w, denom, scale, *_softmax_lse(z, m, scale))
        self.t, self.sparse, self.denom = t, sparse, denom
        self.w = w
        return np.asarray(loss, dtype=z.dtype)

    def _loss_and_delta(self, z, t, sparse, w, denom, scale, p, lse):
        """The mean loss from p = softmax(z) / scale and lse = logsumexp(z); keeps
        delta = d(loss)/dz, formed in p's buffer."""
        if sparse:
            at = _row_starts(*z.shape)  # flat index of each row's label: one take, one put
            at = at + (t if t.dtype == at.dtype else t.astype(np.intp))  # (uint64 + int64 would be float64)
            per = lse.reshape(-1) - z.take(at)  # take without an axis indexes the flat array
            p.reshape(-1)[at] -= 1.0 / scale  # p is a fresh contiguous array: reshape is a view
        else:
            per = -np.add.reduce(t * (z - lse), axis=1)
            p *= np.add.reduce(t, axis=1, keepdims=True)  # d/dz of -sum_c t_c log p_c is p sum_c t_c - t
            p -= t
        if w is not None:
            per = per * w
            p *= w[:, None]
        if denom != scale:
            p *= 1.0 / denom
        p.flags.writeable = False
        self.delta = p
        return np.add.reduce(per) / denom

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        z = inputs[0]
        p = Softmax.apply(z, axis=1)
        if self.sparse:
            delta = p - np.eye(z.shape[1], dtype=z.dtype)[self.t]
        else:
            delta = p * self.t.sum(axis=1, keepdims=True) - self.t
        if self.w is not None:
            delta = delta * self.w[:, None]
        return {"delta": delta / self.denom}





_POINTWISE = ("squared", "logistic", "poisson")


class PointwiseLoss(_Head):
    """Summed pointwise loss.  C = s sum_i w_i sum_j l(a_ij, y_ij),  delta = dC/da = s w_i l'(a_ij, y_ij):

    ==========  ===========================  ================  ================================
    kind        l(a, y)                      dl/da             used for
    ==========  ===========================  ================  ================================
    squared     (a - y)^2                    2 (a - y)         mean squared error (the notes' OLS)
    logistic    log(1 + exp(a)) - y a        sigma(a) - y      binary cross-entropy from logits
    poisson     exp(a) - y a                 exp(a) - y        Poisson deviance (up to a constant)
    ==========  ===========================  ================  ================================

    a is the output (a logit for 'logistic', a log-rate for 'poisson'), y the targets of the
    same shape, w optional per-sample weights (shape (N,)), s the scale: by default
    1 / (number of entries of a), or 1 / (entries per sample * sum_i w_i) with weights, so
    that C is the (weighted) mean.  log(1 + exp(a)) is computed as logaddexp(0, a), stable
    for any a.  JVP: Cdot = sum_ij delta_ij adot_ij.
    """

    name = "pointwise_loss"

    def forward(self, a: np.ndarray, y: np.ndarray, weights: Optional[np.ndarray] = None, kind: str = "squared",
                scale: Optional[float] = None) -> np.ndarray:
        if kind not in _POINTWISE:
            raise ValueError(f"kind must be one of {', '.join(map(repr, _POINTWISE))}, got {kind!r}")
        a = np.asarray(a)
        y = np.asarray(y)
        if y.shape != a.shape:
            raise ValueError(f"targets of shape {y.shape} do not fit outputs of shape {a.shape}")
        w = None
        if weights is not None:
            w = np.asarray(weights, dtype=a.dtype).reshape(-1)
            if a.ndim == 0 or w.shape[0] != a.shape[0]:
                raise ValueError(f"got {w.shape[0]} sample weights for outputs of shape {a.shape}")
            w = w.reshape((-1,) + (1,) * (a.ndim - 1))
        if scale is None:
            per_sample = a.size // a.shape[0] if a.ndim else 1
            total = a.size if w is None else per_sample * float(np.sum(w))
            scale = 1.0 / total if total else 1.0
        if kind == "squared":
            d = np.subtract(a, y)
            lsum = float(np.vdot(d, d)) if w is None else float(np.vdot(d * d, np.broadcast_to(w, d.shape)))
            d *= 2.0 * scale
        else:
            with np.errstate(over="ignore"):
                if kind == "logistic":
                    per = np.logaddexp(0, a)
                    d = Sigmoid.value(a)
                else:
                    d = np.exp(a)
                    per = d.copy()
            per -= y * a
            lsum = float(np.sum(per if w is None else per * w))
            d -= y
            d *= scale
        if w is not None:
            d *= w
        d.flags.writeable = False
        self.delta, self.kind, self.scale, self.w, self.y = d, kind, scale, w, y
        return np.asarray(scale * lsum, dtype=a.dtype)

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        a, y = inputs[0], self.y
        if self.kind == "squared":
            d = (a - y) * (2.0 * self.scale)
        else:
            d = ((Sigmoid.apply(a) if self.kind == "logistic" else Exp.apply(a)) - y) * self.scale
        return {"delta": d if self.w is None else d * self.w}


def add_l2(loss: Tensor, weights: Sequence[TensorLike], lams: Sequence[float]) -> Tensor:
    """C + sum_i lambda_i ||W_i||^2, the L2 penalty (weight decay) of the notes.

    When ``loss`` is the output of a DenseStack node with its loss head and the W_i are among
    that node's inputs, the penalty is absorbed into the node (its VJP adds 2 lambda_i W_i to
    the weight gradients it computes anyway); other weights get the composed
    ``lambda * sum(W * W)``, which is also the fused path's oracle in the tests.
    """
    pending = [(w, float(lam)) for w, lam in zip(weights, lams) if lam]
    ctx = getattr(loss, "_ctx", None)
    if type(ctx) is DenseStack and ctx.head is not None and _state.grad_enabled and not _state.forward_depth:
        where = {}
        for i, p in enumerate(ctx.parents):
            if i and p is not None:
                where.setdefault(p, i)
        coefs, rest = {}, []
        for w, lam in pending:
            i = where.get(w) if isinstance(w, Tensor) else None
            if i is None:
                rest.append((w, lam))
            else:
                coefs[i] = coefs.get(i, 0.0) + lam
        if coefs:
            loss = ctx.absorb_l2(loss, coefs)
        pending = rest
    from chainrule import ops
    for w, lam in pending:
        loss = ops.add(loss, ops.mul(lam, ops.sum(ops.mul(w, w))))
    return loss

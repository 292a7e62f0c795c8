"""Fused primitives: made only for speed (fewer graph nodes per training step) or
for numerical stability, and each tested against the composition it replaces.

* :class:`Linear`  z = x @ W + b, the affine map of a dense layer (one node instead of two);
* :class:`SoftmaxCrossEntropy`  the mean cross-entropy of softmax(z) against targets,
  computed through log-sum-exp so it never takes log(0), with the famous gradient
  (softmax(z) - t) / N;
* :class:`DenseStack`  a stack of dense layers with elementwise activations, the notes'
  forward pass and back-propagation as one node (``nn.Sequential`` runs its leading
  Dense/Linear and activation layers through it).
"""
from __future__ import annotations

import math
import threading

import numpy as np

from chainrule.function import Function
from chainrule.ops.reduce import Softmax, _ones, row_max, row_sum
from chainrule.tensor import enable_grad, gradients


_NO_OUT = (None, None, None)


class Linear(Function):
    """Affine map of a dense layer.  z = x @ W + b  (x: (N, n_in), W: (n_in, n_out), b: (n_out,)).

    VJP: xbar = zbar @ W^T,  Wbar = x^T @ zbar,  bbar = sum_n zbar_n  (the notes' delta rules:
    dC/dW = a^T delta, dC/db = sum of delta over the batch).  JVP: zdot = xdot W + x Wdot + bdot.
    Wbar and bbar are written into ``out`` when the backward pass offers storage for them.
    """

    backward_out = True

    def forward(self, x, W, b=None):
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        if type(W) is not np.ndarray:
            W = np.asarray(W)
        if not x.ndim or W.ndim != 2 or x.shape[-1] != W.shape[0]:
            raise ValueError(f"linear: input has {x.shape[-1] if x.ndim else 0} features per sample "
                             f"(shape {x.shape}) but the weights expect {W.shape[0] if W.ndim else 0} "
                             f"(weight shape {W.shape}; a matrix (inputs, outputs) expected)")
        self.x, self.W = x, W
        z = np.matmul(x, W)
        if b is not None:
            z += b
        return z

    def backward(self, g, out=_NO_OUT):
        needs = self.needs_input_grad
        x = self.x
        dx = g @ self.W.T if needs[0] else None  # operators: g may be a Tensor (create_graph)
        dW = db = None
        if x.ndim != 2:
            x, g = x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])
        if needs[1]:
            dW = x.T @ g if out[1] is None else np.matmul(x.T, g, out=out[1])
        if len(needs) > 2 and needs[2]:
            # sum over the batch as a matrix-vector product: faster than np.sum(g, axis=0)
            ones = _ones(g.shape[0], g.dtype)
            db = ones @ g if out[2] is None else np.matmul(ones, g, out=out[2])
        return dx, dW, db

    def jvp(self, dx, dW, db=None):
        out = None
        for term in (None if dx is None else np.matmul(dx, self.W),
                     None if dW is None else np.matmul(self.x, dW), db):
            if term is not None:
                out = term if out is None else out + term
        return out


def labels_out_of_range(t, c):
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


class SoftmaxCrossEntropy(Function):
    """Mean softmax cross-entropy from logits.

    C = -(1/N) sum_n sum_c t_nc log softmax(z_n)_c,  log softmax(z)_c = z_c - logsumexp(z);
    VJP: zbar = Cbar (softmax(z) - t) / N;  JVP: Cdot = (1/N) sum_nc (softmax(z) - t)_nc zdot_nc.

    ``t`` is integer labels (N,) or a target distribution (N, C) (one-hot or soft),
    optionally weighted per sample by ``weights`` (N,) (the mean then divides by sum of weights).
    ``validated=True`` says the caller has already checked ``t`` against z (chainrule.losses
    does): integer labels of shape (N,) within range, or a float array of z's shape.
    """

    name = "softmax_cross_entropy"

    def forward(self, z, t, weights=None, softmax=None, validated=False):
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
            p = softmax.y.copy()
            lse = softmax.logsumexp()
            if scale != 1:
                p *= 1.0 / scale
            loss = self._loss_and_delta(z, t, sparse, w, denom, scale, p, lse)
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

    def saved_from_graph(self, inputs, out):
        z = inputs[0]
        p = Softmax.apply(z, axis=1)
        if self.sparse:
            delta = p - np.eye(z.shape[1], dtype=z.dtype)[self.t]
        else:
            delta = p * self.t.sum(axis=1, keepdims=True) - self.t
        if self.w is not None:
            delta = delta * self.w[:, None]
        return {"delta": delta / self.denom}

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None
        if type(g) is np.ndarray and g.ndim == 0 and float(g) == 1.0:
            return self.delta, None  # the seed dC/dC = 1: delta as it is (read-only, so never changed)
        return self.delta * g, None

    def jvp(self, dz, dt=None):
        return None if dz is None else np.sum(self.delta * dz)


# ----------------------------------------------------------------- dense stacks
#: Activations a dense stack applies in place, by registry name; leaky_relu is ops.leaky_relu's default.
FUSABLE_ACTIVATIONS = ("identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu")
_LEAKY_ALPHA = 0.01


def activate_inplace(name, z):
    """a = f(z) in place, for f named in FUSABLE_ACTIVATIONS; the same values as the ops' forward."""
    if name == "sigmoid":                              # 1 / (1 + exp(-z)); exp overflow gives the right limit 0
        np.negative(z, out=z)
        with np.errstate(over="ignore", under="ignore"):
            np.exp(z, out=z)
        z += 1.0
        np.reciprocal(z, out=z)
    elif name == "tanh":
        np.tanh(z, out=z)
    elif name == "relu":
        np.maximum(z, 0, out=z)
    elif name == "leaky_relu":
        np.multiply(z, np.where(z > 0, 1.0, _LEAKY_ALPHA).astype(z.dtype), out=z)


def times_derivative(name, a, delta, scratch=None, out=None):
    """f'(z) * delta, with f' written through the layer's output a = f(z): sigma' = a (1 - a),
    tanh' = 1 - a^2, relu' = [a > 0], leaky_relu' = 1 or alpha (a > 0 exactly where z > 0).

    With ``scratch`` (an array shaped like a) the product goes into delta, in place; without it,
    into ``out`` or a new array (delta itself is returned for the identity).
    """
    if name in ("identity", "linear"):
        return delta
    s = scratch if scratch is not None else np.empty(a.shape, a.dtype) if out is None else out
    if name == "sigmoid":
        np.subtract(1.0, a, out=s)
        s *= a
    elif name == "tanh":
        np.multiply(a, a, out=s)
        np.subtract(1.0, s, out=s)
    elif name == "relu":
        np.greater(a, 0, out=s)
    elif name == "leaky_relu":
        s[...] = np.where(a > 0, 1.0, _LEAKY_ALPHA)
    else:
        raise ValueError(f"times_derivative: no derivative for activation {name!r}")
    if scratch is None:
        s *= delta
        return s
    delta *= s
    return delta


_SCRATCH = threading.local()


_SCRATCH_MAX_BYTES = 1 << 20


def _scratch(shape, dtype, slot):
    """A buffer of this thread kept from one DenseStack backward pass to the next, for the
    arrays that never leave it (the adjoints of hidden layers and f' times them): no fresh
    allocation, and memory that the previous step left in the cache.  Only mini-batch sizes
    are kept (up to 1 MiB each); a larger array is allocated afresh, so a full-batch pass
    leaves nothing behind."""
    if shape[0] * shape[1] * dtype.itemsize > _SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype)
    pool = getattr(_SCRATCH, "pool", None)
    if pool is None:
        pool = _SCRATCH.pool = {}
    key = (shape, dtype, slot)
    buf = pool.get(key)
    if buf is None:
        if len(pool) > 32:
            pool.clear()
        buf = pool[key] = np.empty(shape, dtype)
    return buf


class DenseStack(Function):
    """L dense layers as one primitive:  a^0 = x,  z^l = a^(l-1) W^l + b^l,  a^l = f_l(z^l),  output a^L.

    Inputs x (N, n_0), then W^1, b^1, ..., W^L, b^L (a bias may be None); ``acts`` names each
    f_l (:data:`FUSABLE_ACTIVATIONS`).  The VJP is the notes' back-propagation:
    delta^L = abar f_L'(z^L),  Wbar^l = a^(l-1)^T delta^l,  bbar^l = sum_n delta^l,
    delta^(l-1) = (delta^l W^l^T) f_(l-1)'(z^(l-1)),  xbar = delta^1 W^1^T.
    JVP: zdot^l = adot^(l-1) W^l + a^(l-1) Wdot^l + bdot^l,  adot^l = f_l'(z^l) zdot^l.

    Values and gradients are those of the per-layer primitives (:class:`Linear`, then the
    activation), bit for bit: the same NumPy operations, with each z^l turned into a^l in
    place and one graph node instead of 2L.  Differentiating the VJP again (``create_graph``)
    recomputes the stack with the per-layer primitives and differentiates that.
    """

    name = "dense_stack"
    backward_out = True

    def forward(self, x, *wb, acts):
        if len(wb) != 2 * len(acts):
            raise ValueError(f"expected a weight and a bias (or None) for each of the {len(acts)} layers, "
                             f"got {len(wb)} arrays")
        if np.ndim(x) != 2:
            raise ValueError(f"expected a batch of shape (samples, features), got shape {np.shape(x)}")
        a = x
        A = []
        for l, act in enumerate(acts):
            z = np.matmul(a, wb[2 * l])
            b = wb[2 * l + 1]
            if b is not None:
                z += b
            activate_inplace(act, z)
            A.append(z)
            a = z
        self.x, self.wb, self.acts, self.A = x, wb, acts, A
        return a

    def backward(self, g, out=None):
        needs, acts, A, wb = self.needs_input_grad, self.acts, self.A, self.wb
        grads = [None] * len(needs)
        if out is None:
            out = grads
        stop = 0  # the first layer with a parameter (or input) that needs a gradient: back-propagation ends there
        if not needs[0]:
            while stop < len(acts) and not (needs[2 * stop + 1] or needs[2 * stop + 2]):
                stop += 1
        last = len(acts) - 1
        delta = g
        for l in range(last, stop - 1, -1):
            # delta^l = abar^l f_l'(z^l): the adjoint abar^l is g (not ours: a new product) or the
            # previous layer's abar, which lives in a scratch buffer and is scaled in place
            if acts[l] not in ("identity", "linear"):
                scratch = _scratch(A[l].shape, A[l].dtype, "f'")
                if l == last:
                    delta = times_derivative(acts[l], A[l], delta, out=scratch)
                else:
                    delta = times_derivative(acts[l], A[l], delta, scratch=scratch)
            a_prev = self.x if l == 0 else A[l - 1]
            if needs[2 * l + 1]:                                      # Wbar^l = a^(l-1)^T delta^l
                grads[2 * l + 1] = np.matmul(a_prev.T, delta, out=out[2 * l + 1])
            if needs[2 * l + 2]:                                      # bbar^l = sum_n delta^l
                grads[2 * l + 2] = np.matmul(_ones(delta.shape[0], delta.dtype), delta, out=out[2 * l + 2])
            if l > stop:                                              # abar^(l-1) = delta^l W^l^T
                W = wb[2 * l]
                delta = np.matmul(delta, W.T, out=_scratch((delta.shape[0], W.shape[0]), delta.dtype, l % 2))
            elif needs[0]:                                            # xbar leaves: an array of its own
                delta = np.matmul(delta, wb[2 * l].T)
        if needs[0]:
            grads[0] = delta
        return tuple(grads)

    def jvp(self, xdot, *wbdot):
        a_prev, adot = self.x, xdot
        for l, act in enumerate(self.acts):
            terms = [None if adot is None else np.matmul(adot, self.wb[2 * l]),
                     None if wbdot[2 * l] is None else np.matmul(a_prev, wbdot[2 * l]), wbdot[2 * l + 1]]
            zdot = None
            for term in terms:
                if term is not None:
                    zdot = term if zdot is None else zdot + term
            a_prev = self.A[l]
            if zdot is None:
                adot = None
                continue
            if zdot.shape != a_prev.shape:
                zdot = np.broadcast_to(zdot, a_prev.shape)
            adot = times_derivative(act, a_prev, zdot)
        return adot

    def _graph_backward(self, out, g):
        from chainrule import ops  # the per-layer primitives (chainrule.ops imports this module)
        values = (self.x, *self.wb)
        inputs = [v if p is None else p for p, v in zip(self.parents, values)]
        wanted = [i for i, p in enumerate(self.parents) if p is not None and p.requires_grad]
        with enable_grad():
            a = inputs[0]
            for l, act in enumerate(self.acts):
                z = ops.linear(a, inputs[2 * l + 1], inputs[2 * l + 2])
                a = z if act in ("identity", "linear") else getattr(ops, act)(z)
            found = gradients(a, [inputs[i] for i in wanted], grad_outputs=g, create_graph=True)
        grads = [None] * len(values)
        for i, gi in zip(wanted, found):
            grads[i] = gi
        return tuple(grads)

"""Fused primitives: made only for speed (fewer graph nodes per training step), and each
tested against the composition it replaces.

* :class:`Linear`  z = x @ W + b, the affine map of a dense layer (one node instead of two);
* :class:`DenseStack`  a stack of dense layers with elementwise activations, the notes'
  forward pass and back-propagation as one node (``nn.Sequential`` runs its leading
  Dense/Linear and activation layers through it), which absorbs the loss head applied to
  it (:mod:`chainrule.ops.heads`) and an L2 penalty on its weights.

The loss heads themselves (softmax cross-entropy, squared error, logistic and Poisson losses)
are in :mod:`chainrule.ops.heads`.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function
from chainrule.ops.activations import fusable
from chainrule.ops.elementwise import Activation, Identity
from chainrule.ops.reduce import _ones
from chainrule.ops.recompute import recomputed_vjp
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Any, Grads, Mapping, Optional, Sequence, Tangent, TensorOrArray


_NO_OUT = (None, None, None)


class Linear(Function):
    """Affine map of a dense layer.  z = x @ W + b  (x: (N, n_in), W: (n_in, n_out), b: (n_out,)).

    VJP: xbar = zbar @ W^T,  Wbar = x^T @ zbar,  bbar = sum_n zbar_n  (the notes' delta rules:
    dC/dW = a^T delta, dC/db = sum of delta over the batch).  JVP: zdot = xdot W + x Wdot + bdot.
    Wbar and bbar are written into ``out`` when the backward pass offers storage for them.
    """

    backward_out = True

    def forward(self, x: np.ndarray, W: np.ndarray, b: Optional[np.ndarray] = None) -> np.ndarray:
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

    def backward(self, g: TensorOrArray, out: Sequence[Optional[np.ndarray]] = _NO_OUT) -> Grads:
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

    def jvp(self, dx: Tangent, dW: Tangent, db: Tangent = None) -> Tangent:
        out = None
        for term in (None if dx is None else np.matmul(dx, self.W),
                     None if dW is None else np.matmul(self.x, dW), db):
            if term is not None:
                out = term if out is None else out + term
        return out


# ----------------------------------------------------------------- dense stacks
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


_KERNELS = {}


def _kernels(acts):
    """[(Activation subclass, parameters)] for a tuple of ``acts`` entries (looked up once per tuple)."""
    try:
        return _KERNELS[acts]
    except (KeyError, TypeError):
        pass
    kernels = [_stack_activation(a) for a in acts]
    try:
        if len(_KERNELS) > 256:
            _KERNELS.clear()
        _KERNELS[acts] = kernels
    except TypeError:  # unhashable parameters
        pass
    return kernels


def _stack_activation(act):
    """(Activation subclass, parameters) for one entry of ``acts``: a name, or (name, {params})."""
    name, params = (act, {}) if isinstance(act, str) else act
    cls = fusable(name)
    if cls is None:
        raise ValueError(f"no fusable activation {name!r}; a dense stack applies the activations "
                         f"{', '.join(sorted(k for k, c in Activation.registry.items() if not c.uses_input))}")
    return cls, dict(params)


class DenseStack(Function):
    """L dense layers as one primitive:  a^0 = x,  z^l = a^(l-1) W^l + b^l,  a^l = f_l(z^l),  output a^L.

    Inputs x (N, n_0), then W^1, b^1, ..., W^L, b^L (a bias may be None); ``acts`` names each
    f_l, an activation of the table (:mod:`chainrule.ops.activations`) whose derivative comes
    from its output, as a name or a (name, parameters) pair.  The VJP is the notes'
    back-propagation:

        delta^L = abar f_L'(z^L),   Wbar^l = a^(l-1)^T delta^l,   bbar^l = sum_n delta^l,
        delta^(l-1) = (delta^l W^l^T) f_(l-1)'(z^(l-1)),   xbar = delta^1 W^1^T,

    with each f' written through the layer's output a = f(z) (sigma' = a (1 - a), ...).
    JVP: zdot^l = adot^(l-1) W^l + a^(l-1) Wdot^l + bdot^l,  adot^l = f_l'(z^l) zdot^l.

    Values and gradients are those of the per-layer primitives (:class:`Linear`, then the
    activation), bit for bit: the same NumPy operations and the same activation kernels, with
    each z^l turned into a^l in place and one graph node instead of 2L.

    **The loss head.**  A loss primitive applied to the stack's output (the softmax
    cross-entropy from logits, the squared error, the logistic and Poisson losses of
    :mod:`chainrule.ops.heads`, each with sample weights) does not become a node of its own:
    it is *absorbed*, and the result is one node, a DenseStack whose output is the loss C.
    Its VJP starts the same back-propagation from the head's delta^L = dC/da^L.  An L2
    penalty on the stack's weights, C + sum_l lambda_l ||W^l||^2, is absorbed the same way
    (:func:`add_l2`), adding 2 lambda_l W^l to each Wbar^l.  The stack's own output Tensor is
    left as it was, so metrics can read it and anything else computed from it still
    back-propagates through the plain stack.

    Differentiating the VJP again (``create_graph``) recomputes the stack, its head and its
    penalty with the per-layer primitives and differentiates that.
    """

    name = "dense_stack"
    backward_out = True
    head = None     # the absorbed loss primitive (a Function whose forward already ran on a^L)
    l2 = None       # {index of a weight among the inputs: lambda} of an absorbed L2 penalty

    def forward(self, x: np.ndarray, *wb: np.ndarray, acts: Sequence[Any]) -> np.ndarray:
        if len(wb) != 2 * len(acts):
            raise ValueError(f"expected a weight and a bias (or None) for each of the {len(acts)} layers, "
                             f"got {len(wb)} arrays")
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"expected a batch of shape (samples, features), got shape {x.shape}")
        self.kernels = kernels = _kernels(acts if type(acts) is tuple else tuple(acts))
        a = x
        A = []
        for l, (cls, p) in enumerate(kernels):
            z = np.matmul(a, wb[2 * l])
            b = wb[2 * l + 1]
            if b is not None:
                z += b
            if cls is not Identity:
                cls.f_(z, z, **p)
            A.append(z)
            a = z
        self.x, self.wb, self.acts, self.A = x, wb, acts, A
        return a

    # --------------------------------------------------------- absorbing a head or a penalty
    def _absorbed(self, value, **extra):
        """A new node like this one (same inputs and forward values) whose output is ``value``."""
        node = object.__new__(DenseStack)
        node.__dict__.update(self.__dict__)
        node.__dict__.update(extra)
        node.parents, node.needs_input_grad = self.parents, self.needs_input_grad
        return Tensor._make(value if type(value) is np.ndarray else np.asarray(value), True, node)

    def extended(self, act: Activation) -> DenseStack:
        """This stack with the activation node ``act`` (a fusable Activation applied to its output,
        whose last layer has none) taken in as its last layer's activation; a new, unrecorded node."""
        node = object.__new__(DenseStack)
        node.__dict__.update(self.__dict__)
        cls = type(act)
        node.kernels = self.kernels[:-1] + [(cls, dict(act.p))]
        node.acts = self.acts[:-1] + ((cls.name, dict(act.p)) if act.p else cls.name,)
        node.A = self.A[:-1] + [act.y]
        node.parents, node.needs_input_grad = self.parents, self.needs_input_grad
        return node

    def absorb_head(self, head_cls: type[Function], out: Tensor, args: Sequence[Any],
                    params: Mapping[str, Any]) -> Tensor:
        """The loss ``head_cls(out, *args, **params)`` of this stack's output ``out``, as one node."""
        head = head_cls.__new__(head_cls)
        head.needs_input_grad = (True,) + (False,) * len(args)
        try:
            value = head.forward(out.data, *args, **params)
        except ValueError as err:
            raise head_cls._shape_error((out.data, *args), params, err) from None
        return self._absorbed(value, head=head, head_call=(head_cls, args, params))

    def absorb_l2(self, loss: Tensor, coefs: Mapping[int, float]) -> Tensor:
        """loss + sum_i lambda_i ||W_i||^2 as one node, where ``loss`` is this node's output (a head
        absorbed) and ``coefs`` maps input positions of weights to their lambda_i."""
        wb = self.wb
        penalty = 0.0
        for i, lam in coefs.items():
            w = wb[i - 1].reshape(-1)
            penalty += lam * float(np.dot(w, w))
        old = dict(self.l2 or {})
        for i, lam in coefs.items():
            old[i] = old.get(i, 0.0) + lam
        return self._absorbed(loss.data + loss.data.dtype.type(penalty), l2=old)

    # ------------------------------------------------------------------------ the VJP
    def backward(self, g: TensorOrArray, out: Optional[Sequence[Optional[np.ndarray]]] = None) -> Grads:
        needs, kernels, A, wb = self.needs_input_grad, self.kernels, self.A, self.wb
        grads = [None] * len(needs)
        if out is None:
            out = grads
        seed = g
        if self.head is not None:
            g = self.head.backward(g)[0]     # delta^L's start: dC/da^L from the loss head
        stop = 0  # the first layer with a parameter (or input) that needs a gradient: back-propagation ends there
        if not needs[0]:
            while stop < len(kernels) and not (needs[2 * stop + 1] or needs[2 * stop + 2]):
                stop += 1
        last = len(kernels) - 1
        delta = g
        for l in range(last, stop - 1, -1):
            # delta^l = abar^l f_l'(z^l): the adjoint abar^l is g (not ours: a new product) or the
            # previous layer's abar, which lives in a scratch buffer and is scaled in place
            cls, p = kernels[l]
            if cls is not Identity:
                s = _scratch(A[l].shape, A[l].dtype, "f'")
                cls.df_(A[l], None, s, **p)
                if l == last:
                    np.multiply(s, delta, out=s)
                    delta = s
                else:
                    delta *= s
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
        if self.l2:                                                   # + 2 lambda W^l of the L2 penalty
            for i, lam in self.l2.items():
                if needs[i]:
                    w = wb[i - 1]
                    grads[i] += w * w.dtype.type(2.0 * lam * float(seed))
        return tuple(grads)

    def jvp(self, xdot: Tangent, *wbdot: Tangent) -> Tangent:
        if self.head is not None:  # pragma: no cover - heads are absorbed outside forward mode only
            raise NotImplementedError("dense_stack: no forward mode through an absorbed loss head")
        a_prev, adot = self.x, xdot
        for l, (cls, p) in enumerate(self.kernels):
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
            adot = zdot if cls is Identity else cls.df(a_prev, None, **p) * zdot
        return adot

    def _graph_backward(self, out, g):
        from chainrule import ops  # the per-layer primitives (chainrule.ops imports this module)

        def composed(*inputs):
            a = inputs[0]
            for l, (cls, p) in enumerate(self.kernels):
                z = ops.linear(a, inputs[2 * l + 1], inputs[2 * l + 2])
                a = z if cls is Identity else cls.apply(z, **p)
            if self.head is not None:
                head_cls, args, params = self.head_call
                a = Function.apply.__func__(head_cls, a, *args, **params)   # the head's own node
            for i, lam in (self.l2 or {}).items():
                a = a + lam * ops.sum(inputs[i] * inputs[i])
            return a
        return recomputed_vjp(self, g, (self.x, *self.wb), composed)

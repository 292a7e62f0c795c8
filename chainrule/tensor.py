"""The Tensor: an ndarray plus the record of how it was computed.

A Tensor produced by a primitive keeps a reference to that primitive (its
``_ctx``, a :class:`~chainrule.function.Function`), which in turn keeps its
inputs.  Those references form the computational graph of the lecture notes:
``backward()`` walks it in reverse topological order and applies the chain rule
one vector-Jacobian product at a time (reverse mode), accumulating each input's
adjoint  xbar = sum over its uses of  ybar * dy/dx.

Forward mode rides on the same primitives: while :func:`chainrule.jvp` is
running, every Tensor may carry a tangent ``xdot`` and each primitive pushes
ydot = (dy/dx) xdot  forward as it computes y.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

__all__ = ["Tensor", "tensor", "gradients", "no_grad", "enable_grad", "is_grad_enabled",
           "set_default_dtype", "get_default_dtype", "manual_seed", "get_rng", "fork_rng"]

_DTYPES = {"float32": np.float32, "float64": np.float64}


class _State(threading.local):
    def __init__(self):
        self.grad_enabled = True
        self.forward_depth = 0  # > 0 while chainrule.jvp is tracing tangents


_state = _State()
_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()


def set_default_dtype(dtype):
    """Set the floating dtype that new Tensors built from Python numbers get.

    ``'float32'`` (the default, fast for training) or ``'float64'`` (for
    gradient checks).  Arrays that are already float64 stay float64.
    """
    global _default_dtype
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"set_default_dtype: expected 'float32' or 'float64', got {dtype!r}")
    _default_dtype = np.dtype(_DTYPES[name])


def get_default_dtype():
    """The dtype given to Tensors built from Python numbers or lists."""
    return _default_dtype


def manual_seed(seed):
    """Seed chainrule's global random generator (initializers, dropout, shuffling).

    The same seed on the same machine gives bit-identical runs.
    """
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise TypeError(f"manual_seed: expected a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def _set_rng(rng):
    """Replace the global generator; return the previous one (used to seed a single fit)."""
    global _rng
    old, _rng = _rng, rng
    return old


@contextlib.contextmanager
def fork_rng(seed=None):
    """Run a block with chainrule's global generator seeded by ``seed``, restoring it afterwards
    (PyTorch's ``torch.random.fork_rng``).  With ``seed=None`` the global generator is used as is.

    >>> import chainrule as cr
    >>> with cr.fork_rng(0) as rng:
    ...     a = rng.random()
    >>> with cr.fork_rng(0) as rng:
    ...     a == rng.random()
    True
    """
    if seed is None:
        yield get_rng()
        return
    rng = np.random.default_rng(seed)
    saved = _set_rng(rng)
    try:
        yield rng
    finally:
        _set_rng(saved)


def get_rng(seed=None):
    """A NumPy Generator: a fresh one from ``seed`` if given, else the global one."""
    if seed is None:
        return _rng
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def is_grad_enabled():
    return _state.grad_enabled


@contextlib.contextmanager
def no_grad():
    """Context manager in which primitives record no graph (inference, updates)."""
    prev = _state.grad_enabled
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = prev


@contextlib.contextmanager
def enable_grad():
    prev = _state.grad_enabled
    _state.grad_enabled = True
    try:
        yield
    finally:
        _state.grad_enabled = prev


def _as_array(data, dtype=None):
    """Convert user data to an ndarray with chainrule's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    arr = np.asarray(data)
    if arr.dtype.kind == "f" or arr.dtype == object:
        # Python floats (and lists of them) take the default dtype.
        arr = arr.astype(_default_dtype)
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array_like
        The values.  Python floats and lists take the default dtype
        (float32 unless changed with :func:`set_default_dtype`); NumPy arrays
        keep their dtype.
    requires_grad : bool
        Whether ``backward()`` should compute a gradient for this tensor.

    Examples
    --------
    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_tangent", "name", "__weakref__")
    # Make NumPy defer to Tensor's reflected operators (ndarray * Tensor -> Tensor).
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        arr = _as_array(data, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, got dtype {arr.dtype}; "
                f"convert with .astype('float32') or pass dtype='float32'")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._tangent = None
        self.name = name

    @classmethod
    def _make(cls, data, requires_grad, ctx):
        """Fast constructor used by primitives (no validation)."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._tangent = None
        t.name = None
        return t

    # ----------------------------------------------------------------- basics
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def is_leaf(self):
        return self._ctx is None

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The values as an ndarray (shares memory; no graph)."""
        return self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None:
            return self.data.astype(dtype, copy=False)
        return self.data

    def detach(self):
        """A new Tensor sharing the values but cut from the graph."""
        return Tensor._make(self.data, False, None)

    def requires_grad_(self, flag=True):
        if flag and self.data.dtype.kind not in "fc":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def astype(self, dtype):
        return _ops.astype(self, dtype)

    def zero_grad(self):
        self.grad = None

    def grad_storage(self):
        """An array offered for this tensor's next gradient, for the VJP to write into (None: no
        offer; a :class:`~chainrule.parameter.Parameter` bound to an optimizer offers a slice of
        the optimizer's flat buffer)."""
        return None

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != _default_dtype:
            extra = f", dtype={self.data.dtype}" + extra
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"Tensor: the truth value of a tensor of shape {self.shape} is ambiguous; "
                             f"use .any() or .all() on .numpy()")
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    __hash__ = object.__hash__

    # -------------------------------------------------------------- backward
    def backward(self, gradient=None):
        """Back-propagate: accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Walks the graph in reverse topological order; each primitive maps the
        adjoint of its output ybar to the adjoints of its inputs (its VJP), and
        adjoints of a tensor used several times are summed (the multivariable
        chain rule).

        Parameters
        ----------
        gradient : array_like, optional
            The seed ybar.  Required unless this tensor holds a single value,
            in which case it defaults to 1 (dy/dy).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so there is nothing to differentiate; "
                "create the inputs with requires_grad=True (and not inside no_grad())")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: the output has shape {self.shape}, not a single value; pass "
                    f"gradient=<array of shape {self.shape}> (e.g. ones for the sum of the outputs), "
                    f"or reduce it first with .sum() or .mean()")
            seed = _one(self.data)
        else:
            seed = _as_array(gradient)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward: gradient must have the output's shape {self.shape}, got shape {seed.shape}")
            seed = seed.astype(self.data.dtype, copy=False)
        _backprop(self, seed)

    # -------------------------------------------------------------- operators
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.sub(self, other)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __mul__(self, other): return _ops.mul(self, other)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __truediv__(self, other): return _ops.div(self, other)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __pow__(self, other): return _ops.pow(self, other)
    def __rpow__(self, other): return _ops.pow(other, self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __getitem__(self, index): return _ops.getitem(self, index)

    # Comparisons are not differentiable: they return plain boolean arrays.
    def __lt__(self, other): return self.data < _data(other)
    def __le__(self, other): return self.data <= _data(other)
    def __gt__(self, other): return self.data > _data(other)
    def __ge__(self, other): return self.data >= _data(other)
    def __eq__(self, other): return self.data == _data(other)
    def __ne__(self, other): return self.data != _data(other)

    # ------------------------------------------------- NumPy-named methods
    def sum(self, axis=None, keepdims=False): return _ops.sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.mean(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _ops.max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return _ops.min(self, axis=axis, keepdims=keepdims)
    def var(self, axis=None, keepdims=False): return _ops.var(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    @property
    def T(self): return _ops.transpose(self, None)

    def flatten(self): return _ops.reshape(self, (-1,))
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def abs(self): return _ops.abs(self)
    def clip(self, a_min=None, a_max=None): return _ops.clip(self, a_min, a_max)
    def softmax(self, axis=-1): return _ops.softmax(self, axis=axis)
    def log_softmax(self, axis=-1): return _ops.log_softmax(self, axis=axis)
    def logsumexp(self, axis=None, keepdims=False): return _ops.logsumexp(self, axis=axis, keepdims=keepdims)
    def dot(self, other): return _ops.matmul(self, other)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


_ONES = {}


def _one(a):
    """dy/dy = 1 with the shape and dtype of the single value a: a read-only array kept for reuse
    (it is never handed out as a gradient: backward copies it if it would be)."""
    key = (a.shape, a.dtype)
    one = _ONES.get(key)
    if one is None:
        one = _ONES[key] = np.ones(a.shape, a.dtype)
        one.flags.writeable = False
    return one


def tensor(data, requires_grad=False, dtype=None):
    """Build a :class:`Tensor` (PyTorch's ``torch.tensor``).

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 2.0]]).shape
    (1, 2)
    """
    if isinstance(data, Tensor):
        data = data.data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _unbroadcast(grad, shape):
    """Sum a gradient back to an input's shape, undoing NumPy broadcasting.

    If x of shape (1, 3) was broadcast to y of shape (4, 3), each x_j fed four
    outputs, so xbar_j = sum_i ybar_ij.  The one place this is done.
    """
    if grad.shape == shape:
        return grad
    ndiff = grad.ndim - len(shape)
    if ndiff < 0:
        if isinstance(grad, Tensor):
            return _ops.broadcast_to(grad, shape)
        return np.broadcast_to(grad, shape).copy()
    if ndiff:
        grad = grad.sum(axis=tuple(range(ndiff)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def _toposort(root):
    """Nodes reachable from root that need gradients, parents before children.

    Tensors are their own keys in the sets and dicts of the walk: their hash is the object's
    (``object.__hash__``), so a lookup never calls ``Tensor.__eq__``.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            for p in ctx.parents:
                if p is not None and p.requires_grad and p not in visited:
                    stack.append((p, False))
    return order


def _storage_for(parents, pending):
    """For each input of a primitive about to run its VJP: storage that input offers for its gradient
    (:meth:`Tensor.grad_storage`: a Parameter's slice of its optimizer's flat buffer), or None.

    Offered only where writing into it is safe: a leaf with no ``.grad`` yet (so nothing is
    accumulated into), no other gradient for it pending in this pass (a second use of the same
    weight gets a fresh array, and the two are summed into a new one), met once among these inputs.
    """
    out, seen = [], set()
    for p in parents:
        buf = None
        if p is not None and p._ctx is None and p.grad is None:
            if p not in pending and p not in seen:
                buf = p.grad_storage()
            seen.add(p)
        out.append(buf)
    return out


def _vjp(ctx, node, g, grads, create_graph=False, storage=False):
    """Run ``ctx``'s VJP for the adjoint g of its output ``node`` and add each input's share to
    ``grads`` (the adjoints pending in this pass), summed back to the input's shape and dtype."""
    if create_graph:
        in_grads = ctx._graph_backward(node, g)
    elif storage and ctx.backward_out:
        in_grads = ctx.backward(g, _storage_for(ctx.parents, grads))
    else:
        in_grads = ctx.backward(g)
    if type(in_grads) is not tuple:
        in_grads = (in_grads,)
    for p, pg in zip(ctx.parents, in_grads):
        if p is None or pg is None or not p.requires_grad:
            continue
        data = p.data
        if pg.shape != data.shape:
            pg = _unbroadcast(pg, data.shape)
        if pg.dtype != data.dtype:
            pg = pg.astype(data.dtype)
        prev = grads.get(p)
        grads[p] = pg if prev is None else prev + pg


def _backprop(root, seed):
    """``backward()``: walk the graph from ``root`` in reverse topological order, starting from the
    adjoint ``seed``, and accumulate each leaf's adjoint into its ``.grad`` (as PyTorch, with +=)."""
    grads = {root: seed}   # Tensor keys: see _toposort
    handed = {id(seed)}    # arrays that must not become two leaves' .grad (or the caller's seed)
    ctx = root._ctx
    if ctx is None or all(p is None or p._ctx is None for p in ctx.parents):
        order = [root]     # one node whose inputs are leaves (a fused training step): nothing to sort
    else:
        order = reversed(_toposort(root))
    for node in order:
        ctx = node._ctx
        if ctx is None:
            continue  # a leaf: its adjoint is complete once every node above it has run
        g = grads.pop(node, None)
        if g is not None:
            _vjp(ctx, node, g, grads, storage=True)
    for leaf, g in grads.items():  # what is left: the leaves' adjoints
        if leaf.grad is None:
            if g is leaf.grad_storage():  # written into the optimizer's buffer for it
                leaf.grad = g
                continue
            if id(g) in handed or not g.flags.writeable:
                g = g.copy()
            handed.add(id(g))
            leaf.grad = g
        else:
            leaf.grad = leaf.grad + g


def _adjoints(root, seed, targets, create_graph=False):
    """The adjoints of ``targets`` (Tensors, leaves or not; ``None`` where not reached) for the seed
    adjoint of ``root``; nothing is stored on the tensors, and only nodes that lead to a target are
    visited.  With ``create_graph`` the seed and all adjoints are Tensors and every VJP is recorded
    (:meth:`Function._graph_backward`), so the gradients can be differentiated again."""
    order = _toposort(root)
    wanted = set(targets)
    useful = set()
    for node in order:  # parents come first, so "leads to a target" propagates forward
        ctx = node._ctx
        if node in wanted or (ctx is not None and any(p is not None and p in useful for p in ctx.parents)):
            useful.add(node)
    grads, found = {root: seed}, {}
    for node in reversed(order):
        if node not in useful:
            continue
        g = grads.pop(node, None)
        if g is None:
            continue
        if node in wanted:
            found[node] = g
        ctx = node._ctx
        if ctx is not None:
            _vjp(ctx, node, g, grads, create_graph=create_graph)
            for p in ctx.parents:  # adjoints of inputs that lead nowhere wanted are not kept
                if p is not None and p not in useful:
                    grads.pop(p, None)
    return [found.get(t) for t in targets]


def gradients(outputs, inputs, grad_outputs=None, create_graph=False):
    """The adjoints d(outputs)/d(inputs) as Tensors, like PyTorch's ``torch.autograd.grad``.

    Nothing is stored in any ``.grad``.  ``inputs`` may be one Tensor or a list
    (leaves or intermediate results); an input the output does not depend on
    gets ``None``.  With ``create_graph=True`` the returned gradients are
    recorded computations themselves, so they can be differentiated again:
    second derivatives, Hessian-vector products, gradient penalties.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True, dtype="float64")
    >>> (g,) = cr.gradients((x ** 3).sum(), x, create_graph=True)   # 3 x^2
    >>> (h,) = cr.gradients(g.sum(), x)                             # 6 x
    >>> h.numpy()
    array([ 6., 12.])
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for t in [outputs, *inputs]:
        if not isinstance(t, Tensor):
            raise TypeError(f"gradients: expected Tensors for outputs and inputs, got {type(t).__name__}")
    if not outputs.requires_grad:
        raise RuntimeError("gradients: the output does not require grad, so there is nothing to differentiate; "
                           "create the inputs with requires_grad=True (and not inside no_grad())")
    if grad_outputs is None:
        if outputs.data.size != 1:
            raise RuntimeError(f"gradients: the output has shape {outputs.shape}, not a single value; pass "
                               f"grad_outputs=<array of shape {outputs.shape}>")
        seed = np.ones_like(outputs.data)
    else:
        seed = grad_outputs.data if isinstance(grad_outputs, Tensor) else _as_array(grad_outputs)
        if seed.shape != outputs.shape:
            raise ValueError(f"gradients: grad_outputs must have the output's shape {outputs.shape}, "
                             f"got shape {seed.shape}")
        seed = seed.astype(outputs.data.dtype, copy=False)
    if create_graph:
        seed = grad_outputs if isinstance(grad_outputs, Tensor) else Tensor._make(seed, False, None)
        with enable_grad():
            found = _adjoints(outputs, seed, inputs, create_graph=True)
    else:
        found = _adjoints(outputs, seed, inputs)
        found = [None if g is None else Tensor._make(g, False, None) for g in found]
    return found


from chainrule import ops as _ops  # noqa: E402  (methods above call the primitives)

"""Function transformations in the style of HIPS autograd and JAX: grad, jacobian, vjp, jvp, hvp, ...

They take a function written with chainrule functions (``cr.exp``, ``chainrule.numpy``, ``@``, ...)
and return a new function that takes and returns plain ndarrays.  Reverse mode (``grad``, ``vjp``,
``jacobian``) records the graph and walks it backwards; forward mode (``jvp``, ``deriv``) pushes
tangents alongside the values.

Arguments and results may be *pytrees*: tuples, lists and dicts (nested) of arrays.  ``grad(f)``
of a function of a dict of parameters returns a dict of gradients of the same shape, and
``argnum=(0, 2)`` differentiates with respect to several arguments at once (a tuple of gradients).

Transforms nest to any depth, in any order: ``grad(grad(f))``, ``jacobian(grad(f))`` (the Hessian),
``jvp(grad(f), x, v)`` (forward over reverse), ``grad(lambda x: jvp(f, x, v)[1])`` (reverse over
forward), ``jvp`` inside ``jvp``, and a ``vjp`` pullback differentiated in its cotangent.  A nested
transform hands Tensors to the enclosing one (its VJPs recorded, ``create_graph``), a top-level
one plain ndarrays.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from chainrule import ops as _ops
from chainrule.tensor import Tensor, _adjoints, _state, _toposort, enable_grad, get_default_dtype

if TYPE_CHECKING:
    from chainrule._typing import Any, ArgNums, Callable, Optional, PyTree

__all__ = ["grad", "value_and_grad", "elementwise_grad", "jacobian", "hessian", "vjp", "jvp", "deriv",
           "hessian_vector_product", "hvp"]


# ------------------------------------------------------------------ pytrees
class _Def:
    """The structure of a pytree: a leaf (kind None), or a tuple/list/namedtuple/dict of children."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind=None, keys=None, children=()):
        self.kind, self.keys, self.children = kind, keys, children

    def same(self, other):
        return (self.kind is other.kind and self.keys == other.keys and len(self.children) == len(other.children)
                and all(a.same(b) for a, b in zip(self.children, other.children)))

    def describe(self):
        if self.kind is None:
            return "*"
        inner = ", ".join(c.describe() for c in self.children)
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c.describe()}" for k, c in zip(self.keys, self.children)) + "}"
        return f"[{inner}]" if self.kind is list else f"({inner})"


def _flatten(tree):
    """(leaves, structure).  None is an empty node (no leaves), as in JAX."""
    leaves = []

    def walk(t):
        if isinstance(t, (list, tuple)):
            return _Def(type(t), None, tuple(walk(c) for c in t))
        if isinstance(t, dict):
            keys = tuple(t)
            return _Def(dict, keys, tuple(walk(t[k]) for k in keys))
        if t is None:
            return _Def(type(None))
        leaves.append(t)
        return _Def()
    return leaves, walk(tree)


def _unflatten(tdef, leaves):
    it = iter(leaves)

    def build(d):
        if d.kind is None:
            return next(it)
        if d.kind is type(None):
            return None
        kids = [build(c) for c in d.children]
        if d.kind is dict:
            return dict(zip(d.keys, kids))
        if d.kind is list or d.kind is tuple:
            return d.kind(kids)
        return d.kind(*kids)  # a namedtuple
    return build(tdef)


def _tree_map(fn, tree):
    leaves, tdef = _flatten(tree)
    return _unflatten(tdef, [fn(x) for x in leaves])


def _live(x):
    return isinstance(x, Tensor) and (x.requires_grad or x._tangent is not None)


# ------------------------------------------------------------------ reverse mode
def _leaf(x, name="input"):
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "fc":
        if arr.dtype.kind in "iub":
            arr = arr.astype(get_default_dtype() if arr.dtype.kind == "b" else np.float64)
        else:
            raise TypeError(f"{name}: expected numbers, got an array of dtype {arr.dtype}")
    return Tensor._make(arr, True, None)


#: the leaves the transforms create for their arguments (id -> Tensor; a WeakSet would compare
#: Tensors with ==).  Such a leaf is never a trainable tensor: met in a graph once its own trace has
#: finished (a vjp pullback called later), it is no reason to return Tensors.  While its trace's
#: function is still running (a grad inside a grad) it is an enclosing variable, and is.
_FRESH = weakref.WeakValueDictionary()


class _Running(threading.local):
    def __init__(self):
        self.leaves = {}   # id -> Tensor: the variables of the traces whose function is running


_RUNNING = _Running()


@contextlib.contextmanager
def _running(leaves):
    added = [x for x in leaves if id(x) not in _RUNNING.leaves]
    for x in added:
        _RUNNING.leaves[id(x)] = x
    try:
        yield
    finally:
        for x in added:
            _RUNNING.leaves.pop(id(x), None)


def _enclosing(node):
    """True for a leaf that belongs to a computation enclosing the current trace."""
    return _FRESH.get(id(node)) is not node or _RUNNING.leaves.get(id(node)) is node


def _variable(a, fname):
    """The Tensor to differentiate with respect to, for the argument value a, and whether it belongs
    to an enclosing computation (then every derivative must itself be differentiable)."""
    if isinstance(a, Tensor) and a.requires_grad:
        return a, True  # differentiate with respect to the enclosing computation's own node
    x = _leaf(a, fname)
    _FRESH[id(x)] = x
    if isinstance(a, Tensor) and a._tangent is not None:  # carried a tangent of an enclosing jvp: keep it
        x._tangent = a._tangent
        return x, True
    return x, False


def _out_data(y):
    return y.data if isinstance(y, Tensor) else np.asarray(y)


def _argnums(argnum, argnums, nargs, fname):
    if argnums is not None:
        argnum = argnums
    single = isinstance(argnum, (int, np.integer))
    nums = (argnum,) if single else tuple(argnum)
    for a in nums:
        if not isinstance(a, (int, np.integer)) or not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnum={argnum!r} but the function was called with {nargs} positional "
                             f"argument(s)")
    return tuple(int(a) % nargs for a in nums), single


def _check_float(fname, y):
    """A TypeError for results that have no derivative: integer and boolean outputs."""
    for leaf in _flatten(y)[0]:
        kind = _out_data(leaf).dtype.kind
        if kind not in "fc":
            what = "bool" if kind == "b" else str(_out_data(leaf).dtype)
            raise TypeError(f"{fname}: the function returned an array of dtype {what}, which has no derivative "
                            f"(a comparison or an integer result); return a floating-point value")


class _Trace:
    """One reverse-mode differentiation of f with respect to the arguments ``argnum`` (each a pytree
    of arrays): the variables (the pytrees' leaves as Tensors), the result, and whether the
    derivatives must themselves be differentiable (``nested``).

    They must be when a variable, or anything else f used, belongs to an enclosing computation:
    ``grad(grad(f))``, ``jacobian(grad(f))`` (the Hessian), ``jvp(grad(f), ...)``, or a gradient of a
    model with trainable parameters.  Then the VJPs are recorded (``create_graph``) and Tensors are
    returned in place of ndarrays, so the enclosing computation differentiates through them, as HIPS
    autograd does with nested boxes.
    """

    def __init__(self, f, args, kwargs, argnum, fname, has_aux=False, argnums=None):
        self.fname = fname
        self.nums, self.single = _argnums(argnum, argnums, len(args), fname)
        args = list(args)
        self.leaves, self.defs, outer = [], [], False
        for k in self.nums:
            leaves, tdef = _flatten(args[k])
            ts = []
            for a in leaves:
                t, o = _variable(a, fname)
                outer |= o
                ts.append(t)
            args[k] = _unflatten(tdef, ts)
            self.defs.append((tdef, len(ts)))
            self.leaves.extend(ts)
        with enable_grad(), _running(self.leaves):
            y = f(*args, **kwargs)
        self.aux = None
        if has_aux:
            if not (isinstance(y, (tuple, list)) and len(y) == 2):
                raise TypeError(f"{fname}: with has_aux=True the function must return a pair (output, aux), got "
                                f"{type(y).__name__}")
            y, self.aux = y
        self.y = y
        self.nested = outer or bool(_state.forward_depth) or self._uses_outer_tensors()

    def _uses_outer_tensors(self):
        mine = set(self.leaves)
        for y in _flatten(self.y)[0]:
            if isinstance(y, Tensor) and y.requires_grad and any(
                    node._ctx is None and node not in mine and _enclosing(node) for node in _toposort(y)):
                return True
        return False

    def value(self):
        return self.y if self.nested else _tree_map(_out_data, self.y)

    def aux_value(self):
        return self.aux if self.nested else _tree_map(lambda a: _out_data(a) if isinstance(a, Tensor) else a,
                                                       self.aux)

    def _root(self, seed):
        """One Tensor to walk back from, and its seed: the output itself, or for a pytree of outputs
        their flattened concatenation (the seeds likewise)."""
        outs, odef = _flatten(self.y)
        seeds, sdef = _flatten(seed)
        if not odef.same(sdef):
            raise ValueError(f"{self.fname}: the cotangent has structure {sdef.describe()} but the output has "
                             f"{odef.describe()}")
        pairs = []
        for y, s in zip(outs, seeds):
            shape = np.shape(_out_data(y))
            if np.shape(_out_data(s)) != shape:
                raise ValueError(f"{self.fname}: the cotangent must have the output's shape {shape}, got "
                                 f"{np.shape(_out_data(s))}")
            if isinstance(y, Tensor) and y.requires_grad:
                pairs.append((y, s))
        if not pairs:
            return None, None
        if len(pairs) == 1:
            return pairs[0]
        root = _ops.concatenate([_ops.reshape(y, (-1,)) for y, _ in pairs])
        seed = _ops.concatenate([_ops.reshape(s, (-1,)) for _, s in pairs])
        return root, seed

    def pull(self, seed):
        """The adjoints of the variables for the output adjoint ``seed`` (zeros where the output
        does not depend on them), as pytrees shaped like the arguments."""
        root, seed = self._root(seed)
        live_seed = any(_live(s) for s in _flatten(seed)[0]) if seed is not None else False
        graph = self.nested or live_seed
        grads = [None] * len(self.leaves)
        if root is not None:
            if graph:
                if not isinstance(seed, Tensor):
                    seed = Tensor._make(np.asarray(seed, dtype=root.dtype), False, None)
                with enable_grad():
                    grads = _adjoints(root, seed, self.leaves, create_graph=True)
            else:
                seed = np.asarray(_out_data(seed), dtype=root.dtype)
                grads = _adjoints(root, seed, self.leaves)
        out = []
        for g, x in zip(grads, self.leaves):
            if g is None:
                g = np.zeros_like(x.data)
                g = Tensor._make(g, False, None) if graph else g
            elif not graph:
                g = g.data if isinstance(g, Tensor) else np.asarray(g)
            out.append(g)
        trees, i = [], 0
        for tdef, n in self.defs:
            trees.append(_unflatten(tdef, out[i:i + n]))
            i += n
        return trees[0] if self.single else tuple(trees)


def value_and_grad(f: Callable[..., Any], argnum: ArgNums = 0, has_aux: bool = False, *,
                   argnums: Optional[ArgNums] = None) -> Callable[..., tuple[Any, PyTree]]:
    """Return a function computing ``(f(x), df/dx)`` for a scalar-valued f.

    ``argnum`` may be a tuple (then the gradient is a tuple, one per argument), and each argument a
    pytree (the gradient has its structure).  With ``has_aux=True`` f returns ``(value, aux)`` and
    the result is ``((value, aux), grad)``, as in JAX.

    >>> import chainrule as cr
    >>> v, g = cr.value_and_grad(lambda x: cr.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(v), g
    (5.0, array([2., 4.]))
    >>> (v, aux), g = cr.value_and_grad(lambda x: (cr.sum(x ** 2), "aux"), has_aux=True)(np.ones(2))
    >>> aux, g
    ('aux', array([2., 2.]))
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        tr = _Trace(f, args, kwargs, argnum, "grad", has_aux=has_aux, argnums=argnums)
        if isinstance(tr.y, (tuple, list, dict)):
            raise TypeError(f"grad: the function must return a single value, got a {type(tr.y).__name__}; use "
                            f"vjp or jacobian for several outputs{'' if has_aux else ', or has_aux=True'}")
        _check_float("grad", tr.y)
        val = _out_data(tr.y)
        if val.size != 1:
            raise ValueError(f"grad: the function must return a single value, got shape {val.shape}; "
                             f"use elementwise_grad or jacobian for array outputs")
        g = tr.pull(np.ones_like(val))
        v = tr.y if tr.nested else (val.reshape(()) if val.ndim else val)
        return ((v, tr.aux_value()), g) if has_aux else (v, g)
    return wrapped


def grad(f: Callable[..., Any], argnum: ArgNums = 0, has_aux: bool = False, *,
         argnums: Optional[ArgNums] = None) -> Callable[..., PyTree]:
    """Return the gradient function of a scalar-valued f with respect to argument ``argnum``.

    The lecture's first example, f(x) = exp(x^2), has f'(x) = 2x exp(x^2):

    >>> import numpy as np, chainrule as cr
    >>> df = cr.grad(lambda x: cr.exp(x ** 2))
    >>> bool(np.isclose(df(1.0), 2 * np.e))
    True

    Several arguments, and pytrees of them (see :func:`value_and_grad`):

    >>> g = cr.grad(lambda p, x: cr.sum(p["w"] * x + p["b"]), argnum=(0, 1))
    >>> g({"w": np.ones(2), "b": 0.5}, np.array([3.0, 4.0]))
    ({'w': array([3., 4.]), 'b': array(2.)}, array([1., 1.]))

    With ``has_aux=True`` f returns ``(value, aux)`` and the result is ``(grad, aux)``.
    """
    vg = value_and_grad(f, argnum, has_aux, argnums=argnums)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        out, g = vg(*args, **kwargs)
        return (g, out[1]) if has_aux else g
    return wrapped


def elementwise_grad(f: Callable[..., Any], argnum: ArgNums = 0, *,
                     argnums: Optional[ArgNums] = None) -> Callable[..., PyTree]:
    """Gradient of ``sum(f(x))``: for an elementwise f, the derivative f'(x_i) at every point.

    >>> import numpy as np, chainrule as cr
    >>> cr.elementwise_grad(cr.tanh)(np.zeros(3))
    array([1., 1., 1.])
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        tr = _Trace(f, args, kwargs, argnum, "elementwise_grad", argnums=argnums)
        _check_float("elementwise_grad", tr.y)
        return tr.pull(_tree_map(lambda y: np.ones_like(_out_data(y)), tr.y))
    return wrapped


def vjp(f: Callable[..., Any], *primals: PyTree, argnum: ArgNums = 0,
        argnums: Optional[ArgNums] = None) -> tuple[PyTree, Callable[[PyTree], PyTree]]:
    """Return ``(f(x), vjp_fn)`` where ``vjp_fn(ybar) = ybar^T J``, the reverse-mode product.

    f may return a pytree; the cotangent ``ybar`` then has its structure.  ``vjp_fn`` may be called
    any number of times, and it is differentiable in ``ybar`` (and in x): ``grad(lambda v: ...
    vjp_fn(v) ...)`` works, as for Gauss-Newton products.

    >>> import numpy as np, chainrule as cr
    >>> y, back = cr.vjp(lambda x: 3 * x, np.ones(2))
    >>> back(np.array([1.0, 2.0]))
    array([3., 6.])
    """
    tr = _Trace(f, primals, {}, argnum, "vjp", argnums=argnums)
    _check_float("vjp", tr.y)

    def vjp_fn(ybar):
        def cast(s, y):
            return s if isinstance(s, Tensor) else np.asarray(s, dtype=_out_data(y).dtype)
        seeds, sdef = _flatten(ybar)
        outs, odef = _flatten(tr.y)
        if len(seeds) == len(outs):
            ybar = _unflatten(sdef, [cast(s, y) for s, y in zip(seeds, outs)])
        return tr.pull(ybar)
    return tr.value(), vjp_fn


# ------------------------------------------------------------------ forward mode
def _jvp_args(primals, tangents):
    single = not isinstance(primals, (tuple, list))
    if single:
        primals, tangents = (primals,), (tangents,)
    if not isinstance(tangents, (tuple, list)) or len(primals) != len(tangents):
        raise ValueError(f"jvp: expected one tangent per primal, got {len(primals)} primal(s) and "
                         f"{len(tangents) if isinstance(tangents, (tuple, list)) else 'a non-sequence of'} tangent(s)")
    pairs = []
    for k, (p, t) in enumerate(zip(primals, tangents)):
        pl, pdef = _flatten(p)
        tl, tdef = _flatten(t)
        if not pdef.same(tdef):
            raise ValueError(f"jvp: tangent {k} has structure {tdef.describe()} but its primal has {pdef.describe()}")
        for a, v in zip(pl, tl):
            if np.shape(_out_data(v)) != np.shape(_out_data(a)):
                raise ValueError(f"jvp: tangent {k} must have its primal's shape {np.shape(_out_data(a))}, got "
                                 f"{np.shape(_out_data(v))}")
        pairs.append((pl, pdef, tl))
    return pairs


def jvp(f: Callable[..., Any], primals: PyTree, tangents: PyTree) -> tuple[PyTree, PyTree]:
    """Forward mode: return ``(f(x), J v)`` for primals x and tangents v.

    ``primals`` and ``tangents`` are sequences of the same length (one entry per argument of f, each
    a pytree), or single arrays for a function of one argument.  f may return a pytree; its tangent
    has the same structure.

    At the top level the tangents ride along the values through every primitive's JVP.  Inside an
    enclosing transform (a ``grad`` of a ``jvp``, a ``jvp`` inside a ``jvp``) or with tangents that
    require grad, J v is computed by differentiating the pullback u -> J^T u (linear in u) in
    reverse mode, with every step recorded, so the result stays differentiable in x and v.

    >>> import numpy as np, chainrule as cr
    >>> y, ydot = cr.jvp(lambda x: x ** 2, (np.array([1.0, 3.0]),), (np.ones(2),))
    >>> ydot
    array([2., 6.])
    """
    pairs = _jvp_args(primals, tangents)
    nested = bool(_state.forward_depth) or any(_live(a) for pl, _, tl in pairs for a in (*pl, *tl))
    if nested:
        return _jvp_by_reverse(f, pairs)
    xs = []
    for pl, pdef, tl in pairs:
        leaves = []
        for a, v in zip(pl, tl):
            x = _leaf(a, "jvp")
            x.requires_grad = False
            x._tangent = np.asarray(_out_data(v), dtype=x.data.dtype)
            leaves.append(x)
        xs.append(_unflatten(pdef, leaves))
    _state.forward_depth += 1
    try:
        y = f(*xs)
    finally:
        _state.forward_depth -= 1

    def tangent(leaf):
        val = _out_data(leaf)
        tan = leaf._tangent if isinstance(leaf, Tensor) else None
        if tan is None:
            tan = np.zeros_like(val, dtype=val.dtype if val.dtype.kind == "f" else np.float64)
        return tan
    return _tree_map(_out_data, y), _tree_map(tangent, y)


def _jvp_by_reverse(f, pairs):
    """J v as the derivative in u of <J^T u, v> (the pullback is linear in u), all steps recorded."""
    args, xs, vs = [], [], []
    for pl, pdef, tl in pairs:
        leaves = [_variable(a, "jvp")[0] for a in pl]
        args.append(_unflatten(pdef, leaves))
        xs.extend(leaves)
        vs.extend(tl)
    with enable_grad(), _running(xs):
        y = f(*args)
    outs, odef = _flatten(y)
    diff = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
    jv = None
    if diff:
        root = diff[0] if len(diff) == 1 else _ops.concatenate([_ops.reshape(o, (-1,)) for o in diff])
        u = Tensor._make(np.zeros(root.shape, root.dtype), True, None)
        with enable_grad():
            gs = _adjoints(root, u, xs, create_graph=True)
            s = None
            for g, v in zip(gs, vs):
                if isinstance(g, Tensor):
                    term = _ops.sum(g * v)
                    s = term if s is None else s + term
            if s is not None and s.requires_grad:
                (jv,) = _adjoints(s, Tensor._make(np.ones((), s.dtype), False, None), [u], create_graph=True)
    tans, i = [], 0
    for o in outs:
        val = _out_data(o)
        if isinstance(o, Tensor) and o.requires_grad and jv is not None:
            n = val.size
            piece = jv if len(diff) == 1 else jv[i:i + n]
            tans.append(_ops.reshape(piece, val.shape))
            i += n
        else:
            tans.append(Tensor._make(np.zeros_like(val, dtype=val.dtype if val.dtype.kind == "f" else np.float64),
                                     False, None))
    return y, _unflatten(odef, tans)


def deriv(f: Callable[..., Any], argnum: int = 0) -> Callable[..., PyTree]:
    """The derivative of f along its argument ``argnum`` in forward mode, with a tangent of ones
    (HIPS autograd's ``deriv``): f'(x) for a scalar x, the sum of J's columns for an array.

    >>> import numpy as np, chainrule as cr
    >>> cr.deriv(cr.sin)(np.array([0.0, np.pi]))
    array([ 1., -1.])
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        (k,), _ = _argnums(argnum, None, len(args), "deriv")
        x = args[k]

        def g(xk):
            return f(*args[:k], xk, *args[k + 1:], **kwargs)
        ones = _tree_map(lambda a: np.ones_like(_out_data(a), dtype=float), x)
        return jvp(g, (x,), (ones,))[1]
    return wrapped


# ------------------------------------------------------------------ second order
def jacobian(f: Callable[..., Any], argnum: ArgNums = 0, *,
             argnums: Optional[ArgNums] = None) -> Callable[..., PyTree]:
    """Return the function x -> J(x) with J[i..., j...] = d f(x)[i...] / d x[j...].

    Built row by row in reverse mode; the shape is ``f(x).shape + x.shape`` (for a pytree argument,
    a pytree of such blocks; for a tuple ``argnum``, a tuple).

    >>> import numpy as np, chainrule as cr
    >>> cr.jacobian(lambda x: x * x)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        tr = _Trace(f, args, kwargs, argnum, "jacobian", argnums=argnums)
        if isinstance(tr.y, (tuple, list, dict)):
            raise TypeError(f"jacobian: the function must return one array, got a {type(tr.y).__name__}; take "
                            f"the jacobian of each output, or use vjp")
        _check_float("jacobian", tr.y)
        val = _out_data(tr.y)
        eye = np.eye(val.size, dtype=val.dtype)
        rows = [_flatten(tr.pull(eye[i].reshape(val.shape)))[0] for i in range(val.size)]
        blocks = []
        for j, x in enumerate(tr.leaves):
            if tr.nested:
                blocks.append(_ops.reshape(_ops.stack([r[j] for r in rows]), val.shape + x.shape) if rows
                              else Tensor._make(np.zeros(val.shape + x.shape), False, None))
            else:
                blocks.append(np.stack([r[j] for r in rows]).reshape(val.shape + x.shape) if rows
                              else np.zeros(val.shape + x.shape))
        trees, i = [], 0
        for tdef, n in tr.defs:
            trees.append(_unflatten(tdef, blocks[i:i + n]))
            i += n
        return trees[0] if tr.single else tuple(trees)
    return wrapped


def hessian(f: Callable[..., Any], argnum: ArgNums = 0) -> Callable[..., PyTree]:
    """Return the function x -> H(x), the matrix of second derivatives of a scalar f.

    H = jacobian(grad(f)): the gradient is computed with its VJPs recorded
    (``create_graph``), and that recorded gradient is differentiated again in
    reverse mode, one row per coordinate, exactly as HIPS autograd's
    ``hessian``.  The shape is ``x.shape + x.shape``.

    >>> import numpy as np, chainrule as cr
    >>> cr.hessian(lambda x: cr.sum(x ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacobian(grad(f, argnum), argnum)


def _tree_vdot(a, b):
    total = None
    for x, v in zip(_flatten(a)[0], _flatten(b)[0]):
        term = _ops.sum(_ops.mul(x, v))
        total = term if total is None else _ops.add(total, term)
    return total


def hessian_vector_product(f: Callable[..., Any], argnum: ArgNums = 0) -> Callable[..., PyTree]:
    """Return the function (*args, v) -> H v, the Hessian of a scalar f (with respect to argument
    ``argnum``) times v, without forming H: the gradient of <grad f(x), v> (reverse over reverse),
    as HIPS autograd's ``hessian_vector_product``.

    >>> import numpy as np, chainrule as cr
    >>> cr.hessian_vector_product(lambda x: cr.sum(x ** 3))(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    fgrad = grad(f, argnum)

    def vector_dot_grad(*args, **kwargs):
        args, v = args[:-1], args[-1]
        return _tree_vdot(fgrad(*args, **kwargs), v)
    return grad(vector_dot_grad, argnum)


def hvp(f: Callable[..., Any], primals: PyTree, tangents: PyTree) -> PyTree:
    """H v for a scalar f at ``primals`` along ``tangents`` (JAX's hvp): the forward-mode derivative
    of the gradient, ``jvp(grad(f), primals, tangents)[1]`` (forward over reverse).  For a function
    of several arguments the gradient is taken with respect to all of them (a tuple).

    >>> import numpy as np, chainrule as cr
    >>> cr.hvp(lambda x: cr.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    single = not isinstance(primals, (tuple, list))
    n = 1 if single else len(primals)
    g = grad(f, 0 if n == 1 else tuple(range(n)))
    return jvp(g, primals, tangents)[1]

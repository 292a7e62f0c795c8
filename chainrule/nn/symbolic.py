"""Symbolic tensors: what a layer returns when it is called on ``Input(...)`` in Keras' functional API.

A :class:`KerasTensor` holds no values, only the shape (batch axis first, None when unknown) and
dtype a layer's output will have, and the :class:`Node` that made it: the layer and the symbolic
tensors it was called on.  Calling a layer on symbolic tensors builds the layer for their shapes,
records a node and returns the symbolic outputs; :class:`chainrule.nn.graph.Model` walks the nodes
from its outputs back to its inputs and, on data, calls the same layers in that order.

This module imports no layer: :meth:`chainrule.nn.Module.__call__` hands a call on symbolic inputs
to :func:`symbolic_call`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    from chainrule._typing import DTypeLike
    from chainrule.nn.module import Module

__all__ = ["KerasTensor", "Node", "symbolic_call", "flatten", "output_values"]


def _no_values(what):
    def method(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Raise NotImplementedError: a symbolic tensor holds no values to compute with."""
        raise NotImplementedError(
            f"{what} on a symbolic Keras tensor ({self.name}, shape {self.shape}): a tensor from Input() holds no "
            f"values, only the shape of what a layer will compute; combine tensors with layers (layers.Add()([a, b]),"
            f" layers.Concatenate()([a, b]), layers.Multiply(), ...) and call the model on data")
    return method


class KerasTensor:
    """The symbolic output of a layer in a functional model: ``shape`` (None for the batch axis), ``dtype``.

    >>> from chainrule.nn import Input, Dense
    >>> x = Input(shape=(3,), name="features")
    >>> x
    <KerasTensor shape=(None, 3), dtype=float32, name=features>
    >>> Dense(4)(x).shape
    (None, 4)
    """

    __slots__ = ("shape", "dtype", "name", "node", "index")

    def __init__(self, shape: Sequence[int | None], dtype: DTypeLike = "float32", name: str | None = None,
                 node: Node | None = None, index: int = 0) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self.node = node      # the Node whose layer returned this tensor
        self.index = index    # which of that node's outputs it is

    @property
    def ndim(self) -> int:
        """The number of dimensions, the batch axis included."""
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    __add__ = __radd__ = _no_values("arithmetic (+)")
    __sub__ = __rsub__ = _no_values("arithmetic (-)")
    __mul__ = __rmul__ = _no_values("arithmetic (*)")
    __truediv__ = __rtruediv__ = _no_values("arithmetic (/)")
    __matmul__ = __rmatmul__ = _no_values("a matrix product (@)")
    __pow__ = __neg__ = _no_values("arithmetic (**, -x)")
    __getitem__ = _no_values("indexing")
    __array__ = _no_values("converting to an array")
    numpy = _no_values("numpy()")

    __hash__ = object.__hash__


class Node:
    """One call of a layer in a functional graph: ``layer(*args, **kwargs)`` on symbolic tensors.

    ``args``/``kwargs`` keep the call's structure (a list of tensors for a merge layer, say), with
    the symbolic tensors in place; ``input_tensors`` lists them flat, ``outputs`` are the tensors
    the call returned; ``structure`` says whether it returned one tensor or a list.
    """

    __slots__ = ("layer", "args", "kwargs", "input_tensors", "outputs", "listed")

    def __init__(self, layer: Module, args: tuple[Any, ...], kwargs: dict[str, Any], outputs: list[KerasTensor],
                 listed: bool) -> None:
        self.layer, self.args, self.kwargs = layer, args, kwargs
        self.input_tensors = flatten((args, kwargs))
        self.outputs = outputs
        self.listed = listed

    @property
    def parents(self) -> list[Node]:
        """The nodes that produced this node's input tensors."""
        return [t.node for t in self.input_tensors]

    def __repr__(self):
        return f"Node({getattr(self.layer, 'name', type(self.layer).__name__)}, inputs={len(self.input_tensors)})"


def flatten(structure: Any) -> list[KerasTensor]:
    """The KerasTensors in a nest of lists, tuples and dicts, in order."""
    if isinstance(structure, KerasTensor):
        return [structure]
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [t for v in structure for t in flatten(v)]
    return []


def substitute(structure: Any, values: Mapping[int, Any]) -> Any:
    """The same nest with each KerasTensor replaced by ``values[id(tensor)]``."""
    if isinstance(structure, KerasTensor):
        return values[id(structure)]
    if isinstance(structure, dict):
        return {k: substitute(v, values) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(substitute(v, values) for v in structure)
    return structure


def _shapes(structure):
    if isinstance(structure, KerasTensor):
        return structure.shape
    if isinstance(structure, (list, tuple)):
        return [_shapes(v) for v in structure]
    return structure


def _is_shape(s):
    return isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _dummy(structure, dtype_of):
    """Zeros standing in for symbolic tensors (batch of 2, unknown sizes 1) for a trial call."""
    if isinstance(structure, KerasTensor):
        shape = tuple(2 if i == 0 and d is None else (1 if d is None else d) for i, d in enumerate(structure.shape))
        return np.zeros(shape, dtype=dtype_of(structure))
    if isinstance(structure, dict):
        return {k: _dummy(v, dtype_of) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_dummy(v, dtype_of) for v in structure)
    return structure


def _traced_shapes(module, args, kwargs):
    """The output shapes of ``module`` found by calling it once on zeros (evaluation mode, no graph):
    for a layer that does not say its output shape (a custom layer, a PyTorch-style Module)."""
    from chainrule.tensor import Tensor, no_grad
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with no_grad():
            out = module.forward(*_dummy(args, lambda t: t.dtype), **_dummy(kwargs, lambda t: t.dtype))
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    def shape_of(o):
        if isinstance(o, (list, tuple)):
            return [shape_of(v) for v in o]
        return (None,) + tuple(np.shape(o.data if isinstance(o, Tensor) else o))[1:]

    def dtypes(o):
        if isinstance(o, (list, tuple)):
            return [d for v in o for d in dtypes(v)]
        return [np.asarray(o.data if isinstance(o, Tensor) else o).dtype]
    if isinstance(out, (list, tuple)):
        return [shape_of(o) for o in out], dtypes(out)
    return shape_of(out), dtypes(out)[0]


def symbolic_call(layer: Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> KerasTensor | list[KerasTensor]:
    """``layer(*args, **kwargs)`` on symbolic tensors: build the layer for their shapes, record the
    call as a :class:`Node` and return symbolic outputs of the right shapes."""
    inputs = flatten((args, kwargs))
    first = args[0]
    in_shape = _shapes(first)
    name = getattr(layer, "name", type(layer).__name__)
    graph_outputs = getattr(layer, "_graph_output_shapes", None)
    graph_outputs = graph_outputs() if graph_outputs is not None else None
    try:
        if graph_outputs is not None:                      # a functional model used as a layer
            shapes, dtypes = graph_outputs
        else:
            if not layer.__dict__.get("_self_built", True) and hasattr(layer, "build"):
                layer.build(in_shape)
            own = getattr(type(layer), "compute_output_shape", None)
            base = _base_compute_output_shape()
            if own is not None and own is not base and not kwargs and len(args) == 1:
                shapes = layer.compute_output_shape(in_shape)
                dt = getattr(layer, "dtype", None)
                dt = dt if isinstance(dt, np.dtype) else inputs[0].dtype
                dtypes = [dt] * len(_shape_leaves(shapes)) if isinstance(shapes, list) else dt
            else:
                shapes, dtypes = _traced_shapes(layer, args, kwargs)
    except (ValueError, TypeError) as err:
        got = ", ".join(str(t.shape) for t in inputs)
        raise type(err)(f"{name} ({type(layer).__name__}): cannot be called on symbolic input of shape {got}: "
                        f"{err}") from None
    listed = isinstance(shapes, list) and not _is_shape(shapes)
    shape_list = _shape_leaves(shapes) if listed else [tuple(shapes)]
    dtype_list = list(dtypes) if listed else [dtypes]
    node = Node(layer, args, kwargs, [], listed)
    for i, (s, dt) in enumerate(zip(shape_list, dtype_list)):
        node.outputs.append(KerasTensor(s, dt, name=f"{name}{'' if i == 0 else '_' + str(i)}", node=node, index=i))
    nodes = layer.__dict__.get("_inbound_nodes")
    if nodes is None:
        nodes = []
        object.__setattr__(layer, "_inbound_nodes", nodes)
    nodes.append(node)
    if not listed:
        return node.outputs[0]
    leaves = iter(node.outputs)
    return _nest(shapes, leaves)      # nested as the layer nests its outputs (an RNN's states per cell)


def _shape_leaves(shapes):
    """The shapes in a nest of lists of shapes (a layer's several outputs, an RNN's states per cell), in order."""
    if _is_shape(shapes):
        return [tuple(shapes)]
    return [s for v in shapes for s in _shape_leaves(v)]


def _nest(shapes, leaves):
    """The next tensors of ``leaves`` nested as ``shapes`` is."""
    if _is_shape(shapes):
        return next(leaves)
    return [_nest(v, leaves) for v in shapes]


def output_values(node: Node, out: Any) -> list[Any]:
    """A layer's real outputs, flat and in the order of ``node.outputs`` (what its symbolic call returned)."""
    if not node.listed:
        return [out]
    flat = []

    def walk(v):
        if isinstance(v, (list, tuple)):
            for u in v:
                walk(u)
        else:
            flat.append(v)
    walk(out)
    if len(flat) != len(node.outputs):
        name = getattr(node.layer, "name", type(node.layer).__name__)
        raise ValueError(f"{name}: returned {len(flat)} outputs here but {len(node.outputs)} when the model was "
                         f"built")
    return flat


_BASE = []


def _base_compute_output_shape():
    """Layer.compute_output_shape (the identity), imported on first use (this module imports no layer)."""
    if not _BASE:
        from chainrule.nn.core import Layer
        _BASE.append(Layer.compute_output_shape)
    return _BASE[0]

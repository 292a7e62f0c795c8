"""Keras' functional API: ``Input``, and ``Model(inputs=..., outputs=...)`` over a graph of layers.

::

    inp = Input(shape=(2,))
    hidden = Dense(4, activation="sigmoid", name="hidden")(inp)
    out = Dense(1, activation="sigmoid")(hidden)
    model = Model(inputs=inp, outputs=out)          # the layers, called in graph order
    Model(inputs=model.input, outputs=model.get_layer("hidden").output).predict(X)   # the hidden units

A layer called on symbolic tensors (:mod:`chainrule.nn.symbolic`) records a node; :class:`Model`
walks the nodes back from its outputs to its inputs once, keeps them in an order where every
node comes after the nodes it reads (a topological order of the graph), and on data calls the
same layers in that order: a model is the composition of its layers, f = f_L o ... o f_1 along
every path, and back-propagation runs through it like any other computation.  Layers may be
shared (called several times: one set of weights), models may have several inputs and outputs,
and a model is itself a layer (it can be called on symbolic tensors inside another model).

``Model`` without inputs and outputs is Keras' subclassing base: define the layers in
``__init__`` and the computation in ``call`` (or ``forward``).
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import _checks
from chainrule.nn import naming
from chainrule.nn.core import Layer
from chainrule.nn.module import LAYERS
from chainrule.nn.symbolic import KerasTensor, Node, flatten, output_values, substitute
from chainrule.tensor import Tensor, get_default_dtype

if TYPE_CHECKING:
    from chainrule._typing import DTypeLike, TensorLike
    from chainrule.nn.module import Module

__all__ = ["Input", "InputLayer", "Model", "KerasTensor"]


class InputLayer(Layer):
    """The entry of a functional model: passes its input through.  Made by :func:`Input`.

    ``shape`` is the per-sample shape (None for a size that may vary); ``batch_shape`` the full
    shape with the batch axis first (Keras' ``batch_shape=``, tf.keras' ``batch_input_shape``).
    """

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: DTypeLike = None, sparse: bool | None = None, batch_shape: Sequence[int | None] | None = None,
                 input_tensor: None = None, name: str | None = None, input_shape: Sequence[int | None] | None = None,
                 ragged: bool | None = None, **kwargs: Any) -> None:
        for what, value in (("sparse", sparse), ("ragged", ragged), ("input_tensor", input_tensor)):
            if value:
                raise NotImplementedError(f"Input({what}=...): {what} inputs are not supported by chainrule")
        if shape is None:
            shape = input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input: give shape=(...) (the shape of one sample, without the batch axis), "
                                 "e.g. Input(shape=(784,))")
            shape = _checks.shape("Input", "shape", shape)
            batch_shape = (_checks.positive_int("Input", "batch_size", batch_size, allow_none=True), *shape)
        batch_shape = _checks.shape("Input", "batch_shape", batch_shape)
        if not batch_shape:
            raise ValueError("Input: the batch shape needs at least the batch axis")
        super().__init__(name=name, **kwargs)
        self.batch_shape = batch_shape
        self.dtype = _checks.dtype("Input", dtype) if dtype is not None else get_default_dtype()
        Layer.build(self, batch_shape)
        tensor = KerasTensor(batch_shape, self.dtype, name=self.name)
        node = Node(self, (), {}, [tensor], False)
        tensor.node = node
        object.__setattr__(self, "_inbound_nodes", [node])

    def forward(self, x: TensorLike) -> TensorLike:
        return x

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype.name, "name": self.name}


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None, dtype: DTypeLike = None,
          sparse: bool | None = None, batch_shape: Sequence[int | None] | None = None, name: str | None = None,
          tensor: None = None, optional: bool = False,
          ragged: bool | None = None) -> KerasTensor:  # noqa: N802 (Keras' name)
    """A symbolic input of a functional model: ``Input(shape=(784,))`` stands for batches of 784 features.

    Parameters
    ----------
    shape : tuple
        The shape of one sample (no batch axis); None for a size that varies (a sequence length).
    batch_size : int, optional
        A fixed batch size (stateful recurrent networks need one).
    batch_shape : tuple, optional
        The whole shape, batch axis first, instead of ``shape`` and ``batch_size``.
    dtype : str, optional
        float32 unless changed (:func:`chainrule.set_default_dtype`).
    name : str, optional
        Also the key of this input when a model is called on a dict.

    >>> x = Input(batch_shape=(None, 5, 1))
    >>> x.shape
    (None, 5, 1)
    """
    if optional:
        raise NotImplementedError("Input(optional=True): optional inputs are not supported by chainrule")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       input_tensor=tensor, name=name, ragged=ragged)
    return layer._inbound_nodes[0].outputs[0]


def _structure(x):
    """'one', 'list' or 'dict': how a model's inputs or outputs were given."""
    return "dict" if isinstance(x, dict) else ("list" if isinstance(x, (list, tuple)) else "one")


def _nesting(x):
    """For a list of outputs some of which are lists themselves (an RNN's states per cell): the same nest
    with each tensor replaced by its position in the flat list; None for a flat list or anything else."""
    if not isinstance(x, (list, tuple)) or not any(isinstance(v, (list, tuple)) for v in x):
        return None
    count = iter(range(1 << 30))

    def walk(v):
        return [walk(u) for u in v] if isinstance(v, (list, tuple)) else next(count)
    return walk(x)


def _unnest(nest, flat):
    """The values ``flat`` put back in the nest :func:`_nesting` made."""
    return [_unnest(v, flat) for v in nest] if isinstance(nest, list) else flat[nest]


def _check_tensors(x, what):
    items = list(x.values()) if isinstance(x, dict) else (list(x) if isinstance(x, (list, tuple)) else [x])
    if what == "outputs" and _nesting(x) is not None:
        items = flatten(x)
    for t in items:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"Model: {what} must be symbolic tensors (from Input(...) and layers called on them), got "
                            f"{type(t).__name__}; for a subclassed model call Model() without inputs and outputs")
    if not items:
        raise ValueError(f"Model: {what} is empty")
    return items


class Model(Layer):
    """Keras' ``Model``: a functional graph of layers (``Model(inputs, outputs)``) or a subclassed model.

    A functional model has Keras' attributes: ``inputs``/``outputs`` (and ``input``/``output`` for
    a single one), ``layers`` (its InputLayers first), ``get_layer(name)``, ``summary()``; it trains,
    evaluates, predicts, saves and loads like any model (several inputs: pass a list of arrays in
    the order of ``inputs``, or a dict by input name; several outputs: a list of targets and
    ``compile(loss=[...])``).  Layer names must be unique in a model: its weights are named after
    them (``hidden.kernel``).

    Without inputs and outputs it is the subclassing base: create layers in ``__init__`` and write
    ``call(self, inputs)`` (PyTorch's ``forward`` works too).

    >>> from chainrule.nn import Dense
    >>> inp = Input(shape=(2,))
    >>> out = Dense(1, name="out")(Dense(4, name="hidden")(inp))
    >>> model = Model(inputs=inp, outputs=out)
    >>> [layer.name for layer in model.layers][1:], model.output.shape
    (['hidden', 'out'], (None, 1))
    """

    def __init__(self, inputs: KerasTensor | Sequence[KerasTensor] | Mapping[str, KerasTensor] | None = None,
                 outputs: KerasTensor | Sequence[KerasTensor] | Mapping[str, KerasTensor] | None = None,
                 name: str | None = None, trainable: bool = True, **kwargs: Any) -> None:
        if name is None:
            name = naming.unique_name("Functional" if (type(self) is Model and inputs is not None) else
                                      type(self).__name__)
        super().__init__(name=name, trainable=trainable, **kwargs)
        object.__setattr__(self, "_graph", None)
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: give both inputs= and outputs= (a functional model), or neither (a "
                                 "subclassed model with a call method)")
            self._init_graph(inputs, outputs)

    # ------------------------------------------------------------------ the graph
    def _init_graph(self, inputs, outputs):
        ins = _check_tensors(inputs, "inputs")
        outs = _check_tensors(outputs, "outputs")
        known = {id(t) for t in ins}
        order, post, seen, visiting = [], [], set(), set()   # order: nodes to run; post: with the inputs' nodes

        def visit(node, tensor):
            if id(node) in seen:
                return
            if id(tensor) in known:              # an input: a leaf of the walk
                seen.add(id(node))
                post.append(node)
                return
            if id(node) in visiting:  # pragma: no cover - a call cannot read its own output
                raise ValueError("Model: the graph has a cycle")
            visiting.add(id(node))
            if isinstance(node.layer, InputLayer):
                raise ValueError(
                    f"Model: graph disconnected: {tensor.name} (from input {node.layer.name}) is needed to compute "
                    f"the outputs but is not among the inputs ({', '.join(t.name for t in ins)}); pass it in "
                    f"inputs=[...]")
            for t in node.input_tensors:
                visit(t.node, t)
            visiting.discard(id(node))
            seen.add(id(node))
            order.append(node)
            post.append(node)

        for t in outs:
            visit(t.node, t)
        # Keras' order of model.layers: by depth (the longest path to an output), deepest first, ties in the
        # order the walk from the outputs met them
        depth = {id(n): 0 for n in post}
        run = {id(n) for n in order}
        for node in reversed(post):
            for t in (node.input_tensors if id(node) in run else ()):
                depth[id(t.node)] = max(depth[id(t.node)], depth[id(node)] + 1)
        layer_depth, first = {}, {}
        for i, node in enumerate(post):
            key = id(node.layer)
            layer_depth[key] = max(layer_depth.get(key, 0), depth[id(node)])
            first.setdefault(key, (i, node.layer))
        for t in ins:                            # an input nothing reads still belongs to the model
            if id(t.node.layer) not in first:
                first[id(t.node.layer)] = (len(post), t.node.layer)
                layer_depth[id(t.node.layer)] = max(layer_depth.values(), default=0) + 1
        layers = [layer for _, layer in sorted(first.values(), key=lambda e: (-layer_depth[id(e[1])], e[0]))]
        names = {}
        for layer in layers:
            lname = getattr(layer, "name", None) or type(layer).__name__
            if lname in names and names[lname] is not layer:
                raise ValueError(f"Model: two layers are named {lname!r}; every layer of a model needs its own "
                                 f"name (its weights are saved under it): pass name=... to one of them")
            names[lname] = layer
        for lname, layer in names.items():
            self._modules[lname] = layer
        object.__setattr__(self, "_graph", {
            "inputs": ins, "outputs": outs, "nodes": order,
            "in_structure": _structure(inputs),
            # outputs=[y] is one output, as Keras returns it (predict gives an array, not a list of one)
            "out_structure": "one" if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else _structure(outputs),
            "in_keys": list(inputs) if isinstance(inputs, dict) else None,
            "out_keys": list(outputs) if isinstance(outputs, dict) else None,
            "out_nest": _nesting(outputs)})
        from chainrule.nn.module import _changed
        _changed()
        object.__setattr__(self, "_self_built", True)

    @property
    def is_graph(self) -> bool:
        """True for a functional model (built from inputs and outputs)."""
        return self.__dict__.get("_graph") is not None

    def _require_graph(self, what):
        g = self.__dict__.get("_graph")
        if g is None:
            raise AttributeError(f"{self.name}: {what} exists for functional models (Model(inputs=..., outputs=...));"
                                 f" this is a subclassed model")
        return g

    @property
    def inputs(self) -> list[KerasTensor]:
        """The input tensors of a functional model, as a list."""
        return list(self._require_graph("inputs")["inputs"])

    @property
    def outputs(self) -> list[KerasTensor]:
        """The output tensors of a functional model, as a list."""
        return list(self._require_graph("outputs")["outputs"])

    @property
    def input(self) -> KerasTensor | list[KerasTensor]:
        """The symbolic input of a functional model (a list when it has several); for a subclassed model,
        the input of its first call on symbolic tensors."""
        g = self.__dict__.get("_graph")
        if g is None:
            return Layer.input.fget(self)
        return g["inputs"][0] if len(g["inputs"]) == 1 else list(g["inputs"])

    @property
    def output(self) -> KerasTensor | list[KerasTensor]:
        """The symbolic output of a functional model (a list when it has several); for a subclassed model,
        the output of its first call on symbolic tensors."""
        g = self.__dict__.get("_graph")
        if g is None:
            return Layer.output.fget(self)
        return g["outputs"][0] if len(g["outputs"]) == 1 else list(g["outputs"])

    @property
    def input_names(self) -> list[str]:
        """The names of a functional model's input layers, in order."""
        return [t.node.layer.name for t in self._require_graph("input_names")["inputs"]]

    @property
    def output_names(self) -> list[str]:
        """The names of a functional model's outputs: the keys of a dict of outputs, else the names of the
        layers that produce them."""
        g = self._require_graph("output_names")
        return list(g["out_keys"]) if g["out_keys"] else [t.node.layer.name for t in g["outputs"]]

    @property
    def layers(self) -> list[Module]:
        """The model's direct sublayers, in the order they were added."""
        return list(self._modules.values())

    def _graph_output_shapes(self):
        """Shapes and dtypes of the outputs (when this model is called on symbolic tensors)."""
        g = self.__dict__.get("_graph")
        if g is None:
            return None
        outs = g["outputs"]
        if len(outs) == 1 and g["out_structure"] == "one":
            return outs[0].shape, outs[0].dtype
        return [t.shape for t in outs], [t.dtype for t in outs]

    # ------------------------------------------------------------------ running
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        g = self.__dict__.get("_graph")
        if g is None:
            call = getattr(self, "call", None)
            if call is None:
                raise NotImplementedError(f"{type(self).__name__}: a subclassed Model must define call(self, inputs) "
                                          f"(or forward), or be built with Model(inputs=..., outputs=...)")
            if "training" in _parameters_of(call) and "training" not in kwargs:
                kwargs["training"] = self.training
            return call(*args, **kwargs)
        if kwargs or len(args) != 1:
            if len(args) == len(g["inputs"]) and not kwargs:
                args = (list(args),)
            else:
                raise TypeError(f"{self.name}: call a functional model on its inputs (one array, a list in the order "
                                f"of model.inputs, or a dict by input name), got {len(args)} arguments and "
                                f"keywords {sorted(kwargs)}")
        return self._run(args[0])

    def _feed(self, x):
        """The model's inputs as a list in the order of ``inputs``, checked against their shapes (an array
        one axis short of an input whose last axis is 1 gets that axis, as Keras adjusts the rank)."""
        g = self._graph
        ins = g["inputs"]
        if isinstance(x, dict):
            keys = g["in_keys"] or [t.node.layer.name for t in ins]
            missing = [k for k in keys if k not in x]
            if missing:
                raise ValueError(f"{self.name}: the input dict has no {missing}; expected the keys {keys}")
            x = [x[k] for k in keys]
        elif not isinstance(x, (list, tuple)):
            x = [x]
        x = list(x)
        if len(x) != len(ins):
            raise ValueError(f"{self.name}: expected {len(ins)} inputs ({', '.join(t.name for t in ins)}), got "
                             f"{len(x)}; pass a list of arrays in the order of model.inputs")
        for k, (t, v) in enumerate(zip(ins, x)):
            shape = np.shape(v.data if isinstance(v, Tensor) else v)
            want = t.shape
            # Keras' rank adjustment: a last axis of size 1 may be left out or added
            if len(shape) + 1 == len(want) and want[-1] == 1:
                v = x[k] = v.reshape(shape + (1,)) if not isinstance(v, Tensor) else v.reshape(*shape, 1)
                shape = shape + (1,)
            elif len(shape) == len(want) + 1 and shape[-1] == 1:
                v = x[k] = v.reshape(shape[:-1]) if not isinstance(v, Tensor) else v.reshape(*shape[:-1])
                shape = shape[:-1]
            if len(shape) != len(want):
                hint = ""
                if len(shape) + 1 == len(want) and len(want) == 3 and want[1] == 1:
                    hint = f"; add the time axis of length 1: x.reshape{(shape[0], 1) + shape[1:]}"
                raise ValueError(f"{self.name}: input {t.name!r} expects arrays of shape {want} (None: any size), "
                                 f"got shape {shape}{hint}")
            if any(w is not None and w != s for w, s in zip(want[1:], shape[1:])):
                # Keras runs the layers anyway (a recurrent layer takes any number of steps): say so once
                seen = self.__dict__.setdefault("_warned_shapes", set())
                if (k, shape[1:]) not in seen:
                    seen.add((k, shape[1:]))
                    warnings.warn(f"{self.name}: input {t.name!r} was declared with shape {want} but is given shape "
                                  f"{shape}; the layers run on it as it is (as Keras does)", UserWarning, stacklevel=4)
        return x

    def _run(self, x):
        g = self._graph
        values = {id(t): v for t, v in zip(g["inputs"], self._feed(x))}
        for node in g["nodes"]:
            layer = node.layer
            args = substitute(node.args, values)
            kwargs = substitute(node.kwargs, values) if node.kwargs else {}
            if layer.activity_regularizer is not None:
                object.__setattr__(layer, "_calling_node", id(node))
            out = layer(*args, **kwargs)
            for t, o in zip(node.outputs, output_values(node, out)):
                values[id(t)] = o
        outs = [values[id(t)] for t in g["outputs"]]
        if g.get("out_nest") is not None:
            return _unnest(g["out_nest"], outs)
        if g["out_structure"] == "one":
            return outs[0]
        if g["out_structure"] == "dict":
            return dict(zip(g["out_keys"], outs))
        return outs

    # ------------------------------------------------------------------ Keras' model attributes
    def get_config(self) -> dict[str, Any]:
        g = self.__dict__.get("_graph")
        if g is None:
            return super().get_config()   # a subclassed model without constructor arguments: {}
        names = {id(layer): name for name, layer in self._modules.items()}
        node_ids = {}
        for node in self._all_nodes():
            per_layer = [n for n in node_ids if n[0] == names[id(node.layer)]]
            node_ids[(names[id(node.layer)], len(per_layer))] = node
        ref_of = {}
        for (lname, k), node in node_ids.items():
            for i, t in enumerate(node.outputs):
                ref_of[id(t)] = [lname, k, i]

        def encode(v):
            if isinstance(v, KerasTensor):
                return {"__tensor__": ref_of[id(v)]}
            if isinstance(v, (list, tuple)):
                return {"__list__": [encode(u) for u in v]} if isinstance(v, list) else \
                    {"__tuple__": [encode(u) for u in v]}
            if isinstance(v, dict):
                return {"__dict__": {k: encode(u) for k, u in v.items()}}
            return v
        layers = [{"name": name, "class_name": type(layer).__name__, "config": layer.get_config()}
                  for name, layer in self._modules.items()]
        nodes = [{"layer": lname, "args": encode(list(node.args)), "kwargs": encode(dict(node.kwargs))}
                 for (lname, k), node in node_ids.items() if not isinstance(node.layer, InputLayer)]
        return {"name": self.name, "layers": layers, "nodes": nodes,
                "inputs": [ref_of[id(t)] for t in g["inputs"]], "outputs": [ref_of[id(t)] for t in g["outputs"]],
                "in_structure": g["in_structure"], "out_structure": g["out_structure"],
                "in_keys": g["in_keys"], "out_keys": g["out_keys"], "out_nest": g.get("out_nest")}

    def _all_nodes(self):
        g = self._graph
        firsts = [t.node for t in g["inputs"]]
        return [n for n in firsts if isinstance(n.layer, InputLayer)] + list(g["nodes"])

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Rebuild a model from :meth:`get_config`'s dict: a functional one from its layers and nodes, a
        subclassed one by ``cls(**config)``."""
        if "nodes" not in config or "layers" not in config:
            return cls(**config)
        built = {}
        with naming.suspended():
            for spec in config["layers"]:
                lcls = LAYERS.get(spec["class_name"])
                if lcls is None:
                    raise ValueError(f"unknown layer class {spec['class_name']!r} in a saved functional model; import "
                                     f"the module that defines it first")
                layer = lcls.from_config(spec["config"])
                layer.name = spec["name"]
                built[spec["name"]] = layer
        produced = {}
        for name, layer in built.items():
            if isinstance(layer, InputLayer):
                produced[(name, 0)] = layer._inbound_nodes[0].outputs
        counts = {}

        def decode(v):
            if isinstance(v, dict):
                if "__tensor__" in v:
                    lname, k, i = v["__tensor__"]
                    return produced[(lname, k)][i]
                if "__list__" in v:
                    return [decode(u) for u in v["__list__"]]
                if "__tuple__" in v:
                    return tuple(decode(u) for u in v["__tuple__"])
                if "__dict__" in v:
                    return {k: decode(u) for k, u in v["__dict__"].items()}
            return v
        for spec in config["nodes"]:
            layer = built[spec["layer"]]
            k = counts.get(spec["layer"], 1 if isinstance(layer, InputLayer) else 0)
            out = layer(*decode(spec["args"]), **decode(spec["kwargs"]))
            produced[(spec["layer"], k)] = flatten(out)      # as node.outputs: flat, in order
            counts[spec["layer"]] = k + 1
        refs = [produced[(lname, k)][i] for lname, k, i in config["inputs"]]
        outs = [produced[(lname, k)][i] for lname, k, i in config["outputs"]]
        inputs = dict(zip(config["in_keys"], refs)) if config.get("in_keys") else \
            (refs[0] if config["in_structure"] == "one" else refs)
        outputs = dict(zip(config["out_keys"], outs)) if config.get("out_keys") else \
            (outs[0] if config["out_structure"] == "one" else outs)
        if config.get("out_nest") is not None:
            outputs = _unnest(config["out_nest"], outs)
        with naming.suspended():
            return cls(inputs=inputs, outputs=outputs, name=config.get("name"))

    def _summary_rows(self):
        """(layer (type), output shape, parameters, connected to) per layer, for ``summary()``."""
        g = self.__dict__.get("_graph")
        if g is None:
            return None
        nodes = self._all_nodes()
        chain = all(len(n.input_tensors) <= 1 for n in nodes) and len(nodes) == len(self._modules)
        rows = []
        for name, layer in self._modules.items():
            own = [n for n in nodes if n.layer is layer]
            shapes = [t.shape for n in own for t in n.outputs]
            shape = str(shapes[0]) if len(shapes) == 1 else str(shapes)
            try:
                count = sum(p.data.size for p in layer.parameters()) + sum(np.size(b) for _, b in
                                                                            layer.named_buffers())
            except ValueError:
                count = None
            sources = sorted({t.node.layer.name for n in own for t in n.input_tensors}, key=list(self._modules).index)
            rows.append((f"{name} ({type(layer).__name__})", shape, "?" if count is None else f"{count:,}",
                         None if chain else (", ".join(sources) or "-")))
        return rows


def _parameters_of(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return {}

"""Sequential: a stack of layers applied in order, whose leading dense layers run as one node."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.nn import naming
from chainrule.nn.module import LAYERS, Module, _changed
from chainrule.nn.symbolic import KerasTensor
from chainrule.ops import sigmoid as ops_sigmoid
from chainrule.ops.activations import fusable, name_of
from chainrule.ops.fused import DenseStack
from chainrule.tensor import Tensor, get_default_dtype
from chainrule.training.trainer import cast_input

if TYPE_CHECKING:
    from chainrule._typing import TensorLike

__all__ = ["Sequential"]


class Sequential(Module):
    """A stack of layers applied in order: ``Sequential([Dense(100, 'relu'), Dense(10)])``.

    Also accepts the layers as separate arguments, PyTorch style.  When the
    first layer knows its input size (``input_dim``), every layer is built at
    once, so ``parameters()`` and ``summary()`` work before any data is seen.
    """

    def __init__(self, layers: Iterable[Module] | Mapping[str, Module] | Module | None = None, *more: Module,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__()
        self.name = name if name is not None else naming.unique_name("Sequential")
        if isinstance(layers, Module):
            layers = [layers, *more]
        elif more:
            raise TypeError("Sequential: pass the layers as one list or as separate arguments, not both")
        if isinstance(layers, dict):  # PyTorch's Sequential(OrderedDict([('fc1', Linear(...)), ...]))
            for key, layer in layers.items():
                self.add(layer, key=str(key))
        else:
            for layer in layers or []:
                self.add(layer)
        if not trainable:
            for layer in self._modules.values():
                layer.trainable = False

    def add(self, layer: Module | KerasTensor, key: str | None = None) -> Sequential:
        """Append a layer (Keras' ``model.add``); ``Input(shape=...)`` first gives the input shape."""
        if isinstance(layer, KerasTensor) or type(layer).__name__ == "InputLayer":
            if self._modules:
                raise ValueError("Sequential: an Input can only be the first entry of the model")
            shape = layer.shape if isinstance(layer, KerasTensor) else layer.batch_shape
            object.__setattr__(self, "_input_batch_shape", tuple(shape))
            return self
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential: expected a layer (a Module), got {type(layer).__name__}")
        self._modules[str(len(self._modules)) if key is None else key] = layer
        _changed()
        self._try_build()
        return self

    def pop(self) -> Module:
        """Remove and return the last layer (Keras' ``model.pop``)."""
        if not self._modules:
            raise IndexError("Sequential.pop: the model has no layers")
        key = next(reversed(self._modules))
        layer = self._modules.pop(key)
        _changed()
        return layer

    def build(self, input_shape: Sequence[int | None] | None = None) -> tuple[int | None, ...]:
        """Create every layer's weights for inputs of ``input_shape`` (Keras' ``model.build``).

        ``input_shape`` is the full shape with the batch axis first, e.g. ``(None, 784)``; without
        it the shape the model already knows (``input_shape=`` of its first layer, or an
        ``Input``) is used.  Returns the output shape (Keras returns None).
        """
        if input_shape is None:
            input_shape = self._known_input_shape()
            if input_shape is None:
                raise ValueError(f"{self.name}.build: the input shape is unknown; pass it with the batch axis "
                                 f"first, e.g. model.build((None, 784))")
        if (isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence) or len(input_shape) < 2
                or any(not (d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0))
                       for d in input_shape)):
            raise ValueError(f"{self.name}.build: expected the input shape with the batch axis first, a tuple of "
                             f"positive ints or None such as (None, 784), got {input_shape!r}")
        if not self._modules:
            raise ValueError(f"{self.name}.build: the model has no layers")
        object.__setattr__(self, "_input_batch_shape", tuple(None if d is None else int(d) for d in input_shape))
        _changed()
        return self._try_build()

    def _known_input_shape(self):
        """The input's batch shape from an ``Input`` or the first layer's ``input_shape``, else None."""
        shape = self.__dict__.get("_input_batch_shape")
        if shape is None and self._modules:
            shape = getattr(next(iter(self._modules.values())), "input_shape", None)
        return shape

    def _try_build(self):
        """Build every layer when the input shape is known; returns the output shape (None if unknown)."""
        shape = self._known_input_shape()
        if shape is None:
            return None
        for layer in self._modules.values():
            shape = layer.build(shape) if hasattr(layer, "build") else shape
        self._symbolic_graph()
        return None if shape is None else tuple(shape)

    def _symbolic_graph(self):
        """Call the layers on an ``Input`` of the model's input shape, so that ``model.input``,
        ``layer.output`` and ``Model(inputs=model.input, outputs=layer.output)`` work as in Keras.
        (Redone when layers are added: the previous symbolic calls are forgotten.)"""
        from chainrule.nn.graph import Input
        layers = list(self._modules.values())
        old = self.__dict__.get("_symbolic")
        if old is not None:
            for layer, node in old[2]:
                nodes = layer.__dict__.get("_inbound_nodes") or []
                if node in nodes:
                    nodes.remove(node)
            object.__setattr__(self, "_symbolic", None)
        shape = self._known_input_shape()
        if shape is None:
            return None
        made = []
        try:
            inp = self.__dict__.get("_input_tensor")   # one InputLayer per model, as Keras makes it
            if inp is None or inp.shape != tuple(shape):
                inp = Input(batch_shape=shape, dtype=_dtype_of(layers))
                object.__setattr__(self, "_input_tensor", inp)
            x = inp
            for layer in layers:
                x = layer(x)
                made.append((layer, layer._inbound_nodes[-1]))
        except (TypeError, ValueError, NotImplementedError, AttributeError):
            for layer, node in made:
                layer._inbound_nodes.remove(node)
            return None
        g = (inp, x, made)
        object.__setattr__(self, "_symbolic", g)
        return g

    def _graph_ends(self, what):
        g = self.__dict__.get("_symbolic")
        if g is None or [layer for layer, _ in g[2]] != list(self._modules.values()):
            g = self._symbolic_graph()
        if g is None:
            raise AttributeError(f"{self.name}: the model has no {what} yet because its input shape is unknown; give "
                                 f"the first layer input_shape=... (or start with Input(shape=...)), or call the "
                                 f"model on data first")
        return g

    @property
    def input(self) -> KerasTensor:
        """The symbolic input (Keras' ``model.input``)."""
        return self._graph_ends("input")[0]

    @property
    def output(self) -> KerasTensor:
        """The symbolic output of the last layer (Keras' ``model.output``)."""
        return self._graph_ends("output")[1]

    @property
    def inputs(self) -> list[KerasTensor]:
        """The model's input tensor, in a list."""
        return [self.input]

    @property
    def outputs(self) -> list[KerasTensor]:
        """The model's output tensor, in a list."""
        return [self.output]

    @property
    def layers(self) -> list[Module]:
        """The layers, in order (a new list)."""
        return list(self._modules.values())

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        layers = list(self._modules.values())
        if type(x) is np.ndarray and x.dtype == np.float64:  # NumPy's default: cast, warn once
            x = _float_input(self, x)
        data = x.data if isinstance(x, Tensor) else x
        used = 0
        if type(data) is np.ndarray and data.ndim == 2:
            # the leading Dense/Linear and activation layers: one DenseStack node (which layers, and
            # with which activations, is worked out once per change of the model and of the input)
            plan = self._cached((data.shape[1], data.dtype), _stack_plan, layers, data.shape[1], data.dtype)
            params = _weights(plan[0], data.shape[1], data.dtype)
            if params is not None:
                acts, tail, used = plan[1:]
                x = DenseStack.apply(x, *params, acts=acts)
                if tail is not None:
                    x = tail(x)
            else:
                used = 0
        n = len(layers)
        i = used
        while i < n:
            # a layer with forward_fused(x, following) -> (output, k) runs itself and the first k layers
            # after it as one graph node (Conv2D with the MaxPooling2D after it: chainrule.nn.conv)
            fused = getattr(layers[i], "forward_fused", None)
            if fused is None:
                x = layers[i](x)
                i += 1
            else:
                x, k = fused(x, layers[i + 1:])
                i += 1 + k
        return x

    def get_config(self) -> dict[str, Any]:
        cfg = {"name": self.name,
               "layers": [{"class_name": type(m).__name__, "config": m.get_config(), "name": getattr(m, "name", None),
                           "key": k} for k, m in self._modules.items()]}
        if self.__dict__.get("_input_batch_shape") is not None:
            cfg["input_batch_shape"] = list(self._input_batch_shape)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild a Sequential from :meth:`get_config`'s dict (its layers by class name, with their names)."""
        layers = {}
        with naming.suspended():   # the saved names are put back: no counter moves
            for i, spec in enumerate(config["layers"]):
                if spec["class_name"] not in LAYERS:
                    raise ValueError(f"unknown layer class {spec['class_name']!r} in saved architecture")
                layer = LAYERS[spec["class_name"]].from_config(spec["config"])
                if spec.get("name") is not None:
                    layer.name = spec["name"]
                layers[spec.get("key", str(i))] = layer
            model = cls(name=config.get("name"))
        if config.get("input_batch_shape") is not None:
            object.__setattr__(model, "_input_batch_shape", tuple(config["input_batch_shape"]))
        for key, layer in layers.items():
            model.add(layer, key=key)
        return model


def _model_float_dtype(model):
    try:
        params = model.parameters()
    except ValueError:  # lazy layers: they will be built in the default dtype
        return np.dtype(get_default_dtype())
    return params[0].data.dtype if params else None


def _float_input(model, data):
    """A float64 array for a float32 model, cast (Keras' habit) with a one-time DtypeCastWarning."""
    dtype = model._cached("float_dtype", _model_float_dtype, model)
    if dtype is None or dtype != np.float32:
        return data
    return cast_input(data, dtype, f"{type(model).__name__}", stacklevel=5)


def _stack_plan(layers, n_in, dtype):
    """Which leading layers of a Sequential :class:`~chainrule.ops.fused.DenseStack` runs as one node
    on a batch of ``n_in`` features of ``dtype``: (the stacked layers, their activations, the
    activation left to run after the stack or None, the number of layers covered).  The weights
    are read from the stacked layers on every call (:func:`_weights`).

    Covered: layers that offer themselves as a stack layer (``stack_layer(n_in, dtype)``: Dense and
    Linear, built, not subclassed with their own forward, on a 2-D batch of their dtype), each
    with one activation of the table whose derivative comes from its output: its own, or an
    Activation layer right after a Dense without one (``stack_activation()``).  A Dense whose
    activation the stack cannot apply (softmax, say) ends the stack: its activation runs as its
    own node, so losses still find the softmax; so does the sigmoid of the network's output
    layer, so that the binary cross-entropy finds its logits (other losses take it back into
    the stack, :mod:`chainrule.ops.heads`).  Values and gradients are the per-layer ones, bit
    for bit (tests/nn/test_dense_stack.py).
    """
    stacked, acts, tail = [], [], None
    i, n = 0, len(layers)
    while i < n:
        layer = layers[i]
        offer = getattr(layer, "stack_layer", None)
        entry = offer(n_in, dtype) if offer is not None else None
        if entry is None:
            break
        W, _, fn = entry
        i += 1
        name = fusable_name(fn)
        if name is None:
            act, tail = "identity", fn
        elif name == "identity" and i < n and hasattr(layers[i], "stack_activation") \
                and (after := layers[i].stack_activation()) is not None:
            act = (after[0], tuple(sorted(after[1].items()))) if after[1] else after[0]
            i += 1
        else:
            act = name
        stacked.append(layer)
        acts.append(act)
        n_in = W.data.shape[1]
        if tail is not None:
            break
    if tail is None and acts and i == n and acts[-1] == "sigmoid":
        acts[-1], tail = "identity", ops_sigmoid
    return tuple(stacked), tuple(acts), tail, i


def _weights(stacked, n_in, dtype):
    """The weights and biases of the stacked layers for this batch, or None if a layer no longer
    offers itself (its weights were replaced by others of another dtype, say)."""
    if not stacked:
        return None
    params = []
    for layer in stacked:
        entry = layer.stack_layer(n_in, dtype)
        if entry is None:
            return None
        W, b, _ = entry
        params += (W, b)
        n_in = W.data.shape[1]
    return params


def _dtype_of(layers):
    for layer in layers:
        for p in layer._parameters.values():
            return p.data.dtype
    return None


def fusable_name(fn: Callable[..., Any] | None) -> str | None:
    """The table name of a layer's activation function if a dense stack applies it, else None."""
    return name_of(fn) if fusable(fn) is not None else None

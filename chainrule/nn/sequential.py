"""Sequential: a stack of layers applied in order, whose leading dense layers run as one node."""
from __future__ import annotations

import numpy as np

from chainrule.nn.module import LAYERS, Module, _changed
from chainrule.ops import sigmoid as ops_sigmoid
from chainrule.ops.activations import fusable, name_of
from chainrule.ops.fused import DenseStack
from chainrule.tensor import Tensor

__all__ = ["Sequential"]


class Sequential(Module):
    """A stack of layers applied in order: ``Sequential([Dense(100, 'relu'), Dense(10)])``.

    Also accepts the layers as separate arguments, PyTorch style.  When the
    first layer knows its input size (``input_dim``), every layer is built at
    once, so ``parameters()`` and ``summary()`` work before any data is seen.
    """

    def __init__(self, layers=None, *more):
        super().__init__()
        if isinstance(layers, Module):
            layers = [layers, *more]
        elif more:
            raise TypeError("Sequential: pass the layers as one list or as separate arguments, not both")
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential: expected a layer (a Module), got {type(layer).__name__}")
        self._modules[str(len(self._modules))] = layer
        _changed()
        self._try_build()
        return self

    def _try_build(self):
        layers = list(self._modules.values())
        shape = getattr(layers[0], "input_shape", None) if layers else None
        if shape is None:
            return
        for layer in layers:
            shape = layer.build(shape) if hasattr(layer, "build") else shape

    @property
    def layers(self):
        return list(self._modules.values())

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        layers = list(self._modules.values())
        x, i = _dense_run(layers, 0, x)  # the leading Dense/Linear and activation layers: one DenseStack node
        for layer in layers[i:]:
            x = layer(x)
        return x

    def get_config(self):
        return {"layers": [{"class_name": type(m).__name__, "config": m.get_config()} for m in self.layers]}

    @classmethod
    def from_config(cls, config):
        layers = []
        for spec in config["layers"]:
            if spec["class_name"] not in LAYERS:
                raise ValueError(f"unknown layer class {spec['class_name']!r} in saved architecture")
            layers.append(LAYERS[spec["class_name"]].from_config(spec["config"]))
        return cls(layers)


def _dense_run(layers, start, x):
    """Run the layers from ``layers[start]`` on that :class:`~chainrule.ops.fused.DenseStack` covers
    as that one node; return (its output, the number of layers it ran), or (x, 0) when none is.

    Covered: layers that offer themselves as a stack layer (``stack_layer(n_in, dtype)``: Dense and
    Linear, built, not subclassed with their own forward, on a 2-D batch of their dtype), each
    with one activation of the table whose derivative comes from its output: its own, or an
    Activation layer right after a Dense without one (``stack_activation()``).  A Dense whose
    activation the stack cannot apply (softmax, say) ends the stack: its activation runs as its
    own node, so losses still find the softmax.  Values and gradients are the per-layer ones,
    bit for bit (tests/nn/test_dense_stack.py).
    """
    data = x.data if isinstance(x, Tensor) else x
    if type(data) is not np.ndarray or data.ndim != 2:
        return x, 0
    n_in, dtype = data.shape[1], data.dtype
    inputs, acts, tail = [x], [], None
    i, n = start, len(layers)
    while i < n:
        offer = getattr(layers[i], "stack_layer", None)
        entry = offer(n_in, dtype) if offer is not None else None
        if entry is None:
            break
        W, b, fn = entry
        i += 1
        name = fusable_name(fn)
        if name is None:
            act, tail = "identity", fn
        elif name == "identity" and i < n and hasattr(layers[i], "stack_activation") \
                and (after := layers[i].stack_activation()) is not None:
            act = after if after[1] else after[0]
            i += 1
        else:
            act = name
        inputs += (W, b)
        acts.append(act)
        n_in = W.data.shape[1]
        if tail is not None:
            break
    if not acts:
        return x, 0
    if tail is None and i == n and acts[-1] == "sigmoid":
        # the network's output probabilities: their sigmoid stays a node of its own, so that the
        # binary cross-entropy finds the logits behind it (any other loss takes it back into the stack)
        acts[-1], tail = "identity", ops_sigmoid
    out = DenseStack.apply(*inputs, acts=tuple(acts))
    if tail is not None:
        out = tail(out)
    return out, i - start


def fusable_name(fn):
    """The table name of a layer's activation function if a dense stack applies it, else None."""
    return name_of(fn) if fusable(fn) is not None else None

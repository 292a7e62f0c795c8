"""Models in and out of PyTorch, Keras 3 and ONNX: the weights re-laid, never pickled.

Each library keeps its own layout, and each direction is one function:

==============================  ===============================================================
:func:`from_torch`              a ``torch.nn.Sequential`` (or one layer), or a Dense stack's
                                ``state_dict()``, as a chainrule model with the same outputs
:func:`to_torch_state_dict`     a chainrule model's weights under the names and in the layout of
                                the equivalent ``torch.nn.Sequential``
:func:`from_keras`              a Keras 3 ``Sequential`` (or one layer) as a chainrule model
:func:`to_keras_weights`        a chainrule model's weights as the list ``keras_model.set_weights``
                                takes
:func:`export_onnx`             a Dense stack with its activations as an ONNX graph
==============================  ===============================================================

The layouts: a Dense kernel is (in, out) where PyTorch's Linear weight is (out, in); Keras'
convolution kernels (k_h, k_w, in, out) where PyTorch's are (out, in, k_h, k_w); Keras' recurrent
weights hold the gates in columns where PyTorch's hold them in rows (and in another order for the
GRU).  The per-layer conversions live beside their layers and are only called from here:
:func:`chainrule.nn.from_torch_linear`, :func:`chainrule.nn.from_torch_conv2d` and
``Conv2D.get_weights(layout='torch')``, ``LSTM.from_torch`` / ``LSTM.to_torch``.

A PyTorch model converts to chainrule's PyTorch-named layers (:mod:`chainrule.torch.nn`:
channels-first images, ``batch_first`` sequences), so it takes the very inputs the PyTorch model
took.  A Keras-style chainrule CNN (channels last) exports to a channels-first PyTorch CNN: the
first Linear after the Flatten gets its rows permuted, and the PyTorch model takes
``x.transpose(0, 3, 1, 2)``.

Examples
--------
>>> import numpy as np
>>> from chainrule import convert
>>> sd = {"0.weight": np.ones((4, 3)), "0.bias": np.zeros(4), "2.weight": np.ones((1, 4)), "2.bias": np.zeros(1)}
>>> model = convert.from_torch(sd, activation="relu")
>>> model.predict(np.ones((1, 3), dtype=np.float32))
array([[12.]], dtype=float32)
>>> sorted(convert.to_torch_state_dict(model))
['0.bias', '0.weight', '2.bias', '2.weight']
"""
from __future__ import annotations

import inspect

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.nn import activations as _acts
from chainrule.nn import conv_torch as _ct
from chainrule.nn import recurrent as _rec
from chainrule.torch import nn as _tnn

__all__ = ["from_torch", "to_torch_state_dict", "from_keras", "to_keras_weights", "export_onnx"]


def _np(a):
    """A torch tensor, a Keras variable or an array as a NumPy array (a copy)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    elif hasattr(a, "numpy") and not isinstance(a, np.ndarray):
        a = a.numpy()
    return np.array(a, copy=True)


def _dtype():
    from chainrule.tensor import get_default_dtype
    return np.dtype(get_default_dtype())


# ----------------------------------------------------------------------------------- PyTorch in
def _torch_children(module):
    """The leaf modules of a (nested) torch.nn.Sequential, in order."""
    if type(module).__name__ == "Sequential":
        out = []
        for child in module.children():
            out.extend(_torch_children(child))
        return out
    return [module]


def _torch_activation(m, name):
    if name == "ReLU":
        return nn.ReLU()
    if name == "Sigmoid":
        return nn.Sigmoid()
    if name == "Tanh":
        return nn.Tanh()
    if name == "Identity":
        return nn.Identity()
    if name == "LeakyReLU":
        return nn.LeakyReLU(m.negative_slope)
    if name == "ELU":
        return nn.ELU(m.alpha)
    if name == "Softplus":
        if m.beta != 1:
            raise ValueError(f"from_torch: Softplus(beta={m.beta}) has no chainrule equivalent (beta=1 only)")
        return nn.Softplus()
    if name == "Softmax":
        return nn.Softmax(-1 if m.dim is None else m.dim)
    return None


def _from_torch_layer(m):
    name = type(m).__name__
    act = _torch_activation(m, name)
    if act is not None:
        return act
    sd = {k: _np(v) for k, v in m.state_dict().items()}
    dt = next((v.dtype.name for v in sd.values() if v.dtype.kind == "f"), None)
    if name == "Linear":
        layer = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
        layer.set_weights(nn.from_torch_linear(sd["weight"], sd.get("bias")))
        return layer
    if name in ("Conv1d", "Conv2d"):
        if m.padding_mode != "zeros":
            raise ValueError(f"from_torch: {name}(padding_mode={m.padding_mode!r}) is not supported")
        layer = getattr(_tnn, name)(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                                    padding=m.padding, dilation=m.dilation, groups=m.groups,
                                    bias=m.bias is not None, dtype=dt)
        layer.set_weights([sd["weight"]] + ([sd["bias"]] if "bias" in sd else []), layout="torch")
        return layer
    if name in ("MaxPool1d", "MaxPool2d"):
        return getattr(_tnn, name)(m.kernel_size, stride=m.stride, padding=m.padding, dilation=m.dilation,
                                   ceil_mode=m.ceil_mode)
    if name in ("AvgPool1d", "AvgPool2d"):
        return getattr(_tnn, name)(m.kernel_size, stride=m.stride, padding=m.padding, ceil_mode=m.ceil_mode,
                                   count_include_pad=m.count_include_pad)
    if name == "AdaptiveAvgPool2d":
        return _tnn.AdaptiveAvgPool2d(m.output_size)
    if name == "BatchNorm2d":
        layer = _tnn.BatchNorm2d(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine, dtype=dt)
        if m.affine:
            layer.gamma.data[...] = sd["weight"]
            layer.beta.data[...] = sd["bias"]
        layer.register_buffer("moving_mean", sd["running_mean"].astype(layer.moving_mean.dtype))
        layer.register_buffer("moving_variance", sd["running_var"].astype(layer.moving_variance.dtype))
        return layer
    if name == "Flatten":
        if (m.start_dim, m.end_dim) != (1, -1):
            raise ValueError(f"from_torch: Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}) is not supported "
                             f"(only the default start_dim=1, end_dim=-1)")
        return nn.Flatten()
    if name == "Dropout":
        return nn.Dropout(m.p)
    if name in ("RNN", "LSTM", "GRU"):
        kwargs = dict(num_layers=m.num_layers, bias=m.bias, batch_first=m.batch_first, dropout=m.dropout,
                      bidirectional=m.bidirectional)
        if name == "RNN":
            kwargs["nonlinearity"] = m.nonlinearity
        if getattr(m, "proj_size", 0):
            raise ValueError("from_torch: an LSTM with proj_size > 0 is not supported")
        layer = getattr(_tnn, name)(m.input_size, m.hidden_size, **kwargs)
        layer.load_state_dict({k: v.astype(layer.state_dict()[k].dtype) for k, v in sd.items()})
        return layer
    raise ValueError(f"from_torch: no chainrule equivalent for torch.nn.{name}; supported are Linear, Conv1d, "
                     f"Conv2d, the poolings, BatchNorm2d, Flatten, Dropout, RNN/LSTM/GRU and the activations")


def _dense_stack_from_state_dict(sd, activation, output_activation):
    if not sd:
        raise ValueError("from_torch: the state dict is empty; pass model.state_dict() of a stack of Linear layers")
    groups = OrderedDict()
    for key, value in sd.items():
        prefix, _, leaf = str(key).rpartition(".")
        if leaf not in ("weight", "bias"):
            raise ValueError(f"from_torch: a state dict alone can describe a stack of Linear layers only; "
                             f"{key!r} is not a Linear weight or bias (pass the module itself)")
        arr = _np(value)
        if arr.dtype.kind not in "fiu" or arr.dtype.kind in "iu" and leaf == "weight":
            raise TypeError(f"from_torch: {key!r} holds {arr.dtype} values; a Linear weight or bias must be floating "
                            f"point")
        groups.setdefault(prefix, {})[leaf] = arr
    layers = []
    for i, (prefix, entry) in enumerate(groups.items()):
        w = entry.get("weight")
        if w is None or w.ndim != 2:
            raise ValueError(f"from_torch: {prefix + '.weight'!r} must be a 2-D Linear weight (out, in), got "
                             f"{None if w is None else w.shape}; pass the module itself for other layers")
        if layers and layers[-1][0].units != w.shape[1]:
            raise ValueError(f"from_torch: {prefix + '.weight'!r} takes {w.shape[1]} inputs but the layer before "
                             f"gives {layers[-1][0].units}")
        layer = nn.Linear(w.shape[1], w.shape[0], bias="bias" in entry)
        layer.set_weights(nn.from_torch_linear(w, entry.get("bias")))
        last = i == len(groups) - 1
        act = output_activation if last else activation
        layers.append((layer, act))
    out = []
    for layer, act in layers:
        out.append(layer)
        if act is not None and _acts.name_of(_acts.get(act)) != "identity":
            out.append(nn.Activation(act))
    return nn.Sequential(out)


def from_torch(source: Any, activation: str | None = "relu", output_activation: str | None = None) -> nn.Module:
    """A chainrule model with the weights (and the outputs) of a PyTorch one.

    Parameters
    ----------
    source : torch.nn.Module or Mapping
        A ``torch.nn.Sequential`` (nested ones are flattened) or a single supported layer
        (Linear, Conv1d/Conv2d, MaxPool/AvgPool/AdaptiveAvgPool2d, BatchNorm2d, Flatten, Dropout,
        RNN/LSTM/GRU, the activation modules); or the ``state_dict()`` of a stack of Linear
        layers, whose activations a state dict does not record: give them below.
    activation : str, optional
        For a state dict: the activation between the Linear layers (default 'relu').
    output_activation : str, optional
        For a state dict: the activation after the last one (default none).

    Returns
    -------
    Module
        An :class:`~chainrule.nn.Sequential` (or the single layer).  Convolutions become
        :mod:`chainrule.torch.nn` layers, which take PyTorch's channels-first input.

    Raises
    ------
    ValueError
        A layer with no chainrule equivalent, or a state dict that is not a Linear stack.
    """
    if isinstance(source, Mapping):
        return _dense_stack_from_state_dict(source, activation, output_activation)
    if not hasattr(source, "state_dict") or not hasattr(source, "children"):
        raise TypeError(f"from_torch: expected a torch.nn.Module or its state_dict(), got {type(source).__name__}")
    if type(source).__name__ != "Sequential" and list(source.children()):
        raise ValueError(f"from_torch: cannot read the forward() of a custom {type(source).__name__}; convert a "
                         f"torch.nn.Sequential, or build the network in chainrule and load its layers' weights")
    layers = [_from_torch_layer(m) for m in _torch_children(source)]
    return layers[0] if type(source).__name__ != "Sequential" else nn.Sequential(layers)


# ---------------------------------------------------------------------------------- PyTorch out
def _layers_of(model):
    if isinstance(model, nn.Sequential):
        out = []
        for layer in model.layers:
            out.extend(_layers_of(layer))
        return out
    return [model]


def _is_torch_conv(layer):
    return isinstance(layer, _ct._TorchConv)


def _rows_to_torch(kernel, shape_hwc):
    """The inverse of ``from_torch_linear(flattened_from=(C, H, W))``: a channels-last Dense kernel's rows
    in PyTorch's channels-first flattening."""
    c = shape_hwc[-1]
    chw = (c,) + tuple(shape_hwc[:-1])
    order = np.arange(kernel.shape[0]).reshape(chw).transpose(tuple(range(1, len(chw))) + (0,)).reshape(-1)
    out = np.empty_like(kernel)
    out[order] = kernel
    return out


def to_torch_state_dict(model: nn.Module) -> dict[str, np.ndarray]:
    """The weights of ``model`` under the names of the equivalent ``torch.nn.Sequential``, as arrays.

    Each chainrule layer is one PyTorch module, numbered as ``torch.nn.Sequential`` numbers them,
    except that a ``Dense`` with an activation is two (Linear, then the activation).  Load the result
    with ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``.  A single
    recurrent layer gives PyTorch's own names (``weight_ih_l0``, ...).

    Parameters
    ----------
    model : Module
        A Sequential (or a single layer) of Dense/Linear, activations, Dropout, Flatten, convolutions
        and poolings (Keras-style or :mod:`chainrule.torch.nn`), batch normalization and recurrent
        layers.

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    ValueError
        A layer PyTorch has no equivalent for (a custom Module with weights).
    """
    layers = _layers_of(model)
    single = not isinstance(model, nn.Sequential)
    sd = OrderedDict()
    slot = 0
    flatten_from = None  # the (H, W, C) shape a Keras-style Flatten flattened, for the next Linear
    prev = None
    for layer in layers:
        pre = "" if single else f"{slot}."
        if isinstance(layer, nn.Dense):
            kernel = layer.kernel.numpy()
            if flatten_from is not None:
                kernel = _rows_to_torch(kernel, flatten_from)
                flatten_from = None
            sd[pre + "weight"] = np.ascontiguousarray(kernel.T)
            if layer.use_bias:
                sd[pre + "bias"] = layer.bias.numpy().copy()
        elif isinstance(layer, (_rec._Recurrent,)):
            for k, v in layer.to_torch().items():
                sd[pre + k] = np.asarray(v)
        elif isinstance(layer, _rec.Bidirectional):
            fwd = layer.forward_layer.to_torch()
            bwd = layer.backward_layer.to_torch(suffix="_l0_reverse")
            for k, v in {**fwd, **bwd}.items():
                sd[pre + k] = np.asarray(v)
        elif isinstance(layer, nn.conv._Conv):
            w = layer.get_weights(layout="torch")
            sd[pre + "weight"] = w[0]
            if layer.use_bias:
                sd[pre + "bias"] = w[1]
        elif isinstance(layer, nn.BatchNormalization):
            n = layer.moving_mean.shape[0]
            dt = layer.moving_mean.dtype
            sd[pre + "weight"] = layer.gamma.numpy().copy() if "gamma" in layer._parameters else np.ones(n, dt)
            sd[pre + "bias"] = layer.beta.numpy().copy() if "beta" in layer._parameters else np.zeros(n, dt)
            sd[pre + "running_mean"] = np.array(layer.moving_mean, copy=True)
            sd[pre + "running_var"] = np.array(layer.moving_variance, copy=True)
            sd[pre + "num_batches_tracked"] = np.array(0, dtype=np.int64)
        elif isinstance(layer, nn.Flatten):
            shape = getattr(prev, "output_shape", None)
            if (prev is not None and not _is_torch_conv(prev) and getattr(prev, "data_format", None) ==
                    "channels_last" and shape is not None and len(shape) >= 4 and None not in shape[1:]):
                flatten_from = tuple(shape[1:])
        elif dict(layer.named_parameters()):
            if hasattr(layer, "weight_ih_l0"):  # a chainrule.torch.nn recurrent module: PyTorch's own names
                for k, v in layer.state_dict().items():
                    sd[pre + k] = v
            else:
                raise ValueError(f"to_torch_state_dict: no PyTorch equivalent known for {type(layer).__name__}")
        if isinstance(layer, (nn.Dense, nn.conv._Conv)) and _acts.name_of(getattr(layer, "activation", None)) \
                not in ("identity", None):
            slot += 1  # the activation is a module of its own in PyTorch
        slot += 1
        prev = layer
    return dict(sd)


# ------------------------------------------------------------------------------------- Keras in
#: Keras config keys that mean the same in chainrule's constructors (initializers, regularizers,
#: constraints and names only matter for training from scratch, and are left out)
_KERAS_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "filters", "kernel_size", "strides",
               "padding", "dilation_rate", "groups", "data_format", "pool_size", "rate", "momentum", "epsilon",
               "center", "scale", "return_sequences", "return_state", "go_backwards", "reset_after", "target_shape",
               "merge_mode")


def _from_keras_layer(klayer):
    name = type(klayer).__name__
    if name == "InputLayer":
        return []
    cfg = klayer.get_config()
    if name == "Bidirectional":
        inner = _from_keras_layer(klayer.forward_layer)[0]
        back = _from_keras_layer(klayer.backward_layer)[0]
        return [nn.Bidirectional(inner, merge_mode=cfg.get("merge_mode", "concat"), backward_layer=back)]
    cls = getattr(nn, name, None)
    if cls is None or not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise ValueError(f"from_keras: no chainrule equivalent for the Keras layer {name}")
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {k: cfg[k] for k in _KERAS_KEYS if k in cfg and k in accepted}
    extra = []
    for key in ("activation", "recurrent_activation"):
        if isinstance(kwargs.get(key), dict):
            raise ValueError(f"from_keras: {name} has a custom {key}; only named activations convert")
    if name == "BatchNormalization" and cfg.get("axis", -1) not in (-1, [-1]):
        raise ValueError(f"from_keras: BatchNormalization(axis={cfg['axis']}) is not supported (axis=-1 only)")
    if kwargs.get("activation") == "leaky_relu" and name != "Activation":
        kwargs["activation"] = None  # Keras' 'leaky_relu' has slope 0.2, chainrule's function 0.01
        extra.append(nn.Activation("leaky_relu", alpha=0.2))
    if name == "Activation" and cfg.get("activation") == "leaky_relu":
        return [nn.Activation("leaky_relu", alpha=0.2)]
    if name == "LeakyReLU":
        return [nn.Activation("leaky_relu", alpha=float(cfg.get("negative_slope", cfg.get("alpha", 0.3))))]
    if name == "ReLU":
        return [nn.Activation("relu")]
    if name == "Softmax":
        return [nn.Activation("softmax", axis=int(cfg.get("axis", -1)))]
    return [cls(**kwargs)] + extra


def from_keras(source: Any) -> nn.Module:
    """A chainrule model with the weights (and the outputs) of a Keras 3 one.

    Parameters
    ----------
    source : keras.Model or keras.layers.Layer
        A Sequential model (or a functional model that is one chain of layers) whose input shape is
        known, or one built layer: Dense, Conv1D/Conv2D, the poolings, Flatten, Dropout, Activation,
        BatchNormalization, ZeroPadding, Reshape, SimpleRNN/LSTM/GRU, Bidirectional.

    Returns
    -------
    Module
        A :class:`~chainrule.nn.Sequential` (or the single layer), in Keras' layout (channels
        last), its weights copied.

    Notes
    -----
    Keras' activation ``'leaky_relu'`` has slope 0.2 where chainrule's function defaults to 0.01:
    the conversion keeps Keras' 0.2 (an ``Activation('leaky_relu', alpha=0.2)`` after the layer).
    """
    if not (hasattr(source, "get_config") and hasattr(source, "get_weights")):
        raise TypeError(f"from_keras: expected a Keras model or layer, got {type(source).__name__}")
    klayers = getattr(source, "layers", None)
    single = klayers is None
    klayers = [source] if single else list(klayers)
    if not all(getattr(k, "built", True) for k in klayers):
        raise ValueError("from_keras: the Keras model is not built; call it once or give it an input shape")
    converted = [(k, _from_keras_layer(k)) for k in klayers]
    flat = [layer for _, group in converted for layer in group]
    model = flat[0] if single and len(flat) == 1 else nn.Sequential(flat)
    shape = None
    try:
        shape = tuple(source.input_shape) if not single else tuple(klayers[0].input.shape)
    except (AttributeError, ValueError, TypeError):
        shape = None
    if shape is None or any(d is None for d in shape[1:-1]) and len(shape) > 3:
        raise ValueError("from_keras: the Keras model's input shape is unknown; build it with keras.Input(shape)")
    sample = np.zeros((1,) + tuple(1 if d is None else d for d in shape[1:]), dtype=_dtype())
    was = model.training
    model.eval()
    model(sample)  # builds every layer
    model.train(was)
    for klayer, group in converted:
        if group:
            group[0].set_weights([_np(w) for w in klayer.get_weights()])
    return model


# ------------------------------------------------------------------------------------ Keras out
def to_keras_weights(model: nn.Module) -> list[np.ndarray]:
    """The weights of ``model`` as the list ``keras_model.set_weights`` takes for the same network.

    Keras lists each layer's weights in turn, parameters then statistics (BatchNormalization:
    gamma, beta, moving mean, moving variance), in chainrule's own (Keras') layouts.  Layers
    without weights contribute nothing, so a Dense with an activation and the pair Dense,
    Activation give the same list.

    Parameters
    ----------
    model : Module

    Returns
    -------
    list of ndarray
    """
    out = []
    for layer in _layers_of(model):
        out.extend(p.numpy().copy() for _, p in layer.named_parameters())
        out.extend(np.array(b, copy=True) for _, b in layer.named_buffers())
    return out


# ------------------------------------------------------------------------------------------ ONNX
def _onnx_activation(helper, name, kwargs, x, y):
    if name == "identity":
        return [helper.make_node("Identity", [x], [y])]
    ops = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softplus": "Softplus"}
    if name in ops:
        return [helper.make_node(ops[name], [x], [y])]
    if name == "leaky_relu":
        return [helper.make_node("LeakyRelu", [x], [y], alpha=float(kwargs.get("alpha", 0.01)))]
    if name == "elu":
        return [helper.make_node("Elu", [x], [y], alpha=float(kwargs.get("alpha", 1.0)))]
    if name == "softmax":
        return [helper.make_node("Softmax", [x], [y], axis=int(kwargs.get("axis", -1)))]
    raise ValueError(f"export_onnx: no ONNX operator for the activation {name!r}")


def export_onnx(model: nn.Module, path: str | os.PathLike, opset: int = 17) -> str:
    """Write a Dense stack (Dense/Linear layers with their activations, activation layers, Dropout,
    Flatten) as an ONNX model, for onnxruntime and every other ONNX runtime.

    The graph has one input ``input`` of shape (batch, features) in the model's dtype and one output
    ``output``; each Dense is a ``Gemm`` (y = x W + b) and each activation its ONNX operator
    (Sigmoid, Tanh, Relu, LeakyRelu, Elu, Softplus, Softmax); Dropout is left out (inference).

    Parameters
    ----------
    model : Module
        A Sequential of the layers above, built.
    path : str or os.PathLike
        Where to write (atomically); ``.onnx`` is the usual suffix.
    opset : int
        The ONNX operator set (17 by default, read by onnxruntime 1.13 and later).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ImportError
        Without the optional ``onnx`` package (``pip install 'chainrule[onnx]'``).
    ValueError
        A layer that is not part of a Dense stack.
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("export_onnx needs the onnx package: pip install 'chainrule[onnx]'") from None
    unbuilt = model._unbuilt() if hasattr(model, "_unbuilt") else None
    if unbuilt is not None:
        raise ValueError(f"export_onnx: layer {unbuilt[0]} ({unbuilt[1]!r}) is not built; call the model once on a batch of inputs (or give its first "
                         "layer input_dim=...) so that its weights exist")
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or opset < 7:
        raise ValueError(f"export_onnx: opset must be an integer >= 7 (ONNX's operator set), got {opset!r}")
    layers = _layers_of(model)
    nodes, inits = [], []
    n_in = n_out = None
    dtype = None
    current = "input"
    count = 0

    def fresh():
        nonlocal count
        count += 1
        return f"h{count}"

    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Dense):
            kernel = layer.kernel.numpy()
            dtype = kernel.dtype if dtype is None else dtype
            n_out = kernel.shape[1]
            n_in = kernel.shape[0] if n_in is None else n_in
            inits.append(numpy_helper.from_array(kernel.astype(dtype), f"W{i}"))
            inputs = [current, f"W{i}"]
            if layer.use_bias:
                inits.append(numpy_helper.from_array(layer.bias.numpy().astype(dtype), f"b{i}"))
                inputs.append(f"b{i}")
            z = fresh()
            nodes.append(helper.make_node("Gemm", inputs, [z]))
            current = z
            fn = layer.activation
            name = _acts.name_of(fn)
            kwargs = dict(getattr(fn, "keywords", {}) or {})
            if name is None and hasattr(fn, "func"):
                name = _acts.name_of(fn.func)
            if name is None:
                raise ValueError(f"export_onnx: layer {i} ({layer!r}) has a custom activation")
            if name != "identity":
                y = fresh()
                nodes.extend(_onnx_activation(helper, name, kwargs, current, y))
                current = y
        elif isinstance(layer, nn.Activation):
            name = _acts.name_of(layer.fn)
            if name is None:
                raise ValueError(f"export_onnx: layer {i} ({layer!r}) has a custom activation")
            y = fresh()
            nodes.extend(_onnx_activation(helper, name, layer.kwargs, current, y))
            current = y
        elif isinstance(layer, nn.Dropout):
            continue
        elif isinstance(layer, nn.Flatten):
            y = fresh()
            nodes.append(helper.make_node("Flatten", [current], [y], axis=1))
            current = y
        else:
            raise ValueError(f"export_onnx: layer {i} is a {type(layer).__name__}; only Dense stacks (Dense, Linear, "
                             f"activations, Dropout, Flatten) are exported")
    if n_in is None:
        raise ValueError("export_onnx: the model has no Dense layer")
    nodes.append(helper.make_node("Identity", [current], ["output"]))
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    graph = helper.make_graph(nodes, type(model).__name__,
                              [helper.make_tensor_value_info("input", elem, ["batch", n_in])],
                              [helper.make_tensor_value_info("output", elem, ["batch", n_out])],
                              initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset))],
                              producer_name="chainrule")
    proto.ir_version = min(proto.ir_version, 8)
    onnx.checker.check_model(proto)
    blob = proto.SerializeToString()
    from chainrule.io import _atomic_write
    return _atomic_write(os.fspath(path), lambda f: f.write(blob))




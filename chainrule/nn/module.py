"""Module: the PyTorch-style container of parameters, with Keras' compile/fit on top.

A Module registers every :class:`Parameter` and sub-Module assigned to it as an
attribute, so ``parameters()`` finds them all; ``forward`` says what the module
computes.  ``compile``/``fit``/``evaluate``/``predict``/``summary``/``save``
delegate to :mod:`chainrule.training` and :mod:`chainrule.io`, so any Module,
subclassed or Sequential, trains the Keras way as well as the PyTorch way.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from chainrule.parameter import Parameter
from chainrule.tensor import Tensor

LAYERS = {}  # class name -> class, for rebuilding saved architectures
#: Set by chainrule.nn.layers (which defines Dense): runs the leading dense layers of a
#: Sequential as one fused primitive; returns (output so far, the layers still to apply).
_dense_prefix = None


class NotBuiltError(ValueError):
    """A layer's weights do not exist yet because its input size is unknown."""


class Module:
    """Base class of layers and models.

    Subclass it, create parameters and sub-modules in ``__init__`` and define
    ``forward``; calling the module calls ``forward``.

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Dense(4, activation='tanh', input_dim=2)
    ...         self.out = nn.Dense(1, input_dim=4)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x))
    >>> model = TwoLayer()
    >>> [name for name, _ in model.named_parameters()]
    ['hidden.kernel', 'hidden.bias', 'out.kernel', 'out.bias']
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LAYERS[cls.__name__] = cls

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def _ensure_init(self):
        if "_parameters" not in self.__dict__:
            raise TypeError(f"{type(self).__name__}: call super().__init__() at the top of __init__ "
                            f"before assigning parameters or layers")

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._ensure_init()
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._ensure_init()
            self._parameters.pop(name, None)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is None:
                del self._parameters[name]
            else:
                raise TypeError(f"{type(self).__name__}.{name} is a Parameter; assign a Parameter or update "
                                f".data in place, got {type(value).__name__}")
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_modules", "_buffers"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def register_buffer(self, name, array):
        """A non-trainable array saved with the model (e.g. BatchNorm's running mean)."""
        self._ensure_init()
        self._buffers[name] = np.asarray(array)
        if name in self.__dict__:
            object.__delattr__(self, name)

    # ------------------------------------------------------------------ graph
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    @property
    def built(self):
        return all(m.built for m in self._modules.values())

    def _unbuilt(self):
        for name, m in self.named_modules():
            if not m.__dict__.get("_self_built", True):
                return name or type(m).__name__, m
        return None

    def children(self):
        return iter(self._modules.values())

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix=""):
        """(name, Parameter) pairs, sub-modules included, in registration order."""
        bad = self._unbuilt()
        if bad is not None:
            name, layer = bad
            raise NotBuiltError(
                f"{layer!r} (at {name!r}) has no weights yet because its input size is unknown; give it "
                f"input_dim=... or call the model once on a batch (model(X[:1])) before binding an optimizer")
        seen = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self):
        """The trainable Parameters, for an optimizer: ``SGD(model.parameters(), lr=0.1)``."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for mname, m in self.named_modules():
            for bname, b in m._buffers.items():
                yield (f"{mname}.{bname}" if mname else bname), b

    def count_params(self):
        return int(sum(p.data.size for p in self.parameters()))

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Training mode: dropout active, batch normalization uses batch statistics."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Inference mode: dropout off, batch normalization uses its running averages."""
        return self.train(False)

    def regularization_loss(self):
        """Sum of the weight penalties of every layer (added to the loss during fit)."""
        total = None
        for m in self.modules():
            for term in m._penalties():
                total = term if total is None else total + term
        return total

    def _penalties(self):
        return ()

    # ----------------------------------------------------------------- state
    def state_dict(self):
        """Every parameter and buffer by dotted name, as ndarrays (copies)."""
        sd = OrderedDict((n, p.data.copy()) for n, p in self.named_parameters())
        sd.update((n, np.array(b, copy=True)) for n, b in self.named_buffers())
        return sd

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters and buffers in place (optimizers stay bound).

        Unbuilt lazy layers are built from the saved shapes first: by their
        ``build_from_weights({name: shape})`` when they define it, else from a (inputs, outputs)
        ``kernel`` as Dense has.
        """
        for name, m in self.named_modules():
            if not m.__dict__.get("_self_built", True):
                prefix = f"{name}." if name else ""
                shapes = {k[len(prefix):]: np.shape(v) for k, v in state.items()
                          if k.startswith(prefix) and "." not in k[len(prefix):]}
                if hasattr(m, "build_from_weights"):  # a layer that knows its weights' layout (Conv2D)
                    m.build_from_weights(shapes)
                elif "kernel" in shapes:
                    m.build((None, shapes["kernel"][0]))
        own = dict(self.named_parameters())
        bufs = {}
        for mname, m in self.named_modules():
            for bname in m._buffers:
                bufs[f"{mname}.{bname}" if mname else bname] = (m, bname)
        missing = [k for k in list(own) + list(bufs) if k not in state]
        unexpected = [k for k in state if k not in own and k not in bufs]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict: state does not match the model: missing {missing}, "
                             f"unexpected {unexpected}")
        for k, v in state.items():
            v = np.asarray(v)
            if k in own:
                p = own[k]
                if p.data.shape != v.shape:
                    raise ValueError(f"load_state_dict: {k} has shape {p.data.shape} in the model but {v.shape} "
                                     f"in the state")
                np.copyto(p.data, v, casting="same_kind")
            elif k in bufs:
                m, bname = bufs[k]
                old = m._buffers[bname]
                if np.shape(old) != v.shape:
                    raise ValueError(f"load_state_dict: buffer {k} has shape {np.shape(old)} in the model but "
                                     f"{v.shape} in the state")
                m._buffers[bname] = v.astype(np.asarray(old).dtype, copy=True)
        return self

    # ------------------------------------------------------ Keras-style API
    def get_config(self):
        raise TypeError(f"{type(self).__name__} does not describe its architecture; define get_config() "
                        f"(returning its constructor arguments) to save it, or save state_dict() arrays instead")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compile(self, optimizer="adam", loss=None, metrics=None):
        """Keras' compile: bind an optimizer, a loss and metrics (see :func:`chainrule.training.compile`)."""
        from chainrule import training
        return training.compile(self, optimizer=optimizer, loss=loss, metrics=metrics)

    def fit(self, X, y=None, **kwargs):
        """Keras' fit (see :func:`chainrule.training.fit`); returns a History."""
        from chainrule import training
        return training.fit(self, X, y, **kwargs)

    def evaluate(self, X, y, **kwargs):
        from chainrule import training
        return training.evaluate(self, X, y, **kwargs)

    def predict(self, X, batch_size=None, **kwargs):
        from chainrule import training
        return training.predict(self, X, batch_size=batch_size, **kwargs)

    def summary(self, print_fn=print):
        from chainrule import training
        return training.summary(self, print_fn=print_fn)

    def save(self, path):
        """Write the model (architecture, weights, optimizer state) to one safe .npz file."""
        from chainrule import io
        return io.save_model(self, path)

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self):
        return ""


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
        layers = self._modules.values()
        if _dense_prefix is not None:
            # leading Dense/Linear and activation layers run as one DenseStack node (chainrule.nn.layers)
            x, layers = _dense_prefix(list(layers), x)
        layers = list(layers)
        i, n = 0, len(layers)
        while i < n:
            # A layer with forward_fused(x, following) -> (output, k) may run itself and the first k
            # layers after it as one graph node (Conv2D with the MaxPooling2D after it: chainrule.nn.conv).
            fused = getattr(layers[i], "forward_fused", None)
            if fused is None:
                x = layers[i](x)
                i += 1
            else:
                x, used = fused(x, layers[i + 1:])
                i += 1 + used
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


def _as_tensor_input(x):
    return x if isinstance(x, Tensor) else np.asarray(x)

"""Module: the PyTorch-style container of parameters, and a Keras-style Trainer.

A Module registers every :class:`Parameter` and sub-Module assigned to it as an
attribute, so ``parameters()`` finds them all; ``forward`` says what the module
computes.  Every Module is a :class:`chainrule.training.Trainer` (as Keras' ``Model``
is), so any Module, subclassed or Sequential, trains the Keras way
(``compile``/``fit``/``evaluate``/``predict``/``summary``) as well as the PyTorch
way; ``save`` writes it with :mod:`chainrule.io`.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from chainrule import io as _io
from chainrule.parameter import Parameter
from chainrule.training import Trainer

#: class name -> class, for rebuilding saved architectures (chainrule.io's registry)
LAYERS = _io.SERIALIZABLE


class _Structure:
    """A counter bumped whenever any Module gains or loses a parameter, buffer or sub-module, so
    that lists derived from a module tree (its parameters, its weight penalties) can be cached
    and recomputed only after a change."""
    version = 0


def _changed():
    _Structure.version += 1


def _penalty_terms(module):
    return [t for m in module.modules() for t in m._regularized()]


def _parameter_tuple(module):
    return tuple(p for _, p in module.named_parameters())


class NotBuiltError(ValueError):
    """A layer's weights do not exist yet because its input size is unknown."""


class Module(Trainer):
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
        _io.register_serializable(cls)

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
        if name[0] != "_":
            _changed()  # an attribute a cached plan may depend on (a layer's activation, say)
        if isinstance(value, Parameter):
            self._ensure_init()
            self._modules.pop(name, None)
            self._parameters[name] = value
            _changed()
        elif isinstance(value, Module):
            self._ensure_init()
            self._parameters.pop(name, None)
            self._modules[name] = value
            _changed()
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is None:
                del self._parameters[name]
                _changed()
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
        if name not in self._buffers:
            _changed()
        self._buffers[name] = np.asarray(array)
        if name in self.__dict__:
            object.__delattr__(self, name)

    def __delattr__(self, name):
        for store in ("_parameters", "_modules", "_buffers"):
            if name in self.__dict__.get(store, ()):
                del self.__dict__[store][name]
                _changed()
                return
        object.__delattr__(self, name)

    def _cached(self, key, compute, *args):
        """``compute(*args)``, remembered on this module until any module's structure changes."""
        cache = self.__dict__.get("_cache")
        if cache is None or cache[0] != _Structure.version:
            cache = (_Structure.version, {})
            object.__setattr__(self, "_cache", cache)
        store = cache[1]
        try:
            return store[key]
        except KeyError:
            value = store[key] = compute(*args)
            return value

    # ------------------------------------------------------------------ graph
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        """What the module computes; calling the module, ``module(x)``, calls it.  Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    @property
    def built(self) -> bool:
        """True when every sub-module has its weights (lazy layers get them on their first call)."""
        return all(m.built for m in self._modules.values())

    def _unbuilt(self):
        for name, m in self.named_modules():
            if not m.__dict__.get("_self_built", True):
                return name or type(m).__name__, m
        return None

    def children(self):
        """The direct sub-modules, in the order they were assigned."""
        return iter(self._modules.values())

    def modules(self):
        """This module and every sub-module below it, depth first."""
        return (m for _, m in self.named_modules())

    def named_modules(self, prefix=""):
        """(dotted name, module) pairs of this module ('' or ``prefix``) and every sub-module."""
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
        return list(self._cached("parameters", _parameter_tuple, self))

    def named_buffers(self):
        """(dotted name, array) pairs of every buffer (non-trainable saved state, e.g. running means)."""
        for mname, m in self.named_modules():
            for bname, b in m._buffers.items():
                yield (f"{mname}.{bname}" if mname else bname), b

    def count_params(self) -> int:
        """The number of trainable values (the sizes of all parameters added up), as Keras'."""
        return int(sum(p.data.size for p in self.parameters()))

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad = None``), as ``torch.nn.Module.zero_grad``."""
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
        """Sum of the weight penalties of every layer, sum of Omega(W) (added to the loss during fit)."""
        total = None
        for reg, p in (t for m in self.modules() for t in m._regularized()):
            term = reg(p)
            total = term if total is None else total + term
        return total

    def penalty_terms(self):
        """The (regularizer, parameter) pairs of every layer, in order; looked up once per change
        of the model's structure, so a training step pays nothing when there are none."""
        return self._cached("penalties", _penalty_terms, self)

    def check_fit(self, shuffle=True, batch_size=None, n_samples=None):
        """Raise a ValueError if this module cannot be trained by ``fit`` with these settings (a
        stateful recurrent layer refuses shuffled or uneven batches); ``fit`` asks every module."""

    def _regularized(self):
        """This module's own (regularizer, parameter) pairs (layers with regularizers override it)."""
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
                p._changed()  # a graph recorded before this cannot be back-propagated (Tensor.add_)
            elif k in bufs:
                m, bname = bufs[k]
                old = m._buffers[bname]
                if np.shape(old) != v.shape:
                    raise ValueError(f"load_state_dict: buffer {k} has shape {np.shape(old)} in the model but "
                                     f"{v.shape} in the state")
                m._buffers[bname] = v.astype(np.asarray(old).dtype, copy=True)
        return self

    # ------------------------------------------------------ Keras-style API
    def get_config(self) -> dict:
        """The constructor's arguments as a JSON-able dict, from which ``from_config`` rebuilds the module
        (what :func:`chainrule.io.save_model` stores).  A Module subclass defines it to be saved whole;
        without it, save the weights (:meth:`save_weights`)."""
        raise TypeError(f"{type(self).__name__} does not describe its architecture; define get_config() "
                        f"(returning its constructor arguments) to save it, or save state_dict() arrays instead")

    @classmethod
    def from_config(cls, config: dict):
        """A new module from :meth:`get_config`'s dict (``cls(**config)`` unless a class says otherwise)."""
        return cls(**config)

    def save(self, path) -> str:
        """Write the model (architecture, weights, optimizer state) to one safe .npz file.

        Needs ``get_config()`` on the model and its layers (Sequential and the built-in layers have
        it); a Module subclass without one saves its weights with :meth:`save_weights`.
        """
        return _io.save_model(self, path)

    def save_weights(self, path) -> str:
        """Write the parameters and buffers (``state_dict()``) to ``path``: ``.npz``, or ``.safetensors``.

        Works for every Module, custom subclasses included; rebuild the model in code and call
        :meth:`load_weights`.  Returns the path written.  See :func:`chainrule.io.save_weights`.
        """
        return _io.save_weights(self, path)

    def load_weights(self, path):
        """Read weights written by :meth:`save_weights` (or a model file) into this model, in place.

        Names and shapes must match; nothing is unpickled.  Returns the model.  See
        :func:`chainrule.io.load_weights`.
        """
        return _io.load_weights(self, path)

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        """The arguments shown inside the module's repr, e.g. ``units=10``."""
        return ""


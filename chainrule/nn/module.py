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
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import io as _io
from chainrule._masks import _MASKS, pass_mask
from chainrule.nn.symbolic import KerasTensor, symbolic_call
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor
from chainrule.training import Trainer

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, PathLike, TensorLike
    from chainrule.nn.regularizers import Regularizer

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


def _activity_modules(module):
    return [m for m in module.modules() if m.activity_regularizer is not None]


def _parameter_tuple(module):
    return tuple(p for _, p in module.named_parameters())


_SEQUENCES = (list, tuple)


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
        prop = getattr(type(self), name, None)
        if isinstance(prop, property):   # a property that raised AttributeError: let its own message through
            return prop.fget(self)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def register_buffer(self, name: str, array: ArrayLike) -> None:
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
    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        """What the module computes; calling the module, ``module(x)``, calls it.  Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    #: Keras' activity regularizer: a penalty on this module's output (see :class:`chainrule.nn.Layer`)
    activity_regularizer = None

    #: True for a layer whose output keeps its input's (batch, time) mask (Keras' ``supports_masking``
    #: of Dense, Activation, Dropout, the normalizations: they act on each step alone)
    _passes_mask = False

    def __call__(self, *args, **kwargs):
        a = args[0] if args else None
        if type(a) is KerasTensor or (type(a) in _SEQUENCES and a and type(a[0]) is KerasTensor):
            return symbolic_call(self, args, kwargs)   # Keras' functional API (chainrule.nn.graph)
        out = self.forward(*args, **kwargs)
        if self.activity_regularizer is not None:
            self._record_activity(out)
        if self._passes_mask and _MASKS and out is not a:    # (no mask anywhere: nothing to look up)
            pass_mask(a, out)
        return out

    def _record_activity(self, out):
        """Keep Omega(a) / batch size of this call's output a, for the training loss (Keras 3's rule).
        One value per graph node calling this module (``_calling_node``), replaced on every call."""
        store = self.__dict__.get("_activity_losses")
        if store is None:
            store = {}
            object.__setattr__(self, "_activity_losses", store)
        total = None
        for o in (out if isinstance(out, (list, tuple)) else [out]):
            n = np.shape(o.data if isinstance(o, Tensor) else o)
            term = self.activity_regularizer(o)
            if n:
                term = term / n[0]
            total = term if total is None else total + term
        store[self.__dict__.get("_calling_node")] = total

    def activity_penalty(self) -> Tensor | None:
        """The sum of the activity penalties of the latest forward pass (None when no layer has one);
        the Trainer adds it to the loss.  Which modules have one is looked up once per model change."""
        mods = self._cached("activity", _activity_modules, self)
        if not mods:
            return None
        total = None
        for m in mods:
            for v in (m.__dict__.get("_activity_losses") or {}).values():
                total = v if total is None else total + v
        return total

    @property
    def losses(self) -> list[Tensor]:
        """Keras' ``model.losses``: the activity penalties of the latest calls and the weight penalties."""
        out = [v for m in self.modules() for v in (m.__dict__.get("_activity_losses") or {}).values()]
        return out + [reg(p) for m in self.modules() for reg, p in m._regularized()]

    @property
    def built(self) -> bool:
        """True when every sub-module has its weights (lazy layers get them on their first call)."""
        return self._unbuilt() is None

    def _unbuilt(self):
        for name, m in self.named_modules():
            if not m.__dict__.get("_self_built", True):
                return name or type(m).__name__, m
        return None

    def get_layer(self, name: str | None = None, index: int | None = None) -> Module:
        """A direct sub-layer by its Keras name (``model.get_layer('hidden')``) or position (``index=0``)."""
        layers = list(self._modules.items())
        if index is not None:
            if name is not None:
                raise ValueError("get_layer: give name= or index=, not both")
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range for a model of {len(layers)} layers")
            return layers[index][1]
        for key, layer in layers:
            if getattr(layer, "name", None) == name:
                return layer
        for key, layer in layers:
            if key == name:
                return layer
        names = [getattr(layer, "name", None) or key for key, layer in layers]
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are {names}")

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in the order they were assigned."""
        return iter(self._modules.values())

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module below it, depth first."""
        return (m for _, m in self.named_modules())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) pairs of this module ('' or ``prefix``) and every sub-module."""
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
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

    def parameters(self) -> list[Parameter]:
        """The trainable Parameters, for an optimizer: ``SGD(model.parameters(), lr=0.1)``."""
        return list(self._cached("parameters", _parameter_tuple, self))

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) pairs of every buffer (non-trainable saved state, e.g. running means)."""
        for mname, m in self.named_modules():
            for bname, b in m._buffers.items():
                yield (f"{mname}.{bname}" if mname else bname), b

    # ------------------------------------------------------------------ Keras' weight lists
    def named_weights(self) -> Iterator[tuple[str, Parameter | np.ndarray]]:
        """(dotted name, Parameter or buffer) of every weight in Keras' order: module by module (this one
        first, then its sub-modules, as ``named_modules``), each module's parameters and then its
        non-trainable state (BatchNormalization's moving mean and variance right after its gamma and beta),
        as Keras' ``Layer.weights`` lists them."""
        first = {id(p): n for n, p in self.named_parameters()}   # each parameter once, under its first name
        for mname, m in self.named_modules():
            for p in m._parameters.values():
                name = first.pop(id(p), None)
                if name is not None:
                    yield name, p
            for bname, b in m._buffers.items():
                yield (f"{mname}.{bname}" if mname else bname), b

    @property
    def weights(self) -> list[Parameter | np.ndarray]:
        """Every weight, in Keras' order (:meth:`named_weights`): layer by layer, each layer's parameters
        and then its non-trainable state."""
        return [w for _, w in self.named_weights()]

    @property
    def trainable_weights(self) -> list[Parameter]:
        """The parameters that require a gradient, as a list."""
        return [p for _, p in self.named_parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self) -> list[Parameter | np.ndarray]:
        """The frozen parameters and the buffers, in :attr:`weights` order."""
        return [w for w in self.weights if not (isinstance(w, Parameter) and w.requires_grad)]

    def get_weights(self) -> list[np.ndarray]:
        """The weights as arrays (copies), in :attr:`weights` order (Keras' ``get_weights``)."""
        return [np.array(w.data if isinstance(w, Tensor) else w, copy=True) for w in self.weights]

    def set_weights(self, weights: Iterable[TensorLike]) -> None:
        """Copy arrays into the weights in place, in :attr:`weights` order (optimizers stay bound)."""
        names = [n for n, _ in self.named_weights()]
        weights = list(weights)
        if len(weights) != len(names):
            raise ValueError(f"{type(self).__name__}.set_weights: expected {len(names)} arrays ({', '.join(names)}), "
                             f"got {len(weights)}")
        self.load_state_dict(dict(zip(names, (np.asarray(w.data if isinstance(w, Tensor) else w)
                                              for w in weights))))

    def count_params(self) -> int:
        """The number of trainable values (the sizes of all parameters added up), as Keras'."""
        return int(sum(p.data.size for p in self.parameters()))

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad = None``), as ``torch.nn.Module.zero_grad``."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Training mode: dropout active, batch normalization uses batch statistics."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Inference mode: dropout off, batch normalization uses its running averages."""
        return self.train(False)

    def regularization_loss(self) -> Tensor | None:
        """Sum of the weight penalties of every layer, sum of Omega(W) (added to the loss during fit)."""
        total = None
        for reg, p in (t for m in self.modules() for t in m._regularized()):
            term = reg(p)
            total = term if total is None else total + term
        return total

    def penalty_terms(self) -> list[tuple[Regularizer, Parameter]]:
        """The (regularizer, parameter) pairs of every layer, in order; looked up once per change
        of the model's structure, so a training step pays nothing when there are none."""
        return self._cached("penalties", _penalty_terms, self)

    def check_fit(self, shuffle: bool = True, batch_size: int | None = None, n_samples: int | None = None) -> None:
        """Raise a ValueError if this module cannot be trained by ``fit`` with these settings (a
        stateful recurrent layer refuses shuffled or uneven batches); ``fit`` asks every module."""

    def _regularized(self):
        """This module's own (regularizer, parameter) pairs (none; :class:`~chainrule.nn.Layer` yields those
        its ``_weight_regularizers`` table names)."""
        return ()

    # ----------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Every parameter and buffer by dotted name, as ndarrays (copies)."""
        sd = OrderedDict((n, p.data.copy()) for n, p in self.named_parameters())
        sd.update((n, np.array(b, copy=True)) for n, b in self.named_buffers())
        return sd

    def load_state_dict(self, state: Mapping[str, ArrayLike], strict: bool = True) -> Module:
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
    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments as a JSON-able dict, from which ``from_config`` rebuilds the module
        (what :func:`chainrule.io.save_model` stores).  A Module subclass defines it to be saved whole;
        without it, save the weights (:meth:`save_weights`)."""
        raise TypeError(f"{type(self).__name__} does not describe its architecture; define get_config() "
                        f"(returning its constructor arguments) to save it, or save state_dict() arrays instead")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Module:
        """A new module from :meth:`get_config`'s dict (``cls(**config)`` unless a class says otherwise)."""
        return cls(**config)

    def save(self, path: PathLike) -> str:
        """Write the model (architecture, weights, optimizer state) to one safe .npz file.

        Needs ``get_config()`` on the model and its layers (Sequential and the built-in layers have
        it); a Module subclass without one saves its weights with :meth:`save_weights`.
        """
        return _io.save_model(self, path)

    def save_weights(self, path: PathLike) -> str:
        """Write the parameters and buffers (``state_dict()``) to ``path``: ``.npz``, or ``.safetensors``.

        Works for every Module, custom subclasses included; rebuild the model in code and call
        :meth:`load_weights`.  Returns the path written.  See :func:`chainrule.io.save_weights`.
        """
        return _io.save_weights(self, path)

    def load_weights(self, path: PathLike) -> Module:
        """Read weights written by :meth:`save_weights` (or a model file) into this model, in place.

        Names and shapes must match; nothing is unpickled.  Returns the model.  See
        :func:`chainrule.io.load_weights`.
        """
        return _io.load_weights(self, path)

    def __repr__(self):
        name = type(self).__dict__.get("_repr_name", type(self).__name__)   # PyTorch's name of a Torch* class
        if not self._modules:
            return f"{name}({self.extra_repr()})"
        lines = [f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items()]
        return f"{name}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        """The arguments shown inside the module's repr, e.g. ``units=10``."""
        return ""


"""The core layers of a feed-forward network: Dense (and PyTorch's Linear), Activation, Dropout, Flatten.

In the notes' notation a dense layer l maps the previous activations a^(l-1)
to  z^(l) = a^(l-1) W^(l) + b^(l)  and  a^(l) = f(z^(l))  (rows are samples).
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chainrule import _checks, ops
from chainrule.nn import activations, constraints, init, naming, regularizers
from chainrule.nn import module as _module
from chainrule.nn.module import Module
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor, get_default_dtype, get_rng
from chainrule.nn.init import Initializer
from chainrule.nn.constraints import Constraint
from chainrule.nn.regularizers import Regularizer
from chainrule.nn.symbolic import KerasTensor, _traced_shapes

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, DTypeLike, TensorLike


class Layer(Module):
    """A Module that knows its input and output shapes (per sample; batch axis first, as None).

    Keras' layer arguments are accepted by every layer and handled here once (Keras 3's base
    ``Layer``): ``name`` (else an automatic one, ``dense``, ``dense_1``, ...:
    :mod:`chainrule.nn.naming`), ``input_shape`` / ``input_dim`` / ``batch_input_shape`` (the
    per-sample shape, so that a model starting with this layer is built at once),
    ``activity_regularizer`` (a penalty on the layer's output, Omega(a) / batch size, added to the
    training loss), ``trainable`` (False freezes the layer's weights) and ``dtype``.  A layer is
    called on data (a Tensor or array) or, in Keras' functional API, on the symbolic tensors of
    :func:`chainrule.nn.Input` (:mod:`chainrule.nn.graph`).
    """

    def __init__(self, input_shape: Sequence[int | None] | int | None = None, *, name: str | None = None,
                 input_dim: int | None = None, batch_input_shape: Sequence[int | None] | None = None,
                 batch_size: int | None = None,
                 activity_regularizer: str | Regularizer | Callable[[Tensor], Tensor] | None = None,
                 trainable: bool = True, dtype: DTypeLike = None, autocast: bool = True, **kwargs: Any) -> None:
        taken = {attr: kwargs.pop(attr, None) for attr, _ in type(self)._weight_constraints}
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword arguments {sorted(kwargs)}")
        super().__init__()
        for attr, c in taken.items():        # Keras' kernel_constraint=..., bias_constraint=..., ...
            setattr(self, attr, constraints.get(c))
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string, got {name!r}")
        if name is None:   # Keras' automatic name from the class (or the name of the Keras layer it stands for)
            name = naming.unique_name(type(self).__dict__.get("_auto_name", type(self).__name__))
        self.name = name
        who = type(self).__name__
        if batch_input_shape is not None:
            batch_input_shape = _checks.shape(who, "batch_input_shape", batch_input_shape)
            if not batch_input_shape:
                raise ValueError(f"{who}: batch_input_shape needs the batch axis first, got ()")
            shape = (None, *batch_input_shape[1:])
            batch_size = batch_input_shape[0]
        elif input_shape is not None:
            shape = (None, *_shape_tuple(input_shape, who))
        elif input_dim is not None:
            shape = (None, _checks.positive_int(who, "input_dim", input_dim))
        else:
            shape = None
        batch_size = _checks.positive_int(who, "batch_size", batch_size, allow_none=True)
        if shape is not None and batch_size is not None:
            shape = (batch_size, *shape[1:])
        self.input_shape = shape
        self.output_shape = None
        if activity_regularizer is not None:
            self.activity_regularizer = regularizers.get(activity_regularizer)
        if not isinstance(trainable, bool):
            raise ValueError(f"{type(self).__name__}: trainable must be True or False, got {trainable!r}")
        object.__setattr__(self, "_trainable", trainable)
        if dtype is not None:
            self.dtype = _checks.dtype(who, dtype)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # a Keras-style layer written by a user (call, and a build that returns nothing): its build is
        # wrapped, as Keras 3 wraps it, so that it runs once and reports the output shape
        if "build" in cls.__dict__ and not cls.__module__.startswith("chainrule.") and \
                getattr(cls.__dict__["build"], "_keras_wrapped", None) is None:
            cls.build = _keras_build(cls.__dict__["build"])

    def add_weight(self, shape: Sequence[int] | None = None,
                   initializer: str | Initializer | Callable[..., np.ndarray] | None = None,
                   dtype: DTypeLike = None, trainable: bool = True,
                   regularizer: str | Regularizer | Callable[[Tensor], Tensor] | None = None,
                   constraint: str | Constraint | Callable[[np.ndarray], np.ndarray] | None = None,
                   name: str | None = None, **kwargs: Any) -> Parameter:
        """Keras' ``add_weight``: a new Parameter of ``shape`` drawn from ``initializer`` (Keras' default
        'glorot_uniform' for floats, 'zeros' otherwise), frozen unless ``trainable``, with its
        ``regularizer``'s penalty in the training loss and its ``constraint`` applied after each
        optimizer update (:mod:`chainrule.nn.constraints`).  It belongs to the layer at once (as
        ``weight_0``, ``weight_1``, ... or ``name``) and takes the attribute's name when assigned
        (``self.w = self.add_weight(...)``), so ``get_weights`` lists the weights in creation order."""
        who = f"{type(self).__name__}.add_weight"
        shape = () if shape is None else _checks.shape(who, "shape", shape)
        if any(d is None for d in shape):
            raise ValueError(f"{who}: shape must be known, got {shape}")
        dt = _checks.dtype(who, dtype) if dtype is not None else (self.__dict__.get("dtype") or get_default_dtype())
        if initializer is None:
            initializer = "glorot_uniform" if dt.kind == "f" else "zeros"
        value = np.asarray(init.get(initializer)(tuple(shape), dtype=dt, rng=get_rng()), dtype=dt)
        p = Parameter(value, requires_grad=bool(trainable))
        p.constraint = constraints.get(constraint)
        pending = self.__dict__.get("_added_weights")
        if pending is None:
            pending = {}
            object.__setattr__(self, "_added_weights", pending)
        key = name if isinstance(name, str) and name and name not in self._parameters else \
            f"weight_{len(self._parameters)}"
        self._parameters[key] = p
        pending[id(p)] = key
        _module._changed()
        if regularizer is not None:
            object.__setattr__(self, "_added_penalties",
                               [*self.__dict__.get("_added_penalties", ()), (regularizers.get(regularizer), p)])
        return p

    def __setattr__(self, name: str, value: Any) -> None:
        pending = self.__dict__.get("_added_weights")
        if pending and isinstance(value, Parameter) and id(value) in pending:
            self._parameters.pop(pending.pop(id(value)), None)    # add_weight's Parameter takes this name
        super().__setattr__(name, value)
        for attr, weight in type(self)._weight_constraints:     # a weight carries its layer's constraint
            if name == weight and isinstance(value, Parameter):
                value.constraint = self.__dict__.get(attr)
            elif name == attr and self._parameters.get(weight) is not None:
                self._parameters[weight].constraint = value

    def _constraint_config(self) -> dict[str, Any]:
        """The layer's weight constraints, serialized, for its get_config."""
        return {attr: constraints.serialize(self.__dict__.get(attr)) for attr, _ in type(self)._weight_constraints}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A Keras-style layer's ``call``: built on its first input's shape if it was not, then called
        (with ``training`` when ``call`` takes it)."""
        call = getattr(self, "call", None)
        if call is None:
            raise NotImplementedError(f"{type(self).__name__} must define forward() (or Keras' call())")
        if not self.__dict__.get("_keras_built") and type(self).build is not Layer.build and args:
            self.build((None, *np.shape(_data(args[0]))[1:]))
        takes = _call_parameters(call)   # Keras passes training= only to a call that takes it
        if "training" in takes:
            kwargs.setdefault("training", self.training)
        elif "training" in kwargs and not any(p.kind is p.VAR_KEYWORD for p in takes.values()):
            del kwargs["training"]
        return call(*args, **kwargs)

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """Create weights for inputs of ``input_shape`` (batch axis first); return the output shape."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        object.__setattr__(self, "_self_built", True)
        if not self.__dict__.get("_trainable", True):
            for p in self._parameters.values():
                p.requires_grad = False
        return self.output_shape

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """The output's shape for inputs of ``input_shape`` (batch axis first, None when unknown)."""
        return tuple(input_shape)

    #: (regularizer attribute, weight) pairs whose penalties join the loss: Keras' kernel_regularizer
    #: and bias_regularizer, for every layer that has them (a layer with more weights lists them)
    _weight_regularizers = (("kernel_regularizer", "kernel"), ("bias_regularizer", "bias"))
    #: (constraint attribute, weight) pairs: Keras' kernel_constraint, ... that the layer takes (as keyword
    #: arguments, through Layer.__init__) and hands to the weight's Parameter (chainrule.nn.constraints)
    _weight_constraints = ()
    #: True for a recurrent layer that Bidirectional can run both ways (chainrule.nn.recurrent)
    _runs_sequences = False

    def _regularized(self):
        for attr, name in self._weight_regularizers:
            reg = getattr(self, attr, None)
            if reg is not None and name in self._parameters:
                yield reg, self._parameters[name]
        yield from self.__dict__.get("_added_penalties", ())

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (JSON-able), for saving; see :meth:`Module.get_config`."""
        return {}

    def get_weights(self) -> list[np.ndarray]:
        """The layer's weights as a list of arrays (copies), as Keras lists them (:meth:`named_weights`):
        layer by layer, the parameters in order of creation (Dense: kernel, bias), then the layer's
        statistics (BatchNormalization: gamma, beta, moving mean, moving variance)."""
        return [np.array(w.data if isinstance(w, Tensor) else w, copy=True) for _, w in self.named_weights()]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        """Copy a list of arrays in :meth:`get_weights`' order into the layer, in place (optimizers stay
        bound); an unbuilt ``Dense`` is built from its kernel's shape."""
        weights = [w.detach().cpu().numpy() if hasattr(w, "detach") else np.asarray(w) for w in weights]
        if not self.__dict__.get("_self_built", True) and weights and weights[0].ndim == 2:
            self.build((None, weights[0].shape[0]))
        slots = list(self.named_weights())
        if len(weights) != len(slots):
            raise ValueError(f"{self!r}.set_weights: expected {len(slots)} arrays, got {len(weights)}")
        buffers = {(f"{mname}.{b}" if mname else b): (m, b) for mname, m in self.named_modules() for b in m._buffers}
        for (name, old), w in zip(slots, weights):
            if isinstance(old, Tensor) and old.data.shape != w.shape:
                raise ValueError(f"{self!r}.set_weights: expected an array of shape {old.data.shape}, got {w.shape}")
            if not isinstance(old, Tensor) and np.shape(old) != w.shape:
                raise ValueError(f"{self!r}.set_weights: expected {name.rpartition('.')[2]} of shape "
                                 f"{np.shape(old)}, got {w.shape}")
        for (name, old), w in zip(slots, weights):
            if isinstance(old, Tensor):
                np.copyto(old.data, w, casting="same_kind")
            else:
                m, b = buffers[name]
                m._buffers[b] = w.astype(np.asarray(old).dtype, copy=True)

    def _check_rank(self, x, rank, what):
        if np.ndim(x.data if isinstance(x, Tensor) else x) != rank:
            shape = np.shape(x.data if isinstance(x, Tensor) else x)
            raise ValueError(f"{self!r}: expected input of rank {rank} {what}, got shape {shape}")

    # ------------------------------------------------------------------ Keras' layer attributes
    @property
    def trainable(self) -> bool:
        """False: the layer's weights are frozen (``requires_grad=False``; optimizers skip them)."""
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        object.__setattr__(self, "_trainable", bool(value))
        for m in self.modules():
            object.__setattr__(m, "_trainable", bool(value))
            for p in m._parameters.values():
                p.requires_grad = bool(value)

    @property
    def input(self) -> KerasTensor | list[KerasTensor]:
        """The symbolic input of the layer's (first) call in a functional model."""
        return _graph_attr(self, "input")

    @property
    def output(self) -> KerasTensor | list[KerasTensor]:
        """The symbolic output of the layer's (first) call in a functional model (``Model(inputs, layer.output)``)."""
        return _graph_attr(self, "output")


def _call_parameters(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return {}


def _keras_build(build):
    """A user's Keras-style ``build(input_shape)`` (which returns nothing) as chainrule's: it runs once,
    marks the layer built and returns the output shape (its ``compute_output_shape``, else found by
    calling the layer once on zeros)."""
    @functools.wraps(build)
    def wrapped(self, input_shape):
        shape = tuple(input_shape)
        if not self.__dict__.get("_keras_built"):
            object.__setattr__(self, "_keras_built", True)
            try:
                build(self, shape)
            except BaseException:
                object.__setattr__(self, "_keras_built", False)
                raise
        self.input_shape = shape
        object.__setattr__(self, "_self_built", True)
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            out = self.compute_output_shape(shape)
        else:
            try:
                out, _ = _traced_shapes(self, (KerasTensor(shape, self.__dict__.get("dtype") or get_default_dtype()),),
                                        {})
            except Exception:   # (a call that needs more than zeros: its shape is found on the first real call)
                out = None
        self.output_shape = None if out is None else (tuple(out) if not isinstance(out, list) else out)
        return self.output_shape
    wrapped._keras_wrapped = True
    return wrapped


#: the keyword arguments every layer takes (handled by Layer.__init__)
_LAYER_KWARGS = ("input_shape", "name", "input_dim", "batch_input_shape", "batch_size", "activity_regularizer",
                 "trainable", "dtype", "autocast")


def _shape_tuple(shape, who):
    return _checks.shape(who, "input_shape", shape)


def _graph_attr(layer, what):
    nodes = layer.__dict__.get("_inbound_nodes") or []
    if not nodes:
        raise AttributeError(f"{layer.name} ({type(layer).__name__}) has not been called on a symbolic input, so "
                             f"it has no {what}; call it on keras.Input(shape=...) (or give the first layer of a "
                             f"Sequential input_shape=...) first")
    node = nodes[0]   # a shared layer (called several times): its first call's, as Keras 3 gives it
    tensors = node.input_tensors if what == "input" else node.outputs
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _data(x: TensorLike) -> np.ndarray:
    """The values of ``x`` as an ndarray (a Tensor's ``.data``, else ``np.asarray(x)``)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class Dense(Layer):
    """Fully connected layer.  z = x W + b,  a = f(z)  (W: (n_in, units), b: (units,)).

    Parameters
    ----------
    units : int
        Number of outputs (neurons).
    activation : str or callable, optional
        f; None is the identity.  See :mod:`chainrule.nn.activations`.
    kernel_initializer, bias_initializer : str or Initializer
        See :mod:`chainrule.nn.init` ('glorot_uniform' and 'zeros' by default).
    kernel_regularizer, bias_regularizer : Regularizer, optional
        Penalties such as ``l2(1e-4)`` added to the training loss.
    kernel_constraint, bias_constraint : Constraint, optional
        Projections such as ``MaxNorm(3)`` applied after each optimizer update
        (:mod:`chainrule.nn.constraints`).
    input_dim : int, optional
        Size of each input; without it the weights are created on the first call.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(3, activation='relu', input_dim=4)
    >>> layer(np.ones((2, 4), dtype='float32')).shape
    (2, 3)
    >>> layer.kernel.shape, layer.bias.shape
    ((4, 3), (3,))
    """

    _passes_mask = True    # acts on each time step alone: the input's mask stays (Keras' supports_masking)

    _weight_constraints = (("kernel_constraint", "kernel"), ("bias_constraint", "bias"))

    def __init__(self, units: int, activation: str | Callable[..., Tensor] | None = None,
                 kernel_initializer: str | Initializer | Callable[..., np.ndarray] = "glorot_uniform",
                 bias_initializer: str | Initializer | Callable[..., np.ndarray] = "zeros",
                 kernel_regularizer: str | Regularizer | Callable[[Tensor], Tensor] | None = None,
                 bias_regularizer: str | Regularizer | Callable[[Tensor], Tensor] | None = None,
                 input_dim: int | None = None, use_bias: bool = True, dtype: DTypeLike = None,
                 kernel_constraint: str | Constraint | Callable[[np.ndarray], np.ndarray] | None = None,
                 bias_constraint: str | Constraint | Callable[[np.ndarray], np.ndarray] | None = None,
                 **kwargs: Any) -> None:
        units = _checks.positive_int("Dense", "units", units, whole_floats=True)
        input_dim = _checks.positive_int("Dense", "input_dim", input_dim, allow_none=True)
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"Dense: use_bias must be True or False, got {use_bias!r}")
        super().__init__(input_dim=input_dim, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.kernel_initializer = init.get(kernel_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.use_bias = bool(use_bias)
        self.dtype = _checks.dtype(type(self).__name__, dtype) if dtype is not None else None
        object.__setattr__(self, "_self_built", False)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n_in = input_shape[-1]
        if n_in is None:
            raise ValueError(f"{self!r}: cannot build without knowing the input size")
        if self.__dict__.get("_self_built") and self.kernel.shape[0] == n_in:
            return self.output_shape
        dtype = self.dtype or get_default_dtype()
        self.kernel = Parameter(self.kernel_initializer((n_in, self.units), dtype=dtype, rng=get_rng()))
        if self.use_bias:
            self.bias = Parameter(self.bias_initializer((self.units,), dtype=dtype, rng=get_rng()))
        return super().build(input_shape)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    def forward(self, x: TensorLike) -> Tensor:
        if not self.__dict__.get("_self_built"):
            shape = np.shape(_data(x))
            if len(shape) < 2:
                raise ValueError(f"{self!r}: expected input of shape (batch, features), got shape {shape}; "
                                 f"reshape a single sample with x.reshape(1, -1)")
            self.build((None, *shape[1:]))
        elif _data(x).shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self!r}: expected inputs with {self.kernel.shape[0]} features, got shape "
                             f"{_data(x).shape}")
        z = ops.linear(x, self.kernel, self.bias if self.use_bias else None)
        return self.activation(z)

    def stack_layer(self, n_in: int,
                    dtype: np.dtype) -> tuple[Parameter, Parameter | None, Callable[..., Tensor]] | None:
        """(W, b or None, activation) if this layer can run inside a fused dense stack on a batch of
        ``n_in`` features of ``dtype`` (built, its own forward, weights of that dtype), else None."""
        d = self.__dict__
        if type(self).forward is not Dense.forward or not d.get("_self_built") or \
                d.get("activity_regularizer") is not None:
            return None
        W = d.get("kernel")
        b = d.get("bias") if d.get("use_bias") else None
        if W is None or (b is None and d.get("use_bias")):
            W, b = self.kernel, self.bias if self.use_bias else None
        if W.data.shape[0] != n_in or W.data.dtype != dtype or (b is not None and b.data.dtype != dtype):
            return None  # the layer's own forward says what is wrong, or promotes the dtype
        return W, b, self.activation

    def get_config(self) -> dict[str, Any]:
        act = activations.name_of(self.activation)
        if act is None:
            raise TypeError(f"{self!r}: cannot save a custom activation {self.activation!r}; use a named one")
        n_in = self.input_shape[-1] if self.input_shape else None
        return {"units": self.units, "activation": act,
                "kernel_initializer": init.serialize(self.kernel_initializer),
                "bias_initializer": init.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer), **self._constraint_config(),
                "input_dim": n_in, "use_bias": self.use_bias,
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        act = activations.name_of(self.activation) or getattr(self.activation, "__name__", "custom")
        return f"units={self.units}, activation={act!r}"


class Linear(Dense):
    """PyTorch's ``nn.Linear(in_features, out_features, bias=True)``: y = x W + b, no activation.

    Initialised like PyTorch: W, b ~ U[-1/sqrt(in), 1/sqrt(in)].
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        in_features = _checks.positive_int("Linear", "in_features", in_features)
        out_features = _checks.positive_int("Linear", "out_features", out_features)
        lim = 1.0 / np.sqrt(in_features)
        super().__init__(out_features, None, init.Uniform(-lim, lim), init.Uniform(-lim, lim) if bias else "zeros",
                         input_dim=in_features, use_bias=bias)

    def get_config(self) -> dict[str, Any]:
        return {"in_features": self.kernel.shape[0], "out_features": self.units, "bias": self.use_bias}

    @property
    def in_features(self) -> int:
        """The number of input features (the kernel's first dimension)."""
        return self.kernel.shape[0]

    @property
    def out_features(self) -> int:
        """The number of output features (``units``)."""
        return self.units

    @property
    def weight(self) -> PermutedParameter:
        """PyTorch's weight, (out_features, in_features): the transpose of ``kernel``, sharing its memory
        (``nn.init.xavier_uniform_(layer.weight)`` and ``layer.weight.data[...] = w`` change the kernel)."""
        return permuted_view(self, "kernel", (1, 0))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.use_bias}"


class PermutedParameter(Parameter):
    """A Parameter seen through a permutation of its axes: PyTorch's layout of a weight chainrule keeps in
    another one (``Linear.weight`` is the transposed ``kernel``).  Its values are a view of the
    parameter's (reading and writing go through), its gradient the permuted gradient; an optimizer
    given it updates the parameter itself."""

    __slots__ = ("_base", "_perm", "_inverse")

    def __init__(self, base: Parameter, perm: Sequence[int]) -> None:
        self._base, self._perm = base, tuple(perm)
        self._inverse = tuple(int(i) for i in np.argsort(perm))
        self._ctx = self._tangent = None
        self._grad_out = None
        self.name = None

    @property
    def data(self) -> np.ndarray:
        """The base parameter's values with the axes permuted; setting it writes through to the base."""
        return self._base.data.transpose(self._perm)

    @data.setter
    def data(self, value: TensorLike) -> None:
        np.copyto(self._base.data, np.asarray(value.data if isinstance(value, Tensor) else value).transpose(
            self._inverse), casting="same_kind")

    @property
    def grad(self) -> np.ndarray | None:
        """The base parameter's gradient with the axes permuted (None when it has none); setting it writes
        through."""
        g = self._base.grad
        return None if g is None else g.transpose(self._perm)

    @grad.setter
    def grad(self, value: ArrayLike | None) -> None:
        self._base.grad = None if value is None else np.asarray(value).transpose(self._inverse)

    @property
    def requires_grad(self) -> bool:
        """Whether the base parameter is trained; setting it changes the base."""
        return self._base.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._base.requires_grad = bool(value)

    def grad_storage(self) -> None:
        return None


def permuted_view(layer: Module, name: str, perm: Sequence[int]) -> PermutedParameter:
    """``layer.<name>`` seen with its axes in ``perm`` order (one view per parameter, kept while it is the same)."""
    base = getattr(layer, name)
    cache = layer.__dict__.get("_views") or {}
    view = cache.get(name)
    if view is None or view._base is not base:
        view = PermutedParameter(base, perm)
        cache[name] = view
        object.__setattr__(layer, "_views", cache)
    return view


class Lambda(Layer):
    """Keras' ``Lambda(function, output_shape=None, arguments=None)``: ``y = function(x, **arguments)``, for
    a computation written with chainrule's (or NumPy-style) operations on Tensors, e.g.
    ``Lambda(lambda x: x[:, -1])``.  The output shape is ``output_shape`` (a tuple without the batch
    axis, or a function of the input shape) or found by calling the function once on zeros.  A model
    holding one cannot be saved: the function is code, and chainrule never loads code from a file.

    >>> import numpy as np
    >>> Lambda(lambda x: x[:, -1], input_shape=(5, 3)).output_shape
    (None, 3)
    """

    def __init__(self, function: Callable[..., Any], output_shape: Sequence[int | None] | Callable[..., Any] | None
                 = None, mask: None = None, arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {type(function).__name__}")
        if mask is not None:
            raise NotImplementedError("Lambda(mask=...) is not implemented in chainrule")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: arguments must be a dict of keyword arguments, got {type(arguments).__name__}")
        super().__init__(**kwargs)
        self.function, self.arguments, self._output_shape = function, dict(arguments or {}), output_shape
        if self.input_shape is not None:
            self.build(self.input_shape)

    def forward(self, x: Any) -> Any:
        return self.function(x, **self.arguments)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        given = self._output_shape
        if callable(given):
            return tuple(given(tuple(input_shape)))
        if given is not None:
            return (tuple(input_shape)[0], *_checks.shape("Lambda", "output_shape", given))
        out, _ = _traced_shapes(self, (KerasTensor(tuple(input_shape), get_default_dtype()),), {})
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        raise TypeError(f"{self!r}: a Lambda layer cannot be saved (its function is code, and chainrule never "
                        f"loads code from a file); write a Layer subclass with a call method instead")

    def extra_repr(self) -> str:
        return getattr(self.function, "__name__", "function")


class Activation(Layer):
    """Applies an activation function by name or callable: ``Activation('relu')``."""

    _passes_mask = True    # acts on each time step alone: the input's mask stays (Keras' supports_masking)

    def __init__(self, activation: str | Callable[..., Tensor] | None, **kwargs: Any) -> None:
        super().__init__(**{k: kwargs.pop(k) for k in list(kwargs) if k in _LAYER_KWARGS})
        self.fn = activations.get(activation)
        self.kwargs = kwargs

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        return self.fn(x, **self.kwargs) if self.kwargs else self.fn(x)

    def _table_name(self):
        """The table's name for this layer's function with its parameters, or None: a front door's
        function known by a table name (keras.activations.relu) is that name only without parameters."""
        name = activations.name_of(self.fn)
        if name is None or (self.kwargs and activations.get(name) is not self.fn):
            return None
        return name

    def get_config(self) -> dict[str, Any]:
        name = self._table_name()
        if name is None:
            raise TypeError(f"{self!r}: cannot save a custom activation; use a named one")
        return {"activation": name, **self.kwargs}

    def stack_activation(self) -> tuple[str, dict[str, Any]] | None:
        """(name, parameters) of this layer's activation if a fused dense stack can apply it, else None."""
        if type(self).forward is not Activation.forward or activations.fusable(self.fn) is None or \
                self._table_name() is None:
            return None
        return activations.name_of(self.fn), dict(self.kwargs)

    def extra_repr(self) -> str:
        return repr(activations.name_of(self.fn) or "custom")


def _inplace_flag(module, inplace):
    """PyTorch's ``inplace=`` argument, checked: chainrule computes every activation out of place, and the
    values are the same either way (the flag is kept for the repr and the config)."""
    if not isinstance(inplace, (bool, np.bool_)):
        raise TypeError(f"{module}: inplace must be True or False, got {inplace!r}")
    return bool(inplace)


def _activation_module(name, fn_name, doc, torch_repr="", inplace=False, **defaults):
    """A PyTorch-style module class applying the table's ``fn_name``; ``inplace=True`` for the modules
    whose PyTorch constructor takes ``inplace`` ('unshown' where PyTorch's repr leaves it out)."""
    def __init__(self, **kwargs: Any) -> None:
        """Take the Keras layer arguments (``name``, ``input_shape``, ...) and the activation's parameters."""
        self.inplace = _inplace_flag(name, kwargs.pop("inplace", False)) if inplace else False
        Activation.__init__(self, fn_name, **{**defaults, **kwargs})

    def get_config(self) -> dict[str, Any]:
        """The activation's parameters (the constructor's arguments), for saving."""
        return {**self.kwargs, "inplace": True} if self.inplace else dict(self.kwargs)

    def extra_repr(self) -> str:   # printed as PyTorch prints its modules: ReLU(), Sigmoid()
        """The arguments PyTorch shows in this module's repr."""
        return ", ".join(filter(None, [torch_repr, "inplace=True" if self.inplace and inplace is True else ""]))
    return type(name, (Activation,), {"__init__": __init__, "get_config": get_config, "extra_repr": extra_repr,
                                      "__doc__": doc, "inplace": False})


ReLU = _activation_module("ReLU", "relu", "PyTorch-style module: y = max(0, x).", inplace=True)
Sigmoid = _activation_module("Sigmoid", "sigmoid", "PyTorch-style module: y = 1 / (1 + exp(-x)).")
Tanh = _activation_module("Tanh", "tanh", "PyTorch-style module: y = tanh(x).")
Softplus = _activation_module("Softplus", "softplus", "PyTorch-style module: y = log(1 + exp(x)).",
                              torch_repr="beta=1.0, threshold=20.0")
Identity = _activation_module("Identity", "identity", "PyTorch-style module: y = x.")


class LeakyReLU(Activation):
    """PyTorch-style module: y = x if x > 0 else negative_slope * x."""

    inplace = False

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False, **kwargs: Any) -> None:
        self.inplace = _inplace_flag("LeakyReLU", inplace)
        super().__init__("leaky_relu", alpha=_checks.number("LeakyReLU", "negative_slope", negative_slope), **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.kwargs["alpha"], **({"inplace": True} if self.inplace else {})}

    def extra_repr(self) -> str:
        return f"negative_slope={self.kwargs['alpha']}" + (", inplace=True" if self.inplace else "")


class ELU(Activation):
    """PyTorch-style module: y = x if x > 0 else alpha (exp(x) - 1)."""

    inplace = False

    def __init__(self, alpha: float = 1.0, inplace: bool = False, **kwargs: Any) -> None:
        self.inplace = _inplace_flag("ELU", inplace)
        super().__init__("elu", alpha=_checks.number("ELU", "alpha", alpha), **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.kwargs["alpha"], **({"inplace": True} if self.inplace else {})}

    def extra_repr(self) -> str:
        return f"alpha={self.kwargs['alpha']}" + (", inplace=True" if self.inplace else "")


class Softmax(Activation):
    """PyTorch-style module: softmax over ``dim`` (default the last axis)."""

    def __init__(self, dim: int = -1, **kwargs: Any) -> None:
        super().__init__("softmax", axis=_checks.axis("Softmax", dim, "dim"), **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.kwargs["axis"]}

    def extra_repr(self) -> str:
        return f"dim={self.kwargs['axis']}"


def _noise_shape(who: str, noise_shape: Sequence[int | None] | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a noise mask for an input of ``shape``, as Keras reads ``noise_shape``: None entries
    (or no noise_shape) take the input's size; the others must be 1 (the mask is shared along that
    axis) or the input's size."""
    if noise_shape is None:
        return shape
    if len(noise_shape) != len(shape):
        raise ValueError(f"{who}: noise_shape {tuple(noise_shape)} has {len(noise_shape)} entries for an input of "
                         f"rank {len(shape)}, shape {shape}")
    out = tuple(n if d is None else d for d, n in zip(noise_shape, shape))
    if any(d not in (1, n) for d, n in zip(out, shape)):
        raise ValueError(f"{who}: noise_shape {tuple(noise_shape)} does not broadcast to the input's shape {shape}: "
                         f"each entry must be None, 1 or the input's size")
    return out


def dropout_mask(shape: tuple[int, ...], rate: float, dtype: Any, rng: np.random.Generator | None = None) -> np.ndarray:
    """Inverted dropout's mask, m / (1 - rate) with m_i ~ Bernoulli(1 - rate), of ``shape`` and ``dtype``,
    drawn from ``rng`` (the global generator when None): the one place every dropout of chainrule draws it
    (Dropout and its noise_shape, SpatialDropout, the recurrent layers' input and state dropout, PyTorch's
    F.dropout and the dropout between nn.LSTM's layers)."""
    keep = 1.0 - rate
    m = ((rng or get_rng()).random(shape, dtype=np.float32) < keep).astype(dtype)
    m *= 1.0 / keep
    return m


def _check_float_input(who: str, data: np.ndarray) -> None:
    """Noise and dropout need float inputs: on integers (token ids, say) it would be rounded away."""
    if data.dtype.kind != "f":
        raise TypeError(f"{who}: expected a float input, got dtype {data.dtype} (noise on integer values, token ids "
                        f"say, would be rounded away; put the layer after the Embedding)")


def _check_noise_shape(who: str, noise_shape: Any) -> tuple[int | None, ...] | None:
    if noise_shape is None:
        return None
    if isinstance(noise_shape, (str, bytes)) or not isinstance(noise_shape, (tuple, list)) or not all(
            d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1)
            for d in noise_shape):
        raise TypeError(f"{who}: noise_shape must be a tuple of positive ints and None, got {noise_shape!r}")
    return tuple(None if d is None else int(d) for d in noise_shape)


class Dropout(Layer):
    """Inverted dropout.  In training, y = x m / (1 - rate) with m_i ~ Bernoulli(1 - rate);
    in evaluation y = x.  Scaling during training keeps E[y] = x, so inference needs no change.

    ``noise_shape`` (Keras'): the mask's shape, 1 along axes that share one draw, None for the
    input's size; ``(batch, 1, features)`` drops the same features at every time step.
    """

    _passes_mask = True    # acts on each time step alone: the input's mask stays (Keras' supports_masking)

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        self.noise_shape = _check_noise_shape(who, noise_shape)
        self.rate = _checks.in_range(who, "rate", rate, 0.0, 1.0, hi_open=True)
        self.seed = _checks.seed(who, seed)
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _mask_shape(self, data):
        """The mask's shape for the input ``data`` (``noise_shape`` read against it), a float input checked."""
        _check_float_input(type(self).__name__, data)
        return _noise_shape(type(self).__name__, self.noise_shape, data.shape)

    def forward(self, x: TensorLike) -> TensorLike:
        if not self.training or self.rate == 0:
            return x
        data = _data(x)
        return ops.mul(x, dropout_mask(self._mask_shape(data), self.rate, data.dtype, self._rng))

    def get_config(self) -> dict[str, Any]:
        config = {"rate": self.rate, "seed": self.seed}
        if self.noise_shape is not None:
            config["noise_shape"] = list(self.noise_shape)
        return config

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class Flatten(Layer):
    """Flattens every sample: (N, d1, d2, ...) -> (N, d1 d2 ...)."""

    def __init__(self, data_format: Literal["channels_last", "channels_first"] | None = None, **kwargs: Any) -> None:
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Flatten: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
        if data_format == "channels_first":
            raise NotImplementedError("Flatten(data_format='channels_first'): flatten (C, H, W) inputs with "
                                      "chainrule.torch.nn.Flatten (PyTorch's order) instead")
        super().__init__(**kwargs)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        shape = np.shape(_data(x))
        if len(shape) < 1:
            raise ValueError("Flatten: expected a batch of samples, got a scalar")
        return ops.reshape(x, (shape[0], -1))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else int(np.prod(rest)))

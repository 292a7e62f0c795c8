"""Keras 3's cell API for recurrent networks: SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, RNN.

A cell computes one time step: called on x_t (batch, features) and the list of states at t - 1,
it returns ``(output, new_states)`` as Keras' cells do, e.g. ``h_t, [h_t, c_t]`` for the LSTM.
:class:`RNN` runs a cell over a sequence (batch, time, features): a built-in cell, a list of
cells (stacked: :class:`StackedRNNCells`, the output of cell k is the input of cell k + 1 at
the same step) or a cell of your own, any layer with a ``state_size`` and a ``call(inputs,
states)`` (or ``forward``) method returning ``(output, new_states)``.

Notation (the notes', as in :mod:`chainrule.nn.recurrent`): x_t the input at step t, h_t the
hidden state (the cell's output), c_t the LSTM's cell state; W = ``kernel`` (features, k units),
U = ``recurrent_kernel`` (units, k units), b = ``bias``; sigma the recurrent (gate) activation,
phi the activation.  The weights are those of the layers SimpleRNN, LSTM and GRU, in name, shape,
gate order and initial values, and so is the arithmetic: a cell's step is one call of the fused
sequence primitive of :mod:`chainrule.ops.recurrent` on a sequence of one step, and
``RNN(LSTMCell(u))`` runs the whole sequence as one call of that primitive, exactly as
``LSTM(u)`` does (it is the same code path: the layer's own, on the cell's weights), so the two
give the same numbers bit for bit.  Stacked and custom cells run step by step, a Python loop over
the time steps on the engine, so they differentiate (to any order) like everything else.

What RNN takes from Keras: ``return_sequences``, ``return_state`` (the list [output, *states],
the states nested per cell for stacked cells, as Keras returns them), ``go_backwards``,
``stateful`` with ``reset_states()``, ``zero_output_for_mask``, ``initial_state=`` and
``mask=`` when calling, and a ``Masking`` layer before it: a masked step leaves sample n's
states as they were and repeats its previous output (zeros before its first real step).
``unroll`` is accepted and changes nothing (the loop is the same either way).

>>> import numpy as np
>>> rnn = RNN(LSTMCell(4), return_state=True)
>>> out, h, c = rnn(np.ones((2, 5, 3), dtype='float32'))
>>> out.shape, h.shape, c.shape, rnn.cell.state_size
((2, 4), (2, 4), (2, 4), [4, 4])
>>> cell = GRUCell(4)
>>> h, [h] = cell(np.ones((2, 3), dtype='float32'), cell.get_initial_state(batch_size=2))
>>> h.shape
(2, 4)
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import numpy as np

from chainrule import _checks, ops
from chainrule.nn.core import Layer
from chainrule.nn.masking import get_mask, set_mask
from chainrule.nn.module import Module
from chainrule.nn.recurrent import GRU, LSTM, SimpleRNN, _data, _how_options, _layer_from, _positive_int, _Recurrent
from chainrule.tensor import Tensor, get_default_dtype

if TYPE_CHECKING:
    from chainrule._typing import Any, ArrayLike, Callable, DTypeLike, Mapping, Seed, Sequence, TensorLike

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "RNN"]

#: the flags of RNN that the layer it runs a built-in cell with takes from it
_FLAGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask")


# ----------------------------------------------------------------------- structures of states
def _flatten(structure):
    """The leaves (arrays, Tensors) of a nest of lists and tuples, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack(template, flat):
    """``flat`` put back into the nesting of ``template`` (lists)."""
    it = iter(flat)

    def build(t):
        if isinstance(t, (list, tuple)):
            return [build(v) for v in t]
        return next(it)
    return build(template)


def _same_nesting(a, b):
    if isinstance(a, (list, tuple)) != isinstance(b, (list, tuple)):
        return False
    if not isinstance(a, (list, tuple)):
        return True
    return len(a) == len(b) and all(_same_nesting(x, y) for x, y in zip(a, b))


def _sizes(state_size):
    """The flat list of a state_size's integers."""
    return [int(s) for s in _flatten(state_size if isinstance(state_size, (list, tuple)) else [state_size])]


def _valid_state_size(s):
    if isinstance(s, (list, tuple)):
        return len(s) > 0 and all(_valid_state_size(v) for v in s)
    return isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0


# ----------------------------------------------------------------------- what a cell is
#: the generic forward methods that are not a cell's own step: Module's (abstract) and, where the Layer
#: base class has one, its Keras-style dispatcher to ``call``
_DISPATCHERS = tuple(f for f in (Module.forward, Layer.__dict__.get("forward")) if f is not None)


def _own_step(cell):
    """The function a cell's step is written in: its own ``forward``, else its Keras-style ``call`` (None
    if it has neither)."""
    forward = getattr(type(cell), "forward", None)
    if forward is not None and forward not in _DISPATCHERS:
        return forward
    call = getattr(type(cell), "call", None)
    return call if callable(call) else None


def _step_function(cell):
    """What RNN calls for one step: the cell itself (through ``__call__``: its forward, or the Layer's
    dispatch to its ``call``), or the bound ``call`` where nothing dispatches to it; None if the cell
    has no step."""
    own = _own_step(cell)
    if own is None:
        return None
    return cell if own is type(cell).forward or type(cell).forward is not Module.forward else cell.call


def _takes_training(cell):
    """Whether the cell's own step takes a ``training`` argument (as Keras checks before passing it)."""
    fn = _own_step(cell)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _describe(obj):
    return repr(obj) if isinstance(obj, Module) else f"{type(obj).__name__} {obj!r}"[:200]


def _check_cell(cell, who):
    """Refuse, naming ``who``, what is not a cell (and say what a cell is)."""
    if isinstance(cell, _Recurrent):
        name = type(cell).__name__
        raise TypeError(f"{who}: {cell!r} is a whole recurrent layer (it runs the sequence itself), not a cell; use "
                        f"it directly, or give {who} its cell, {name}Cell({cell.units})")
    what = ("an RNN cell: a layer with a state_size attribute (an int, or a list of ints, one per state) and a "
            "call(inputs, states) (or forward) method returning (output, new_states), such as SimpleRNNCell, "
            "LSTMCell and GRUCell")
    if not isinstance(cell, Module):
        raise TypeError(f"{who}: expected {what}, or a list of cells; got {_describe(cell)}")
    size = getattr(cell, "state_size", None)
    if size is None or _step_function(cell) is None:
        missing = " and no ".join(m for m, ok in (("state_size attribute", size is not None),
                                                  ("call(inputs, states) or forward method",
                                                   _step_function(cell) is not None)) if not ok)
        raise TypeError(f"{who}: expected {what}, or a list of cells; got {_describe(cell)}, which has no {missing}")
    if not _valid_state_size(size):
        raise ValueError(f"{who}: the state_size of {_describe(cell)} must be a positive int or a list of positive "
                         f"ints (one per state), got {size!r}")


def _built(cell):
    """Whether a cell has its weights: a built-in cell says so; a custom one has been built, or has no
    build method of its own (it made its weights in __init__)."""
    if isinstance(cell, StackedRNNCells):
        return all(_built(c) for c in cell.cells)
    if isinstance(cell, _Cell):
        return bool(cell.__dict__.get("_self_built"))
    if cell.__dict__.get("_self_built"):
        return True
    return getattr(type(cell), "build", Layer.build) is Layer.build


def _build(cell, shape):
    """Build ``cell`` for steps of ``shape`` (batch, features), as Keras' RNN does (once)."""
    if isinstance(cell, (_Cell, StackedRNNCells)):
        cell.build(shape)
    elif not cell.__dict__.get("_self_built") and hasattr(cell, "build"):
        cell.build(shape)
        object.__setattr__(cell, "_self_built", True)


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return int(size)
    return _sizes(cell.state_size)[0]


def _cell_config(cell, who):
    """{'class_name', 'config'} of a cell, for saving; a custom cell that cannot describe itself is refused."""
    if not isinstance(cell, (_Cell, StackedRNNCells)) and type(cell).get_config is Layer.get_config:
        required = [p.name for p in list(inspect.signature(type(cell).__init__).parameters.values())[1:]
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                           p.KEYWORD_ONLY)]
        if required:
            raise TypeError(f"{who}: cannot save the custom cell {type(cell).__name__}: it takes "
                            f"{', '.join(required)} but defines no get_config(); define get_config() returning its "
                            f"constructor arguments (and import its module before load_model), or save the weights "
                            f"alone with save_weights()")
    return {"class_name": type(cell).__name__, "config": cell.get_config()}


def _reset_dropout(cell):
    if isinstance(cell, _Cell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    elif isinstance(cell, StackedRNNCells):
        for c in cell.cells:
            _reset_dropout(c)


# ----------------------------------------------------------------------- the built-in cells
class _Cell(Layer):
    """What SimpleRNNCell, LSTMCell and GRUCell share: the weights and the step of their layer."""

    _layer_class = _Recurrent      # SimpleRNN, LSTM, GRU: its build draws the weights, its _run is the step
    _n_states = 1
    _weight_regularizers = _Recurrent._weight_regularizers
    _weight_constraints = _Recurrent._weight_constraints
    _activations = _Recurrent._activations      # activation names for the fused primitive
    _dropout_mask = _Recurrent._dropout_mask    # one mask, scaled by 1 / (1 - rate), from the cell's seed

    def _setup(self, units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
               bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
               recurrent_dropout, seed, dtype):
        cls = type(self).__name__
        _Recurrent._set_cell_options(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                                     recurrent_initializer, bias_initializer, kernel_regularizer,
                                     recurrent_regularizer, bias_regularizer, dropout, recurrent_dropout, seed)
        self._masks = {}
        self.dtype = _checks.dtype(cls, dtype) if dtype is not None else None
        object.__setattr__(self, "_self_built", False)
        if self.input_shape is not None:      # input_shape=(features,): built at once
            self.build(self.input_shape)

    # ------------------------------------------------------------------ Keras' cell attributes
    @property
    def state_size(self) -> int | list[int]:
        """The size of each state: ``units`` (one state, h), or [units, units] for the LSTM (h and c)."""
        return [self.units] * self._n_states if self._n_states > 1 else self.units

    @property
    def output_size(self) -> int:
        """The size of the output, ``units``."""
        return self.units

    def get_initial_state(self, batch_size: int) -> list[np.ndarray]:
        """Zeros for each state, (batch_size, units) in the weights' dtype: [h_0] or, for the LSTM, [h_0, c_0]."""
        n = _positive_int(batch_size, "batch_size", f"{type(self).__name__}.get_initial_state")
        dtype = self.kernel.data.dtype if self.__dict__.get("_self_built") else (self.dtype or get_default_dtype())
        return [np.zeros((n, self.units), dtype) for _ in range(self._n_states)]

    # ------------------------------------------------------------------ weights
    def _layer(self, **options):
        """A layer of this cell's kind and configuration (unbuilt unless ``options`` give input_shape);
        named as the cell unless ``options`` name it, so that it uses up no automatic name."""
        kwargs = {"activation": self.activation, "use_bias": self.use_bias,
                  "kernel_initializer": self.kernel_initializer, "recurrent_initializer": self.recurrent_initializer,
                  "bias_initializer": self.bias_initializer, "dropout": self.dropout,
                  "recurrent_dropout": self.recurrent_dropout, "seed": self.seed, "dtype": self.dtype,
                  "name": self.name, **self._layer_arguments()}
        kwargs.update(options)
        return self._layer_class(self.units, **kwargs)

    def _layer_arguments(self):
        return {"recurrent_activation": self.recurrent_activation}

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """Create ``kernel``, ``recurrent_kernel`` and ``bias`` for steps of ``input_shape[-1]`` features,
        drawn as the layer of the same name draws them (so ``LSTMCell(u)`` and ``LSTM(u)`` built after
        the same ``manual_seed`` have the same weights).  Returns the output shape (batch, units)."""
        shape = tuple(input_shape)
        if not shape or shape[-1] is None:
            raise ValueError(f"{self!r}: cannot build without knowing the number of input features, got input "
                             f"shape {shape}")
        n_in = int(shape[-1])
        if self.__dict__.get("_self_built"):
            if self.kernel.shape[0] != n_in:
                raise ValueError(f"{self!r}: built for {self.kernel.shape[0]} input features, got input shape "
                                 f"{shape}")
            return self.output_shape
        layer = self._layer(input_shape=(None, n_in))
        for name in ("kernel", "recurrent_kernel", "bias"):
            if name in layer._parameters:
                setattr(self, name, layer._parameters[name])
        return super().build((shape[0] if len(shape) > 1 else None, n_in))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """(batch, units)."""
        return (tuple(input_shape)[0], self.units)

    # ------------------------------------------------------------------ dropout (Keras' DropoutRNNCell)
    def get_dropout_mask(self, step_input: TensorLike) -> np.ndarray | None:
        """The input-dropout mask (batch, features), 0 or 1 / (1 - dropout), or None without dropout: drawn
        once and kept until :meth:`reset_dropout_mask` (RNN resets it after each sequence, so a sequence
        has one mask for all its steps), as in Keras."""
        return self._mask("input", np.shape(_data(step_input)), self.dropout)

    def get_recurrent_dropout_mask(self, step_state: TensorLike) -> np.ndarray | None:
        """The recurrent-dropout mask (batch, units) multiplying h_(t-1) before the recurrent product (one for
        all the gates), or None without recurrent dropout; kept until :meth:`reset_recurrent_dropout_mask`."""
        return self._mask("recurrent", np.shape(_data(step_state)), self.recurrent_dropout)

    def reset_dropout_mask(self) -> None:
        """Forget the input-dropout mask: the next training step draws a new one."""
        self._masks.pop("input", None)

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the recurrent-dropout mask: the next training step draws a new one."""
        self._masks.pop("recurrent", None)

    def _mask(self, key, shape, rate):
        if rate == 0:
            return None
        m = self._masks.get(key)
        if m is None or m.shape != tuple(shape):
            dtype = self.kernel.data.dtype if self.__dict__.get("_self_built") else np.dtype(get_default_dtype())
            m = self._masks[key] = self._dropout_mask(tuple(shape), rate, dtype)
        return m

    # ------------------------------------------------------------------ one step
    def forward(self, inputs: TensorLike, states: TensorLike | Sequence[TensorLike],
                training: bool | None = None) -> tuple[Tensor, Tensor | list[Tensor]]:
        """One time step: x_t (batch, features) and the states at t - 1 -> (output, new_states), Keras' way:
        ``h_t, [h_t]`` (``h_t, h_t`` when ``states`` is a single array rather than a list) and, for the LSTM,
        ``h_t, [h_t, c_t]``.  Computed by the layer's fused primitive on a sequence of one step; dropout
        (in training) uses the masks of :meth:`get_dropout_mask` and :meth:`get_recurrent_dropout_mask`."""
        data = _data(inputs)
        if data.ndim != 2:
            raise ValueError(f"{self!r}: expected one time step of shape (batch, features), got shape "
                             f"{data.shape}; to run a whole sequence (batch, time, features) use "
                             f"RNN({type(self).__name__}(...)) or the {self._layer_class.__name__} layer")
        if not self.__dict__.get("_self_built"):
            self.build(data.shape)
        elif data.shape[1] != self.kernel.shape[0]:
            raise ValueError(f"{self!r}: expected {self.kernel.shape[0]} features, got input of shape {data.shape}")
        listed = isinstance(states, (list, tuple))
        given = list(states) if listed else [states]
        n, what = data.shape[0], "[h, c]" if self._n_states == 2 else "[h]"
        if len(given) != self._n_states:
            raise ValueError(f"{self!r}: states must be the list {what} of {self._n_states} array"
                             f"{'s' if self._n_states > 1 else ''} of shape (batch, units) = {(n, self.units)}, got "
                             f"{len(given)}")
        for s in given:
            if np.shape(_data(s)) != (n, self.units):
                raise ValueError(f"{self!r}: each state must have shape (batch, units) = {(n, self.units)}, got "
                                 f"{np.shape(_data(s))}")
        training = self.training if training is None else bool(training)
        x = inputs
        if training and self.dropout > 0:
            x = ops.mul(x, self.get_dropout_mask(x))
        rmask = self.get_recurrent_dropout_mask(given[0]) if training and self.recurrent_dropout > 0 else None
        _, *new = self._layer_class._run(self, ops.reshape(x, (n, 1, data.shape[1])), given, return_state=True,
                                         recurrent_mask=rmask)
        h = new[0]
        if self._n_states == 2:
            return h, list(new)
        return h, (list(new) if listed else h)

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (JSON-able), for saving; refuses custom activations by name."""
        keys = ("activation", "recurrent_activation") if self._has_recurrent_activation else ("activation",)
        return {**_Recurrent._cell_config(self, keys), **self._extra_config(), "name": self.name,
                "dtype": None if self.dtype is None else self.dtype.name}

    _has_recurrent_activation = True

    def _extra_config(self):
        return {}

    def extra_repr(self) -> str:
        """``units=...``."""
        return f"units={self.units}"


class SimpleRNNCell(_Cell):
    """The cell of :class:`~chainrule.nn.SimpleRNN` (Keras' ``SimpleRNNCell``): one step of

    h_t = phi(x_t W + b + h_(t-1) U),

    ``cell(x_t, [h_(t-1)])`` returns ``(h_t, [h_t])``.  Weights: ``kernel`` W (features, units),
    ``recurrent_kernel`` U (units, units), ``bias`` b (units,); ``state_size = output_size = units``.
    The parameters are SimpleRNN's (dropout: one mask per sequence inside :class:`RNN`).

    >>> import numpy as np
    >>> cell = SimpleRNNCell(3)
    >>> out, [h] = cell(np.ones((2, 4), dtype='float32'), [np.zeros((2, 3), dtype='float32')])
    >>> out.shape, cell.kernel.shape, cell.recurrent_kernel.shape, cell.bias.shape
    ((2, 3), (4, 3), (3, 3), (3,))
    """

    _layer_class = SimpleRNN
    _has_recurrent_activation = False

    def __init__(self, units: int, activation: str | Callable[..., Tensor] | None = "tanh", use_bias: bool = True,
                 kernel_initializer: str | Callable[..., Any] = "glorot_uniform",
                 recurrent_initializer: str | Callable[..., Any] = "orthogonal",
                 bias_initializer: str | Callable[..., Any] = "zeros",
                 kernel_regularizer: str | Callable[..., Any] | None = None,
                 recurrent_regularizer: str | Callable[..., Any] | None = None,
                 bias_regularizer: str | Callable[..., Any] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Seed = None, name: str | None = None,
                 dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._setup(units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                    recurrent_dropout, seed, dtype)

    def _layer_arguments(self):
        return {}


class LSTMCell(_Cell):
    """The cell of :class:`~chainrule.nn.LSTM` (Keras' ``LSTMCell``): one step of

    i_t = sigma(x_t W_i + h_(t-1) U_i + b_i),  f_t = sigma(x_t W_f + h_(t-1) U_f + b_f),
    g_t = phi(x_t W_c + h_(t-1) U_c + b_c),     o_t = sigma(x_t W_o + h_(t-1) U_o + b_o),
    c_t = f_t c_(t-1) + i_t g_t,                h_t = o_t phi(c_t);

    ``cell(x_t, [h_(t-1), c_(t-1)])`` returns ``(h_t, [h_t, c_t])``; ``state_size = [units, units]``.
    Weights as LSTM's: ``kernel`` (features, 4 units), ``recurrent_kernel`` (units, 4 units), ``bias``
    (4 units,), gates side by side in the order i, f, c, o; ``unit_forget_bias`` starts b_f at 1.

    >>> import numpy as np
    >>> cell = LSTMCell(2)
    >>> h, (h_again, c) = cell(np.ones((3, 4), dtype='float32'), cell.get_initial_state(batch_size=3))
    >>> h.shape, c.shape, cell.state_size, cell.bias.numpy()[2:4]
    ((3, 2), (3, 2), [2, 2], array([1., 1.], dtype=float32))
    """

    _layer_class = LSTM
    _n_states = 2

    def __init__(self, units: int, activation: str | Callable[..., Tensor] | None = "tanh",
                 recurrent_activation: str | Callable[..., Tensor] | None = "sigmoid", use_bias: bool = True,
                 kernel_initializer: str | Callable[..., Any] = "glorot_uniform",
                 recurrent_initializer: str | Callable[..., Any] = "orthogonal",
                 bias_initializer: str | Callable[..., Any] = "zeros", unit_forget_bias: bool = True,
                 kernel_regularizer: str | Callable[..., Any] | None = None,
                 recurrent_regularizer: str | Callable[..., Any] | None = None,
                 bias_regularizer: str | Callable[..., Any] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Seed = None, name: str | None = None,
                 dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        _how_options("LSTMCell", kwargs, layer=False)
        super().__init__(name=name, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                    recurrent_dropout, seed, dtype)

    def _layer_arguments(self):
        return {"recurrent_activation": self.recurrent_activation, "unit_forget_bias": self.unit_forget_bias}

    def _extra_config(self):
        return {"unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    """The cell of :class:`~chainrule.nn.GRU` (Keras' ``GRUCell``): one step of

    z_t = sigma(x_t W_z + b_z + h_(t-1) U_z + b'_z)  (update gate),
    r_t = sigma(x_t W_r + b_r + h_(t-1) U_r + b'_r)  (reset gate),
    hh_t = phi(x_t W_h + b_h + r_t (h_(t-1) U_h + b'_h))   (``reset_after=True``, the default: the bias
    is (2, 3 units), b for the input and b' for the recurrent product), or
    hh_t = phi(x_t W_h + b_h + (r_t h_(t-1)) U_h)           (``reset_after=False``, bias (3 units,)),
    h_t = z_t h_(t-1) + (1 - z_t) hh_t;

    ``cell(x_t, [h_(t-1)])`` returns ``(h_t, [h_t])``; gates side by side in the order z, r, h.

    >>> import numpy as np
    >>> cell = GRUCell(4)
    >>> out, [h] = cell(np.ones((2, 3), dtype='float32'), [np.zeros((2, 4), dtype='float32')])
    >>> out.shape, cell.bias.shape, GRUCell(4, reset_after=False, input_shape=(3,)).bias.shape
    ((2, 4), (2, 12), (12,))
    """

    _layer_class = GRU

    def __init__(self, units: int, activation: str | Callable[..., Tensor] | None = "tanh",
                 recurrent_activation: str | Callable[..., Tensor] | None = "sigmoid", use_bias: bool = True,
                 kernel_initializer: str | Callable[..., Any] = "glorot_uniform",
                 recurrent_initializer: str | Callable[..., Any] = "orthogonal",
                 bias_initializer: str | Callable[..., Any] = "zeros",
                 kernel_regularizer: str | Callable[..., Any] | None = None,
                 recurrent_regularizer: str | Callable[..., Any] | None = None,
                 bias_regularizer: str | Callable[..., Any] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Seed = None, reset_after: bool = True,
                 name: str | None = None, dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        _how_options("GRUCell", kwargs, layer=False)
        super().__init__(name=name, **kwargs)
        self.reset_after = bool(reset_after)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                    recurrent_dropout, seed, dtype)

    def _layer_arguments(self):
        return {"recurrent_activation": self.recurrent_activation, "reset_after": self.reset_after}

    def _extra_config(self):
        return {"reset_after": self.reset_after}

    def extra_repr(self) -> str:
        """``units=...`` (and ``reset_after=False``)."""
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


# ----------------------------------------------------------------------- stacked cells
class StackedRNNCells(Layer):
    """A list of cells run as one cell (Keras' ``StackedRNNCells``): at each step cell 1 reads x_t,
    cell k + 1 reads the output of cell k, and the output is that of the last cell:

    y_t^(1), s_t^(1) = cell_1(x_t, s_(t-1)^(1)),   y_t^(k+1), s_t^(k+1) = cell_(k+1)(y_t^(k), s_(t-1)^(k+1)).

    ``states`` is the list of each cell's states, ``state_size`` the list of each cell's state_size.
    ``RNN([cell_1, cell_2])`` makes one.  Weights: ``0.kernel``, ..., ``1.kernel``, ... (cell by cell).

    >>> import numpy as np
    >>> stack = StackedRNNCells([LSTMCell(3), GRUCell(2)])
    >>> out, states = stack(np.ones((4, 5), dtype='float32'), stack.get_initial_state(batch_size=4))
    >>> out.shape, stack.state_size, [[s.shape for s in cell] for cell in states]
    ((4, 2), [[3, 3], 2], [[(4, 3), (4, 3)], [(4, 2)]])
    """

    def __init__(self, cells: Sequence[Module], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(cells, Module) or not isinstance(cells, (list, tuple)):
            raise TypeError(f"StackedRNNCells: expected a list of RNN cells, got {_describe(cells)}")
        if not cells:
            raise ValueError("StackedRNNCells: expected a list of at least one RNN cell, got an empty list")
        for i, cell in enumerate(cells):
            _check_cell(cell, f"StackedRNNCells (cell {i})")
        for i, cell in enumerate(cells):
            setattr(self, str(i), cell)

    @property
    def cells(self) -> list[Module]:
        """The cells, first (reading x_t) to last."""
        return list(self._modules.values())

    @property
    def state_size(self) -> list[int | list[int]]:
        """Each cell's state_size, in order."""
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        """The last cell's output size."""
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int) -> list[Any]:
        """Each cell's initial states (its ``get_initial_state``, else zeros of its state_size), in order."""
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            else:
                dtype = _dtype_of(cell)
                sizes = cell.state_size
                out.append(np.zeros((batch_size, int(sizes)), dtype) if not isinstance(sizes, (list, tuple))
                           else [np.zeros((batch_size, int(d)), dtype) for d in sizes])
        return out

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """Build each cell for the output of the one before it; returns (batch, output_size)."""
        shape = tuple(input_shape)
        batch = shape[0] if len(shape) > 1 else None
        step = (batch, shape[-1])
        for cell in self.cells:
            _build(cell, step)
            step = (batch, _output_size(cell))
        return super().build((batch, shape[-1]))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """(batch, output_size)."""
        return (tuple(input_shape)[0], self.output_size)

    def forward(self, inputs: TensorLike, states: Sequence[Any], training: bool | None = None
                ) -> tuple[Tensor, list[Any]]:
        """One step through every cell: (output of the last cell, [new states of each cell]).  A cell whose
        states come as a single array (not a list) gets them so and returns them so, as in Keras."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        cells = self.cells
        if len(states) != len(cells):
            raise ValueError(f"{self!r}: states must hold one entry per cell ({len(cells)}: the states of each "
                             f"cell, {self.state_size}), got {len(states)}")
        new_states = []
        x = inputs
        for cell, s in zip(cells, states):
            listed = isinstance(s, (list, tuple))
            s = list(s) if listed else [s]
            step = _step_function(cell)
            kwargs = {"training": training} if training is not None and _takes_training(cell) else {}
            result = step(x, s, **kwargs)
            x, s = _unpack_step(result, cell, self)
            s = list(s) if isinstance(s, (list, tuple)) else [s]
            if len(s) == 1 and not listed:
                s = s[0]
            new_states.append(s)
        return x, new_states

    def get_config(self) -> dict[str, Any]:
        """The cells' configurations, for saving."""
        return {"cells": [_cell_config(c, "StackedRNNCells") for c in self.cells]}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StackedRNNCells:
        """Rebuild from :meth:`get_config`'s dict (each cell by its class name)."""
        config = dict(config)
        return cls([_layer_from(spec) for spec in config.pop("cells")], **config)

    def __repr__(self):
        return f"StackedRNNCells([{', '.join(repr(c) for c in self.cells)}])"


def _dtype_of(cell):
    """The dtype of a cell's first weight (the default dtype if it has none)."""
    for _, m in cell.named_modules():
        for p in m._parameters.values():
            return p.data.dtype
    return np.dtype(get_default_dtype())


def _along(keep, shape):
    """The (batch,) mask of one step spread over an array of ``shape`` (batch first)."""
    return np.broadcast_to(keep.reshape((len(keep),) + (1,) * (len(shape) - 1)), shape)


def _unpack_step(result, cell, who):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        got = f"a {type(result).__name__}" + (f" of {len(result)} items" if isinstance(result, (list, tuple))
                                              else "")
        raise TypeError(f"{who!r}: the cell {cell!r} must return (output, new_states) from call(inputs, states) "
                        f"(or forward), got {got}")
    return result[0], result[1]


# ----------------------------------------------------------------------- the RNN layer
class RNN(Layer):
    """Runs a cell over a sequence (Keras' ``RNN``): for t = 1..T (or T..1 with ``go_backwards``),

    y_t, s_t = cell(x_t, s_(t-1)),   s_0 = the cell's initial state (zeros) or ``initial_state``,

    and returns y_T, or every y_t (batch, time, output_size) with ``return_sequences``; with
    ``return_state`` the list [output, *s_T] (for stacked cells s_T holds each cell's list of states,
    as in Keras).  Where the mask (``mask=`` or a ``Masking`` layer before) is False, step t leaves
    sample n's states as they were and repeats its previous output (zeros with
    ``zero_output_for_mask``).

    ``cell`` is a SimpleRNNCell, LSTMCell or GRUCell, a list of cells (stacked, see
    :class:`StackedRNNCells`), or a cell of your own: a layer with a ``state_size`` (an int, or a
    list of ints, one per state) whose ``call(inputs, states)`` or ``forward(inputs, states)``
    returns ``(output, new_states)`` (optionally ``output_size`` and ``get_initial_state(batch_size)``;
    a ``training`` argument is passed on).  A single built-in cell runs the whole sequence as one
    call of its fused primitive, the code path of the layer of the same name (``RNN(LSTMCell(u))``
    computes exactly what ``LSTM(u)`` computes with the same weights, and takes its dropout);
    other cells run step by step on the engine.  ``stateful`` carries the last states of each
    batch into the next, sample by sample (``reset_states()`` zeros them; ``fit`` then needs
    ``shuffle=False``).  The weights are the cell's: ``cell.kernel``, ... (``cell.0.kernel``, ... for
    stacked cells).

    >>> import numpy as np
    >>> from chainrule import nn
    >>> x = np.random.default_rng(0).random((2, 5, 3)).astype('float32')
    >>> rnn, lstm = RNN(LSTMCell(4), return_sequences=True), nn.LSTM(4, return_sequences=True)
    >>> _ = rnn(x); _ = lstm(x); lstm.set_weights(rnn.get_weights())
    >>> bool(np.array_equal(rnn(x).numpy(), lstm(x).numpy()))
    True
    >>> RNN([GRUCell(8), SimpleRNNCell(2)])(x).shape
    (2, 2)
    """

    _runs_sequences = True    # Bidirectional can run it both ways

    def __init__(self, cell: Module | Sequence[Module], return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, input_shape: Sequence[int | None] | None = None,
                 batch_size: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        if isinstance(cell, (list, tuple)):
            for i, c in enumerate(cell):
                _check_cell(c, f"RNN (cell {i} of the list)")
            cell = StackedRNNCells(cell)
        _check_cell(cell, "RNN")
        super().__init__(input_shape, batch_size=batch_size, name=name, **kwargs)
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        shape = self.input_shape
        if shape is not None and len(shape) != 3:
            raise ValueError(f"RNN: input_shape must be (timesteps, features) (timesteps may be None), got "
                             f"{tuple(shape[1:])!r}")
        self.batch_size = shape[0] if shape is not None else batch_size
        self._state_fixed = self.batch_size is not None
        object.__setattr__(self, "_states", None)
        object.__setattr__(self, "_engine", None)
        object.__setattr__(self, "_self_built", _built(cell))
        if shape is not None:
            self.build(shape)

    # ------------------------------------------------------------------ Keras' attributes
    @property
    def state_size(self) -> list[int | list[int]]:
        """The cell's state sizes as a list (Keras' ``RNN.state_size``): [units] for one state."""
        s = self.cell.state_size
        return list(s) if isinstance(s, (list, tuple)) else [int(s)]

    @property
    def states(self) -> list[np.ndarray] | None:
        """The states a stateful layer carries to the next batch (a flat list of (batch, size) arrays), or
        None before its first call."""
        engine = self.__dict__.get("_engine")
        if engine is not None and self._fused():
            return engine.states
        return self.__dict__.get("_states")

    def _fused(self):
        """A single built-in cell, not subclassed with a step of its own: runs as one fused primitive."""
        cell = self.cell
        return isinstance(cell, _Cell) and type(cell).forward is _Cell.forward

    # ------------------------------------------------------------------ shapes
    _rank_error = _Recurrent._rank_error

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...] | list[Any]:
        """Build the cell for steps of ``input_shape[-1]`` features (as Keras, from (batch, features));
        returns the output shape."""
        shape = tuple(input_shape)
        if len(shape) == 2:     # a batch shape without its time axis (set_weights, shape inference)
            shape = (shape[0], None, shape[1])
        if len(shape) != 3:
            raise self._rank_error(shape)
        if shape[-1] is None:
            raise ValueError(f"{self!r}: cannot build without knowing the number of input features")
        _build(self.cell, (shape[0], shape[-1]))
        if not self.trainable:       # trainable=False freezes the cell's weights
            self.trainable = False
        return super().build((self.batch_size if shape[0] is None else shape[0], *shape[1:]))

    def build_from_weights(self, shapes: Mapping[str, tuple[int, ...]]) -> None:
        """For ``load_state_dict`` on an unbuilt layer: the cell builds itself from its own weights
        (``cell.kernel``), so there is nothing to do here but let it."""
        object.__setattr__(self, "_self_built", True)

    def compute_output_shape(self, input_shape: Sequence[int | None]
                             ) -> tuple[int | None, ...] | list[Any]:
        """(batch, time, output_size) with ``return_sequences``, else (batch, output_size); with
        ``return_state`` followed by each state's (batch, size), nested as ``state_size``."""
        n, t = input_shape[0], input_shape[1]
        size = _output_size(self.cell)
        out = (n, t, size) if self.return_sequences else (n, size)
        if not self.return_state:
            return out
        return [out] + [[(n, int(d)) for d in s] if isinstance(s, (list, tuple)) else (n, int(s))
                        for s in self.state_size]

    # ------------------------------------------------------------------ states
    def reset_states(self, states: Sequence[ArrayLike] | ArrayLike | None = None) -> None:
        """Zero the carried states of a stateful layer, or set them to ``states`` (the arrays of shape
        (batch, size), flat or nested as the cell's states).  Keras' ``reset_states``/``reset_state``."""
        if self._fused():
            if self.__dict__.get("_engine") is None and (states is None or not _built(self.cell)):
                if states is not None:
                    raise ValueError(f"{self!r}: reset_states(states) needs the layer built; call it once or give "
                                     f"input_shape first")
                return
            self._delegate(self._engine_layer().reset_states, states)
            return
        if states is None:
            for s in self.__dict__.get("_states") or ():
                s[...] = 0
            if self.batch_size is None:
                self._state_fixed = False
            return
        flat = [np.array(_data(s), copy=True) for s in _flatten(states if isinstance(states, (list, tuple))
                                                                 else [states])]
        sizes = _sizes(self.cell.state_size)
        if len(flat) != len(sizes) or any(s.ndim != 2 or s.shape[1] != d for s, d in zip(flat, sizes)) \
                or len({s.shape[0] for s in flat}) != 1:
            raise ValueError(f"{self!r}: reset_states expects {len(sizes)} arrays of shape (batch, size) for the "
                             f"sizes {sizes}, got shapes {[s.shape for s in flat]}")
        object.__setattr__(self, "_states", flat)

    reset_state = reset_states

    def check_fit(self, shuffle: bool | str = True, batch_size: int | None = None,
                  n_samples: int | None = None) -> None:
        """A stateful layer carries sample i's state from one batch to the next: ``fit`` must keep the batches
        in order (``shuffle=False``) and of the batch size the state was made for (as SimpleRNN, LSTM, GRU)."""
        engine = self.__dict__.get("_engine")
        if engine is not None and self._fused():
            self._delegate(engine.check_fit, shuffle=shuffle, batch_size=batch_size, n_samples=n_samples)
        else:
            _Recurrent.check_fit(self, shuffle=shuffle, batch_size=batch_size, n_samples=n_samples)

    def _delegate(self, fn, *args, **kwargs):
        """Call the built-in cell's layer, its errors naming this layer."""
        engine = self.__dict__["_engine"]
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            raise ValueError(str(err).replace(repr(engine), repr(self))) from None

    # ------------------------------------------------------------------ forward
    def forward(self, x: TensorLike, initial_state: TensorLike | Sequence[Any] | None = None,
                mask: ArrayLike | None = None, training: bool | None = None) -> Tensor | list[Any]:
        """Run the sequence x (batch, time, features) through the cell; see the class docstring."""
        data = _data(x)
        if data.ndim != 3:
            raise self._rank_error(data.shape)
        if not self.__dict__.get("_self_built") or self.output_shape is None or not _built(self.cell):
            self.build((None, *data.shape[1:]))
        elif self.input_shape[-1] is not None and data.shape[-1] != self.input_shape[-1]:
            raise ValueError(f"{self!r}: expected {self.input_shape[-1]} features per time step, got input of shape "
                             f"{data.shape} ({data.shape[-1]} features)")
        if data.shape[1] == 0:
            raise ValueError(f"{self!r}: the sequence has no time steps (input shape {data.shape})")
        training = self.training if training is None else bool(training)
        if mask is None:
            mask = get_mask(x)
        else:
            mask = _data(mask)
            if np.shape(mask) != data.shape[:2]:
                raise ValueError(f"{self!r}: mask must have shape (batch, time) = {data.shape[:2]}, got "
                                 f"{np.shape(mask)}")
            mask = np.asarray(mask, dtype=bool)
        if not isinstance(x, (Tensor, np.ndarray)):    # nested lists: read as an array, as the layers do
            x = data
        if self._fused():
            engine = self._engine_layer()
            return self._delegate(engine, x, initial_state=initial_state, mask=mask, training=training)
        return self._loop(x, data.shape, initial_state, mask, training)

    def _engine_layer(self):
        """The layer (SimpleRNN, LSTM, GRU) that runs the single built-in cell: the cell's configuration,
        this layer's flags and name, and the cell's very Parameters (nothing is copied or drawn)."""
        cell = self.cell
        engine = self.__dict__.get("_engine")
        if engine is None or engine.__dict__.get("_for_cell") is not cell:
            engine = cell._layer(name=self.name, batch_size=self.batch_size,
                                 **{k: getattr(self, k) for k in _FLAGS})
            object.__setattr__(engine, "_for_cell", cell)
            object.__setattr__(self, "_engine", engine)
        for k in _FLAGS + ("activation", "recurrent_activation", "dropout", "recurrent_dropout"):
            v = getattr(self, k) if k in _FLAGS else getattr(cell, k)
            if engine.__dict__.get(k) is not v and engine.__dict__.get(k) != v:
                object.__setattr__(engine, k, v)
        params = engine.__dict__["_parameters"]
        if [(k, id(p)) for k, p in params.items()] != [(k, id(p)) for k, p in cell._parameters.items()]:
            params.clear()
            params.update(cell._parameters)
        if not engine.__dict__.get("_self_built"):
            object.__setattr__(engine, "_self_built", True)
            Layer.build(engine, (self.batch_size, None, cell.kernel.shape[0]))
        object.__setattr__(engine, "training", self.training)
        return engine

    def get_initial_state(self, batch_size: int) -> list[Any]:
        """The cell's initial states for a batch of ``batch_size`` (its ``get_initial_state``, else zeros of
        its state_size), as a list nested as the cell takes them (Keras' ``RNN.get_initial_state``)."""
        cell = self.cell
        fn = getattr(cell, "get_initial_state", None)
        if fn is not None:
            states = fn(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return [np.zeros((batch_size, d), _dtype_of(cell)) for d in _sizes(cell.state_size)]

    def _initial_states(self, initial_state, n):
        """The states of step 0, nested as the cell takes them."""
        template = self.get_initial_state(batch_size=n)
        flat_t = _flatten(template)
        if initial_state is not None:
            given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            flat = _flatten(given)
            shapes = [np.shape(_data(s)) for s in flat_t]
            if len(flat) != len(flat_t):
                raise ValueError(f"{self!r}: initial_state must hold the cell's {len(flat_t)} states, of shapes "
                                 f"{shapes} (nested as {self.state_size}), got {len(flat)} arrays")
            for s, want in zip(flat, shapes):
                if np.shape(_data(s)) != want:
                    raise ValueError(f"{self!r}: the initial states must have the shapes {shapes} (batch, size), "
                                     f"got {[np.shape(_data(v)) for v in flat]}")
            return given if _same_nesting(given, template) else _pack(template, flat)
        if not self.stateful:
            return template
        states = self.__dict__.get("_states")
        if states is None or states[0].shape[0] != n:
            if states is not None and self._state_fixed:
                raise ValueError(f"{self!r}: a stateful layer carries one state per sample from batch to batch, "
                                 f"so every batch must have {states[0].shape[0]} samples, got {n}; use that batch "
                                 f"size (and a number of samples divisible by it), or call reset_states() after "
                                 f"changing it")
            states = [np.array(_data(s), copy=True) for s in flat_t]
            object.__setattr__(self, "_states", states)
        if self.training:
            self._state_fixed = True
        return _pack(template, states)

    def _loop(self, x, shape, initial_state, mask, training):
        """Python loop over the time steps, each a call of the cell on the engine (custom or stacked cells)."""
        cell = self.cell
        n, T = shape[0], shape[1]
        states = self._initial_states(initial_state, n)
        step = _step_function(cell)
        kwargs = {"training": training} if _takes_training(cell) else {}
        _reset_dropout(cell)
        outputs, prev = [], None
        try:
            for t in (range(T - 1, -1, -1) if self.go_backwards else range(T)):
                out, new = _unpack_step(step(ops.getitem(x, (slice(None), t)), states, **kwargs), cell, self)
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                if mask is not None and not mask[:, t].all():
                    keep = mask[:, t]
                    old_flat, new_flat = _flatten(states), _flatten(new)
                    if len(old_flat) != len(new_flat):
                        raise ValueError(f"{self!r}: the cell returned {len(new_flat)} states for "
                                         f"{len(old_flat)}")
                    out_shape = np.shape(_data(out))
                    alt = np.zeros(out_shape, _data(out).dtype) if self.zero_output_for_mask or prev is None else prev
                    out = ops.where(_along(keep, out_shape), out, alt)
                    new = _pack(new, [ops.where(_along(keep, np.shape(_data(a))), a, b)
                                      for a, b in zip(new_flat, old_flat)])
                prev, states = out, new
                if self.return_sequences:
                    outputs.append(out)
        finally:
            _reset_dropout(cell)
        output = ops.stack(outputs, axis=1) if self.return_sequences else prev
        if self.stateful:
            object.__setattr__(self, "_states", [np.array(_data(s), copy=True) for s in _flatten(states)])
        if self.return_sequences and mask is not None:
            set_mask(output, mask)
        return [output, *states] if self.return_state else output

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict[str, Any]:
        """The cell's configuration and the flags, for saving (a custom cell needs its own get_config)."""
        return {"cell": _cell_config(self.cell, "RNN"), **{k: getattr(self, k) for k in _FLAGS},
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:]),
                "batch_size": self.batch_size, "name": self.name}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RNN:
        """Rebuild from :meth:`get_config`'s dict (the cell by its class name)."""
        config = dict(config)
        return cls(_layer_from(config.pop("cell")), **config)

    def __repr__(self):
        flags = [f for f in ("return_sequences", "return_state", "go_backwards", "stateful") if getattr(self, f)]
        return f"RNN({self.cell!r}{''.join(f', {f}=True' for f in flags)})"

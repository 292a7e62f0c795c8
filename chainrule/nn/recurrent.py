"""Recurrent layers with Keras' semantics: SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed.

Inputs are batches of sequences (batch, time, features).  Each layer runs its whole sequence as
one primitive of the engine (:mod:`chainrule.ops.recurrent`: the cell's equations, back-propagation
through time and forward mode live there), so ``model.fit``, a PyTorch-style loop and every
transform of chainrule train and differentiate them like any other layer.

Weights are Keras 3's, in shape, name and gate order: ``kernel`` (features, k units),
``recurrent_kernel`` (units, k units) and ``bias``, with k = 1 (SimpleRNN), 4 (LSTM: gates i, f,
c, o) or 3 (GRU: z, r, h; with ``reset_after`` the bias is (2, 3 units), input and recurrent).
Initial weights as Keras: glorot_uniform kernels, orthogonal recurrent kernels, zero biases (the
LSTM's forget gate starts at 1 with ``unit_forget_bias``).

What a Keras user relies on: ``return_sequences`` (every output (batch, time, units) instead of
the last (batch, units)), ``return_state`` (the list [output, h] or, for LSTM, [output, h, c]),
``go_backwards`` (steps from last to first; the output sequence comes back in that order),
``stateful`` (the last states of each batch are the initial states of the next, sample by
sample; ``reset_states()`` clears them, and ``fit`` refuses ``shuffle=True``),
``dropout``/``recurrent_dropout`` (one mask per sequence, drawn per batch in training from the
layer's ``seed``), ``initial_state=`` when calling, and masking (:mod:`chainrule.nn.masking`).
Where Keras draws a separate recurrent-dropout mask for each gate (its implementation 1),
chainrule draws one for all the gates, the form of Gal and Ghahramani (2016).

PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` are in :mod:`chainrule.torch.nn`, over the same
primitives.  :func:`torch_to_keras_weights` and :func:`keras_to_torch_weights` convert between
the two layouts (``from_torch`` and ``to_torch`` on the layers use them): LSTM's gates have the
same order in both libraries and PyTorch's two biases sum to Keras' one; GRU swaps z and r, and
only ``reset_after=True`` exists in PyTorch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule import _checks, ops
from chainrule.nn import activations, init, regularizers
from chainrule.nn.core import Layer, dropout_mask
from chainrule.nn.masking import get_mask, set_mask
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor, get_default_dtype, get_rng

if TYPE_CHECKING:
    from chainrule._typing import Any, ArrayLike, Callable, DTypeLike, Literal, Mapping, Seed, Sequence, TensorLike
    from chainrule.nn.module import Module

__all__ = ["SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "RepeatVector", "torch_to_keras_weights",
           "keras_to_torch_weights", "check_fit_arguments", "reset_states"]


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _positive_int(v, what, layer):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{layer}: {what} must be a positive integer, got {v!r}")
    return int(v)


def _rate(v, what, layer):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not 0 <= v < 1:
        raise ValueError(f"{layer}: {what} must be a number in [0, 1), got {v!r}")
    return float(v)


def _as_numpy(v):
    """A weight from PyTorch (a torch.Tensor, possibly on a device or requiring grad) or chainrule."""
    if hasattr(v, "detach") and hasattr(v, "cpu"):
        v = v.detach().cpu().numpy()
    return np.array(_data(v), copy=True)


# ----------------------------------------------------------------------- PyTorch layout
_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def _swap_zr(u):
    """Column (or row) order that swaps the first two blocks of u: Keras' (z, r, h) <-> PyTorch's (r, z, n)."""
    return np.concatenate([np.arange(u, 2 * u), np.arange(u), np.arange(2 * u, 3 * u)])


def torch_to_keras_weights(cell: Literal["SimpleRNN", "LSTM", "GRU"], weight_ih: TensorLike, weight_hh: TensorLike,
                           bias_ih: TensorLike | None = None, bias_hh: TensorLike | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """PyTorch's weights of one layer and direction -> Keras' (kernel, recurrent_kernel, bias).

    ``cell`` is 'SimpleRNN', 'LSTM' or 'GRU'.  PyTorch keeps W_ih (k u, features) and W_hh (k u, u)
    as (outputs, inputs) matrices and two biases; Keras keeps (inputs, outputs) matrices.  So
    kernel = W_ih^T and recurrent_kernel = W_hh^T; SimpleRNN's and LSTM's bias is b_ih + b_hh
    (their gates i, f, g, o are Keras' i, f, c, o); GRU's (r, z, n) become Keras' (z, r, h) and its
    bias is the pair (b_ih, b_hh) of shape (2, 3u) (Keras' reset_after=True).  The bias is None
    when PyTorch's layer has none.
    """
    if cell not in _GATES:
        raise ValueError(f"torch_to_keras_weights: cell must be one of {sorted(_GATES)}, got {cell!r}")
    w_ih, w_hh = _as_numpy(weight_ih), _as_numpy(weight_hh)
    k = _GATES[cell]
    u = w_hh.shape[1]
    if w_hh.shape != (k * u, u) or w_ih.ndim != 2 or w_ih.shape[0] != k * u:
        raise ValueError(f"torch_to_keras_weights({cell!r}): expected weight_ih ({k} x hidden, input) and weight_hh "
                         f"({k} x hidden, hidden), got shapes {w_ih.shape} and {w_hh.shape}")
    kernel, rk = w_ih.T.copy(), w_hh.T.copy()
    b_ih = None if bias_ih is None else _as_numpy(bias_ih)
    b_hh = None if bias_hh is None else _as_numpy(bias_hh)
    if cell == "GRU":
        p = _swap_zr(u)
        kernel, rk = kernel[:, p], rk[:, p]
        if b_ih is None and b_hh is None:
            return kernel, rk, None
        zero = np.zeros(3 * u, kernel.dtype)
        bias = np.stack([(zero if b_ih is None else b_ih)[p], (zero if b_hh is None else b_hh)[p]])
        return kernel, rk, bias
    if b_ih is None and b_hh is None:
        return kernel, rk, None
    bias = (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
    return kernel, rk, np.asarray(bias, kernel.dtype)


def keras_to_torch_weights(cell: Literal["SimpleRNN", "LSTM", "GRU"], kernel: TensorLike,
                           recurrent_kernel: TensorLike, bias: TensorLike | None = None, *,
                           activation: str | Callable[..., Tensor] = "tanh",
                           recurrent_activation: str | Callable[..., Tensor] = "sigmoid", reset_after: bool = True,
                           suffix: str = "_l0") -> dict[str, np.ndarray]:
    """Keras' weights -> PyTorch's state-dict entries of one layer and direction (``weight_ih`` +
    ``suffix``, ...), the inverse of :func:`torch_to_keras_weights` (Keras' LSTM and SimpleRNN bias
    becomes b_ih, with b_hh = 0).

    Refuses, with a ValueError saying why, what PyTorch cannot express: a GRU with
    reset_after=False (PyTorch applies the reset gate after the recurrent product, Keras'
    reset_after=True), LSTM/GRU activations other than tanh and sigmoid, and a SimpleRNN
    activation other than tanh and relu.
    """
    if cell not in _GATES:
        raise ValueError(f"keras_to_torch_weights: cell must be one of {sorted(_GATES)}, got {cell!r}")
    act = activations.name_of(activations.get(activation))
    ract = activations.name_of(activations.get(recurrent_activation))
    if cell == "SimpleRNN":
        if act not in ("tanh", "relu"):
            raise ValueError(f"SimpleRNN(activation={act!r}) has no PyTorch equivalent: torch.nn.RNN's nonlinearity "
                             f"is 'tanh' or 'relu'")
    elif act != "tanh" or ract != "sigmoid":
        raise ValueError(f"{cell}(activation={act!r}, recurrent_activation={ract!r}) has no PyTorch equivalent: "
                         f"torch.nn.{cell} uses tanh and sigmoid")
    if cell == "GRU" and not reset_after:
        raise ValueError("GRU(reset_after=False) has no PyTorch equivalent: torch.nn.GRU applies the reset gate "
                         "after the recurrent product, r * (W_hn h + b_hn), which is Keras' reset_after=True "
                         "(the default); retrain with reset_after=True to move the model to PyTorch")
    kernel, rk = _as_numpy(kernel), _as_numpy(recurrent_kernel)
    u = rk.shape[0]
    out = {}
    if cell == "GRU":
        p = _swap_zr(u)
        out["weight_ih" + suffix], out["weight_hh" + suffix] = kernel[:, p].T.copy(), rk[:, p].T.copy()
        if bias is not None:
            b = _as_numpy(bias)
            out["bias_ih" + suffix], out["bias_hh" + suffix] = b[0][p].copy(), b[1][p].copy()
        return out
    out["weight_ih" + suffix], out["weight_hh" + suffix] = kernel.T.copy(), rk.T.copy()
    if bias is not None:
        b = _as_numpy(bias)
        out["bias_ih" + suffix], out["bias_hh" + suffix] = b.copy(), np.zeros_like(b)
    return out


def _state_dict_of(source):
    if hasattr(source, "state_dict"):
        return dict(source.state_dict())
    if isinstance(source, dict):
        return dict(source)
    raise TypeError(f"from_torch: expected a PyTorch (or chainrule.torch) module or its state_dict(), "
                    f"got {type(source).__name__}")


# ----------------------------------------------------------------------- the layers
def _how_options(who, kwargs, layer):
    """Keras 3's arguments that say how an LSTM or GRU computes, not what: ``implementation`` (1 or 2,
    the same numbers) and, on the layers, ``use_cudnn`` ('auto' or False: chainrule runs on NumPy, and
    Keras itself takes its generic loop off a GPU).  Checked, then dropped from ``kwargs``."""
    impl = kwargs.pop("implementation", 2)
    if isinstance(impl, bool) or impl not in (1, 2):
        raise ValueError(f"{who}: implementation must be 1 or 2 (the same computation), got {impl!r}")
    if layer:
        use = kwargs.pop("use_cudnn", "auto")
        if use is True:
            raise ValueError(f"{who}(use_cudnn=True): chainrule runs on NumPy, without cuDNN; pass use_cudnn='auto' "
                             f"or False")
        if use not in ("auto", False):
            raise ValueError(f"{who}: use_cudnn must be 'auto', True or False, got {use!r}")


class _Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share (see the module docstring)."""

    _cell = None           # 'SimpleRNN', 'LSTM', 'GRU'
    _runs_sequences = True  # a whole sequence in, go_backwards, get_config: Bidirectional can run it both ways
    _n_states = 1
    _weight_regularizers = (("kernel_regularizer", "kernel"), ("recurrent_regularizer", "recurrent_kernel"),
                            ("bias_regularizer", "bias"))
    _weight_constraints = (("kernel_constraint", "kernel"), ("recurrent_constraint", "recurrent_kernel"),
                           ("bias_constraint", "bias"))

    def check_fit(self, shuffle: bool | str = True, batch_size: int | None = None,
                  n_samples: int | None = None) -> None:
        """A stateful layer carries sample i's state from one batch to the next, so the batches must
        come in order (``shuffle=False``) and all have the batch size the state was made for."""
        if not self.stateful:
            return
        if shuffle:
            raise ValueError(f"fit: {self!r} is stateful: it carries each sample's state from one batch to the "
                             f"next, so the batches must stay in order; pass shuffle=False")
        fixed = self.states[0].shape[0] if (self.states is not None and self._state_fixed) else self.batch_size
        if fixed is not None and batch_size is not None and batch_size != fixed:
            raise ValueError(f"fit: {self!r} is stateful with batches of {fixed} samples, got batch_size="
                             f"{batch_size}; pass batch_size={fixed} (or call reset_states() first to start over)")
        if batch_size is not None and n_samples is not None and n_samples % batch_size:
            raise ValueError(f"fit: {self!r} is stateful, so every batch must have {batch_size} samples, but "
                             f"{n_samples} samples leave a last batch of {n_samples % batch_size}; use a number of "
                             f"samples divisible by the batch size")

    def _set_cell_options(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                          recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                          bias_regularizer, dropout, recurrent_dropout, seed):
        """The cell's arguments, checked (shared with the cells of chainrule/nn/cells.py)."""
        cls = type(self).__name__
        self.units = _positive_int(units, "units", cls)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = init.get(kernel_initializer)
        self.recurrent_initializer = init.get(recurrent_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = _rate(dropout, "dropout", cls)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", cls)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _setup(self, units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
               bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
               recurrent_dropout, seed, return_sequences, return_state, go_backwards, stateful, unroll,
               zero_output_for_mask, input_shape, input_dim, batch_size, name, dtype):
        cls = type(self).__name__
        self._set_cell_options(units, activation, recurrent_activation, use_bias, kernel_initializer,
                               recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                               bias_regularizer, dropout, recurrent_dropout, seed)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.keep_time_order = False     # set by Bidirectional on its backward layer (outputs in input order)
        if input_shape is None and input_dim is None and self.input_shape is not None:  # batch_input_shape=...
            batch_size = self.input_shape[0] if batch_size is None else batch_size
            input_shape = self.input_shape[1:]
        self.batch_size = None if batch_size is None else _positive_int(batch_size, "batch_size", cls)
        self.dtype = _checks.dtype(type(self).__name__, dtype) if dtype is not None else None
        self.states = None
        self._state_fixed = self.batch_size is not None
        object.__setattr__(self, "_self_built", False)
        if input_shape is None and input_dim is not None:
            input_shape = (None, _positive_int(input_dim, "input_dim", cls))
        if input_shape is not None:
            shape = tuple(input_shape)
            if len(shape) != 2:
                raise ValueError(f"{cls}: input_shape must be (timesteps, features) (timesteps may be None), "
                                 f"got {input_shape!r}")
            self.input_shape = (self.batch_size, *shape)
            self.build(self.input_shape)

    # ------------------------------------------------------------------ shapes and weights
    def _rank_error(self, shape):
        fix = ""
        if len(shape) == 2:
            fix = (f"; reshape it to (batch, time, features): x.reshape({shape[0]}, {shape[1]}, 1) for a series of "
                   f"{shape[1]} steps of one feature, or x.reshape({shape[0]}, 1, {shape[1]}) for one step of "
                   f"{shape[1]} features")
        return ValueError(f"{self!r}: expected input of rank 3 (batch, time, features), got shape {tuple(shape)}{fix}")

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...] | None:
        shape = tuple(input_shape)
        if len(shape) == 2:          # a batch shape without its time axis (shape inference of input_dim layers)
            shape = (shape[0], None, shape[1])
        if len(shape) != 3:
            raise self._rank_error(shape)
        n_in = shape[-1]
        if n_in is None:
            raise ValueError(f"{self!r}: cannot build without knowing the number of input features")
        if self.__dict__.get("_self_built"):
            if self.kernel.shape[0] != n_in:
                raise ValueError(f"{self!r}: built for {self.kernel.shape[0]} input features, got input shape {shape}")
            return self.output_shape
        dtype = self.dtype or get_default_dtype()
        k, u, rng = _GATES[self._cell], self.units, get_rng()
        self.kernel = Parameter(self.kernel_initializer((n_in, k * u), dtype=dtype, rng=rng))
        self.recurrent_kernel = Parameter(self.recurrent_initializer((u, k * u), dtype=dtype, rng=rng))
        if self.use_bias:
            self.bias = Parameter(self._initial_bias(dtype, rng))
        return super().build((self.batch_size if shape[0] is None else shape[0], *shape[1:]))

    def _initial_bias(self, dtype, rng):
        return self.bias_initializer((_GATES[self._cell] * self.units,), dtype=dtype, rng=rng)

    def compute_output_shape(self, input_shape: Sequence[int | None]
                             ) -> tuple[int | None, ...] | list[tuple[int | None, ...]]:
        n, t = input_shape[0], input_shape[1]
        out = (n, t, self.units) if self.return_sequences else (n, self.units)
        if self.return_state:
            return [out] + [(n, self.units)] * self._n_states
        return out

    # ------------------------------------------------------------------ states
    def _initial_states(self, initial_state, n, dtype):
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) != self._n_states:
                raise ValueError(f"{self!r}: initial_state must be a list of {self._n_states} state"
                                 f"{'s [h, c]' if self._n_states == 2 else ' [h]'}, got {len(states)}")
            for s in states:
                if np.shape(_data(s)) != (n, self.units):
                    raise ValueError(f"{self!r}: each initial state must have shape (batch, units) = "
                                     f"{(n, self.units)}, got {np.shape(_data(s))}")
            return states
        if not self.stateful:
            return None
        if self.states is None or self.states[0].shape[0] != n:
            if self.states is not None and self._state_fixed:
                raise ValueError(f"{self!r}: a stateful layer carries one state per sample from batch to batch, "
                                 f"so every batch must have {self.states[0].shape[0]} samples, got {n}; use that "
                                 f"batch size (and a number of samples divisible by it), or call reset_states() "
                                 f"after changing it")
            self.states = [np.zeros((n, self.units), dtype) for _ in range(self._n_states)]
        if self.training:
            self._state_fixed = True
        return self.states

    def reset_states(self, states: Sequence[ArrayLike] | ArrayLike | None = None) -> None:
        """Zero the carried states of a stateful layer (or set them to ``states``, a list of arrays
        of shape (batch, units), one per state).  Keras' ``reset_states``/``reset_state``."""
        if states is None:
            if self.states is not None:
                for s in self.states:
                    s[...] = 0
            if self.batch_size is None:
                self._state_fixed = False
            return
        states = [np.array(_data(s), copy=True) for s in (states if isinstance(states, (list, tuple)) else [states])]
        if len(states) != self._n_states or any(s.ndim != 2 or s.shape[1] != self.units for s in states):
            raise ValueError(f"{self!r}: reset_states expects {self._n_states} arrays of shape (batch, "
                             f"{self.units}), got shapes {[s.shape for s in states]}")
        self.states = states

    reset_state = reset_states

    # ------------------------------------------------------------------ forward
    def _dropout_mask(self, shape, rate, dtype):
        return dropout_mask(shape, rate, dtype, self._rng)

    def forward(self, x: TensorLike, initial_state: TensorLike | Sequence[TensorLike] | None = None,
                mask: ArrayLike | None = None, training: bool | None = None) -> Tensor | list[Tensor]:
        data = _data(x)
        if data.ndim != 3:
            raise self._rank_error(data.shape)
        if not self.__dict__.get("_self_built"):
            self.build((None, *data.shape[1:]))
        elif data.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self!r}: expected {self.kernel.shape[0]} features per time step, got input of shape "
                             f"{data.shape} ({data.shape[-1]} features)")
        training = self.training if training is None else bool(training)
        if mask is None:
            mask = get_mask(x)
        elif np.shape(_data(mask)) != data.shape[:2]:
            raise ValueError(f"{self!r}: mask must have shape (batch, time) = {data.shape[:2]}, got "
                             f"{np.shape(_data(mask))}")
        n = data.shape[0]
        dtype = self.kernel.data.dtype
        states = self._initial_states(initial_state, n, dtype)
        if training and self.dropout > 0:
            x = ops.mul(x, self._dropout_mask((n, 1, data.shape[-1]), self.dropout, dtype))
        rmask = self._dropout_mask((n, self.units), self.recurrent_dropout, dtype) \
            if training and self.recurrent_dropout > 0 else None
        want_states = self.return_state or self.stateful
        out = self._run(x, states, mask=None if mask is None else _data(mask), recurrent_mask=rmask,
                        go_backwards=self.go_backwards, return_sequences=self.return_sequences,
                        return_state=want_states, zero_output_for_mask=self.zero_output_for_mask,
                        keep_time_order=self.keep_time_order)
        if want_states:
            out, *final = out
            if self.stateful:
                self.states = [np.array(_data(s), copy=True) for s in final]
        if self.return_sequences and mask is not None:
            set_mask(out, mask)
        return [out, *final] if self.return_state else out

    def _activations(self):
        names = {}
        for key in ("activation", "recurrent_activation"):
            fn = getattr(self, key)
            names[key] = activations.name_of(fn) or fn
        return names

    # ------------------------------------------------------------------ saving
    def _cell_config(self, keys=("activation", "recurrent_activation")):
        """The cell's arguments as saved (shared with the cells of chainrule/nn/cells.py); refuses custom
        activations, which have no name."""
        names = {}
        for key in keys:
            fn = getattr(self, key)
            name = activations.name_of(fn)
            if name is None:
                raise TypeError(f"{self!r}: cannot save a custom {key} {fn!r}; use a named one")
            names[key] = name
        return {"units": self.units, **names, "use_bias": self.use_bias,
                "kernel_initializer": init.serialize(self.kernel_initializer),
                "recurrent_initializer": init.serialize(self.recurrent_initializer),
                "bias_initializer": init.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer), **self._constraint_config(),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}

    def _base_config(self):
        return {**self._cell_config(),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:]),
                "batch_size": self.batch_size, "name": self.name,
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        flags = [f for f in ("return_sequences", "return_state", "go_backwards", "stateful") if getattr(self, f)]
        return ", ".join([f"units={self.units}"] + [f"{f}=True" for f in flags])

    # ------------------------------------------------------------------ PyTorch
    @classmethod
    def from_torch(cls, source: Any, layer: int = 0, reverse: bool = False, **kwargs: Any) -> _Recurrent:
        """A layer with the weights of PyTorch's ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (a torch module, a
        :mod:`chainrule.torch.nn` one, or either's ``state_dict()``); ``layer`` and ``reverse`` pick one
        layer and direction of a stacked or bidirectional module.  ``kwargs`` are the Keras layer's
        other arguments (return_sequences, ...); units and features come from the weights, and
        SimpleRNN's activation from the module's ``nonlinearity``.

        >>> import numpy as np
        >>> sd = {"weight_ih_l0": np.ones((8, 3)), "weight_hh_l0": np.zeros((8, 2)),
        ...       "bias_ih_l0": np.ones(8), "bias_hh_l0": np.ones(8)}
        >>> lstm = LSTM.from_torch(sd)
        >>> lstm.kernel.shape, lstm.bias.numpy()[:2]
        ((3, 8), array([2., 2.]))
        """
        sd = _state_dict_of(source)
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        if any(k.startswith("weight_hr") for k in sd):
            raise ValueError("from_torch: an LSTM with proj_size > 0 has no Keras equivalent")
        if "weight_ih" + suffix not in sd:
            raise ValueError(f"from_torch: no {'weight_ih' + suffix!r} among the weights {sorted(sd)}")
        kernel, rk, bias = torch_to_keras_weights(cls._cell, sd["weight_ih" + suffix], sd["weight_hh" + suffix],
                                                  sd.get("bias_ih" + suffix), sd.get("bias_hh" + suffix))
        if cls._cell == "SimpleRNN" and "activation" not in kwargs:
            kwargs["activation"] = getattr(source, "nonlinearity", "tanh")
        kwargs.setdefault("dtype", kernel.dtype.name)
        time = kwargs.pop("timesteps", None)
        obj = cls(rk.shape[0], use_bias=bias is not None, input_shape=(time, kernel.shape[0]), **kwargs)
        obj.kernel.data[...] = kernel
        obj.recurrent_kernel.data[...] = rk
        if bias is not None:
            obj.bias.data[...] = bias
        return obj

    def to_torch(self, suffix: str = "_l0") -> dict[str, np.ndarray]:
        """This layer's weights as PyTorch's state-dict entries (name -> ndarray): load them into
        ``torch.nn.LSTM(features, units, batch_first=True)`` with
        ``load_state_dict({k: torch.from_numpy(v) for k, v in layer.to_torch().items()})``, or into
        :mod:`chainrule.torch.nn`'s module with ``load_state_dict`` directly.  Refuses what PyTorch
        cannot express (see :func:`keras_to_torch_weights`)."""
        if not self.__dict__.get("_self_built"):
            raise ValueError(f"{self!r}: not built yet; call it once or give input_shape")
        acts = self._activations()
        return keras_to_torch_weights(self._cell, self.kernel, self.recurrent_kernel,
                                      self.bias if self.use_bias else None, activation=acts["activation"],
                                      recurrent_activation=acts["recurrent_activation"],
                                      reset_after=getattr(self, "reset_after", True), suffix=suffix)


class SimpleRNN(_Recurrent):
    """Fully connected recurrent layer (Elman network), Keras' ``SimpleRNN``.

    h_t = phi(x_t W + b + h_(t-1) U),  h_0 = 0 (or ``initial_state``); the output is h_T, or
    every h_t with ``return_sequences``.  Weights: ``kernel`` W (features, units),
    ``recurrent_kernel`` U (units, units), ``bias`` b (units,).  The primitive and its derivatives:
    :class:`chainrule.ops.recurrent.SimpleRNNSequence`.

    Parameters
    ----------
    units : int
        Size of h_t.
    activation : str or callable
        phi, 'tanh' by default (the notes also use 'relu' and 'sigmoid').
    return_sequences, return_state, go_backwards, stateful, dropout, recurrent_dropout, seed
        See the module docstring.
    input_shape : (timesteps, features), optional
        Builds the weights at once (timesteps may be None); ``input_dim`` = features alone.
    batch_size : int, optional
        Fixes the batch size of a stateful layer (else its first training batch does).

    Examples
    --------
    >>> import numpy as np
    >>> layer = SimpleRNN(3, input_shape=(5, 2))
    >>> layer(np.ones((4, 5, 2), dtype='float32')).shape
    (4, 3)
    >>> layer.kernel.shape, layer.recurrent_kernel.shape, layer.bias.shape
    ((2, 3), (3, 3), (3,))
    """

    _cell = "SimpleRNN"

    def __init__(self, units: int, activation: str | Callable[..., Tensor] | None = "tanh", use_bias: bool = True,
                 kernel_initializer: str | Callable[..., Any] = "glorot_uniform",
                 recurrent_initializer: str | Callable[..., Any] = "orthogonal",
                 bias_initializer: str | Callable[..., Any] = "zeros",
                 kernel_regularizer: str | Callable[..., Any] | None = None,
                 recurrent_regularizer: str | Callable[..., Any] | None = None,
                 bias_regularizer: str | Callable[..., Any] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Seed = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, input_shape: Sequence[int | None] | None = None,
                 input_dim: int | None = None, batch_size: int | None = None, name: str | None = None,
                 dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._setup(units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                    recurrent_dropout, seed, return_sequences, return_state, go_backwards, stateful, unroll,
                    zero_output_for_mask, input_shape, input_dim, batch_size, name, dtype)

    def _run(self, x, states, **options):
        return ops.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias if self.use_bias else None,
                              initial_state=states, activation=self._activations()["activation"], **options)

    def get_config(self) -> dict[str, Any]:
        cfg = self._base_config()
        del cfg["recurrent_activation"]
        return cfg


class LSTM(_Recurrent):
    """Long short-term memory layer (Hochreiter and Schmidhuber 1997), Keras' ``LSTM``.

    i_t = sigma(x_t W_i + h_(t-1) U_i + b_i),  f_t = sigma(x_t W_f + h_(t-1) U_f + b_f),
    g_t = phi(x_t W_c + h_(t-1) U_c + b_c),     o_t = sigma(x_t W_o + h_(t-1) U_o + b_o),
    c_t = f_t c_(t-1) + i_t g_t,                h_t = o_t phi(c_t);
    phi = ``activation`` (tanh), sigma = ``recurrent_activation`` (sigmoid).  ``kernel`` (features,
    4 units), ``recurrent_kernel`` (units, 4 units) and ``bias`` (4 units,) hold the gates side by
    side in the order i, f, c, o.  ``unit_forget_bias`` starts b_f at 1 (so the cell remembers at
    first).  With ``return_state`` the layer returns [output, h_T, c_T].  The primitive and its
    derivatives: :class:`chainrule.ops.recurrent.LSTMSequence`.  Other parameters as
    :class:`SimpleRNN`.

    Examples
    --------
    >>> import numpy as np
    >>> layer = LSTM(4, return_state=True, input_shape=(3, 2))
    >>> out, h, c = layer(np.ones((5, 3, 2), dtype='float32'))
    >>> out.shape, h.shape, c.shape, layer.count_params()        # 4 (2 4 + 4 4 + 4)
    ((5, 4), (5, 4), (5, 4), 112)
    >>> layer.bias.numpy()[4:8]                                  # the forget gate's bias
    array([1., 1., 1., 1.], dtype=float32)
    """

    _cell = "LSTM"
    _n_states = 2

    def __init__(self, units: int, activation: str | Callable[..., Tensor] | None = "tanh",
                 recurrent_activation: str | Callable[..., Tensor] | None = "sigmoid", use_bias: bool = True,
                 kernel_initializer: str | Callable[..., Any] = "glorot_uniform",
                 recurrent_initializer: str | Callable[..., Any] = "orthogonal",
                 bias_initializer: str | Callable[..., Any] = "zeros", unit_forget_bias: bool = True,
                 kernel_regularizer: str | Callable[..., Any] | None = None,
                 recurrent_regularizer: str | Callable[..., Any] | None = None,
                 bias_regularizer: str | Callable[..., Any] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Seed = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, input_shape: Sequence[int | None] | None = None,
                 input_dim: int | None = None, batch_size: int | None = None, name: str | None = None,
                 dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        _how_options("LSTM", kwargs, layer=True)
        super().__init__(name=name, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                    recurrent_dropout, seed, return_sequences, return_state, go_backwards, stateful, unroll,
                    zero_output_for_mask, input_shape, input_dim, batch_size, name, dtype)

    def _initial_bias(self, dtype, rng):
        u = self.units
        if not self.unit_forget_bias:
            return super()._initial_bias(dtype, rng)
        return np.concatenate([self.bias_initializer((u,), dtype=dtype, rng=rng), np.ones(u, dtype),
                               self.bias_initializer((2 * u,), dtype=dtype, rng=rng)])

    def _run(self, x, states, **options):
        return ops.lstm(x, self.kernel, self.recurrent_kernel, self.bias if self.use_bias else None,
                        initial_state=states, **self._activations(), **options)

    def get_config(self) -> dict[str, Any]:
        return {**self._base_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al. 2014), Keras' ``GRU``.

    z_t = sigma(x_t W_z + b_z + h_(t-1) U_z + b'_z)  (update gate),
    r_t = sigma(x_t W_r + b_r + h_(t-1) U_r + b'_r)  (reset gate),
    hh_t = phi(x_t W_h + b_h + r_t (h_(t-1) U_h + b'_h))   (``reset_after=True``, Keras' default and
    PyTorch's form; the bias has two rows, b for the input and b' for the recurrent product), or
    hh_t = phi(x_t W_h + b_h + (r_t h_(t-1)) U_h)           (``reset_after=False``, bias (3 units,)),
    h_t = z_t h_(t-1) + (1 - z_t) hh_t.
    Gates side by side in the order z, r, h.  The primitive and its derivatives:
    :class:`chainrule.ops.recurrent.GRUSequence`.  Other parameters as :class:`SimpleRNN`.

    Examples
    --------
    >>> import numpy as np
    >>> layer = GRU(4, input_shape=(3, 2))
    >>> layer(np.ones((5, 3, 2), dtype='float32')).shape, layer.bias.shape, layer.count_params()
    ((5, 4), (2, 12), 96)
    """

    _cell = "GRU"

    def __init__(self, units: int, activation: str | Callable[..., Tensor] | None = "tanh",
                 recurrent_activation: str | Callable[..., Tensor] | None = "sigmoid", use_bias: bool = True,
                 kernel_initializer: str | Callable[..., Any] = "glorot_uniform",
                 recurrent_initializer: str | Callable[..., Any] = "orthogonal",
                 bias_initializer: str | Callable[..., Any] = "zeros",
                 kernel_regularizer: str | Callable[..., Any] | None = None,
                 recurrent_regularizer: str | Callable[..., Any] | None = None,
                 bias_regularizer: str | Callable[..., Any] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Seed = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, zero_output_for_mask: bool = False,
                 input_shape: Sequence[int | None] | None = None, input_dim: int | None = None,
                 batch_size: int | None = None, name: str | None = None, dtype: DTypeLike | None = None, **kwargs: Any
                 ) -> None:
        _how_options("GRU", kwargs, layer=True)
        super().__init__(name=name, **kwargs)
        self.reset_after = bool(reset_after)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                    bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                    recurrent_dropout, seed, return_sequences, return_state, go_backwards, stateful, unroll,
                    zero_output_for_mask, input_shape, input_dim, batch_size, name, dtype)

    def _initial_bias(self, dtype, rng):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return self.bias_initializer(shape, dtype=dtype, rng=rng)

    def _run(self, x, states, **options):
        b_in = b_rec = None
        if self.use_bias:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        return ops.gru(x, self.kernel, self.recurrent_kernel, b_in, b_rec, initial_state=states,
                       reset_after=self.reset_after, **self._activations(), **options)

    def get_config(self) -> dict[str, Any]:
        return {**self._base_config(), "reset_after": self.reset_after}

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


# ----------------------------------------------------------------------- wrappers
def _layer_config(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _layer_from(spec):
    from chainrule.nn.module import LAYERS
    name = spec.get("class_name") if isinstance(spec, dict) else None
    if name not in LAYERS:
        raise ValueError(f"unknown layer class {name!r} in a saved wrapper")
    return LAYERS[name].from_config(spec.get("config", {}))


def _reverse_time(y):
    return ops.getitem(y, (slice(None), slice(None, None, -1)))


def _runs_sequences(layer):
    """A layer Bidirectional can run both ways: one that declares ``_runs_sequences`` (SimpleRNN, LSTM, GRU,
    and Keras' RNN over a cell in chainrule.nn.cells, which builds on this module)."""
    return isinstance(layer, Layer) and type(layer)._runs_sequences


class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence both ways and merges the two (Keras' ``Bidirectional``).

    ``layer`` is a SimpleRNN, LSTM or GRU, or an ``RNN`` over a cell (built-in, stacked or your own,
    which then needs a ``get_config`` to be copied, as in Keras).
    The forward layer is a copy of ``layer`` (same configuration, its own weights); the backward
    one a copy with ``go_backwards=True`` (or ``backward_layer``), whose output sequence is put
    back in input order before merging, so both outputs at step t see the whole sequence:
    y_t = merge(h_t^fwd, h_t^bwd), with merge_mode 'concat' (default, 2 units features), 'sum',
    'mul', 'ave' or None (the list of both).  With ``return_state`` the states follow: [y, states
    of the forward layer, states of the backward layer].  Masked steps give zeros in the output
    sequences, as in Keras.  Weights: ``forward_layer.*`` then ``backward_layer.*``.

    >>> import numpy as np
    >>> layer = Bidirectional(LSTM(3, return_sequences=True), input_shape=(4, 2))
    >>> layer(np.ones((5, 4, 2), dtype='float32')).shape, layer.count_params()    # 2 x 4 (2 3 + 3 3 + 3)
    ((5, 4, 6), 144)
    """

    _MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer: _Recurrent, merge_mode: Literal["concat", "sum", "mul", "ave"] | None = "concat",
                 backward_layer: _Recurrent | None = None, input_shape: Sequence[int | None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not _runs_sequences(layer):
            raise TypeError(f"Bidirectional: expected a recurrent layer (SimpleRNN, LSTM, GRU or RNN over a cell), "
                            f"got {type(layer).__name__}")
        if merge_mode not in self._MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None, "
                             f"got {merge_mode!r}")
        cfg = layer.get_config()
        if layer.go_backwards:
            raise ValueError("Bidirectional: the forward layer must not have go_backwards=True (the backward copy "
                             "reverses the sequence itself)")
        shape = cfg.pop("input_shape", None)
        if input_shape is None:
            input_shape = shape
        self.forward_layer = type(layer).from_config({**cfg, "zero_output_for_mask": layer.return_sequences,
                                                      "name": f"forward_{layer.name}"})
        if backward_layer is None:
            backward_layer = type(layer).from_config({**cfg, "go_backwards": True, "name": f"backward_{layer.name}",
                                                      "zero_output_for_mask": layer.return_sequences})
            self._own_backward = False
        else:
            if not _runs_sequences(backward_layer):
                raise TypeError(f"Bidirectional: backward_layer must be a recurrent layer, got "
                                f"{type(backward_layer).__name__}")
            if not backward_layer.go_backwards:
                raise ValueError("Bidirectional: backward_layer must have go_backwards=True")
            self._own_backward = True
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(backward_layer, a) != getattr(layer, a):
                raise ValueError(f"Bidirectional: the forward and backward layers must have the same {a}, got "
                                 f"{getattr(layer, a)} and {getattr(backward_layer, a)}")
        if isinstance(backward_layer, _Recurrent):   # its primitive writes the outputs in input order
            backward_layer.keep_time_order = True
        backward_layer.zero_output_for_mask = layer.return_sequences
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        self.stateful = layer.stateful
        object.__setattr__(self, "_self_built", False)   # built on its first input (a symbolic one too)
        if input_shape is not None:
            self.build((None, *tuple(input_shape)))

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...] | None:
        f = self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        return super().build(input_shape) if f is not None else None

    def compute_output_shape(self, input_shape: Sequence[int | None]
                             ) -> tuple[int | None, ...] | list[tuple[int | None, ...]]:
        out = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            out, states = out[0], out[1:]
        if self.merge_mode == "concat":
            out = (*out[:-1], 2 * out[-1])
        elif self.merge_mode is None:
            out = [out, out]
        if self.return_state:
            return ([*out] if self.merge_mode is None else [out]) + states + states
        return out

    def forward(self, x: TensorLike, initial_state: Sequence[TensorLike] | None = None,
                mask: ArrayLike | None = None, training: bool | None = None) -> Tensor | list[Tensor]:
        if self.output_shape is None:
            shape = np.shape(_data(x))
            if len(shape) != 3:
                raise self.forward_layer._rank_error(shape)
            self.build((None, *shape[1:]))
        if mask is None:
            mask = get_mask(x)
        fs = bs = None
        if initial_state is not None:
            states = list(initial_state)
            if len(states) % 2:
                raise ValueError(f"{self!r}: initial_state must hold the forward layer's states, then the backward "
                                 f"layer's, got {len(states)} arrays")
            fs, bs = states[:len(states) // 2], states[len(states) // 2:]
        y = self.forward_layer(x, initial_state=fs, mask=mask, training=training)
        y_rev = self.backward_layer(x, initial_state=bs, mask=mask, training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if not getattr(self.backward_layer, "keep_time_order", False) and self.return_sequences:
            y_rev = _reverse_time(y_rev)
        mode = self.merge_mode
        if mode == "concat":
            out = ops.concatenate([y, y_rev], axis=-1)
        elif mode == "sum":
            out = y + y_rev
        elif mode == "ave":
            out = (y + y_rev) * 0.5
        elif mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.return_sequences and mask is not None and mode is not None:
            set_mask(out, mask)
        if self.return_state:
            return (out if mode is None else [out]) + states
        return out

    def reset_states(self, states: Sequence[ArrayLike] | None = None) -> None:
        """Reset both directions' states to zeros, or, given ``states``, set the forward layer from the first
        half and the backward layer from the second."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        states = list(states)
        self.forward_layer.reset_states(states[:len(states) // 2])
        self.backward_layer.reset_states(states[len(states) // 2:])

    reset_state = reset_states

    def get_config(self) -> dict[str, Any]:
        cfg = self.forward_layer.get_config()
        cfg["zero_output_for_mask"] = False
        if cfg.get("name", "").startswith("forward_"):
            cfg["name"] = cfg["name"][len("forward_"):]   # the wrapped layer's own name
        return {"layer": {"class_name": type(self.forward_layer).__name__, "config": cfg},
                "merge_mode": self.merge_mode,
                "backward_layer": _layer_config(self.backward_layer) if self._own_backward else None,
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:])}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Bidirectional:
        config = dict(config)
        layer = _layer_from(config.pop("layer"))
        back = config.pop("backward_layer", None)
        return cls(layer, backward_layer=None if back is None else _layer_from(back), **config)

    @classmethod
    def from_torch(cls, source: Any, layer: int = 0,
                   merge_mode: Literal["concat", "sum", "mul", "ave"] | None = "concat",
                   **kwargs: Any) -> Bidirectional:
        """A Bidirectional SimpleRNN/LSTM/GRU (chosen from the module's class name or ``cell=``) with
        the weights of one layer of a bidirectional PyTorch module (see :meth:`LSTM.from_torch`)."""
        cell = kwargs.pop("cell", None) or type(source).__name__.replace("Torch", "")
        kinds = {"RNN": SimpleRNN, "SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}
        if cell not in kinds:
            raise ValueError(f"Bidirectional.from_torch: cannot tell the cell of a {type(source).__name__}; "
                             f"pass cell='LSTM', 'GRU' or 'RNN'")
        kind = kinds[cell]
        fwd = kind.from_torch(source, layer=layer, **kwargs)
        bwd = kind.from_torch(source, layer=layer, reverse=True, go_backwards=True, **kwargs)
        out = cls(fwd, merge_mode=merge_mode, backward_layer=bwd)
        out.forward_layer.load_state_dict(fwd.state_dict())
        return out

    def __repr__(self):
        return f"Bidirectional({self.forward_layer!r}, merge_mode={self.merge_mode!r})"


class RepeatVector(Layer):
    """Repeats each sample ``n`` times along a new time axis (Keras' ``RepeatVector``): (batch, features)
    -> (batch, n, features), y_t = x for t = 1..n.  The encoder-decoder's bridge: an LSTM's last output,
    repeated, is the input sequence of the decoder LSTM.  Its VJP sums the adjoints of the n copies.

    >>> import numpy as np
    >>> np.asarray(RepeatVector(3)(np.array([[1.0, 2.0]], dtype='float32'))).tolist()
    [[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        self.n = _positive_int(n, "n", "RepeatVector")
        super().__init__(**kwargs)

    def forward(self, x: TensorLike) -> Tensor:
        shape = np.shape(_data(x))
        if len(shape) != 2:
            raise ValueError(f"{self!r}: expected input of shape (batch, features), got shape {shape}")
        return ops.broadcast_to(ops.reshape(x, (shape[0], 1, shape[1])), (shape[0], self.n, shape[1]))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        if len(input_shape) != 2:
            raise ValueError(f"RepeatVector: expected input of shape (batch, features), got {tuple(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {"n": self.n, "name": self.name}

    def extra_repr(self) -> str:
        return f"n={self.n}"


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step (Keras' ``TimeDistributed``): y_t = layer(x_t), the same
    weights at every t.  Input (batch, time, ...) -> (batch, time, ...layer's output); runs as one
    call of ``layer`` on the batch and time axes merged.  A mask on the input is kept.

    >>> import numpy as np
    >>> from chainrule.nn import Dense
    >>> TimeDistributed(Dense(8), input_shape=(5, 3))(np.ones((2, 5, 3), dtype='float32')).shape
    (2, 5, 8)
    """

    def __init__(self, layer: Layer, input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed: expected a layer, got {type(layer).__name__}")
        self.layer = layer
        # built on its first input, a symbolic one too: a functional model builds the wrapped layer as Keras does
        object.__setattr__(self, "_self_built", False)
        if input_shape is not None:
            self.build((None, *tuple(input_shape)))

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...] | None:
        shape = tuple(input_shape)
        if len(shape) < 3:
            raise ValueError(f"{self!r}: expected input of rank 3 or more (batch, time, ...), got shape {shape}")
        inner = self.layer.build((None, *shape[2:]))
        if inner is None:
            return None
        return super().build(shape)

    def compute_output_shape(self, input_shape: Sequence[int | None]
                             ) -> tuple[int | None, ...] | list[tuple[int | None, ...]]:
        inner = self.layer.compute_output_shape((None, *tuple(input_shape)[2:]))
        return (input_shape[0], input_shape[1], *tuple(inner)[1:])

    def forward(self, x: TensorLike, mask: ArrayLike | None = None, training: bool | None = None) -> Tensor:
        data = _data(x)
        if data.ndim < 3:
            raise ValueError(f"{self!r}: expected input of rank 3 or more (batch, time, ...), got shape {data.shape}")
        if mask is None:
            mask = get_mask(x)
        if self.output_shape is None:
            self.build((None, *data.shape[1:]))
        n, t = data.shape[:2]
        y = self.layer(ops.reshape(x, (n * t, *data.shape[2:])))
        y = ops.reshape(y, (n, t, *np.shape(_data(y))[1:]))
        if mask is not None:
            set_mask(y, mask)
        return y

    def __repr__(self):
        return f"TimeDistributed({self.layer!r})"

    def get_config(self) -> dict[str, Any]:
        return {"layer": _layer_config(self.layer),
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:])}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TimeDistributed:
        config = dict(config)
        return cls(_layer_from(config.pop("layer")), **config)


# ----------------------------------------------------------------------- fit
def reset_states(model: Module) -> None:
    """Zero the carried states of every stateful recurrent layer in ``model`` (Keras'
    ``model.reset_states()``), e.g. between epochs of a stateful model trained on one long series.

    >>> from chainrule import nn
    >>> import numpy as np
    >>> model = nn.Sequential([nn.SimpleRNN(2, stateful=True, input_shape=(3, 1)), nn.Dense(1)])
    >>> _ = model(np.ones((4, 3, 1), dtype='float32'))
    >>> reset_states(model); float(np.abs(model[0].states[0]).sum())
    0.0
    """
    for m in model.modules():   # SimpleRNN, LSTM, GRU, and any layer with stateful and reset_states (RNN)
        if m.__dict__.get("stateful") is True and callable(getattr(m, "reset_states", None)):
            m.reset_states()


def check_fit_arguments(model: Module, shuffle: bool | str = True, batch_size: int | None = None,
                        n_samples: int | None = None) -> None:
    """Refuse what a stateful recurrent model cannot train with (``fit`` asks every layer through
    :meth:`Module.check_fit`; this is the same check called on a whole model)."""
    for m in model.modules():
        m.check_fit(shuffle=shuffle, batch_size=batch_size, n_samples=n_samples)

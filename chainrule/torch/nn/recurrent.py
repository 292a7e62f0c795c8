"""PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` over chainrule's recurrent primitives.

As PyTorch users write them: ``nn.LSTM(input_size, hidden_size, num_layers=1, bias=True,
batch_first=False, dropout=0.0, bidirectional=False)``, called as ``output, (h_n, c_n) =
lstm(x, (h_0, c_0))`` (``output, h_n = gru(x, h_0)`` for RNN and GRU), with inputs (time, batch,
features) or, with ``batch_first=True``, (batch, time, features), and an unbatched (time, features)
input too.  ``output`` holds the last layer's h_t for every t (both directions side by side when
bidirectional, the backward one aligned with the input's time), ``h_n`` and ``c_n`` the final
states of every layer and direction, (num_layers x directions, batch, hidden).

``nn.RNNCell``, ``nn.LSTMCell`` and ``nn.GRUCell`` are one time step of the same cells, for loops
written by hand: ``h_1 = cell(x_0, h_0)`` (``h_1, c_1 = lstm_cell(x_0, (h_0, c_0))``), with inputs
(batch, features) or unbatched (features,), and parameters ``weight_ih``, ``weight_hh``,
``bias_ih``, ``bias_hh``.  A step runs as a length-1 sequence of the same primitive.

The parameters are PyTorch's, in name, shape and order: ``weight_ih_l{k}`` (gates x hidden,
inputs), ``weight_hh_l{k}`` (gates x hidden, hidden), ``bias_ih_l{k}``, ``bias_hh_l{k}``, with
``_reverse`` for the backward direction; gates (i, f, g, o) for LSTM and (r, z, n) for GRU, where
n = tanh(W_in x + b_in + r (W_hn h + b_hn)).  So ``load_state_dict`` takes a torch model's
``state_dict()`` as it is, and ``state_dict()`` loads into torch.  Initial values as PyTorch:
U(-1/sqrt(hidden), 1/sqrt(hidden)) for every weight and bias.

Each layer and direction runs as one primitive (:mod:`chainrule.ops.recurrent`) on the
transposed weights, the same code as Keras' ``chainrule.nn.LSTM``; the classes are named
``TorchRNN``, ``TorchLSTM``, ``TorchGRU`` (exported as ``RNN``, ``LSTM``, ``GRU``) so that saved
models name them apart from the Keras layers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule import ops
from chainrule.nn.core import dropout_mask
from chainrule.nn.module import Module
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor, get_default_dtype, get_rng
from chainrule.torch.nn.utils.rnn import PackedSequence, _pack, pad_packed_sequence

if TYPE_CHECKING:
    from chainrule._typing import Any, DTypeLike, Literal, TensorLike

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "TorchRNN", "TorchLSTM", "TorchGRU",
           "TorchRNNCell", "TorchLSTMCell", "TorchGRUCell"]


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _positive_int(v, what, cls):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{cls}: {what} must be a positive integer, got {v!r}")
    return int(v)


def _add_weights(module, suffix, n_in, dt):
    """PyTorch's weight_ih, weight_hh (and biases) + suffix, each drawn from U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    h = module.hidden_size
    k, bound, rng = module._gates * h, 1.0 / np.sqrt(h), get_rng()
    setattr(module, "weight_ih" + suffix, Parameter(rng.uniform(-bound, bound, (k, n_in)).astype(dt)))
    setattr(module, "weight_hh" + suffix, Parameter(rng.uniform(-bound, bound, (k, h)).astype(dt)))
    if module.bias:
        setattr(module, "bias_ih" + suffix, Parameter(rng.uniform(-bound, bound, k).astype(dt)))
        setattr(module, "bias_hh" + suffix, Parameter(rng.uniform(-bound, bound, k).astype(dt)))


def _dtype_of(dtype):
    return np.dtype(str(dtype).replace("torch.", "")) if dtype is not None else None


def _check_device(name, device):
    if device not in (None, "cpu"):
        raise ValueError(f"{name}: chainrule runs on the CPU; got device={device!r}")


class _TorchRecurrent(Module):
    _gates = 1
    _torch_name = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        name = self._torch_name
        self.input_size = _positive_int(input_size, "input_size", name)
        self.hidden_size = _positive_int(hidden_size, "hidden_size", name)
        self.num_layers = _positive_int(num_layers, "num_layers", name)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if proj_size:
            raise ValueError(f"{name}: proj_size > 0 (LSTM with projections) is not supported")
        _check_device(name, device)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.dtype = _dtype_of(dtype)
        dt = self.dtype or get_default_dtype()
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else self.hidden_size * self.directions
            for suffix in self._suffixes(layer):
                _add_weights(self, suffix, n_in, dt)

    @property
    def directions(self) -> int:
        """The number of directions each layer runs in: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer):
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN housekeeping; nothing to do here."""

    # ------------------------------------------------------------------ forward
    def _split_hx(self, hx, n, dt):
        """Initial states per (layer, direction): a list of lists of the cell's states, or None."""
        if hx is None:
            return None
        parts = list(hx) if self._gates == 4 else [hx]
        if len(parts) != (2 if self._gates == 4 else 1):
            raise ValueError(f"{self._torch_name}: hx must be (h_0, c_0)" if self._gates == 4 else
                             f"{self._torch_name}: hx must be h_0")
        want = (self.num_layers * self.directions, n, self.hidden_size)
        for p in parts:
            if np.shape(_data(p)) != want:
                raise ValueError(f"{self._torch_name}: expected each initial state of shape (num_layers * "
                                 f"num_directions, batch, hidden_size) = {want}, got {np.shape(_data(p))}")
        return [[p[i] for p in parts] for i in range(want[0])]

    def _sequence_options(self, go_backwards, mask):
        """The sequence primitive's options for one direction of one layer: every output and the final
        states, outputs in input order, the module's layout; with a mask (a packed batch), padded steps keep
        the state and give zeros."""
        return {"return_sequences": True, "return_state": True, "go_backwards": go_backwards, "keep_time_order": True,
                "time_major": not self.batch_first, "mask": mask, "zero_output_for_mask": mask is not None}

    def forward(self, input: TensorLike | PackedSequence, hx: TensorLike | tuple[TensorLike, TensorLike] | None = None
                ) -> tuple[Tensor | PackedSequence, Tensor | tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        name = self._torch_name
        shape = np.shape(_data(input))
        unbatched = len(shape) == 2
        if len(shape) not in (2, 3):
            layout = "(batch, time, features)" if self.batch_first else "(time, batch, features)"
            raise ValueError(f"{name}: expected input of shape {layout} or (time, features), got shape {shape}")
        x = input
        if unbatched:
            x = ops.reshape(x, (shape[0], 1, shape[1]) if not self.batch_first else (1, *shape))
            if hx is not None:
                hx = [ops.reshape(p, (p.shape[0], 1, p.shape[1])) for p in (hx if self._gates == 4 else [hx])]
                hx = hx if self._gates == 4 else hx[0]
        xs = np.shape(_data(x))
        if xs[-1] != self.input_size:
            raise ValueError(f"{name}(input_size={self.input_size}): got input with {xs[-1]} features, shape {shape}")
        n = xs[0] if self.batch_first else xs[1]
        x, states = self._layers(x, self._split_hx(hx, n, None))
        if unbatched:
            x = ops.reshape(x, (shape[0], -1) if not self.batch_first else (shape[0], -1))
            states = [ops.reshape(s, (s.shape[0], s.shape[2])) for s in states]
        return (x, tuple(states)) if self._gates == 4 else (x, states[0])

    def _layers(self, x, init, mask=None):
        """Every layer and direction over the sequence x: (the last layer's outputs, [h_n (, c_n)])."""
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                states = None if init is None else init[layer * self.directions + d]
                seq, *st = self._run(x, suffix, states, go_backwards=d == 1, mask=mask)
                outs.append(seq)
                finals.append(st)
            x = outs[0] if len(outs) == 1 else ops.concatenate(outs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = ops.mul(x, dropout_mask(np.shape(_data(x)), self.dropout, _data(x).dtype))
        return x, [ops.stack([f[j] for f in finals], axis=0) for j in range(len(finals[0]))]

    def _forward_packed(self, packed, hx):
        """A PackedSequence through the layers (PyTorch's ``nn.LSTM(packed)``): unpacked to a padded batch in
        the original order, run with the padding masked (each sequence's state stops at its last step, the
        reverse direction starts there), and the outputs packed as the input was; h_n in the original order."""
        name = self._torch_name
        padded, lengths = pad_packed_sequence(packed, batch_first=self.batch_first)
        lengths = _data(lengths)
        shape = np.shape(_data(padded))
        if shape[-1] != self.input_size:
            raise ValueError(f"{name}(input_size={self.input_size}): got a packed input with {shape[-1]} features")
        n = len(lengths)
        mask = np.arange(shape[1] if self.batch_first else shape[0])[None, :] < lengths[:, None]
        out, states = self._layers(padded, self._split_hx(hx, n, None), mask)
        out = _pack(out, lengths, self.batch_first, packed.sorted_indices, packed.unsorted_indices)
        return (out, tuple(states)) if self._gates == 4 else (out, states[0])

    def _weights(self, suffix):
        w = self._parameters
        W = ops.transpose(w["weight_ih" + suffix])
        U = ops.transpose(w["weight_hh" + suffix])
        b_ih, b_hh = w.get("bias_ih" + suffix), w.get("bias_hh" + suffix)
        return W, U, b_ih, b_hh

    # ------------------------------------------------------------------ saving and printing
    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                "bias": self.bias, "batch_first": self.batch_first, "dropout": self.dropout,
                "bidirectional": self.bidirectional, "dtype": None if self.dtype is None else self.dtype.name}

    def __repr__(self) -> str:
        extra = [f"{self.input_size}", f"{self.hidden_size}"]
        if self.num_layers != 1:
            extra.append(f"num_layers={self.num_layers}")
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                extra.append(f"{key}={getattr(self, key)}")
        return f"{self._torch_name}({', '.join(extra)})"


class TorchRNN(_TorchRecurrent):
    """PyTorch's ``nn.RNN``: h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) (or relu with
    ``nonlinearity='relu'``), per layer.  Returns (output, h_n).

    >>> import numpy as np
    >>> rnn = TorchRNN(3, 5, num_layers=2, batch_first=True)
    >>> out, h_n = rnn(np.ones((4, 7, 3), dtype='float32'))
    >>> out.shape, h_n.shape, list(rnn.state_dict())[:2]
    ((4, 7, 5), (2, 4, 5), ['weight_ih_l0', 'weight_hh_l0'])
    """

    _gates = 1
    _torch_name = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: Literal["tanh", "relu"] = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: DTypeLike | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def _run(self, x, suffix, states, go_backwards, mask=None):
        W, U, b_ih, b_hh = self._weights(suffix)
        b = None if b_ih is None else b_ih + b_hh
        return ops.simple_rnn(x, W, U, b, initial_state=states, activation=self.nonlinearity,
                              **self._sequence_options(go_backwards, mask))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}

    def __repr__(self) -> str:
        r = super().__repr__()
        return r if self.nonlinearity == "tanh" else r[:-1] + ", nonlinearity='relu')"


class TorchLSTM(_TorchRecurrent):
    """PyTorch's ``nn.LSTM``: gates i, f, g, o of x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh,
    c_t = f c_(t-1) + i g,  h_t = o tanh(c_t).  Returns (output, (h_n, c_n)).

    >>> import numpy as np
    >>> lstm = TorchLSTM(3, 5)
    >>> out, (h_n, c_n) = lstm(np.ones((7, 4, 3), dtype='float32'))      # (time, batch, features)
    >>> out.shape, h_n.shape, c_n.shape, lstm.weight_ih_l0.shape
    ((7, 4, 5), (1, 4, 5), (1, 4, 5), (20, 3))
    """

    _gates = 4
    _torch_name = "LSTM"

    def _run(self, x, suffix, states, go_backwards, mask=None):
        W, U, b_ih, b_hh = self._weights(suffix)
        b = None if b_ih is None else b_ih + b_hh
        return ops.lstm(x, W, U, b, initial_state=states, **self._sequence_options(go_backwards, mask))


class TorchGRU(_TorchRecurrent):
    """PyTorch's ``nn.GRU``: r = sigma(W_ir x + b_ir + W_hr h + b_hr), z = sigma(... z ...),
    n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h_t = (1 - z) n + z h_(t-1)  (Keras' GRU with
    reset_after=True, gates in the order r, z, n).  Returns (output, h_n)."""

    _gates = 3
    _torch_name = "GRU"

    def _run(self, x, suffix, states, go_backwards, mask=None):
        W, U, b_ih, b_hh = self._weights(suffix)
        return ops.gru(x, W, U, b_ih, b_hh, initial_state=states, gate_order="rzh",
                       **self._sequence_options(go_backwards, mask))


# ---------------------------------------------------------------------- one time step
class _TorchCell(Module):
    """One step of a cell: the length-1 sequence (1, batch, features) through the sequence
    module's own primitive call (``_run``), so the cell's equations live in one place."""

    _gates = 1
    _torch_name = "RNNCell"
    batch_first = False                  # the step is a time-major sequence of length 1
    _weights = _TorchRecurrent._weights
    _sequence_options = _TorchRecurrent._sequence_options

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        name = self._torch_name
        self.input_size = _positive_int(input_size, "input_size", name)
        self.hidden_size = _positive_int(hidden_size, "hidden_size", name)
        _check_device(name, device)
        self.bias, self.dtype = bool(bias), _dtype_of(dtype)
        _add_weights(self, "", self.input_size, self.dtype or get_default_dtype())

    def _states(self, hx, n, unbatched):
        """The initial states as a list of (1 or batch, hidden) values, or None for zeros."""
        name, lstm = self._torch_name, self._gates == 4
        if hx is None:
            return None
        if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"{name}: hx must be the pair (h_0, c_0), got {type(hx).__name__}")
        parts = list(hx) if lstm else [hx]
        want = (self.hidden_size,) if unbatched else (n, self.hidden_size)
        for p in parts:
            if np.shape(_data(p)) != want:
                raise ValueError(f"{name}: expected each state of shape {want} ((batch, hidden_size), or "
                                 f"(hidden_size,) for an unbatched input), got {np.shape(_data(p))}")
        return [ops.reshape(p, (1, self.hidden_size)) for p in parts] if unbatched else parts

    def forward(self, input: TensorLike, hx: TensorLike | tuple[TensorLike, TensorLike] | None = None
                ) -> Tensor | tuple[Tensor, Tensor]:
        """h' (and c' for LSTMCell) after one step from ``hx`` (zeros when None) on ``input``,
        (batch, input_size) or unbatched (input_size,)."""
        name = self._torch_name
        shape = np.shape(_data(input))
        if len(shape) not in (1, 2):
            raise ValueError(f"{name}: expected input of shape (batch, input_size) or (input_size,), got shape "
                             f"{shape}; a whole sequence goes through nn.{name[:-4]}")
        if shape[-1] != self.input_size:
            raise ValueError(f"{name}(input_size={self.input_size}): got input with {shape[-1]} features, "
                             f"shape {shape}")
        unbatched = len(shape) == 1
        n = 1 if unbatched else shape[0]
        states = self._states(hx, n, unbatched)
        _, *new = self._run(ops.reshape(input, (1, n, self.input_size)), "", states, go_backwards=False)
        if unbatched:
            new = [ops.reshape(h, (self.hidden_size,)) for h in new]
        return tuple(new) if self._gates == 4 else new[0]

    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias,
                "dtype": None if self.dtype is None else self.dtype.name}

    def __repr__(self) -> str:
        return f"{self._torch_name}({self.input_size}, {self.hidden_size}{'' if self.bias else ', bias=False'})"


class TorchRNNCell(_TorchCell):
    """PyTorch's ``nn.RNNCell``: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), one step.

    >>> import numpy as np
    >>> cell = TorchRNNCell(3, 5)
    >>> h = cell(np.ones((4, 3), dtype='float32'))
    >>> h = cell(np.ones((4, 3), dtype='float32'), h)        # the next step
    >>> h.shape, cell.weight_hh.shape
    ((4, 5), (5, 5))
    """

    _gates = 1
    _torch_name = "RNNCell"
    _run = TorchRNN._run

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: Literal["tanh", "relu"] = "tanh", device: Any = None,
                 dtype: DTypeLike | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}

    def __repr__(self) -> str:
        r = super().__repr__()
        return r if self.nonlinearity == "tanh" else r[:-1] + f", nonlinearity={self.nonlinearity})"


class TorchLSTMCell(_TorchCell):
    """PyTorch's ``nn.LSTMCell``: one step of :class:`TorchLSTM`'s cell, ``h', c' = cell(x, (h, c))``.

    >>> import numpy as np
    >>> cell = TorchLSTMCell(3, 5)
    >>> h, c = cell(np.ones((4, 3), dtype='float32'))
    >>> h, c = cell(np.ones((4, 3), dtype='float32'), (h, c))
    >>> h.shape, c.shape, cell.weight_ih.shape
    ((4, 5), (4, 5), (20, 3))
    """

    _gates = 4
    _torch_name = "LSTMCell"
    _run = TorchLSTM._run


class TorchGRUCell(_TorchCell):
    """PyTorch's ``nn.GRUCell``: one step of :class:`TorchGRU`'s cell (gates r, z, n), ``h' = cell(x, h)``."""

    _gates = 3
    _torch_name = "GRUCell"
    _run = TorchGRU._run


RNN, LSTM, GRU = TorchRNN, TorchLSTM, TorchGRU
RNNCell, LSTMCell, GRUCell = TorchRNNCell, TorchLSTMCell, TorchGRUCell

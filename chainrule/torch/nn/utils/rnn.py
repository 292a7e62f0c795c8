"""``torch.nn.utils.rnn``: batches of sequences of different lengths, padded or packed, as PyTorch makes them.

* ``pad_sequence(sequences)``: tensors (L_i, ...) stacked into (T, B, ...) (``batch_first``: (B, T, ...)),
  each filled up with ``padding_value`` after its end (``padding_side='left'``: before its start);
* ``pack_padded_sequence(padded, lengths)``: a :class:`PackedSequence`, the valid steps only, time step
  by time step: ``data`` holds x[t] of every sequence longer than t, longest sequences first, for
  t = 0, 1, ..., and ``batch_sizes[t]`` counts them.  ``enforce_sorted=False`` accepts lengths in any
  order and keeps the sorting permutation (``sorted_indices``) and its inverse (``unsorted_indices``);
* ``pad_packed_sequence(packed)``: back to (padded, lengths), in the original order;
* ``pack_sequence(sequences)``: ``pad_sequence`` then ``pack_padded_sequence``.

``chainrule.torch.nn``'s RNN, LSTM and GRU take a PackedSequence as PyTorch's do: each sequence's
state stops at its own last step (h_n is that state, in the original order), the reverse direction
of a bidirectional layer starts there, and the output comes back packed as the input was.  Every
step is a gather (``ops.take``) or a stack, so gradients flow through packing and padding both ways.

>>> import numpy as np
>>> a, b = np.array([[1.0], [2.0], [3.0]]), np.array([[4.0]])
>>> packed = pack_sequence([a, b])
>>> packed.data.numpy().ravel().tolist(), packed.batch_sizes.tolist()
([1.0, 4.0, 2.0, 3.0], [2, 1, 1])
>>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
>>> padded.numpy()[..., 0].tolist(), lengths.tolist()
([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]], [3, 1])
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from chainrule import ops
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Sequence, TensorLike

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence"]


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _tensor(x):
    """A Tensor as it is, anything else as a Tensor (no gradient): what PyTorch's functions return."""
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


class PackedSequence(NamedTuple):
    """PyTorch's packed batch: ``data`` (sum of the lengths, ...) the valid steps, time step by time step,
    longest sequences first; ``batch_sizes`` (T,) int64 how many sequences are longer than t; and, when
    the lengths were not sorted (``enforce_sorted=False``), ``sorted_indices`` (the sequences, longest
    first) and ``unsorted_indices`` (its inverse), else None.  The index arrays are NumPy int64 arrays."""

    data: Any
    batch_sizes: np.ndarray
    sorted_indices: np.ndarray | None = None
    unsorted_indices: np.ndarray | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """PyTorch's device and dtype move: this CPU-only library keeps the batch as it is."""
        return self


def _lengths(lengths, batch, steps, who):
    n = np.asarray(_data(lengths))
    if n.shape != (batch,) or n.dtype.kind not in "iuf" or (n.dtype.kind == "f" and np.any(n != np.round(n))):
        raise ValueError(f"{who}: lengths must be {batch} integers, one per sequence of the batch, got "
                         f"{n.tolist() if n.size < 20 else n.shape}")
    n = n.astype(np.int64)
    if n.size and (n.min() < 1 or n.max() > steps):
        raise ValueError(f"{who}: every length must lie in [1, {steps}] (the padded batch has {steps} time steps), "
                         f"got lengths from {n.min()} to {n.max()}")
    return n


def _pack(x, lengths, batch_first, sorted_indices, unsorted_indices):
    """Pack the padded batch x (original order) by the known lengths and sorting permutation."""
    order = np.arange(len(lengths)) if sorted_indices is None else sorted_indices
    ordered = lengths[order]
    batch_sizes = np.array([int(np.sum(ordered > t)) for t in range(int(ordered[0]))], dtype=np.int64)
    t_idx = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    b_idx = np.concatenate([order[:k] for k in batch_sizes])
    data = x[b_idx, t_idx] if batch_first else x[t_idx, b_idx]
    return PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)


def pack_padded_sequence(input: TensorLike, lengths: TensorLike | Sequence[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """The padded batch ``input`` (T, B, ...) (``batch_first``: (B, T, ...)) with sequences of ``lengths`` as
    a :class:`PackedSequence`; lengths in decreasing order unless ``enforce_sorted=False``."""
    who = "pack_padded_sequence"
    shape = np.shape(_data(input))
    if len(shape) < 2:
        raise ValueError(f"{who}: expected a padded batch (time, batch, ...) or with batch_first (batch, time, ...), "
                         f"got shape {shape}")
    batch, steps = (shape[0], shape[1]) if batch_first else (shape[1], shape[0])
    n = _lengths(lengths, batch, steps, who)
    if enforce_sorted:
        if np.any(np.diff(n) > 0):
            raise ValueError(f"{who}: the lengths must be sorted in decreasing order when enforce_sorted=True, got "
                             f"{n.tolist()}; sort the batch, or pass enforce_sorted=False")
        sorted_indices = unsorted_indices = None
    else:
        sorted_indices = np.argsort(-n, kind="stable").astype(np.int64)
        unsorted_indices = np.argsort(sorted_indices).astype(np.int64)
    return _pack(_tensor(input), n, bool(batch_first), sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """A :class:`PackedSequence` as (the padded batch (T, B, ...) or (B, T, ...), the lengths (B,) int64), in
    the original order; ``total_length`` pads to that many time steps."""
    who = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{who}: expected a PackedSequence (from pack_padded_sequence), got {type(sequence).__name__}")
    data, sizes = _tensor(sequence.data), np.asarray(sequence.batch_sizes, dtype=np.int64)
    shape = np.shape(_data(data))
    if sizes.ndim != 1 or not sizes.size or np.any(np.diff(sizes) > 0) or sizes.sum() != shape[0]:
        raise ValueError(f"{who}: batch_sizes {sizes.tolist()} do not describe the {shape[0]} packed steps")
    steps, batch = len(sizes), int(sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"{who}: total_length={total_length} is shorter than the longest sequence ({steps} "
                             f"steps)")
        steps = int(total_length)
    lengths = np.array([int(np.sum(sizes > j)) for j in range(batch)], dtype=np.int64)   # longest first
    # every (t, j) reads its packed row, or the padding row after the last one
    rows = np.full((steps, batch), shape[0], dtype=np.int64)
    start = 0
    for t, k in enumerate(sizes):
        rows[t, :k] = np.arange(start, start + k)
        start += k
    if sequence.unsorted_indices is not None:
        rows, lengths = rows[:, sequence.unsorted_indices], lengths[sequence.unsorted_indices]
    if batch_first:
        rows = rows.T
    dtype = _data(data).dtype
    source = ops.concatenate([data, np.full((1,) + shape[1:], padding_value, dtype=dtype)], axis=0)
    return ops.take(source, rows, axis=0), Tensor(lengths)


def pad_sequence(sequences: Sequence[TensorLike], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Tensors (L_i, ...) as one padded batch (max L_i, B, ...) (``batch_first``: (B, max L_i, ...)), each filled up
    with ``padding_value`` after its end (``padding_side='left'``: before its start)."""
    who = "pad_sequence"
    if padding_side not in ("right", "left"):
        raise ValueError(f"{who}: padding_side must be 'right' or 'left', got {padding_side!r}")
    seqs = [_tensor(s) for s in sequences]
    if not seqs:
        raise ValueError(f"{who}: expected at least one sequence")
    shapes = [np.shape(_data(s)) for s in seqs]
    if any(len(sh) < 1 or sh[1:] != shapes[0][1:] for sh in shapes):
        raise ValueError(f"{who}: every sequence must have shape (length, ...) with the same trailing dimensions, got "
                         f"{shapes}")
    steps = max(sh[0] for sh in shapes)
    dtype = np.result_type(*[_data(s).dtype for s in seqs])
    padded = []
    for s, sh in zip(seqs, shapes):
        fill = np.full((steps - sh[0],) + sh[1:], padding_value, dtype=dtype)
        padded.append(s if not fill.shape[0] else
                      ops.concatenate([s, fill] if padding_side == "right" else [fill, s], axis=0))
    return ops.stack(padded, axis=0 if batch_first else 1)


def pack_sequence(sequences: Sequence[TensorLike], enforce_sorted: bool = True) -> PackedSequence:
    """Tensors (L_i, ...) as a :class:`PackedSequence`: ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    seqs = list(sequences)
    return pack_padded_sequence(pad_sequence(seqs), [np.shape(_data(s))[0] for s in seqs],
                                enforce_sorted=enforce_sorted)

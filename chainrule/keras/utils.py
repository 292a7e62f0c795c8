"""``keras.utils`` on chainrule: ``to_categorical``, ``pad_sequences``, ``timeseries_dataset_from_array``,
``plot_model`` (as text), ``set_random_seed``, ``PyDataset``."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._unsupported import missing
from chainrule.tensor import Tensor, manual_seed

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, PathLike, TensorLike
    from chainrule.nn.module import Module

__all__ = ["to_categorical", "pad_sequences", "timeseries_dataset_from_array", "plot_model", "model_to_text",
           "set_random_seed", "PyDataset", "Sequence", "normalize"]


def pad_sequences(sequences: Any, maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Sequences of different lengths as one array (Keras' ``pad_sequences``): (samples, maxlen, ...).

    Each sequence (of items of one shape) is cut to ``maxlen`` items, the first ones dropped with
    ``truncating='pre'`` (the default) or the last ones with ``'post'``, then filled up to ``maxlen``
    with ``value``, before it (``padding='pre'``, the default) or after it (``'post'``).  ``maxlen``
    defaults to the longest sequence's length.  For an Embedding with ``mask_zero=True`` the padding
    token is 0.

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
    [[2, 3], [0, 4]]
    >>> pad_sequences([[1, 2, 3], [4]], padding="post").tolist()
    [[1, 2, 3], [4, 0, 0]]
    """
    who = "pad_sequences"
    for name, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"{who}: {name} must be 'pre' or 'post', got {v!r}")
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(f"{who}: expected a list of sequences, got {type(sequences).__name__}")
    seqs = []
    for i, x in enumerate(sequences):
        if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
            raise ValueError(f"{who}: expected a list of sequences, but item {i} is {type(x).__name__} {x!r}")
        seqs.append(x)
    lengths = [len(x) for x in seqs]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 1:
        raise ValueError(f"{who}: maxlen must be a positive integer or None, got {maxlen!r}")
    kind = np.dtype(dtype).kind
    if isinstance(value, str) and kind not in "OUS":
        raise ValueError(f"{who}: value {value!r} is a string but dtype is {np.dtype(dtype)}; use dtype=object for "
                         f"strings")
    sample = next((np.asarray(x).shape[1:] for x in seqs if len(x)), ())
    out = np.full((len(seqs), int(maxlen)) + sample, value, dtype=dtype)
    for i, x in enumerate(seqs):
        if not len(x):
            continue
        cut = np.asarray(x[-maxlen:] if truncating == "pre" else x[:maxlen], dtype=dtype)
        if cut.shape[1:] != sample:
            raise ValueError(f"{who}: the items of sequence {i} have shape {cut.shape[1:]}, those before it {sample}")
        if padding == "post":
            out[i, :len(cut)] = cut
        else:
            out[i, maxlen - len(cut):] = cut
    return out


def to_categorical(x: TensorLike, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows: class c becomes a row with a 1 in column c (float64, as Keras 3 returns them).

    >>> to_categorical([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    y = np.asarray(x.data if isinstance(x, Tensor) else x)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("to_categorical: expected integer class labels, got non-integer values")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iub":
        raise TypeError(f"to_categorical: expected integer class labels, got dtype {y.dtype}")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class labels must be >= 0, got {int(y.min())}")
    n = int(y.max()) + 1 if num_classes is None and y.size else int(num_classes or 0)
    if y.size and int(y.max()) >= n:
        raise ValueError(f"to_categorical: label {int(y.max())} does not fit num_classes={n}")
    out = np.zeros((y.size, n))
    out[np.arange(y.size), y] = 1.0
    return out.reshape(shape + (n,))


def normalize(x: ArrayLike, axis: int = -1, order: int | float = 2) -> np.ndarray:
    """Each slice along ``axis`` divided by its ``order``-norm (zero slices stay zero)."""
    x = np.asarray(x, dtype=float)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


def set_random_seed(seed: int) -> None:
    """Seed chainrule's generator (weights, dropout, shuffling) and NumPy's global one, as Keras does."""
    manual_seed(int(seed))
    np.random.seed(int(seed))


def model_to_text(model: Module, show_shapes: bool = False, show_layer_names: bool = True) -> str:
    """The layers of ``model`` top to bottom as boxes joined by arrows (what ``plot_model`` draws)."""
    rows = []
    g = getattr(model, "_graph", None) if hasattr(model, "is_graph") else None
    if g is not None:
        entries = []
        for layer in model.layers:
            nodes = [n for n in model._all_nodes() if n.layer is layer]
            parents = sorted({t.node.layer.name for n in nodes for t in n.input_tensors})
            shape = ", ".join(str(t.shape) for n in nodes for t in n.outputs)
            entries.append((layer, parents, shape))
    else:
        entries, prev = [], None
        for layer in model.layers:
            shape = getattr(layer, "output_shape", None)
            entries.append((layer, [prev] if prev else [], "?" if shape is None else str(tuple(shape))))
            prev = getattr(layer, "name", type(layer).__name__)
    for i, (layer, parents, shape) in enumerate(entries):
        label = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
        if show_shapes:
            label += f"  -> {shape}"
        if len(parents) > 1 or (i and parents and parents[0] != getattr(entries[i - 1][0], "name", None)):
            rows.append(f"    ^ from {', '.join(parents)}")
        elif i:
            rows.append("    |")
            rows.append("    v")
        rule = "+" + "-" * (len(label) + 2) + "+"
        rows += [rule, f"| {label} |", rule]
    return "\n".join(rows)


def plot_model(model: Module, to_file: PathLike | None = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, **kwargs: Any) -> str:
    """Keras' ``plot_model`` without graphviz: the model's layers as text (:func:`model_to_text`).

    Writes the text to ``to_file`` (a ``.png``/``.pdf``/``.svg`` name gets a matplotlib picture of
    it, any other name the text itself) and returns the text.
    """
    text = model_to_text(model, show_shapes=show_shapes, show_layer_names=show_layer_names)
    if to_file:
        ext = os.path.splitext(str(to_file))[1].lower()
        if ext in (".png", ".pdf", ".svg", ".jpg", ".jpeg"):
            from matplotlib.figure import Figure
            lines = text.splitlines()
            fig = Figure(figsize=(max(4, 0.11 * max(len(r) for r in lines)), max(2, 0.2 * len(lines))))
            fig.text(0.02, 0.98, text, family="monospace", va="top", fontsize=9)
            fig.savefig(to_file, dpi=dpi)
        else:
            from chainrule.io import write_text_atomic
            write_text_atomic(to_file, text + "\n")
    return text


class PyDataset:
    """Keras' ``PyDataset`` (tf.keras' ``Sequence``): subclass it with ``__len__`` (batches per epoch) and
    ``__getitem__(i)`` returning batch i as (x, y); ``fit`` goes through it once per epoch."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        pass

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number of batches)")

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning a batch")

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        """Called after each pass over the batches (for example to shuffle); does nothing unless overridden."""
        pass


Sequence = PyDataset



class _TimeseriesDataset(PyDataset):
    """The batches of :func:`timeseries_dataset_from_array` (each gathered when it is asked for)."""

    def __init__(self, data, targets, starts, offsets, batch_size):
        super().__init__()
        self.data, self.targets, self.starts, self.offsets, self.batch_size = data, targets, starts, offsets, batch_size

    def __len__(self):
        if self.batch_size is None:
            return len(self.starts)
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        index %= len(self)
        if self.batch_size is None:
            starts = self.starts[index:index + 1]
        else:
            starts = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.data[starts[:, None] + self.offsets]
        if self.batch_size is None:
            x = x[0]
        if self.targets is None:
            return x
        y = self.targets[starts]
        return x, (y[0] if self.batch_size is None else y)


def timeseries_dataset_from_array(data: ArrayLike, targets: ArrayLike | None, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1, batch_size: int | None = 128,
                                  shuffle: bool = False, seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> PyDataset:
    """Sliding windows over a series, in batches (Keras' ``timeseries_dataset_from_array``), as a
    :class:`PyDataset` that ``fit``, ``evaluate`` and ``predict`` take.

    Window k starts at s_k = k ``sequence_stride`` (counted from ``start_index``) and holds the
    ``sequence_length`` rows data[s_k], data[s_k + r], ..., r = ``sampling_rate``; its target is
    targets[s_k] (so for a forecast pass ``targets=data[sequence_length:]``).  Windows stop before
    ``end_index`` (the end of data by default) and before the targets run out.  ``shuffle`` permutes
    the windows once, with ``np.random.RandomState(seed)`` as Keras does.  A batch is (windows,
    targets), or the windows alone when ``targets`` is None; ``batch_size=None`` gives one window a
    batch.  Batches are gathered when asked for, so the series is never copied window by window.

    >>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(3, 10), sequence_length=3, batch_size=4)
    >>> x, y = ds[0]
    >>> x.tolist(), y.tolist(), len(ds)
    ([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], [3, 4, 5, 6], 2)
    """
    who = "timeseries_dataset_from_array"
    data = np.asarray(data)
    if data.ndim < 1 or len(data) == 0:
        raise ValueError(f"{who}: data must be a non-empty array with time on its first axis, got shape {data.shape}")
    n = len(data)
    for name, v in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                    ("sampling_rate", sampling_rate)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{who}: {name} must be a positive integer, got {v!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"{who}: batch_size must be a positive integer or None, got {batch_size!r}")
    start = 0 if start_index is None else start_index
    end = n if end_index is None else end_index
    if not 0 <= start < n or not start < end <= n:
        raise ValueError(f"{who}: start_index and end_index must satisfy 0 <= start_index < end_index <= {n} (the "
                         f"length of data), got {start_index!r} and {end_index!r}")
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        if targets.ndim < 1:
            raise ValueError(f"{who}: targets must be an array with one target per time step, got shape "
                             f"{targets.shape}")
        count = min(count, len(targets) - start)
    if count <= 0:
        raise ValueError(f"{who}: no window of {sequence_length} steps (sampling_rate {sampling_rate}) fits between "
                         f"{start} and {end}")
    starts = np.arange(0, count, sequence_stride)
    if shuffle:
        np.random.RandomState(np.random.randint(1_000_000) if seed is None else seed).shuffle(starts)
    offsets = np.arange(sequence_length) * sampling_rate
    return _TimeseriesDataset(data[start:end], None if targets is None else targets[start:], starts, offsets,
                              batch_size)


__getattr__ = missing(__name__, "keras.utils", {"image_dataset_from_directory": "", "get_file": ""})

"""Convolutional layers (Keras' names, channels-last like the notes): CONV, POOL and their helpers.

The notes' CNN is a stack  INPUT -> CONV -> RELU -> POOL -> ... -> FC.  A CONV layer holds F
filters w (k_h, k_w, C, F) and a bias b (F,), and maps a volume x (N, H, W, C) to
a = f(z + b),  z[n, i, j, f] = sum_{p, q, c} x[n, s i + d p, s j + d q, c] w[p, q, c, f]
(stride s, dilation d, zero padding; the equations and their derivatives live once, in
:mod:`chainrule.ops.conv`).  A POOL layer shrinks each channel by taking the maximum (or the
mean) of every window.  Flatten (in :mod:`chainrule.nn.core`) turns the last volume into the
rows that the FC (Dense) layers take.

Every layer here calls the primitives of :mod:`chainrule.ops.conv`: the convolution is one
graph node (with its bias and activation), and a ``Sequential`` that has a convolution followed
by a max pooling runs both as that one node (pooling before the bias and a non-decreasing
activation, which is exact, see :class:`~chainrule.ops.conv.Conv`).

Layout: inputs are (batch, *spatial, channels) and kernels (*kernel, in_channels/groups, filters)
as in Keras; ``data_format='channels_first'`` takes (batch, channels, *spatial) and transposes.
PyTorch's channels-first names (``Conv2d``, ``MaxPool2d``, ...) are in :mod:`chainrule.nn.conv_torch`
and exported by :mod:`chainrule.torch.nn`.

**Weights from PyTorch.**  A ``torch.nn.Conv2d`` weight (out, in/groups, k_h, k_w) becomes a
kernel (k_h, k_w, in/groups, out) by :func:`from_torch_conv2d` (or ``set_weights(..., layout='torch')``).
The Flatten order differs: PyTorch flattens (C, H, W) with the channel slowest, Keras and this
package flatten (H, W, C) with the channel fastest, so the first Dense layer after a Flatten
needs its input rows permuted: :func:`from_torch_linear` with ``flattened_from=(C, H, W)`` does it.

Examples
--------
>>> import numpy as np
>>> from chainrule import nn
>>> model = nn.Sequential([nn.Conv2D(10, 3, activation='relu', input_shape=(8, 8, 1)),
...                        nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(50, activation='relu'),
...                        nn.Dense(10, activation='softmax')])
>>> [layer.output_shape for layer in model]
[(None, 6, 6, 10), (None, 3, 3, 10), (None, 90), (None, 50), (None, 10)]
>>> model.count_params()
5160
>>> model(np.zeros((2, 8, 8, 1), dtype=np.float32)).shape
(2, 10)
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chainrule import _checks, ops
from chainrule.nn import activations, init, regularizers
from chainrule.nn.core import Activation, Dense, Dropout, Flatten, Layer, _data, dropout_mask
from chainrule.nn.masking import get_mask
from chainrule.nn.sequential import Sequential
from chainrule.ops import conv as _conv
from chainrule.parameter import Parameter
from chainrule.tensor import Tensor, get_default_dtype, get_rng
from chainrule.nn.init import Initializer
from chainrule.nn.module import Module
from chainrule.nn.regularizers import Regularizer

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, DTypeLike, TensorLike

__all__ = ["Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
           "ZeroPadding1D", "ZeroPadding2D", "SpatialDropout1D", "SpatialDropout2D", "Reshape", "Permute",
           "UpSampling1D", "Cropping1D", "from_torch_conv2d", "from_torch_linear", "fashion_mnist_cnn", "digits_cnn"]

_LAYOUTS = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)"}
_LAYOUTS_CF = {1: "(batch, channels, steps)", 2: "(batch, channels, height, width)"}


def _int_tuple(value, nd, what, who):
    try:
        return _conv._positive_tuple(value, nd, what, who)
    except (TypeError, ValueError) as err:
        raise type(err)(str(err)) from None


def _jsonable_padding(padding):
    if isinstance(padding, str):
        return padding.lower()
    if isinstance(padding, (int, np.integer)):
        return int(padding)
    return [p if isinstance(p, (int, np.integer)) else [int(v) for v in p] for p in padding]


def _check_data_format(data_format, who):
    fmt = "channels_last" if data_format is None else str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return fmt


def _shape_hint(shape, nd, channels_first):
    """What to do with an input of the wrong rank, for the error message."""
    shape = tuple(shape)
    want = nd + 2
    if len(shape) == want - 1:
        return (f"; add a channel axis: x[:, None] gives {(shape[0], 1) + shape[1:]}" if channels_first else
                f"; add a channel axis: x[..., None] gives {shape + (1,)}")
    if nd == 2 and len(shape) == 2:
        side = math.isqrt(shape[1])
        if side * side == shape[1]:
            target = (shape[0], 1, side, side) if channels_first else (shape[0], side, side, 1)
            return f"; reshape images to {target}"
        return "; reshape the flat rows into (batch, height, width, channels) images"
    if nd == 1 and len(shape) == 1:
        return f"; reshape to {(1, shape[0], 1)} for one sequence of one channel"
    return ""


class _Spatial(Layer):
    """Shared by the layers of this module: rank checks and the channels-first transposes."""

    rank = 2
    data_format = "channels_last"

    def _who(self):
        return type(self).__name__

    def _check_input(self, shape):
        nd = self.rank
        if len(shape) != nd + 2:
            cf = self.data_format == "channels_first"
            layout = (_LAYOUTS_CF if cf else _LAYOUTS).get(nd, f"(batch, {nd} spatial axes, channels)")
            raise ValueError(f"{self._who()}: expected input of rank {nd + 2} {layout}, got shape {tuple(shape)}"
                             f"{_shape_hint(shape, nd, cf)}")

    def _to_last(self, x):
        if self.data_format != "channels_first":
            return x
        return ops.transpose(x, (0,) + tuple(range(2, self.rank + 2)) + (1,))

    def _to_format(self, y):
        if self.data_format != "channels_first":
            return y
        return ops.transpose(y, (0, self.rank + 1) + tuple(range(1, self.rank + 1)))

    def _split(self, shape):
        """(spatial sizes, channels) of a full input shape in this layer's format."""
        shape = tuple(shape)
        if self.data_format == "channels_first":
            return shape[2:], shape[1]
        return shape[1:-1], shape[-1]

    def _join(self, n, spatial, channels):
        if self.data_format == "channels_first":
            return (n, channels) + tuple(spatial)
        return (n,) + tuple(spatial) + (channels,)

    def _built_shape(self):
        """The per-sample input shape once built (for get_config, so a loaded model builds at once)."""
        return None if self.input_shape is None else list(self.input_shape[1:])

    def _lazy_build(self, x):
        """Build on the first input: weights where there are any, and the shapes that summary() shows."""
        if not self.__dict__.get("_self_built", True) or self.output_shape is None:
            self.build((None,) + tuple(np.shape(_data(x)))[1:])


# ------------------------------------------------------------------------------ convolution
class _Conv(_Spatial):
    """An N-D convolution layer (see :class:`Conv2D`)."""

    _weight_constraints = (("kernel_constraint", "kernel"), ("bias_constraint", "bias"))

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str | int | Sequence[int] | Sequence[tuple[int, int]] = "valid",
                 data_format: Literal["channels_last", "channels_first"] | None = None,
                 dilation_rate: int | Sequence[int] = 1, groups: int = 1,
                 activation: str | Callable[..., Tensor] | None = None, use_bias: bool = True,
                 kernel_initializer: str | Initializer | Callable[..., np.ndarray] = "glorot_uniform",
                 bias_initializer: str | Initializer | Callable[..., np.ndarray] = "zeros",
                 kernel_regularizer: str | Regularizer | Callable[[Tensor], Tensor] | None = None,
                 bias_regularizer: str | Regularizer | Callable[[Tensor], Tensor] | None = None,
                 input_shape: Sequence[int | None] | None = None, dtype: DTypeLike = None, **kwargs: Any) -> None:
        nd = self.rank
        who = f"{type(self).__name__}(filters={filters!r})"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _int_tuple(kernel_size, nd, "kernel_size", who)
        self.strides = _int_tuple(strides, nd, "strides", who)
        self.dilation_rate = _int_tuple(dilation_rate, nd, "dilation_rate", who)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{who}: groups must be a positive integer, got {groups!r}")
        if filters % groups:
            raise ValueError(f"{who}: groups={groups} must divide the number of filters")
        self.groups = int(groups)
        if isinstance(padding, str) and padding.lower() == "causal" and nd != 1:
            raise ValueError(f"{who}: padding='causal' is only for Conv1D")
        # resolve once on a dummy size to validate the specification (an error names the layer)
        _conv.conv_padding(padding, (max(self.kernel_size),) * nd, self.kernel_size, self.strides,
                           self.dilation_rate, who)
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.data_format = _check_data_format(data_format, who)
        self.activation = activations.get(activation)
        act = activations.fusable(self.activation)
        self._fused_act = None if act is None else act.name   # applied inside the convolution node
        self.use_bias = bool(use_bias)
        self.kernel_initializer = init.get(kernel_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dtype = _checks.dtype(type(self).__name__, dtype) if dtype is not None else None
        super().__init__(input_shape, **kwargs)
        object.__setattr__(self, "_self_built", False)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _who(self):
        return f"{type(self).__name__}(filters={self.filters})"

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        input_shape = tuple(input_shape)
        self._check_input(input_shape)
        spatial, channels = self._split(input_shape)
        if channels is None:
            raise ValueError(f"{self._who()}: cannot build without knowing the number of input channels, got "
                             f"input shape {input_shape}")
        if channels % self.groups:
            raise ValueError(f"{self._who()}: groups={self.groups} must divide the {channels} input channels")
        shape = self.kernel_size + (channels // self.groups, self.filters)
        if not (self.__dict__.get("_self_built") and self.kernel.shape == shape):
            dtype = self.dtype or get_default_dtype()
            self.kernel = Parameter(self.kernel_initializer(shape, dtype=dtype, rng=get_rng()))
            if self.use_bias:
                self.bias = Parameter(self.bias_initializer((self.filters,), dtype=dtype, rng=get_rng()))
        return super().build(input_shape)

    def _pads(self, spatial):
        return _conv.conv_padding(self.padding, spatial, self.kernel_size, self.strides, self.dilation_rate,
                                  self._who())

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial, _ = self._split(input_shape)
        if isinstance(self.padding, str) and self.padding == "same":
            out = [None if n is None else -(-n // s) for n, s in zip(spatial, self.strides)]
        else:
            pads = self._pads([0 if n is None else n for n in spatial])
            out = [None if n is None else _conv.conv_output_size(n, k, s, d, p)
                   for n, k, s, d, p in zip(spatial, self.kernel_size, self.strides, self.dilation_rate, pads)]
        return self._join(input_shape[0], out, self.filters)

    def _checked(self, x):
        """The input's spatial sizes and their padding, after checking its rank, channels and size."""
        shape = np.shape(_data(x))
        self._check_input(shape)
        self._lazy_build(x)
        spatial, channels = self._split(shape)
        expected = self.kernel.shape[-2] * self.groups
        if channels != expected:
            raise ValueError(f"{self._who()}: expected inputs with {expected} channels, got shape {tuple(shape)}"
                             + ("; this layer is channels_first" if self.data_format == "channels_first" else ""))
        pads = self._pads(spatial)
        _conv._Geometry((shape[0],) + tuple(spatial) + (channels,), self.kernel.shape, self.strides, pads,
                        self.dilation_rate, self.groups, op=self._who())
        return spatial, pads

    def forward(self, x: TensorLike) -> Tensor:
        _, pads = self._checked(x)
        fused = self._fused_act
        y = _conv.convolution(self._to_last(x), self.kernel, self.bias if self.use_bias else None, self.strides,
                              pads, self.dilation_rate, self.groups, activation=fused)
        if fused is None and self.activation is not ops.identity:
            y = self.activation(y)
        return self._to_format(y)

    def forward_fused(self, x: TensorLike, following: Sequence[Module]) -> tuple[Tensor, int]:
        """Run this convolution and the max pooling after it (with an activation layer between, if any)
        as one graph node when that is exact; return (output, number of ``following`` layers used).

        The pooling must be a plain 'valid' max pooling of the same rank and data format, and the
        activation one of :data:`chainrule.ops.conv.MONOTONE_ACTIVATIONS`.
        """
        if type(self).forward is not _Conv.forward or not following or self.activity_regularizer is not None or \
                (self._fused_act is None and self.activation is not ops.identity):  # softmax, custom: not fused
            return self(x), 0
        act, used = self._fused_act, 0
        nxt = following[0]
        if act in (None, "identity") and self.activation is ops.identity and _plain_activation(nxt):
            act, used = activations.fusable(nxt.fn).name, 1
            nxt = following[1] if len(following) > 1 else None
        if not (isinstance(nxt, _Pooling) and nxt._plain_max() and nxt.rank == self.rank
                and nxt.data_format == self.data_format and (act is None or act in _conv.MONOTONE_ACTIVATIONS)):
            if used:  # only the activation layer: fuse that
                return self._convolve_with(x, act), 1
            return self(x), 0
        spatial, pads = self._checked(x)
        conv_out = [_conv.conv_output_size(n, k, s, d, p) for n, k, s, d, p in
                    zip(spatial, self.kernel_size, self.strides, self.dilation_rate, pads)]
        try:
            _conv._PoolGeometry(conv_out, nxt.pool_size, nxt.strides, ((0, 0),) * self.rank)
        except ValueError:
            return self(x), 0  # let the pooling layer say what is wrong
        if nxt.output_shape is None:
            nxt.build(self._join(None, conv_out, self.filters))
        y = _conv.convolution(self._to_last(x), self.kernel, self.bias if self.use_bias else None, self.strides,
                              pads, self.dilation_rate, self.groups, activation=act,
                              max_pool=(nxt.pool_size, nxt.strides))
        return self._to_format(y), used + 1

    def _convolve_with(self, x, act):
        _, pads = self._checked(x)
        y = _conv.convolution(self._to_last(x), self.kernel, self.bias if self.use_bias else None, self.strides,
                              pads, self.dilation_rate, self.groups, activation=act)
        return self._to_format(y)

    # --------------------------------------------------------------- weights in and out
    def get_weights(self, layout: Literal["keras", "torch"] = "keras") -> list[np.ndarray]:
        """[kernel, bias] as arrays (copies), in Keras' layout (*kernel, in/groups, filters) or, with
        ``layout='torch'``, PyTorch's (filters, in/groups, *kernel)."""
        w = self.kernel.numpy().copy()
        if layout == "torch":
            w = np.ascontiguousarray(np.moveaxis(w, (-1, -2), (0, 1)))
        elif layout != "keras":
            raise ValueError(f"{self._who()}.get_weights: layout must be 'keras' or 'torch', got {layout!r}")
        return [w] + ([self.bias.numpy().copy()] if self.use_bias else [])

    def set_weights(self, weights: Sequence[ArrayLike], layout: Literal["keras", "torch"] | None = None) -> None:
        """Copy [kernel] or [kernel, bias] in, in place (optimizers stay bound).

        The kernel may be in Keras' layout (*kernel, in/groups, filters) or PyTorch's (filters,
        in/groups, *kernel) (a NumPy array, or a torch tensor); ``layout`` None tells them apart by
        shape and asks for 'keras' or 'torch' when both fit.
        """
        weights = [_array(w) for w in weights]
        if len(weights) != 1 + self.use_bias:
            raise ValueError(f"{self._who()}.set_weights: expected {1 + self.use_bias} arrays ([kernel"
                             f"{', bias' if self.use_bias else ''}]), got {len(weights)}")
        self._lazy_build_from_kernel(weights[0], layout)
        kernel = _kernel_from(weights[0], self.kernel.shape, layout, self._who())
        np.copyto(self.kernel.data, kernel, casting="same_kind")
        if self.use_bias:
            if weights[1].shape != self.bias.shape:
                raise ValueError(f"{self._who()}.set_weights: bias must have shape {self.bias.shape}, got "
                                 f"{weights[1].shape}")
            np.copyto(self.bias.data, weights[1], casting="same_kind")
            self.bias._changed()
        self.kernel._changed()  # a graph recorded before cannot be back-propagated (Tensor.add_)

    def build_from_weights(self, shapes: Mapping[str, Sequence[int]]) -> None:
        """Create the kernel and bias from their saved shapes (``load_state_dict`` on a lazy model): the
        channels follow from the kernel; the spatial sizes stay unknown until the first call."""
        if "kernel" in shapes:
            channels = shapes["kernel"][-2] * self.groups
            self.build(self._join(None, (None,) * self.rank, channels))

    def _lazy_build_from_kernel(self, w, layout):
        if self.__dict__.get("_self_built"):
            return
        nd = self.rank
        torch_like = layout == "torch" or (layout is None and w.shape[2:] == self.kernel_size
                                           and w.shape[:nd] != self.kernel_size)
        cin = (w.shape[1] if torch_like else w.shape[-2]) * self.groups
        self.build(self._join(None, (None,) * nd, cin))

    def get_config(self) -> dict[str, Any]:
        act = activations.name_of(self.activation)
        if act is None:
            raise TypeError(f"{self._who()}: cannot save a custom activation {self.activation!r}; use a named one")
        return {"filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": _jsonable_padding(self.padding), "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups, "activation": act,
                "use_bias": self.use_bias, "kernel_initializer": init.serialize(self.kernel_initializer),
                "bias_initializer": init.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer), **self._constraint_config(),
                "input_shape": self._built_shape(), "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        act = activations.name_of(self.activation) or "custom"
        return (f"filters={self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}, activation={act!r}")


def _plain_activation(layer):
    """An Activation layer (or ReLU, Tanh, ...) whose function a convolution can apply in place."""
    return (isinstance(layer, Activation) and type(layer).forward is Activation.forward and not layer.kwargs
            and activations.fusable(layer.fn) is not None)


def _array(w):
    if hasattr(w, "detach") and hasattr(w, "cpu"):  # a torch tensor
        w = w.detach().cpu().numpy()
    elif hasattr(w, "numpy") and not isinstance(w, np.ndarray):
        w = w.numpy()
    return np.asarray(w)


def _kernel_from(w, shape, layout, who):
    """A kernel in Keras' layout ``shape`` from w in Keras' or PyTorch's layout."""
    nd = len(shape) - 2
    torch_shape = (shape[-1], shape[-2]) + tuple(shape[:nd])
    fits_keras, fits_torch = w.shape == tuple(shape), w.shape == torch_shape
    if layout is None:
        if fits_keras and fits_torch:
            raise ValueError(f"{who}: a kernel of shape {w.shape} fits both Keras' (*kernel, in, out) and PyTorch's "
                             f"(out, in, *kernel) layouts; pass layout='keras' or layout='torch'")
        layout = "keras" if fits_keras else "torch" if fits_torch else None
    if layout == "torch" and fits_torch:
        return np.moveaxis(w, (0, 1), (-1, -2))
    if layout == "keras" and fits_keras:
        return w
    raise ValueError(f"{who}: expected a kernel of shape {tuple(shape)} (Keras: *kernel, in/groups, filters) or "
                     f"{torch_shape} (PyTorch: filters, in/groups, *kernel), got {w.shape}")


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels): spectra, time series.

    z[n, t, f] = sum_{p, c} x[n, s t + d p, c] w[p, c, f],  a = f_act(z + b); kernel (k, C/groups, F).
    ``padding`` 'valid', 'same', 'causal' (output t sees inputs up to t only), an int or a
    (before, after) pair.  Other arguments as :class:`Conv2D`.

    >>> import numpy as np
    >>> Conv1D(4, 3, padding='causal', input_shape=(20, 2)).output_shape
    (None, 20, 4)
    """

    rank = 1


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels), as Keras' ``layers.Conv2D``.

    z[n, i, j, f] = sum_{p, q, c} xpad[n, s_h i + d_h p, s_w j + d_w q, c] w[p, q, c, f],
    a = activation(z + b)  (see :mod:`chainrule.ops.conv` for the VJP and JVP).

    Parameters
    ----------
    filters : int
        F, the number of filters (output channels).
    kernel_size : int or (k_h, k_w)
    strides : int or (s_h, s_w)
    padding : 'valid', 'same', int or ((top, bottom), (left, right))
        'same' pads exactly as TensorFlow/Keras do: ceil(n / s) outputs, and an odd total puts the
        extra row at the bottom and the extra column at the right.
    data_format : 'channels_last' (default) or 'channels_first'
    dilation_rate : int or (d_h, d_w)
    groups : int
        Split the channels and filters into this many groups (``groups = C`` is depthwise).
    activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
    kernel_constraint, bias_constraint
        As for :class:`~chainrule.nn.Dense`; an elementwise activation runs inside the
        convolution's node.  Glorot's fans count the receptive field: n_in = k_h k_w C.
    input_shape : tuple, optional
        (height, width, channels) of one sample: the kernel is created at once and a Sequential
        starting with this layer is built immediately (Keras' ``input_shape=``).

    Examples
    --------
    >>> layer = Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1))
    >>> layer.output_shape, layer.kernel.shape, layer.count_params()
    ((None, 26, 26, 32), (3, 3, 1, 32), 320)
    """

    rank = 2


# ---------------------------------------------------------------------------------- pooling
class _Pooling(_Spatial):
    kind = "max"

    def __init__(self, pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
                 padding: Literal["valid", "same"] = "valid",
                 data_format: Literal["channels_last", "channels_first"] | None = None,
                 input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        nd = self.rank
        who = type(self).__name__
        self.pool_size = _int_tuple(pool_size, nd, "pool_size", who)
        self.strides = self.pool_size if strides is None else _int_tuple(strides, nd, "strides", who)
        pad = padding.lower() if isinstance(padding, str) else padding
        if pad not in ("valid", "same"):
            raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = pad
        self.data_format = _check_data_format(data_format, who)
        super().__init__(input_shape, **kwargs)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _plain_max(self):
        """A 'valid' max pooling, which a convolution before it may run in its own node."""
        return type(self).forward is _Pooling.forward and self.kind == "max" and self.padding == "valid"

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check_input(tuple(input_shape))
        return super().build(input_shape)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial, channels = self._split(input_shape)
        if self.padding == "same":
            out = [None if n is None else -(-n // s) for n, s in zip(spatial, self.strides)]
        else:
            out = [None if n is None else _conv.conv_output_size(n, k, s)
                   for n, k, s in zip(spatial, self.pool_size, self.strides)]
        return self._join(input_shape[0], out, channels)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        shape = np.shape(_data(x))
        self._check_input(shape)
        self._lazy_build(x)
        xl = self._to_last(x)
        if self.kind == "max":
            y = _conv.max_pool(xl, self.pool_size, self.strides, self.padding, nd=self.rank)
        else:
            y = _conv.avg_pool(xl, self.pool_size, self.strides, self.padding, nd=self.rank)
        return self._to_format(y)

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, "input_shape": self._built_shape()}

    def extra_repr(self) -> str:
        return f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}"


class MaxPooling1D(_Pooling):
    """Max pooling over steps of (batch, steps, channels); gradient to each window's first maximum."""

    rank = 1


class MaxPooling2D(_Pooling):
    """Max pooling, as Keras' ``layers.MaxPooling2D``: y[n, i, j, c] = max of x[n, ., ., c] over window (i, j).

    Windows of ``pool_size`` every ``strides`` (default: ``pool_size``, side by side); 'same'
    padding never wins the max.  The gradient goes to the *first* maximum of each window in
    row-major order, as in TensorFlow: with ties (the flat zero backgrounds of images), one
    entry gets the window's whole gradient, never each of the tied ones.

    >>> MaxPooling2D(2, input_shape=(26, 26, 32)).output_shape
    (None, 13, 13, 32)
    """

    rank = 2


class AveragePooling1D(_Pooling):
    """Average pooling over steps of (batch, steps, channels)."""

    rank = 1
    kind = "avg"


class AveragePooling2D(_Pooling):
    """Average pooling, as Keras' ``layers.AveragePooling2D``: y = mean of each window; with 'same'
    padding the mean is over the window's entries inside the image (TensorFlow's rule)."""

    rank = 2
    kind = "avg"


class _GlobalPooling(_Spatial):
    kind = "avg"

    def __init__(self, data_format: Literal["channels_last", "channels_first"] | None = None, keepdims: bool = False,
                 input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        self.data_format = _check_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        super().__init__(input_shape, **kwargs)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check_input(tuple(input_shape))
        return super().build(input_shape)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial, channels = self._split(input_shape)
        if self.keepdims:
            return self._join(input_shape[0], (1,) * len(spatial), channels)
        return (input_shape[0], channels)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        self._check_input(np.shape(_data(x)))
        self._lazy_build(x)
        axes = tuple(range(2, self.rank + 2)) if self.data_format == "channels_first" else \
            tuple(range(1, self.rank + 1))
        fn = ops.mean if self.kind == "avg" else ops.max
        return fn(x, axis=axes, keepdims=self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {"data_format": self.data_format, "keepdims": self.keepdims, "input_shape": self._built_shape()}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (batch, steps, channels) -> (batch, channels).  With a mask on the input (an
    Embedding with ``mask_zero``, a ``Masking`` layer, or ``mask=`` (batch, steps)) the mean runs over the
    unmasked steps only, as in Keras."""

    rank = 1

    def forward(self, x: TensorLike, mask: ArrayLike | None = None) -> Tensor | np.ndarray:
        mask = get_mask(x) if mask is None else np.asarray(_data(mask), dtype=bool)
        if mask is None:
            return super().forward(x)
        self._check_input(np.shape(_data(x)))
        self._lazy_build(x)
        steps = 2 if self.data_format == "channels_first" else 1
        m = mask[:, None, :] if steps == 2 else mask[:, :, None]
        total = ops.sum(ops.where(m, x, 0.0), axis=steps, keepdims=self.keepdims)
        return ops.div(total, np.sum(m, axis=steps, keepdims=self.keepdims).astype(_data(x).dtype))


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, height, width, channels) -> (batch, channels)."""

    rank = 2


class GlobalMaxPooling1D(_GlobalPooling):
    """Maximum over the steps: (batch, steps, channels) -> (batch, channels).  As TensorFlow's reduce_max,
    a tie shares the gradient equally."""

    rank = 1
    kind = "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """Maximum over height and width: (batch, height, width, channels) -> (batch, channels).  As
    TensorFlow's reduce_max, a tie shares the gradient equally."""

    rank = 2
    kind = "max"


# --------------------------------------------------------------------------------- helpers
class _ZeroPadding(_Spatial):
    def __init__(self, padding: int | Sequence[int] | Sequence[tuple[int, int]] = 1,
                 data_format: Literal["channels_last", "channels_first"] | None = None,
                 input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        who = type(self).__name__
        try:
            pads = _conv.conv_padding(padding if not isinstance(padding, str) else -1, (1,) * self.rank,
                                      (1,) * self.rank, op=who)
        except (TypeError, ValueError):
            raise ValueError(f"{who}: padding must be an int, one int per axis or one (before, after) pair per "
                             f"axis, got {padding!r}") from None
        self.padding = pads
        self.data_format = _check_data_format(data_format, who)
        super().__init__(input_shape, **kwargs)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check_input(tuple(input_shape))
        return super().build(input_shape)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial, channels = self._split(input_shape)
        out = [None if n is None else n + lo + hi for n, (lo, hi) in zip(spatial, self.padding)]
        return self._join(input_shape[0], out, channels)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        self._check_input(np.shape(_data(x)))
        self._lazy_build(x)
        width = [(0, 0)] + list(self.padding) + [(0, 0)]
        if self.data_format == "channels_first":
            width = [(0, 0), (0, 0)] + list(self.padding)
        return ops.pad(x, width)

    def get_config(self) -> dict[str, Any]:
        return {"padding": [list(p) for p in self.padding], "data_format": self.data_format,
                "input_shape": self._built_shape()}


class ZeroPadding1D(_ZeroPadding):
    """Zeros before and after the steps of (batch, steps, channels): ``padding`` int or (before, after)."""

    rank = 1

    def __init__(self, padding: int | tuple[int, int] = 1,
                 data_format: Literal["channels_last", "channels_first"] | None = None,
                 input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(isinstance(p, (int, np.integer))
                                                                           for p in padding):
            padding = (tuple(padding),)
        super().__init__(padding, data_format, input_shape, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Zero rows and columns around each image, as Keras' ``layers.ZeroPadding2D``.

    ``padding``: an int (all four sides), (rows, columns) (symmetric), or
    ((top, bottom), (left, right)).

    >>> ZeroPadding2D(((1, 2), (3, 4)), input_shape=(5, 5, 3)).output_shape
    (None, 8, 12, 3)
    """

    rank = 2


class _SpatialDropout(_Spatial):
    _passes_mask = True    # drops whole feature maps, each step alone: the input's mask stays (as Keras')

    def __init__(self, rate: float, data_format: Literal["channels_last", "channels_first"] | None = None,
                 seed: int | None = None, input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        who = type(self).__name__
        self.rate = _checks.in_range(who, "rate", rate, 0.0, 1.0, hi_open=True)
        self.seed = _checks.seed(who, seed)
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.data_format = _check_data_format(data_format, who)
        super().__init__(input_shape, **kwargs)

    def forward(self, x: TensorLike) -> TensorLike:
        data = _data(x)
        self._check_input(data.shape)
        if not self.training or self.rate == 0:
            return x
        shape = [data.shape[0]] + [1] * self.rank + [data.shape[-1]]
        if self.data_format == "channels_first":
            shape = [data.shape[0], data.shape[1]] + [1] * self.rank
        return ops.mul(x, dropout_mask(tuple(shape), self.rate, data.dtype, self._rng))

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "data_format": self.data_format, "seed": self.seed}

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of (batch, steps, channels): each sample drops a channel at every step,
    y = x m / (1 - rate) with one Bernoulli(1 - rate) m per (sample, channel); the identity in evaluation."""

    rank = 1


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps, as Keras' ``layers.SpatialDropout2D``: neighbouring pixels are
    correlated, so dropping single pixels regularizes little; each sample keeps or drops each channel
    whole, y = x m / (1 - rate) with one Bernoulli(1 - rate) m per (sample, channel)."""

    rank = 2


class Reshape(Layer):
    """Reshape every sample to ``target_shape`` (the batch axis is kept), as Keras' ``layers.Reshape``;
    one entry may be -1.

    >>> import numpy as np
    >>> Reshape((28, 28, 1))(np.zeros((5, 784))).shape
    (5, 28, 28, 1)
    """

    def __init__(self, target_shape: Sequence[int], input_shape: Sequence[int | None] | None = None,
                 **kwargs: Any) -> None:
        try:
            target = tuple(int(d) for d in target_shape)
        except TypeError:
            raise TypeError(f"Reshape: target_shape must be a tuple of ints, got {target_shape!r}") from None
        if sum(d == -1 for d in target) > 1 or any(d < 1 and d != -1 for d in target):
            raise ValueError(f"Reshape: target_shape must hold positive ints and at most one -1, got {target_shape!r}")
        self.target_shape = target
        super().__init__(input_shape, **kwargs)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _resolve(self, sample_shape, who="Reshape"):
        if any(d is None for d in sample_shape):
            return None if -1 in self.target_shape else self.target_shape
        size = math.prod(sample_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise ValueError(f"{who}: cannot reshape samples of shape {tuple(sample_shape)} ({size} values) into "
                                 f"{self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(f"{who}: cannot reshape samples of shape {tuple(sample_shape)} ({size} values) into "
                             f"{self.target_shape} ({known} values)")
        return self.target_shape

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        target = self._resolve(tuple(input_shape)[1:])
        return (input_shape[0],) + (target if target is not None else self.target_shape)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        shape = np.shape(_data(x))
        if len(shape) < 1:
            raise ValueError("Reshape: expected a batch of samples, got a scalar")
        return ops.reshape(x, (shape[0],) + self._resolve(shape[1:]))

    def get_config(self) -> dict[str, Any]:
        return {"target_shape": list(self.target_shape),
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:])}

    def extra_repr(self) -> str:
        return f"target_shape={self.target_shape}"


class Permute(Layer):
    """Reorders the axes of every sample (Keras' ``Permute``): ``dims`` a permutation of 1..rank (the batch
    axis 0 stays), so ``Permute((2, 1))`` turns (batch, time, features) into (batch, features, time).

    >>> import numpy as np
    >>> Permute((2, 1))(np.zeros((5, 3, 4))).shape
    (5, 4, 3)
    """

    def __init__(self, dims: Sequence[int], input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        try:
            order = tuple(int(d) for d in dims)
        except TypeError:
            raise TypeError(f"Permute: dims must be a tuple of ints, got {dims!r}") from None
        if sorted(order) != list(range(1, len(order) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(order)} (axis 0, the batch, stays), got "
                             f"{dims!r}")
        self.dims = order
        super().__init__(input_shape, **kwargs)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def _check(self, rank):
        if rank != len(self.dims) + 1:
            raise ValueError(f"{self!r}: dims {self.dims} permute samples of rank {len(self.dims)}, got an input of "
                             f"rank {rank} (batch axis included)")

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check(len(input_shape))
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        self._check(np.ndim(_data(x)))
        return ops.transpose(x, (0,) + self.dims)

    def get_config(self) -> dict[str, Any]:
        return {"dims": list(self.dims),
                "input_shape": None if self.input_shape is None else list(self.input_shape[1:])}

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class UpSampling1D(Layer):
    """Repeats every time step ``size`` times (Keras' ``UpSampling1D``): (batch, steps, features) ->
    (batch, steps size, features), y_(t size + k) = x_t.  Its VJP sums the adjoints of each step's copies.

    >>> import numpy as np
    >>> np.asarray(UpSampling1D(2)(np.array([[[1.0], [2.0]]]))).ravel().tolist()
    [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        self.size = _checks.positive_int("UpSampling1D", "size", size)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, t, f = _rank3(self, input_shape)
        return (n, None if t is None else t * self.size, f)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        n, t, f = _rank3(self, np.shape(_data(x)))
        y = ops.broadcast_to(ops.reshape(x, (n, t, 1, f)), (n, t, self.size, f))
        return ops.reshape(y, (n, t * self.size, f))

    def get_config(self) -> dict[str, Any]:
        return {"size": self.size, "name": self.name}

    def extra_repr(self) -> str:
        return f"size={self.size}"


class Cropping1D(Layer):
    """Drops steps at the start and the end of every sequence (Keras' ``Cropping1D``): ``cropping`` an int
    (the same at both ends) or (start, end); (batch, steps, features) -> (batch, steps - start - end, features).

    >>> import numpy as np
    >>> Cropping1D((1, 2))(np.zeros((2, 6, 3))).shape
    (2, 3, 3)
    """

    def __init__(self, cropping: int | tuple[int, int] = (1, 1), **kwargs: Any) -> None:
        pair = (cropping, cropping) if isinstance(cropping, (int, np.integer)) else tuple(cropping)
        if len(pair) != 2 or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0 for c in pair):
            raise ValueError(f"Cropping1D: cropping must be an int >= 0 or a pair (start, end) of them, got "
                             f"{cropping!r}")
        self.cropping = (int(pair[0]), int(pair[1]))
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, t, f = _rank3(self, input_shape)
        if t is not None and t <= sum(self.cropping):
            raise ValueError(f"{self!r}: cropping {self.cropping} leaves nothing of {t} steps")
        return (n, None if t is None else t - sum(self.cropping), f)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        t = self.compute_output_shape(np.shape(_data(x)))[1]
        return ops.getitem(x, (slice(None), slice(self.cropping[0], self.cropping[0] + t)))

    def get_config(self) -> dict[str, Any]:
        return {"cropping": list(self.cropping), "name": self.name}

    def extra_repr(self) -> str:
        return f"cropping={self.cropping}"


def _rank3(layer, shape):
    if len(shape) != 3:
        raise ValueError(f"{layer!r}: expected input of shape (batch, steps, features), got shape {tuple(shape)}")
    return tuple(shape)


# ------------------------------------------------------------------------- weight interchange
def from_torch_conv2d(weight: ArrayLike, bias: ArrayLike | None = None) -> list[np.ndarray]:
    """A ``torch.nn.Conv2d``'s weight (out, in/groups, k_h, k_w) and bias as ``[kernel, bias]`` in Keras'
    layout (k_h, k_w, in/groups, out), ready for ``Conv2D.set_weights`` (NumPy arrays or torch tensors).

    >>> import numpy as np
    >>> [k.shape for k in from_torch_conv2d(np.zeros((32, 1, 3, 5)), np.zeros(32))]
    [(3, 5, 1, 32), (32,)]
    """
    w = _array(weight)
    if w.ndim != 4:
        raise ValueError(f"from_torch_conv2d: expected a weight of shape (out, in/groups, k_h, k_w), got {w.shape}")
    out = [np.ascontiguousarray(w.transpose(2, 3, 1, 0))]
    if bias is not None:
        b = _array(bias)
        if b.shape != (w.shape[0],):
            raise ValueError(f"from_torch_conv2d: expected a bias of shape ({w.shape[0]},), got {b.shape}")
        out.append(b.copy())
    return out


def from_torch_linear(weight: ArrayLike, bias: ArrayLike | None = None,
                      flattened_from: Sequence[int] | None = None) -> list[np.ndarray]:
    """A ``torch.nn.Linear``'s weight (out, in) and bias as ``[kernel, bias]`` for ``Dense`` (kernel (in, out)).

    ``flattened_from=(C, H, W)`` says the layer followed a Flatten of channels-first volumes: PyTorch
    numbers the inputs c H W + h W + w, a channels-last Flatten (h W + w) C + c, so the kernel's rows
    are permuted to match.  With it, a PyTorch CNN's weights give a channels-last chainrule CNN
    with the same outputs.
    """
    w = _array(weight)
    if w.ndim != 2:
        raise ValueError(f"from_torch_linear: expected a weight of shape (out, in), got {w.shape}")
    kernel = w.T
    if flattened_from is not None:
        shape = tuple(int(d) for d in flattened_from)
        if math.prod(shape) != w.shape[1]:
            raise ValueError(f"from_torch_linear: flattened_from={shape} has {math.prod(shape)} values but the "
                             f"weight takes {w.shape[1]} inputs")
        # row r of the channels-last kernel is input (h, w, c), which PyTorch numbered c H W + h W + w
        order = np.arange(w.shape[1]).reshape(shape).transpose(tuple(range(1, len(shape))) + (0,)).reshape(-1)
        kernel = kernel[order]
    out = [np.ascontiguousarray(kernel)]
    if bias is not None:
        out.append(_array(bias).copy())
    return out


# ------------------------------------------------------------------------------ the networks
def digits_cnn(n_filters: int = 10, receptive_field: int = 3, n_neurons_connected: int = 50, n_categories: int = 10,
               lmbd: float = 0.0, input_shape: Sequence[int] = (8, 8, 1)) -> Sequential:
    """The notes' CNN for scikit-learn's 8x8 digits: CONV (10 filters 3x3, ReLU) -> POOL 2x2 ->
    FC 50 (ReLU) -> softmax over 10 classes, each weight with an L2 penalty lmbd."""
    reg = regularizers.l2(lmbd) if lmbd else None
    return Sequential([Conv2D(n_filters, receptive_field, activation="relu", kernel_regularizer=reg,
                              input_shape=input_shape),
                       MaxPooling2D(2), Flatten(),
                       Dense(n_neurons_connected, activation="relu", kernel_regularizer=reg),
                       Dense(n_categories, activation="softmax", kernel_regularizer=reg)])


def fashion_mnist_cnn(input_shape: Sequence[int] = (28, 28, 1), n_classes: int = 10, filters: Sequence[int] = (32, 64),
                      dense: int = 128, dropout: float = 0.0) -> Sequential:
    """The issue's Fashion-MNIST network (the notes' CIFAR-10 pattern on 28x28 images): CONV 32 3x3 ReLU ->
    POOL 2x2 -> CONV 64 3x3 ReLU -> POOL 2x2 -> Flatten -> FC 128 ReLU -> softmax over 10 classes.
    This is what the command line's ``--model cnn`` builds.

    >>> fashion_mnist_cnn().count_params()
    225034
    """
    layers = []
    for i, f in enumerate(filters):
        layers += [Conv2D(f, 3, activation="relu", input_shape=input_shape if i == 0 else None), MaxPooling2D(2)]
    layers += [Flatten(), Dense(dense, activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(n_classes, activation="softmax"))
    return Sequential(layers)

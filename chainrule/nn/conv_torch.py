"""PyTorch's convolutional layers, channels-first as PyTorch users write them, over the same primitives.

``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
bias=True)`` takes (batch, channels, height, width), ``MaxPool2d``/``AvgPool2d`` pool such
volumes, ``AdaptiveAvgPool2d`` averages to a fixed output size, ``BatchNorm2d`` normalizes each
channel over (batch, height, width).  They are the layers of :mod:`chainrule.nn.conv` with
``data_format='channels_first'`` and PyTorch's arguments, initialization and defaults: the
convolution is the same primitive (the input is transposed to channels-last around it), a
``Conv2d, ReLU, MaxPool2d`` sequence in a ``Sequential`` runs as one node, and
:class:`~chainrule.nn.core.Flatten` flattens (C, H, W) in PyTorch's order.  Exported by
:mod:`chainrule.torch.nn`.

Parameters keep chainrule's names and layouts: ``kernel`` (k_h, k_w, in/groups, out) and
``bias``; ``set_weights([weight, bias])`` takes a PyTorch state's arrays as they are.

>>> import numpy as np
>>> from chainrule.nn import Sequential, Flatten, Linear, ReLU
>>> net = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 4 * 4, 10))
>>> net(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape
(2, 10)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chainrule import ops
from chainrule.nn import init
from chainrule.nn.conv import _Conv, _Pooling, _Spatial, _int_tuple
from chainrule.nn.core import _data, permuted_view
from chainrule.nn.normalization import BatchNormalization
from chainrule.ops import conv as _conv
from chainrule.nn.core import PermutedParameter
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import DTypeLike, TensorLike

__all__ = ["Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
           "BatchNorm2d"]


def _torch_padding(padding, nd, stride, who):
    """PyTorch's padding (int, tuple of ints, 'same', 'valid') as chainrule's padding spec."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("same", "valid"):
            raise ValueError(f"{who}: padding must be 'same', 'valid', an int or a tuple of ints, got {padding!r}")
        if mode == "same" and any(s != 1 for s in stride):
            raise ValueError(f"{who}: padding='same' is not supported for strided convolutions (as in PyTorch)")
        return mode
    return tuple((p, p) for p in _padding_tuple(padding, nd, who))


def _padding_tuple(padding, nd, who):
    """PyTorch's symmetric padding: an int or one int per axis, each >= 0."""
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        padding = (int(padding),) * nd
    try:
        pads = tuple(int(p) for p in padding)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: padding must be an int or a tuple of {nd} ints, got {padding!r}") from None
    if len(pads) != nd or any(p < 0 for p in pads):
        raise ValueError(f"{who}: padding must be an int or a tuple of {nd} ints >= 0, got {padding!r}")
    return pads


class _TorchConv(_Conv):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | Literal["same", "valid"] = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: Literal["zeros"] = "zeros", dtype: DTypeLike = None) -> None:
        nd = self.rank
        who = f"{type(self).__name__}({in_channels}, {out_channels})"
        if padding_mode != "zeros":
            raise ValueError(f"{who}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        if isinstance(in_channels, bool) or not isinstance(in_channels, (int, np.integer)) or in_channels < 1:
            raise ValueError(f"{who}: in_channels must be a positive integer, got {in_channels!r}")
        if in_channels % groups:
            raise ValueError(f"{who}: groups={groups} must divide in_channels={in_channels}")
        stride_t = _int_tuple(stride, nd, "stride", who)
        self._torch_padding = padding
        k = _int_tuple(kernel_size, nd, "kernel_size", who)
        fan_in = in_channels // groups * math.prod(k)
        bound = 1.0 / math.sqrt(fan_in)   # PyTorch's kaiming_uniform(a=sqrt(5)) and bias rule: U(-1/sqrt(fan_in), ..)
        super().__init__(out_channels, k, stride_t, _torch_padding(padding, nd, stride_t, who), "channels_first",
                         dilation, groups, None, bias, init.Uniform(-bound, bound), init.Uniform(-bound, bound),
                         dtype=dtype)
        self.in_channels = int(in_channels)
        # The kernel exists at once (PyTorch's layers know their channels), but no input shape is
        # recorded: the spatial size is unknown, and a Sequential must not try to build from it.
        _Conv.build(self, (None, self.in_channels) + (None,) * nd)
        self.input_shape = self.output_shape = None

    def _who(self):
        return f"{type(self).__name__}({self.in_channels}, {self.filters})"

    @property
    def weight(self) -> PermutedParameter:
        """PyTorch's weight, (out, in/groups, *kernel): a view of ``kernel`` (*kernel, in/groups, out)."""
        r = self.rank
        return permuted_view(self, "kernel", (r + 1, r) + tuple(range(r)))

    def _lazy_build(self, x):
        pass   # built in __init__; no input shape is recorded

    def get_config(self) -> dict[str, Any]:
        pad = self._torch_padding
        return {"in_channels": self.in_channels, "out_channels": self.filters, "kernel_size": list(self.kernel_size),
                "stride": list(self.strides), "padding": pad if isinstance(pad, (int, str)) else list(pad),
                "dilation": list(self.dilation_rate), "groups": self.groups, "bias": self.use_bias,
                "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        """PyTorch's printed form: Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))."""
        out = f"{self.in_channels}, {self.filters}, kernel_size={self.kernel_size}, stride={self.strides}"
        pad = self._torch_padding
        if isinstance(pad, str):
            out += f", padding={pad}"
        elif any(_padding_tuple(pad, self.rank, "")):
            out += f", padding={_padding_tuple(pad, self.rank, '')}"
        if any(d != 1 for d in self.dilation_rate):
            out += f", dilation={self.dilation_rate}"
        if self.groups != 1:
            out += f", groups={self.groups}"
        return out + ("" if self.use_bias else ", bias=False")


class Conv1d(_TorchConv):
    """PyTorch's ``nn.Conv1d`` on (batch, channels, length); the kernel is stored as (k, in/groups, out)."""

    rank = 1


class Conv2d(_TorchConv):
    """PyTorch's ``nn.Conv2d`` on (batch, channels, height, width).

    z[n, f, i, j] = b[f] + sum_{c, p, q} xpad[n, c, s_h i + d_h p, s_w j + d_w q] w[f, c, p, q]  (PyTorch's
    indexing of the same convolution as :class:`~chainrule.nn.Conv2D`).  ``padding`` an int or (p_h, p_w)
    (zeros on both sides), 'valid', or 'same' (stride 1 only, as in PyTorch).  Weights and bias start
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups k_h k_w, as PyTorch's default.

    >>> Conv2d(3, 16, 3, padding=1).kernel.shape
    (3, 3, 3, 16)
    """

    rank = 2


class _TorchPool(_Pooling):
    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False, dilation: int = 1,
                 count_include_pad: bool = True, divisor_override: None = None) -> None:
        nd = self.rank
        who = type(self).__name__
        if dilation != 1:
            raise ValueError(f"{who}: dilation={dilation!r} is not supported (only 1)")
        if divisor_override is not None:
            raise ValueError(f"{who}: divisor_override is not supported")
        super().__init__(kernel_size, stride, "valid", "channels_first")
        self._torch_args = (kernel_size, kernel_size if stride is None else stride, padding)   # as printed
        self.pad = _padding_tuple(padding, nd, who)
        if any(2 * p > k for p, k in zip(self.pad, self.pool_size)):
            raise ValueError(f"{who}: padding {self.pad} should be at most half of the kernel size {self.pool_size} "
                             f"(as in PyTorch)")
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def _plain_max(self):
        return (type(self).forward is _TorchPool.forward and self.kind == "max" and not any(self.pad)
                and not self.ceil_mode)

    def _geometry(self, spatial):
        """(before, after) pads, the after one grown for ceil_mode; and the output sizes (PyTorch's rule:
        the last window must start inside the input or its left padding)."""
        pads, out = [], []
        for n, k, s, p in zip(spatial, self.pool_size, self.strides, self.pad):
            if n is None:
                pads.append((p, p))
                out.append(None)
                continue
            span = n + 2 * p - k
            o = (-(-span // s) if self.ceil_mode else span // s) + 1
            if self.ceil_mode and (o - 1) * s >= n + p:
                o -= 1
            pads.append((p, max(p, (o - 1) * s + k - n - p)))
            out.append(o)
        return tuple(pads), out

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial, channels = self._split(input_shape)
        return self._join(input_shape[0], self._geometry(spatial)[1], channels)

    def build(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return self.compute_output_shape(input_shape)   # nothing recorded: the spatial sizes vary

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        shape = np.shape(_data(x))
        self._check_input(shape)
        spatial, _ = self._split(shape)
        pads, _ = self._geometry(spatial)
        xl = self._to_last(x)
        if self.kind == "max":
            y = _conv.MaxPool.apply(xl, size=self.pool_size, strides=self.strides, pads=pads)
        else:
            if not any(lo or hi for lo, hi in pads):
                counted = None
            elif self.count_include_pad:   # the explicit padding counts, the ceil_mode overhang does not
                counted = tuple((0, n + 2 * p) for n, p in zip(spatial, self.pad))
            else:
                counted = tuple((p, p + n) for n, p in zip(spatial, self.pad))
            y = _conv.AvgPool.apply(xl, size=self.pool_size, strides=self.strides, pads=pads, counted=counted)
        return self._to_format(y)

    def get_config(self) -> dict[str, Any]:
        cfg = {"kernel_size": list(self.pool_size), "stride": list(self.strides), "padding": list(self.pad),
               "ceil_mode": self.ceil_mode}
        if self.kind == "avg":
            cfg["count_include_pad"] = self.count_include_pad
        return cfg

    def extra_repr(self) -> str:
        """PyTorch's printed form: MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)."""
        k, st, p = self._torch_args
        if self.kind == "max":
            return f"kernel_size={k}, stride={st}, padding={p}, dilation=1, ceil_mode={self.ceil_mode}"
        return f"kernel_size={k}, stride={st}, padding={p}"


class MaxPool1d(_TorchPool):
    """PyTorch's ``nn.MaxPool1d`` on (batch, channels, length)."""

    rank = 1

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, dilation: int = 1, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, dilation)


class MaxPool2d(_TorchPool):
    """PyTorch's ``nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`` on
    (batch, channels, height, width); the padding is -inf, and the gradient goes to each window's first
    maximum, as PyTorch's."""

    rank = 2

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, dilation: int = 1, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, dilation)


class AvgPool1d(_TorchPool):
    """PyTorch's ``nn.AvgPool1d`` on (batch, channels, length)."""

    rank = 1
    kind = "avg"

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, 1, count_include_pad)


class AvgPool2d(_TorchPool):
    """PyTorch's ``nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)``:
    the mean of each window, counting the zero padding (``count_include_pad``) or not."""

    rank = 2
    kind = "avg"

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, 1, count_include_pad, divisor_override)


def _adaptive_matrix(n, m, dtype):
    """A (m, n) averaging matrix: row i averages inputs floor(i n / m) .. ceil((i + 1) n / m) - 1 (PyTorch's bins)."""
    a = np.zeros((m, n), dtype)
    for i in range(m):
        lo, hi = (i * n) // m, -(-((i + 1) * n) // m)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


class AdaptiveAvgPool2d(_Spatial):
    """PyTorch's ``nn.AdaptiveAvgPool2d(output_size)``: averages (batch, C, H, W) down to (batch, C, h, w).

    Output entry i along an axis of n inputs averages inputs floor(i n / h) to ceil((i + 1) n / h) - 1:
    a linear map y = A_H x A_W^T per channel, applied as two matrix products (``output_size=1``, the
    global average before a classifier, is a mean).  An entry None keeps that axis' size.
    """

    rank = 2
    data_format = "channels_first"

    def __init__(self, output_size: int | tuple[int | None, int | None] | None) -> None:
        if isinstance(output_size, (int, np.integer)) or output_size is None:
            output_size = (output_size, output_size)
        output_size = tuple(output_size)
        if len(output_size) != 2 or not all(o is None or (isinstance(o, (int, np.integer)) and o >= 1)
                                            for o in output_size):
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be a positive int or a pair of them (or None), "
                             f"got {output_size!r}")
        self.output_size = tuple(None if o is None else int(o) for o in output_size)
        super().__init__()

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        spatial, channels = self._split(input_shape)
        out = [n if o is None else o for n, o in zip(spatial, self.output_size)]
        return self._join(input_shape[0], out, channels)

    def forward(self, x: TensorLike) -> Tensor | np.ndarray:
        data = _data(x)
        self._check_input(data.shape)
        h, w = data.shape[2:]
        oh, ow = (n if o is None else o for n, o in zip((h, w), self.output_size))
        if (oh, ow) == (1, 1):
            return ops.mean(x, axis=(2, 3), keepdims=True)
        dtype = data.dtype if data.dtype.kind == "f" else np.float64
        y = x
        if ow != w:
            y = ops.matmul(y, _adaptive_matrix(w, ow, dtype).T)    # (N, C, H, ow)
        if oh != h:
            y = ops.matmul(_adaptive_matrix(h, oh, dtype), y)      # (N, C, oh, ow)
        return y

    def get_config(self) -> dict[str, Any]:
        return {"output_size": list(self.output_size)}

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class BatchNorm2d(BatchNormalization):
    """PyTorch's ``nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True)`` on (batch, C, H, W).

    Each channel c is normalized over (batch, height, width): y = gamma_c (x - mu_c) / sqrt(s2_c + eps) + beta_c,
    with :class:`~chainrule.nn.BatchNormalization` doing the work on the channels-last view.  The running
    averages follow PyTorch: m <- (1 - momentum) m + momentum mu_B, and the running variance takes the
    unbiased batch variance s2_B n / (n - 1) (n = N H W), as PyTorch's does.
    """

    unbiased_running_variance = True

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: DTypeLike = None) -> None:
        if not track_running_stats:
            raise ValueError("BatchNorm2d: track_running_stats=False is not supported")
        if momentum is None or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm2d: momentum must be in [0, 1], got {momentum!r}")
        super().__init__(momentum=1.0 - momentum, epsilon=eps, center=affine, scale=affine,
                         input_dim=num_features, dtype=dtype)
        self.num_features, self.torch_momentum, self.affine = int(num_features), float(momentum), bool(affine)
        self.input_shape = self.output_shape = None   # the spatial size is not known

    def forward(self, x: TensorLike) -> Tensor:
        data = _data(x)
        if data.ndim != 4:
            raise ValueError(f"BatchNorm2d({self.num_features}): expected input of rank 4 (batch, channels, height, "
                             f"width), got shape {data.shape}")
        if data.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d({self.num_features}): expected {self.num_features} channels, got shape "
                             f"{data.shape}")
        y = super().forward(ops.transpose(x, (0, 2, 3, 1)))
        return ops.transpose(y, (0, 3, 1, 2))

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.epsilon, "momentum": self.torch_momentum,
                "affine": self.affine, "dtype": None if self.dtype is None else self.dtype.name}

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.epsilon}, momentum={self.torch_momentum}, affine={self.affine}, "
                f"bias=True, track_running_stats=True")

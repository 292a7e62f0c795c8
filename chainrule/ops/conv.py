"""Convolution and pooling primitives: channels-last, any number of spatial axes.

Notation of the notes' CNN section.  An input volume x of N images with C channels,
x of shape (N, H, W, C), meets F filters w of shape (k_h, k_w, C/G, F) (Keras' kernel layout;
G is the number of channel groups, 1 for an ordinary convolution) and a bias b (F,).  With
strides (s_h, s_w), dilation (d_h, d_w) and the input padded by zeros (p_top, p_bottom,
p_left, p_right), the CONV layer computes at each output position (i, j)

    z[n, i, j, f] = sum_{p, q, c} xpad[n, s_h i + d_h p, s_w j + d_w q, g(f) C/G + c] w[p, q, c, f]

(g(f) = f // (F/G) is the group of filter f), and the layer's output is a = f_act(z + b).  The
output size along an axis of length n is  (n + p_lo + p_hi - d (k - 1) - 1) // s + 1.

**Computing it (im2col).**  Every output position reads a k_h x k_w x C patch; copying the
patches into the rows of a column matrix ``col`` of shape (N H_out W_out, k_h k_w C) turns the
convolution into one BLAS matrix product, z = col @ w.reshape(k_h k_w C, F).  The copy is one
``np.copyto`` from a strided view of the padded input (or one strided copy per kernel offset
when there are few channels): Python loops run over kernel offsets, never over images,
pixels or channels.  The column matrix is bounded: a batch whose columns would exceed
:func:`get_column_memory_limit` (256 MiB by default) is processed in tiles of images, so a
large inference batch never allocates gigabytes.

**The VJP** (reverse mode) of z = conv(x, w), with zbar the adjoint of z:

    wbar = col^T @ zbar                       (one matrix product; col is kept from forward)
    xbar = col2im(zbar @ w^T)                 (the transpose of the patch copy)

col2im is written as one small matrix product per kernel offset (p, q), zbar @ w[p, q]^T of
shape (N H_out W_out, C), added into the strided slice of xbar that offset read from: slice
adds, never ``np.add.at``.  **The JVP** (forward mode) is bilinear:
zdot = conv(xdot, w) + conv(x, wdot).

**Pooling** (POOL layers).  Max pooling y = max over each window; its gradient goes to the
*first* maximum of each window in row-major window order (TensorFlow's and PyTorch's rule):
the forward pass runs one ``np.maximum`` pass per window offset and records, in one byte per
output, the offset that first reached the maximum (a strict ``>`` keeps the earlier one).  A
mask built by comparing with the maximum would give every tied entry the full gradient,
which the zero backgrounds of images produce everywhere.  Average pooling y = mean over each
window (the count excludes padding for TensorFlow's 'same', and is configurable).

**Fusion.**  :class:`Conv` optionally applies the bias b, an elementwise activation (one of
:func:`chainrule.ops.activations.fusable`, computed in place, its derivative taken from the
output) and a max pooling in the same graph node:  y = f(maxpool(z) + b).  Pooling first is
exact: a per-channel bias and a non-decreasing f commute with a per-channel maximum, and the
first maximum of z in a window is that of f(z + b) wherever f' is not zero.  Bias, f and
their gradients then run on the pooled array, a quarter of the size for 2x2 pooling.

Every VJP here is written with the primitives of this module (``Conv.apply`` inside
``ConvInputGrad``'s VJP, and so on), which close under differentiation: the convolution is
bilinear, so its VJPs are convolutions again, and the pooling scatter and gather are each
other's adjoints.  That makes every derivative differentiable again (``create_graph``,
:func:`chainrule.gradgradcheck`).
"""
from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Union

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.function import Function
from chainrule.ops.elementwise import Activation
from chainrule.ops.reduce import _ones
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Any, Grads, Mapping, Optional, Shape, Tangent, TensorLike, TensorOrArray

#: one int for every spatial axis, or one per axis
IntOrTuple = Union[int, Sequence[int]]
#: 'valid', 'same', 'causal', an int, one int per axis, or one (before, after) pair per axis
Padding = Union[str, int, Sequence[int], Sequence[tuple[int, int]]]

__all__ = ["convolution", "conv1d", "conv2d", "max_pool", "max_pool1d", "max_pool2d", "avg_pool", "avg_pool1d",
           "avg_pool2d", "conv_padding", "conv_output_size", "pool_padding", "get_column_memory_limit",
           "set_column_memory_limit", "column_memory_limit", "Conv", "ConvInputGrad", "ConvKernelGrad", "MaxPool",
           "MaxUnpool", "MaxGather", "AvgPool", "AvgPoolT", "MONOTONE_ACTIVATIONS"]

_NO_OUT = (None, None, None)

#: Activations that never decrease, so that f(max_i z_i + b) = max_i f(z_i + b): a max pooling may
#: run before them (and before the bias) in one Conv node.
#: the fusable activations (derivative from the output) that never decrease, by name, from the table
MONOTONE_ACTIVATIONS = frozenset(name for name, cls in Activation.registry.items()
                                 if name == cls.name and cls.non_decreasing and not cls.uses_input)


# ------------------------------------------------------------------ memory for the column matrix
_COLUMN_LIMIT = 256 << 20


def get_column_memory_limit() -> int:
    """Bytes the im2col column matrix of one convolution may take before the batch is tiled."""
    return _COLUMN_LIMIT


def set_column_memory_limit(nbytes: int) -> int:
    """Set the column-matrix cap (bytes, >= 1); returns the previous value.

    Within the cap the column matrix of a whole batch is built once and kept for the weight
    gradient; above it the batch runs in tiles of images and the backward pass rebuilds each
    tile's columns (slower, bounded memory).
    """
    global _COLUMN_LIMIT
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 1:
        raise ValueError(f"set_column_memory_limit: expected a positive number of bytes, got {nbytes!r}")
    old, _COLUMN_LIMIT = _COLUMN_LIMIT, int(nbytes)
    return old


@contextlib.contextmanager
def column_memory_limit(nbytes: int) -> Iterator[None]:
    """Context manager: run a block with another column-matrix cap (see :func:`set_column_memory_limit`).

    >>> import numpy as np
    >>> x, w = np.ones((4, 5, 5, 1)), np.ones((3, 3, 1, 2))
    >>> with column_memory_limit(100):            # a few bytes: one image per tile
    ...     tiled = conv2d(x, w)
    >>> bool(np.array_equal(tiled, conv2d(x, w))), tiled.shape
    (True, (4, 3, 3, 2))
    """
    old = set_column_memory_limit(nbytes)
    try:
        yield
    finally:
        set_column_memory_limit(old)


_SCRATCH = threading.local()
_SCRATCH_MAX = 32 << 20


def _scratch(shape, dtype, slot):
    """A buffer of this thread reused from call to call, for arrays that never leave a primitive
    (the pre-pooling output, f' times the adjoint, per-offset products).  Up to 32 MiB each; a
    larger one is allocated afresh."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    if n * dtype.itemsize > _SCRATCH_MAX:
        return np.empty(shape, dtype)
    pool = getattr(_SCRATCH, "pool", None)
    if pool is None:
        pool = _SCRATCH.pool = {}
    buf = pool.get((slot, dtype))
    if buf is None or buf.size < n:
        buf = pool[(slot, dtype)] = np.empty(max(n, 1), dtype)
    return buf[:n].reshape(shape)


# ----------------------------------------------------------------------------- geometry
def _positive_tuple(value, nd, what, op):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * nd
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a tuple of {nd} ints, got {value!r}") from None
    if len(value) != nd or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                                   for v in value):
        raise ValueError(f"{op}: {what} must be a positive int or a tuple of {nd} positive ints, got {value!r}")
    return tuple(int(v) for v in value)


def conv_output_size(n: Optional[int], k: int, stride: int = 1, dilation: int = 1,
                     pad: tuple[int, int] = (0, 0)) -> Optional[int]:
    """Output length along one axis: (n + p_lo + p_hi - d (k - 1) - 1) // s + 1 (None if n is None).

    >>> conv_output_size(28, 3), conv_output_size(28, 3, stride=2, pad=(0, 1)), conv_output_size(26, 2, 2)
    (26, 14, 13)
    """
    if n is None:
        return None
    return (n + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _same_pads(n, k, s, d):
    """TensorFlow's 'same': out = ceil(n / s); the total padding needed, the extra unit at the end."""
    total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
    return (total // 2, total - total // 2)


def conv_padding(padding: Padding, spatial: Sequence[Optional[int]], kernel: Sequence[int],
                 strides: IntOrTuple = 1, dilation: IntOrTuple = 1, op: str = "conv") -> tuple[tuple[int, int], ...]:
    """Resolve a padding specification to one (before, after) pair per spatial axis.

    ``padding`` is 'valid' (none), 'same' (TensorFlow/Keras: the output has ceil(n / s) positions;
    an odd total puts the extra row or column at the bottom/right), 'causal' (1-D: all d (k - 1)
    zeros before the first step), an int (that many on every side), one int per axis, or one
    (before, after) pair per axis.  ``spatial`` may hold None (unknown sizes) only for padding
    that does not depend on them.

    >>> conv_padding('same', (28, 28), (3, 3)), conv_padding('same', (28, 28), (3, 3), strides=2)
    (((1, 1), (1, 1)), ((0, 1), (0, 1)))
    >>> conv_padding(((1, 2), (0, 0)), (5, 5), (3, 3)), conv_padding('causal', (10,), (3,), dilation=2)
    (((1, 2), (0, 0)), ((4, 0),))
    """
    nd = len(kernel)
    strides = _positive_tuple(strides, nd, "strides", op)
    dilation = _positive_tuple(dilation, nd, "dilation", op)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * nd
        if mode == "same":
            if any(n is None for n in spatial):
                raise ValueError(f"{op}: padding='same' needs the input size, got spatial shape {tuple(spatial)}")
            return tuple(_same_pads(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation))
        if mode == "causal":
            if nd != 1:
                raise ValueError(f"{op}: padding='causal' is for 1-D convolutions, got {nd} spatial axes")
            return ((dilation[0] * (kernel[0] - 1), 0),)
        raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal' (1-D), an int or one (before, after) "
                         f"pair per axis, got {padding!r}")
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        pads = ((int(padding), int(padding)),) * nd
    else:
        try:
            items = tuple(padding)
        except TypeError:
            raise TypeError(f"{op}: padding must be a string, an int or a tuple, got {padding!r}") from None
        if len(items) != nd:
            raise ValueError(f"{op}: padding {padding!r} must give one entry per spatial axis ({nd})")
        pads = []
        for p in items:
            if isinstance(p, (int, np.integer)) and not isinstance(p, bool):
                pads.append((int(p), int(p)))
            else:
                p = tuple(p)
                if len(p) != 2:
                    raise ValueError(f"{op}: padding {padding!r}: each entry is an int or a (before, after) pair")
                pads.append((int(p[0]), int(p[1])))
        pads = tuple(pads)
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return pads


class _Geometry:
    """Shapes of one convolution: x (N, *spatial, C), w (*kernel, C/G, F), z (N, *out, F)."""

    __slots__ = ("nd", "N", "spatial", "C", "kernel", "Cg", "F", "G", "Fg", "strides", "dilation", "pads",
                 "padded", "out", "P", "K", "Kg")

    def __init__(self, x_shape, w_shape, strides, pads, dilation, groups, op="conv"):
        nd = len(w_shape) - 2
        if nd < 1 or len(x_shape) != nd + 2:
            raise ValueError(f"{op}: a kernel of shape {tuple(w_shape)} ({max(nd, 0)} spatial axes, then "
                             f"in-channels/groups and filters) needs inputs of rank {nd + 2} (batch, "
                             f"{nd} spatial axes, channels), got shape {tuple(x_shape)}")
        self.nd, self.N, self.spatial, self.C = nd, x_shape[0], tuple(x_shape[1:-1]), x_shape[-1]
        self.kernel, self.Cg, self.F = tuple(w_shape[:nd]), w_shape[-2], w_shape[-1]
        self.G = int(groups)
        if self.G < 1 or self.C % self.G or self.F % self.G:
            raise ValueError(f"{op}: groups={groups} must divide both the {self.C} input channels and the "
                             f"{self.F} filters")
        if self.C != self.Cg * self.G:
            raise ValueError(f"{op}: the input has {self.C} channels but the kernel of shape {tuple(w_shape)} "
                             f"expects {self.Cg * self.G} ({self.Cg} per group x {self.G} groups)")
        self.Fg = self.F // self.G
        self.strides, self.dilation, self.pads = tuple(strides), tuple(dilation), tuple(pads)
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(self.spatial, self.pads))
        self.out = tuple(conv_output_size(n, k, s, d, p) for n, k, s, d, p in
                         zip(self.spatial, self.kernel, self.strides, self.dilation, self.pads))
        if any(o < 1 for o in self.out):
            span = "x".join(str(d * (k - 1) + 1) for k, d in zip(self.kernel, self.dilation))
            raise ValueError(f"{op}: the kernel (spanning {span} with dilation {self.dilation}) is larger than the "
                             f"padded input {'x'.join(map(str, self.padded))} (input shape {tuple(x_shape)}, "
                             f"padding {self.pads}); pad the input (padding='same') or use a smaller kernel")
        self.P = math.prod(self.out)
        self.K = math.prod(self.kernel)
        self.Kg = self.K * self.Cg

    def params(self):
        return {"strides": self.strides, "pads": self.pads, "dilation": self.dilation, "groups": self.G}


def _pad(x, pads, value=0.0):
    """x (N, *spatial, C) with ``pads`` (before, after) added around the spatial axes."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = (x.shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads)) + (x.shape[-1],)
    xp = np.full(shape, value, x.dtype) if value else np.zeros(shape, x.dtype)
    xp[_interior(x.shape[1:-1], pads)] = x
    return xp


def _interior(spatial, pads):
    return (slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, pads)) + (slice(None),)


def _crop(xp, spatial, pads):
    if not any(lo or hi for lo, hi in pads):
        return xp
    return xp[_interior(spatial, pads)]


def _offset_view(a, offset, step, strides, out):
    """The slice of a (N, *spatial, C) that kernel (or window) ``offset`` reads for every output
    position: start offset * step, stride ``strides``, ``out`` positions per axis."""
    return a[(slice(None),) + tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                                    for o, d, s, n in zip(offset, step, strides, out)) + (slice(None),)]


# ----------------------------------------------------------------------- im2col and col2im
# The rows of a column matrix are output positions, listed in *blocks*: a block (start, step, count)
# holds, for every image, the positions start + step * i (i < count, row-major), in units of output
# positions.  An ordinary convolution has one block, all of them.  A convolution fused with a max
# pooling of windows S side by side has one block per window offset a (start a, step S, count =
# the pooled size), so the pooling is a maximum over contiguous blocks, and the positions that no
# window covers (the last row of 11 rows pooled by 2) are never computed.
def _blocks(geo, pool_size=None):
    if pool_size is None:
        return (((0,) * geo.nd, (1,) * geo.nd, geo.out),)
    count = tuple(o // k for o, k in zip(geo.out, pool_size))
    return tuple((a, tuple(pool_size), count) for a in np.ndindex(*pool_size))


def _windows(xp, geo, block):
    """Strided view (G, n, *count, *kernel, C/G) of the padded input xp (n, *padded, C): the patches read
    by the output positions of ``block``."""
    start, step, count = block
    base = xp[(slice(None),) + tuple(slice(s * a, None) for s, a in zip(geo.strides, start)) + (slice(None),)]
    st = base.strides
    shape = (geo.G, xp.shape[0]) + tuple(count) + geo.kernel + (geo.Cg,)
    strides = ((geo.Cg * st[-1], st[0]) + tuple(st[1 + i] * geo.strides[i] * step[i] for i in range(geo.nd))
               + tuple(st[1 + i] * geo.dilation[i] for i in range(geo.nd)) + (st[-1],))
    return as_strided(base, shape, strides, writeable=False)


def _im2col(xp, geo, blocks, out=None):
    """The column matrix (G, rows, K C/G) of the padded images xp: a row per (block, image, position), a
    column per (kernel offset, channel), the order of w.reshape(K C/G, F)."""
    count = blocks[0][2]
    shape = (geo.G, len(blocks), xp.shape[0]) + tuple(count) + geo.kernel + (geo.Cg,)
    buf = np.empty(shape, xp.dtype) if out is None else out.reshape(shape)
    lead = (slice(None),) * (2 + geo.nd)
    for bi, block in enumerate(blocks):
        view, dst = _windows(xp, geo, block), buf[:, bi]
        if geo.Cg >= 8:
            np.copyto(dst, view)  # one copy; the innermost runs are k_w C/G contiguous values
        else:
            # few channels: one strided copy per kernel offset has far longer inner runs
            for off in np.ndindex(*geo.kernel):
                dst[lead + off] = view[lead + off]
    return buf.reshape(geo.G, -1, geo.Kg)


def _col_size(geo, blocks, n):
    return len(blocks) * n * math.prod(blocks[0][2]) * geo.K * geo.C


def _kernel_groups(w, geo):
    """w (*kernel, C/G, F) as G matrices (G, K C/G, F/G)."""
    return w.reshape(geo.Kg, geo.G, geo.Fg).transpose(1, 0, 2)


def _gemm(col, wg, out2d):
    """out2d (m, F) = the grouped product col (G, m, Kg) @ wg (G, Kg, Fg), groups side by side."""
    if col.shape[0] == 1:
        np.matmul(col[0], wg[0], out=out2d)
    else:
        out2d.reshape(out2d.shape[0], col.shape[0], -1)[...] = np.matmul(col, wg).transpose(1, 0, 2)
    return out2d


def _tile(geo, itemsize, extra=0):
    """Images per tile so that the column matrix (plus ``extra`` values per image) fits the cap."""
    per = max(1, geo.P * geo.K * geo.C + extra) * itemsize
    return max(1, min(geo.N, _COLUMN_LIMIT // per)) if geo.N else 1


def _conv_value(x, w, geo):
    """z = conv(x, w), no bias (tiled; keeps nothing)."""
    dtype = np.result_type(x.dtype, w.dtype)
    xp = _pad(x.astype(dtype, copy=False), geo.pads)
    z = np.empty((geo.N,) + geo.out + (geo.F,), dtype)
    wg = _kernel_groups(w.astype(dtype, copy=False), geo)
    blocks = _blocks(geo)
    nb = _tile(geo, dtype.itemsize)
    for n0 in range(0, geo.N, nb):
        n1 = min(geo.N, n0 + nb)
        col = _im2col(xp[n0:n1], geo, blocks, None if nb >= geo.N else
                      _scratch((_col_size(geo, blocks, n1 - n0),), dtype, "col"))
        _gemm(col, wg, z[n0:n1].reshape(-1, geo.F))
    return z


def _conv_input_grad(dz2, w, geo, blocks=None):
    """xbar = col2im(zbar @ w^T) for zbar (rows, F) (rows as ``blocks`` list them): one product per kernel
    offset, added into the slices of the padded input that the offset read.

    A slice read with a step L > 1 (a strided convolution, or the blocks of a fused pooling) is added
    into a *phase-split* copy of the input instead: entries L i + r of an axis stored together as
    phase r, so that every slice is a contiguous run of rows and the adds run on long inner loops.
    The phases are interleaved back once at the end.
    """
    blocks = _blocks(geo) if blocks is None else blocks
    dtype = np.result_type(dz2.dtype, w.dtype)
    count = tuple(blocks[0][2])
    dz2 = dz2.astype(dtype, copy=False).reshape(-1, geo.F)
    M = dz2.shape[0]
    w = w.astype(dtype, copy=False).reshape(geo.K, geo.Cg, geo.G, geo.Fg)
    step = tuple(s * t for s, t in zip(geo.strides, blocks[0][1]))          # L per axis
    phases = tuple(-(-n // L) for n, L in zip(geo.padded, step))            # entries per phase
    split = any(L > 1 for L in step)
    if split:
        dxs = np.zeros((math.prod(step), geo.N) + phases + (geo.C,), dtype)
    else:
        dxs = np.zeros((1, geo.N) + geo.padded + (geo.C,), dtype)
    tmp = _scratch((M, geo.C), dtype, "xbar")
    parts = tmp.reshape((len(blocks), geo.N) + count + (geo.C,))
    dzg = dz2.reshape(M, geo.G, geo.Fg).transpose(1, 0, 2) if geo.G > 1 else None
    for k, off in enumerate(np.ndindex(*geo.kernel)):
        if geo.G == 1:
            np.matmul(dz2, w[k, :, 0, :].T, out=tmp)                            # (M, F) @ (F, C)
        else:                                                                    # (G, M, Fg) @ (G, Fg, Cg)
            tmp.reshape(M, geo.G, geo.Cg)[...] = np.matmul(dzg, w[k].transpose(1, 2, 0)).transpose(1, 0, 2)
        for bi, (start, _, cnt) in enumerate(blocks):
            first = [s * a + d * o for s, a, d, o in zip(geo.strides, start, geo.dilation, off)]
            phase = np.ravel_multi_index([f % L for f, L in zip(first, step)], step) if split else 0
            view = dxs[phase][(slice(None),) + tuple(slice(f // L, f // L + n) for f, L, n in
                                                     zip(first, step, cnt)) + (slice(None),)]
            np.add(view, parts[bi], out=view)
    if not split:
        return _crop(dxs[0], geo.spatial, geo.pads)
    dxp = np.empty((geo.N,) + geo.padded + (geo.C,), dtype)
    for phase, r in enumerate(np.ndindex(*step)):
        dst = dxp[(slice(None),) + tuple(slice(ri, None, L) for ri, L in zip(r, step)) + (slice(None),)]
        np.copyto(dst, dxs[phase][(slice(None),) + tuple(slice(0, n) for n in dst.shape[1:-1]) + (slice(None),)])
    return _crop(dxp, geo.spatial, geo.pads)


def _conv_kernel_grad(x, dz2, geo, blocks=None, col=None, out=None):
    """wbar = col^T @ zbar, with the kept column matrix or one rebuilt tile by tile from x.  Written into
    ``out`` (and ``out`` returned) when it fits."""
    blocks = _blocks(geo) if blocks is None else blocks
    dtype = np.result_type(x.dtype, dz2.dtype)
    dz2 = dz2.astype(dtype, copy=False).reshape(-1, geo.F)
    w_shape = geo.kernel + (geo.Cg, geo.F)
    if out is not None and (out.shape != w_shape or out.dtype != dtype or not out.flags.c_contiguous):
        out = None
    dw = np.empty((geo.Kg, geo.F), dtype) if out is None else out.reshape(geo.Kg, geo.F)
    if col is not None:
        _kernel_product(col, dz2, geo, dw)
    else:
        xp = _pad(x.astype(dtype, copy=False), geo.pads)
        nb = _tile(geo, dtype.itemsize)
        by_image = dz2.reshape(len(blocks), geo.N, -1, geo.F)
        part = None
        dw.fill(0)
        for n0 in range(0, geo.N, nb):
            n1 = min(geo.N, n0 + nb)
            col = _im2col(xp[n0:n1], geo, blocks, _scratch((_col_size(geo, blocks, n1 - n0),), dtype, "col"))
            part = _kernel_product(col, by_image[:, n0:n1].reshape(-1, geo.F), geo,
                                   part if part is not None else np.empty_like(dw))
            dw += part
    return out if out is not None else dw.reshape(w_shape)


def _kernel_product(col, dz2, geo, out):
    """out (Kg, F) = col^T @ zbar, group by group."""
    if geo.G == 1:
        return np.matmul(col[0].T, dz2, out=out)
    dwg = np.matmul(col.transpose(0, 2, 1), dz2.reshape(-1, geo.G, geo.Fg).transpose(1, 0, 2))  # (G, Kg, Fg)
    out.reshape(geo.Kg, geo.G, geo.Fg)[...] = dwg.transpose(1, 0, 2)
    return out


# ---------------------------------------------------------------------------------- pooling
class _PoolGeometry:
    """Shapes of one pooling: x (N, *spatial, C) padded by ``pads``, windows ``size`` every ``strides``."""

    __slots__ = ("nd", "spatial", "size", "strides", "pads", "padded", "out", "K", "overlap", "exact")

    def __init__(self, spatial, size, strides, pads, op="pool"):
        self.nd, self.spatial, self.size, self.strides = len(size), tuple(spatial), tuple(size), tuple(strides)
        self.pads = tuple(pads)
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(self.spatial, self.pads))
        self.out = tuple(conv_output_size(n, k, s, 1, p) for n, k, s, p in
                         zip(self.spatial, self.size, self.strides, self.pads))
        if any(o < 1 for o in self.out):
            raise ValueError(f"{op}: the pooling window {'x'.join(map(str, self.size))} is larger than the padded "
                             f"input {'x'.join(map(str, self.padded))} (padding {self.pads}); use padding='same' "
                             f"or a smaller pool_size")
        self.K = math.prod(self.size)
        self.overlap = any(s < k for s, k in zip(self.strides, self.size))
        # windows side by side with nothing left over: the scatter writes every entry of the input
        self.exact = all(s == k and o * s == n for s, k, o, n in zip(self.strides, self.size, self.out, self.padded))

    def params(self):
        return {"size": self.size, "strides": self.strides, "pads": self.pads}


def _index_dtype(n):
    return np.uint8 if n <= 255 else np.uint16 if n <= 65535 else np.uint32


def _max_into(views, y, idx):
    """y = the elementwise maximum of ``views``, idx = the index of the first view that reached it."""
    views = iter(views)
    np.copyto(y, next(views))
    idx.fill(0)
    gt = step = None
    for k, v in enumerate(views, start=1):
        if gt is None:
            gt = _scratch(y.shape, np.bool_, "pool>")
            step = _scratch(y.shape, idx.dtype, "pool#")
        np.greater(v, y, out=gt)                     # strictly greater: an earlier tie keeps its place
        np.maximum(y, v, out=y)
        np.multiply(gt, idx.dtype.type(k), out=step)
        np.maximum(idx, step, out=idx)               # indices only grow: idx = k where view k won
    return y, idx


def _max_pool_into(zp, pg, y, idx):
    """y = max over each window of zp (padded), idx = the window offset of its first maximum."""
    return _max_into((_offset_view(zp, off, (1,) * pg.nd, pg.strides, pg.out) for off in np.ndindex(*pg.size)),
                     y, idx)


def _max_unpool(g, idx, pg, dtype=None):
    """The adjoint of the max: zeros of the padded input's shape with g at each window's first maximum."""
    dtype = g.dtype if dtype is None else dtype
    shape = (g.shape[0],) + pg.padded + (g.shape[-1],)
    if pg.exact:
        dzp = np.empty(shape, dtype)
    elif pg.overlap or any(s > k for s, k in zip(pg.strides, pg.size)):
        dzp = np.zeros(shape, dtype)
    else:  # windows side by side; only the border they leave uncovered needs zeros
        dzp = np.empty(shape, dtype)
        for axis, (o, s, n) in enumerate(zip(pg.out, pg.strides, pg.padded)):
            if o * s < n:
                dzp[(slice(None),) * (axis + 1) + (slice(o * s, None),)] = 0
    eq = _scratch(idx.shape, np.bool_, "unpool=")
    tmp = _scratch(g.shape, dtype, "unpool*") if pg.overlap else None
    for k, off in enumerate(np.ndindex(*pg.size)):
        view = _offset_view(dzp, off, (1,) * pg.nd, pg.strides, pg.out)
        np.equal(idx, k, out=eq)
        if pg.overlap:
            np.multiply(g, eq, out=tmp)
            np.add(view, tmp, out=view)
        else:
            np.multiply(g, eq, out=view)
    return dzp


def _max_gather(hp, idx, pg):
    """y = hp at each window's recorded first maximum (hp padded): the max pooling of a tangent."""
    out = np.zeros(idx.shape, hp.dtype)
    tmp = np.empty(idx.shape, hp.dtype)
    for k, off in enumerate(np.ndindex(*pg.size)):
        view = _offset_view(hp, off, (1,) * pg.nd, pg.strides, pg.out)
        np.multiply(view, idx == k, out=tmp)
        out += tmp
    return out


def _window_sum(xp, pg):
    views = (_offset_view(xp, off, (1,) * pg.nd, pg.strides, pg.out) for off in np.ndindex(*pg.size))
    y = np.array(next(views), dtype=xp.dtype)
    for v in views:
        y += v
    return y


def _window_spread(g, pg, dtype):
    """The adjoint of the window sum: each output's value added over its window (padded shape)."""
    dxp = np.zeros((g.shape[0],) + pg.padded + (g.shape[-1],), dtype)
    for off in np.ndindex(*pg.size):
        view = _offset_view(dxp, off, (1,) * pg.nd, pg.strides, pg.out)
        np.add(view, g, out=view)
    return dxp


def _avg_count(pg, counted, dtype):
    """How many entries each window averages: all K, or those inside the ``counted`` region
    ((start, stop) per axis, in padded coordinates)."""
    if counted is None:
        return dtype.type(pg.K)
    mask = np.zeros((1,) + pg.padded + (1,), dtype)
    mask[(slice(None),) + tuple(slice(a, b) for a, b in counted) + (slice(None),)] = 1
    return _window_sum(mask, pg)


# ------------------------------------------------------------------------------ primitives
def _activation(name):
    if name is None:
        return None
    cls = Activation.registry.get(name)
    if cls is None or cls.uses_input:
        raise ValueError(f"conv: activation {name!r} cannot be fused into a convolution; apply it after")
    return None if cls.name == "identity" else cls


class Conv(Function):
    """Convolution, optionally with max pooling, bias and activation in the same node.

    y = f(P(conv(x, w)) + b)  with conv as in the module docstring, P a max pooling (or nothing),
    f an elementwise activation (or the identity).  x (N, *spatial, C), w (*kernel, C/G, F),
    b (F,).

    VJP, with ybar the adjoint of y:  zbar_P = ybar f'(y) (f' from the output),
    bbar = sum over images and positions of zbar_P,  zbar = P^T(zbar_P) (the pooled adjoint put
    back at each window's first maximum),  wbar = col^T zbar,  xbar = col2im(zbar w^T).
    JVP:  ydot = f'(y) (P_idx(conv(xdot, w) + conv(x, wdot)) + bdot), P_idx the gather at the
    recorded maxima.  The weight and bias gradients are written into storage the optimizer
    offers (``backward_out``).
    """

    name = "conv"
    backward_out = True

    def forward(self, x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray] = None, *, strides: tuple[int, ...],
                pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...], groups: int = 1,
                act: Optional[str] = None, act_params: Optional[Mapping[str, float]] = None,
                pool: Optional[tuple[Sequence[int], Sequence[int]]] = None) -> np.ndarray:
        x, w = np.asarray(x), np.asarray(w)
        dtype = np.result_type(x.dtype, w.dtype, np.float32 if b is None else np.asarray(b).dtype)
        if dtype.kind != "f":
            dtype = np.dtype(np.float64)
        geo = _Geometry(x.shape, w.shape, strides, pads, dilation, groups)
        if b is not None and np.shape(b) != (geo.F,):
            raise ValueError(f"conv: the bias must have shape ({geo.F},), one per filter, got {np.shape(b)}")
        spec = _activation(act)
        p = act_params or {}
        self.geo, self.spec, self.p, self.x, self.w = geo, spec, p, x, w
        xp = _pad(x.astype(dtype, copy=False), geo.pads)
        wg = _kernel_groups(w.astype(dtype, copy=False), geo)
        pg = self.pg = None
        blocks = _blocks(geo)
        if pool is not None:
            pg = self.pg = _PoolGeometry(geo.out, pool[0], pool[1], ((0, 0),) * geo.nd, op="conv")
            if not pg.overlap and pg.strides == pg.size:   # windows side by side: rows in blocks, see _blocks
                blocks = _blocks(geo, pg.size)
            y = np.empty((geo.N,) + pg.out + (geo.F,), dtype)
            idx = self.idx = np.empty(y.shape, _index_dtype(pg.K))
        else:
            y = np.empty((geo.N,) + geo.out + (geo.F,), dtype)
        self.blocks = blocks
        nb = _tile(geo, dtype.itemsize, geo.P * geo.F if pg is not None else 0)
        self.col = None
        for n0 in range(0, geo.N, nb):
            n1 = min(geo.N, n0 + nb)
            if nb >= geo.N:   # the whole batch fits: keep its columns for the weight gradient
                col = self.col = _im2col(xp, geo, blocks)
            else:
                col = _im2col(xp[n0:n1], geo, blocks, _scratch((_col_size(geo, blocks, n1 - n0),), dtype, "col"))
            if pg is None:
                _gemm(col, wg, y[n0:n1].reshape(-1, geo.F))
            elif len(blocks) > 1:  # the pooled windows' entries in blocks: a maximum over contiguous arrays
                z = _scratch((len(blocks), col.shape[1] // len(blocks), geo.F), dtype, "z")
                _gemm(col, wg, z.reshape(-1, geo.F))
                _max_into(list(z), y[n0:n1].reshape(-1, geo.F), idx[n0:n1].reshape(-1, geo.F))
            else:
                z = _scratch((n1 - n0,) + geo.out + (geo.F,), dtype, "z")
                _gemm(col, wg, z.reshape(-1, geo.F))
                _max_pool_into(z, pg, y[n0:n1], idx[n0:n1])
        if self.col is None:
            self.xp = xp   # tiles: the backward pass rebuilds the columns from the padded input
        if b is not None:
            y += b
        if spec is not None:
            spec.f_(y, y, **p)
        self.y = y
        return y

    def _pool_params(self):
        return {"size": self.pg.size, "strides": self.pg.strides, "pads": self.pg.pads}

    def backward(self, g: TensorOrArray, out: Sequence[Optional[np.ndarray]] = _NO_OUT) -> Grads:
        if type(g) is not np.ndarray or type(self.x) is not np.ndarray:
            return self._composed_backward(g)
        needs = self.needs_input_grad
        geo, spec, y, blocks = self.geo, self.spec, self.y, self.blocks
        dtype = y.dtype
        if g.dtype != dtype:
            g = g.astype(dtype)
        if spec is not None:   # zbar_P = ybar f'(y), in a scratch buffer that never leaves
            gp = spec.df_(y, None, _scratch(y.shape, dtype, "f'"), **self.p)
            gp *= g
        else:
            gp = g
        db = None
        if len(needs) > 2 and needs[2]:
            g2 = gp.reshape(-1, geo.F)
            buf = out[2] if len(out) > 2 and out[2] is not None and out[2].dtype == dtype else None
            db = np.matmul(_ones(g2.shape[0], dtype), g2, out=buf)
        if not (needs[0] or needs[1]):
            return None, None, db
        if self.pg is None:
            dz2 = gp.reshape(-1, geo.F)
        elif len(blocks) > 1:   # zbar block a = zbar_P where window offset a held the first maximum
            g2, idx2 = gp.reshape(-1, geo.F), self.idx.reshape(-1, geo.F)
            dz = _scratch((len(blocks),) + g2.shape, dtype, "zbar")
            eq = _scratch(idx2.shape, np.bool_, "unpool=")
            for k in range(len(blocks)):
                np.equal(idx2, k, out=eq)
                np.multiply(g2, eq, out=dz[k])
            dz2 = dz.reshape(-1, geo.F)
        else:
            dz2 = _max_unpool(gp, self.idx, self.pg).reshape(-1, geo.F)
        dw = dx = None
        if needs[1]:
            if self.col is not None:
                dw = _conv_kernel_grad(self.x, dz2, geo, blocks, col=self.col, out=out[1])
            else:
                dw = _conv_kernel_grad(self.xp, dz2, _unpadded(geo), blocks, out=out[1])   # xp: padded already
        if needs[0]:
            dx = _conv_input_grad(dz2, self.w, geo, blocks)
        return dx, dw, db

    def _composed_backward(self, g):
        """The VJP written with primitives (runs on Tensors, so it is recorded and differentiable)."""
        needs = self.needs_input_grad
        geo, spec = self.geo, self.spec
        gp = g if spec is None else g * spec.df(self.y, None, **self.p)
        db = None
        if len(needs) > 2 and needs[2]:
            db = gp.sum(axis=tuple(range(geo.nd + 1)))
        if self.pg is not None:
            gp = MaxUnpool.apply(gp, idx=self.idx, x_shape=(geo.N,) + geo.out + (geo.F,), **self._pool_params())
        dx = ConvInputGrad.apply(gp, self.w, x_shape=_shape(self.x), **geo.params()) if needs[0] else None
        dw = ConvKernelGrad.apply(self.x, gp, w_shape=_shape(self.w), **geo.params()) if needs[1] else None
        return dx, dw, db

    def jvp(self, dx: Tangent, dw: Tangent, db: Tangent = None) -> Tangent:
        geo = self.geo
        zdot = None
        if dx is not None:
            zdot = _conv_value(np.asarray(dx), self.w, geo)
        if dw is not None:
            t = _conv_value(self.x, np.asarray(dw), geo)
            zdot = t if zdot is None else zdot + t
        if zdot is not None and self.pg is not None:
            zdot = _max_gather(zdot, self.idx, self.pg)
        if db is not None:
            zdot = np.broadcast_to(db, self.y.shape) if zdot is None else zdot + db
        if zdot is None:
            return None
        if self.spec is not None:
            zdot = zdot * self.spec.df(self.y, None, **self.p)
        return zdot


def _unpadded(geo):
    """The same geometry for an input that is already padded (the tiled backward's xp)."""
    g2 = object.__new__(_Geometry)
    for k in _Geometry.__slots__:
        setattr(g2, k, getattr(geo, k))
    g2.spatial, g2.pads = geo.padded, ((0, 0),) * geo.nd
    return g2


def _shape(a):
    return tuple(a.shape) if isinstance(a, (Tensor, np.ndarray)) else np.shape(a)


class ConvInputGrad(Function):
    """The input adjoint of a convolution as a function of its own:  xbar = T(zbar, w) = col2im(zbar w^T),
    the transpose of x -> conv(x, w) (a 'transposed convolution').

    Bilinear, with  <T(zbar, w), v> = <zbar, conv(v, w)>,  so its VJP for an adjoint v of xbar is
    zbarbar = conv(v, w),  wbar = K(v, zbar) (:class:`ConvKernelGrad`);  JVP:
    T(zbardot, w) + T(zbar, wdot).
    """

    name = "conv_input_grad"

    def forward(self, dz: np.ndarray, w: np.ndarray, *, x_shape: Shape, strides: tuple[int, ...],
                pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...], groups: int = 1) -> np.ndarray:
        dz, w = np.asarray(dz), np.asarray(w)
        self.geo = _Geometry(tuple(x_shape), w.shape, strides, pads, dilation, groups)
        self.dz, self.w = dz, w
        return _conv_input_grad(dz.reshape(-1, self.geo.F), w, self.geo)

    def backward(self, v: TensorOrArray) -> Grads:
        n0, n1 = self.needs_input_grad
        prm = self.geo.params()
        return (Conv.apply(v, self.w, **prm) if n0 else None,
                ConvKernelGrad.apply(v, self.dz, w_shape=_shape(self.w), **prm) if n1 else None)

    def jvp(self, ddz: Tangent, dw: Tangent) -> Tangent:
        out = None if ddz is None else _conv_input_grad(np.asarray(ddz).reshape(-1, self.geo.F), self.w, self.geo)
        if dw is not None:
            t = _conv_input_grad(self.dz.reshape(-1, self.geo.F), np.asarray(dw), self.geo)
            out = t if out is None else out + t
        return out


class ConvKernelGrad(Function):
    """The kernel adjoint of a convolution as a function of its own:  wbar = K(x, zbar) = col(x)^T zbar.

    Bilinear, with  <K(x, zbar), V> = <zbar, conv(x, V)>,  so its VJP for an adjoint V of wbar is
    xbar = T(zbar, V) (:class:`ConvInputGrad`),  zbarbar = conv(x, V);  JVP: K(xdot, zbar) + K(x, zbardot).
    """

    name = "conv_kernel_grad"

    def forward(self, x: np.ndarray, dz: np.ndarray, *, w_shape: Shape, strides: tuple[int, ...],
                pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...], groups: int = 1) -> np.ndarray:
        x, dz = np.asarray(x), np.asarray(dz)
        self.geo = _Geometry(x.shape, tuple(w_shape), strides, pads, dilation, groups)
        self.x, self.dz = x, dz
        return _conv_kernel_grad(x, dz.reshape(-1, self.geo.F), self.geo)

    def backward(self, V: TensorOrArray) -> Grads:
        n0, n1 = self.needs_input_grad
        prm = self.geo.params()
        return (ConvInputGrad.apply(self.dz, V, x_shape=_shape(self.x), **prm) if n0 else None,
                Conv.apply(self.x, V, **prm) if n1 else None)

    def jvp(self, dx: Tangent, ddz: Tangent) -> Tangent:
        out = None if dx is None else _conv_kernel_grad(np.asarray(dx), self.dz.reshape(-1, self.geo.F), self.geo)
        if ddz is not None:
            t = _conv_kernel_grad(self.x, np.asarray(ddz).reshape(-1, self.geo.F), self.geo)
            out = t if out is None else out + t
        return out


class MaxPool(Function):
    """Max pooling.  y[n, i, j, c] = max over the window (i, j) of x[n, ., ., c] (padding counts as -inf).

    VJP: xbar = ybar put at each window's *first* maximum (row-major window order), zero elsewhere
    (TensorFlow's and PyTorch's choice: with ties, one entry takes the whole gradient).
    JVP: ydot = xdot at those same entries.
    """

    name = "max_pool"

    def forward(self, x: np.ndarray, *, size: tuple[int, ...], strides: tuple[int, ...],
                pads: tuple[tuple[int, int], ...]) -> np.ndarray:
        x = np.asarray(x)
        pg = self.pg = _PoolGeometry(x.shape[1:-1], size, strides, pads, op="max_pool")
        neg = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = _pad(x, pads, neg)
        y = np.empty((x.shape[0],) + pg.out + (x.shape[-1],), x.dtype)
        self.idx = np.empty(y.shape, _index_dtype(pg.K))
        _max_pool_into(xp, pg, y, self.idx)
        self.x_shape = x.shape
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return (MaxUnpool.apply(g, idx=self.idx, x_shape=self.x_shape, **self.pg.params()),)

    def jvp(self, dx: Tangent) -> Tangent:
        return _max_gather(_pad(np.asarray(dx), self.pg.pads), self.idx, self.pg)


class MaxUnpool(Function):
    """The VJP of max pooling as a primitive: y = zeros of the input's shape with g at the recorded
    first maxima.  Linear in g; its VJP is :class:`MaxGather` (and that one's is this)."""

    name = "max_unpool"

    def forward(self, g: np.ndarray, *, idx: np.ndarray, x_shape: Shape, size: tuple[int, ...],
                strides: tuple[int, ...], pads: tuple[tuple[int, int], ...]) -> np.ndarray:
        g = np.asarray(g)
        self.idx = idx
        self.pg = _PoolGeometry(tuple(x_shape[1:-1]), size, strides, pads, op="max_unpool")
        return _crop(_max_unpool(g, idx, self.pg), self.pg.spatial, pads)

    def backward(self, h: TensorOrArray) -> Grads:
        return (MaxGather.apply(h, idx=self.idx, **self.pg.params()),)

    def jvp(self, dg: Tangent) -> Tangent:
        return _crop(_max_unpool(np.asarray(dg), self.idx, self.pg), self.pg.spatial, self.pg.pads)


class MaxGather(Function):
    """The entries of h at recorded window maxima: y = h[first maximum of each window].  Linear in h;
    its VJP is :class:`MaxUnpool`."""

    name = "max_gather"

    def forward(self, h: np.ndarray, *, idx: np.ndarray, size: tuple[int, ...], strides: tuple[int, ...],
                pads: tuple[tuple[int, int], ...]) -> np.ndarray:
        h = np.asarray(h)
        self.idx = idx
        self.pg = _PoolGeometry(h.shape[1:-1], size, strides, pads, op="max_gather")
        self.x_shape = h.shape
        return _max_gather(_pad(h, pads), idx, self.pg)

    def backward(self, g: TensorOrArray) -> Grads:
        return (MaxUnpool.apply(g, idx=self.idx, x_shape=self.x_shape, **self.pg.params()),)

    def jvp(self, dh: Tangent) -> Tangent:
        return _max_gather(_pad(np.asarray(dh), self.pg.pads), self.idx, self.pg)


class AvgPool(Function):
    """Average pooling.  y[n, i, j, c] = (1 / n_ij) sum over the window (i, j) of x[n, ., ., c], with
    n_ij the window's entries inside ``counted`` (all of it when None; padding is zeros).

    Linear:  VJP  xbar = each ybar / n_ij spread over its window (:class:`AvgPoolT`);  JVP  ydot = A(xdot).
    """

    name = "avg_pool"

    def forward(self, x: np.ndarray, *, size: tuple[int, ...], strides: tuple[int, ...],
                pads: tuple[tuple[int, int], ...], counted: Optional[np.ndarray] = None) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        pg = self.pg = _PoolGeometry(x.shape[1:-1], size, strides, pads, op="avg_pool")
        self.counted, self.x_shape = counted, x.shape
        self.count = _avg_count(pg, counted, x.dtype)
        y = _window_sum(_pad(x, pads), pg)
        y /= self.count
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return (AvgPoolT.apply(g, x_shape=self.x_shape, counted=self.counted, **self.pg.params()),)

    def jvp(self, dx: Tangent) -> Tangent:
        dx = np.asarray(dx)
        return _window_sum(_pad(dx, self.pg.pads), self.pg) / self.count


class AvgPoolT(Function):
    """The VJP of average pooling as a primitive: xbar = sum over the windows containing each entry of
    g / n (cropped to the input).  Linear; its VJP is :class:`AvgPool`."""

    name = "avg_pool_t"

    def forward(self, g: np.ndarray, *, x_shape: Shape, size: tuple[int, ...], strides: tuple[int, ...],
                pads: tuple[tuple[int, int], ...], counted: Optional[np.ndarray] = None) -> np.ndarray:
        g = np.asarray(g)
        pg = self.pg = _PoolGeometry(tuple(x_shape[1:-1]), size, strides, pads, op="avg_pool_t")
        self.counted = counted
        self.count = _avg_count(pg, counted, g.dtype)
        return _crop(_window_spread(g / self.count, pg, g.dtype), pg.spatial, pads)

    def backward(self, h: TensorOrArray) -> Grads:
        return (AvgPool.apply(h, counted=self.counted, **self.pg.params()),)

    def jvp(self, dg: Tangent) -> Tangent:
        dg = np.asarray(dg)
        return _crop(_window_spread(dg / self.count, self.pg, dg.dtype), self.pg.spatial, self.pg.pads)


# ------------------------------------------------------------------------- public functions
def _value(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _act_name(activation, op):
    from chainrule.ops import activations
    if activation is None:
        return None, {}
    cls = activations.fusable(activation)
    if cls is None:
        raise ValueError(f"{op}: activation {activation!r} cannot be fused into the convolution (it must be an "
                         f"elementwise activation whose derivative follows from its output: "
                         f"{', '.join(sorted(activations.FUSABLE))}); apply it to the result instead")
    return cls.name, {}


def convolution(x: TensorLike, w: TensorLike, b: Optional[TensorLike] = None, strides: IntOrTuple = 1,
                padding: Padding = "valid", dilation: IntOrTuple = 1, groups: int = 1,
                activation: Optional[str] = None, max_pool: Union[int, tuple[int, int], None] = None) -> TensorOrArray:
    """Channels-last convolution over any number of spatial axes (see the module docstring).

    Parameters
    ----------
    x : Tensor or array, shape (N, *spatial, C)
    w : Tensor or array, shape (*kernel, C / groups, F)  (Keras' layout)
    b : Tensor or array, shape (F,), optional
    strides, dilation : int or tuple of ints, one per spatial axis
    padding : 'valid', 'same' (TensorFlow's), 'causal' (1-D), int, or pairs; see :func:`conv_padding`
    groups : int
        Channel groups: input channels and filters are split into ``groups`` blocks, block g of the
        filters seeing only block g of the channels (``groups = C`` is a depthwise convolution).
    activation : str, optional
        An elementwise activation applied in the same node, y = f(z + b) (relu, tanh, sigmoid,
        leaky_relu, elu, identity).
    max_pool : int or (pool_size, strides), optional
        A 'valid' max pooling applied in the same node, before the bias and the activation (exact
        for these activations, which never decrease): y = f(maxpool(z) + b).

    Returns
    -------
    Tensor or ndarray of shape (N, *out, F) (pooled when ``max_pool`` is given).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> w = np.ones((2, 2, 1, 1))                         # sums of 2x2 patches
    >>> convolution(x, w)[0, :, :, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    >>> convolution(x, w, strides=2).shape, convolution(x, w, padding='same').shape
    ((1, 2, 2, 1), (1, 4, 4, 1))
    """
    xs, ws = _shape(x), _shape(w)
    nd = len(ws) - 2
    op = f"conv{nd}d" if nd in (1, 2, 3) else "conv"
    if nd < 1:
        raise ValueError(f"{op}: the kernel must have shape (*kernel, in_channels/groups, filters), got {ws}")
    if len(xs) != nd + 2:
        raise ValueError(f"{op}: a kernel of shape {ws} needs inputs of rank {nd + 2} (batch, {nd} spatial axes, "
                         f"channels), got shape {xs}")
    strides = _positive_tuple(strides, nd, "strides", op)
    dilation = _positive_tuple(dilation, nd, "dilation", op)
    pads = conv_padding(padding, xs[1:-1], ws[:nd], strides, dilation, op)
    _Geometry(xs, ws, strides, pads, dilation, groups, op)   # says what is wrong before anything runs
    act, params = _act_name(activation, op)
    pool = None
    if max_pool is not None:
        if isinstance(max_pool, (int, np.integer)) or (isinstance(max_pool, tuple) and len(max_pool) == nd
                                                       and all(isinstance(v, (int, np.integer)) for v in max_pool)):
            size = _positive_tuple(max_pool, nd, "max_pool", op)
            pool = (size, size)
        else:
            size, pstrides = max_pool
            size = _positive_tuple(size, nd, "max_pool size", op)
            pool = (size, _positive_tuple(size if pstrides is None else pstrides, nd, "max_pool strides", op))
        if act is not None and act not in MONOTONE_ACTIVATIONS:
            raise ValueError(f"{op}: max_pool can be fused only before a non-decreasing activation, got {act!r}")
        out = tuple(conv_output_size(n, k, s, d, p) for n, k, s, d, p in zip(xs[1:-1], ws[:nd], strides, dilation,
                                                                               pads))
        _PoolGeometry(out, pool[0], pool[1], ((0, 0),) * nd, op=op)
    prm = {"strides": strides, "pads": pads, "dilation": dilation, "groups": int(groups)}
    if act is not None:
        prm["act"], prm["act_params"] = act, params
    if pool is not None:
        prm["pool"] = pool
    if b is None:
        return Conv.apply(x, w, **prm)
    return Conv.apply(x, w, b, **prm)


def _check_rank(x, nd, op, layout):
    shape = _shape(x)
    if len(shape) != nd + 2:
        raise ValueError(f"{op}: expected input of rank {nd + 2} {layout}, got shape {shape}")


def conv1d(x: TensorLike, w: TensorLike, b: Optional[TensorLike] = None, strides: IntOrTuple = 1,
           padding: Padding = "valid", dilation: IntOrTuple = 1, groups: int = 1, activation: Optional[str] = None,
           max_pool: Union[int, tuple[int, int], None] = None) -> TensorOrArray:
    """1-D convolution of x (N, steps, C) with w (k, C / groups, F); see :func:`convolution`."""
    _check_rank(x, 1, "conv1d", "(batch, steps, channels)")
    return convolution(x, w, b, strides, padding, dilation, groups, activation, max_pool)


def conv2d(x: TensorLike, w: TensorLike, b: Optional[TensorLike] = None, strides: IntOrTuple = 1,
           padding: Padding = "valid", dilation: IntOrTuple = 1, groups: int = 1, activation: Optional[str] = None,
           max_pool: Union[int, tuple[int, int], None] = None) -> TensorOrArray:
    """2-D convolution of x (N, H, W, C) with w (kh, kw, C / groups, F); see :func:`convolution`.

    >>> import numpy as np
    >>> conv2d(np.ones((2, 28, 28, 1)), np.ones((3, 3, 1, 32)), activation='relu', max_pool=2).shape
    (2, 13, 13, 32)
    """
    _check_rank(x, 2, "conv2d", "(batch, height, width, channels)")
    return convolution(x, w, b, strides, padding, dilation, groups, activation, max_pool)


def pool_padding(padding: Padding, spatial: Sequence[Optional[int]], size: Sequence[int], strides: Sequence[int],
                 op: str = "pool") -> tuple[tuple[int, int], ...]:
    """Pads of a pooling: 'valid', 'same' (TensorFlow's), an int or pairs per axis (see conv_padding)."""
    return conv_padding(padding, spatial, size, strides, 1, op)


def _pool_args(x, pool_size, strides, padding, nd, op):
    xs = _shape(x)
    if nd is None:
        nd = len(xs) - 2
    if len(xs) != nd + 2 or nd < 1:
        raise ValueError(f"{op}: expected input of rank {nd + 2} (batch, {nd} spatial axes, channels), got shape "
                         f"{xs}")
    size = _positive_tuple(pool_size, nd, "pool_size", op)
    strides = size if strides is None else _positive_tuple(strides, nd, "strides", op)
    pads = pool_padding(padding, xs[1:-1], size, strides, op)
    _PoolGeometry(xs[1:-1], size, strides, pads, op=op)
    return xs, size, strides, pads


def max_pool(x: TensorLike, pool_size: IntOrTuple, strides: Optional[IntOrTuple] = None, padding: Padding = "valid",
             nd: Optional[int] = None) -> TensorOrArray:
    """Max pooling of channels-last x (N, *spatial, C); the gradient goes to each window's first maximum.

    ``strides`` defaults to ``pool_size``; ``padding`` 'valid', 'same' (TensorFlow's; padding never
    wins the max), an int or (before, after) pairs (PyTorch's ``padding=p`` is ``p``).

    >>> import numpy as np
    >>> max_pool(np.array([[1., 3., 3., 0.]]).reshape(1, 4, 1), 2)[0, :, 0]
    array([3., 3.])
    """
    op = "max_pool" if nd is None else f"max_pool{nd}d"
    _, size, strides, pads = _pool_args(x, pool_size, strides, padding, nd, op)
    return MaxPool.apply(x, size=size, strides=strides, pads=pads)


def max_pool1d(x: TensorLike, pool_size: IntOrTuple = 2, strides: Optional[IntOrTuple] = None,
               padding: Padding = "valid") -> TensorOrArray:
    """Max pooling of (N, steps, C); see :func:`max_pool`."""
    return max_pool(x, pool_size, strides, padding, nd=1)


def max_pool2d(x: TensorLike, pool_size: IntOrTuple = 2, strides: Optional[IntOrTuple] = None,
               padding: Padding = "valid") -> TensorOrArray:
    """Max pooling of (N, H, W, C); see :func:`max_pool`."""
    return max_pool(x, pool_size, strides, padding, nd=2)


def avg_pool(x: TensorLike, pool_size: IntOrTuple, strides: Optional[IntOrTuple] = None, padding: Padding = "valid",
             count_include_pad: bool = False, nd: Optional[int] = None) -> TensorOrArray:
    """Average pooling of channels-last x (N, *spatial, C).

    With padding, each window's mean is over its entries inside the input (TensorFlow's 'same';
    PyTorch's ``count_include_pad=False``), or, with ``count_include_pad=True``, over the whole
    window including the zero padding (PyTorch's default).

    >>> import numpy as np
    >>> avg_pool(np.array([1., 2., 3.]).reshape(1, 3, 1), 2, strides=1)[0, :, 0]
    array([1.5, 2.5])
    >>> avg_pool(np.array([1., 2., 3.]).reshape(1, 3, 1), 2, padding='same')[0, :, 0]
    array([1.5, 3. ])
    """
    op = "avg_pool" if nd is None else f"avg_pool{nd}d"
    xs, size, strides, pads = _pool_args(x, pool_size, strides, padding, nd, op)
    counted = None
    if any(lo or hi for lo, hi in pads):
        if count_include_pad:
            counted = None
        else:
            counted = tuple((lo, lo + n) for (lo, _), n in zip(pads, xs[1:-1]))
    return AvgPool.apply(x, size=size, strides=strides, pads=pads, counted=counted)


def avg_pool1d(x: TensorLike, pool_size: IntOrTuple = 2, strides: Optional[IntOrTuple] = None,
               padding: Padding = "valid", count_include_pad: bool = False) -> TensorOrArray:
    """Average pooling of (N, steps, C); see :func:`avg_pool`."""
    return avg_pool(x, pool_size, strides, padding, count_include_pad, nd=1)


def avg_pool2d(x: TensorLike, pool_size: IntOrTuple = 2, strides: Optional[IntOrTuple] = None,
               padding: Padding = "valid", count_include_pad: bool = False) -> TensorOrArray:
    """Average pooling of (N, H, W, C); see :func:`avg_pool`."""
    return avg_pool(x, pool_size, strides, padding, count_include_pad, nd=2)

"""``keras.ops`` on chainrule: the operations a Keras layer's ``call`` is written with.

Keras 3's ``keras.ops`` follows NumPy's names and arguments, so its NumPy part is
:mod:`chainrule.numpy` (HIPS autograd's design: each function records the graph when it is given a
Tensor and returns plain arrays otherwise), with Keras' rule that arrays it creates from nothing
(``zeros``, ``ones``, ``full``, ``eye``, ``linspace``, ``convert_to_tensor`` of Python floats) are
of the default float type (float32) rather than NumPy's float64.  The neural-network part
(``relu``, ``sigmoid``, ``softmax``, ``gelu``, ...) is :mod:`chainrule.keras.activations` with
``keras.ops``' defaults (``gelu(x, approximate=True)``, ``leaky_relu(x, negative_slope=0.2)``),
and ``cast``, ``convert_to_tensor``, ``convert_to_numpy``, ``shape`` and ``stop_gradient`` are
here.  A ``keras.ops`` function chainrule lacks raises a NotImplementedError naming it.

>>> import numpy as np
>>> from chainrule.keras import ops
>>> x = ops.convert_to_tensor([[1.0, -2.0]])
>>> y = ops.sum(ops.relu(x) * 3.0)
>>> float(y.data), y.dtype, ops.zeros((1, 2)).dtype
(3.0, dtype('float32'), dtype('float32'))
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

import chainrule.numpy as _cnp
from chainrule import _checks
from chainrule import ops as _ops
from chainrule._unsupported import missing
from chainrule.keras import activations as _acts
from chainrule.nn import functional as _F
from chainrule.tensor import Tensor, get_default_dtype

if TYPE_CHECKING:
    from chainrule._typing import Any, ArrayLike, DTypeLike, Sequence, TensorLike

#: keras.ops' NumPy-style functions, which chainrule.numpy has under the same name and arguments
NUMPY_NAMES = (
    "abs", "absolute", "add", "all", "amax", "amin", "any", "append", "arange", "arccos", "arccosh", "arcsin",
    "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argpartition", "argsort", "array_split",
    "average", "bincount", "broadcast_to", "cbrt", "ceil", "clip", "concatenate", "conj", "conjugate", "copy",
    "cos", "cosh", "count_nonzero", "cross", "cumprod", "cumsum", "deg2rad", "diag", "diagflat", "diagonal",
    "diff", "digitize", "divide", "dot", "dsplit", "dstack", "einsum", "equal", "exp", "exp2", "expand_dims",
    "expm1", "fabs", "flip", "fliplr", "flipud", "floor", "floor_divide", "fmax", "fmin", "fmod", "full_like",
    "greater", "greater_equal", "hsplit", "hstack", "hypot", "imag", "inner", "isclose", "isfinite", "isin", "isinf",
    "isnan", "isneginf", "isposinf", "isreal", "kron", "less", "less_equal", "log", "log10", "log1p", "log2",
    "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor", "matmul", "max", "maximum",
    "mean", "median", "meshgrid", "min", "minimum", "mod", "moveaxis", "multiply", "nan_to_num", "ndim", "negative",
    "nonzero", "not_equal", "ones_like", "outer", "pad", "percentile", "power", "prod", "ptp", "quantile",
    "rad2deg", "ravel", "real", "reciprocal", "repeat", "reshape", "roll", "rot90", "round", "searchsorted",
    "select", "sign", "signbit", "sin", "sinc", "sinh", "size", "sort", "split", "sqrt", "square", "squeeze",
    "stack", "std", "subtract", "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh", "tensordot", "tile",
    "trace", "transpose", "trapezoid", "tril", "triu", "true_divide", "trunc", "unique", "unravel_index", "vdot",
    "vsplit", "vstack", "where", "zeros_like", "var", "allclose", "angle", "bitwise_and", "bitwise_invert",
    "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "corrcoef", "correlate",
    "empty_like", "gcd", "heaviside", "histogram", "i0", "lcm", "ldexp", "left_shift", "right_shift", "nanargmax",
    "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
    "nanquantile", "nanstd", "nansum", "nanvar", "nextafter", "vectorize")
for _name in NUMPY_NAMES:
    globals()[_name] = getattr(_cnp, _name)

#: the ones that make float arrays from numbers: float32 (the default float type) unless told otherwise
FLOAT_MAKERS = ("bartlett", "blackman", "hamming", "hanning", "kaiser", "geomspace", "logspace", "tri", "vander")


def _default_float(fn):
    """NumPy's ``fn`` (its signature and module, as chainrule.numpy's functions keep NumPy's), its float64
    results given as the default float type."""
    @functools.wraps(fn)
    def made(*args, **kwargs):
        out = fn(*args, **kwargs)
        return out.astype(get_default_dtype()) if kwargs.get("dtype") is None and out.dtype == np.float64 else out
    return made


for _name in FLOAT_MAKERS:
    globals()[_name] = _default_float(getattr(np, _name))
del _name

#: the activations under keras.ops' names (keras.ops.gelu defaults to the tanh approximation)
relu, relu6, sigmoid, softplus, softsign = _acts.relu, _acts.relu6, _acts.sigmoid, _acts.softplus, _acts.softsign
silu, swish, hard_sigmoid, hard_silu, hard_swish = _acts.silu, _acts.swish, _acts.hard_sigmoid, _acts.hard_silu, \
    _acts.hard_swish
elu, selu, mish, leaky_relu = _acts.elu, _acts.selu, _acts.mish, _acts.leaky_relu
erf, erfc, logsumexp = _ops.erf, _ops.erfc, _ops.logsumexp

__all__ = [*NUMPY_NAMES, *FLOAT_MAKERS, "divide_no_nan", "get_item", "relu", "relu6", "sigmoid", "softplus",
           "softsign", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "elu", "selu", "mish",
           "leaky_relu", "gelu", "softmax", "log_softmax", "log_sigmoid", "one_hot", "erf", "erfc", "logsumexp",
           "rsqrt", "zeros", "ones", "full", "eye", "identity", "empty", "linspace", "array", "cast",
           "convert_to_tensor", "convert_to_numpy", "shape", "stop_gradient", "is_tensor"]


def divide_no_nan(x1: TensorLike, x2: TensorLike) -> Tensor | np.ndarray:
    """x1 / x2, and 0 where x2 = 0 (no inf or nan, and no gradient through those places)."""
    zero = np.asarray(x2.data if isinstance(x2, Tensor) else x2) == 0
    return _ops.where(zero, 0.0, _ops.div(x1, _ops.where(zero, 1.0, x2)))


def get_item(x: TensorLike, key: Any) -> Tensor | np.ndarray:
    """x[key]."""
    return _ops.getitem(x, key)


def gelu(x: TensorLike, approximate: bool = True) -> Tensor | np.ndarray:
    """keras.ops' gelu: x Phi(x), by default with Phi's tanh approximation (``approximate=False``: exact)."""
    return _acts.gelu(x, approximate=approximate)


def softmax(x: TensorLike, axis: int = -1) -> Tensor | np.ndarray:
    """e^(x_c) / sum_k e^(x_k) along ``axis``."""
    return _ops.softmax(x, axis=axis)


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor | np.ndarray:
    """x_c - log sum_k e^(x_k) along ``axis``."""
    return _ops.log_softmax(x, axis=axis)


def log_sigmoid(x: TensorLike) -> Tensor | np.ndarray:
    """log sigma(x) = -softplus(-x)."""
    return _F.logsigmoid(x)


def rsqrt(x: TensorLike) -> Tensor | np.ndarray:
    """1 / sqrt(x)."""
    return _ops.div(1.0, _ops.sqrt(x))


def one_hot(x: ArrayLike, num_classes: int, axis: int = -1, dtype: DTypeLike = None) -> np.ndarray:
    """Class indices to one-hot rows (a new axis of ``num_classes`` at ``axis``); an index outside
    [0, num_classes) gives a row of zeros, as in Keras."""
    idx = np.asarray(x.data if isinstance(x, Tensor) else x)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got an array of {idx.dtype}")
    out = (idx[..., None] == np.arange(int(num_classes))).astype(_dtype(dtype))
    return np.moveaxis(out, -1, axis) if axis != -1 else out


def _dtype(dtype):
    return np.dtype(get_default_dtype()) if dtype is None else _checks.dtype("keras.ops", dtype)


def zeros(shape: int | Sequence[int], dtype: DTypeLike = None) -> np.ndarray:
    """An array of zeros (float32 unless ``dtype`` says otherwise)."""
    return np.zeros(shape, _dtype(dtype))


def ones(shape: int | Sequence[int], dtype: DTypeLike = None) -> np.ndarray:
    """An array of ones (float32 unless ``dtype`` says otherwise)."""
    return np.ones(shape, _dtype(dtype))


def empty(shape: int | Sequence[int], dtype: DTypeLike = None) -> np.ndarray:
    """An uninitialized array (float32 unless ``dtype`` says otherwise)."""
    return np.empty(shape, _dtype(dtype))


def full(shape: int | Sequence[int], fill_value: float, dtype: DTypeLike = None) -> np.ndarray:
    """An array filled with ``fill_value`` (float32 unless ``dtype`` says otherwise)."""
    return np.full(shape, fill_value, _dtype(dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: DTypeLike = None) -> np.ndarray:  # noqa: N803
    """Ones on the k-th diagonal of an N x M matrix (float32 unless ``dtype`` says otherwise)."""
    return np.eye(N, M, k, dtype=_dtype(dtype))


def identity(n: int, dtype: DTypeLike = None) -> np.ndarray:
    """The n x n identity matrix (float32 unless ``dtype`` says otherwise)."""
    return np.identity(n, _dtype(dtype))


def linspace(start: float, stop: float, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: DTypeLike = None, axis: int = 0) -> np.ndarray | tuple[np.ndarray, float]:
    """``num`` evenly spaced numbers from start to stop (float32 unless ``dtype`` says otherwise)."""
    return np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=_dtype(dtype), axis=axis)


def _as_values(x, dtype):
    """Keras' conversion: Python floats (and float64 lists) become the default float type."""
    if isinstance(x, Tensor):
        return x if dtype is None else _ops.astype(x, _dtype(dtype))
    a = np.asarray(x)
    if dtype is not None:
        return a.astype(_dtype(dtype), copy=False)
    if a.dtype.kind == "f" and not isinstance(x, np.ndarray):
        return a.astype(get_default_dtype(), copy=False)
    return a


def array(x: ArrayLike, dtype: DTypeLike = None) -> np.ndarray:
    """``x`` as an array (Python floats as float32)."""
    v = _as_values(x, dtype)
    return v.data if isinstance(v, Tensor) else v


def convert_to_tensor(x: TensorLike, dtype: DTypeLike = None, sparse: bool | None = None) -> Tensor:
    """``x`` as a Tensor (a Tensor stays itself; Python floats become float32)."""
    v = _as_values(x, dtype)
    return v if isinstance(v, Tensor) else Tensor(v)


def convert_to_numpy(x: TensorLike) -> np.ndarray:
    """The values of ``x`` as a NumPy array."""
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def cast(x: TensorLike, dtype: DTypeLike) -> Tensor | np.ndarray:
    """``x`` as ``dtype`` (on the graph for a Tensor: float casts pass gradients through)."""
    return _ops.astype(x, _dtype(dtype))


def shape(x: TensorLike) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple of ints."""
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


def stop_gradient(x: TensorLike) -> Tensor | np.ndarray:
    """The values of ``x`` cut from the graph (no gradient flows back through them)."""
    return x.detach() if isinstance(x, Tensor) else np.asarray(x)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a chainrule Tensor."""
    return isinstance(x, Tensor)


__getattr__ = missing(__name__, "keras.ops", {"conv": "use a Conv1D or Conv2D layer",
                                              "max_pool": "use a MaxPooling1D or MaxPooling2D layer",
                                              "scan": "write the loop in Python", "while_loop": "",
                                              "fori_loop": "", "cond": "write an if statement"})

"""PyTorch's top-level functions on chainrule's Tensor: dtypes, creation, reductions, joins, ``no_grad``.

The tensors are :class:`chainrule.Tensor` (one class for every namespace); where PyTorch's
semantics differ from chainrule's NumPy-style top level these follow PyTorch:
``torch.max(x, dim)`` returns ``(values, indices)``, ``torch.var``/``torch.std`` are the sample
variance (divided by n - 1), ``torch.cat``/``torch.stack`` take ``dim=``, ``torch.tensor`` makes a
copy, ``torch.arange(12)`` is int64.  The dtypes are NumPy's (``torch.float32 is
numpy.dtype('float32')``), so ``x.dtype == torch.float32`` holds for every tensor.
"""
from __future__ import annotations

import builtins
import contextlib
import collections
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chainrule import ops
from chainrule.tensor import (Tensor, enable_grad, get_default_dtype, is_grad_enabled, manual_seed as _manual_seed,
                              no_grad, set_default_dtype as _set_default_dtype, get_rng)

if TYPE_CHECKING:
    from chainrule._typing import DTypeLike, TensorLike

__all__ = ["Tensor", "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "long",
           "int", "float", "double", "half", "dtype", "Size", "device", "tensor", "as_tensor", "from_numpy",
           "zeros", "ones", "zeros_like", "ones_like", "full", "full_like", "empty", "eye", "arange", "linspace",
           "randn", "rand", "randint", "randperm", "randn_like", "rand_like", "manual_seed", "seed", "initial_seed",
           "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "inference_mode", "is_tensor", "numel", "get_default_dtype",
           "set_default_dtype", "max", "min", "argmax", "argmin", "sum", "mean", "prod", "var", "std", "cat",
           "concat", "stack", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "softmax",
           "log_softmax", "matmul", "mm", "bmm", "pow", "square", "clamp", "clip", "where", "maximum", "minimum",
           "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "t", "allclose", "equal",
           "isclose", "sort", "cumsum", "logsumexp", "norm", "dot", "outer", "einsum", "round", "floor", "ceil",
           "sign", "topk", "chunk", "split", "meshgrid", "cuda", "Generator", "return_types"]

# ----------------------------------------------------------------------------- dtypes
float32 = float = np.dtype(np.float32)  # noqa: A001 (PyTorch's names)
float64 = double = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)  # noqa: A001
int16, int8, uint8 = np.dtype(np.int16), np.dtype(np.int8), np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001
dtype = np.dtype


class Size(tuple):
    """PyTorch's ``torch.Size``: a tuple of sizes with ``numel()``."""

    def numel(self) -> builtins.int:
        """The number of elements a tensor of this shape holds (the product of the sizes)."""
        return math.prod(self)

    def __repr__(self):
        return f"torch.Size({list(self)})"


class device:  # noqa: N801 (PyTorch's name)
    """``torch.device('cpu')``: the only device chainrule has."""

    def __init__(self, type: str = "cpu", index: builtins.int | None = None) -> None:  # noqa: A002
        name = str(type)
        if name.split(":")[0] != "cpu":
            raise RuntimeError(f"torch.device({type!r}): chainrule runs on the CPU (NumPy) and has no GPU or other "
                               f"device; use 'cpu'")
        self.type, self.index = "cpu", index

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        return str(other) == "cpu"

    __hash__ = object.__hash__


class _Cuda:
    """``torch.cuda``: no GPU here."""

    @staticmethod
    def is_available() -> builtins.bool:
        return False

    @staticmethod
    def device_count() -> builtins.int:
        return 0

    @staticmethod
    def manual_seed(seed: builtins.int) -> None:
        pass

    manual_seed_all = manual_seed


cuda = _Cuda()


def _np_dtype(d):
    return None if d is None else np.dtype(d)


def _device_ok(device_, what):
    if device_ is not None and str(getattr(device_, "type", device_)).split(":")[0] != "cpu":
        raise RuntimeError(f"{what}(device={device_!r}): chainrule runs on the CPU (NumPy) and has no GPU or other "
                           f"device; use device='cpu' or leave it out")


def _t(x):
    """Tensors as they are; arrays and numbers as Tensors (for functions that return Tensors)."""
    return x if isinstance(x, Tensor) else Tensor(x)


# ----------------------------------------------------------------------------- creation
def tensor(data: TensorLike, dtype: DTypeLike = None, device: str | device | None = None,
           requires_grad: builtins.bool = False, pin_memory: builtins.bool = False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (Python floats become float32, ints int64, as in PyTorch)."""
    _device_ok(device, "torch.tensor")
    if isinstance(data, Tensor):
        data = data.data
    arr = np.array(data, dtype=_np_dtype(dtype), copy=True)
    if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.ndarray):
        arr = arr.astype(get_default_dtype())   # Python floats take the default dtype; NumPy arrays keep theirs
    return Tensor(arr, requires_grad=requires_grad)


def as_tensor(data: TensorLike, dtype: DTypeLike = None, device: str | device | None = None) -> Tensor:
    """A Tensor sharing ``data``'s memory when it can (no copy for an ndarray of that dtype)."""
    _device_ok(device, "torch.as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        return Tensor(data if dtype is None else data.astype(dtype, copy=False))
    return tensor(data, dtype=dtype)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A Tensor that shares the array's memory (writes show in both), as ``torch.from_numpy``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    return Tensor(ndarray)


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _make(arr, dtype, requires_grad, device_, what):
    _device_ok(device_, what)
    return Tensor(arr.astype(_np_dtype(dtype) or get_default_dtype(), copy=False), requires_grad=requires_grad)


def zeros(*size: builtins.int | Sequence[builtins.int], dtype: DTypeLike = None, device: str | device | None = None,
          requires_grad: builtins.bool = False) -> Tensor:
    """A tensor of zeros of the given size (``torch.zeros(2, 3)`` or ``torch.zeros((2, 3))``)."""
    return _make(np.zeros(_shape(size)), dtype, requires_grad, device, "torch.zeros")


def ones(*size: builtins.int | Sequence[builtins.int], dtype: DTypeLike = None, device: str | device | None = None,
         requires_grad: builtins.bool = False) -> Tensor:
    """A tensor of ones of the given size."""
    return _make(np.ones(_shape(size)), dtype, requires_grad, device, "torch.ones")


def empty(*size: builtins.int | Sequence[builtins.int], dtype: DTypeLike = None, device: str | device | None = None,
          requires_grad: builtins.bool = False) -> Tensor:
    """A tensor of the given size (filled with zeros here: chainrule hands out no uninitialised memory)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size: Sequence[builtins.int], fill_value: builtins.float | builtins.int | builtins.bool,
         dtype: DTypeLike = None, device: str | device | None = None, requires_grad: builtins.bool = False) -> Tensor:
    """A tensor of the given size filled with ``fill_value``."""
    if dtype is None and isinstance(fill_value, (builtins.bool, np.bool_)):
        dtype = np.bool_
    elif dtype is None and isinstance(fill_value, (builtins.int, np.integer)):
        dtype = np.int64
    return _make(np.full(tuple(size), fill_value), dtype, requires_grad, device, "torch.full")


def _like(x, fn, dtype, requires_grad):
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(fn(data.shape).astype(_np_dtype(dtype) or data.dtype), requires_grad=requires_grad)


def zeros_like(input: TensorLike, dtype: DTypeLike = None,
               requires_grad: builtins.bool = False) -> Tensor:  # noqa: A002
    """Zeros of ``input``'s shape (and dtype unless ``dtype`` is given)."""
    return _like(input, np.zeros, dtype, requires_grad)


def ones_like(input: TensorLike, dtype: DTypeLike = None, requires_grad: builtins.bool = False) -> Tensor:  # noqa: A002
    """Ones of ``input``'s shape (and dtype unless ``dtype`` is given)."""
    return _like(input, np.ones, dtype, requires_grad)


def full_like(input: TensorLike, fill_value: builtins.float | builtins.int | builtins.bool, dtype: DTypeLike = None,
              requires_grad: builtins.bool = False) -> Tensor:  # noqa: A002
    """``fill_value`` in ``input``'s shape (and dtype unless ``dtype`` is given)."""
    return _like(input, lambda s: np.full(s, fill_value), dtype, requires_grad)


def eye(n: builtins.int, m: builtins.int | None = None, dtype: DTypeLike = None, device: str | device | None = None,
        requires_grad: builtins.bool = False) -> Tensor:
    """The n x m identity matrix (m = n by default)."""
    return _make(np.eye(n, m), dtype, requires_grad, device, "torch.eye")


def arange(start: builtins.float, end: builtins.float | None = None, step: builtins.float = 1, dtype: DTypeLike = None,
           device: str | device | None = None, requires_grad: builtins.bool = False) -> Tensor:
    """``arange(12)`` is int64 0..11 (floats when any bound is a float), as in PyTorch."""
    _device_ok(device, "torch.arange")
    if end is None:
        start, end = 0, start
    ints = all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
    arr = np.arange(start, end, step, dtype=np.int64 if ints else None)
    if dtype is None and not ints:
        arr = arr.astype(get_default_dtype())
    return Tensor(arr if dtype is None else arr.astype(dtype), requires_grad=requires_grad)


def linspace(start: builtins.float, end: builtins.float, steps: builtins.int, dtype: DTypeLike = None,
             device: str | device | None = None, requires_grad: builtins.bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    return _make(np.linspace(start, end, builtins.int(steps)), dtype, requires_grad, device, "torch.linspace")


def _rng(generator):
    return generator.rng if isinstance(generator, Generator) else get_rng()


def randn(*size: builtins.int | Sequence[builtins.int], generator: Generator | None = None, dtype: DTypeLike = None,
          device: str | device | None = None, requires_grad: builtins.bool = False) -> Tensor:
    """Standard normal samples from chainrule's generator (``torch.manual_seed`` seeds it)."""
    return _make(_rng(generator).standard_normal(_shape(size)), dtype, requires_grad, device, "torch.randn")


def rand(*size: builtins.int | Sequence[builtins.int], generator: Generator | None = None, dtype: DTypeLike = None,
         device: str | device | None = None, requires_grad: builtins.bool = False) -> Tensor:
    """U[0, 1) samples from chainrule's generator."""
    return _make(_rng(generator).random(_shape(size)), dtype, requires_grad, device, "torch.rand")


def randint(low: builtins.int, high: builtins.int | None = None, size: Sequence[builtins.int] | None = None,
            generator: Generator | None = None, dtype: DTypeLike = None, device: str | device | None = None,
            requires_grad: builtins.bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) (``randint(high, size=...)``: from [0, high)), int64 by
    default."""
    if high is None:
        low, high = 0, low
    _device_ok(device, "torch.randint")
    return Tensor(_rng(generator).integers(low, high, size=tuple(size)).astype(_np_dtype(dtype) or np.int64))


def randperm(n: builtins.int, generator: Generator | None = None, dtype: DTypeLike = None,
             device: str | device | None = None) -> Tensor:
    """A random permutation of 0, ..., n - 1 (int64), from chainrule's generator or ``generator``."""
    _device_ok(device, "torch.randperm")
    return Tensor(_rng(generator).permutation(n).astype(_np_dtype(dtype) or np.int64))


def randn_like(input: TensorLike, dtype: DTypeLike = None) -> Tensor:  # noqa: A002
    """Standard normal draws in ``input``'s shape."""
    return _like(input, lambda s: get_rng().standard_normal(s), dtype, False)


def rand_like(input: TensorLike, dtype: DTypeLike = None) -> Tensor:  # noqa: A002
    """Uniform draws from [0, 1) in ``input``'s shape."""
    return _like(input, lambda s: get_rng().random(s), dtype, False)


_SEED = [None]


def manual_seed(seed: builtins.int) -> Generator:
    """Seed chainrule's generator (initial weights, dropout, shuffling, torch.randn ...)."""
    _SEED[0] = builtins.int(seed)
    _manual_seed(builtins.int(seed))
    return Generator().manual_seed(seed)


def seed() -> builtins.int:
    """Seed chainrule's generator from fresh entropy and return the seed."""
    s = builtins.int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(s)
    return s


def initial_seed() -> builtins.int | None:
    """The seed last given to :func:`manual_seed` (or :func:`seed`)."""
    return _SEED[0]


class Generator:
    """``torch.Generator``: its own random stream (for ``randn(generator=...)``, ``DataLoader(generator=...)``,
    ``random_split``)."""

    def __init__(self, device: str | device = "cpu") -> None:
        _device_ok(device if device != "cpu" else None, "torch.Generator")
        self.rng = np.random.default_rng()
        self._seed = None

    def manual_seed(self, seed: builtins.int) -> Generator:
        """Reseed this generator's stream with ``seed``; returns the generator."""
        self._seed = builtins.int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> builtins.int | None:
        """The seed this generator was last given (None when it was never seeded)."""
        return self._seed


def _typed(name, np_dtype):
    def make(*data: Any) -> Tensor:
        if len(data) == 1 and not isinstance(data[0], (builtins.int, np.integer)):
            return tensor(data[0], dtype=np_dtype)
        return zeros(*data, dtype=np_dtype)   # FloatTensor(2, 3): a tensor of that shape
    make.__name__ = name
    make.__doc__ = f"``torch.{name}(data)``: a {np.dtype(np_dtype).name} tensor of ``data`` (or of a shape)."
    return make


FloatTensor = _typed("FloatTensor", np.float32)
DoubleTensor = _typed("DoubleTensor", np.float64)
LongTensor = _typed("LongTensor", np.int64)
IntTensor = _typed("IntTensor", np.int32)
BoolTensor = _typed("BoolTensor", np.bool_)


class set_grad_enabled:  # noqa: N801 (PyTorch's name)
    """``with torch.set_grad_enabled(False):`` records no graph in the block (True: records)."""

    def __init__(self, mode: builtins.bool) -> None:
        self._ctx = enable_grad() if mode else no_grad()

    def __enter__(self):
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def inference_mode(mode: builtins.bool = True) -> contextlib.AbstractContextManager[None]:
    """``torch.inference_mode()``: no graph, as ``no_grad``."""
    return no_grad() if mode else enable_grad()


def is_tensor(obj: object) -> builtins.bool:
    """True if ``obj`` is a chainrule Tensor."""
    return isinstance(obj, Tensor)


def numel(input: TensorLike) -> builtins.int:  # noqa: A002
    """The number of elements of ``input``."""
    return builtins.int(np.size(input.data if isinstance(input, Tensor) else input))


def set_default_dtype(d: DTypeLike) -> None:
    """Set the dtype of new floating-point tensors and parameters (``torch.float32`` or ``torch.float64``)."""
    _set_default_dtype(np.dtype(d).name)


# ----------------------------------------------------------------------------- reductions
return_types = collections.namedtuple("torch_return_types", ["values", "indices"])
_MinMax = return_types


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _extreme(fn, pick, input, dim, keepdim, other, name):  # noqa: A002
    if other is not None or isinstance(dim, (Tensor, np.ndarray)):
        return _t((ops.maximum if name == "max" else ops.minimum)(input, dim if other is None else other))
    x = _t(input)
    if dim is None:
        return fn(x)
    values = fn(x, axis=dim, keepdims=keepdim)
    indices = Tensor(pick(x.data, axis=dim, keepdims=keepdim).astype(np.int64))
    return _MinMax(values, indices)


def max(input: TensorLike, dim: builtins.int | TensorLike | None = None, keepdim: builtins.bool = False, *,
        other: TensorLike | None = None) -> Tensor | tuple[Tensor, Tensor]:  # noqa: A001
    """``torch.max(x)``: the largest entry; ``torch.max(x, dim)``: (values, indices) along dim (PyTorch's
    result, unlike the NumPy-style ``chainrule.max``); ``torch.max(x, y)``: the entrywise maximum."""
    return _extreme(ops.max, np.argmax, input, dim, keepdim, other, "max")


def min(input: TensorLike, dim: builtins.int | TensorLike | None = None, keepdim: builtins.bool = False, *,
        other: TensorLike | None = None) -> Tensor | tuple[Tensor, Tensor]:  # noqa: A001
    """``torch.min(x)``, ``torch.min(x, dim)`` -> (values, indices), ``torch.min(x, y)``."""
    return _extreme(ops.min, np.argmin, input, dim, keepdim, other, "min")


def argmax(input: TensorLike, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:  # noqa: A002
    """The index of the largest entry (of the flattened tensor when ``dim`` is None), int64."""
    return Tensor(np.argmax(_data(input), axis=dim, keepdims=keepdim if dim is not None else False).astype(np.int64))


def argmin(input: TensorLike, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:  # noqa: A002
    """The indices of the minima over ``dim`` (of the flattened tensor when ``dim`` is None)."""
    return Tensor(np.argmin(_data(input), axis=dim, keepdims=keepdim if dim is not None else False).astype(np.int64))


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def sum(input: TensorLike, dim: builtins.int | Sequence[builtins.int] | None = None, keepdim: builtins.bool = False,
        dtype: DTypeLike = None) -> Tensor:  # noqa: A001
    """The sum over ``dim`` (all elements when None), differentiable."""
    x = _t(input)
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind == "b":
        x = x.to(np.int64)   # PyTorch counts booleans in int64
    return ops.sum(x, axis=_axis(dim), keepdims=keepdim)


def mean(input: TensorLike, dim: builtins.int | Sequence[builtins.int] | None = None, keepdim: builtins.bool = False,
         dtype: DTypeLike = None) -> Tensor:  # noqa: A002
    """The mean over ``dim`` (all elements when None), differentiable."""
    x = _t(input) if dtype is None else _t(input).to(dtype)
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"torch.mean: expected a floating-point tensor, got dtype {x.dtype} (use .float() first, "
                           f"as PyTorch asks)")
    return ops.mean(x, axis=_axis(dim), keepdims=keepdim)


def prod(input: TensorLike, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:  # noqa: A002
    """The product over ``dim`` (all elements when None), differentiable."""
    return ops.prod(_t(input), axis=dim, keepdims=keepdim)


def var(input: TensorLike, dim: builtins.int | Sequence[builtins.int] | None = None, unbiased: builtins.bool = True,
        keepdim: builtins.bool = False, *, correction: builtins.int | None = None) -> Tensor:  # noqa: A002
    """The sample variance (divided by n - 1) unless ``unbiased=False`` or ``correction=0``, as PyTorch."""
    ddof = correction if correction is not None else (1 if unbiased else 0)
    return ops.var(_t(input), axis=_axis(dim), keepdims=keepdim, ddof=ddof)


def std(input: TensorLike, dim: builtins.int | Sequence[builtins.int] | None = None, unbiased: builtins.bool = True,
        keepdim: builtins.bool = False, *, correction: builtins.int | None = None) -> Tensor:  # noqa: A002
    """The sample standard deviation (divided by n - 1) unless ``unbiased=False`` or ``correction=0``, as PyTorch."""
    ddof = correction if correction is not None else (1 if unbiased else 0)
    return ops.std(_t(input), axis=_axis(dim), keepdims=keepdim, ddof=ddof)


def logsumexp(input: TensorLike, dim: builtins.int | Sequence[builtins.int],
              keepdim: builtins.bool = False) -> Tensor:  # noqa: A002
    """log sum_i exp(x_i) over ``dim``, computed stably (the maximum is subtracted first)."""
    return ops.logsumexp(_t(input), axis=dim, keepdims=keepdim)


def cumsum(input: TensorLike, dim: builtins.int) -> Tensor:  # noqa: A002
    """The cumulative sum along ``dim``."""
    return ops.cumsum(_t(input), axis=dim)


def norm(input: TensorLike, p: builtins.float | str = "fro", dim: builtins.int | Sequence[builtins.int] | None = None,
         keepdim: builtins.bool = False) -> Tensor:  # noqa: A002
    """The Frobenius (or p-) norm over ``dim`` (all elements when None)."""
    return _t(input).norm(p=p, dim=dim, keepdim=keepdim)


def topk(input: TensorLike, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True,
         sorted: builtins.bool = True) -> tuple[Tensor, Tensor]:  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, as PyTorch."""
    x = _t(input)
    order = np.argsort(-x.data if largest else x.data, axis=dim, kind="stable")
    idx = np.take(order, np.arange(k), axis=dim)
    return _MinMax(ops.take_along_axis(x, idx, dim), Tensor(idx.astype(np.int64)))


def sort(input: TensorLike, dim: builtins.int = -1,
         descending: builtins.bool = False) -> tuple[Tensor, Tensor]:  # noqa: A002
    """``(values, indices)`` sorted along ``dim`` (a stable sort), as PyTorch."""
    x = _t(input)
    idx = np.argsort(-x.data if descending else x.data, axis=dim, kind="stable")
    return _MinMax(ops.take_along_axis(x, idx, dim), Tensor(idx.astype(np.int64)))


# ----------------------------------------------------------------------------- joins and shapes
def cat(tensors: Sequence[TensorLike], dim: builtins.int = 0) -> Tensor:
    """Join along an existing axis ``dim`` (NumPy's concatenate)."""
    return ops.concatenate([_t(x) for x in tensors], axis=dim)


concat = cat


def stack(tensors: Sequence[TensorLike], dim: builtins.int = 0) -> Tensor:
    """Join along a new axis ``dim``."""
    return ops.stack([_t(x) for x in tensors], axis=dim)


def chunk(input: TensorLike, chunks: builtins.int, dim: builtins.int = 0) -> list[Tensor]:  # noqa: A002
    """``chunks`` nearly equal pieces of ``input`` along ``dim`` (the last may be smaller)."""
    return list(ops.split(_t(input), chunks, axis=dim))


def split(tensor_: TensorLike, split_size_or_sections: builtins.int | Sequence[builtins.int],
          dim: builtins.int = 0) -> list[Tensor]:
    """Pieces of size ``split_size_or_sections`` along ``dim``, or of the sizes in the list given."""
    x = _t(tensor_)
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (builtins.int, np.integer)):
        cuts = list(range(split_size_or_sections, n, split_size_or_sections))
    else:
        cuts = list(np.cumsum(split_size_or_sections)[:-1])
    return list(ops.split(x, cuts, axis=dim))


def reshape(input: TensorLike, shape: Sequence[builtins.int]) -> Tensor:  # noqa: A002
    """``input`` with the given shape (-1 infers one size)."""
    return ops.reshape(_t(input), tuple(shape))


def flatten(input: TensorLike, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:  # noqa: A002
    """``input`` with the dimensions ``start_dim`` to ``end_dim`` flattened into one."""
    return _t(input).flatten(start_dim, end_dim)


def squeeze(input: TensorLike, dim: builtins.int | None = None) -> Tensor:  # noqa: A002
    """``input`` without its dimensions of size 1 (only ``dim`` when it is given)."""
    return ops.squeeze(_t(input), dim)


def unsqueeze(input: TensorLike, dim: builtins.int) -> Tensor:  # noqa: A002
    """``input`` with a dimension of size 1 inserted at ``dim``."""
    return ops.expand_dims(_t(input), dim)


def transpose(input: TensorLike, dim0: builtins.int, dim1: builtins.int) -> Tensor:  # noqa: A002
    """Swap two axes (PyTorch's transpose; NumPy's swapaxes)."""
    return ops.swapaxes(_t(input), dim0, dim1)


def permute(input: TensorLike, dims: Sequence[builtins.int]) -> Tensor:  # noqa: A002
    """``input`` with its dimensions in the order ``dims``."""
    return ops.transpose(_t(input), tuple(dims))


def t(input: TensorLike) -> Tensor:  # noqa: A002
    """The transpose of a matrix (a vector is returned as it is)."""
    return ops.transpose(_t(input))


def meshgrid(*tensors: TensorLike, indexing: Literal["ij", "xy"] = "ij") -> list[Tensor]:
    """Coordinate grids of the 1-D tensors, with ``indexing='ij'`` (PyTorch's default) or ``'xy'``."""
    arrays = [_data(x) for x in (tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
                                 else tensors)]
    return [Tensor(g) for g in np.meshgrid(*arrays, indexing=indexing)]


# ----------------------------------------------------------------------------- elementwise and products
exp, log, sqrt, abs, sin, cos, tanh, sigmoid, relu = (ops.exp, ops.log, ops.sqrt, ops.abs, ops.sin,  # noqa: A001
                                                      ops.cos, ops.tanh, ops.sigmoid, ops.relu)
square, floor, ceil, sign = ops.square, ops.floor, ops.ceil, ops.sign
maximum, minimum, matmul, dot, outer, einsum = ops.maximum, ops.minimum, ops.matmul, ops.dot, ops.outer, ops.einsum


def round(input: TensorLike, decimals: builtins.int = 0) -> Tensor:  # noqa: A001
    """``input`` rounded to ``decimals`` decimals (halves to even, as PyTorch)."""
    return ops.round(_t(input), decimals)


def softmax(input: TensorLike, dim: builtins.int, dtype: DTypeLike = None) -> Tensor:  # noqa: A002
    """The softmax over ``dim``: exp(x_i) / sum_j exp(x_j)."""
    return ops.softmax(_t(input), axis=dim)


def log_softmax(input: TensorLike, dim: builtins.int, dtype: DTypeLike = None) -> Tensor:  # noqa: A002
    """The log-softmax over ``dim``: x_i - log sum_j exp(x_j), computed stably."""
    return ops.log_softmax(_t(input), axis=dim)


def pow(input: TensorLike, exponent: TensorLike) -> Tensor:  # noqa: A001
    """``input`` raised to ``exponent`` elementwise."""
    return ops.pow(input, exponent)


def mm(input: TensorLike, mat2: TensorLike) -> Tensor:  # noqa: A002
    """The matrix product of two matrices."""
    return _t(input).mm(mat2)


def bmm(input: TensorLike, mat2: TensorLike) -> Tensor:  # noqa: A002
    """The batched matrix product of (b, n, m) and (b, m, p) tensors."""
    if _data(input).ndim != 3 or _data(mat2).ndim != 3:
        raise ValueError("torch.bmm: expected two batches of matrices (rank 3)")
    return ops.matmul(input, mat2)


def clamp(input: TensorLike, min: builtins.float | None = None,
          max: builtins.float | None = None) -> Tensor:  # noqa: A001,A002
    """``input`` limited to [min, max] elementwise (either bound may be None); also ``clip``."""
    return ops.clip(_t(input), min, max)


clip = clamp


def where(condition: TensorLike, input: TensorLike | None = None,
          other: TensorLike | None = None) -> Tensor | tuple[Tensor, ...]:  # noqa: A002
    """``input`` where ``condition`` holds, else ``other``; with one argument, the indices where it holds."""
    if input is None and other is None:
        return tuple(Tensor(i.astype(np.int64)) for i in np.nonzero(_data(condition)))
    return ops.where(_data(condition), input, other)


def allclose(input: TensorLike, other: TensorLike, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
             equal_nan: builtins.bool = False) -> builtins.bool:  # noqa: A002
    """True if every element of ``input`` is close to ``other`` (abs(a - b) <= atol + rtol abs(b))."""
    return builtins.bool(np.allclose(_data(input), _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input: TensorLike, other: TensorLike, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
            equal_nan: builtins.bool = False) -> Tensor:  # noqa: A002
    """Elementwise abs(a - b) <= atol + rtol abs(b), a boolean tensor."""
    return Tensor(np.isclose(_data(input), _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: TensorLike, other: TensorLike) -> builtins.bool:  # noqa: A002
    """True if the two tensors have the same shape and the same elements."""
    a, b = _data(input), _data(other)
    return a.shape == b.shape and builtins.bool(np.array_equal(a, b))

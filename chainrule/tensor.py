"""The Tensor: an ndarray plus the record of how it was computed.

A Tensor produced by a primitive keeps a reference to that primitive (its
``_ctx``, a :class:`~chainrule.function.Function`), which in turn keeps its
inputs.  Those references form the computational graph of the lecture notes:
``backward()`` walks it in reverse topological order and applies the chain rule
one vector-Jacobian product at a time (reverse mode), accumulating each input's
adjoint  xbar = sum over its uses of  ybar * dy/dx.

Forward mode rides on the same primitives: while :func:`chainrule.jvp` is
running, every Tensor may carry a tangent ``xdot`` and each primitive pushes
ydot = (dy/dx) xdot  forward as it computes y.

In-place changes are checked as PyTorch checks them: ``add_``, ``mul_``, ``copy_``,
``t[i] = v`` ..., an optimizer step and ``load_state_dict`` advance the changed
tensor's version, and ``backward()`` refuses a node whose input or output changed
after the node was recorded (its VJP would read values the forward pass never
used).  What cannot be seen is a write to the ndarray itself (``t.data[...] = v``,
``np.add(t.data, 1, out=t.data)``, a change through another Tensor sharing the array
such as ``t.detach()``), as ``.data`` writes escape PyTorch's check; and the check is
per node, not per saved value, so it also refuses a change to an input whose VJP
would not have read it (``x + y``), where PyTorch lets it pass.
"""
from __future__ import annotations

import builtins
import contextlib
import numbers
import threading
from typing import TYPE_CHECKING, NoReturn

import numpy as np

if TYPE_CHECKING:
    from chainrule._typing import (Any, ArrayLike, Axis, DTypeLike, Iterator, Optional, Seed, Sequence, Shape,
                                    TensorLike, Union)

__all__ = ["Tensor", "tensor", "gradients", "no_grad", "enable_grad", "is_grad_enabled",
           "set_default_dtype", "get_default_dtype", "manual_seed", "get_rng", "fork_rng"]

_DTYPES = {"float32": np.float32, "float64": np.float64}
#: dtypes a Tensor's repr does not name (besides the default float), as PyTorch prints integer and boolean tensors
_UNMARKED = (np.dtype(np.int64), np.dtype(np.bool_))


class _State(threading.local):
    def __init__(self):
        self.grad_enabled = True
        self.forward_depth = 0  # > 0 while chainrule.jvp is tracing tangents


_state = _State()
#: The in-place clock: counts every in-place change of a Tensor's values made through chainrule
#: (an in-place method such as ``add_``, an optimizer step, ``load_state_dict``).  A recorded node
#: keeps the clock's reading (``Function._stamp``), a changed Tensor its reading after the change
#: (``Tensor._version``), so backward finds an input changed since it was recorded with one
#: comparison per node: PyTorch's version counter, at the cost of one integer per node.
_clock = [0]
_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the floating dtype that new Tensors built from Python numbers get.

    ``'float32'`` (the default, fast for training) or ``'float64'`` (for
    gradient checks).  Arrays that are already float64 stay float64.
    """
    global _default_dtype
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"set_default_dtype: expected 'float32' or 'float64', got {dtype!r}")
    _default_dtype = np.dtype(_DTYPES[name])


def get_default_dtype() -> np.dtype:
    """The dtype given to Tensors built from Python numbers or lists."""
    return _default_dtype


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's global random generator (initializers, dropout, shuffling).

    The same seed on the same machine gives bit-identical runs.
    """
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise TypeError(f"manual_seed: expected a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def _set_rng(rng):
    """Replace the global generator; return the previous one (used to seed a single fit)."""
    global _rng
    old, _rng = _rng, rng
    return old


@contextlib.contextmanager
def fork_rng(seed: Seed = None) -> Iterator[np.random.Generator]:
    """Run a block with chainrule's global generator seeded by ``seed``, restoring it afterwards
    (PyTorch's ``torch.random.fork_rng``).  With ``seed=None`` the global generator is used as is.

    >>> import chainrule as cr
    >>> with cr.fork_rng(0) as rng:
    ...     a = rng.random()
    >>> with cr.fork_rng(0) as rng:
    ...     a == rng.random()
    True
    """
    if seed is None:
        yield get_rng()
        return
    rng = np.random.default_rng(seed)
    saved = _set_rng(rng)
    try:
        yield rng
    finally:
        _set_rng(saved)


def get_rng(seed: Seed = None) -> np.random.Generator:
    """A NumPy Generator: a fresh one from ``seed`` if given, else the global one."""
    if seed is None:
        return _rng
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def is_grad_enabled() -> bool:
    """Whether primitives record the graph now (False inside :func:`no_grad`)."""
    return _state.grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager in which primitives record no graph (inference, updates)."""
    prev = _state.grad_enabled
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = prev


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager in which primitives record the graph again (inside :func:`no_grad`, for a block that must)."""
    prev = _state.grad_enabled
    _state.grad_enabled = True
    try:
        yield
    finally:
        _state.grad_enabled = prev


def _as_array(data, dtype=None):
    """Convert user data to an ndarray with chainrule's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        if arr.dtype.kind in "biufc":
            return arr
    else:
        arr = np.asarray(data)
    if arr.dtype == object:  # mixed Python numbers, or things that are not numbers at all (None)
        bad = next((v for v in arr.flat if not isinstance(v, numbers.Number)), _as_array)
        if bad is not _as_array or arr.size == 0:
            raise TypeError(f"tensor: expected numbers, got "
                            f"{'an empty object array' if bad is _as_array else repr(bad)}"
                            f" in {type(data).__name__} data; None has no numeric value (use float('nan') for "
                            f"a missing value)")
    elif arr.dtype.kind not in "biufc":
        raise TypeError(f"tensor: expected numbers, got data of dtype {arr.dtype} (e.g. strings); convert them "
                        f"first, e.g. np.asarray(data, dtype=float)")
    if arr.dtype.kind == "f" or arr.dtype == object:
        # Python floats (and lists of them) take the default dtype.
        arr = arr.astype(_default_dtype)
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array_like
        The values.  Python floats and lists take the default dtype
        (float32 unless changed with :func:`set_default_dtype`); NumPy arrays
        keep their dtype.
    requires_grad : bool
        Whether ``backward()`` should compute a gradient for this tensor.

    Examples
    --------
    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_tangent", "name", "_version", "__weakref__")

    def __init__(self, data: TensorLike, requires_grad: builtins.bool = False, dtype: Optional[DTypeLike] = None,
                 name: Optional[str] = None) -> None:
        arr = _as_array(data, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, got dtype {arr.dtype}; "
                f"convert with .astype('float32') or pass dtype='float32'")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._tangent = None
        self.name = name
        self._version = 0

    @classmethod
    def _make(cls, data, requires_grad, ctx):
        """Fast constructor used by primitives (no validation).  Function.apply builds its outputs
        the same way, inline; tests/test_tensor.py checks that the two agree slot for slot."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._tangent = None
        t.name = None
        t._version = 0
        return t

    # ----------------------------------------------------------------- basics
    @property
    def shape(self) -> Shape:
        """The shape of the array (a tuple), as NumPy's ``ndarray.shape``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the array."""
        return self.data.dtype

    @property
    def ndim(self) -> builtins.int:
        """The number of axes."""
        return self.data.ndim

    @property
    def size(self) -> builtins.int:
        """The number of entries (NumPy's ``x.size``), which is also PyTorch's ``x.size()`` (the shape) and
        ``x.size(dim)`` when called."""
        return _Size(self.data.shape)

    # ---------------------------------------------------------- PyTorch's device and dtype methods
    @property
    def device(self) -> str:
        """Always the CPU: chainrule's arrays are NumPy's."""
        return "cpu"

    is_cuda = False

    def cpu(self) -> Tensor:
        """The tensor itself (it is on the CPU already)."""
        return self

    def cuda(self, device: Any = None, non_blocking: builtins.bool = False) -> NoReturn:
        """PyTorch's ``.cuda()``: refused with a RuntimeError, since chainrule runs on the CPU."""
        raise RuntimeError("Tensor.cuda(): chainrule runs on the CPU (NumPy) and has no GPU; drop .cuda() or use "
                           ".to('cpu')")

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """PyTorch's ``to``: a device ('cpu' only) and/or a dtype (a cast that stays in the graph)."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"Tensor.to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif _is_device(a):
                device = a
            else:
                dtype = a
        if device is not None and str(getattr(device, "type", device)).split(":")[0] != "cpu":
            raise RuntimeError(f"Tensor.to({device!r}): chainrule runs on the CPU (NumPy) and has no GPU or other "
                               f"device; use .to('cpu') or leave the tensor where it is")
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self
        return _ops.astype(self, np.dtype(dtype))

    def float(self) -> Tensor:
        """A float32 copy of this tensor (PyTorch's ``.float()``)."""
        return self.to(np.float32)
    def double(self) -> Tensor:
        """A float64 copy of this tensor (PyTorch's ``.double()``)."""
        return self.to(np.float64)
    def long(self) -> Tensor:
        """An int64 copy of this tensor, without gradient (PyTorch's ``.long()``)."""
        return self.to(np.int64)
    def int(self) -> Tensor:
        """An int32 copy of this tensor, without gradient (PyTorch's ``.int()``)."""
        return self.to(np.int32)
    def bool(self) -> Tensor:
        """A boolean copy of this tensor, without gradient (PyTorch's ``.bool()``)."""
        return self.to(np.bool_)

    def type(self, dtype: Optional[DTypeLike] = None) -> Union[str, Tensor]:
        """The dtype's name with no argument, else a cast (PyTorch's ``type``)."""
        if dtype is None:
            return f"torch.{self.data.dtype.name}"
        return self.to(dtype)

    @property
    def is_leaf(self) -> builtins.bool:
        """True for a tensor made by the user (no recording operation produced it), as in PyTorch."""
        return self._ctx is None

    def __len__(self):
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The values as an ndarray (shares memory; no graph)."""
        return self.data

    def item(self) -> Union[builtins.float, builtins.int, builtins.bool, complex]:
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists."""
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        # NumPy 2's protocol, as an ndarray keeps it: np.array(t) copies (copy=True), np.asarray(t)
        # shares the values when it can (copy=None), and copy=False refuses to copy
        data = self.data
        if copy:
            return np.array(data, dtype=dtype, copy=True)
        if dtype is None or np.dtype(dtype) == data.dtype:
            return data
        if copy is False:
            raise ValueError(f"Tensor.__array__: the values are {data.dtype}; giving them as {np.dtype(dtype)} "
                             f"needs a copy, and copy=False was asked")
        return data.astype(dtype)

    def detach(self) -> Tensor:
        """A new Tensor sharing the values but cut from the graph."""
        return Tensor._make(self.data, False, None)

    def requires_grad_(self, flag: builtins.bool = True) -> Tensor:
        """Set ``requires_grad`` in place (floating-point tensors only) and return this tensor."""
        if flag and self.data.dtype.kind not in "fc":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def astype(self, dtype: DTypeLike) -> Tensor:
        """This tensor converted to ``dtype``; the gradient flows back through a float-to-float cast."""
        return _ops.astype(self, dtype)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    # ------------------------------------------------------------ in-place changes
    # PyTorch's trailing-underscore methods: they change the values in place and return self.  They
    # are not recorded, so on a tensor that requires grad they run only under no_grad() (an update
    # of weights); each one advances the tensor's version, and backward() refuses a node whose
    # input or output was changed after the node was recorded (as PyTorch does).  Writes to the
    # ndarray itself (``t.data[...] = v``, ``np.add(t.data, 1, out=t.data)``) cannot be seen:
    # they bypass the check, as ``.data`` writes do in PyTorch.
    def _inplace(self, what, *others):
        """The array to write into, after checking that the change is allowed."""
        if _state.grad_enabled:
            if self.requires_grad:
                if self._ctx is None:
                    raise RuntimeError(
                        f"Tensor.{what}: a leaf tensor that requires grad cannot be changed in place while "
                        f"gradients are recorded; update it under `with chainrule.no_grad():` (as an "
                        f"optimizer does), or build a new tensor instead")
                raise RuntimeError(
                    f"Tensor.{what}: chainrule does not record in-place operations, and this tensor is the "
                    f"result of recorded ones; write the out-of-place form instead (y = y + 1, not "
                    f"y.add_(1))")
            for o in others:
                if isinstance(o, Tensor) and o.requires_grad:
                    raise RuntimeError(
                        f"Tensor.{what}: the other operand requires grad, but in-place operations are not "
                        f"recorded, so its gradient would be lost; use the out-of-place form")
        d = self.data
        if not d.flags.writeable:
            raise ValueError(f"Tensor.{what}: the tensor's values are read-only (a view of a read-only array); "
                             f"copy it first with chainrule.tensor(t)")
        return d

    def _changed(self):
        """Advance the in-place clock and record that this tensor's values changed at its reading."""
        _clock[0] += 1
        self._version = _clock[0]
        return self

    def _ufunc_(self, what, ufunc, other):
        d = self._inplace(what, other)
        try:
            ufunc(d, _data(other), out=d, casting="same_kind")
        except (ValueError, TypeError) as err:
            raise type(err)(f"Tensor.{what}: cannot apply {np.shape(_data(other))} to a tensor of shape "
                            f"{d.shape} (dtype {d.dtype}) in place ({err})") from None
        return self._changed()

    def add_(self, other: TensorLike, *, alpha: builtins.float = 1) -> Tensor:
        """self += alpha * other, in place (PyTorch's ``add_``)."""
        return self._ufunc_("add_", np.add, other if alpha == 1 else _data(other) * alpha)

    def sub_(self, other: TensorLike, *, alpha: builtins.float = 1) -> Tensor:
        """self -= alpha * other, in place."""
        return self._ufunc_("sub_", np.subtract, other if alpha == 1 else _data(other) * alpha)

    def mul_(self, other: TensorLike) -> Tensor:
        """``self *= other``, in place."""
        return self._ufunc_("mul_", np.multiply, other)

    def div_(self, other: TensorLike) -> Tensor:
        """self /= other, in place."""
        return self._ufunc_("div_", np.true_divide, other)

    def copy_(self, src: TensorLike) -> Tensor:
        """Copy ``src``'s values into this tensor (broadcast to its shape), in place."""
        d = self._inplace("copy_", src)
        try:
            np.copyto(d, _data(src), casting="same_kind")
        except (ValueError, TypeError) as err:
            raise type(err)(f"Tensor.copy_: cannot copy {np.shape(_data(src))} into a tensor of shape "
                            f"{d.shape} (dtype {d.dtype}) ({err})") from None
        return self._changed()

    def fill_(self, value: builtins.float) -> Tensor:
        """Every entry set to ``value``, in place."""
        return self.copy_(value)

    def zero_(self) -> Tensor:
        """Every entry set to 0, in place."""
        return self.copy_(0)

    def clamp_(self, min: Optional[builtins.float] = None,  # noqa: A002 (PyTorch's names)
               max: Optional[builtins.float] = None) -> Tensor:  # noqa: A002
        """Entries clipped to [min, max], in place."""
        d = self._inplace("clamp_", min, max)
        np.clip(d, _data(min), _data(max), out=d)
        return self._changed()

    def __setitem__(self, index, value):
        """``t[index] = value`` in place (same rules as ``copy_``: under no_grad() for a tensor that
        requires grad)."""
        d = self._inplace("__setitem__", value)
        d[index] = _data(value)
        self._changed()

    def grad_storage(self) -> Optional[np.ndarray]:
        """An array offered for this tensor's next gradient, for the VJP to write into (None: no
        offer; a :class:`~chainrule.parameter.Parameter` bound to an optimizer offers a slice of
        the optimizer's flat buffer)."""
        return None

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != _default_dtype and self.data.dtype not in _UNMARKED:
            extra = f", dtype={self.data.dtype}" + extra
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"Tensor: the truth value of a tensor of shape {self.shape} is ambiguous; "
                             f"use .any() or .all() on .numpy()")
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    __hash__ = object.__hash__

    # -------------------------------------------------------------- backward
    def backward(self, gradient: Optional[TensorLike] = None) -> None:
        """Back-propagate: accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Walks the graph in reverse topological order; each primitive maps the
        adjoint of its output ybar to the adjoints of its inputs (its VJP), and
        adjoints of a tensor used several times are summed (the multivariable
        chain rule).

        Parameters
        ----------
        gradient : array_like, optional
            The seed ybar.  Required unless this tensor holds a single value,
            in which case it defaults to 1 (dy/dy).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so there is nothing to differentiate; "
                "create the inputs with requires_grad=True (and not inside no_grad())")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: the output has shape {self.shape}, not a single value; pass "
                    f"gradient=<array of shape {self.shape}> (e.g. ones for the sum of the outputs), "
                    f"or reduce it first with .sum() or .mean()")
            seed = _one(self.data)
        else:
            seed = _as_array(gradient)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward: gradient must have the output's shape {self.shape}, got shape {seed.shape}")
            seed = seed.astype(self.data.dtype, copy=False)
        _backprop(self, seed)

    # -------------------------------------------------------------- operators
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.sub(self, other)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __mul__(self, other): return _ops.mul(self, other)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __truediv__(self, other): return _ops.div(self, other)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __pow__(self, other): return _ops.pow(self, other)
    def __rpow__(self, other): return _ops.pow(other, self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __getitem__(self, index): return _ops.getitem(self, index)

    # Comparisons are not differentiable: they return boolean Tensors outside the graph (PyTorch's
    # (pred == y).float().mean() works; NumPy takes them as the boolean arrays they hold).
    def __lt__(self, other): return _mask(self.data < _data(other))
    def __le__(self, other): return _mask(self.data <= _data(other))
    def __gt__(self, other): return _mask(self.data > _data(other))
    def __ge__(self, other): return _mask(self.data >= _data(other))
    def __eq__(self, other): return _mask(self.data == _data(other))
    def __ne__(self, other): return _mask(self.data != _data(other))
    def __invert__(self): return _mask(~self.data)
    def __and__(self, other): return _mask(self.data & _data(other))
    def __rand__(self, other): return _mask(_data(other) & self.data)
    def __or__(self, other): return _mask(self.data | _data(other))
    def __ror__(self, other): return _mask(_data(other) | self.data)
    def __xor__(self, other): return _mask(self.data ^ _data(other))

    def any(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
            keepdim: Optional[builtins.bool] = None) -> Tensor:
        """True where any element along ``axis`` (``dim``) is nonzero; a boolean tensor without gradient."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _mask(np.any(self.data, axis=axis, keepdims=keepdims))

    def all(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
            keepdim: Optional[builtins.bool] = None) -> Tensor:
        """True where every element along ``axis`` (``dim``) is nonzero; a boolean tensor without gradient."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _mask(np.all(self.data, axis=axis, keepdims=keepdims))

    def __mod__(self, other): return _ops.mod(self, other)
    def __rmod__(self, other): return _ops.mod(other, self)
    def __floordiv__(self, other): return _ops.floor_divide(self, other)   # a step function: constant
    def __rfloordiv__(self, other): return _ops.floor_divide(other, self)

    # ------------------------------------------------------- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(t)``, ``ndarray * t``, ``np.add.reduce(t)``: the chainrule.numpy function of the same
        name records the operation; integer and boolean results (comparisons, ``isnan``) are computed on
        the values; a ufunc chainrule cannot differentiate raises a TypeError on a Tensor that requires
        grad instead of dropping its gradient (:mod:`chainrule.numpy._dispatch`)."""
        return (_DISPATCH or _dispatch()).array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.dot(t, W)``, ``np.concatenate([t, u])``, ``np.linalg.solve(A, t)``: as ``__array_ufunc__``."""
        return (_DISPATCH or _dispatch()).array_function(func, args, kwargs)

    # ------------------------------------------------- NumPy-named methods
    # Reductions take NumPy's axis=/keepdims= or PyTorch's dim=/keepdim= (the same meaning: a
    # torch-style x.max(dim=1) returns the values, not (values, indices)).
    def sum(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
            keepdim: Optional[builtins.bool] = None, dtype: Optional[DTypeLike] = None) -> Tensor:
        """The sum over ``axis`` (PyTorch's ``dim``; all axes by default), differentiable."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        x = self if dtype is None else _ops.astype(self, dtype)
        return _ops.sum(x, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
             keepdim: Optional[builtins.bool] = None, dtype: Optional[DTypeLike] = None) -> Tensor:
        """The mean over ``axis`` (PyTorch's ``dim``; all axes by default), differentiable."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        x = self if dtype is None else _ops.astype(self, dtype)
        return _ops.mean(x, axis=axis, keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
            keepdim: Optional[builtins.bool] = None) -> Tensor:
        """The maximum over ``axis`` (``dim``); the gradient goes to the maximal entries."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
            keepdim: Optional[builtins.bool] = None) -> Tensor:
        """The minimum over ``axis`` (``dim``); the gradient goes to the minimal entries."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
             keepdim: Optional[builtins.bool] = None) -> Tensor:
        """The product over ``axis`` (``dim``), differentiable."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _ops.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Axis = None, keepdims: builtins.bool = False, ddof: builtins.int = 0, *, dim: Axis = None,
            keepdim: Optional[builtins.bool] = None, unbiased: Optional[builtins.bool] = None,
            correction: Optional[builtins.float] = None) -> Tensor:
        """Variance with NumPy's default ddof=0 (PyTorch's default is the sample variance: pass
        ``unbiased=True``, ``correction=1`` or ``ddof=1`` for it)."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _ops.var(self, axis=axis, keepdims=keepdims, ddof=_ddof(ddof, unbiased, correction))

    def std(self, axis: Axis = None, keepdims: builtins.bool = False, ddof: builtins.int = 0, *, dim: Axis = None,
            keepdim: Optional[builtins.bool] = None, unbiased: Optional[builtins.bool] = None,
            correction: Optional[builtins.float] = None) -> Tensor:
        """Standard deviation with NumPy's default ddof=0 (see :meth:`var`)."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _ops.std(self, axis=axis, keepdims=keepdims, ddof=_ddof(ddof, unbiased, correction))

    def cumsum(self, axis: Optional[builtins.int] = None, *, dim: Optional[builtins.int] = None) -> Tensor:
        """The running sum along ``axis`` (``dim``; the flattened array by default)."""
        return _ops.cumsum(self, axis=_dims(axis, False, dim, None)[0])

    def cumprod(self, axis: Optional[builtins.int] = None, *, dim: Optional[builtins.int] = None) -> Tensor:
        """The running product along ``axis`` (``dim``; the flattened array by default)."""
        return _ops.cumprod(self, axis=_dims(axis, False, dim, None)[0])

    def logsumexp(self, axis: Axis = None, keepdims: builtins.bool = False, *, dim: Axis = None,
                  keepdim: Optional[builtins.bool] = None) -> Tensor:
        """log sum exp over ``axis`` (``dim``), computed stably (the maximum is taken out first)."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return _ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: Optional[builtins.int] = None, *, dim: Optional[builtins.int] = None) -> Tensor:
        """exp(x) / sum exp(x) along ``axis`` (``dim``; the last axis by default)."""
        axis = _dims(axis, False, dim, None)[0]
        return _ops.softmax(self, axis=-1 if axis is None else axis)

    def log_softmax(self, axis: Optional[builtins.int] = None, *, dim: Optional[builtins.int] = None) -> Tensor:
        """x - logsumexp(x) along ``axis`` (``dim``; the last axis by default), computed stably."""
        axis = _dims(axis, False, dim, None)[0]
        return _ops.log_softmax(self, axis=-1 if axis is None else axis)

    def argmax(self, axis: Optional[builtins.int] = None, keepdims: builtins.bool = False, *,
               dim: Optional[builtins.int] = None,
               keepdim: Optional[builtins.bool] = None) -> Union[np.ndarray, np.intp]:
        """Index of the largest entry (integers: no gradient)."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return np.argmax(self.data, axis=axis, keepdims=keepdims)

    def argmin(self, axis: Optional[builtins.int] = None, keepdims: builtins.bool = False, *,
               dim: Optional[builtins.int] = None,
               keepdim: Optional[builtins.bool] = None) -> Union[np.ndarray, np.intp]:
        """Index of the smallest entry (integers: no gradient)."""
        axis, keepdims = _dims(axis, keepdims, dim, keepdim)
        return np.argmin(self.data, axis=axis, keepdims=keepdims)

    def norm(self, p: Union[str, builtins.float, None] = "fro",
             dim: Union[builtins.int, Sequence[builtins.int], None] = None, keepdim: builtins.bool = False) -> Tensor:
        """PyTorch's norm: the 2-norm (Frobenius) of all entries by default; ``p`` another order,
        ``dim`` an axis (a vector norm) or two (a matrix norm, p 'fro' or 'nuc' or a number)."""
        if dim is None:
            if p in ("fro", 2, None):
                return _ops.norm(self, None, None, keepdim)
            if p == "nuc":
                return _ops.norm(self, "nuc", None, keepdim)
            return _ops.norm(_ops.ravel(self), p, 0, False) if not keepdim else \
                _ops.reshape(_ops.norm(_ops.ravel(self), p, 0, False), (1,) * self.ndim)
        if isinstance(dim, (int, np.integer)) or len(dim) == 1:
            return _ops.norm(self, 2 if p == "fro" else p, dim if isinstance(dim, (int, np.integer)) else dim[0],
                             keepdim)
        return _ops.norm(self, None if p == "fro" else p, tuple(dim), keepdim)

    # ----------------------------------------------------------- shapes
    def reshape(self, *shape: Union[builtins.int, Sequence[builtins.int]]) -> Tensor:
        """The same values in a new shape (given as a tuple or as several ints; one may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    view = reshape   # PyTorch's name (chainrule's reshape never needs a contiguous tensor)

    def transpose(self, *axes: Union[builtins.int, Sequence[builtins.int]]) -> Tensor:
        """NumPy's transpose(axes) (all axes reversed by default); two axes of a tensor with more
        than two dimensions are swapped, as PyTorch's transpose(dim0, dim1)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2 and self.data.ndim > 2:
            return _ops.swapaxes(self, *axes)
        return _ops.transpose(self, axes or None)

    def permute(self, *dims: Union[builtins.int, Sequence[builtins.int]]) -> Tensor:
        """PyTorch's permute: the axes in a new order."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return _ops.transpose(self, dims)

    def swapaxes(self, axis1: builtins.int, axis2: builtins.int) -> Tensor:
        """This tensor with axes ``axis1`` and ``axis2`` interchanged."""
        return _ops.swapaxes(self, axis1, axis2)

    @property
    def T(self) -> Tensor:
        """The transpose (all axes reversed)."""
        return _ops.transpose(self, None)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
        """All axes (or ``start_dim`` to ``end_dim``, PyTorch's arguments) merged into one."""
        shape = self.data.shape
        if not shape:
            return _ops.reshape(self, (1,))
        s, e = start_dim % len(shape), end_dim % len(shape)
        return _ops.reshape(self, shape[:s] + (-1,) + shape[e + 1:])

    def ravel(self) -> Tensor:
        """The values as a 1-D tensor."""
        return _ops.ravel(self)

    def squeeze(self, axis: Axis = None, *, dim: Axis = None) -> Tensor:
        """This tensor without its axes of length one (or only ``axis``/``dim``)."""
        return _ops.squeeze(self, _dims(axis, False, dim, None)[0])

    def unsqueeze(self, dim: builtins.int) -> Tensor:
        """A new axis of size 1 at ``dim`` (PyTorch's unsqueeze, NumPy's expand_dims)."""
        return _ops.expand_dims(self, dim)

    def expand(self, *sizes: Union[builtins.int, Sequence[builtins.int]]) -> Tensor:
        """Broadcast to ``sizes`` (PyTorch's expand: -1 keeps an axis' size; new axes go in front)."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        shape = (1,) * (len(sizes) - self.data.ndim) + self.data.shape
        return _ops.broadcast_to(self, tuple(n if s == -1 else s for s, n in zip(sizes, shape)))

    def repeat(self, *sizes: Union[builtins.int, Sequence[builtins.int]]) -> Tensor:
        """PyTorch's repeat: the tensor tiled ``sizes`` times along each axis (NumPy's tile).  NumPy's
        element-wise repeat is :meth:`repeat_interleave` or ``chainrule.numpy.repeat``."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        if len(sizes) < self.data.ndim:
            raise ValueError(f"Tensor.repeat: give at least one count per dimension ({self.data.ndim}), got "
                             f"{sizes}; for NumPy's element-wise repeat use repeat_interleave")
        return _ops.tile(self, sizes)

    def repeat_interleave(self, repeats: Union[builtins.int, Sequence[builtins.int]],
                          dim: Optional[builtins.int] = None) -> Tensor:
        """Each entry repeated ``repeats`` times along ``dim`` (NumPy's repeat; flattened when None)."""
        return _ops.repeat(self, repeats, dim)

    def flip(self, dims: Axis = None, *, axis: Axis = None) -> Tensor:
        """This tensor with the order of its elements reversed along ``dims`` (``axis``; all by default)."""
        return _ops.flip(self, axis if dims is None else dims)

    def gather(self, dim: builtins.int, index: ArrayLike) -> Tensor:
        """PyTorch's gather: out[i][j] = self[i][index[i][j]] along ``dim`` (NumPy's take_along_axis)."""
        return _ops.take_along_axis(self, index, dim)

    def masked_fill(self, mask: ArrayLike, value: builtins.float) -> Tensor:
        """``value`` where ``mask`` is true, self elsewhere (a selection: the adjoint skips the filled
        entries; a Tensor value gets the adjoint of the entries it fills)."""
        return _ops.where(_data(mask), value, self)

    def clone(self) -> Tensor:
        """A copy that stays in the graph (its gradient flows back to self)."""
        return _ops.astype(self, self.data.dtype)

    def diagonal(self, offset: builtins.int = 0, axis1: builtins.int = 0, axis2: builtins.int = 1) -> Tensor:
        """The diagonal of this tensor (``offset`` above the main one), as NumPy's ``diagonal``."""
        return _ops.diagonal(self, offset, axis1, axis2)
    def trace(self, offset: builtins.int = 0, axis1: builtins.int = 0, axis2: builtins.int = 1) -> Tensor:
        """The sum along the diagonal, as NumPy's ``trace``."""
        return _ops.trace(self, offset, axis1, axis2)

    # ----------------------------------------------------------- elementwise
    def exp(self) -> Tensor:
        """exp(x), elementwise."""
        return _ops.exp(self)
    def log(self) -> Tensor:
        """The natural logarithm, elementwise."""
        return _ops.log(self)
    def sqrt(self) -> Tensor:
        """The square root, elementwise."""
        return _ops.sqrt(self)
    def tanh(self) -> Tensor:
        """tanh(x), elementwise."""
        return _ops.tanh(self)
    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)), elementwise."""
        return _ops.sigmoid(self)
    def relu(self) -> Tensor:
        """max(x, 0), elementwise."""
        return _ops.relu(self)
    def abs(self) -> Tensor:
        """The absolute value, elementwise."""
        return _ops.abs(self)
    def sin(self) -> Tensor:
        """sin(x), elementwise."""
        return _ops.sin(self)
    def cos(self) -> Tensor:
        """cos(x), elementwise."""
        return _ops.cos(self)
    def pow(self, exponent: TensorLike) -> Tensor:
        """x raised to ``exponent`` (a number or a tensor), elementwise."""
        return _ops.pow(self, exponent)
    def round(self, decimals: builtins.int = 0) -> Tensor:
        """The values rounded to ``decimals`` places; a constant (its gradient is zero almost everywhere)."""
        return _ops.round(self, decimals)   # a constant
    def clip(self, a_min: Optional[TensorLike] = None, a_max: Optional[TensorLike] = None, *,
             min: Optional[TensorLike] = None, max: Optional[TensorLike] = None) -> Tensor:
        """The values limited to [``a_min``, ``a_max``] (PyTorch's ``clamp(min=, max=)`` too); the gradient is zero outside."""
        # noqa: A002 (torch's clamp names)
        return _ops.clip(self, a_min if a_min is not None else min, a_max if a_max is not None else max)

    clamp = clip

    def dot(self, other: TensorLike) -> Tensor:
        """The dot product with ``other``, as NumPy's ``dot``."""
        return _ops.dot(self, other)
    def matmul(self, other: TensorLike) -> Tensor:
        """The matrix product with ``other`` (the ``@`` operator)."""
        return _ops.matmul(self, other)

    def mm(self, other: TensorLike) -> Tensor:
        """PyTorch's mm: the product of two matrices (2-D only)."""
        if self.data.ndim != 2 or np.ndim(_data(other)) != 2:
            raise ValueError(f"Tensor.mm: expected two matrices, got shapes {self.shape} and "
                             f"{np.shape(_data(other))}; use matmul (or @) for vectors and stacks")
        return _ops.matmul(self, other)

    def dim(self) -> builtins.int:
        """The number of dimensions (PyTorch's dim())."""
        return self.data.ndim

    def numel(self) -> builtins.int:
        """The number of entries (PyTorch's numel())."""
        return self.data.size


class _Size(int):
    """``x.size``: the number of entries (an int, as NumPy's), and PyTorch's ``x.size()`` (the shape) and
    ``x.size(dim)`` (one size) when called.

    >>> import chainrule as cr
    >>> t = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> t.size, t.size(), t.size(0), t.size(-1)
    (6, (2, 3), 2, 3)
    """

    def __new__(cls, shape):
        n = 1
        for d in shape:
            n *= d
        obj = super().__new__(cls, n)
        obj.shape = tuple(shape)
        return obj

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        if not -len(self.shape) <= dim < len(self.shape):
            raise IndexError(f"Tensor.size({dim}): dimension out of range for a tensor of shape {self.shape}")
        return self.shape[dim]


def _is_device(a):
    if isinstance(a, str):
        return a.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta", "xla", "hip") or a.startswith("cuda")
    return type(a).__name__ == "device"


def _dims(axis, keepdims, dim, keepdim):
    """NumPy's axis/keepdims from either spelling (PyTorch's dim/keepdim)."""
    if dim is not None:
        if axis is not None and axis != dim:
            raise TypeError(f"give axis= or dim=, not both (got axis={axis!r}, dim={dim!r})")
        axis = dim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims if keepdim is None else keepdim)


def _ddof(ddof, unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is not None:
        return 1 if unbiased else 0
    return ddof


_DISPATCH = None


def _dispatch():
    global _DISPATCH
    if _DISPATCH is None:
        from chainrule.numpy import _dispatch as module
        _DISPATCH = module
    return _DISPATCH


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _mask(a):
    """A comparison's result: a Tensor of booleans that no gradient flows through."""
    return Tensor._make(a if isinstance(a, np.ndarray) else np.asarray(a), False, None)


_ONES = {}


def _one(a):
    """dy/dy = 1 with the shape and dtype of the single value a: a read-only array kept for reuse
    (it is never handed out as a gradient: backward copies it if it would be)."""
    key = (a.shape, a.dtype)
    one = _ONES.get(key)
    if one is None:
        one = _ONES[key] = np.ones(a.shape, a.dtype)
        one.flags.writeable = False
    return one


def tensor(data: TensorLike, requires_grad: bool = False, dtype: Optional[DTypeLike] = None) -> Tensor:
    """Build a :class:`Tensor` (PyTorch's ``torch.tensor``).

    >>> import chainrule as cr
    >>> cr.tensor([[1.0, 2.0]]).shape
    (1, 2)
    """
    if isinstance(data, Tensor):
        data = data.data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _unbroadcast(grad, shape):
    """Sum a gradient back to an input's shape, undoing NumPy broadcasting.

    If x of shape (1, 3) was broadcast to y of shape (4, 3), each x_j fed four
    outputs, so xbar_j = sum_i ybar_ij.  The one place this is done.
    """
    if grad.shape == shape:
        return grad
    ndiff = grad.ndim - len(shape)
    if ndiff < 0:
        if isinstance(grad, Tensor):
            return _ops.broadcast_to(grad, shape)
        return np.broadcast_to(grad, shape).copy()
    if ndiff:
        grad = grad.sum(axis=tuple(range(ndiff)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def _toposort(root):
    """Nodes reachable from root that need gradients, parents before children.

    Tensors are their own keys in the sets and dicts of the walk: their hash is the object's
    (``object.__hash__``), so a lookup never calls ``Tensor.__eq__``.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            for p in ctx.parents:
                if p is not None and p.requires_grad and p not in visited:
                    stack.append((p, False))
    return order


def _storage_for(parents, pending, offered):
    """For each input of a primitive about to run its VJP: storage that input offers for its gradient
    (:meth:`Tensor.grad_storage`: a Parameter's slice of its optimizer's flat buffer), or None; the
    ids of the buffers offered are added to ``offered``.

    Offered only where writing into it is safe: a leaf with no ``.grad`` yet (so nothing is
    accumulated into), no other gradient for it pending in this pass (a second use of the same
    weight gets a fresh array, and the two are summed into a new one), and a buffer not offered
    before in this pass (so a weight met twice among these inputs is offered it once).
    """
    out = []
    for p in parents:
        buf = None
        if p is not None and p._ctx is None and p.grad is None and p not in pending:
            buf = p.grad_storage()
            if buf is not None:
                if id(buf) in offered:
                    buf = None
                else:
                    offered.add(id(buf))
        out.append(buf)
    return out


def _check_unchanged(ctx, node):
    """Raise if an input or the output of the recorded node ``ctx`` was changed in place after the
    node was recorded (its VJP would read values its forward pass never saw)."""
    stamp = ctx._stamp
    name = ctx.name or type(ctx).__name__.lower()
    changed = [(f"input {i}", p) for i, p in enumerate(ctx.parents) if p is not None and p._version > stamp]
    if node._version > stamp:
        changed.append(("the output", node))
    if changed:
        where, t = changed[0]
        raise RuntimeError(
            f"backward: {where} of {name} (a {type(t).__name__} of shape {t.shape}) was changed in place "
            f"after {name} recorded it (by an optimizer step, load_state_dict or an in-place method such "
            f"as add_), so its gradient would be computed from values the forward pass did not use; run "
            f"the forward pass again after the change, or make the change after backward()")


def _vjp(ctx, node, g, grads, create_graph=False, offered=None):
    """Run ``ctx``'s VJP for the adjoint g of its output ``node`` and add each input's share to
    ``grads`` (the adjoints pending in this pass), summed back to the input's shape and dtype.
    With ``offered`` (a set), inputs' gradient storage is offered to a VJP that can write into it."""
    if ctx._stamp != _clock[0]:  # something was changed in place since this node was recorded
        _check_unchanged(ctx, node)
    storage = None
    if create_graph:
        in_grads = ctx._graph_backward(node, g)
    elif offered is not None and ctx.backward_out:
        storage = _storage_for(ctx.parents, grads, offered)
        in_grads = ctx.backward(g, storage)
    else:
        in_grads = ctx.backward(g)
    if type(in_grads) is not tuple:
        in_grads = (in_grads,)
    for i, (p, pg) in enumerate(zip(ctx.parents, in_grads)):
        if p is None or pg is None or not p.requires_grad:
            continue
        if storage is not None and pg is storage[i]:
            grads[p] = pg  # written into the storage offered: p's shape and dtype, nothing else pending
            continue
        data = p.data
        if pg.shape != data.shape:
            pg = _unbroadcast(pg, data.shape)
        if pg.dtype != data.dtype:
            pg = pg.astype(data.dtype)
        prev = grads.get(p)
        grads[p] = pg if prev is None else prev + pg


def _backprop(root, seed):
    """``backward()``: walk the graph from ``root`` in reverse topological order, starting from the
    adjoint ``seed``, and accumulate each leaf's adjoint into its ``.grad`` (as PyTorch, with +=)."""
    grads = {root: seed}   # Tensor keys: see _toposort
    handed = {id(seed)}    # arrays that must not become two leaves' .grad (or the caller's seed)
    offered = set()        # ids of the optimizer buffers the VJPs were offered for the leaves' gradients
    order = [root]         # one node whose inputs are leaves (a fused training step): nothing to sort
    ctx = root._ctx
    if ctx is not None:
        for p in ctx.parents:
            if p is not None and p._ctx is not None:
                order = reversed(_toposort(root))
                break
    for node in order:
        ctx = node._ctx
        if ctx is None:
            continue  # a leaf: its adjoint is complete once every node above it has run
        g = grads.pop(node, None)
        if g is not None:
            _vjp(ctx, node, g, grads, offered=offered)
    for leaf, g in grads.items():  # what is left: the leaves' adjoints
        if leaf.grad is None:
            if id(g) in offered:  # written into the optimizer's buffer for this leaf
                leaf.grad = g
                continue
            if id(g) in handed or not g.flags.writeable:
                g = g.copy()
            handed.add(id(g))
            leaf.grad = g
        else:
            leaf.grad = leaf.grad + g


def _adjoints(root, seed, targets, create_graph=False):
    """The adjoints of ``targets`` (Tensors, leaves or not; ``None`` where not reached) for the seed
    adjoint of ``root``; nothing is stored on the tensors, and only nodes that lead to a target are
    visited.  With ``create_graph`` the seed and all adjoints are Tensors and every VJP is recorded
    (:meth:`Function._graph_backward`), so the gradients can be differentiated again."""
    order = _toposort(root)
    wanted = set(targets)
    useful = set()
    for node in order:  # parents come first, so "leads to a target" propagates forward
        ctx = node._ctx
        if node in wanted or (ctx is not None and any(p is not None and p in useful for p in ctx.parents)):
            useful.add(node)
    grads, found = {root: seed}, {}
    for node in reversed(order):
        if node not in useful:
            continue
        g = grads.pop(node, None)
        if g is None:
            continue
        if node in wanted:
            found[node] = g
        ctx = node._ctx
        if ctx is not None:
            _vjp(ctx, node, g, grads, create_graph=create_graph)
            for p in ctx.parents:  # adjoints of inputs that lead nowhere wanted are not kept
                if p is not None and p not in useful:
                    grads.pop(p, None)
    return [found.get(t) for t in targets]


def gradients(outputs: Tensor, inputs: Union[Tensor, Sequence[Tensor]],
              grad_outputs: Optional[TensorLike] = None, create_graph: bool = False) -> list[Optional[Tensor]]:
    """The adjoints d(outputs)/d(inputs) as Tensors, like PyTorch's ``torch.autograd.grad``.

    Nothing is stored in any ``.grad``.  ``inputs`` may be one Tensor or a list
    (leaves or intermediate results); an input the output does not depend on
    gets ``None``.  With ``create_graph=True`` the returned gradients are
    recorded computations themselves, so they can be differentiated again:
    second derivatives, Hessian-vector products, gradient penalties.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True, dtype="float64")
    >>> (g,) = cr.gradients((x ** 3).sum(), x, create_graph=True)   # 3 x^2
    >>> (h,) = cr.gradients(g.sum(), x)                             # 6 x
    >>> h.numpy()
    array([ 6., 12.])
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for t in [outputs, *inputs]:
        if not isinstance(t, Tensor):
            raise TypeError(f"gradients: expected Tensors for outputs and inputs, got {type(t).__name__}")
    if not outputs.requires_grad:
        raise RuntimeError("gradients: the output does not require grad, so there is nothing to differentiate; "
                           "create the inputs with requires_grad=True (and not inside no_grad())")
    if grad_outputs is None:
        if outputs.data.size != 1:
            raise RuntimeError(f"gradients: the output has shape {outputs.shape}, not a single value; pass "
                               f"grad_outputs=<array of shape {outputs.shape}>")
        seed = np.ones_like(outputs.data)
    else:
        seed = grad_outputs.data if isinstance(grad_outputs, Tensor) else _as_array(grad_outputs)
        if seed.shape != outputs.shape:
            raise ValueError(f"gradients: grad_outputs must have the output's shape {outputs.shape}, "
                             f"got shape {seed.shape}")
        seed = seed.astype(outputs.data.dtype, copy=False)
    if create_graph:
        seed = grad_outputs if isinstance(grad_outputs, Tensor) else Tensor._make(seed, False, None)
        with enable_grad():
            found = _adjoints(outputs, seed, inputs, create_graph=True)
    else:
        found = _adjoints(outputs, seed, inputs)
        found = [None if g is None else Tensor._make(g, False, None) for g in found]
    return found


from chainrule import ops as _ops  # noqa: E402  (methods above call the primitives)

"""NumPy's functions called on Tensors (the ``__array_function__`` and ``__array_ufunc__`` protocols).

``np.dot(t, W)``, ``np.exp(t)``, ``np.concatenate([t, u])`` with a Tensor among the arguments come
here (NumPy asks the Tensor to run them):

* a function chainrule can differentiate runs the :mod:`chainrule.numpy` function of that name, so
  the operation is recorded (reverse mode, forward mode and higher orders as for any primitive);
* a function whose result is integer or boolean (``argmax``, ``shape``, comparisons, ``isnan``) or a
  constant (``zeros_like``) runs on the values: such results carry no gradient;
* any other function on a Tensor that requires grad (or carries a forward-mode tangent) raises a
  TypeError naming it, instead of returning an array that silently has no gradient.  On Tensors that
  need no gradient it runs on the values and returns NumPy's result.
"""
from __future__ import annotations

import numpy as np

from chainrule.numpy import ACCUMULATE, CALL, HANDLED, REDUCE
from chainrule.tensor import Tensor

#: functions that are constant in their array arguments (their float results carry no gradient)
CONSTANT = {np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.shape, np.ndim, np.size,
            np.result_type, np.iscomplexobj, np.isrealobj, np.array_equal, np.array_equiv, np.allclose,
            np.isclose, np.array2string, np.array_repr, np.array_str, np.save, np.savez, np.savez_compressed,
            np.savetxt, np.may_share_memory, np.shares_memory, np.copyto}


def _live(obj):
    """True when obj holds a Tensor that a gradient could flow through (requires grad or has a tangent)."""
    if isinstance(obj, Tensor):
        return obj.requires_grad or obj._tangent is not None
    if type(obj) in (list, tuple):
        return any(_live(o) for o in obj)
    if type(obj) is dict:
        return any(_live(o) for o in obj.values())
    return False


def _unwrap(obj):
    if isinstance(obj, Tensor):
        return obj.data
    if type(obj) in (list, tuple):
        return type(obj)(_unwrap(o) for o in obj)
    if type(obj) is dict:
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _carries_no_gradient(result):
    """True for integer, boolean and non-numeric results (and containers of them)."""
    if isinstance(result, (tuple, list)):
        return all(_carries_no_gradient(r) for r in result)
    if result is None or isinstance(result, (bool, int, str, np.dtype)):
        return True
    kind = getattr(getattr(result, "dtype", None), "kind", None)
    return kind is not None and kind in "biuSUMmV"


def _name(fn, method=None):
    mod = getattr(fn, "__module__", None) or "numpy"
    base = f"{mod}.{fn.__name__}" if mod.startswith("numpy") else f"numpy.{fn.__name__}"
    return base if method in (None, "__call__") else f"{base}.{method}"


def _refuse(name):
    short = name[len("numpy."):] if name.startswith("numpy.") else name
    return TypeError(
        f"{name} was called on a Tensor that requires grad, but chainrule cannot differentiate it, so its "
        f"result would silently carry no gradient; use chainrule.numpy's functions (import chainrule.numpy as "
        f"np) to write it, or call {short}(x.detach()) (or on x.numpy()) if only the value is wanted")


def _run_on_values(name, fn, args, kwargs, constant=False):
    live = _live(args) or _live(kwargs)
    out = kwargs.get("out")
    if type(out) is tuple and all(o is None for o in out):
        out = None
    if live and out is not None:
        raise TypeError(f"{name}: out= would write a Tensor's value into an array without its gradient; "
                        f"call it without out= and keep the returned Tensor")
    if isinstance(out, Tensor) or (type(out) is tuple and any(isinstance(o, Tensor) for o in out)):
        raise TypeError(f"{name}: a Tensor cannot be the out= of a NumPy function; Tensors are not written in place")
    result = fn(*_unwrap(args), **_unwrap(kwargs))
    if live and not constant and not _carries_no_gradient(result):
        raise _refuse(name)
    return result


def array_function(func, args, kwargs):
    impl = HANDLED.get(func)
    if impl is not None:
        return impl(*args, **kwargs)
    return _run_on_values(_name(func), func, args, kwargs, constant=func in CONSTANT)


def array_ufunc(ufunc, method, inputs, kwargs):
    if not kwargs and method == "__call__":   # the common case: np.exp(t), ndarray * t
        impl = CALL.get(ufunc) or HANDLED.get(ufunc)
        if impl is not None:
            return impl(*inputs)
    out = kwargs.get("out")
    if out is None or (type(out) is tuple and all(o is None for o in out)):
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        if method == "__call__":
            impl = HANDLED.get(ufunc)
            if impl is not None:
                return impl(*inputs, **kwargs)
        elif method in ("reduce", "accumulate"):
            impl = (REDUCE if method == "reduce" else ACCUMULATE).get(ufunc)
            if impl is not None:
                kw = dict(kwargs)
                axis = kw.pop("axis", 0)
                dtype = kw.pop("dtype", None)
                if method == "reduce":
                    keepdims = kw.pop("keepdims", False)
                    if not kw:
                        return impl(inputs[0], axis=axis, dtype=dtype, keepdims=keepdims)
                elif not kw:
                    return impl(inputs[0], axis=axis, dtype=dtype)
    fn = ufunc if method == "__call__" else getattr(ufunc, method)
    return _run_on_values(_name(ufunc, method), fn, inputs, kwargs)

"""``chainrule.scipy.special``: log-sum-exp and friends, differentiable on Tensors.

Without a Tensor among the arguments each function is SciPy's own (so values and options are
SciPy's); with Tensors it records the operation (formulas in :mod:`chainrule.ops`).

>>> import numpy as np, chainrule as cr
>>> from chainrule.scipy.special import logsumexp
>>> float(logsumexp(np.array([0.0, 0.0]), b=np.array([1.0, 3.0])))   # log(1 + 3)
1.3862943611198906
>>> cr.grad(lambda x: logsumexp(x))(np.zeros(2))                      # softmax(x)
array([0.5, 0.5])
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from chainrule import numpy as _cnp
from chainrule import ops as _ops
from chainrule.ops import _has_tensor

if TYPE_CHECKING:
    from chainrule._typing import Axis, TensorLike, TensorOrArray

__all__ = ["logsumexp", "expit", "logit", "erf", "erfc", "softmax", "log_softmax"]


def _scipy_when_no_tensor(name):
    """Call scipy.special.<name> when no argument holds a Tensor, else the decorated function."""
    def deco(ours):
        @functools.wraps(ours)
        def fn(*args, **kwargs):
            if any(_has_tensor(a) for a in args) or any(_has_tensor(v) for v in kwargs.values()):
                return ours(*args, **kwargs)
            import scipy.special
            return getattr(scipy.special, name)(*args, **kwargs)
        return fn
    return deco


logsumexp = _cnp.logsumexp   # one definition: chainrule.numpy's (SciPy's own without Tensors)


@_scipy_when_no_tensor("expit")
def expit(x: TensorLike) -> TensorOrArray:
    """The logistic sigmoid 1 / (1 + exp(-x));  derivative y (1 - y)."""
    return _ops.sigmoid(x)


@_scipy_when_no_tensor("logit")
def logit(x: TensorLike) -> TensorOrArray:
    """log(x / (1 - x)) = log x - log1p(-x);  derivative 1 / (x (1 - x))."""
    x = _ops._arr(x)
    return _ops.sub(_ops.log(x), _ops.log1p(_ops.neg(x)))


@_scipy_when_no_tensor("erf")
def erf(x: TensorLike) -> TensorOrArray:
    """The error function;  derivative (2 / sqrt(pi)) exp(-x^2)."""
    return _ops.erf(x)


@_scipy_when_no_tensor("erfc")
def erfc(x: TensorLike) -> TensorOrArray:
    """1 - erf(x);  derivative -(2 / sqrt(pi)) exp(-x^2)."""
    return _ops.erfc(x)


@_scipy_when_no_tensor("softmax")
def softmax(x: TensorLike, axis: Axis = None) -> TensorOrArray:
    """exp(x_i) / sum_j exp(x_j) over ``axis`` (all entries when None, as SciPy)."""
    x = _ops._arr(x)
    if axis is None:
        shape = np.shape(_ops._value(x))
        return _ops.reshape(_ops.softmax(_ops.ravel(x), axis=-1), shape)
    return _ops.softmax(x, axis=axis)


@_scipy_when_no_tensor("log_softmax")
def log_softmax(x: TensorLike, axis: Axis = None) -> TensorOrArray:
    """x_i - logsumexp(x) over ``axis`` (all entries when None, as SciPy)."""
    x = _ops._arr(x)
    if axis is None:
        shape = np.shape(_ops._value(x))
        return _ops.reshape(_ops.log_softmax(_ops.ravel(x), axis=-1), shape)
    return _ops.log_softmax(x, axis=axis)

"""``chainrule.numpy.linalg``: NumPy's linear algebra, differentiable on Tensors (autograd.numpy.linalg).

inv, det, slogdet, solve, cholesky, eigh, eigvalsh, svd and norm are primitives or compositions of
:mod:`chainrule.ops` (formulas in :mod:`chainrule.ops.linalg`); every other name is NumPy's own.
Without a Tensor among the arguments each function is NumPy's.

>>> import numpy as onp, chainrule as cr
>>> from chainrule.numpy import linalg
>>> A = onp.array([[2.0, 1.0], [1.0, 3.0]])
>>> cr.grad(lambda A: linalg.det(A))(A)          # d det / dA = det(A) A^-T
array([[ 3., -1.],
       [-1.,  2.]])
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as _np

from chainrule import ops as _ops
from chainrule.numpy import HANDLED, _any_tensor, _implements
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Axis, Literal, Optional, TensorLike, TensorOrArray, Union

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "eigh", "eigvalsh", "svd", "norm", "matrix_power"]

_la = _np.linalg


@_implements(_la.inv)
def inv(a: TensorLike) -> TensorOrArray:
    """Matrix inverse.  Y = A^-1;  Abar = -Y^T Ybar Y^T."""
    return _ops.inv(a)


@_implements(_la.det)
def det(a: TensorLike) -> TensorOrArray:
    """Determinant.  dy/dA = det(A) A^-T."""
    return _ops.det(a)


@_implements(_la.slogdet)
def slogdet(a: TensorLike) -> tuple[TensorOrArray, TensorOrArray]:
    """(sign, log|det A|);  d log|det A| / dA = A^-T, the sign is a constant."""
    return _ops.slogdet(a)


def solve(a: TensorLike, b: TensorLike) -> TensorOrArray:
    """Linear solve x = A^-1 b;  bbar = A^-T xbar,  Abar = -bbar x^T.

    NumPy's ``solve`` without a Tensor among a and b.  (Written out rather than wrapped by
    ``_implements``, and straight to :func:`chainrule.ops.solve`: two call levels less per call.)"""
    if type(a) is Tensor or type(b) is Tensor or _any_tensor((a, b), None):
        return _ops.solve(a, b)
    return _la.solve(a, b)


HANDLED[_la.solve] = _ops.solve


@_implements(_la.cholesky)
def cholesky(a: TensorLike, /, *, upper: bool = False) -> TensorOrArray:
    """Cholesky factor L (A = L L^T), or its transpose with ``upper=True``."""
    L = _ops.cholesky(a)
    return _ops.swapaxes(L, -1, -2) if upper else L


@_implements(_la.eigh)
def eigh(a: TensorLike,
         UPLO: Literal['L', 'U'] = "L") -> tuple[TensorOrArray, TensorOrArray]:  # noqa: N803 (NumPy's name)
    """Eigenvalues and eigenvectors of a symmetric matrix."""
    return _ops.eigh(a, UPLO)


@_implements(_la.eigvalsh)
def eigvalsh(a: TensorLike, UPLO: Literal['L', 'U'] = "L") -> TensorOrArray:  # noqa: N803
    """Eigenvalues of a symmetric matrix."""
    return _ops.eigvalsh(a, UPLO)


@_implements(_la.svd)
def svd(a: TensorLike, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Union[TensorOrArray, tuple[TensorOrArray, TensorOrArray, TensorOrArray]]:
    """Singular value decomposition (U, s, Vh); for non-square Tensors pass ``full_matrices=False``."""
    return _ops.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


@_implements(_la.norm)
def norm(x: TensorLike, ord: Union[int, float, str, None] = None, axis: Axis = None,
         keepdims: bool = False) -> TensorOrArray:
    """Vector and matrix norms (NumPy's orders)."""
    return _ops.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@_implements(_la.matrix_power)
def matrix_power(a: TensorLike, n: int) -> TensorOrArray:
    """A^n by repeated squaring (n >= 0), A^-1 raised to -n for n < 0: products of the recorded matrices."""
    if n < 0:
        a, n = _ops.inv(a), -n
    a = _ops._arr(a)
    result = None
    while True:
        if n & 1:
            result = a if result is None else _ops.matmul(result, a)
        n >>= 1
        if not n:
            break
        a = _ops.matmul(a, a)
    if result is None:
        shape = _np.shape(_ops._value(a))
        return _np.broadcast_to(_np.eye(shape[-1]), shape).copy()
    return result


def __getattr__(name):
    try:
        return getattr(_la, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.linalg' has no attribute {name!r}") from None

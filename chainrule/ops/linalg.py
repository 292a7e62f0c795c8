"""Linear algebra: the matrix product (the workhorse of every dense layer), einsum, and the
factorizations and solves of ``chainrule.numpy.linalg``."""
from __future__ import annotations

import builtins
import functools
from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function

try:   # np.einsum(..., optimize=False) is this call behind NumPy's __array_function__ dispatch
    from numpy._core.multiarray import c_einsum as _c_einsum
except ImportError:  # pragma: no cover - NumPy 1.x
    try:
        from numpy.core.multiarray import c_einsum as _c_einsum
    except ImportError:
        _c_einsum = np.einsum
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import Grads, Literal, Optional, Sequence, Tangent, TensorOrArray, Union


class MatMul(Function):
    """Matrix product.  Y = A @ B;  VJP: Abar = Ybar @ B^T,  Bbar = A^T @ Ybar;
    JVP: Ydot = Adot @ B + A @ Bdot.

    Vectors follow NumPy: a 1-D A is a row, a 1-D B a column, and the added axis
    is dropped again.  Leading (batch) axes broadcast; their gradients are summed
    back by the engine.
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}; "
                             f"use * for scalars")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape} "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        self.a, self.b = a, b
        return np.matmul(a, b)

    backward_out = True

    def backward(self, g: TensorOrArray, out: Sequence[Optional[np.ndarray]] = (None, None)) -> Grads:
        a, b = self.a, self.b
        ga, gb = self.needs_input_grad
        if out[1] is not None and a.ndim == 2 and b.ndim == 2 and type(g) is np.ndarray:
            # a weight matrix whose optimizer offers storage for its gradient: A^T Ybar written there
            return (g @ b.T if ga else None), (np.matmul(a.T, g, out=out[1]) if gb else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g = g.reshape((1, 1))
        elif a.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        elif b.ndim == 1:
            g = g.reshape(g.shape + (1,))
        da = db = None
        if ga:
            da = g @ _mT(b2)
            if a.ndim == 1:
                da = da.reshape(da.shape[:-2] + da.shape[-1:]) if da.ndim > 2 else da[0]
        if gb:
            db = _mT(a2) @ g
            if b.ndim == 1:
                db = db[..., 0]
        return da, db

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        out = None
        if da is not None:
            out = np.matmul(da, self.b)
        if db is not None:
            t = np.matmul(self.a, db)
            out = t if out is None else out + t
        return out


def _mT(x):
    """Swap the last two axes (the matrix transpose of a stack of matrices), for ndarrays and Tensors."""
    if x.ndim == 2:
        return x.T
    return x.transpose(tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


# ----------------------------------------------------------------- einsum
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@functools.lru_cache(maxsize=256)   # a model calls the same few einsums every step: parse each once
def _einsum_spec(subscripts, ndims):
    """Explicit subscripts for ``ndims`` operands: ellipses written out as letters (right-aligned,
    as NumPy broadcasts them), the output given (implicit mode: the letters used once, sorted,
    after the ellipsis).  Returns (input subscripts, output subscripts, the whole explicit spec)."""
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    ins = ins.split(",")
    if len(ins) != len(ndims):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(ins)} operand(s), got {len(ndims)}")
    free = [c for c in _LETTERS if c not in s]
    n_ell = 0
    for sub, nd in zip(ins, ndims):
        if "..." in sub:
            n_ell = builtins.max(n_ell, nd - (len(sub) - 3))
    ell = "".join(free[:n_ell])
    full = []
    for sub, nd in zip(ins, ndims):
        if "..." in sub:
            k = nd - (len(sub) - 3)
            sub = sub.replace("...", ell[n_ell - k:] if k else "")
        if len(sub) != nd or not builtins.all(c in _LETTERS for c in sub):
            raise ValueError(f"einsum: subscripts {subscripts!r} do not fit operands with {list(ndims)} dimensions")
        full.append(sub)
    if arrow:
        out = out.replace("...", ell)
    else:
        named = "".join(full)
        out = ell + "".join(sorted(c for c in set(named) if named.count(c) == 1 and c not in ell))
    return tuple(full), out, ",".join(full) + "->" + out


#: subscripts without an ellipsis -> their _einsum_spec, which then does not depend on the operands'
#: ranks: looked up without forming the ranks (a wrong rank is caught when NumPy refuses the operand)
_FIXED_SPECS = {}


def _einsum_vjp_spec(ins, out, k, shapes):
    """Subscripts and extra constant operands for the adjoint of operand k of ``ins -> out``:
    abar_k = einsum(out, the other operands -> ins[k]).  Letters of operand k that appear nowhere
    else were summed out: a vector of ones brings them back; a letter repeated in operand k (a
    diagonal, 'ii->i') gets a fresh letter and an identity matrix tying the two."""
    target = ins[k]
    others = [s for j, s in enumerate(ins) if j != k]
    elsewhere = set(out + "".join(others))
    used = set("".join(ins) + out)
    fresh = [c for c in _LETTERS if c not in used]
    sizes = {c: n for c, n in zip(target, shapes[k])}
    extra_subs, extra_ops, seen, new_target = [], [], set(), ""
    for c in target:
        if c in seen:                          # repeated: tie a fresh letter to it with an identity
            f = fresh.pop(0)
            extra_subs.append(c + f)
            extra_ops.append(np.eye(sizes[c]))
            new_target += f
            continue
        seen.add(c)
        new_target += c
    naked = [c for c in dict.fromkeys(target) if c not in elsewhere]
    if naked:
        extra_subs.append("".join(naked))
        extra_ops.append(np.ones(tuple(sizes[c] for c in naked)))
    spec = ",".join([out] + others + extra_subs) + "->" + new_target
    return spec, extra_ops


def _sublists_to_subscripts(args):
    """NumPy's interleaved form einsum(op0, [0, 1], op1, [1, 2], [0, 2]) as ('ab,bc->ac', ops)."""
    args = list(args)
    out = args.pop() if len(args) % 2 else None
    ops, subs = args[0::2], args[1::2]

    def letters(lst):
        return "".join("..." if i is Ellipsis else _LETTERS[i] for i in lst)
    spec = ",".join(letters(s) for s in subs) + ("" if out is None else "->" + letters(out))
    return spec, ops


class Einsum(Function):
    """Einstein summation.  y = einsum('ij,jk->ik', A, B) etc.: products of the operands summed over
    the letters missing from the output.  The adjoint of operand k is the same kind of sum with
    operand k's place taken by ybar:  Abar = einsum('ik,jk->ij', ybar, B)  (with ones for letters
    summed out of A alone, an identity for a repeated letter);  JVP: ydot = sum_k einsum(..., xdot_k, ...).
    """

    def forward(self, *ops: np.ndarray, subscripts: Optional[str] = None,
                optimize: Union[bool, str] = False) -> np.ndarray:
        for o in ops:   # (a loop, not a comprehension: this runs on every call)
            if type(o) is not np.ndarray:
                ops = tuple([np.asarray(o) for o in ops])
                break
        sig = _FIXED_SPECS.get(subscripts)
        if sig is None:
            sig = _einsum_spec(subscripts, tuple([o.ndim for o in ops]))
            if "..." not in subscripts and len(_FIXED_SPECS) < 256:
                _FIXED_SPECS[subscripts] = sig
        self.ins, self.out, self.spec = sig
        self.ops = ops
        self.optimize = optimize
        try:
            if optimize is False:
                return _c_einsum(sig[2], *ops)
            return np.einsum(sig[2], *ops, optimize=optimize)
        except ValueError:
            _einsum_spec(subscripts, tuple([o.ndim for o in ops]))  # names operands that do not fit
            raise

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        return {"ops": [o if t is None else t for o, t in zip(self.ops, inputs)]}

    def backward(self, g: TensorOrArray) -> Grads:
        shapes = [o.shape for o in self.ops]
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            spec, extra = _einsum_vjp_spec(self.ins, self.out, k, shapes)
            rest = [o for j, o in enumerate(self.ops) if j != k]
            grads.append(Einsum.apply(g, *rest, *extra, subscripts=spec, optimize=self.optimize))
        return tuple(grads)

    def jvp(self, *dops: Tangent) -> Tangent:
        total = None
        for k, d in enumerate(dops):
            if d is None:
                continue
            ops = list(self.ops)
            ops[k] = d
            term = np.einsum(self.spec, *ops, optimize=self.optimize)
            total = term if total is None else total + term
        return total


# ----------------------------------------------------------------- linear algebra
# Formulas: M. Giles, "An extended collection of matrix derivative results for forward and reverse
# mode algorithmic differentiation" (2008), as HIPS autograd uses them.  Stacks of matrices (..., n, n)
# are handled throughout; _mT swaps the last two axes.
def _col(x):
    """A stack of vectors (..., n) as column matrices (..., n, 1) (ndarray or Tensor)."""
    return x.reshape(tuple(x.shape) + (1,))


def _uncol(x):
    return x.reshape(tuple(x.shape[:-1]))


#: NumPy 2 solves for a 1-D b as a vector whatever the rank of A (NumPy 1 only when A is one matrix)
_VECTOR_B = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _check_square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected a square matrix (or a stack of them, shape (..., n, n)), "
                         f"got shape {a.shape}")


class Inv(Function):
    """Matrix inverse.  Y = A^-1;  VJP: Abar = -Y^T Ybar Y^T;  JVP: Ydot = -Y Adot Y."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        _check_square("inv", a)
        self.y = np.linalg.inv(a)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        yT = _mT(self.y)
        return (-(yT @ g @ yT),)

    def jvp(self, da: Tangent) -> Tangent:
        return -(self.y @ da @ self.y)


class Det(Function):
    """Determinant.  y = det(A);  dy/dA = y A^-T (Jacobi's formula);  VJP: Abar = ybar y A^-T;
    JVP: ydot = y tr(A^-1 Adot)."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        _check_square("det", a)
        self.a = a
        self.y = np.linalg.det(a)
        return self.y

    def backward(self, g: TensorOrArray) -> Grads:
        return ((_col(_col(g * self.y))) * _mT(Inv.apply(self.a)),)

    def jvp(self, da: Tangent) -> Tangent:
        return self.y * np.trace(np.linalg.solve(self.a, da), axis1=-2, axis2=-1)


class LogAbsDet(Function):
    """Log of the absolute determinant (slogdet's second output).  y = log|det A|;  dy/dA = A^-T;
    VJP: Abar = ybar A^-T;  JVP: ydot = tr(A^-1 Adot)."""

    name = "slogdet"

    def forward(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        _check_square("slogdet", a)
        self.a = a
        self.sign, y = np.linalg.slogdet(a)
        return y

    def backward(self, g: TensorOrArray) -> Grads:
        return (_col(_col(g)) * _mT(Inv.apply(self.a)),)

    def jvp(self, da: Tangent) -> Tangent:
        return np.trace(np.linalg.solve(self.a, da), axis1=-2, axis2=-1)


class Solve(Function):
    """Linear solve.  x = A^-1 b (b a vector (n,) or a stack of matrices (..., n, k), as NumPy 2);
    VJP: bbar = A^-T xbar,  Abar = -bbar x^T;  JVP: xdot = A^-1 (bdot - Adot x)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if type(a) is not np.ndarray:
            a = np.asarray(a)
        if type(b) is not np.ndarray:
            b = np.asarray(b)
        self.a = a
        try:
            if not _VECTOR_B and b.ndim == 1:   # NumPy 1 reads a 1-D b beside a stack of matrices as a matrix
                x = np.linalg.solve(a, b[:, None])[..., 0]
            else:
                x = np.linalg.solve(a, b)
        except ValueError:   # (np.linalg.LinAlgError is one) a clear message for a non-square A
            _check_square("solve", a)
            raise
        self.x = x
        return x

    @property
    def vec(self) -> bool:
        """Whether b was a vector (n,), read off the shapes when a derivative asks (not on every forward
        pass): x then has one axis fewer than A, and otherwise (b of shape (..., n, k)) at least as many."""
        return self.x.ndim < self.a.ndim

    def backward(self, g: TensorOrArray) -> Grads:
        need_a, need_b = self.needs_input_grad
        vec = self.vec
        bbar = Solve.apply(_mT(self.a), _col(g) if vec else g)   # A^-T xbar, as a matrix
        abar = -(bbar @ _mT(_col(self.x) if vec else self.x)) if need_a else None
        if not need_b:
            return abar, None
        return abar, (_uncol(bbar) if vec else bbar)

    def jvp(self, da: Tangent, db: Tangent) -> Tangent:
        vec = self.vec
        x2 = self.x[..., None] if vec else self.x
        rhs = 0
        if db is not None:
            rhs = db[..., None] if vec else db
        if da is not None:
            rhs = rhs - da @ x2
        out = np.linalg.solve(self.a, rhs)
        return out[..., 0] if vec else out


def _phi(x):
    """The lower triangle of x with its diagonal halved (ndarray or Tensor)."""
    n = x.shape[-1]
    return x * (np.tril(np.ones((n, n))) - 0.5 * np.eye(n))


class Cholesky(Function):
    """Cholesky factor.  A = L L^T, L lower triangular.  For symmetric A (the derivative treats it as
    symmetric, as HIPS autograd): with Phi(X) = lower triangle of X, diagonal halved,
    VJP: S = L^-T Phi(L^T Lbar) L^-1,  Abar = (S + S^T) / 2  (I. Murray, arXiv:1602.07527);
    JVP: Ldot = L Phi(L^-1 Adot_s L^-T), Adot_s = (Adot + Adot^T) / 2."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        _check_square("cholesky", a)
        self.L = np.linalg.cholesky(a)
        return self.L

    def backward(self, g: TensorOrArray) -> Grads:
        L = self.L
        LT = _mT(L)
        X = _phi(LT @ g)
        S = Solve.apply(LT, _mT(Solve.apply(LT, _mT(X))))
        return ((S + _mT(S)) / 2,)

    def jvp(self, da: Tangent) -> Tangent:
        L = self.L
        das = (da + np.swapaxes(da, -1, -2)) / 2
        m = np.linalg.solve(L, np.swapaxes(np.linalg.solve(L, das), -1, -2))   # L^-1 Adot_s L^-T
        return L @ _phi(m)


class Eigh(Function):
    """Eigen-decomposition of a symmetric matrix (NumPy reads its lower triangle).  A = V diag(w) V^T.
    With F_ij = 1 / (w_j - w_i) off the diagonal (0 on it) and G = V (diag(wbar) + F o (V^T Vbar)) V^T,
    the VJP puts G's diagonal on A's diagonal and G + G^T below it (the upper triangle is never read),
    as HIPS autograd;  JVP: with Adot_s the symmetric matrix of Adot's lower triangle and
    P = V^T Adot_s V:  wdot = diag(P),  Vdot = V (F o P).

    The output is packed as one array (..., n + 1, n): row 0 holds w, the rest V
    (:func:`chainrule.ops.eigh` unpacks it).  The eigenvector part is undefined for repeated
    eigenvalues (F is infinite), as in every library.
    """

    def forward(self, a: np.ndarray, UPLO: Literal['L', 'U'] = "L") -> np.ndarray:
        a = np.asarray(a)
        _check_square("eigh", a)
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        self.uplo = UPLO
        w, v = np.linalg.eigh(a, UPLO=UPLO)
        self.w, self.v = w, v
        self.packed = np.concatenate([w[..., None, :], v], axis=-2)
        return self.packed

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        return {"w": out[..., 0, :], "v": out[..., 1:, :]}

    def _tri(self, n):
        return np.tril(np.ones((n, n)), -1) if self.uplo == "L" else np.triu(np.ones((n, n)), 1)

    def _f(self):
        w = self.w
        wv = w.data if isinstance(w, Tensor) else w
        n = wv.shape[-1]
        diff = wv[..., None, :] - wv[..., :, None]                # w_j - w_i
        with np.errstate(divide="ignore"):
            return np.where(np.eye(n, dtype=bool), 0.0, 1.0 / np.where(np.eye(n, dtype=bool), 1.0, diff))

    def backward(self, g: TensorOrArray) -> Grads:
        w, v = self.w, self.v
        gw, gv = g[..., 0, :], g[..., 1:, :]
        n = v.shape[-1]
        inner = _col(gw) * np.eye(n)
        gv_data = gv.data if isinstance(gv, Tensor) else gv
        if np.any(gv_data):                   # only eigenvalues used: keep degenerate spectra finite
            inner = inner + self._f_graph() * (_mT(v) @ gv)
        G = v @ inner @ _mT(v)
        return (G * np.eye(n) + (G + _mT(G)) * self._tri(n),)

    def _f_graph(self):
        """F as a function of w (differentiable when w is a graph node)."""
        w = self.w
        if not isinstance(w, Tensor):
            return self._f()
        n = w.shape[-1]
        off = ~np.eye(n, dtype=bool)
        diff = w.reshape(tuple(w.shape[:-1]) + (1, n)) - w.reshape(tuple(w.shape[:-1]) + (n, 1))
        from chainrule.ops.elementwise import Where
        return Where.apply(off, 1 / Where.apply(off, diff, 1.0), 0.0)

    def jvp(self, da: Tangent) -> Tangent:
        n = self.v.shape[-1]
        tri = self._tri(n)
        das = da * (tri + np.eye(n)) + np.swapaxes(da * tri, -1, -2)
        p = np.swapaxes(self.v, -1, -2) @ das @ self.v
        dw = np.diagonal(p, axis1=-2, axis2=-1)
        with np.errstate(invalid="ignore"):   # repeated eigenvalues: only the eigenvector part is undefined
            dv = self.v @ (self._f() * p)
        return np.concatenate([dw[..., None, :], dv], axis=-2)


class Svd(Function):
    """Singular value decomposition, reduced: A = U diag(s) V^T (A: (..., m, n), k = min(m, n)).
    With F_ij = 1 / (s_j^2 - s_i^2) off the diagonal, J = U^T Ubar, K = V^T Vbar, the VJP
    (J. Townsend, "Differentiating the singular value decomposition", 2016) and the JVP are::

        Abar = U [ (F o (J - J^T)) S + diag(sbar) + S (F o (K - K^T)) ] V^T
               + (I - U U^T) Ubar S^-1 V^T  (m > k)  + U S^-1 Vbar^T (I - V V^T)  (n > k);
        JVP: P = U^T Adot V,  sdot = diag(P),  Udot = U (F o (P S + S P^T)) + (I - U U^T) Adot V S^-1,
             Vdot = V (F o (S P + P^T S)) + (I - V V^T) Adot^T U S^-1.

    With ``compute_uv=False`` only s:  Abar = U diag(sbar) V^T.

    The output is one packed array (..., m k + k + k n) holding U, s and V^T
    (:func:`chainrule.ops.svd` unpacks it).  Undefined for repeated singular values (F infinite)
    and, for U and V, for a zero singular value.
    """

    def forward(self, a: np.ndarray, compute_uv: bool = True) -> np.ndarray:
        a = np.asarray(a)
        if a.ndim < 2:
            raise ValueError(f"svd: expected a matrix (or a stack of them, shape (..., m, n)), got shape {a.shape}")
        self.m, self.n = a.shape[-2:]
        self.k = builtins.min(self.m, self.n)
        self.a = a
        self.uv = compute_uv
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        self.u, self.s, self.vh = u, s, vh
        if not compute_uv:
            return s
        lead = a.shape[:-2]
        self.packed = np.concatenate([u.reshape(lead + (-1,)), s, vh.reshape(lead + (-1,))], axis=-1)
        return self.packed

    def unpack(self, p: TensorOrArray) -> tuple[TensorOrArray, TensorOrArray, TensorOrArray]:
        """(U, s, V^T) from a packed array (ndarray or Tensor)."""
        m, n, k = self.m, self.n, self.k
        lead = tuple(p.shape[:-1])
        u = p[..., :m * k].reshape(lead + (m, k))
        s = p[..., m * k:m * k + k]
        vh = p[..., m * k + k:].reshape(lead + (k, n))
        return u, s, vh

    def saved_from_graph(self, inputs: list[Optional[Tensor]], out: Tensor) -> dict[str, TensorOrArray]:
        if not self.uv:   # U and V are derived from A: recomputed as graph nodes
            if inputs[0] is None:
                return {}
            u, s, vh = self.unpack(Svd.apply(inputs[0]))
            return {"u": u, "vh": vh}
        u, s, vh = self.unpack(out)
        return {"u": u, "s": s, "vh": vh}

    def backward(self, g: TensorOrArray) -> Grads:
        u, s, vh = self.u, self.s, self.vh
        v = _mT(vh)
        k = self.k
        eye = np.eye(k)
        if not self.uv:
            return ((u * g.reshape(tuple(g.shape[:-1]) + (1, k))) @ vh,)
        gu, gs, gvh = self.unpack(g)
        gv = _mT(gvh)
        s_row = s.reshape(tuple(s.shape[:-1]) + (1, k))       # s_j along columns
        s_col = _col(s)                                       # s_i along rows
        f = _inv_offdiag(s_row * s_row - s_col * s_col, k)
        J = _mT(u) @ gu
        K = _mT(v) @ gv
        t = (f * (J - _mT(J))) * s_row + _col(gs) * eye + s_col * (f * (K - _mT(K)))
        abar = u @ t @ vh
        if self.m > k:
            abar = abar + (gu - u @ J) / s_row @ vh
        if self.n > k:
            abar = abar + (u / s_row) @ _mT(gv - v @ K)
        return (abar,)

    def jvp(self, da: Tangent) -> Tangent:
        u, s, vh = self.u, self.s, self.vh
        v = np.swapaxes(vh, -1, -2)
        k = self.k
        p = np.swapaxes(u, -1, -2) @ da @ v
        ds = np.diagonal(p, axis1=-2, axis2=-1)
        if not self.uv:
            return ds
        s_row, s_col = s[..., None, :], s[..., :, None]
        f = _inv_offdiag(s_row * s_row - s_col * s_col, k)
        S = s_col * np.eye(k)
        pt = np.swapaxes(p, -1, -2)
        du = u @ (f * (p @ S + S @ pt))
        dv = v @ (f * (S @ p + pt @ S))
        if self.m > k:
            du = du + (da @ v - u @ p) / s_row
        if self.n > k:
            dv = dv + (np.swapaxes(da, -1, -2) @ u - v @ pt) / s_row
        lead = u.shape[:-2]
        dvh = np.swapaxes(dv, -1, -2)
        return np.concatenate([du.reshape(lead + (-1,)), ds, dvh.reshape(lead + (-1,))], axis=-1)


def _inv_offdiag(d, k):
    """1 / d off the diagonal, 0 on it (ndarray or Tensor d)."""
    off = ~np.eye(k, dtype=bool)
    if isinstance(d, Tensor):
        from chainrule.ops.elementwise import Where
        return Where.apply(off, 1 / Where.apply(off, d, 1.0), 0.0)
    with np.errstate(divide="ignore"):
        return np.where(off, 1.0 / np.where(off, d, 1.0), 0.0)

"""Recurrent primitives: a whole sequence through a SimpleRNN, LSTM or GRU cell as one graph node.

Notation (the notes'): x_t is the input at step t (a row per sample), h_t the hidden state, which is
also the cell's output, c_t the LSTM's cell (carry) state; W is the input kernel, U the recurrent
kernel, b the bias; sigma is the recurrent (gate) activation and phi the activation, each taken from
the activation table (:mod:`chainrule.ops.activations`: its in-place value ``f_`` and its
derivative written from its output, ``df_``), so no derivative is written twice.

Each primitive runs back-propagation through time (BPTT) the fast way:

* the input projection  x_t W + b  of every step is one matrix product before the loop, into a
  preallocated (T, k u, N) buffer: each step's pre-activations are one contiguous (k u, N) block,
  feature-major (z_t^T = W^T x_t^T + b + U^T h_(t-1)^T), so every gate is a contiguous slab
  (the LSTM instead appends x_t and a 1 to the state it multiplies, s_t = [h_(t-1); x_t; 1], so
  that z_t^T = [U^T | W^T | b] s_t is the one product of the step, written straight into its
  block: with few input features the separate projection costs more than the rows it adds);
* the loop then does, per step, one product  U^T h_(t-1)^T  and the cell's elementwise update in
  place, the gates ordered so that the sigmoid ones form one block (LSTM: o, i, f | g internally;
  GRU: h | the two sigmoid gates) and each activation kernel runs once per step (the LSTM with
  its default sigmoid gates and tanh candidate runs all four gates through one transcendental
  call, :func:`~chainrule.ops.elementwise.sigmoid_tanh_`, its product yielding the gates'
  pre-activations scaled as that kernel takes them);
* the VJP computes every factor that depends only on the forward values (sigma'(z) times the
  other gate, phi'(c) o, ...) for many steps at once, so the backward loop is a handful of
  multiplications and the one product  delta_t U^T  per step (the LSTM does this block by block,
  10 steps at a time, each block's buffers staying in the core's cache);
* the recurrent kernel's gradient  Ubar = sum_t h_(t-1)^T delta_t  is one matrix product over all
  steps after the loop, as are  Wbar = sum_t x_t^T delta_t,  bbar  and the input gradient (the
  LSTM's [Ubar; Wbar; bbar] = sum_t s_t delta_t is a single product per block of steps).

Differentiating the VJP again (``create_graph``: second derivatives, ``gradgradcheck``) recomputes
the sequence with the composed primitives (``linear``, ``matmul``, the activations, ``*`` and
``+``) and differentiates that; the composed versions (:func:`simple_rnn_reference`,
:func:`lstm_reference`, :func:`gru_reference`) are also the fused ones' test oracle and run any
activation the table cannot fuse (a custom callable).

What a primitive returns (one array; :func:`simple_rnn`, :func:`lstm` and :func:`gru` slice it):
the last output (N, u), or with ``return_sequences`` every output (N, T, u); with ``return_state``
the final states are appended along the time axis, (N, T_out + n_states, u).  ``time_major``
reads and writes (T, N, ...) instead (PyTorch's default layout).

Masking (Keras' semantics): where ``mask[n, t]`` is False, step t leaves sample n's states as they
were, h_t = h_(t-1) and c_t = c_(t-1), and its output repeats the previous one (or is zero with
``zero_output_for_mask``, as inside Keras' Bidirectional).  ``recurrent_mask`` multiplies
h_(t-1) before the recurrent product (recurrent dropout: one mask for the whole sequence).
``go_backwards`` processes the steps from last to first and returns the outputs in that order,
as Keras does; ``keep_time_order`` puts them back in input order (Bidirectional, PyTorch).
"""
from __future__ import annotations

import contextlib
import math
import threading
from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function
from chainrule.ops.elementwise import Sigmoid, Tanh, sigmoid_tanh_
from chainrule.ops.recompute import recomputed_vjp
from chainrule.tensor import Tensor
from chainrule.threads import one_blas_thread

if TYPE_CHECKING:
    from chainrule._typing import Any, Callable, Literal, Sequence, TensorLike

__all__ = ["simple_rnn", "lstm", "gru", "simple_rnn_reference", "lstm_reference", "gru_reference",
           "SimpleRNNSequence", "LSTMSequence", "GRUSequence"]


def _acts():
    from chainrule.ops import activations  # the table imports chainrule.ops, which imports this module
    return activations


def _fusable(activation):
    return isinstance(activation, str) and _acts().fusable(activation) is not None


def _kernel(activation, what):
    """The Activation class whose f_ and df_ kernels a fused cell runs."""
    if not _fusable(activation):
        raise ValueError(f"{what}={activation!r} cannot run inside the fused cell (it needs a table activation "
                         f"whose derivative comes from its output); call chainrule.ops.simple_rnn, lstm or gru, "
                         f"which run any activation through the composed version")
    return _acts().fusable(activation)


def _value(x):
    return x.data if isinstance(x, Tensor) else x


_SCRATCH = threading.local()
_SCRATCH_MAX_BYTES = 64 << 20


def _scratch(shape, dtype, slot):
    """A buffer of this thread kept from one VJP to the next, for the arrays that never leave it
    (the per-step factors, the adjoints of the pre-activations, their flattened copies): the
    sequence's buffers are then allocated once, not faulted in afresh every training step (fresh
    megabyte buffers cost more than the arithmetic here).  Slots are named per use; a backward
    pass finishes with its buffers before the next one starts, so layers of the same shape can
    share them.  Arrays over 64 MiB are allocated afresh."""
    dtype = np.dtype(dtype)
    if math.prod(shape) * dtype.itemsize > _SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype)
    pool = getattr(_SCRATCH, "pool", None)
    if pool is None:
        pool = _SCRATCH.pool = {}
    key = (tuple(shape), dtype.str, slot)
    buf = pool.get(key)
    if buf is None:
        if len(pool) > 48:
            pool.clear()
        buf = pool[key] = np.empty(shape, dtype)
    return buf


_PERMS = {}

#: multiply-adds of a step's product below which the step loop runs on one BLAS thread (_Sequence._step_threads)
_SMALL_STEP = 1 << 22

#: steps per block of the LSTM's VJP (see LSTMSequence.backward); 10 ran fastest of 5, 10, 16 and 50
_BLOCK = 10


def _blocks(T):
    """(t0, t1) of each block of _BLOCK steps of a T-step sequence, last block first (the order of
    back-propagation through time; the first block holds the remainder)."""
    for t1 in range(T, 0, -_BLOCK):
        yield max(0, t1 - _BLOCK), t1


def _block_perm(u, blocks):
    """Column indices that reorder a (., k u) gate matrix block-wise: new block j is old block blocks[j]."""
    key = (u, blocks)
    p = _PERMS.get(key)
    if p is None:
        if len(_PERMS) > 64:
            _PERMS.clear()
        p = np.concatenate([np.arange(k * u, (k + 1) * u) for k in blocks])
        p = _PERMS[key] = (p, np.argsort(p))
    return p


class _Sequence(Function):
    """What the three recurrent primitives share: reading the sequence and the mask in processing
    order, the output layout (last output or sequence, states appended, batch- or time-major),
    the input projection and its gradients, and differentiating the VJP through the composed
    version.

    Inside, every per-step array is feature-major, (features, batch): the step's pre-activations
    z_t^T = W^T x_t^T + b + U^T h_(t-1)^T form a (k u, N) block whose gates are contiguous row
    blocks, so each elementwise kernel runs over one contiguous slab.  Buffers are (T, ., N).
    """

    n_states = 1
    _X, _W = 0, 1

    # ------------------------------------------------------------------ reading
    def _setup(self, x, dtype, mask):
        x = np.asarray(x)
        if x.ndim != 3:
            layout = "(time, batch, features)" if self.time_major else "(batch, time, features)"
            raise ValueError(f"expected a batch of sequences of rank 3 {layout}, got shape {x.shape}")
        xt = x if self.time_major else x.transpose(1, 0, 2)      # (T, N, F)
        if xt.shape[0] == 0:
            raise ValueError(f"expected at least one time step, got an input of shape {x.shape}")
        if self.go_backwards:
            xt = xt[::-1]
        T, N, F = xt.shape
        self.XT = np.ascontiguousarray(xt.transpose(0, 2, 1), dtype=dtype)   # (T, F, N), processing order
        self.keep = self.km = None
        if mask is not None:
            m = np.asarray(_value(mask))
            if m.shape != (N, T):
                raise ValueError(f"the mask must have shape (batch, time) = {(N, T)}, got {m.shape}")
            m = m.astype(bool, copy=False).T
            if self.go_backwards:
                m = m[::-1]
            if not m.all():
                self.keep = np.ascontiguousarray(m)[:, None, :]      # (T, 1, N)
                self.km = self.keep.astype(dtype)
        return T, N, F

    @staticmethod
    def _check(name, a, shape):
        if a is not None and np.shape(a) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {np.shape(a)}")

    @staticmethod
    def _state0(h0, N, u, dtype):
        """An initial state (N, u) or None (zeros) as a feature-major (u, N) array."""
        out = np.zeros((u, N), dtype)
        if h0 is not None:
            out[...] = np.asarray(h0).T
        return out

    def _recurrent_mask(self, dtype):
        rm = self.kw["recurrent_mask"]
        return None if rm is None else np.ascontiguousarray(np.asarray(_value(rm), dtype).T)

    # ------------------------------------------------------------------ output layout
    @staticmethod
    def _step_threads(rows, K, N):
        """The BLAS threads of the step loop: one while each step's product (rows x K) @ (K x N) is small
        (under _SMALL_STEP multiply-adds), where a second thread's wake-up and synchronisation cost more
        than half of a product of some microseconds (an LSTM(64) step on a batch of 32, 15 us, ran 1.5x
        slower in all on two threads than on one here); the thread count in force otherwise."""
        return one_blas_thread() if rows * K * N < _SMALL_STEP else contextlib.nullcontext()

    def _seq_out(self, Y, out=None):
        """(T, u, N) outputs in processing order -> the output layout (a new array, or written into
        ``out`` of that layout)."""
        if self.go_backwards and self.keep_time_order:
            Y = Y[::-1]
        Y = Y.transpose(0, 2, 1) if self.time_major else Y.transpose(2, 0, 1)
        if out is None:
            return np.ascontiguousarray(Y)
        np.copyto(out, Y)
        return out

    def _seq_in(self, g):
        """An adjoint (or tangent) in the output layout -> (T, u, N) in processing order (a copy)."""
        gt = g if self.time_major else g.transpose(1, 0, 2)
        if self.go_backwards and self.keep_time_order:
            gt = gt[::-1]
        gt = gt.transpose(0, 2, 1)
        out = _scratch(gt.shape, self.XT.dtype, "gseq")
        np.copyto(out, gt)
        return out

    def _output(self, Y, last, states):
        """The primitive's one output from the outputs Y (T, u, N), the last one and the final
        states (u, N), feature-major; with the states, each part is written once into its place."""
        if not self.with_states:
            return self._seq_out(Y) if self.seq else np.array(last.T)
        T, u, N = Y.shape
        k = T if self.seq else 1
        if self.time_major:
            out = np.empty((k + len(states), N, u), Y.dtype)
            main, slots = out[:k], list(out[k:])
        else:
            out = np.empty((N, k + len(states), u), Y.dtype)
            main, slots = out[:, :k], [out[:, k + j] for j in range(len(states))]
        if self.seq:
            self._seq_out(Y, main)
        else:
            np.copyto(main[0] if self.time_major else main[:, 0], last.T)
        for slot, st in zip(slots, states):
            np.copyto(slot, st.T)
        return out

    def _split(self, g):
        """The adjoint of the output -> (of every output (T, u, N) or None, of the last one (u, N)
        or None, [of each final state (u, N) or None])."""
        g = np.asarray(g)
        if not self.with_states:
            main, gs = g, [None] * self.n_states
        else:
            ax = 0 if self.time_major else 1
            k = g.shape[ax] - self.n_states
            main = g[:k] if ax == 0 else g[:, :k]
            gs = [(g[k + j] if ax == 0 else g[:, k + j]).T for j in range(self.n_states)]
            if not self.seq:
                main = main[0] if ax == 0 else main[:, 0]
        if self.seq:
            return self._seq_in(main), None, gs
        return None, main.T, gs

    # ------------------------------------------------------------------ the input projection
    def _project(self, WpT, b):
        """z_t^T = W^T x_t^T + b for every step, before the loop: (T, width, N).  One product for
        all steps; with one input feature an outer product, which NumPy's stacked matmul runs
        3 times slower (a BLAS call per step with an inner dimension of 1)."""
        if WpT.shape[1] == 1:
            Z = np.multiply(WpT[None], self.XT)
        else:
            Z = np.matmul(WpT, self.XT)
        if b is not None:
            Z += b[:, None]
        return Z

    @staticmethod
    def _flat(A, slot=None):
        """(T, width, N) -> (width, T N): the steps side by side, so that a sum over steps and
        samples is one matrix product (a copy, into scratch slot ``slot`` when given)."""
        T, w, N = A.shape
        if slot is None:
            return np.ascontiguousarray(A.transpose(1, 0, 2)).reshape(w, T * N)
        out = _scratch((w, T, N), A.dtype, slot)
        np.copyto(out, A.transpose(1, 0, 2))
        return out.reshape(w, T * N)

    def _input_grads(self, dZf, Wp, inv, need_b):
        """xbar, Wbar, bbar of the input projection from its adjoint dZf (width, T N): one product
        each over all steps; ``inv`` puts the gate columns back in the caller's order."""
        needs = self._needs()
        T, F, N = self.XT.shape
        dx = dW = db = None
        if needs[self._X]:
            dx = self._x_layout(np.matmul(Wp, dZf).reshape(F, T, N))   # xbar_t^T = W zbar_t^T
        if needs[self._W]:
            dW = np.matmul(self._flat(self.XT, "x"), dZf.T)      # Wbar = sum_t x_t^T zbar_t
            dW = dW if inv is None else dW[:, inv]
        if need_b:
            db = np.matmul(dZf, np.ones(T * N, dZf.dtype))       # bbar = sum_t,n zbar_t
            db = db if inv is None else db[inv]
        return dx, dW, db

    def _x_layout(self, dxf):
        """The input's adjoint (F, T, N), steps in processing order -> the input's layout."""
        if self.go_backwards:
            dxf = dxf[:, ::-1]
        return dxf.transpose(1, 2, 0) if self.time_major else dxf.transpose(2, 1, 0)

    def _tangent_projection(self, xd, Wd, bd, width, perm=None):
        """xdot_t W + x_t Wdot + bdot for all steps at once, feature-major (T, width, N)."""
        T, F, N = self.XT.shape
        Zd = np.zeros((T, width, N), self.XT.dtype)
        pick = (lambda a: a) if perm is None else (lambda a: a[..., perm])
        if xd is not None:
            xdt = np.broadcast_to(xd, np.shape(self.inputs[0]))
            xdt = xdt if self.time_major else xdt.transpose(1, 0, 2)
            if self.go_backwards:
                xdt = xdt[::-1]
            Zd += np.matmul(self.WpT, xdt.transpose(0, 2, 1))
        if Wd is not None:
            Zd += np.matmul(pick(np.asarray(Wd)).T, self.XT)
        if bd is not None:
            Zd += pick(np.asarray(bd))[:, None]
        return Zd

    @staticmethod
    def _carried(km, t, new, old):
        """A state (or its tangent) after step ``t``: the new one where a sample's step is real
        (``km[t]`` = 1), the old one carried over where it is masked; ``km`` None: no mask."""
        return new if km is None else km[t] * new + (1 - km[t]) * old

    def _emitted(self, km, t, new, carried):
        """The output at step ``t``: the carried state, or zero at masked steps with ``zero_output``."""
        return new * km[t] if km is not None and self.zero_output else carried

    @staticmethod
    def _tangent0(h0d, N, u, dt):
        return np.zeros((u, N), dt) if h0d is None else np.array(np.broadcast_to(h0d, (N, u)).T, dt)

    # ------------------------------------------------------------------ second derivatives
    def _graph_backward(self, out, g):
        """Differentiate the VJP: recompute the sequence with composed primitives (the
        ``*_reference`` function) on the graph nodes and differentiate that, recording."""
        return recomputed_vjp(self, g, self.inputs, lambda *inputs: type(self).reference(*inputs, **self.kw))

    def _keep_options(self, inputs, kw):
        kw = _options(kw)
        self.inputs, self.kw = inputs, kw
        self.seq, self.with_states = kw["return_sequences"], kw["return_state"]
        self.go_backwards, self.time_major = kw["go_backwards"], kw["time_major"]
        self.keep_time_order, self.zero_output = kw["keep_time_order"], kw["zero_output_for_mask"]
        return kw

    def _needs(self):
        """needs_input_grad padded with False for inputs left out of the call (b, h0, ...)."""
        needs = list(getattr(self, "needs_input_grad", ()))
        return needs + [False] * (len(self.inputs) - len(needs))

    @staticmethod
    def _output_grad_at(t, T, gseq, glast):
        if gseq is not None:
            return gseq[t]
        return glast if t == T - 1 else None

    def _dtype(self, *arrays):
        # np.asarray first: result_type reads a nested list as a structured dtype's description
        return np.result_type(*(a if isinstance(a, np.ndarray) else np.asarray(a) for a in arrays if a is not None),
                              np.float32)


_OPTIONS = dict(mask=None, recurrent_mask=None, go_backwards=False, return_sequences=False, return_state=False,
                zero_output_for_mask=False, time_major=False, keep_time_order=False)


def _options(kw):
    unknown = set(kw) - set(_OPTIONS) - {"activation", "recurrent_activation", "reset_after", "gate_order"}
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    return {**_OPTIONS, **kw}


def _zeros(u, N, dt, g):
    return np.zeros((u, N), dt) if g is None else np.array(g, dt, order="C")


# =============================================================================== SimpleRNN
class SimpleRNNSequence(_Sequence):
    """A sequence through Elman's cell (Keras' SimpleRNN):  h_t = phi(x_t W + b + h_(t-1) U),
    h_0 given or 0; the outputs are the h_t.

    Inputs x (N, T, F), W (F, u), U (u, u), b (u,) or None, h0 (N, u) or None.
    VJP (back-propagation through time), with hbar_t the adjoint of h_t (from the output and from
    step t+1):  delta_t = hbar_t phi'(.)  (written from h_t),  hbar_(t-1) += delta_t U^T;
    then  Ubar = sum_t h_(t-1)^T delta_t,  Wbar = sum_t x_t^T delta_t,  bbar = sum_t,n delta_t,
    xbar_t = delta_t W^T.
    JVP: hdot_t = phi'(.) (xdot_t W + x_t Wdot + bdot + hdot_(t-1) U + h_(t-1) Udot).
    """

    name = "simple_rnn"
    _H0 = 4

    def forward(self, x: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray | None = None,
                h0: np.ndarray | None = None, **kw: Any) -> np.ndarray:
        kw = self._keep_options((x, W, U, b, h0), kw)
        act = self.act = _kernel(kw.get("activation", "tanh"), "activation")
        u = np.shape(U)[0]
        dt = self._dtype(x, W, U, b, h0)
        T, N, F = self._setup(x, dt, kw["mask"])
        self._check("the kernel", W, (F, u))
        self._check("the recurrent kernel", U, (u, u))
        self._check("the bias", b, (u,))
        self._check("the initial state", h0, (N, u))
        self.U = np.asarray(U, dt)
        UT = self.UT = np.ascontiguousarray(self.U.T)
        self.Wp = np.asarray(W, dt)
        self.WpT = np.ascontiguousarray(self.Wp.T)
        Z = self._project(self.WpT, None if b is None else np.asarray(b, dt))
        H = self.H = np.empty((T + 1, u, N), dt)
        H[0] = self._state0(h0, N, u, dt)
        rm = self.rm = self._recurrent_mask(dt)
        Hin = self.Hin = H if rm is None else np.empty_like(H)
        keep, f_ = self.keep, act.f_
        tmp = np.empty((u, N), dt)
        Zs, Hs, Hins = list(Z), list(H), list(Hin)
        with self._step_threads(u, u, N):
            for t in range(T):
                hin = Hs[t] if rm is None else np.multiply(Hs[t], rm, out=Hins[t])
                z = Zs[t]
                z += np.matmul(UT, hin, out=tmp)                  # x_t W + b + h_(t-1) U
                if keep is None:
                    f_(z, Hs[t + 1])                              # h_t = phi(z_t)
                else:
                    f_(z, z)                                      # the new state, kept in Z for phi'
                    np.copyto(Hs[t + 1], z)
                    np.copyto(Hs[t + 1], Hs[t], where=~keep[t])   # masked samples keep h_(t-1)
        self.Hnew = H[1:] if keep is None else Z                 # phi(z_t) before masking
        Y = H[1:]
        if keep is not None and self.zero_output:
            Y = Z * self.km
        return self._output(Y, Y[-1], [H[T]])

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        needs = self._needs()
        gseq, glast, (gh,) = self._split(g)
        km, rm, U = self.km, self.rm, self.U
        T, u, N = self.Hnew.shape
        D = self.act.df_(self.Hnew, None, _scratch(self.Hnew.shape, self.Hnew.dtype, "D"))  # phi'(z_t) from h_t
        if km is not None:
            D *= km
            nk = 1 - km
        dZ = _scratch(D.shape, D.dtype, "dZ")
        dh = _zeros(u, N, D.dtype, gh)
        zero = self.zero_output and km is not None
        with self._step_threads(u, u, N):
            for t in range(T - 1, -1, -1):
                if zero:
                    dpass = dh * nk[t]
                go = self._output_grad_at(t, T, gseq, glast)
                if go is not None:
                    dh += go
                np.multiply(dh, D[t], out=dZ[t])                  # delta_t = hbar_t phi'(z_t)
                if km is not None and not zero:
                    dpass = dh * nk[t]
                if t or needs[self._H0]:
                    np.matmul(U, dZ[t], out=dh)                   # hbar_(t-1) = delta_t U^T
                    if rm is not None:
                        dh *= rm
                    if km is not None:
                        dh += dpass
        dZf = self._flat(dZ, "dZf")
        dx, dW, db = self._input_grads(dZf, self.Wp, None, needs[3])
        dU = np.matmul(self._flat(self.Hin[:T], "h"), dZf.T) if needs[2] else None   # Ubar = sum_t h_(t-1)^T delta_t
        return dx, dW, dU, db, (dh.T if needs[self._H0] else None)

    def jvp(self, xd: np.ndarray | None, Wd: np.ndarray | None, Ud: np.ndarray | None, bd: np.ndarray | None = None,
            h0d: np.ndarray | None = None) -> np.ndarray:
        rm, km, UT = self.rm, self.km, self.UT
        T, u, N = self.Hnew.shape
        Zd = self._tangent_projection(xd, Wd, bd, u)
        if Ud is not None:
            Zd += np.matmul(np.asarray(Ud).T, self.Hin[:T])
        D = self.act.df_(self.Hnew, None, np.empty_like(self.Hnew))
        hd = self._tangent0(h0d, N, u, D.dtype)
        Yd = np.empty((T, u, N), D.dtype)
        for t in range(T):
            hn = D[t] * (Zd[t] + UT @ (hd if rm is None else hd * rm))
            hd = self._carried(km, t, hn, hd)
            Yd[t] = self._emitted(km, t, hn, hd)
        return self._output(Yd, Yd[-1], [hd])

    @staticmethod
    def reference(x: TensorLike, W: TensorLike, U: TensorLike, b: TensorLike | None = None,
                  h0: TensorLike | None = None, **kw: Any) -> Tensor | np.ndarray:
        """The same sequence composed of differentiable primitives step by step; the fused op's test oracle,
        and the path taken for second derivatives."""
        return simple_rnn_reference(x, W, U, b, h0, **kw)


# =============================================================================== LSTM
class LSTMSequence(_Sequence):
    """A sequence through the LSTM cell (Hochreiter and Schmidhuber; Keras' and PyTorch's form).

    With z_t = x_t W + b + h_(t-1) U split into the gates (i, f, c, o) in Keras' and PyTorch's
    order (input, forget, cell candidate, output):
    i_t = sigma(z_i),  f_t = sigma(z_f),  g_t = phi(z_c),  o_t = sigma(z_o),
    c_t = f_t c_(t-1) + i_t g_t,  h_t = o_t phi(c_t).

    Inputs x (N, T, F), W (F, 4u), U (u, 4u), b (4u,) or None, h0 and c0 (N, u) or None.
    VJP through time, with hbar_t, cbar_t the adjoints of h_t and c_t:
    cbar_t += hbar_t o_t phi'(c_t);  zbar_o = hbar_t phi(c_t) sigma'(z_o);
    zbar_i = cbar_t g_t sigma'(z_i);  zbar_f = cbar_t c_(t-1) sigma'(z_f);  zbar_c = cbar_t i_t phi'(z_c);
    cbar_(t-1) = cbar_t f_t,  hbar_(t-1) = zbar_t U^T;  then, with s_t = [h_(t-1); x_t; 1] the
    state the step multiplies by A = [U^T | W^T | b], [Ubar; Wbar; bbar] = sum_t s_t zbar_t and
    xbar_t = zbar_t W^T, one product each per block of steps.  Every factor after a cbar_t or
    hbar_t is computed for the block's steps before its loop.
    JVP: zdot_t as for SimpleRNN, idot = sigma'(z_i) zdot_i, ...,
    cdot_t = fdot c_(t-1) + f cdot_(t-1) + idot g + i gdot,  hdot_t = odot phi(c_t) + o phi'(c_t) cdot_t.
    """

    name = "lstm"
    n_states = 2
    _H0, _C0 = 4, 5
    #: internal gate order o, i, f, g (from Keras' i, f, c, o): the three sigmoid gates in one block,
    #: the three gates whose adjoint is cbar_t times a factor in another
    _ORDER = (3, 0, 1, 2)

    def forward(self, x: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray | None = None,
                h0: np.ndarray | None = None, c0: np.ndarray | None = None, **kw: Any) -> np.ndarray:
        kw = self._keep_options((x, W, U, b, h0, c0), kw)
        act = self.act = _kernel(kw.get("activation", "tanh"), "activation")
        ract = self.ract = _kernel(kw.get("recurrent_activation", "sigmoid"), "recurrent_activation")
        u = np.shape(U)[0]
        dt = self._dtype(x, W, U, b, h0, c0)
        T, N, F = self._setup(x, dt, kw["mask"])
        self._check("the kernel", W, (F, 4 * u))
        self._check("the recurrent kernel", U, (u, 4 * u))
        self._check("the bias", b, (4 * u,))
        self._check("the initial hidden state", h0, (N, u))
        self._check("the initial cell state", c0, (N, u))
        self.perm, self.inv = _block_perm(u, self._ORDER)
        self.Wp = np.asarray(W, dt)[:, self.perm]
        self.WpT = np.ascontiguousarray(self.Wp.T)
        self.Up = np.asarray(U, dt)[:, self.perm]
        # the input projection rides in the recurrent product: with s_t = [h_(t-1); x_t; 1] and
        # A = [U^T | W^T | b] (the augmented state and kernel), z_t^T = A s_t is one product per
        # step written straight into the gate buffer, and after the loop one product of the s_t
        # side by side gives Ubar, Wbar and bbar together (no (T, 4u, N) projection pass, no add).
        # With sigmoid gates and a tanh candidate (the defaults) the rows of A are scaled (exactly)
        # so that the product yields what sigmoid_tanh_ takes: one tanh or exp pass gives all four
        # gates.
        fused = self.fused = ract is Sigmoid and act is Tanh
        gates_ = sigmoid_tanh_                                   # the kernel and the scales it takes, together
        K = u + F + (b is not None)
        A = np.empty((4 * u, K), dt)
        A[:, :u] = self.Up.T
        A[:, u:u + F] = self.WpT
        if b is not None:
            A[:, u + F] = np.asarray(b, dt)[self.perm]
        if fused:
            s_sig, s_tanh = gates_.scales
            A[:3 * u] *= s_sig
            if s_tanh != 1:
                A[3 * u:] *= s_tanh
        S = self.S = np.empty((T + 1, K, N), dt)                 # S[t] = s_(t+1); S[T] ends with h_T
        S[:T, u:u + F] = self.XT
        S[T, u:] = 0
        if b is not None:
            S[:T, u + F] = 1
        G = self.G = np.empty((T, 4 * u, N), dt)                 # gate values o, i, f, g per step
        rm = self.rm = self._recurrent_mask(dt)
        Hin = self.Hin = S[:, :u]                                # what the product sees: h_(t-1) (times rm)
        H = self.H = Hin if rm is None else np.empty((T + 1, u, N), dt)
        C = self.C = np.empty((T + 1, u, N), dt)
        H[0] = self._state0(h0, N, u, dt)
        C[0] = self._state0(c0, N, u, dt)
        TC = self.TC = np.empty((T, u, N), dt)                   # phi(c_t) of the new cell state
        keep, zero = self.keep, self.zero_output and self.keep is not None
        Y = np.empty((T, u, N), dt) if zero else H[1:]
        ig = np.empty((u, N), dt)
        s3 = 3 * u
        # the per-step views, made once (a view costs about 0.1 us; the loop needs ten a step)
        Gs, Gc = list(G), list(G[:, s3:])
        Ss = None if fused else list(G[:, :s3])
        Os, Is, Fs = list(G[:, :u]), list(G[:, u:2 * u]), list(G[:, 2 * u:s3])
        Hs, Cs, TCs, Sts = list(H), list(C), list(TC), list(S)
        Hins = None if rm is None else list(Hin)
        rf, af = ract.f_, act.f_
        mul, dot = np.multiply, np.dot    # called with a positional out: a keyword costs a ufunc call ~50 ns more
        with np.errstate(over="ignore"), self._step_threads(4 * u, K, N):
            for t in range(T):
                if rm is not None:
                    mul(Hs[t], rm, Hins[t])
                z = Gs[t]
                dot(A, Sts[t], z)                                # z_t = x_t W + b + h_(t-1) U (scaled for the kernel)
                if fused:
                    gates_(z, s3, z)                             # o, i, f = sigma(z_o, z_i, z_f); g = tanh(z_c)
                else:
                    rf(Ss[t], Ss[t])
                    af(Gc[t], Gc[t])
                c = Cs[t + 1]
                mul(Fs[t], Cs[t], c)                             # c_t = f c_(t-1) + i g
                c += mul(Is[t], Gc[t], ig)
                af(c, TCs[t])
                mul(Os[t], TCs[t], Hs[t + 1])                    # h_t = o phi(c_t)
                if keep is not None:
                    if zero:
                        mul(Hs[t + 1], self.km[t], Y[t])
                    drop = ~keep[t]
                    np.copyto(c, Cs[t], where=drop)
                    np.copyto(Hs[t + 1], Hs[t], where=drop)
        return self._output(Y, Y[-1], [H[T], C[T]])

    def _derivatives(self, out=None):
        """sigma' of (o, i, f) and phi' of g, from the gate values, for all steps: (T, 4u, N)."""
        G, u = self.G, self.TC.shape[1]
        D = np.empty_like(G) if out is None else out
        self.ract.df_(G[:, :3 * u], None, D[:, :3 * u])
        self.act.df_(G[:, 3 * u:], None, D[:, 3 * u:])
        return D

    def _factors(self, t0=0, t1=None):
        """The per-step factors of the VJP for steps t0 .. t1 - 1 (default all), for the block at
        once: (Q, P_o, P_i, P_f, P_g, Fk), each (n, u, N), such that the gate adjoints are
        zbar_o = hbar_t P_o and zbar_(i,f,g) = cbar_t P_(i,f,g); Q = o phi'(c_t) is the path from
        hbar_t to cbar_t, Fk = f the one from cbar_t to cbar_(t-1) (1 where a step is masked: cbar
        passes on).  Without a mask Fk is the block's copy of f itself, not a copy of it.

        Every pass here runs over whole contiguous arrays: the block's gate values are first copied
        gate by gate out of the step-major buffer (one copy), because a NumPy ufunc over a strided
        slab (one gate's rows of every step) pays about a microsecond for each contiguous piece,
        more than its arithmetic."""
        t1 = self.TC.shape[0] if t1 is None else t1
        u, N = self.TC.shape[1:]
        n, dt = t1 - t0, self.G.dtype
        Gb = _scratch((4, n, u, N), dt, "Gb")                     # o, i, f, g of the block, gate by gate
        np.copyto(Gb, self.G[t0:t1].reshape(n, 4, u, N).transpose(1, 0, 2, 3))
        o, i, f, g = Gb
        TC = self.TC[t0:t1]
        B = _scratch((5, n, u, N), dt, "B")
        Q, Po, Pi, Pf, Pg = B
        self.ract.df_(Gb[:3], None, B[1:4])                       # sigma' of o, i, f
        self.act.df_(g, None, Pg)                                 # phi' of g
        Po *= TC                                                  # o: phi(c_t)
        Pi *= g                                                   # i: g
        Pf *= self.C[t0:t1]                                       # f: c_(t-1)
        Pg *= i                                                   # g: i
        self.act.df_(TC, None, Q)
        Q *= o
        Fk = f
        if self.km is not None:
            km = _scratch((n, u, N), dt, "km")
            np.copyto(km, self.km[t0:t1])
            B *= km
            Fk = _scratch((n, u, N), dt, "Fk")
            np.multiply(f, km, Fk)
            Fk += 1
            Fk -= km
        return Q, Po, Pi, Pf, Pg, Fk

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        needs = self._needs()
        gseq, glast, (gh, gc) = self._split(g)
        Up, km, rm, S = np.ascontiguousarray(self.Up), self.km, self.rm, self.S
        T, u, N = self.TC.shape
        F, K, dt = self.XT.shape[1], S.shape[1], self.G.dtype
        dh, dc = _zeros(u, N, dt, gh), _zeros(u, N, dt, gc)
        dcn = np.empty((u, N), dt)
        zero = self.zero_output and km is not None
        nk = None if km is None else 1 - km
        plain = km is None and gseq is None
        need_w = needs[1] or needs[2] or needs[3]
        dot, mul = np.dot, np.multiply    # out positional, as in forward
        # the steps run in blocks of _BLOCK steps, last block first: a block's factors, its gate
        # adjoints and their side-by-side copy stay in the core's cache from the factors to the
        # block's share of the weight gradient.  Sequence-long (T, 4u, N) buffers were each written
        # out to memory and read back, and that traffic cost more than their arithmetic (the VJP
        # ran about 15% slower in one block of 50 steps than in blocks of 10).
        nb = min(T, _BLOCK)
        Zbuf = _scratch((nb * 4 * u * N,), dt, "Z")
        zbuf, sbuf = _scratch((4 * u * nb * N,), dt, "zf"), _scratch((K * nb * N,), dt, "sf")
        M = np.zeros((4 * u, K), dt) if need_w else None        # [Ubar; Wbar; bbar]^T, summed block by block
        Mb = np.empty((4 * u, K), dt) if need_w else None
        dxf = np.empty((F, T, N), dt) if needs[self._X] else None
        with self._step_threads(4 * u, u, N):
            for t0, t1 in _blocks(T):
                n = t1 - t0
                Qs, Po, Pi, Pf, Pg, Fk = (list(a) for a in self._factors(t0, t1))
                Z = Zbuf[:n * 4 * u * N].reshape(n, 4 * u, N)       # the block's gate adjoints zbar_t, step by step
                Zo, Zi, Zf, Zg = (list(Z[:, k * u:(k + 1) * u]) for k in range(4))
                Zs = list(Z)
                for t in range(t1 - 1, t0 - 1, -1):
                    j = t - t0
                    if plain:
                        if t == T - 1 and glast is not None:
                            dh += glast
                    else:
                        if zero:
                            dpass = dh * nk[t]
                        go = self._output_grad_at(t, T, gseq, glast)
                        if go is not None:
                            dh += go
                        if km is not None and not zero:
                            dpass = dh * nk[t]
                    mul(dh, Qs[j], dcn)
                    dcn += dc                                         # cbar_t
                    mul(dh, Po[j], Zo[j])                             # zbar_o = hbar_t phi(c_t) sigma'(z_o)
                    mul(dcn, Pi[j], Zi[j])                            # zbar_i = cbar_t g sigma'(z_i)
                    mul(dcn, Pf[j], Zf[j])                            # zbar_f = cbar_t c_(t-1) sigma'(z_f)
                    mul(dcn, Pg[j], Zg[j])                            # zbar_c = cbar_t i phi'(z_c)
                    mul(dcn, Fk[j], dc)                               # cbar_(t-1) = cbar_t f_t
                    if t or needs[self._H0]:
                        dot(Up, Zs[j], dh)                            # hbar_(t-1) = zbar_t U^T
                        if rm is not None:
                            dh *= rm
                        if km is not None:
                            dh += dpass
                zf = zbuf[:4 * u * n * N].reshape(4 * u, n, N)         # the block's zbar_t side by side
                np.copyto(zf, Z.transpose(1, 0, 2))
                zf = zf.reshape(4 * u, n * N)
                if need_w:
                    # [Ubar; Wbar; bbar] += sum_t s_t zbar_t over the block: one product (written as
                    # its transpose, which OpenBLAS runs faster here)
                    sf = sbuf[:K * n * N].reshape(K, n, N)
                    np.copyto(sf, S[t0:t1].transpose(1, 0, 2))
                    M += np.matmul(zf, sf.reshape(K, n * N).T, out=Mb)
                if dxf is not None:
                    dxf[:, t0:t1] = np.matmul(self.Wp, zf).reshape(F, n, N)   # xbar_t^T = W zbar_t^T
        dx = self._x_layout(dxf) if dxf is not None else None
        dU = dW = db = None
        if need_w:
            M = M.T[:, self.inv]                                  # back in Keras' gate order
            dU = M[:u] if needs[2] else None
            dW = M[u:u + F] if needs[1] else None
            db = M[u + F] if needs[3] else None
        return dx, dW, dU, db, (dh.T if needs[self._H0] else None), (dc.T if needs[self._C0] else None)

    def jvp(self, xd: np.ndarray | None, Wd: np.ndarray | None, Ud: np.ndarray | None, bd: np.ndarray | None = None,
            h0d: np.ndarray | None = None, c0d: np.ndarray | None = None) -> np.ndarray:
        G, C, TC, UpT, rm, km = self.G, self.C, self.TC, self.Up.T, self.rm, self.km
        T, u, N = TC.shape
        Zd = self._tangent_projection(xd, Wd, bd, 4 * u, perm=self.perm)
        if Ud is not None:
            Zd += np.matmul(np.asarray(Ud)[:, self.perm].T, self.Hin[:T])
        D = self._derivatives()
        DC = self.act.df_(TC, None, np.empty_like(TC))
        dt = G.dtype
        hd, cd = self._tangent0(h0d, N, u, dt), self._tangent0(c0d, N, u, dt)
        Yd = np.empty((T, u, N), dt)
        for t in range(T):
            gd = (Zd[t] + UpT @ (hd if rm is None else hd * rm)) * D[t]
            od, idot, fd, ggd = gd[:u], gd[u:2 * u], gd[2 * u:3 * u], gd[3 * u:]
            o, i, f, gg = G[t, :u], G[t, u:2 * u], G[t, 2 * u:3 * u], G[t, 3 * u:]
            cn = fd * C[t] + f * cd + idot * gg + i * ggd
            hn = od * TC[t] + o * DC[t] * cn
            cd, hd = self._carried(km, t, cn, cd), self._carried(km, t, hn, hd)
            Yd[t] = self._emitted(km, t, hn, hd)
        return self._output(Yd, Yd[-1], [hd, cd])

    @staticmethod
    def reference(x: TensorLike, W: TensorLike, U: TensorLike, b: TensorLike | None = None,
                  h0: TensorLike | None = None, c0: TensorLike | None = None, **kw: Any) -> Tensor | np.ndarray:
        """The same sequence composed of differentiable primitives step by step; the fused op's test oracle,
        and the path taken for second derivatives."""
        return lstm_reference(x, W, U, b, h0, c0, **kw)


# =============================================================================== GRU
class GRUSequence(_Sequence):
    """A sequence through the GRU cell (Cho et al. 2014), Keras' and PyTorch's form.

    With x_t W + b_in split into (x_z, x_r, x_h) and h_(t-1) U + b_rec into (m_z, m_r, m_h):
    z_t = sigma(x_z + m_z)  (update gate),  r_t = sigma(x_r + m_r)  (reset gate),
    reset_after=True (Keras' default, PyTorch's only form):  hh_t = phi(x_h + r_t m_h);
    reset_after=False:  hh_t = phi(x_h + (r_t h_(t-1)) U_h),  no recurrent bias;
    h_t = z_t h_(t-1) + (1 - z_t) hh_t.

    Inputs x (N, T, F), W (F, 3u), U (u, 3u), b_in (3u,) or None, b_rec (3u,) or None, h0 (N, u)
    or None.  ``gate_order`` 'zrh' is Keras' column order (update, reset, candidate); 'rzh' is
    PyTorch's (r, z, n), so PyTorch's weights need no reordering.
    VJP through time: hhbar = hbar_t (1 - z_t),  zbar_h = hhbar phi'(.),
    zbar_z = hbar_t (h_(t-1) - hh_t) sigma'(z_t),  zbar_r = zbar_h m_h sigma'(r_t),  mbar_h = zbar_h r_t,
    hbar_(t-1) = hbar_t z_t + (zbar_z, zbar_r, mbar_h) U^T;  Ubar, Wbar, biases as one product each
    after the loop.  JVP: the same chain rule forwards.
    """

    name = "gru"
    _H0 = 5

    def forward(self, x: np.ndarray, W: np.ndarray, U: np.ndarray, b_in: np.ndarray | None = None,
                b_rec: np.ndarray | None = None, h0: np.ndarray | None = None, **kw: Any) -> np.ndarray:
        kw = self._keep_options((x, W, U, b_in, b_rec, h0), kw)
        act = self.act = _kernel(kw.get("activation", "tanh"), "activation")
        ract = self.ract = _kernel(kw.get("recurrent_activation", "sigmoid"), "recurrent_activation")
        self.reset_after = ra = kw.get("reset_after", True)
        order = kw.get("gate_order", "zrh")
        if order not in ("zrh", "rzh"):
            raise ValueError(f"gate_order must be 'zrh' (Keras) or 'rzh' (PyTorch), got {order!r}")
        if not ra and b_rec is not None:
            raise ValueError("reset_after=False has no recurrent bias; pass b_rec=None")
        u = np.shape(U)[0]
        dt = self._dtype(x, W, U, b_in, b_rec, h0)
        T, N, F = self._setup(x, dt, kw["mask"])
        self._check("the kernel", W, (F, 3 * u))
        self._check("the recurrent kernel", U, (u, 3 * u))
        self._check("the input bias", b_in, (3 * u,))
        self._check("the recurrent bias", b_rec, (3 * u,))
        self._check("the initial state", h0, (N, u))
        # internal input rows: (h | s1, s2), where (s1, s2) are U's first two blocks in U's order
        self.perm, self.inv = _block_perm(u, (2, 0, 1))
        zs = slice(u, 2 * u) if order == "zrh" else slice(2 * u, 3 * u)
        rs = slice(2 * u, 3 * u) if order == "zrh" else slice(u, 2 * u)
        self.zs, self.rs = zs, rs
        self.Wp = np.asarray(W, dt)[:, self.perm]
        self.WpT = np.ascontiguousarray(self.Wp.T)
        U = self.U = np.asarray(U, dt)
        UT = self.UT = np.ascontiguousarray(U.T)
        A = self.A = self._project(self.WpT, None if b_in is None else np.asarray(b_in, dt)[self.perm])
        H = self.H = np.empty((T + 1, u, N), dt)
        H[0] = self._state0(h0, N, u, dt)
        rm = self.rm = self._recurrent_mask(dt)
        Hin = self.Hin = H if rm is None else np.empty_like(H)
        keep, zero = self.keep, self.zero_output and self.keep is not None
        Y = np.empty((T, u, N), dt) if zero else H[1:]
        rf, af = ract.f_, act.f_
        tmp = np.empty((u, N), dt)
        Ss, Hh = list(A[:, u:]), list(A[:, :u])
        Zs, Rs = list(A[:, zs]), list(A[:, rs])
        Hs, Hins = list(H), list(Hin)
        if ra:
            M = self.M = np.empty((T, 3 * u, N), dt)             # U^T h_(t-1) + b_rec; m_h is kept for rbar
            brec = None if b_rec is None else np.asarray(b_rec, dt)[:, None]
            Ms, Mh = list(M), list(M[:, 2 * u:])
        else:
            UzrT, UhT = np.ascontiguousarray(UT[:2 * u]), np.ascontiguousarray(UT[2 * u:])
            RH = self.RH = np.empty((T, u, N), dt)                # r_t h_(t-1), the input of U_h
            mzr = np.empty((2 * u, N), dt)
        with self._step_threads(3 * u, u, N):
            for t in range(T):
                hin = Hs[t] if rm is None else np.multiply(Hs[t], rm, out=Hins[t])
                s = Ss[t]
                if ra:
                    m = np.matmul(UT, hin, out=Ms[t])
                    if brec is not None:
                        m += brec
                    s += m[:2 * u]
                    rf(s, s)                                          # z, r
                    Hh[t] += np.multiply(Rs[t], Mh[t], out=tmp)       # x_h + r m_h
                else:
                    s += np.matmul(UzrT, hin, out=mzr)
                    rf(s, s)
                    np.multiply(Rs[t], hin, out=RH[t])
                    Hh[t] += np.matmul(UhT, RH[t], out=tmp)           # x_h + (r h) U_h
                hh = Hh[t]
                af(hh, hh)                                            # hh = phi(.)
                np.subtract(Hs[t], hh, out=tmp)                       # h_t = hh + z (h_(t-1) - hh)
                tmp *= Zs[t]
                np.add(hh, tmp, out=Hs[t + 1])
                if keep is not None:
                    if zero:
                        np.multiply(Hs[t + 1], self.km[t], out=Y[t])
                    np.copyto(Hs[t + 1], Hs[t], where=~keep[t])
        return self._output(Y, Y[-1], [H[T]])

    def _factors(self):
        A, H, km, zs, rs = self.A, self.H, self.km, self.zs, self.rs
        T, u3, N = A.shape
        u = u3 // 3
        hh, z, r = A[:, :u], A[:, zs], A[:, rs]
        shape, dt = hh.shape, A.dtype
        tmp = _scratch(shape, dt, "tmp")
        A1 = self.act.df_(hh, None, _scratch(shape, dt, "A1"))  # zbar_h = hbar A1,  A1 = (1 - z) phi'
        A1 *= np.subtract(1, z, out=tmp)
        A2 = self.ract.df_(z, None, _scratch(shape, dt, "A2"))   # zbar_z = hbar A2,  A2 = (h_(t-1) - hh) sigma'(z)
        A2 *= np.subtract(H[:T], hh, out=tmp)
        A3 = self.ract.df_(r, None, _scratch(shape, dt, "A3"))   # zbar_r = zbar_h m_h sigma'(r)
        if self.reset_after:
            A3 *= self.M[:, 2 * u:]
        else:
            A3 *= self.Hin[:T]                                     # (reset_after=False: times (zbar_h U_h^T))
        Zk = z
        if km is not None:
            A1 *= km
            A2 *= km
            Zk = z * km + (1 - km)                                # masked: hbar passes to h_(t-1) unchanged
        return A1, A2, A3, Zk, r

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        needs = self._needs()
        gseq, glast, (gh,) = self._split(g)
        A, U, km, zs, rs, rm = self.A, self.U, self.km, self.zs, self.rs, self.rm
        T, u3, N = A.shape
        u = u3 // 3
        dt = A.dtype
        A1, A2, A3, Zk, R = self._factors()
        # dZ rows: (zbar_h | zbar_s1, zbar_s2 | mbar_h); rows [0, 3u) are the input projection's
        # adjoint (in its layout h | s1, s2), rows [u, 4u) the recurrent product's (in U's order)
        dZ = _scratch((T, 4 * u, N), dt, "dZ")
        dh = _zeros(u, N, dt, gh)
        direct = np.empty((u, N), dt)
        zero = self.zero_output and km is not None
        ra = self.reset_after
        if not ra:
            Uzr, Uh = np.ascontiguousarray(U[:, :2 * u]), np.ascontiguousarray(U[:, 2 * u:])
            drh = np.empty((u, N), dt)
        with self._step_threads(3 * u, u, N):
            for t in range(T - 1, -1, -1):
                go = self._output_grad_at(t, T, gseq, glast)
                if zero:  # the output's adjoint reaches only the new state (the output is 0 where masked)
                    np.multiply(dh, Zk[t], out=direct)
                    if go is not None:
                        direct += go * A[t, zs] * km[t]
                        dh += go
                else:
                    if go is not None:
                        dh += go
                    np.multiply(dh, Zk[t], out=direct)                # hbar_t z_t (masked: hbar_t passes on)
                d = dZ[t]
                np.multiply(dh, A1[t], out=d[:u])                     # zbar_h
                np.multiply(dh, A2[t], out=d[zs])                     # zbar_z
                if ra:
                    np.multiply(d[:u], A3[t], out=d[rs])              # zbar_r = zbar_h m_h sigma'(r)
                    np.multiply(d[:u], R[t], out=d[3 * u:])           # mbar_h = zbar_h r
                    if t or needs[self._H0]:
                        np.matmul(U, d[u:], out=dh)                   # (zbar_z, zbar_r, mbar_h) U^T
                else:
                    np.matmul(Uh, d[:u], out=drh)                     # adjoint of r h_(t-1)
                    np.multiply(drh, A3[t], out=d[rs])
                    if t or needs[self._H0]:
                        np.matmul(Uzr, d[u:3 * u], out=dh)
                        dh += drh * R[t]
                if t or needs[self._H0]:
                    if rm is not None:
                        dh *= rm
                    dh += direct
        dZf = self._flat(dZ, "dZf")
        dx, dW, db_in = self._input_grads(dZf[:3 * u], self.Wp, self.inv, needs[3])
        dU = db_rec = None
        if needs[2]:
            Hf = self._flat(self.Hin[:T], "h")
            if ra:
                dU = np.matmul(Hf, dZf[u:].T)
            else:
                dU = np.concatenate([np.matmul(Hf, dZf[u:3 * u].T),
                                     np.matmul(self._flat(self.RH, "rh"), dZf[:u].T)], 1)
        if needs[4]:
            db_rec = np.matmul(dZf[u:], np.ones(T * N, dt))
        return dx, dW, dU, db_in, db_rec, (dh.T if needs[self._H0] else None)

    def jvp(self, xd: np.ndarray | None, Wd: np.ndarray | None, Ud: np.ndarray | None, bid: np.ndarray | None = None,
            brd: np.ndarray | None = None, h0d: np.ndarray | None = None) -> np.ndarray:
        A, H, UT, rm, km, zs, rs = self.A, self.H, self.UT, self.rm, self.km, self.zs, self.rs
        T, u3, N = A.shape
        u = u3 // 3
        dt = A.dtype
        Zd = self._tangent_projection(xd, Wd, bid, 3 * u, perm=self.perm)
        Hin = self.Hin[:T]
        ra = self.reset_after
        Md = np.zeros((T, 3 * u, N), dt)                  # U-dot^T h_(t-1) + b_rec-dot, for all steps
        if Ud is not None:
            UdT = np.asarray(Ud).T
            if ra:
                Md += np.matmul(UdT, Hin)
            else:
                Md[:, :2 * u] += np.matmul(UdT[:2 * u], Hin)
                Md[:, 2 * u:] += np.matmul(UdT[2 * u:], self.RH)
        if brd is not None:
            Md += np.asarray(brd)[:, None]
        S = self.ract.df_(A[:, u:], None, np.empty_like(A[:, u:]))     # sigma' of (s1, s2)
        Dh = self.act.df_(A[:, :u], None, np.empty_like(A[:, :u]))
        hd = self._tangent0(h0d, N, u, dt)
        Yd = np.empty((T, u, N), dt)
        zo, ro = slice(zs.start - u, zs.stop - u), slice(rs.start - u, rs.stop - u)
        for t in range(T):
            hdin = hd if rm is None else hd * rm
            hh, z, r = A[t, :u], A[t, zs], A[t, rs]
            if ra:
                md = Md[t] + UT @ hdin
                sd = (Zd[t, u:] + md[:2 * u]) * S[t]
                hhd = Dh[t] * (Zd[t, :u] + sd[ro] * self.M[t, 2 * u:] + r * md[2 * u:])
            else:
                sd = (Zd[t, u:] + Md[t, :2 * u] + UT[:2 * u] @ hdin) * S[t]
                rhd = sd[ro] * Hin[t] + r * hdin
                hhd = Dh[t] * (Zd[t, :u] + UT[2 * u:] @ rhd + Md[t, 2 * u:])
            hn = sd[zo] * (H[t] - hh) + z * hd + (1 - z) * hhd
            hd = self._carried(km, t, hn, hd)
            Yd[t] = self._emitted(km, t, hn, hd)
        return self._output(Yd, Yd[-1], [hd])

    @staticmethod
    def reference(x: TensorLike, W: TensorLike, U: TensorLike, b_in: TensorLike | None = None,
                  b_rec: TensorLike | None = None, h0: TensorLike | None = None, **kw: Any) -> Tensor | np.ndarray:
        """The same sequence composed of differentiable primitives step by step; the fused op's test oracle,
        and the path taken for second derivatives."""
        return gru_reference(x, W, U, b_in, b_rec, h0, **kw)


# =============================================================================== composed references
def _ops():
    from chainrule import ops
    return ops


def _fn(activation):
    return _acts().get(activation)


def _steps_of(x, time_major, go_backwards):
    """The inputs of each step, in processing order (slices of x: graph nodes when x is a Tensor)."""
    T = np.shape(_value(x))[0 if time_major else 1]
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    return [x[t] if time_major else x[:, t] for t in order]


def _keep_columns(mask, N, T, dtype, go_backwards):
    """Per step (processing order), a float (N, 1) column that is 1 where the step counts, or None."""
    if mask is None:
        return [None] * T
    m = np.asarray(_value(mask)).astype(bool)
    if m.all():
        return [None] * T
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    return [m[:, t, None].astype(dtype) for t in order]


def _carry(k, new, old):
    return new if k is None else k * new + (1 - k) * old


def _reference_setup(x, h0s, u, kw):
    ops = _ops()
    kw = _options(kw)
    xv = np.asarray(_value(x))
    if xv.ndim != 3:
        raise ValueError(f"expected a batch of sequences of rank 3, got shape {xv.shape}")
    T, N = (xv.shape[0], xv.shape[1]) if kw["time_major"] else (xv.shape[1], xv.shape[0])
    dtype = xv.dtype if xv.dtype.kind == "f" else np.dtype(np.float64)
    states = [np.zeros((N, u), dtype) if s is None else s for s in h0s]
    xs = _steps_of(x, kw["time_major"], kw["go_backwards"])
    keep = _keep_columns(kw["mask"], N, T, dtype, kw["go_backwards"])
    rm = kw["recurrent_mask"]
    return ops, kw, xs, keep, states, rm


def _reference_output(outs, states, kw):
    ops = _ops()
    ax = 0 if kw["time_major"] else 1
    if kw["return_sequences"]:
        if kw["go_backwards"] and kw["keep_time_order"]:
            outs = outs[::-1]
        main = ops.stack(outs, axis=ax)
    else:
        main = outs[-1]
    if not kw["return_state"]:
        return main

    def expand(a):
        shape = np.shape(_value(a))
        return ops.reshape(a, (1, *shape) if ax == 0 else (shape[0], 1, *shape[1:]))
    parts = [main if kw["return_sequences"] else expand(main)] + [expand(s) for s in states]
    return ops.concatenate(parts, axis=ax)


def _step_output(k, new, h, kw):
    return k * new if (k is not None and kw["zero_output_for_mask"]) else h


def simple_rnn_reference(x: TensorLike, W: TensorLike, U: TensorLike, b: TensorLike | None = None,
                         h0: TensorLike | None = None, *, activation: str | Callable[..., Tensor] = "tanh", **kw: Any
                         ) -> Tensor | np.ndarray:
    """:class:`SimpleRNNSequence` composed of primitives, step by step (the fused one's oracle; any
    activation, also a custom callable).  Same arguments and output."""
    u = np.shape(_value(U))[0]
    ops, kw, xs, keep, (h,), rm = _reference_setup(x, [h0], u, kw)
    phi = _fn(activation)
    outs = []
    for xt, k in zip(xs, keep):
        hin = h if rm is None else h * rm
        new = phi(ops.linear(xt, W, b) + ops.matmul(hin, U))
        h = _carry(k, new, h)
        outs.append(_step_output(k, new, h, kw))
    return _reference_output(outs, [h], kw)


def lstm_reference(x: TensorLike, W: TensorLike, U: TensorLike, b: TensorLike | None = None,
                   h0: TensorLike | None = None, c0: TensorLike | None = None, *,
                   activation: str | Callable[..., Tensor] = "tanh",
                   recurrent_activation: str | Callable[..., Tensor] = "sigmoid", **kw: Any) -> Tensor | np.ndarray:
    """:class:`LSTMSequence` composed of primitives, step by step, gates in Keras' order (i, f, c, o)."""
    u = np.shape(_value(U))[0]
    ops, kw, xs, keep, (h, c), rm = _reference_setup(x, [h0, c0], u, kw)
    phi, sigma = _fn(activation), _fn(recurrent_activation)
    outs = []
    for xt, k in zip(xs, keep):
        hin = h if rm is None else h * rm
        z = ops.linear(xt, W, b) + ops.matmul(hin, U)
        i, f = sigma(z[:, :u]), sigma(z[:, u:2 * u])
        g, o = phi(z[:, 2 * u:3 * u]), sigma(z[:, 3 * u:])
        cn = f * c + i * g
        new = o * phi(cn)
        c = _carry(k, cn, c)
        h = _carry(k, new, h)
        outs.append(_step_output(k, new, h, kw))
    return _reference_output(outs, [h, c], kw)


def gru_reference(x: TensorLike, W: TensorLike, U: TensorLike, b_in: TensorLike | None = None,
                  b_rec: TensorLike | None = None, h0: TensorLike | None = None, *,
                  activation: str | Callable[..., Tensor] = "tanh",
                  recurrent_activation: str | Callable[..., Tensor] = "sigmoid", reset_after: bool = True,
                  gate_order: Literal["zrh", "rzh"] = "zrh", **kw: Any) -> Tensor | np.ndarray:
    """:class:`GRUSequence` composed of primitives, step by step."""
    u = np.shape(_value(U))[0]
    ops, kw, xs, keep, (h,), rm = _reference_setup(x, [h0], u, kw)
    phi, sigma = _fn(activation), _fn(recurrent_activation)
    zc, rc = (slice(0, u), slice(u, 2 * u)) if gate_order == "zrh" else (slice(u, 2 * u), slice(0, u))
    outs = []
    for xt, k in zip(xs, keep):
        hin = h if rm is None else h * rm
        a = ops.linear(xt, W, b_in)
        if reset_after:
            m = ops.matmul(hin, U) if b_rec is None else ops.linear(hin, U, b_rec)
            z = sigma(a[:, zc] + m[:, zc])
            r = sigma(a[:, rc] + m[:, rc])
            hh = phi(a[:, 2 * u:] + r * m[:, 2 * u:])
        else:
            m = ops.matmul(hin, U[:, :2 * u])
            z = sigma(a[:, zc] + m[:, zc])
            r = sigma(a[:, rc] + m[:, rc])
            hh = phi(a[:, 2 * u:] + ops.matmul(r * hin, U[:, 2 * u:]))
        new = z * h + (1 - z) * hh
        h = _carry(k, new, h)
        outs.append(_step_output(k, new, h, kw))
    return _reference_output(outs, [h], kw)


# =============================================================================== public functions
def _activation_name(a):
    """A table name for a fused cell, or the callable itself (run by the composed version)."""
    if isinstance(a, str):
        return a if _fusable(a) else _fn(a)
    name = _acts().name_of(a)
    return name if name is not None and _fusable(name) else a


def _initial(initial_state, n, what):
    if initial_state is None:
        return [None] * n
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    if len(states) != n:
        raise ValueError(f"{what}: expected {n} initial state{'s' if n > 1 else ''} "
                         f"({'[h, c]' if n == 2 else 'h'}), got {len(states)}")
    return states


def _unpack(out, n, return_sequences, return_state, time_major):
    if not return_state:
        return out
    if time_major:
        main = out[:-n] if return_sequences else out[0]
        return [main] + [out[j - n] for j in range(n)]
    main = out[:, :-n] if return_sequences else out[:, 0]
    return [main] + [out[:, j - n] for j in range(n)]


def _run(cls, reference, inputs, n, acts, kw, what):
    kw = _options(kw)
    names = {k: _activation_name(v) for k, v in acts.items()}
    if all(isinstance(v, str) for v in names.values()):
        out = cls.apply(*inputs, **names, **kw)
    else:
        out = reference(*inputs, **names, **kw)
    return _unpack(out, n, kw["return_sequences"], kw["return_state"], kw["time_major"])


def simple_rnn(x: TensorLike, kernel: TensorLike, recurrent_kernel: TensorLike, bias: TensorLike | None = None,
               initial_state: TensorLike | Sequence[TensorLike] | None = None, *,
               activation: str | Callable[..., Tensor] = "tanh", **options: Any
               ) -> Tensor | np.ndarray | list[Tensor | np.ndarray]:
    """Run a sequence through the SimpleRNN cell  h_t = phi(x_t W + b + h_(t-1) U).

    Parameters
    ----------
    x : Tensor or array, shape (batch, time, features) (``time_major``: (time, batch, features))
    kernel, recurrent_kernel, bias : W (features, units), U (units, units), b (units,) or None
    initial_state : h_0 (batch, units), or a list holding it; zeros by default
    activation : name or callable, phi
    **options : ``return_sequences``, ``return_state``, ``go_backwards``, ``mask`` (batch, time) of
        bools, ``recurrent_mask`` (batch, units), ``zero_output_for_mask``, ``time_major``,
        ``keep_time_order`` (see the module docstring)

    Returns
    -------
    The last output (batch, units), or every output (batch, time, units) with ``return_sequences``;
    with ``return_state`` the list [output, h_T].

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((2, 3, 1)); W = np.full((1, 2), 0.5); U = np.eye(2) * 0.1
    >>> h = simple_rnn(x, W, U)                 # h_1 = tanh(0.5), h_2 = tanh(0.5 + 0.1 h_1), h_3 = ...
    >>> h.round(4)
    array([[0.5003, 0.5003],
           [0.5003, 0.5003]])
    >>> h1 = np.tanh(0.5); h2 = np.tanh(0.5 + 0.1 * h1); bool(np.isclose(h[0, 0], np.tanh(0.5 + 0.1 * h2)))
    True
    """
    (h0,) = _initial(initial_state, 1, "simple_rnn")
    return _run(SimpleRNNSequence, simple_rnn_reference, (x, kernel, recurrent_kernel, bias, h0), 1,
                {"activation": activation}, options, "simple_rnn")


def lstm(x: TensorLike, kernel: TensorLike, recurrent_kernel: TensorLike, bias: TensorLike | None = None,
         initial_state: TensorLike | Sequence[TensorLike] | None = None, *,
         activation: str | Callable[..., Tensor] = "tanh",
         recurrent_activation: str | Callable[..., Tensor] = "sigmoid", **options: Any
         ) -> Tensor | np.ndarray | list[Tensor | np.ndarray]:
    """Run a sequence through the LSTM cell (see :class:`LSTMSequence`); gates in Keras' order (i, f, c, o).

    ``kernel`` (features, 4 units), ``recurrent_kernel`` (units, 4 units), ``bias`` (4 units,) or None;
    ``initial_state`` [h_0, c_0].  Options and outputs as :func:`simple_rnn`; with ``return_state``
    the list [output, h_T, c_T].
    """
    h0, c0 = _initial(initial_state, 2, "lstm")
    return _run(LSTMSequence, lstm_reference, (x, kernel, recurrent_kernel, bias, h0, c0), 2,
                {"activation": activation, "recurrent_activation": recurrent_activation}, options, "lstm")


def gru(x: TensorLike, kernel: TensorLike, recurrent_kernel: TensorLike, bias: TensorLike | None = None,
        recurrent_bias: TensorLike | None = None, initial_state: TensorLike | Sequence[TensorLike] | None = None, *,
        activation: str | Callable[..., Tensor] = "tanh", recurrent_activation: str | Callable[..., Tensor] = "sigmoid",
        reset_after: bool = True, gate_order: Literal["zrh", "rzh"] = "zrh", **options: Any
        ) -> Tensor | np.ndarray | list[Tensor | np.ndarray]:
    """Run a sequence through the GRU cell (see :class:`GRUSequence`).

    ``kernel`` (features, 3 units), ``recurrent_kernel`` (units, 3 units), the input ``bias`` and
    the ``recurrent_bias`` (3 units,) or None (Keras' bias of shape (2, 3 units) is the pair; with
    ``reset_after=False`` there is only the input bias).  ``gate_order`` 'zrh' (Keras) or 'rzh'
    (PyTorch's r, z, n).  Options and outputs as :func:`simple_rnn`.
    """
    (h0,) = _initial(initial_state, 1, "gru")
    options = dict(options, reset_after=bool(reset_after), gate_order=gate_order)
    return _run(GRUSequence, gru_reference, (x, kernel, recurrent_kernel, bias, recurrent_bias, h0), 1,
                {"activation": activation, "recurrent_activation": recurrent_activation}, options, "gru")

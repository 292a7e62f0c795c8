"""Back-propagation written out for a stack of Dense layers: the notes' algorithm, in place.

For a :class:`~chainrule.nn.Sequential` of :class:`~chainrule.nn.Dense` layers,
``model.fit`` does not need the general graph: the notes' back-propagation
algorithm says exactly what to compute, layer by layer, and this module computes
it into buffers allocated once.  With a^0 = x (the batch) and l = 1, ..., L::

    forward    z^l = a^(l-1) W^l + b^l,       a^l = f_l(z^l)
    output     delta^L = dC/dz^L              (softmax + cross-entropy: (a^L - t) / N;
                                               mean squared error: 2 (a^L - y) / (N d) * f_L'(z^L))
    backward   delta^(l-1) = (delta^l W^l^T) * f_(l-1)'(z^(l-1))
    gradients  dC/dW^l = a^(l-1)^T delta^l,   dC/db^l = sum over the batch of delta^l

Each f' is written with the layer's output a = f(z), which is all the buffers
keep: sigma' = a (1 - a), tanh' = 1 - a^2, relu' = [a > 0], leaky_relu' = 1 or
alpha.  The gradients go straight into the optimizer's flat gradient buffer
(when it has one and no clipping rewrites it), so ``opt.step()`` finds them in
place.

This is the fast path of ``fit`` and nothing else changes: the same optimizer
step, callbacks and metrics run after it.  Models it does not cover (other
layers, regularizers, custom activations or losses, sample weights) train on
the autodiff engine, which is also this module's oracle: the tests compare one
step of each.
"""
from __future__ import annotations

import numpy as np

from chainrule import losses as _losses
from chainrule.nn import activations as _activations
from chainrule.nn.layers import Dense
from chainrule.nn.module import Sequential
from chainrule.ops.fused import FUSABLE_ACTIVATIONS, activate_inplace, labels_out_of_range, times_derivative
from chainrule.ops.reduce import row_max, row_sum
from chainrule.tensor import offered_grad_storage

__all__ = ["DenseBackprop"]

_HIDDEN = FUSABLE_ACTIVATIONS
_LOSSES = {_losses.sparse_categorical_crossentropy: "sparse", _losses.categorical_crossentropy: "categorical",
           _losses.mean_squared_error: "mse"}


class DenseBackprop:
    """One training step of a Sequential stack of Dense layers: forward, loss, gradients.

    Build with :meth:`build`, which returns None for a model or loss it does not
    cover.  :meth:`step` leaves each parameter's ``.grad`` set and returns the
    batch loss and the output array (overwritten by the next step).
    """

    def __init__(self, layers, acts, kind):
        self.layers, self.acts, self.kind = layers, acts, kind
        self.params = [(d.kernel, d.bias if d.use_bias else None) for d in layers]
        self.dtype = layers[0].kernel.data.dtype
        self._dest = [tuple(None if p is None else self._storage(p) for p in wb) for wb in self.params]
        self._n = None

    # ------------------------------------------------------------------ set-up
    @classmethod
    def build(cls, model, loss_fn, X, y):
        """A DenseBackprop for ``model`` trained on (X, y) with ``loss_fn``, or None if it does not apply."""
        if type(model) is not Sequential or _LOSSES.get(loss_fn) is None or np.ndim(X) != 2:
            return None
        layers = list(model._modules.values())
        if not layers or any(type(d) is not Dense or not d.__dict__.get("_self_built") for d in layers):
            return None
        if any(d.kernel_regularizer is not None or d.bias_regularizer is not None for d in layers):
            return None
        if model.regularization_loss() is not None:
            return None
        acts = [_activations.name_of(d.activation) for d in layers]
        kind = _LOSSES[loss_fn]
        if any(a not in _HIDDEN for a in acts[:-1]):
            return None
        units = layers[-1].units
        if kind == "mse":  # targets (N, units), or (N,) for a single output
            if acts[-1] not in _HIDDEN or not (np.shape(y)[1:] == (units,) or (units == 1 and np.ndim(y) == 1)):
                return None
        elif acts[-1] != "softmax":
            return None
        dtype = layers[0].kernel.data.dtype
        if any(p.data.dtype != dtype for d in layers for p in d.parameters()) or X.dtype != dtype:
            return None
        c = units
        if kind == "sparse":  # validate the labels once for the whole run (the generic path says what is wrong)
            t = np.asarray(y)
            if t.shape not in ((len(t),), (len(t), 1)) or t.dtype.kind not in "iu" or labels_out_of_range(t, c):
                return None
        elif kind == "categorical" and (np.shape(y) != (len(y), c) or not np.all((y >= 0) & (y <= 1))):
            return None
        return cls(layers, acts, kind)

    @staticmethod
    def _storage(p):
        """Where p's gradient is written: the slice of the optimizer's flat gradient buffer that
        it offers (so step() copies nothing), else an array of its own."""
        buf = offered_grad_storage(p)
        return np.empty_like(p.data) if buf is None else buf

    def _allocate(self, n):
        self.A = [np.empty((n, d.units), self.dtype) for d in self.layers]   # a^l (z^l before f_l)
        self.D = [np.empty((n, d.units), self.dtype) for d in self.layers]   # delta^l
        self.S = [np.empty((n, d.units), self.dtype) for d in self.layers]   # f_l'(z^l) scratch
        self.ones = np.ones(n, self.dtype)
        self.rows = np.arange(n)
        self._n = n

    # ------------------------------------------------------------------ the step
    def step(self, x, y):
        """Forward, loss and back-propagation for the batch (x, y); returns (loss, output)."""
        n = len(x)
        if n != self._n:
            self._allocate(n)
        A, D, S = self.A, self.D, self.S
        last = len(self.layers) - 1
        a = x
        for l, (W, b) in enumerate(self.params):       # z^l = a^(l-1) W^l + b^l;  a^l = f_l(z^l)
            z = A[l]
            np.matmul(a, W.data, out=z)
            if b is not None:
                z += b.data
            if l < last or self.kind == "mse":
                activate_inplace(self.acts[l], z)
            a = z
        loss = self._output_delta(A[last], D[last], y)
        for l in range(last, -1, -1):                 # dC/dW^l = a^(l-1)^T delta^l, dC/db^l = sum_n delta^l
            W, b = self.params[l]
            gW, gb = self._dest[l]
            np.matmul((x if l == 0 else A[l - 1]).T, D[l], out=gW)
            W.grad = gW
            if b is not None:
                np.matmul(self.ones, D[l], out=gb)
                b.grad = gb
            if l > 0:                                  # delta^(l-1) = (delta^l W^l^T) * f'(z^(l-1))
                np.matmul(D[l], W.data.T, out=D[l - 1])
                times_derivative(self.acts[l - 1], A[l - 1], D[l - 1], S[l - 1])
        return loss, A[last]

    def _output_delta(self, a, delta, y):
        """The loss of the batch and delta^L = dC/dz^L, for the output layer a (= z^L for the softmax losses)."""
        n, c = a.shape
        if self.kind == "mse":                         # C = mean (a - y)^2;  dC/da = 2 (a - y) / (N d)
            np.subtract(a, y.reshape(a.shape), out=delta)
            loss = float(np.vdot(delta, delta)) / delta.size
            delta *= 2.0 / delta.size
            times_derivative(self.acts[-1], a, delta, self.S[-1])
            return loss
        # softmax + cross-entropy, stable: with m = max_c z_c and s = sum_c exp(z_c - m),
        # log a_c = (z_c - m) - log s, and delta = (a sum_c t_c - t) / N
        m = row_max(a)
        a -= m
        if self.kind == "sparse":
            t = y.reshape(-1)
            tz = a[self.rows, t]                       # (z - m) at the true class
        else:
            tsum = np.add.reduce(y, axis=1, keepdims=True)
            tz = np.add.reduce(y * a, axis=1)
        np.exp(a, out=a)
        s = row_sum(a)
        a /= s                                         # a^L = softmax(z^L)
        logs = np.log(s[:, 0])
        if self.kind == "sparse":
            loss = float(np.add.reduce(logs - tz)) / n
            np.multiply(a, 1.0 / n, out=delta)
            delta[self.rows, t] -= 1.0 / n
        else:
            loss = float(np.add.reduce(tsum[:, 0] * logs - tz)) / n
            np.multiply(a, tsum, out=delta)
            delta -= y
            delta *= 1.0 / n
        return loss

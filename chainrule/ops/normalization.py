"""Batch normalization as one primitive (Ioffe and Szegedy 2015, https://arxiv.org/abs/1502.03167).

Written as one node, for speed: the composition it replaces (mean, subtract, square, mean,
add, square root, divide, scale, shift: nine nodes and as many passes) is its oracle in the
tests, and what differentiating its VJP again runs on (``create_graph``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.function import Function
from chainrule.ops.reduce import _ones
from chainrule.ops.recompute import recomputed_vjp

if TYPE_CHECKING:
    from chainrule._typing import Grads, Optional, Tangent, TensorLike, TensorOrArray

__all__ = ["BatchNorm", "batch_norm_composed"]


def batch_norm_composed(x: TensorLike, gamma: Optional[TensorLike], beta: Optional[TensorLike],
                        eps: float) -> TensorOrArray:
    """The clear version: training-mode batch normalization over every axis but the last, composed
    of chainrule functions (so it records nine nodes)."""
    from chainrule import ops
    axes = tuple(range(np.ndim(x.data if hasattr(x, "data") else x) - 1))
    mu = ops.mean(x, axis=axes)
    d = x - mu
    xhat = d / ops.sqrt(ops.mean(d * d, axis=axes) + eps)
    if gamma is not None:
        xhat = xhat * gamma
    if beta is not None:
        xhat = xhat + beta
    return xhat


class BatchNorm(Function):
    """Batch normalization over every axis but the last (the features, or an image's channels).

    Training (``mean=None``), with the m = N (x H x W) values of each feature c:

        mu_c = (1/m) sum_i x_ic,   s2_c = (1/m) sum_i (x_ic - mu_c)^2,   r_c = 1 / sqrt(s2_c + eps),
        xhat_ic = (x_ic - mu_c) r_c,   y_ic = gamma_c xhat_ic + beta_c;

    VJP (the gradient flows through mu and s2 too):

        betabar_c = sum_i ybar_ic,   gammabar_c = sum_i ybar_ic xhat_ic,
        xbar_ic = (gamma_c r_c / m) (m ybar_ic - betabar_c - xhat_ic gammabar_c);

    JVP: xhatdot = r (xdot - mean(xdot) - xhat mean(xdot xhat)),
    ydot = gamma xhatdot + gammadot xhat + betadot.

    Inference (``mean`` and ``var`` given, the running averages: constants), an affine map per
    feature:  y = gamma (x - mean) / sqrt(var + eps) + beta.

    ``gamma`` or ``beta`` may be None (``scale=False`` / ``center=False``).  ``stats``, a list,
    receives the batch's mu and s2 in training (for the running averages).
    """

    name = "batch_norm"

    def forward(self, x: np.ndarray, gamma: Optional[np.ndarray] = None, beta: Optional[np.ndarray] = None,
                eps: float = 1e-3, mean: Optional[np.ndarray] = None, var: Optional[np.ndarray] = None,
                stats: Optional[np.ndarray] = None) -> np.ndarray:
        x = np.asarray(x)
        c = x.shape[-1]
        x2 = x.reshape(-1, c)
        m = x2.shape[0]
        self.x, self.shape, self.gamma, self.eps, self.m = x, x.shape, gamma, eps, m
        self.training = mean is None
        if self.training:
            ones = _ones(m, x.dtype)
            mu = np.matmul(ones, x2)                  # column sums as one BLAS matrix-vector product
            mu *= 1.0 / m
            d = np.subtract(x2, mu)
            sq = np.multiply(d, d)
            s2 = np.matmul(ones, sq)
            s2 *= 1.0 / m
            r = np.sqrt(s2 + eps)
            np.reciprocal(r, out=r)
            if stats is not None:
                stats[:] = [mu, s2]
            self.d, self.r = d, r
            scale = r if gamma is None else r * gamma
            np.multiply(d, scale, out=sq)
            y = sq
        else:
            r = 1.0 / np.sqrt(np.asarray(var, dtype=x.dtype) + x.dtype.type(eps))
            self.r, self.mean = r, np.asarray(mean, dtype=x.dtype)
            self.d = np.subtract(x2, self.mean)
            scale = r if gamma is None else r * gamma
            y = np.multiply(self.d, scale)
        if beta is not None:
            y += beta
        return y.reshape(x.shape)

    def _xhat(self):
        return np.multiply(self.d, self.r)

    def backward(self, g: TensorOrArray) -> Grads:
        needs = self.needs_input_grad
        c = self.shape[-1]
        g2 = g.reshape(-1, c)
        ones = _ones(self.m, g2.dtype)
        dbeta = np.matmul(ones, g2) if (needs[2] or (needs[0] and self.training)) else None
        xhat = self._xhat() if (needs[1] or (needs[0] and self.training)) else None
        dgamma = np.matmul(ones, np.multiply(g2, xhat)) if xhat is not None else None
        dx = None
        if needs[0]:
            gamma = self.gamma
            if self.training:   # (gamma r / m) (m ybar - betabar - xhat gammabar)
                dx = np.multiply(g2, float(self.m))
                dx -= dbeta
                xhat *= dgamma
                dx -= xhat
                dx *= (self.r if gamma is None else self.r * gamma) * (1.0 / self.m)
            else:
                dx = np.multiply(g2, self.r if gamma is None else self.r * gamma)
            dx = dx.reshape(self.shape)
        return dx, (dgamma if needs[1] else None), (dbeta if needs[2] else None)

    def jvp(self, dx: Tangent, dgamma: Tangent, dbeta: Tangent) -> Tangent:
        c = self.shape[-1]
        xhat = self._xhat()
        out = None
        if dx is not None:
            dx2 = np.broadcast_to(dx, self.shape).reshape(-1, c)
            if self.training:
                dxhat = self.r * (dx2 - dx2.mean(axis=0) - xhat * (dx2 * xhat).mean(axis=0))
            else:
                dxhat = self.r * dx2
            out = dxhat if self.gamma is None else dxhat * self.gamma
        if dgamma is not None:
            out = xhat * dgamma if out is None else out + xhat * dgamma
        if dbeta is not None:
            out = np.broadcast_to(dbeta, xhat.shape) if out is None else out + dbeta
        return None if out is None else out.reshape(self.shape)

    def _graph_backward(self, out, g):
        def composed(x, gamma, beta):
            if self.training:
                return batch_norm_composed(x, gamma, beta, self.eps)
            y = (x - self.mean) * self.r  # the running mean and variance are constants
            if gamma is not None:
                y = y * gamma
            return y if beta is None else y + beta
        return recomputed_vjp(self, g, (self.x, self.gamma, None), composed)

"""The lecture notes' object-oriented feed-forward network, run on chainrule.

The notes ("Building a neural network code", and the ``NeuralNetwork`` class of
the digits example) give students a small framework: learning-rate
*schedulers* with ``update_change(gradient)``, *cost functions* that take the
target and return a function of the network output, *activations* with a
``derivate`` helper, and the ``FFNN`` class that trains with them.  This module
offers the same names and arguments, so programs written against the notes
run unchanged, with chainrule's :func:`~chainrule.grad` and
:func:`~chainrule.elementwise_grad` where the notes used autograd's.

Where each equation lives (notation of the notes: a^l activations, z^l
weighted sums, W^l weights, delta^l errors, C the cost, lambda the L2
penalty):

* feed-forward, z^l = a^{l-1} W^l + b^l, a^l = f(z^l):  :meth:`FFNN._feedforward`
* output error delta^L = f'(z^L) o dC/da^L (or a^L - t for softmax):
  :meth:`FFNN._backpropagate`
* hidden errors delta^l = (delta^{l+1} W^{l+1 T}) o f'(z^l), gradients
  dC/dW^l = a^{l-1 T} delta^l + lambda W^l, dC/db^l = sum_n delta^l_n:
  :meth:`FFNN._backpropagate`
* the updates W <- W - change, change from the scheduler: :class:`Scheduler`

Semantics kept from the notes (so the notes' runs behave as printed there):

* ``weights[l]`` is one (n_in + 1, n_out) matrix whose row 0 is the bias;
  weights start as N(0, 1) draws, the bias row as N(0, 1) * 0.01.
* gradients are sums over the batch of the per-sample terms: for a cost with
  a 1/n in it (CostOLS, CostLogReg) that is the gradient of the cost; for a
  softmax output delta^L = a^L - t, the gradient of the *summed*
  cross-entropy -sum t log a (CostCrossEntropy divides by t.size; the notes
  do not).
* each weight and bias matrix gets its own copy of the scheduler, and every
  scheduler's ``reset()`` is called at the end of each epoch: Adagrad forgets
  its sum of squares, RMS_prop its average, and Adam both moments; Adam's
  bias-correction exponent counts *epochs* (1, 2, ...), not steps.
* Adagrad accumulates one sum of squares per *row* of the gradient matrix
  (the diagonal of G = sum g g^T), not one per entry.

Where the notes' code has a bug, this module does what the notes' text says:

* the notes feed a bias input of 0.01 but update the bias row with
  sum_n delta_n, the gradient for an input of 1; here the input is 1, so the
  update is the gradient;
* ``fit`` shuffles the training set once (the notes call sklearn's
  ``resample``, which draws a *bootstrap* sample with replacement and drops a
  third of the data);
* errors are computed from the network's output (the notes pass the
  thresholded 0/1 predictions to the cost, which for CostLogReg gives
  log(1e-9) terms), and accuracy is the fraction of samples whose whole
  predicted row equals the target row (the notes average over the entries of
  one-hot rows, which scores an all-zero prediction 0.9 on ten classes);
* for a softmax output ``predict`` returns the one-hot row of the most
  probable class (a threshold of 0.5 would leave rows all-zero when no class
  reaches 0.5).
"""
from __future__ import annotations

import copy
import math
import numbers
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

import chainrule as cr
from chainrule.ops import activations as _activations
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike, TensorLike

__all__ = ["Scheduler", "Constant", "Momentum", "Adagrad", "AdagradMomentum", "RMS_prop", "Adam",
           "CostOLS", "CostLogReg", "CostCrossEntropy",
           "identity", "sigmoid", "softmax", "RELU", "LRELU", "derivate",
           "FFNN", "NeuralNetwork", "onehot"]


def _check_number(owner, name, value, lo=None, hi=None, lo_open=False, hi_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{owner}: {name} must be a finite real number, got {value!r}")
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or \
          (hi is not None and (value >= hi if hi_open else value > hi))
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{owner}: {name} must lie in {left}{'-inf' if lo is None else lo}, "
                         f"{'inf' if hi is None else hi}{right}, got {value!r}")
    return float(value)


# =============================================================================
# Learning-rate schedulers: change = update_change(gradient); W <- W - change
# =============================================================================
class Scheduler:
    """Abstract scheduler: turns a gradient into the change subtracted from the weights.

    Subclasses implement ``update_change(gradient) -> change`` and ``reset()``
    (called by :meth:`FFNN.fit` at the end of every epoch).  Using this class
    directly raises, as in the notes.
    """

    def __init__(self, eta: float) -> None:
        self.eta = _check_number(type(self).__name__, "eta", eta, lo=0.0, lo_open=True)

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return the change to subtract from the weights for this gradient; each subclass defines the
        rule."""
        raise NotImplementedError(f"{type(self).__name__} is abstract: use one of Constant, Momentum, Adagrad, "
                                  f"AdagradMomentum, RMS_prop or Adam")

    def reset(self) -> None:
        """Forget per-epoch state (nothing to forget for Constant and Momentum)."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Constant(Scheduler):
    """Plain gradient descent.  change = eta * g."""

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return the learning rate times the gradient, ``eta * gradient``."""
        return self.eta * gradient


class Momentum(Scheduler):
    """Gradient descent with momentum.  change_t = gamma * change_{t-1} + eta * g  (gamma = momentum).

    The velocity is kept across epochs (``reset`` does nothing), as in the notes.
    """

    def __init__(self, eta: float, momentum: float) -> None:
        super().__init__(eta)
        self.momentum = _check_number("Momentum", "momentum", momentum, lo=0.0)
        self._change = 0.0

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return the new velocity: the previous change scaled by ``momentum`` plus ``eta * gradient``."""
        self._change = self.momentum * self._change + self.eta * gradient
        return self._change


class Adagrad(Scheduler):
    """Adagrad, as in the notes: one accumulated sum of squares per row of the gradient.

    G_t = G_{t-1} + diag(g g^T)  (for a matrix g: the row sums of g^2),
    change = eta * g / (delta + sqrt(G_t)),  delta = 1e-8;  ``reset`` sets G to 0 (every epoch).
    """

    _delta = 1e-8

    def __init__(self, eta: float) -> None:
        super().__init__(eta)
        self._G = None

    def _scaled(self, gradient):
        g = np.asarray(gradient, dtype=float)
        if g.ndim <= 1:   # the notes' g g^T is then a single number
            sq = np.sum(g * g)
        else:             # diag(g g^T): one sum of squares per row
            sq = np.sum(g * g, axis=tuple(range(1, g.ndim)), keepdims=True)
        self._G = sq if self._G is None else self._G + sq
        return g / (self._delta + np.sqrt(self._G))

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return ``eta`` times the gradient divided by the root of its running sum of squares (one sum per
        row)."""
        return self.eta * self._scaled(gradient)

    def reset(self) -> None:
        self._G = None


class AdagradMomentum(Adagrad):
    """Adagrad with momentum: change_t = gamma * change_{t-1} + eta * g / (delta + sqrt(G_t)).

    G as in :class:`Adagrad` (reset every epoch); the velocity is kept.
    """

    def __init__(self, eta: float, momentum: float) -> None:
        super().__init__(eta)
        self.momentum = _check_number("AdagradMomentum", "momentum", momentum, lo=0.0)
        self._change = 0.0

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return the Adagrad-scaled step added to the previous change scaled by ``momentum``."""
        self._change = self.momentum * self._change + self.eta * self._scaled(gradient)
        return self._change


class RMS_prop(Scheduler):  # noqa: N801 (the notes' name)
    """RMSprop.  s_t = rho * s_{t-1} + (1 - rho) * g^2,  change = eta * g / sqrt(s_t + delta),  delta = 1e-8.

    ``reset`` sets s to 0 (every epoch).
    """

    _delta = 1e-8

    def __init__(self, eta: float, rho: float) -> None:
        super().__init__(eta)
        self.rho = _check_number("RMS_prop", "rho", rho, lo=0.0, hi=1.0, hi_open=True)
        self._second = 0.0

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return ``eta`` times the gradient divided by the root of a decaying (``rho``) average of its
        squares."""
        self._second = self.rho * self._second + (1 - self.rho) * gradient * gradient
        return self.eta * gradient / np.sqrt(self._second + self._delta)

    def reset(self) -> None:
        self._second = 0.0


class Adam(Scheduler):
    """Adam, as in the notes (rho = beta1, rho2 = beta2, k the epoch number 1, 2, ...)::

        m = rho m + (1 - rho) g,          s = rho2 s + (1 - rho2) g^2
        change = eta * (m / (1 - rho^k)) / sqrt(s / (1 - rho2^k) + delta),   delta = 1e-8

    ``reset`` (every epoch) sets m and s to 0 and increments k: the moments
    live within one epoch and the bias correction counts epochs, not steps.
    """

    _delta = 1e-8

    def __init__(self, eta: float, rho: float, rho2: float) -> None:
        super().__init__(eta)
        self.rho = _check_number("Adam", "rho", rho, lo=0.0, hi=1.0, hi_open=True)
        self.rho2 = _check_number("Adam", "rho2", rho2, lo=0.0, hi=1.0, hi_open=True)
        self._moment = 0.0
        self._second = 0.0
        self._n_epochs = 1

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return ``eta`` times the bias-corrected first moment over the root of the bias-corrected second
        moment."""
        self._moment = self.rho * self._moment + (1 - self.rho) * gradient
        self._second = self.rho2 * self._second + (1 - self.rho2) * gradient * gradient
        m_hat = self._moment / (1 - self.rho ** self._n_epochs)
        s_hat = self._second / (1 - self.rho2 ** self._n_epochs)
        return self.eta * m_hat / np.sqrt(s_hat + self._delta)

    def reset(self) -> None:
        self._n_epochs += 1
        self._moment = 0.0
        self._second = 0.0


# =============================================================================
# Cost functions: cost_func(target) -> C(output), written with chainrule ops
# =============================================================================
def CostOLS(target: ArrayLike) -> Callable[[TensorLike], Tensor | np.ndarray]:  # noqa: N802 (the notes' names)
    """Mean squared error.  C(a) = (1/n) sum (t - a)^2,  n = number of samples (rows of t)."""
    target = np.asarray(target)

    def func(X):
        return (1.0 / target.shape[0]) * cr.sum((target - X) ** 2)
    return func


def CostLogReg(target: ArrayLike) -> Callable[[TensorLike], Tensor | np.ndarray]:  # noqa: N802
    """Binary cross-entropy.  C(a) = -(1/n) sum [t log(a + 1e-9) + (1 - t) log(1 - a + 1e-9)]."""
    target = np.asarray(target)

    def func(X):
        return -(1.0 / target.shape[0]) * cr.sum(target * cr.log(X + 1e-9) + (1 - target) * cr.log(1 - X + 1e-9))
    return func


def CostCrossEntropy(target: ArrayLike) -> Callable[[TensorLike], Tensor | np.ndarray]:  # noqa: N802
    """Categorical cross-entropy.  C(a) = -(1/t.size) sum t log(a + 1e-9)  (t one-hot rows)."""
    target = np.asarray(target)

    def func(X):
        return -(1.0 / target.size) * cr.sum(target * cr.log(X + 1e-9))
    return func


_CLASSIFICATION_COSTS = ("CostLogReg", "CostCrossEntropy")


# =============================================================================
# Activation functions (chainrule ops: plain arrays in, plain arrays out)
# =============================================================================
def identity(X: np.ndarray) -> np.ndarray:
    """f(z) = z;  f'(z) = 1."""
    return X


def sigmoid(X: np.ndarray) -> np.ndarray:
    """Logistic function.  f(z) = 1 / (1 + exp(-z));  f'(z) = f(z) (1 - f(z))."""
    return cr.sigmoid(X)


def softmax(X: np.ndarray) -> np.ndarray:
    """Softmax over the last axis.  f(z)_c = exp(z_c - max z) / sum_k exp(z_k - max z).

    Its derivative is a Jacobian, not elementwise; the network uses the
    combined softmax + cross-entropy error delta = a - t instead.
    """
    return cr.softmax(X, axis=-1)


def RELU(X: np.ndarray) -> np.ndarray:  # noqa: N802
    """Rectified linear unit.  f(z) = max(z, 0);  f'(z) = 1 for z > 0, else 0."""
    return cr.relu(X)


def LRELU(X: np.ndarray) -> np.ndarray:  # noqa: N802
    """Leaky ReLU.  f(z) = z for z > 0, 0.01 z otherwise;  f'(z) = 1 or 0.01."""
    return cr.leaky_relu(X, 0.01)


#: the notes' activations as entries of chainrule's activation table (chainrule.ops.activations)
_TABLE = {identity: ("identity", {}), sigmoid: ("sigmoid", {}), RELU: ("relu", {}), LRELU: ("leaky_relu", {"alpha": 0.01})}


def derivate(func: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The elementwise derivative f' of an activation f.

    Closed forms for identity, sigmoid, RELU and LRELU (the notes special-case
    the last two), from chainrule's activation table, where each derivative is written
    once (through the activation's output: sigma' = sigma (1 - sigma), ...); any other
    function written with chainrule operations is differentiated by
    :func:`chainrule.elementwise_grad`.

    >>> import numpy as np
    >>> derivate(sigmoid)(np.zeros(2))
    array([0.25, 0.25])
    >>> derivate(lambda z: z ** 3)(np.array([2.0]))
    array([12.])
    """
    if not callable(func):
        raise TypeError(f"derivate: expected an activation function, got {type(func).__name__}")
    entry = _TABLE.get(func)
    if entry is not None:
        name, params = entry
        spec = _activations.spec(name)

        def closed(X):
            X = np.asarray(X, dtype=float)
            return spec.df(spec.value(X, **params), X, **params)
        closed.__name__ = f"d_{func.__name__}"
        return closed
    egrad = cr.elementwise_grad(func)

    def d(X):
        return egrad(np.asarray(X, dtype=float))
    d.__name__ = f"d_{getattr(func, '__name__', 'func')}"
    return d


def onehot(target: ArrayLike) -> np.ndarray:
    """Integer labels (n,) -> one-hot rows (n, max + 1), as in the notes' digits example.

    >>> onehot(np.array([0, 2]))
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    target = np.asarray(target)
    if target.ndim != 1 or target.dtype.kind not in "iu" or (target.size and target.min() < 0):
        raise ValueError(f"onehot: expected a 1-D array of non-negative integer labels, got shape {target.shape} "
                         f"and dtype {target.dtype}")
    out = np.zeros((target.size, int(target.max()) + 1 if target.size else 0))
    out[np.arange(target.size), target] = 1
    return out


# =============================================================================
# Input checks shared by FFNN and NeuralNetwork
# =============================================================================
def _as_matrix(owner, name, A, n_cols=None, what="columns"):
    try:
        raw = np.asarray(A)
        if raw.dtype.kind == "c":
            raise TypeError(f"{owner}: {name} is complex (dtype {raw.dtype}); the network works on real numbers: "
                            f"give the real and imaginary parts as separate features, "
                            f"np.column_stack([X.real, X.imag])")
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"{owner}: {name} must be an array of real numbers, got dtype {raw.dtype}")
        A = raw.astype(float)
    except ValueError:  # ragged rows
        raise TypeError(f"{owner}: {name} must be an array of numbers") from None
    if A.ndim == 1 and n_cols == 1:
        A = A.reshape(-1, 1)
    if A.ndim != 2:
        raise ValueError(f"{owner}: {name} must be a 2-D array (samples, {what}), got shape {A.shape}"
                         + ("; reshape a 1-D array with .reshape(-1, 1)" if A.ndim == 1 else ""))
    if n_cols is not None and A.shape[1] != n_cols:
        raise ValueError(f"{owner}: {name} has {A.shape[1]} {what} per sample (shape {A.shape}) but the network "
                         f"expects {n_cols}")
    if A.shape[0] == 0:
        raise ValueError(f"{owner}: {name} has no samples (shape {A.shape})")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{owner}: {name} contains NaN or infinite values; remove or impute them first")
    return A


class FFNN:
    """Feed-forward neural network of the lecture notes, trained by back-propagation.

    Parameters
    ----------
    dimensions : tuple of int
        Layer sizes, input first: ``(64, 100, 30, 10)`` is 64 inputs, hidden
        layers of 100 and 30 nodes and 10 outputs.
    hidden_func, output_func : callable
        Activations of the hidden layers and of the output layer.
    cost_func : callable
        ``cost_func(target)`` returns the cost as a function of the output;
        CostLogReg and CostCrossEntropy make the network a classifier.
    seed : int, optional
        Seeds the weights (``reset_weights``) and the shuffling in ``fit``.
        Without it NumPy's global generator is used, so ``np.random.seed``
        works as in the notes.

    Examples
    --------
    The XOR gate needs a hidden layer:

    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> t = np.array([[0], [1], [1], [0]])
    >>> net = FFNN((2, 4, 1), output_func=sigmoid, cost_func=CostLogReg, seed=2024)
    >>> scores = net.fit(X, t, Adam(eta=1e-1, rho=0.9, rho2=0.999), epochs=1000, verbose=False)
    >>> net.predict(X).ravel().tolist(), float(scores["train_accs"][-1])
    ([0, 1, 1, 0], 1.0)
    """

    def __init__(self, dimensions: Sequence[int], hidden_func: Callable[[np.ndarray], np.ndarray] = sigmoid,
                 output_func: Callable[[np.ndarray], np.ndarray] = lambda x: x,
                 cost_func: Callable[[np.ndarray], Callable[[TensorLike], Tensor | np.ndarray]] = CostOLS,
                 seed: int | None = None) -> None:
        try:
            dims = tuple(dimensions)
        except TypeError:
            raise TypeError(f"FFNN: dimensions must be a tuple of layer sizes, input first, such as (64, 100, 10); "
                            f"got {dimensions!r}") from None
        if len(dims) < 2 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                                    for d in dims):
            raise ValueError(f"FFNN: dimensions must hold at least two positive integers (input and output "
                             f"sizes), got {dimensions!r}")
        for name, f in (("hidden_func", hidden_func), ("output_func", output_func), ("cost_func", cost_func)):
            if not callable(f):
                raise TypeError(f"FFNN: {name} must be a function, got {type(f).__name__}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"FFNN: seed must be an integer or None, got {seed!r}")
        if seed is not None and not 0 <= seed < 2**32:
            raise ValueError(f"FFNN: seed must be in [0, 2**32), got {seed}")
        self.dimensions = tuple(int(d) for d in dims)
        self.hidden_func = hidden_func
        self.output_func = output_func
        self.cost_func = cost_func
        self.seed = seed
        self.weights = []
        self.schedulers_weight = []
        self.schedulers_bias = []
        self.a_matrices = []
        self.z_matrices = []
        self.classification = getattr(cost_func, "__name__", None) in _CLASSIFICATION_COSTS
        self.reset_weights()

    # ----------------------------------------------------------------- helpers
    def _rng(self):
        return np.random if self.seed is None else np.random.RandomState(self.seed)

    @property
    def _softmax_out(self):
        return self.output_func is softmax or getattr(self.output_func, "__name__", None) == "softmax"

    def reset_weights(self) -> None:
        """Draw fresh weights: W^l ~ N(0, 1), bias row (row 0) ~ N(0, 1) * 0.01."""
        rng = self._rng()
        self.weights = []
        for n_in, n_out in zip(self.dimensions[:-1], self.dimensions[1:]):
            W = rng.randn(n_in + 1, n_out)
            W[0, :] = rng.randn(n_out) * 0.01
            self.weights.append(W)

    # ------------------------------------------------------------ feed-forward
    def _feedforward(self, X):
        """z^l = a^{l-1} W^l + b^l,  a^l = f(z^l); stores every a and z for back-propagation."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        a = X
        self.a_matrices = [a]
        self.z_matrices = [a]
        last = len(self.weights) - 1
        with np.errstate(over="ignore"):
            for i, W in enumerate(self.weights):
                z = a @ W[1:] + W[0]
                a = np.asarray((self.output_func if i == last else self.hidden_func)(z), dtype=float)
                self.z_matrices.append(z)
                self.a_matrices.append(a)
        return a

    def _backpropagate(self, X, t, lam):
        """One gradient step on the batch whose feed-forward was just run.

        delta^L = a^L - t (softmax output) or f'(z^L) o dC/da^L;
        delta^l = (delta^{l+1} W^{l+1 T}) o f'(z^l);
        dC/dW^l = a^{l-1 T} delta^l + lam W^l,  dC/db^l = sum_n delta^l_n.
        """
        grads_w, grads_b = self._gradients(t, lam)
        for i in range(len(self.weights)):
            self.weights[i][:1] -= self.schedulers_bias[i].update_change(grads_b[i])
            self.weights[i][1:] -= self.schedulers_weight[i].update_change(grads_w[i])

    def _gradients(self, t, lam):
        """(weight gradients, bias gradients) per layer, from the stored a's and z's."""
        n_layers = len(self.weights)
        grads_w, grads_b = [None] * n_layers, [None] * n_layers
        hidden_d = derivate(self.hidden_func)
        delta = None
        for i in range(n_layers - 1, -1, -1):
            if i == n_layers - 1:
                a_out = self.a_matrices[i + 1]
                if self._softmax_out:
                    delta = a_out - t
                else:
                    dC = cr.grad(self.cost_func(t))(a_out)
                    delta = derivate(self.output_func)(self.z_matrices[i + 1]) * dC
            else:
                delta = (delta @ self.weights[i + 1][1:].T) * hidden_d(self.z_matrices[i + 1])
            grads_w[i] = self.a_matrices[i].T @ delta + lam * self.weights[i][1:]
            grads_b[i] = np.sum(delta, axis=0, keepdims=True)
        return grads_w, grads_b

    # ----------------------------------------------------------------- public
    def predict(self, X: ArrayLike, *, threshold: float = 0.5) -> np.ndarray:
        """The network's output for X; for a classifier the predicted labels.

        A classifier returns 1 where the output exceeds ``threshold`` and 0
        elsewhere; with a softmax output, the one-hot row of the most
        probable class.
        """
        X = np.asarray(X)
        X = _as_matrix("FFNN.predict", "X", X.reshape(1, -1) if X.ndim == 1 else X, self.dimensions[0],
                       "features")
        return self._decide(self._feedforward(X), threshold)

    def _decide(self, out, threshold=0.5):
        if not self.classification:
            return out
        if self._softmax_out and out.shape[1] > 1:
            pred = np.zeros(out.shape, dtype=int)
            pred[np.arange(out.shape[0]), np.argmax(out, axis=1)] = 1
            return pred
        return np.where(out > threshold, 1, 0)

    def _check_targets(self, name, t, n):
        n_out = self.dimensions[-1]
        t_arr = np.asarray(t)
        if t_arr.ndim == 1 and n_out > 1 and t_arr.shape[0] == n:
            raise ValueError(f"FFNN.fit: {name} holds one label per sample (shape {t_arr.shape}) but the network "
                             f"has {n_out} outputs; pass one-hot rows of shape ({n}, {n_out}), e.g. onehot({name})")
        t = _as_matrix("FFNN.fit", name, t, n_out, "outputs")
        if t.shape[0] != n:
            raise ValueError(f"FFNN.fit: {name} has {t.shape[0]} samples but the inputs have {n}")
        if self.classification and (t.min() < 0 or t.max() > 1):
            raise ValueError(f"FFNN.fit: {name} must hold targets in [0, 1] for the classification cost "
                             f"{self.cost_func.__name__} (0/1 labels or one-hot rows), got values from "
                             f"{t.min():g} to {t.max():g}")
        if self._softmax_out and self.classification and not np.allclose(t.sum(axis=1), 1.0):
            raise ValueError(f"FFNN.fit: {name} must hold one-hot rows (each summing to 1) for a softmax output")
        return t

    def _accuracy(self, prediction, target):
        """Fraction of samples whose predicted row equals the target row."""
        return float(np.mean(np.all(prediction == target, axis=1)))

    def fit(self, X: ArrayLike, t: ArrayLike, scheduler: Scheduler, batches: int = 1, epochs: int = 100, lam: float = 0,
            X_val: ArrayLike | None = None, t_val: ArrayLike | None = None, *,
            verbose: bool = True) -> dict[str, np.ndarray]:
        """Train with mini-batch gradient descent; return per-epoch scores.

        Parameters
        ----------
        X, t : array
            Inputs (n, dimensions[0]) and targets (n, dimensions[-1]).
        scheduler : Scheduler
            The learning-rate method; every weight and bias matrix gets its own copy.
        batches : int
            Number of mini-batches per epoch (the last one takes what is left).
        epochs : int
            Passes over the data.
        lam : float
            L2 penalty lambda: the weight gradients get + lam * W.
        X_val, t_val : array, optional
            A validation set, scored after every epoch.
        verbose : bool
            Print the notes' progress bar (``False`` silences it).

        Returns
        -------
        dict
            'train_errors' and 'val_errors' (the cost after each epoch), and for
            a classifier 'train_accs' and 'val_accs'; entries are NaN where
            there is no validation set or training stopped early.
        """
        if not isinstance(scheduler, Scheduler):
            raise TypeError(f"FFNN.fit: scheduler must be a Scheduler (Constant, Momentum, Adagrad, AdagradMomentum, "
                            f"RMS_prop or Adam), got {type(scheduler).__name__}")
        if type(scheduler) is Scheduler:
            raise TypeError("FFNN.fit: Scheduler is abstract; pass one of Constant, Momentum, Adagrad, "
                            "AdagradMomentum, RMS_prop or Adam")
        X = _as_matrix("FFNN.fit", "X", X, self.dimensions[0], "features")
        t = self._check_targets("t", t, X.shape[0])
        for name, v in (("batches", batches), ("epochs", epochs)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"FFNN.fit: {name} must be a positive integer, got {v!r}")
        if batches > X.shape[0]:
            raise ValueError(f"FFNN.fit: batches={batches} is more than the {X.shape[0]} training samples")
        lam = _check_number("FFNN.fit", "lam", lam, lo=0.0)
        if (X_val is None) != (t_val is None):
            raise ValueError("FFNN.fit: pass both X_val and t_val, or neither")
        val_set = X_val is not None
        if val_set:
            X_val = _as_matrix("FFNN.fit", "X_val", X_val, self.dimensions[0], "features")
            t_val = self._check_targets("t_val", t_val, X_val.shape[0])

        rng = self._rng()
        perm = rng.permutation(X.shape[0])
        X, t = X[perm], t[perm]
        batch_size = X.shape[0] // batches
        cost_train = self.cost_func(t)
        cost_val = self.cost_func(t_val) if val_set else None
        self.schedulers_weight = [copy.deepcopy(scheduler) for _ in self.weights]
        self.schedulers_bias = [copy.deepcopy(scheduler) for _ in self.weights]
        scores = {k: np.full(epochs, np.nan) for k in
                  (("train_errors", "val_errors", "train_accs", "val_accs") if self.classification
                   else ("train_errors", "val_errors"))}
        if verbose:
            print(f"{type(scheduler).__name__}: Eta={scheduler.eta}, Lambda={lam}")
        print_length = 0
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
            try:
                for e in range(epochs):
                    for i in range(batches):
                        stop = (i + 1) * batch_size if i < batches - 1 else X.shape[0]
                        sl = slice(i * batch_size, stop)
                        self._feedforward(X[sl])
                        self._backpropagate(X[sl], t[sl], lam)
                    for s in self.schedulers_weight + self.schedulers_bias:
                        s.reset()
                    out = self._feedforward(X)
                    if not np.all(np.isfinite(out)):
                        warnings.warn("FFNN.fit: the network output overflowed (NaN or infinite) in epoch "
                                      f"{e + 1}; stopping. Lower the learning rate or the scheduler's momentum, or "
                                      "scale the inputs", RuntimeWarning, stacklevel=2)
                        break
                    scores["train_errors"][e] = float(cost_train(out))
                    if val_set:
                        out_val = self._feedforward(X_val)
                        scores["val_errors"][e] = float(cost_val(out_val))
                    if self.classification:
                        scores["train_accs"][e] = self._accuracy(self._decide(out), t)
                        if val_set:
                            scores["val_accs"][e] = self._accuracy(self._decide(out_val), t_val)
                    if verbose:
                        print_length = self._progress_bar(e / epochs, scores, e)
            except KeyboardInterrupt:  # stop at any point and keep what was learned, as in the notes
                pass
        if verbose:
            sys.stdout.write("\r" + " " * print_length)
            last = int(np.sum(np.isfinite(scores["train_errors"]))) - 1
            self._progress_bar(1, scores, max(last, 0))
            sys.stdout.write("\n")
            sys.stdout.flush()
        return scores

    def _progress_bar(self, progression, scores, e):
        length = 40
        n_eq = int(progression * length)
        bar = "[" + "=" * max(n_eq - 1, 0) + (">" if n_eq > 0 else "") + "-" * (length - n_eq) + "]"
        line = f"  {bar} {progression * 100:8.4f}% "
        for key, name in (("train_errors", "train_error"), ("train_accs", "train_acc"),
                          ("val_errors", "val_error"), ("val_accs", "val_acc")):
            if key in scores and np.isfinite(scores[key][e]):
                line += f"| {name}: {scores[key][e]:.4g} "
        sys.stdout.write("\r" + line)
        sys.stdout.flush()
        return len(line)


# =============================================================================
# The notes' smaller NeuralNetwork (one sigmoid hidden layer, softmax output)
# =============================================================================
class NeuralNetwork:
    """The notes' one-hidden-layer classifier for the digits: sigmoid hidden layer, softmax output.

    Training is plain mini-batch gradient descent on the summed cross-entropy:
    every one of the ``n_inputs // batch_size`` iterations per epoch draws a
    batch of distinct samples at random, and

        delta_o = p - y,   delta_h = delta_o W_o^T o a_h o (1 - a_h),
        W_o -= eta (a_h^T delta_o + lmbd W_o),  b_o -= eta sum delta_o   (same for W_h, b_h with X).

    Weights start as N(0, 1) draws, biases at 0.01.  The softmax subtracts the
    row maximum before exponentiating (the notes' version overflows for large
    eta).  ``seed`` (not in the notes) makes a run reproducible; without it
    NumPy's global generator is used.

    ``Y_data`` is one-hot rows (n, n_categories); integer labels (n,) are
    one-hot encoded for you.
    """

    def __init__(self, X_data: ArrayLike, Y_data: ArrayLike, n_hidden_neurons: int = 50, n_categories: int = 10,
                 epochs: int = 10, batch_size: int = 100, eta: float = 0.1, lmbd: float = 0.0, *,
                 seed: int | None = None) -> None:
        owner = "NeuralNetwork"
        for name, v in (("n_hidden_neurons", n_hidden_neurons), ("n_categories", n_categories), ("epochs", epochs),
                        ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{owner}: {name} must be a positive integer, got {v!r}")
        X = _as_matrix(owner, "X_data", X_data, what="features")
        Y = np.asarray(Y_data)
        if Y.ndim == 1:
            if Y.shape[0] != X.shape[0]:
                raise ValueError(f"{owner}: Y_data has {Y.shape[0]} labels but X_data has {X.shape[0]} samples")
            if Y.dtype.kind == "f" and np.all(np.isfinite(Y)) and np.all(Y == np.round(Y)):
                Y = Y.astype(int)
            if Y.dtype.kind not in "iu" or Y.min() < 0 or Y.max() >= n_categories:
                raise ValueError(f"{owner}: integer labels in Y_data must lie in [0, {n_categories - 1}] for "
                                 f"n_categories={n_categories}, got {Y[:5]!r}...")
            Y = np.eye(n_categories)[Y]
        Y = _as_matrix(owner, "Y_data", Y, n_categories, "categories (one-hot columns)")
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"{owner}: Y_data has {Y.shape[0]} samples but X_data has {X.shape[0]}")
        if batch_size > X.shape[0]:
            raise ValueError(f"{owner}: batch_size={batch_size} is larger than the {X.shape[0]} samples")
        self.eta = _check_number(owner, "eta", eta, lo=0.0, lo_open=True)
        self.lmbd = _check_number(owner, "lmbd", lmbd, lo=0.0)
        self.X_data_full, self.Y_data_full = X, Y
        self.n_inputs, self.n_features = X.shape
        self.n_hidden_neurons, self.n_categories = int(n_hidden_neurons), int(n_categories)
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.iterations = self.n_inputs // self.batch_size
        self.seed = seed
        self._random = np.random if seed is None else np.random.RandomState(seed)
        self.create_biases_and_weights()

    def create_biases_and_weights(self) -> None:
        """W ~ N(0, 1), b = 0.01."""
        r = self._random
        self.hidden_weights = r.randn(self.n_features, self.n_hidden_neurons)
        self.hidden_bias = np.zeros(self.n_hidden_neurons) + 0.01
        self.output_weights = r.randn(self.n_hidden_neurons, self.n_categories)
        self.output_bias = np.zeros(self.n_categories) + 0.01

    def _forward(self, X):
        a_h = np.asarray(cr.sigmoid(X @ self.hidden_weights + self.hidden_bias))
        z_o = a_h @ self.output_weights + self.output_bias
        return a_h, np.asarray(cr.softmax(z_o, axis=1))

    def feed_forward(self) -> None:
        """Feed-forward of the current batch (kept for back-propagation)."""
        self.a_h, self.probabilities = self._forward(self.X_data)

    def feed_forward_out(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities for X."""
        X = _as_matrix("NeuralNetwork.predict", "X", X, self.n_features, "features")
        return self._forward(X)[1]

    def backpropagation(self) -> None:
        """One gradient-descent step on the current batch."""
        error_output = self.probabilities - self.Y_data
        error_hidden = (error_output @ self.output_weights.T) * self.a_h * (1 - self.a_h)
        self.output_weights_gradient = self.a_h.T @ error_output
        self.output_bias_gradient = np.sum(error_output, axis=0)
        self.hidden_weights_gradient = self.X_data.T @ error_hidden
        self.hidden_bias_gradient = np.sum(error_hidden, axis=0)
        if self.lmbd > 0.0:
            self.output_weights_gradient += self.lmbd * self.output_weights
            self.hidden_weights_gradient += self.lmbd * self.hidden_weights
        self.output_weights -= self.eta * self.output_weights_gradient
        self.output_bias -= self.eta * self.output_bias_gradient
        self.hidden_weights -= self.eta * self.hidden_weights_gradient
        self.hidden_bias -= self.eta * self.hidden_bias_gradient

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable category of each sample."""
        return np.argmax(self.feed_forward_out(X), axis=1)

    def predict_probabilities(self, X: ArrayLike) -> np.ndarray:
        """The softmax probabilities (n, n_categories)."""
        return self.feed_forward_out(X)

    def train(self) -> NeuralNetwork:
        """``epochs`` passes of ``iterations`` steps, each on a random batch of distinct samples."""
        indices = np.arange(self.n_inputs)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(self.epochs):
                for _ in range(self.iterations):
                    chosen = self._random.choice(indices, size=self.batch_size, replace=False)
                    self.X_data = self.X_data_full[chosen]
                    self.Y_data = self.Y_data_full[chosen]
                    self.feed_forward()
                    self.backpropagation()
        return self

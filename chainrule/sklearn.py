"""scikit-learn estimators on chainrule: :class:`MLPClassifier` and :class:`MLPRegressor`.

Drop-in replacements for ``sklearn.neural_network.MLPClassifier`` and
``MLPRegressor``: the same constructor parameters with the same meaning, the
same fitted attributes, and they pass scikit-learn's estimator checks, so they
work in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.  The network is
a :class:`chainrule.nn.Sequential` of :class:`~chainrule.nn.Dense` layers,
trained by chainrule's reverse mode and :mod:`chainrule.optim`.

What scikit-learn's MLP lacks and these add:

* ``activation`` may be a list, one entry per hidden layer, and takes
  ``'leaky_relu'`` (slope 0.01) and ``'elu'`` besides ``'identity'``,
  ``'logistic'``, ``'tanh'`` and ``'relu'``;
* ``dropout`` (a rate, or one per hidden layer) after each hidden activation;
* ``batch_norm=True`` puts a :class:`~chainrule.nn.BatchNormalization` between
  each hidden Dense layer and its activation;
* ``solver`` also takes every chainrule optimizer by name ('rmsprop',
  'adagrad', 'adamw', 'momentum', 'constant', 'adagrad_momentum') or an
  unbound :class:`chainrule.optim.Optimizer` instance (copied, never modified);
* ``class_weight`` ('balanced' or a dict) for the classifier.

The training problem is scikit-learn's (``sklearn/neural_network/_multilayer_perceptron.py``).
With z = the output layer's weighted sums, sw_i the sample weights (1 by
default) and S = sum_i sw_i over the batch, the loss is

    C = (1/S) sum_i sw_i l(y_i, z_i) + (alpha / (2 S)) sum_l ||W^l||^2

(the L2 term covers the weights, not the intercepts), where l is the
cross-entropy of softmax(z) (multiclass), of sigmoid(z) summed over the
outputs (binary, multilabel), half the squared error summed over the outputs
(``'squared_error'``) or the Poisson deviance of exp(z) (``'poisson'``).  For
several regression outputs scikit-learn reports the squared error *averaged*
over the outputs while following the gradient of the sum; ``loss_curve_`` here
does the same.  The weights start as scikit-learn's: Glorot-uniform,
U(-b, b) with b = sqrt(factor / (fan_in + fan_out)), factor 2 for a logistic
layer and 6 otherwise, drawn in the same order from the same
``random_state``, and the mini-batches are shuffled with the same generator
calls, so with ``solver='adam'`` or ``'sgd'`` a fit follows scikit-learn's
trajectory up to rounding.

Solvers
    'adam' and 'sgd' are scikit-learn's update rules: Adam with eps added to
    sqrt(v) before the bias correction (:class:`SklearnAdam`), and SGD whose
    velocity holds the learning rate, v <- momentum v - eta g, with Nesterov's
    look-ahead when ``nesterovs_momentum`` (:class:`SklearnSGD`).  'lbfgs'
    runs ``scipy.optimize.minimize(method='L-BFGS-B')`` on the flattened
    parameters with chainrule's gradients.  ``learning_rate`` ('constant',
    'invscaling', 'adaptive') applies to every stochastic solver except
    'adam' (scikit-learn applies it to 'sgd' only and ignores it for 'adam').
"""
from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.special import xlogy

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

import chainrule as cr
from chainrule import nn, ops, optim
from chainrule.optim.optimizers import Momentum as _Momentum, Adam as _Adam
from chainrule.parameter import Parameter

if TYPE_CHECKING:
    from chainrule._typing import ArrayLike

__all__ = ["MLPClassifier", "MLPRegressor", "SklearnAdam", "SklearnSGD", "ACTIVATIONS", "SOLVERS"]

#: hidden-layer activations: scikit-learn's names -> chainrule's
ACTIVATIONS = {"identity": None, "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
               "leaky_relu": "leaky_relu", "elu": "elu"}
_CHAINRULE_SOLVERS = ("rmsprop", "adagrad", "adamw", "momentum", "constant", "adagrad_momentum")
#: the solver names accepted (an unbound chainrule Optimizer instance is accepted too)
SOLVERS = ("adam", "sgd", "lbfgs") + _CHAINRULE_SOLVERS


# =============================================================================
# scikit-learn's two stochastic update rules, as chainrule optimizers
# =============================================================================
class SklearnAdam(_Adam):
    """Adam as scikit-learn's MLP computes it (Kingma & Ba 2015, Algorithm 1 with eps outside the correction)::

        m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
        eta_t = eta sqrt(1 - beta2^t) / (1 - beta1^t)
        theta <- theta - eta_t m / (sqrt(v) + eps)

    :class:`chainrule.optim.Adam` (PyTorch's rule) adds eps to sqrt(v_hat)
    instead, i.e. eps sqrt(1 - beta2^t) here; with eps = 1e-8 the two differ
    only for gradients near zero.
    """

    _eps_on_v_hat = False


class SklearnSGD(_Momentum):
    """SGD with momentum as scikit-learn's MLP computes it (``momentum`` = mu, ``nesterov``)::

        c <- mu c + eta g                       (c = -velocity: the learning rate lives inside it)
        theta <- theta - c                      (classical momentum, the notes' Momentum)
        theta <- theta - (mu c + eta g)         (nesterov=True: Sutskever et al. 2013's look-ahead)

    With mu = 0 both are plain gradient descent.  Unlike PyTorch's form a
    change of eta (invscaling, adaptive) reaches the velocity gradually.
    """

    _hyper_names = ("momentum", "nesterov")

    def __init__(self, params: Iterable[Parameter] | None = None, lr: float = 0.1, momentum: float = 0.9,
                 nesterov: bool = True, **kwargs: float | None) -> None:
        optim.Optimizer.__init__(self, params, lr, {"momentum": momentum, "nesterov": bool(nesterov)}, **kwargs)

    def _validate(self, h):
        mu = h["momentum"]
        if isinstance(mu, bool) or not isinstance(mu, numbers.Real) or not 0 <= mu <= 1:
            raise ValueError(f"SklearnSGD: momentum must lie in [0, 1], got {mu!r}")
        h["momentum"] = float(mu)
        h["nesterov"] = bool(h["nesterov"])
        return h

    def _update(self, g, tmp, slots, lr, t, h):
        change = super()._update(g, tmp, slots, lr, t, h)   # the notes' momentum: c <- mu c + eta g
        if not h["nesterov"]:
            return change
        np.multiply(change, h["momentum"], out=tmp)          # the look-ahead step mu c + eta g
        tmp += g * lr
        return tmp


# =============================================================================
# helpers
# =============================================================================
def _batch_norm(n, dtype):
    """A BatchNormalization over n features whose parameters and statistics have the data's dtype."""
    bn = nn.BatchNormalization(input_dim=n)
    bn.gamma = nn.Parameter(bn.gamma.data.astype(dtype))
    bn.beta = nn.Parameter(bn.beta.data.astype(dtype))
    for name in ("moving_mean", "moving_variance"):
        bn.register_buffer(name, getattr(bn, name).astype(dtype))
    return bn


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, bool)


def _check(name, owner, ok, expected, value):
    if not ok:
        raise ValueError(f"{owner}: the {name!r} parameter must be {expected}, got {value!r}")


# =============================================================================
# the shared estimator
# =============================================================================
class _BaseMLP(BaseEstimator):
    """Shared code of MLPClassifier and MLPRegressor (use those)."""

    _loss_name = None  # set by the subclasses

    # --------------------------------------------------------------- validation
    def _hidden_sizes(self):
        h = self.hidden_layer_sizes
        if _is_int(h):
            h = [h]
        try:
            h = list(h)
        except TypeError:
            raise ValueError(f"{type(self).__name__}: the 'hidden_layer_sizes' parameter must be an int or a "
                             f"sequence of ints, got {self.hidden_layer_sizes!r}") from None
        if not all(_is_int(u) and u > 0 for u in h):
            raise ValueError(f"{type(self).__name__}: hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes!r}")
        return [int(u) for u in h]

    def _per_layer(self, name, value, n_hidden, check, expected):
        owner = type(self).__name__
        if isinstance(value, (list, tuple, np.ndarray)):
            values = list(value)
            if len(values) != n_hidden:
                raise ValueError(f"{owner}: the {name!r} parameter holds {len(values)} entries but there are "
                                 f"{n_hidden} hidden layers (hidden_layer_sizes={self.hidden_layer_sizes!r}); "
                                 f"give one per hidden layer or a single value")
        else:
            values = [value] * n_hidden
        for v in values:
            _check(name, owner, check(v), expected, value)
        return values

    def _validate_hyperparameters(self):
        owner = type(self).__name__
        hidden = self._hidden_sizes()
        acts = self._per_layer("activation", self.activation, len(hidden),
                               lambda a: isinstance(a, str) and a in ACTIVATIONS,
                               f"one of {sorted(ACTIVATIONS)} (or a list of them, one per hidden layer)")
        if not isinstance(self.activation, (list, tuple, np.ndarray)):
            _check("activation", owner, isinstance(self.activation, str) and self.activation in ACTIVATIONS,
                   f"one of {sorted(ACTIVATIONS)} (or a list of them, one per hidden layer)", self.activation)
        drops = self._per_layer("dropout", self.dropout, len(hidden),
                                lambda r: _is_real(r) and 0 <= r < 1, "a rate in [0, 1) (or one per hidden layer)")
        solver = self.solver
        _check("solver", owner, isinstance(solver, optim.Optimizer) or (isinstance(solver, str) and solver in SOLVERS),
               f"one of {list(SOLVERS)} or a chainrule.optim.Optimizer instance", solver)
        _check("alpha", owner, _is_real(self.alpha) and self.alpha >= 0, "a float in [0, inf)", self.alpha)
        _check("batch_size", owner, self.batch_size == "auto" if isinstance(self.batch_size, str)
               else _is_int(self.batch_size) and self.batch_size >= 1, "'auto' or an int >= 1", self.batch_size)
        _check("learning_rate", owner, self.learning_rate in ("constant", "invscaling", "adaptive"),
               "one of 'constant', 'invscaling', 'adaptive'", self.learning_rate)
        _check("learning_rate_init", owner, _is_real(self.learning_rate_init) and self.learning_rate_init > 0,
               "a float in (0, inf)", self.learning_rate_init)
        _check("power_t", owner, _is_real(self.power_t) and self.power_t >= 0, "a float in [0, inf)", self.power_t)
        _check("max_iter", owner, _is_int(self.max_iter) and self.max_iter >= 1, "an int >= 1", self.max_iter)
        _check("max_fun", owner, _is_int(self.max_fun) and self.max_fun >= 1, "an int >= 1", self.max_fun)
        _check("tol", owner, _is_real(self.tol) and self.tol >= 0, "a float in [0, inf)", self.tol)
        _check("momentum", owner, _is_real(self.momentum) and 0 <= self.momentum <= 1, "a float in [0, 1]",
               self.momentum)
        _check("validation_fraction", owner, _is_real(self.validation_fraction) and 0 <= self.validation_fraction < 1,
               "a float in [0, 1)", self.validation_fraction)
        for name in ("beta_1", "beta_2"):
            v = getattr(self, name)
            _check(name, owner, _is_real(v) and 0 <= v < 1, "a float in [0, 1)", v)
        _check("epsilon", owner, _is_real(self.epsilon) and self.epsilon > 0, "a float in (0, inf)", self.epsilon)
        nic = self.n_iter_no_change
        _check("n_iter_no_change", owner, (_is_int(nic) and nic >= 1) or (_is_real(nic) and nic == np.inf),
               "an int >= 1 or numpy.inf", nic)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping", "batch_norm"):
            v = getattr(self, name)
            _check(name, owner, isinstance(v, (bool, np.bool_)), "a bool", v)
        _check("verbose", owner, isinstance(v := self.verbose, (bool, np.bool_)) or _is_int(v), "a bool or an int", v)
        if solver == "lbfgs" and any(r > 0 for r in drops):
            raise ValueError(f"{owner}: dropout needs a stochastic solver; solver='lbfgs' minimizes a fixed "
                             f"function, so use solver='adam' or 'sgd', or dropout=0")
        return hidden, acts, [float(r) for r in drops]

    # ------------------------------------------------------------- the network
    def _build(self, layer_units, acts, drops, dtype):
        """Sequential model with scikit-learn's initial weights (same draws from ``self._random_state``)."""
        rs = self._random_state
        n_layers = len(layer_units) - 1
        init = []
        for i in range(n_layers):  # scikit-learn's draws, in its order: coef then intercept, layer by layer
            fan_in, fan_out = layer_units[i], layer_units[i + 1]
            act = acts[i] if i < len(acts) else (acts[-1] if acts else self._output_init_activation())
            bound = np.sqrt((2.0 if act == "logistic" else 6.0) / (fan_in + fan_out))
            init.append((act, rs.uniform(-bound, bound, (fan_in, fan_out)), rs.uniform(-bound, bound, fan_out)))
        layers, self._dense_layers = [], []
        for i, (act, coef, intercept) in enumerate(init):
            hidden = i < n_layers - 1
            fuse = hidden and not self.batch_norm
            dense = nn.Dense(coef.shape[1], activation=ACTIVATIONS[act] if fuse else None, input_dim=coef.shape[0],
                             kernel_initializer="zeros", dtype=dtype)
            dense.kernel.data[...] = coef
            dense.bias.data[...] = intercept
            layers.append(dense)
            self._dense_layers.append(dense)
            if hidden and self.batch_norm:
                layers.append(_batch_norm(coef.shape[1], dtype))
                layers.append(nn.Activation(ACTIVATIONS[act]) if ACTIVATIONS[act] else nn.Identity())
            if hidden and drops[i] > 0:
                layers.append(nn.Dropout(drops[i], seed=int(rs.randint(np.iinfo(np.int32).max))))
        self._model = nn.Sequential(layers)

    def _output_init_activation(self):
        return self.activation if isinstance(self.activation, str) else "relu"

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices W^l, (fan_in, fan_out) each: the Dense kernels themselves (edits reach the model)."""
        if "_model" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no attribute 'coefs_' before fit")
        return [d.kernel.data for d in self._dense_layers]

    @coefs_.setter
    def coefs_(self, values: Iterable[ArrayLike]) -> None:
        self._set_arrays("coefs_", "kernel", values)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors b^l, one per layer: the Dense biases themselves."""
        if "_model" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no attribute 'intercepts_' before fit")
        return [d.bias.data for d in self._dense_layers]

    @intercepts_.setter
    def intercepts_(self, values: Iterable[ArrayLike]) -> None:
        self._set_arrays("intercepts_", "bias", values)

    def _set_arrays(self, name, attr, values):
        check_is_fitted(self, "n_iter_")
        values = list(values)
        if len(values) != len(self._dense_layers):
            raise ValueError(f"{type(self).__name__}.{name}: expected {len(self._dense_layers)} arrays, got "
                             f"{len(values)}")
        for i, (d, v) in enumerate(zip(self._dense_layers, values)):
            p = getattr(d, attr)
            v = np.asarray(v)
            if v.shape != p.data.shape:
                raise ValueError(f"{type(self).__name__}.{name}[{i}]: expected shape {p.data.shape}, got {v.shape}")
            p.data[...] = v

    @property
    def n_layers_(self) -> int:
        """Number of layers, input and output included (scikit-learn's count)."""
        check_is_fitted(self, "n_iter_")
        return len(self._dense_layers) + 1

    def _raw(self, X):
        """Output-layer weighted sums z for X (inference mode: no dropout, running batch-norm statistics)."""
        model = self._model
        model.eval()
        with cr.no_grad():
            if sp.issparse(X):
                parts = [np.asarray(model(X[s].toarray()).data) for s in gen_batches(X.shape[0], 4096)]
                return np.concatenate(parts) if parts else np.empty((0, self.n_outputs_), dtype=X.dtype)
            out = model(X)
        return np.asarray(out.data if isinstance(out, cr.Tensor) else out)

    def _output(self, z):
        act = self.out_activation_
        if act == "softmax":
            return np.asarray(ops.softmax(z, axis=1))
        if act == "logistic":
            return np.asarray(ops.sigmoid(z))
        if act == "exp":
            return np.exp(z)
        return z

    # ------------------------------------------------------------- the loss
    def _loss_and_grads(self, X, Y, sw):
        """Forward, loss (with the L2 term) and back-propagation on the engine; the reported loss.

        The loss is scikit-learn's (see the module docstring), each data term one loss head of
        :mod:`chainrule.ops.heads` (the canonical link of its output activation, so the head
        starts from delta = sw (g(z) - y) / S), and the L2 term alpha/(2 S) sum ||W||^2 is added
        with :func:`chainrule.ops.add_l2`.  On a plain Dense stack the network, its loss and its
        penalty are one node (:class:`~chainrule.ops.fused.DenseStack`); with batch normalization
        or dropout the same heads and penalty sit on the layers' own nodes.  Gradients are left in
        ``p.grad``.
        """
        for p in self._params:
            p.grad = None
        z = self._model(X)
        act = self.out_activation_
        S = Y.shape[0] if sw is None else float(sw.sum())
        if act == "softmax":
            data = ops.softmax_cross_entropy(z, Y, weights=sw)
        else:
            kind, scale = {"logistic": ("logistic", 1.0), "exp": ("poisson", 1.0),
                           "identity": ("squared", 0.5)}[act]
            data = ops.pointwise_loss(z, Y, weights=sw, kind=kind, scale=scale / S if S else scale)
        value = float(data.data)
        if act == "identity" and Y.ndim == 2 and Y.shape[1] > 1:
            value /= Y.shape[1]           # scikit-learn reports the mean over the outputs
        if act == "exp":                  # the Poisson deviance's constant, for the report only
            c = xlogy(Y, Y) - Y
            value += float(np.sum(c if sw is None else c * sw.reshape(-1, 1)) / S)
        loss = data
        if self.alpha:
            kernels = [d.kernel for d in self._dense_layers]
            loss = ops.add_l2(data, kernels, [self.alpha / (2.0 * S)] * len(kernels))
            value += float(loss.data) - float(data.data)
        loss.backward()
        return value

    # ------------------------------------------------------------- optimizers
    def _make_optimizer(self):
        solver = self.solver
        if isinstance(solver, optim.Optimizer):
            opt = copy.deepcopy(solver)
            if opt.params:
                raise ValueError(f"{type(self).__name__}: the solver optimizer must be unbound (created without "
                                 f"parameters), got {solver!r}")
            return opt
        lr = float(self.learning_rate_init)
        if solver == "adam":
            return SklearnAdam(lr=lr, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        if solver == "sgd":
            return SklearnSGD(lr=lr, momentum=self.momentum, nesterov=self.nesterovs_momentum)
        kwargs = {"momentum": {"momentum": self.momentum},
                  "adagrad_momentum": {"momentum": self.momentum, "eps": self.epsilon},
                  "adagrad": {"eps": self.epsilon}, "rmsprop": {"eps": self.epsilon},
                  "adamw": {"beta1": self.beta_1, "beta2": self.beta_2, "eps": self.epsilon}}.get(solver, {})
        return optim.get(solver, lr=lr, **kwargs)

    def _schedule_applies(self):
        return self.solver != "adam" and self.learning_rate != "constant"

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        opt = state.pop("_optimizer", None)
        if opt is not None:  # the optimizer's flat buffers and views do not survive pickling: keep its state
            state["_optimizer_state"] = opt.state_dict()
        state.pop("_params", None)
        return state

    def __setstate__(self, state):
        opt_state = state.pop("_optimizer_state", None)
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:  # pragma: no cover
            self.__dict__.update(state)
        if "_model" in self.__dict__:
            self._params = self._model.parameters()
        if opt_state is not None:
            opt = self._make_optimizer()
            opt.bind(self._params)
            opt.load_state_dict(opt_state)
            self._optimizer = opt

    # ------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        hidden, acts, drops = self._validate_hyperparameters()
        first_pass = "_model" not in self.__dict__ or (not self.warm_start and not incremental)
        X, Y, y_labels, n_outputs = self._validate_input(X, y, incremental, first_pass, classes)
        n_samples, n_features = X.shape
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        cw = getattr(self, "class_weight", None)
        if cw is not None:
            w = compute_sample_weight(cw, y_labels).astype(X.dtype)
            sw = w if sw is None else sw * w
        layer_units = [n_features] + hidden + [n_outputs]
        self._random_state = check_random_state(self.random_state)
        if not first_pass:
            fitted = [self._dense_layers[0].kernel.shape[0]] + [d.units for d in self._dense_layers]
            if fitted != layer_units:
                raise ValueError(f"{type(self).__name__}: warm_start/partial_fit needs the fitted architecture "
                                 f"{fitted} (inputs, hidden sizes, outputs), but the data and hidden_layer_sizes "
                                 f"ask for {layer_units}")
        if first_pass:
            self._initialize(n_outputs, layer_units, acts, drops, X.dtype)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sw)
        else:
            self._fit_stochastic(X, Y, sw, y_labels, incremental)
        if not all(np.all(np.isfinite(p.data)) for p in self._params):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        return self

    def _initialize(self, n_outputs, layer_units, acts, drops, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_outputs
        self.out_activation_ = self._out_activation()
        self._build(layer_units, acts, drops, dtype)
        self._params = self._model.parameters()
        self.__dict__.pop("_optimizer", None)
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit_lbfgs(self, X, Y, sw):
        params = self._params
        shapes = [p.data.shape for p in params]
        sizes = [p.data.size for p in params]
        X = _dense(X)
        self._model.train()

        def unpack(x):
            off = 0
            for p, shape, size in zip(params, shapes, sizes):
                p.data[...] = x[off:off + size].reshape(shape)
                off += size

        def fun(x):
            unpack(x)
            value = self._loss_and_grads(X, Y, sw)
            g = np.concatenate([(p.grad if p.grad is not None else np.zeros_like(p.data)).ravel() for p in params])
            return value, g.astype(np.float64)

        x0 = np.concatenate([p.data.ravel() for p in params]).astype(np.float64)
        iprint = 1 if self.verbose is True or (not isinstance(self.verbose, bool) and self.verbose >= 1) else -1
        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # scipy's iprint/disp deprecations
            if iprint > 0:
                options["iprint"] = iprint
            res = scipy.optimize.minimize(fun, x0, method="L-BFGS-B", jac=True, options=options)
        if res.status != 0:
            msg = res.message.decode() if isinstance(res.message, bytes) else res.message
            warnings.warn(f"lbfgs failed to converge after {res.nit} iteration(s) (status={res.status}): {msg}. "
                          f"Increase the number of iterations (max_iter) or scale the data.",
                          ConvergenceWarning, stacklevel=4)
        self.n_iter_ = min(int(res.nit), self.max_iter)
        self.loss_ = float(res.fun)
        unpack(res.x)
        for p in params:
            p.grad = None
        norms = [m for m in self._model.layers if isinstance(m, nn.BatchNormalization)]
        if norms:  # running statistics = the full batch's, for the final weights
            saved = [m.momentum for m in norms]
            for m in norms:
                m.momentum = 0.0
            with cr.no_grad():
                self._model(X)
            for m, mom in zip(norms, saved):
                m.momentum = mom

    def _fit_stochastic(self, X, Y, sw, y_labels, incremental):
        owner = type(self).__name__
        if "_optimizer" not in self.__dict__ or not incremental:
            self._optimizer = self._make_optimizer()
            self._optimizer.bind(self._params)
            self._lr0 = self._optimizer.lr
        opt = self._optimizer
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            # as scikit-learn: stratified for a binary target only (its y is then one column)
            stratify = y_labels if is_classifier(self) and self.n_outputs_ == 1 else None
            arrays = [X, Y, y_labels] + ([sw] if sw is not None else [])
            split = train_test_split(*arrays, random_state=self._random_state, test_size=self.validation_fraction,
                                     stratify=stratify)
            X, X_val, Y, _, y_labels, y_val = split[:6]
            if sw is not None:
                sw, sw_val = split[6], split[7]
            else:
                sw_val = None
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of "
                                 "your dataset.")
        else:
            X_val = y_val = sw_val = None
        n_samples = X.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                              UserWarning, stacklevel=4)
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        batches = list(gen_batches(n_samples, batch_size))
        if self.batch_norm:
            if n_samples < 2 or batch_size < 2:
                raise ValueError(f"{owner}: batch_norm=True needs at least 2 samples per batch for the batch "
                                 f"statistics, got n_samples = {n_samples} and batch_size = {batch_size}")
            if len(batches) > 1 and batches[-1].stop - batches[-1].start == 1:  # fold a lone last sample in
                batches[-2:] = [slice(batches[-2].start, n_samples)]
        sparse = sp.issparse(X)
        model = self._model
        try:
            self.n_iter_ = 0  # as scikit-learn: the epochs of this call (loss_curve_ keeps growing)
            for _ in range(self.max_iter):
                if self.shuffle:  # sklearn.utils.shuffle's draw (arange, shuffle in place, index), without its overhead
                    perm = np.arange(n_samples)
                    self._random_state.shuffle(perm)
                    sample_idx = sample_idx[perm]
                model.train()
                accumulated = 0.0
                for batch in batches:
                    idx = sample_idx[batch] if self.shuffle else batch
                    Xb = X[idx]
                    if sparse:
                        Xb = Xb.toarray()
                    loss = self._loss_and_grads(Xb, Y[idx], None if sw is None else sw[idx])
                    opt.step()
                    accumulated += loss * (batch.stop - batch.start)
                self.n_iter_ += 1
                self.loss_ = accumulated / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(early_stopping, X_val, y_val, sw_val)
                if self._schedule_applies() and self.learning_rate == "invscaling":
                    opt.lr = float(self._lr0) / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    verb = "improve" if early_stopping else "improve"
                    msg = (f"{what} did not {verb} more than tol={self.tol:f} for {self.n_iter_no_change} "
                           f"consecutive epochs.")
                    if self._schedule_applies() and self.learning_rate == "adaptive" and opt.lr > 1e-6:
                        opt.lr = opt.lr / 5.0
                        if self.verbose:
                            print(msg + " Setting learning rate to %f" % opt.lr)
                        self._no_improvement_count = 0
                    else:
                        if self.verbose:
                            print(msg + (" Learning rate too small." if self._schedule_applies() and
                                         self.learning_rate == "adaptive" else "") + " Stopping.")
                        break
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                                  f"optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)
        except KeyboardInterrupt:
            warnings.warn(f"{owner}: training interrupted by user.", stacklevel=4)
        for p in self._params:
            p.grad = None
        if early_stopping:
            self._model.load_state_dict(self._best_state)
            del self._best_state

    def _update_no_improvement_count(self, early_stopping, X_val, y_val, sw_val):
        if early_stopping:
            score = self._score_internal(X_val, y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_ or not hasattr(self, "_best_state"):
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                self._best_state = self._model.state_dict()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _score_internal(self, X, y, sample_weight):
        y_pred = self._predict_internal(X)
        if np.issubdtype(np.asarray(y_pred).dtype, np.floating) and not np.all(np.isfinite(y_pred)):
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    def _check_stochastic(self):
        if self.solver == "lbfgs":
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. {self.solver} is not "
                                 f"stochastic.")
        return True

    def _check_X(self, X):
        check_is_fitted(self, "n_iter_")
        return _validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float64, np.float32))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# =============================================================================
# the classifier
# =============================================================================
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier (scikit-learn's ``MLPClassifier``, on chainrule).

    Parameters are scikit-learn's (see its documentation for each), plus
    ``dropout``, ``batch_norm`` and ``class_weight``; ``activation`` may be a
    list and ``solver`` any name in :data:`SOLVERS` or a chainrule optimizer.
    See the module docstring for the loss, the initialisation and the solvers.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
    activation : str or list of str, default='relu'
        'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'elu'.
    solver : str or chainrule.optim.Optimizer, default='adam'
    alpha : float, default=1e-4
        L2 strength; the penalty alpha/2 ||W||^2 is divided by the batch's weight sum.
    batch_size, learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change, max_fun
        As in scikit-learn.
    dropout : float or list of float, default=0.0
        Dropout rate after each hidden layer (training only).
    batch_norm : bool, default=False
        Batch normalization before each hidden activation.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies each sample's weight by its class's weight.

    Attributes
    ----------
    classes_, loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, t_, coefs_,
    intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_, n_outputs_, out_activation_
        As in scikit-learn; ``coefs_`` and ``intercepts_`` are the Dense layers' arrays.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=1).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.score(X, y) > 0.9
    ((2, 2), True)
    """

    _score_function = staticmethod(accuracy_score)

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,), activation: str | Sequence[str] = "relu", *,
                 solver: str | optim.Optimizer = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto",
                 learning_rate: Literal["constant", "invscaling", "adaptive"] = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float | Sequence[float] = 0.0, batch_norm: bool = False,
                 class_weight: Mapping[Any, float] | Literal["balanced"] | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.class_weight = class_weight

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset, classes):
        X, y = _validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                              dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if classes is not None:  # partial_fit's first call
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            found = unique_labels(y)
            if self.warm_start:
                if set(found) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {found}")
            elif len(np.setdiff1d(found, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {found}.")
        self._y_type = self._label_binarizer.y_type_
        if self._y_type == "multiclass":  # integer labels for the fused softmax cross-entropy
            return X, np.searchsorted(self.classes_, y).astype(np.int64), y, len(self.classes_)
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        return X, Y, y, Y.shape[1]

    def fit(self, X: ArrayLike | sp.spmatrix, y: ArrayLike, sample_weight: ArrayLike | None = None) -> MLPClassifier:
        """Fit the model to data matrix X and target(s) y (class labels); returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_stochastic())
    def partial_fit(self, X: ArrayLike | sp.spmatrix, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> MLPClassifier:
        """One epoch over (X, y); ``classes`` (all the labels) is required on the first call."""
        if "classes_" not in self.__dict__:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        elif classes is not None:
            if not np.array_equal(self.classes_, unique_labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on the last call to partial_fit, "
                                 f"was: {self.classes_!r}")
            classes = None
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def _predict_internal(self, X):
        y_pred = self._output(self._raw(X))
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict(self, X: ArrayLike | sp.spmatrix) -> np.ndarray:
        """Predicted class labels."""
        return self._predict_internal(self._check_X(X))

    def predict_proba(self, X: ArrayLike | sp.spmatrix) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``."""
        y_pred = self._output(self._raw(self._check_X(X)))
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X: ArrayLike | sp.spmatrix) -> np.ndarray:
        """``log(predict_proba(X))`` (-inf where a probability underflows to 0, as in scikit-learn)."""
        y_prob = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


# =============================================================================
# the regressor
# =============================================================================
class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor (scikit-learn's ``MLPRegressor``, on chainrule).

    Parameters and attributes as :class:`MLPClassifier` (without ``classes_``
    and ``class_weight``), plus ``loss`` ('squared_error' or 'poisson', the
    latter with an exp output).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> y = y / y.std()                     # targets of unit scale: L-BFGS converges in 87 iterations
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    _score_function = staticmethod(r2_score)

    def __init__(self, loss: Literal["squared_error", "poisson"] = "squared_error",
                 hidden_layer_sizes: int | Sequence[int] = (100,), activation: str | Sequence[str] = "relu", *,
                 solver: str | optim.Optimizer = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto",
                 learning_rate: Literal["constant", "invscaling", "adaptive"] = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float | Sequence[float] = 0.0, batch_norm: bool = False) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_hyperparameters(self):
        _check("loss", type(self).__name__, self.loss in ("squared_error", "poisson"),
               "'squared_error' or 'poisson'", self.loss)
        return super()._validate_hyperparameters()

    def _validate_input(self, X, y, incremental, reset, classes):
        X, y = _validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                              dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("MLPRegressor: loss='poisson' needs non-negative targets y (counts or rates), got "
                             f"a minimum of {np.min(y)!r}")
        Y = np.asarray(y, dtype=X.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        return X, Y, y, Y.shape[1]

    def fit(self, X: ArrayLike | sp.spmatrix, y: ArrayLike, sample_weight: ArrayLike | None = None) -> MLPRegressor:
        """Fit the model to data matrix X and target(s) y; returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_stochastic())
    def partial_fit(self, X: ArrayLike | sp.spmatrix, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> MLPRegressor:
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict_internal(self, X):
        y_pred = self._output(self._raw(X))
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def predict(self, X: ArrayLike | sp.spmatrix) -> np.ndarray:
        """Predicted values, (n,) for one output, (n, n_outputs) otherwise."""
        return self._predict_internal(self._check_X(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

"""chainrule.sklearn: MLPClassifier / MLPRegressor against scikit-learn's own checks and its MLP."""
import pickle
import warnings

import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.datasets import load_digits, make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline

import chainrule as cr
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule import optim
from chainrule.sklearn import MLPClassifier, MLPRegressor, SklearnAdam, SklearnSGD

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ----------------------------------------------------------------------------- scikit-learn's estimator checks
def _expected_failed_checks(estimator):
    """Checks that cannot pass for a configuration, and why (xfail, not skip)."""
    if estimator.batch_norm or np.any(np.asarray(estimator.dropout) > 0):
        # Fitting with sample weight w equals fitting with the sample repeated w times only if the weight
        # enters wherever the sample does.  Dropout draws random masks, different for the repeated rows, and
        # batch normalization's batch mean and variance count a repeated row twice but a weighted row once
        # (weights scale the loss, not the statistics).  The plain network (no dropout, no batch_norm) passes.
        return {"check_sample_weight_equivalence_on_dense_data": "dropout masks / batch statistics ignore weights",
                "check_sample_weight_equivalence_on_sparse_data": "dropout masks / batch statistics ignore weights"}
    return {}


@parametrize_with_checks(
    [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100),
     MLPClassifier(solver="lbfgs", max_iter=100),
     MLPRegressor(hidden_layer_sizes=(16,), activation=["elu"], batch_norm=True, dropout=0.1, solver="adamw",
                  learning_rate_init=0.01, max_iter=100)],
    expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------------------------- same trajectory as scikit-learn
@pytest.fixture(scope="module")
def data():
    Xc, yc = make_classification(n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0)
    Xb, yb = make_classification(n_samples=300, n_features=8, random_state=1)
    Xm, ym = make_multilabel_classification(n_samples=300, n_features=8, n_classes=3, random_state=0)
    Xr, yr = make_regression(n_samples=300, n_features=8, n_targets=2, random_state=0)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, 300)
    return {"multiclass": (Xc, yc), "binary": (Xb, yb), "multilabel": (Xm, ym), "regression": (Xr, yr / 100),
            "regression1": (Xr, yr[:, 0] / 100), "counts": (Xr, np.abs(yr[:, 0]) / 100), "sw": sw}


SAME_AS_SKLEARN = [
    ("multiclass", dict(hidden_layer_sizes=(10, 7), max_iter=15), False),
    ("binary", dict(hidden_layer_sizes=(10,), activation="logistic", max_iter=15), False),
    ("multilabel", dict(hidden_layer_sizes=(10,), activation="tanh", max_iter=15), False),
    ("multiclass", dict(hidden_layer_sizes=(10,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                        max_iter=15), False),
    ("multiclass", dict(hidden_layer_sizes=(10,), solver="sgd", nesterovs_momentum=False, learning_rate="adaptive",
                        n_iter_no_change=2, tol=0.1, max_iter=30), False),
    ("multiclass", dict(hidden_layer_sizes=(10,), early_stopping=True, n_iter_no_change=3, max_iter=30), False),
    ("binary", dict(hidden_layer_sizes=(10,), early_stopping=True, n_iter_no_change=3, max_iter=30), False),
    ("multiclass", dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=50), False),
    ("multiclass", dict(hidden_layer_sizes=(10,), batch_size=64, alpha=0.1, max_iter=15), True),
    ("multiclass", dict(hidden_layer_sizes=(10,), shuffle=False, batch_size=50, max_iter=10), False),
    ("regression", dict(hidden_layer_sizes=(10,), max_iter=15), False),
    ("regression1", dict(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=0.01, max_iter=15), True),
    ("counts", dict(loss="poisson", hidden_layer_sizes=(10,), max_iter=15), False),
    ("regression", dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=50), False),
]


@pytest.mark.parametrize("task, params, weighted", SAME_AS_SKLEARN)
def test_fit_follows_sklearn_trajectory(data, task, params, weighted):
    """Same initial weights, same batches, same update rules: the same numbers as scikit-learn's MLP."""
    X, y = data[task]
    sw = data["sw"] if weighted else None
    Sk, Cr = (SkMLPRegressor, MLPRegressor) if task.startswith(("regression", "counts")) else \
        (SkMLPClassifier, MLPClassifier)
    ref = Sk(random_state=0, **params).fit(X, y, sample_weight=sw)
    ours = Cr(random_state=0, **params).fit(X, y, sample_weight=sw)
    assert ours.n_iter_ == ref.n_iter_
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    if params.get("solver") == "lbfgs":
        assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-9)
    else:
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
        assert ours.best_loss_ == ref.best_loss_ or ours.best_loss_ == pytest.approx(ref.best_loss_, rel=1e-10)
    if getattr(ref, "validation_scores_", None) is not None:
        np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
    if hasattr(ref, "classes_"):
        np.testing.assert_array_equal(ours.classes_, ref.classes_)
        np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-7, atol=1e-9)


def test_digits_accuracy_matches_sklearn():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.2, random_state=0)
    params = dict(hidden_layer_sizes=(64,), max_iter=40, random_state=0)
    ours = MLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test)
    ref = SkMLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test)
    assert ours > 0.95 and abs(ours - ref) <= 0.01


# ------------------------------------------------------------- the engine's step vs the formulas written out
def _reference_loss_and_grads(est, X, Y, sw):
    """scikit-learn's loss and gradients with the network run layer by layer (each layer's own
    primitives) and every term composed from chainrule functions: the oracle of the fused node."""
    S = float(sw.sum())
    params = [cr.tensor(p.data, requires_grad=True, dtype="float64") for p in est._params]
    a = cr.tensor(X)
    layers = est._dense_layers
    for i, d in enumerate(layers):
        z = a @ params[2 * i] + params[2 * i + 1]
        a = d.activation(z) if i < len(layers) - 1 else z
    w = sw.reshape(-1, 1)
    act = est.out_activation_
    if act == "softmax":
        per = cr.logsumexp(z, axis=1, keepdims=True) - cr.sum(z * np.eye(z.shape[1])[Y], axis=1, keepdims=True)
    elif act == "logistic":
        per = cr.softplus(z) - z * Y
    elif act == "exp":
        per = cr.exp(z) - z * Y
    else:
        per = (z - Y) ** 2 * 0.5
    data = cr.sum(per * w) / S
    penalty = est.alpha / (2 * S) * sum(cr.sum(params[2 * i] ** 2) for i in range(len(layers)))
    (data + penalty).backward()
    # the value scikit-learn reports: the squared error averaged over several outputs, the Poisson
    # deviance with its constant
    reported = float(data.data) / (Y.shape[1] if act == "identity" else 1)
    if act == "exp":
        reported += float(np.sum((xlogy(Y, Y) - Y) * w) / S)
    return reported + float(penalty.data), [p.grad for p in params]


@pytest.mark.parametrize("task, activation", [("multiclass", "relu"), ("binary", "logistic"),
                                              ("multilabel", "tanh"), ("regression", "leaky_relu"),
                                              ("counts", "elu"), ("regression1", "identity")])
def test_fused_step_matches_the_formulas(data, task, activation):
    X, y = data[task]
    Est = MLPRegressor if task.startswith(("regression", "counts")) else MLPClassifier
    kw = {"loss": "poisson"} if task == "counts" else {}
    est = Est(hidden_layer_sizes=(6, 5), activation=activation, alpha=0.3, random_state=0, max_iter=3, **kw)
    est.fit(X, y)
    Xv, Y, _, _ = est._validate_input(X[:40], y[:40], True, False, None)
    sw = data["sw"][:40]
    reported = est._loss_and_grads(Xv, Y, sw)
    fused_grads = [p.grad.copy() for p in est._params]
    z = est._model(Xv)
    node = cr.ops.add_l2(cr.ops.softmax_cross_entropy(z, Y, weights=sw) if est.out_activation_ == "softmax"
                         else cr.ops.pointwise_loss(z, Y, weights=sw), [d.kernel for d in est._dense_layers],
                         [0.1] * len(est._dense_layers))
    assert type(node._ctx).__name__ == "DenseStack"  # network, loss and penalty: one node of the engine
    value, grads = _reference_loss_and_grads(est, Xv, Y, sw)
    assert reported == pytest.approx(value, rel=1e-12)
    for g_fused, g in zip(fused_grads, grads):
        np.testing.assert_allclose(g_fused, g, rtol=1e-9, atol=1e-12)


def test_sklearn_update_rules_by_hand():
    from chainrule.nn import Parameter
    p = Parameter(np.array([1.0]))
    opt = SklearnAdam([p], lr=0.1)
    p.grad = np.array([2.0])
    opt.step()
    # t = 1: m = 0.2, v = 0.004, eta_t = 0.1 sqrt(0.001) / 0.1;  theta = 1 - eta_t m / (sqrt(v) + 1e-8)
    lr_t = 0.1 * np.sqrt(0.001) / 0.1
    assert p.data[0] == pytest.approx(1 - lr_t * 0.2 / (np.sqrt(0.004) + 1e-8), rel=1e-14)
    q = Parameter(np.array([1.0]))
    sgd = SklearnSGD([q], lr=0.1, momentum=0.9, nesterov=True)
    for _ in range(2):
        q.grad = np.array([1.0])
        sgd.step()
    # c1 = 0.1, step1 = 0.9 * 0.1 + 0.1 = 0.19;  c2 = 0.19, step2 = 0.9 * 0.19 + 0.1 = 0.271
    assert q.data[0] == pytest.approx(1 - 0.19 - 0.271, rel=1e-14)


# ----------------------------------------------------------------------------- scikit-learn tooling
def test_pipeline_gridsearch_cross_val_score():
    X, y = make_classification(n_samples=200, n_features=6, class_sep=2.0, random_state=0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01,
                                                         max_iter=50, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0], "mlpclassifier__activation": ["relu", "elu"]},
                        cv=2).fit(X, y)
    assert grid.best_score_ > 0.8 and set(grid.best_params_) == {"mlpclassifier__alpha", "mlpclassifier__activation"}
    assert grid.predict(X).shape == (200,)


# ----------------------------------------------------------------------------- what scikit-learn's MLP lacks
@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(n_samples=240, n_features=6, n_informative=4, n_classes=3, class_sep=2.0,
                               random_state=3)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("params", [
    dict(activation=["leaky_relu", "elu"]),
    dict(activation="elu", dropout=[0.2, 0.0]),
    dict(batch_norm=True, activation="tanh"),
    dict(solver="rmsprop"), dict(solver="adagrad", learning_rate_init=0.05), dict(solver="adamw"),
    dict(solver="momentum", learning_rate_init=0.05), dict(solver="constant", learning_rate_init=0.1),
    dict(solver="adagrad_momentum", learning_rate_init=0.01),
    dict(solver="lbfgs", batch_norm=True),
])
def test_extensions_learn(blobs, params):
    X, y = blobs
    kw = dict(learning_rate_init=0.01)
    kw.update(params)
    clf = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=60, random_state=0, **kw).fit(X, y)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert len(clf.coefs_) == 3 and clf.coefs_[0].shape == (6, 16) and clf.intercepts_[2].shape == (3,)


def test_per_layer_activations_and_dropout_reach_the_model():
    clf = MLPClassifier(hidden_layer_sizes=(4, 3), activation=["tanh", "leaky_relu"], dropout=[0.0, 0.5],
                        batch_norm=True, max_iter=2, random_state=0).fit(np.random.rand(20, 2), [0, 1] * 10)
    names = [type(layer).__name__ for layer in clf._model.layers]
    assert names == ["Dense", "BatchNormalization", "Activation", "Dense", "BatchNormalization", "Activation",
                     "Dropout", "Dense"]
    assert clf.n_layers_ == 4 and clf.out_activation_ == "logistic"


def test_optimizer_instance_is_copied_not_bound():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    opt = optim.RMSprop(lr=0.01, rho=0.8)
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver=opt, max_iter=5, random_state=0).fit(X, y)
    assert opt.params == [] and clf._optimizer is not opt and clf._optimizer.defaults["rho"] == 0.8
    bound = optim.Adam(MLPClassifier(max_iter=1).fit(X, y)._params)
    with pytest.raises(ValueError, match="solver optimizer must be unbound"):
        MLPClassifier(solver=bound, max_iter=1).fit(X, y)


def test_class_weight_and_sample_weight():
    X, y = make_classification(n_samples=300, n_features=5, weights=[0.9, 0.1], random_state=0, flip_y=0.05,
                               class_sep=0.5)
    params = dict(hidden_layer_sizes=(8,), max_iter=80, random_state=0)
    plain = MLPClassifier(**params).fit(X, y)
    balanced = MLPClassifier(class_weight="balanced", **params).fit(X, y)
    recall = lambda m: np.mean(m.predict(X[y == 1]) == 1)  # noqa: E731
    assert recall(balanced) > recall(plain)
    # class_weight is sample_weight by class: the same fit
    w = np.where(y == 1, 4.0, 1.0)
    a = MLPClassifier(class_weight={0: 1.0, 1: 4.0}, **params).fit(X, y)
    b = MLPClassifier(**params).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0])
    # a zero weight removes a sample from the loss (full batch, no shuffling: exact)
    keep = np.arange(300) % 3 != 0
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0, batch_size=300, shuffle=False)
    c = MLPRegressor(**params).fit(X, y.astype(float), sample_weight=keep.astype(float))
    d = MLPRegressor(**dict(params, batch_size=200)).fit(X[keep], y[keep].astype(float))
    np.testing.assert_allclose(c.coefs_[0], d.coefs_[0], rtol=1e-10)


def test_partial_fit_warm_start_and_pickle():
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    a = MLPClassifier(hidden_layer_sizes=(6,), random_state=0)
    for _ in range(3):
        a.partial_fit(X, y, classes=[0, 1])
    b = pickle.loads(pickle.dumps(a))            # optimizer state survives pickling
    a.partial_fit(X, y)
    b.partial_fit(X, y)
    assert len(a.loss_curve_) == len(b.loss_curve_) == 4 and a.n_iter_ == 1 and a.t_ == 400
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="classes not in"):
        a.partial_fit(X, y + 1)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    w = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    first = w.coefs_[0].copy()
    w.fit(X, y)
    assert w.n_iter_ == 5 and len(w.loss_curve_) == 10 and not np.allclose(first, w.coefs_[0])


def test_verbose_and_convergence_warning(capsys):
    X, y = make_classification(n_samples=50, n_features=4, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, verbose=True, random_state=0).fit(X, y)
    assert "Iteration 3, loss = " in capsys.readouterr().out
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=500, tol=1e-2, n_iter_no_change=2,
                            random_state=0).fit(X, y)
    assert clf.n_iter_ < 500 and len(clf.loss_curve_) == clf.n_iter_


def test_coefs_can_be_set():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    reg.coefs_ = [np.zeros((3, 4)), np.zeros((4, 1))]
    reg.intercepts_ = [np.zeros(4), np.array([2.5])]
    np.testing.assert_allclose(reg.predict(X), 2.5)
    with pytest.raises(ValueError, match=r"coefs_\[0\]: expected shape \(3, 4\)"):
        reg.coefs_ = [np.zeros((2, 4)), np.zeros((4, 1))]


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("params, match", [
    (dict(activation="softmax"), r"'activation' parameter must be one of"),
    (dict(hidden_layer_sizes=(4, 3), activation=["relu"]), r"'activation' parameter holds 1 entries but there are 2"),
    (dict(solver="newton"), r"'solver' parameter must be one of"),
    (dict(alpha=-1.0), r"'alpha' parameter must be a float in \[0, inf\)"),
    (dict(dropout=1.0), r"'dropout' parameter must be a rate in \[0, 1\)"),
    (dict(hidden_layer_sizes=(4, 0)), r"hidden_layer_sizes must be > 0"),
    (dict(batch_size=0), r"'batch_size' parameter must be 'auto' or an int >= 1"),
    (dict(solver="lbfgs", dropout=0.2), r"dropout needs a stochastic solver"),
    (dict(batch_norm=True, batch_size=1), r"batch_norm=True needs at least 2 samples per batch"),
])
def test_bad_hyperparameters(params, match):
    X, y = make_classification(n_samples=20, n_features=4, random_state=0)
    with pytest.raises(ValueError, match=match):
        MLPClassifier(max_iter=2, **params).fit(X, y)


def test_bad_data():
    X, y = make_classification(n_samples=20, n_features=4, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        clf.predict(X[:, :3])
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier().fit(X_nan, y)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clf.predict(np.where(X_nan != X_nan, np.inf, X))
    with pytest.raises(ValueError, match="Input y contains NaN"):
        MLPRegressor().fit(X, np.where(y == 0, np.nan, 1.0))
    with pytest.raises(ValueError, match="Unknown label type"):          # continuous labels for a classifier
        MLPClassifier().fit(X, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="loss='poisson' needs non-negative targets"):
        MLPRegressor(loss="poisson").fit(X, y - 1.0)
    with pytest.raises(ValueError, match="Found input variables with inconsistent numbers of samples"):
        MLPRegressor().fit(X, y[:10])

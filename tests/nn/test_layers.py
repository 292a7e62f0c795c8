"""Layers: output shapes, parameter counts, whole-layer gradchecks in float64, modes, errors."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops import linear, softmax_cross_entropy


def _check_params(model, X, loss_of_output, **kw):
    """gradcheck of loss(model(X)) w.r.t. every parameter, by swapping parameter arrays in."""
    params = model.parameters()

    # Build a functional version: run the model with parameters replaced by the given Tensors.
    def functional(*ts):
        originals = {}
        for (mname, m) in model.named_modules():
            for pname, p in list(m._parameters.items()):
                originals[(id(m), pname)] = (m, p)
        mapping = {id(p): t for p, t in zip(params, ts)}
        for (mid, pname), (m, p) in originals.items():
            m._parameters[pname] = mapping[id(p)]
            object.__setattr__(m, pname, mapping[id(p)])
        try:
            out = loss_of_output(model(X))
            reg = model.regularization_loss()
            return out if reg is None else out + reg
        finally:
            for (mid, pname), (m, p) in originals.items():
                m._parameters[pname] = p
                object.__setattr__(m, pname, p)

    return cr.gradcheck(functional, *[p.data for p in params], **kw)


def test_dense_shapes_counts_and_gradcheck(f64):
    layer = nn.Dense(3, activation="tanh", input_dim=4, kernel_regularizer=nn.l2(0.1))
    X = np.random.default_rng(1).standard_normal((5, 4))
    assert layer(X).shape == (5, 3)
    assert layer.count_params() == 4 * 3 + 3
    assert _check_params(layer, X, lambda y: cr.sum(y ** 2))
    assert cr.gradcheck(lambda x: layer(x), X)  # and w.r.t. the input


@pytest.mark.parametrize("act", ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax",
                                 "selu", "softsign", "relu6", "hard_sigmoid", "silu", "gelu", "mish", "hard_silu",
                                 "exponential"])
def test_every_activation_in_a_network_passes_gradcheck(f64, act):
    X = np.random.default_rng(2).standard_normal((6, 3)) + 0.05  # keep relu-type kinks away from 0 in practice
    model = nn.Sequential([nn.Dense(4, activation=act, input_dim=3), nn.Dense(2)])
    assert _check_params(model, X, lambda y: cr.sum(cr.tanh(y)), atol=1e-5)


def test_whole_network_with_every_layer_type_and_loss(f64):
    from chainrule import losses
    X = np.random.default_rng(3).standard_normal((8, 5))
    y = np.array([0, 1, 2, 1, 0, 2, 2, 1])
    model = nn.Sequential([nn.Dense(6, activation="tanh", input_dim=5, kernel_regularizer=nn.l1_l2(0.01, 0.02)),
                           nn.BatchNormalization(), nn.Dropout(0.3, seed=0), nn.Dense(3, activation="softmax")])
    model.eval()  # dropout off so every evaluation is the same function
    for name, target in [("sparse_categorical_crossentropy", y), ("categorical_crossentropy", np.eye(3)[y]),
                         ("mse", np.eye(3)[y])]:
        fn = losses.get(name)
        assert _check_params(model, X, lambda out: fn(target, out), atol=1e-5)
    model.train()  # batch statistics: the gradient flows through mean and variance too
    model[2].rate = 0.0
    assert _check_params(model, X, lambda out: losses.get("sparse_categorical_crossentropy")(y, out), atol=1e-5)


def test_lazy_build_and_not_built_error():
    model = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(2)])
    with pytest.raises(ValueError, match="has no weights yet.*input_dim=.*call the model once"):
        model.parameters()
    model(np.ones((3, 7), dtype=np.float32))
    assert [p.shape for p in model.parameters()] == [(7, 4), (4,), (4, 2), (2,)]
    assert model.count_params() == 7 * 4 + 4 + 4 * 2 + 2


def test_dense_input_errors():
    layer = nn.Dense(2, input_dim=3)
    with pytest.raises(ValueError, match=r"expected inputs with 3 features, got shape \(4, 5\)"):
        layer(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, features\), got shape \(5,\)"):
        nn.Dense(2)(np.ones(5))
    with pytest.raises(ValueError, match="units must be a positive integer, got 0"):
        nn.Dense(0)
    with pytest.raises(ValueError, match="unknown activation 'relu7'; expected one of"):
        nn.Dense(2, activation="relu7")


def test_dropout_is_inverted_and_off_in_eval():
    cr.manual_seed(0)
    d = nn.Dropout(0.5)
    x = np.ones((200, 50), dtype=np.float32)
    y = d(cr.tensor(x)).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}  # kept units scaled by 1 / (1 - rate)
    assert abs(y.mean() - 1.0) < 0.05  # expectation preserved
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\), got 1.0"):
        nn.Dropout(1.0)


def test_batchnorm_train_and_eval(f64):
    bn = nn.BatchNormalization(momentum=0.9, epsilon=1e-3)
    X = np.random.default_rng(4).normal(5.0, 3.0, size=(64, 3))
    out = bn(cr.tensor(X)).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), np.sqrt(X.var(axis=0) / (X.var(axis=0) + 1e-3)), rtol=1e-10)
    np.testing.assert_allclose(bn.moving_mean, 0.1 * X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, 0.9 + 0.1 * X.var(axis=0), rtol=1e-12)
    bn.eval()
    np.testing.assert_allclose(bn(X).numpy(), (X - bn.moving_mean) / np.sqrt(bn.moving_variance + 1e-3))
    assert [n for n, _ in bn.named_buffers()] == ["moving_mean", "moving_variance"]
    bn.train()
    with pytest.raises(ValueError, match="at least 2 samples in training"):
        bn(np.ones((1, 3)))


def test_flatten_and_summary():
    model = nn.Sequential([nn.Flatten(), nn.Dense(10, activation="softmax")])
    assert model(np.ones((2, 4, 4), dtype=np.float32)).shape == (2, 10)
    m2 = nn.Sequential([nn.Dense(100, activation="sigmoid", input_dim=784), nn.Dense(10, activation="softmax")])
    text = m2.summary(print_fn=None)
    assert "(None, 100)" in text and "78,500" in text and "Total params: 79,510" in text
    assert "Trainable params: 79,510" in text and "Non-trainable params: 0" in text
    # Keras' counts with BatchNormalization (moving mean and variance are non-trainable weights)
    # and a frozen layer: total = trainable + non-trainable
    m3 = nn.Sequential([nn.Dense(8, input_dim=4), nn.BatchNormalization(), nn.Dense(2)])
    for p in m3[2].parameters():
        p.requires_grad = False
    text = m3.summary(print_fn=None)
    bn_row = [line for line in text.splitlines() if "BatchNormalization" in line][0]
    assert bn_row.split()[-1] == "32"  # gamma, beta, moving mean, moving variance
    assert "Total params: 90" in text and "Trainable params: 56" in text and "Non-trainable params: 34" in text


def test_module_subclass_registers_and_state_dict_round_trip():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Dense(3, input_dim=2)
            self.scale = nn.Parameter(np.ones(3, dtype=np.float32))

        def forward(self, x):
            return self.a(x) * self.scale

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "a.kernel", "a.bias"]  # own first, as PyTorch
    sd = net.state_dict()
    other = Net()
    kernel = other.a.kernel.data
    other.load_state_dict(sd)
    assert other.a.kernel.data is kernel  # copied in place: optimizers stay bound
    np.testing.assert_array_equal(other(np.ones((1, 2))).numpy(), net(np.ones((1, 2))).numpy())
    with pytest.raises(ValueError, match=r"a.kernel has shape \(2, 3\) in the model but \(4, 3\)"):
        other.load_state_dict({**sd, "a.kernel": np.ones((4, 3))})
    with pytest.raises(ValueError, match="missing"):
        other.load_state_dict({"a.kernel": sd["a.kernel"]})


def test_fused_linear_matches_composition(f64):
    rng = np.random.default_rng(5)
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    assert cr.gradcheck(linear, x, W, b)
    for k in range(3):
        fused = cr.grad(lambda *a: cr.sum(cr.tanh(linear(*a))), k)(x, W, b)
        composed = cr.grad(lambda x, W, b: cr.sum(cr.tanh(x @ W + b)), k)(x, W, b)
        np.testing.assert_allclose(fused, composed, rtol=1e-12)
        fused_h = cr.hessian(lambda *a: cr.sum(cr.tanh(linear(*a))), k)(x, W, b)
        composed_h = cr.hessian(lambda x, W, b: cr.sum(cr.tanh(x @ W + b)), k)(x, W, b)
        np.testing.assert_allclose(fused_h, composed_h, rtol=1e-10, atol=1e-12)
    assert cr.gradgradcheck(lambda *a: cr.tanh(linear(*a)), x, W, b)
    # a batch with more axes, (2, 4, 3) @ (3, 2): the weight gradient sums over both
    x3 = rng.standard_normal((2, 4, 3))
    assert cr.gradcheck(linear, x3, W, b)
    # lists are accepted as inputs; a weight that is not a matrix is named in the error
    np.testing.assert_allclose(linear(x.tolist(), W, b), x @ W + b, rtol=1e-14)
    with pytest.raises(ValueError, match=r"linear: input has 3 features per sample \(shape \(4, 3\)\) but the "
                                         r"weights expect 3 \(weight shape \(3,\); a matrix"):
        linear(x, W[:, 0])
    with pytest.raises(ValueError, match=r"input has 3 features .* weights expect 2"):
        linear(x, W.T)


def test_fused_softmax_cross_entropy_matches_composition(f64):
    rng = np.random.default_rng(6)
    z = rng.standard_normal((5, 4)) * 3
    t = np.array([0, 3, 1, 1, 2])
    composed = lambda z: -cr.mean(cr.sum(cr.log_softmax(z) * np.eye(4)[t], axis=1))  # noqa: E731
    np.testing.assert_allclose(softmax_cross_entropy(z, t), composed(z), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(lambda z: softmax_cross_entropy(z, t))(z), cr.grad(composed)(z), rtol=1e-10)
    assert cr.gradcheck(lambda z: softmax_cross_entropy(z, np.eye(4)[t] * 0.5 + 0.125), z)
    # second derivatives (the fused op rebuilds softmax(z) from the graph): the composition is the oracle
    np.testing.assert_allclose(cr.hessian(lambda z: softmax_cross_entropy(z, t))(z), cr.hessian(composed)(z),
                               rtol=1e-9, atol=1e-12)
    soft, w = np.eye(4)[t] * 0.5 + 0.125, np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    composed_w = lambda z: -cr.sum(cr.sum(cr.log_softmax(z) * soft, axis=1) * w) / w.sum()  # noqa: E731
    np.testing.assert_allclose(cr.hessian(lambda z: softmax_cross_entropy(z, soft, weights=w))(z),
                               cr.hessian(composed_w)(z), rtol=1e-9, atol=1e-12)
    assert cr.gradgradcheck(lambda z: softmax_cross_entropy(z, soft, weights=w), z)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\] for 4 output classes, got labels from 0 to 4"):
        softmax_cross_entropy(z, np.array([0, 4, 1, 1, 2]))
    with pytest.raises(ValueError, match=r"targets of shape \(5, 3\) do not fit outputs of shape \(5, 4\)"):
        softmax_cross_entropy(z, np.ones((5, 3)))


def test_initializers():
    from chainrule.nn import init
    rng = np.random.default_rng(0)
    W = init.get("glorot_uniform")((300, 200), rng=rng)
    lim = np.sqrt(6 / 500)
    assert W.dtype == np.float32 and np.abs(W).max() <= lim and np.abs(W).max() > 0.95 * lim
    assert abs(init.get("he_normal")((1000, 100), rng=rng).std() - np.sqrt(2 / 1000)) < 0.002
    assert np.all(init.get("constant")((3,)) == np.float32(0.01))
    U = init.get("uniform")((1000,), rng=rng)
    assert U.min() >= -0.7 and U.max() <= 0.7
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        init.get("glorot")


def test_fused_cross_entropy_reusing_the_softmax_node_matches(f64):
    rng = np.random.default_rng(7)
    z = cr.tensor(rng.standard_normal((6, 4)) * 5, requires_grad=True)
    t = np.array([0, 1, 2, 3, 3, 1])
    p = cr.softmax(z)
    reuse = softmax_cross_entropy(z, t, softmax=p._ctx)
    fresh = softmax_cross_entropy(z, t)
    np.testing.assert_allclose(reuse.numpy(), fresh.numpy(), rtol=1e-14)
    reuse.backward()
    g_reuse, z.grad = z.grad, None
    fresh.backward()
    np.testing.assert_allclose(g_reuse, z.grad, rtol=1e-14)
    np.testing.assert_allclose(p.numpy().sum(axis=1), 1.0)  # the softmax output was not modified in place


def test_fused_cross_entropy_infinite_logit_gives_an_infinite_loss_not_nan(f64):
    # z - max(z) is NaN in a row whose max is +inf; such rows are shifted by 0 instead, so the
    # loss is the limit +inf (a wrong class has the infinite logit), as it was before the check
    # moved after the loss
    z = np.array([[np.inf, 0.0, 1.0], [0.0, 1.0, 2.0]])
    with np.errstate(invalid="ignore"):
        loss = float(softmax_cross_entropy(z, np.array([1, 2])))
    assert loss == np.inf
    finite = float(softmax_cross_entropy(z[1:], np.array([2])))
    np.testing.assert_allclose(finite, np.log(np.exp([0.0, 1.0, 2.0]).sum()) - 2.0, rtol=1e-14)


def test_fused_cross_entropy_gradient_of_a_leaf_is_its_own_array(f64):
    # backward() from the loss hands delta on without multiplying by the seed 1; a leaf's .grad
    # must still be a writeable array of its own, and a second backward must not see edits to it
    rng = np.random.default_rng(8)
    z = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = np.array([0, 2, 1, 1])
    loss = softmax_cross_entropy(z, t)
    loss.backward()
    first = z.grad.copy()
    expected = np.exp(z.numpy()) / np.exp(z.numpy()).sum(axis=1, keepdims=True)
    expected[np.arange(4), t] -= 1
    np.testing.assert_allclose(first, expected / 4, rtol=1e-12)
    assert z.grad.flags.writeable
    z.grad += 100.0
    z.grad = None
    loss.backward()  # the graph is kept: the same delta again
    np.testing.assert_array_equal(z.grad, first)
    z.grad = None
    (loss * 3.0).backward()  # a seed other than 1 still multiplies
    np.testing.assert_allclose(z.grad, 3 * first, rtol=1e-14)

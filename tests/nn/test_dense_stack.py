"""DenseStack: a Sequential's leading dense layers as one graph node.

The oracle is the same model run layer by layer (each layer's own forward: Linear, then the
activation), which must give the same values and gradients bit for bit.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.ops.fused import DenseStack

# with the table's other activations whose derivative comes from the output (so the stack fuses them)
ACTS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu", "softsign", "relu6", "hard_sigmoid")


def layer_by_layer(model, x):
    for layer in model:
        x = layer(x)
    return x


def nodes(y):
    """Names of the primitives in y's graph, output first."""
    names, stack, seen = [], [y], set()
    while stack:
        t = stack.pop()
        if t._ctx is None or id(t) in seen:
            continue
        seen.add(id(t))
        names.append(type(t._ctx).__name__)
        stack.extend(p for p in t._ctx.parents if p is not None)
    return names


def grads_of(model, run, x, t):
    for p in model.parameters():
        p.grad = None
    x = cr.tensor(x, requires_grad=True)
    out = run(model, x)
    loss = nn.CrossEntropyLoss()(out, t) if out.shape[1] > 1 else cr.sum(out * out)
    loss.backward()
    return out.numpy().copy(), [p.grad.copy() for p in model.parameters()], x.grad.copy(), nodes(loss)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTS)
def test_sequential_equals_its_layers_bit_for_bit(act, dtype):
    cr.set_default_dtype(dtype)
    try:
        cr.manual_seed(1)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((7, 5)).astype(dtype)
        t = rng.integers(0, 3, 7)
        models = [
            nn.Sequential([nn.Dense(6, activation=act, input_dim=5), nn.Dense(4, activation=act),
                           nn.Dense(3)]),
            nn.Sequential([nn.Linear(5, 6), nn.Activation(act), nn.Linear(6, 3, bias=False)]),
            nn.Sequential([nn.Dense(6, activation=act, input_dim=5, use_bias=False), nn.Dense(1, activation=act)]),
        ]
        for model in models:
            fused = grads_of(model, lambda m, x: m(x), x, t)
            plain = grads_of(model, layer_by_layer, x, t)
            assert "DenseStack" in fused[3] and "DenseStack" not in plain[3]
            np.testing.assert_array_equal(fused[0], plain[0])
            for a, b in zip(fused[1], plain[1]):
                assert a.dtype == np.dtype(dtype)
                np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(fused[2], plain[2])
    finally:
        cr.set_default_dtype("float32")


@pytest.mark.parametrize("act", ACTS)
def test_dense_stack_gradcheck_and_forward_mode(f64, act):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    W1, b1, W2, b2 = rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal((5, 2)), \
        rng.standard_normal(2)
    f = lambda x, W1, b1, W2, b2: DenseStack.apply(x, W1, b1, W2, b2, acts=(act, act))  # noqa: E731
    assert cr.gradcheck(f, x, W1, b1, W2, b2)  # reverse mode and each JVP against finite differences
    # forward mode against reverse mode: J v = (v^T J^T)^T through a random cotangent
    v = [rng.standard_normal(a.shape) for a in (x, W1, b1, W2, b2)]
    _, ydot = cr.jvp(f, (x, W1, b1, W2, b2), v)
    u = rng.standard_normal(ydot.shape)
    rev = [cr.grad(lambda *a: cr.sum(f(*a) * u), k)(x, W1, b1, W2, b2) for k in range(5)]
    np.testing.assert_allclose(np.sum(ydot * u), sum(np.sum(r * vk) for r, vk in zip(rev, v)), rtol=1e-10)
    with pytest.raises(ValueError, match=r"dense_stack: .*expected a batch of shape \(samples, features\), "
                                         r"got shape \(2, 4, 3\)"):
        f(np.ones((2, 4, 3)), W1, b1, W2, b2)
    with pytest.raises(ValueError, match="expected a weight and a bias .* for each of the 2 layers, got 3"):
        DenseStack.apply(x, W1, b1, W2, acts=(act, act))
    # second derivatives go through the per-layer primitives (create_graph)
    assert cr.gradgradcheck(f, x, W1, b1, W2, b2)
    composed = lambda x, W1, b1, W2, b2: cr.tanh(  # noqa: E731
        nn.Activation(act)(cr.ops.linear(nn.Activation(act)(cr.ops.linear(x, W1, b1)), W2, b2)))
    for k in (0, 1, 4):
        np.testing.assert_allclose(cr.hessian(lambda *a: cr.sum(cr.tanh(f(*a))), k)(x, W1, b1, W2, b2),
                                   cr.hessian(lambda *a: cr.sum(composed(*a)), k)(x, W1, b1, W2, b2),
                                   rtol=1e-9, atol=1e-12)


def test_training_with_an_optimizer_is_bit_identical_to_layer_by_layer():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 8)).astype(np.float32)
    y = rng.integers(0, 4, 40)
    weights = []
    for run in (lambda m, x: m(x), layer_by_layer):
        cr.manual_seed(3)
        model = nn.Sequential([nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)])
        opt = optim.Adam(model.parameters(), lr=1e-2)
        loss_fn = nn.CrossEntropyLoss()
        for i in range(0, 40, 10):
            opt.zero_grad()
            loss = loss_fn(run(model, X[i:i + 10]), y[i:i + 10])
            loss.backward()
            # the gradients went straight into the optimizer's buffer
            assert all(p.grad is p._grad_out for p in model.parameters())
            opt.step()
        weights.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_frozen_first_layer_and_an_input_without_gradient(f64):
    model = nn.Sequential([nn.Dense(4, activation="tanh", input_dim=3), nn.Dense(2)])
    first = model[0]
    for p in first.parameters():
        p.requires_grad = False
    x = np.random.default_rng(4).standard_normal((5, 3))
    out = model(x)
    cr.sum(out * out).backward()
    assert first.kernel.grad is None and first.bias.grad is None
    g = [p.grad.copy() for p in model[1].parameters()]
    for p in model[1].parameters():
        p.grad = None
    cr.sum(layer_by_layer(model, x) ** 2).backward()
    for a, p in zip(g, model[1].parameters()):
        np.testing.assert_array_equal(a, p.grad)
    with cr.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), out.numpy())


def test_what_the_stack_leaves_to_the_layers(f64):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4))
    # a softmax output runs as its own node, so the loss still finds the logits behind it
    model = nn.Sequential([nn.Dense(5, activation="relu", input_dim=4), nn.Dense(3, activation="softmax")])
    p = model(x)
    assert type(p._ctx).__name__ == "Softmax" and type(p._ctx.parents[0]._ctx) is DenseStack
    np.testing.assert_array_equal(p.numpy(), layer_by_layer(model, x).numpy())
    # layers it does not cover end it: Dropout, a Dense subclass with its own forward, 3-D input
    class Doubled(nn.Dense):
        def forward(self, x):
            return super().forward(x) * 2.0

    for model in (nn.Sequential([nn.Dense(5, input_dim=4), nn.Dropout(0.5), nn.Dense(2)]),
                  nn.Sequential([Doubled(5, input_dim=4), nn.Dense(2)])):
        model.eval()
        assert nodes(model(x)).count("DenseStack") <= 1
        np.testing.assert_array_equal(model(x).numpy(), layer_by_layer(model, x).numpy())
    seq = nn.Sequential([nn.Dense(3, input_dim=4)])
    assert "DenseStack" not in nodes(seq(cr.tensor(rng.standard_normal((2, 6, 4)), requires_grad=True)))
    # an input of another dtype keeps NumPy's promotion (the layers' own path)
    y32 = seq(x.astype(np.float32))
    assert y32.dtype == np.float64 and "DenseStack" not in nodes(y32)
    # the wrong number of features gets the layer's own error
    with pytest.raises(ValueError, match="expected inputs with 4 features"):
        seq(np.ones((2, 5)))


def test_an_unbuilt_model_builds_on_its_first_call(f64):
    model = nn.Sequential([nn.Dense(4, activation="sigmoid"), nn.Dense(2)])
    x = np.random.default_rng(6).standard_normal((3, 5))
    first = model(x)  # builds the layers one by one
    second = model(x)
    assert type(second._ctx) is DenseStack
    np.testing.assert_array_equal(first.numpy(), second.numpy())


def test_gradients_never_share_the_backward_scratch_buffers(f64):
    # the hidden layers' adjoints live in per-thread buffers reused by the next backward pass;
    # nothing handed out (input gradient, .grad of parameters without optimizer storage) may
    # be one of them, so a second pass of the same shapes leaves the first one's results alone
    rng = np.random.default_rng(7)
    models = [nn.Sequential([nn.Dense(5, activation=act, input_dim=4), nn.Dense(5, activation=act),
                             nn.Dense(2, activation=act)]) for act in ("tanh", "sigmoid")]
    results = []
    for model in models:
        x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        cr.sum(model(x) ** 2).backward()
        results.append((x.grad, [p.grad for p in model.parameters()],
                        x.grad.copy(), [p.grad.copy() for p in model.parameters()]))
    for x_grad, p_grads, x_copy, p_copies in results:
        np.testing.assert_array_equal(x_grad, x_copy)
        for g, c in zip(p_grads, p_copies):
            np.testing.assert_array_equal(g, c)
    # and the values are those of the layers' own path
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    cr.sum(models[0](x) ** 2).backward()
    fused = x.grad.copy()
    x.grad = None
    cr.sum(layer_by_layer(models[0], x) ** 2).backward()
    np.testing.assert_array_equal(fused, x.grad)


def test_large_batches_leave_no_scratch_buffers_behind():
    from chainrule.ops import fused
    model = nn.Sequential([nn.Linear(8, 300), nn.Tanh(), nn.Linear(300, 2)])
    x = np.random.default_rng(9).standard_normal((1000, 8)).astype(np.float32)  # 1000 x 300 floats: 1.2 MB
    fused._SCRATCH.pool = {}
    cr.sum(model(x) ** 2).backward()
    assert fused._SCRATCH.pool == {}
    g = [p.grad.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    cr.sum(layer_by_layer(model, x) ** 2).backward()
    for a, p in zip(g, model.parameters()):
        np.testing.assert_array_equal(a, p.grad)
    cr.sum(model(x[:100]) ** 2).backward()  # a mini-batch's are kept: f' times the adjoint, the adjoint
    assert sorted(k[0] for k in fused._SCRATCH.pool) == [(100, 300), (100, 300)]

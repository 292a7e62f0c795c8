"""Convolutional layers (chainrule/nn/conv.py, chainrule/nn/conv_torch.py): shapes and parameter counts as
Keras gives them, whole-layer gradchecks in float64, PyTorch and Keras as oracles with weights copied
across (including the Flatten-order difference), batch normalization over the channel axis, saving and
loading every layer, errors, and the notes' digits CNN trained through model.fit."""
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule import torch as crtorch
from chainrule.io import load_model, save_model


def set_dense(layer, weights):
    """Copy [kernel, bias] into a Dense/Linear layer."""
    for p, w in zip((layer.kernel, layer.bias), weights):
        np.copyto(p.data, w)


def gradcheck_layer(layer, x, **kw):
    """gradcheck of the layer's output with respect to its input and every parameter."""
    params = list(layer._parameters.items())

    def f(x, *ts):
        saved = dict(params)
        try:
            for (name, _), t in zip(params, ts):
                layer._parameters[name] = t
            return layer(x)
        finally:
            for name, p in saved.items():
                layer._parameters[name] = p
    return cr.gradcheck(f, x, *[p.data for _, p in params], **kw) and \
        cr.gradgradcheck(f, x, *[p.data for _, p in params], **kw)


# ---------------------------------------------------------------- shapes, counts, summary
def cifar_layers(lib):
    """The notes' CIFAR-10 network, in chainrule or in Keras (the same names)."""
    return [lib.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)), lib.MaxPooling2D((2, 2)),
            lib.Conv2D(64, (3, 3), activation="relu"), lib.MaxPooling2D((2, 2)),
            lib.Conv2D(64, (3, 3), activation="relu"), lib.Flatten(), lib.Dense(64, activation="relu"),
            lib.Dense(10)]


def test_shapes_and_parameter_counts_of_the_notes_cifar_network():
    model = nn.Sequential(cifar_layers(nn))
    assert [layer.output_shape for layer in model] == [
        (None, 30, 30, 32), (None, 15, 15, 32), (None, 13, 13, 64), (None, 6, 6, 64), (None, 4, 4, 64),
        (None, 1024), (None, 64), (None, 10)]
    assert [layer.count_params() for layer in model] == [896, 0, 18496, 0, 36928, 0, 65600, 650]
    text = model.summary(print_fn=None)
    assert "(None, 30, 30, 32)" in text and "Total params: 122,570" in text


def test_summary_and_conv2d_equal_keras():
    """Keras 3 (importing it costs seconds, so one test): the same output shapes and parameter counts for the
    notes' CIFAR-10 network, and the same convolutions with its weights copied in."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    ours = nn.Sequential(cifar_layers(nn) + [nn.BatchNormalization()])
    layers = cifar_layers(keras.layers)
    theirs = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(32, (3, 3), activation="relu")]
                              + layers[1:] + [keras.layers.BatchNormalization()])
    for a, b in zip(ours, theirs.layers):
        assert a.output_shape == tuple(b.output.shape)
        assert a.count_params() + sum(np.size(v) for _, v in a.named_buffers()) == b.count_params()
    text = ours.summary(print_fn=None)
    assert f"Total params: {theirs.count_params():,}" in text and "(None, 13, 13, 64)" in text

    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 11, 10, 4)).astype(np.float32)
    for kw in ({"padding": "same", "strides": 2}, {"dilation_rate": 2, "groups": 2, "activation": "tanh"}):
        keras_conv = keras.layers.Conv2D(6, 3, **kw)
        expected = np.asarray(keras.ops.convert_to_numpy(keras_conv(x)))
        conv = nn.Conv2D(6, 3, **kw)
        conv.set_weights([np.asarray(keras.ops.convert_to_numpy(w)) for w in keras_conv.weights], layout="keras")
        np.testing.assert_allclose(conv(x).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw,out", [
    ({"padding": "same"}, (None, 28, 28, 8)), ({"padding": "same", "strides": 2}, (None, 14, 14, 8)),
    ({"strides": 2}, (None, 13, 13, 8)), ({"dilation_rate": 2}, (None, 24, 24, 8)),
    ({"padding": ((1, 0), (2, 2))}, (None, 27, 30, 8)), ({"padding": 1}, (None, 28, 28, 8))])
def test_conv2d_output_shapes(kw, out):
    layer = nn.Conv2D(8, 3, input_shape=(28, 28, 1), **kw)
    assert layer.output_shape == out
    assert layer(np.zeros((2, 28, 28, 1), np.float32)).shape == (2,) + out[1:]


def test_other_layers_output_shapes():
    x = np.zeros((2, 9, 8, 3), np.float32)
    for layer, out in [(nn.MaxPooling2D(2), (2, 4, 4, 3)), (nn.MaxPooling2D(2, padding="same"), (2, 5, 4, 3)),
                       (nn.AveragePooling2D(3, strides=2), (2, 4, 3, 3)), (nn.GlobalAveragePooling2D(), (2, 3)),
                       (nn.GlobalMaxPooling2D(keepdims=True), (2, 1, 1, 3)), (nn.ZeroPadding2D((1, 2)), (2, 11, 12, 3)),
                       (nn.SpatialDropout2D(0.5), (2, 9, 8, 3)), (nn.Reshape((-1, 3)), (2, 72, 3))]:
        layer.build((None, 9, 8, 3))
        assert layer.output_shape == (None,) + out[1:], layer
        assert layer(x).shape == out, layer
    seq = np.zeros((2, 10, 4), np.float32)
    for layer, out in [(nn.Conv1D(5, 3, padding="causal"), (2, 10, 5)), (nn.Conv1D(5, 3, strides=2), (2, 4, 5)),
                       (nn.MaxPooling1D(2), (2, 5, 4)), (nn.AveragePooling1D(3, padding="same"), (2, 4, 4)),
                       (nn.GlobalAveragePooling1D(), (2, 4)), (nn.GlobalMaxPooling1D(), (2, 4)),
                       (nn.ZeroPadding1D((1, 3)), (2, 14, 4)), (nn.SpatialDropout1D(0.2), (2, 10, 4))]:
        assert layer(seq).shape == out, layer


# ------------------------------------------------------------------------- gradchecks
@pytest.mark.parametrize("kw", [{"padding": "same", "strides": 2, "activation": "tanh"},
                                {"dilation_rate": 2, "groups": 2, "activation": "sigmoid"},
                                {"padding": ((0, 1), (1, 0)), "data_format": "channels_first"}])
def test_conv2d_layer_gradcheck(f64, kw):
    layer = nn.Conv2D(4, (2, 3), kernel_regularizer=nn.l2(0.1), **kw)
    shape = (2, 2, 6, 5) if kw.get("data_format") == "channels_first" else (2, 6, 5, 2)
    x = np.random.default_rng(0).standard_normal(shape)
    layer(x)
    assert gradcheck_layer(layer, x)


def test_conv1d_and_pooling_layers_gradcheck(f64):
    rng = np.random.default_rng(1)
    seq, img = rng.standard_normal((2, 7, 2)), rng.standard_normal((2, 5, 6, 2))
    assert gradcheck_layer(nn.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="elu"), seq)
    for layer in (nn.MaxPooling2D(2, padding="same"), nn.AveragePooling2D(3, 2, padding="same"),
                  nn.GlobalAveragePooling2D(), nn.GlobalMaxPooling2D(), nn.ZeroPadding2D(((1, 0), (0, 2))),
                  nn.Reshape((6, 5, 2))):
        assert gradcheck_layer(layer, img), layer
    for layer in (nn.MaxPooling1D(3, 2), nn.AveragePooling1D(2), nn.GlobalMaxPooling1D()):
        assert gradcheck_layer(layer, seq), layer


def test_spatial_dropout_drops_whole_channels_and_is_off_in_eval():
    cr.manual_seed(0)
    layer = nn.SpatialDropout2D(0.5)
    y = layer(cr.tensor(np.ones((8, 4, 4, 16), np.float32))).numpy()
    per_map = y.transpose(0, 3, 1, 2).reshape(8, 16, 16)
    assert np.all((per_map == 0).all(axis=2) | (per_map == 2).all(axis=2))   # a feature map is dropped whole
    assert 0.3 < (per_map[:, :, 0] == 0).mean() < 0.7
    layer.eval()
    x = np.ones((2, 3, 3, 4))
    assert layer(x) is x


def test_sequential_fuses_conv_and_pool_with_the_values_and_gradients_of_the_layers_one_by_one(f64):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 9, 9, 2))
    model = nn.Sequential([nn.Conv2D(4, 3, activation="relu", input_shape=(9, 9, 2)), nn.MaxPooling2D(2),
                           nn.Conv2D(3, 2), nn.Activation("tanh"), nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(2)])

    def run(fused):
        model.zero_grad()
        out = model(x) if fused else _one_by_one(model, x)
        (out * np.arange(out.size).reshape(out.shape)).sum().backward()
        return [out.numpy()] + [p.grad.copy() for p in model.parameters()]
    fused, unfused = run(True), run(False)
    for a, b in zip(fused, unfused):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # the fusion happened: two Conv nodes with a pooling in them, and no separate pooling node
    out = model(cr.tensor(x))
    kinds = _node_names(out)
    assert kinds.count("conv") == 2 and "max_pool" not in kinds and "tanh" not in kinds
    # an activation that cannot run inside the node (softmax over the channels) keeps its place
    other = nn.Sequential([nn.Conv2D(3, 2, activation="softmax"), nn.MaxPooling2D(2), nn.Conv2D(2, 3),
                           nn.LeakyReLU(0.2), nn.MaxPooling2D(2)])
    np.testing.assert_allclose(other(x).numpy(), _one_by_one(other, x).numpy(), rtol=1e-12)
    assert "softmax" in _node_names(other(cr.tensor(x)))


def _one_by_one(model, x):
    for layer in model:
        x = layer(x)
    return x


def _node_names(t):
    seen, stack, names = set(), [t], []
    while stack:
        node = stack.pop()
        if id(node) in seen or node._ctx is None:
            continue
        seen.add(id(node))
        names.append(node._ctx.name or type(node._ctx).__name__.lower())
        stack.extend(p for p in node._ctx.parents if p is not None)
    return names


# ------------------------------------------------------------------------------ oracles
def _torch_cnn(torch, pool="max"):
    torch.manual_seed(0)
    tnn = torch.nn
    return tnn.Sequential(tnn.Conv2d(2, 6, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Conv2d(6, 4, 3, stride=2, padding=1, groups=2), tnn.Tanh(),
                          tnn.AvgPool2d(2, 1, padding=1, count_include_pad=pool == "incl"),
                          tnn.Flatten(), tnn.Linear(4 * 3 * 3, 5)).double()


@pytest.mark.parametrize("pool", ["incl", "excl"])
def test_pytorch_named_model_equals_torch_in_values_gradients_and_sgd_steps(f64, pool):
    torch = pytest.importorskip("torch")
    tmodel = _torch_cnn(torch, pool)
    tt = crtorch.nn
    ours = nn.Sequential(tt.Conv2d(2, 6, 3, padding=1), nn.ReLU(), tt.MaxPool2d(2),
                         tt.Conv2d(6, 4, 3, stride=2, padding=1, groups=2), nn.Tanh(),
                         tt.AvgPool2d(2, 1, padding=1, count_include_pad=pool == "incl"), tt.Flatten(),
                         nn.Linear(4 * 3 * 3, 5))
    for i in (0, 3):
        ours[i].set_weights([tmodel[i].weight, tmodel[i].bias])
    set_dense(ours[7], nn.from_torch_linear(tmodel[7].weight, tmodel[7].bias))
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5, 2, 8, 8)), rng.integers(0, 5, 5)
    opt, topt = cr.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(tmodel.parameters(), lr=0.1)
    loss_fn, tloss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for step in range(3):   # the PyTorch loop, on both: the same losses, step after step
        opt.zero_grad()
        topt.zero_grad()
        loss = loss_fn(ours(x), y)
        tloss = tloss_fn(tmodel(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
        if step == 0:
            np.testing.assert_allclose(ours[3].kernel.grad, tmodel[3].weight.grad.numpy().transpose(2, 3, 1, 0),
                                       rtol=1e-9, atol=1e-12)
        opt.step()
        topt.step()


def test_keras_layout_model_from_torch_weights_with_the_flatten_order_permuted(f64):
    """PyTorch flattens (C, H, W), channels-last models (H, W, C): the first Dense kernel's rows are permuted."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    tnn = torch.nn
    tmodel = tnn.Sequential(tnn.Conv2d(1, 3, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                            tnn.Linear(3 * 3 * 3, 4)).double()
    ours = nn.Sequential([nn.Conv2D(3, 3, activation="relu", input_shape=(8, 8, 1)), nn.MaxPooling2D(2),
                          nn.Flatten(), nn.Dense(4)])
    ours[0].set_weights(nn.from_torch_conv2d(tmodel[0].weight, tmodel[0].bias))
    x = np.random.default_rng(4).standard_normal((6, 8, 8, 1))
    expected = tmodel(torch.tensor(x.transpose(0, 3, 1, 2))).detach().numpy()
    set_dense(ours[3], nn.from_torch_linear(tmodel[4].weight, tmodel[4].bias))        # rows in PyTorch's order
    assert not np.allclose(ours(x).numpy(), expected)
    set_dense(ours[3], nn.from_torch_linear(tmodel[4].weight, tmodel[4].bias, flattened_from=(3, 3, 3)))
    np.testing.assert_allclose(ours(x).numpy(), expected, rtol=1e-12)


def test_set_weights_takes_both_layouts_and_asks_when_ambiguous():
    layer = nn.Conv2D(4, (3, 2), input_shape=(6, 6, 2))
    w = np.random.default_rng(6).standard_normal((4, 2, 3, 2))    # PyTorch's (out, in, kh, kw)
    layer.set_weights([w, np.ones(4)])
    np.testing.assert_array_equal(layer.kernel.numpy(), w.transpose(2, 3, 1, 0).astype(np.float32))
    np.testing.assert_array_equal(layer.get_weights("torch")[0], w.astype(np.float32))
    square = nn.Conv2D(3, 3, input_shape=(5, 5, 3))
    with pytest.raises(ValueError, match=r"fits both Keras' .* and PyTorch's .* layouts; pass layout='keras'"):
        square.set_weights([np.ones((3, 3, 3, 3)), np.zeros(3)])
    square.set_weights([np.ones((3, 3, 3, 3)), np.zeros(3)], layout="torch")
    with pytest.raises(ValueError, match=r"expected a kernel of shape \(3, 2, 2, 4\) .* or \(4, 2, 3, 2\)"):
        layer.set_weights([np.ones((3, 3, 2, 4)), np.ones(4)])
    lazy = nn.Conv2D(4, (3, 2))
    lazy.set_weights([w, np.zeros(4)])            # builds from the kernel
    assert lazy.kernel.shape == (3, 2, 2, 4)


# ---------------------------------------------------------------- batch normalization, channels last
@pytest.mark.parametrize("shape", [(6, 5, 3), (4, 3, 5, 2)])
def test_batch_normalization_over_the_channel_axis_equals_torch(f64, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.normal(2.0, 3.0, size=shape)
    bn = nn.BatchNormalization(momentum=0.9, epsilon=1e-5)
    assert gradcheck_layer(bn, x[:, :3] if len(shape) == 4 else x, atol=1e-5)
    bn = nn.BatchNormalization(momentum=0.9, epsilon=1e-5)
    u = rng.standard_normal(shape)
    xt = cr.tensor(x, requires_grad=True)
    y = bn(xt)
    (y * u).sum().backward()
    axes = (0, len(shape) - 1) + tuple(range(1, len(shape) - 1))        # channels-last -> channels-first
    back = tuple(np.argsort(axes))
    tbn = (torch.nn.BatchNorm1d if len(shape) == 3 else torch.nn.BatchNorm2d)(shape[-1], eps=1e-5,
                                                                              momentum=0.1).double()
    tx = torch.tensor(x.transpose(axes), requires_grad=True)
    ty = tbn(tx)
    (ty * torch.tensor(u.transpose(axes))).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy().transpose(back), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy().transpose(back), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(bn.gamma.grad, tbn.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn.beta.grad, tbn.bias.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn.moving_mean, tbn.running_mean.numpy(), rtol=1e-10)
    # Keras' convention: the moving variance takes the biased batch variance (PyTorch's the unbiased one)
    n = x.size // shape[-1]
    np.testing.assert_allclose(bn.moving_variance, 0.9 + 0.1 * x.reshape(-1, shape[-1]).var(axis=0), rtol=1e-10)
    np.testing.assert_allclose((bn.moving_variance - 0.9) * n / (n - 1), tbn.running_var.numpy() - 0.9, rtol=1e-10)


def test_batchnorm2d_equals_torch_including_the_running_statistics(f64):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    ours, theirs = crtorch.nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3).double()
    for _ in range(2):
        x = rng.normal(1.0, 2.0, size=(4, 3, 5, 2))
        np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.moving_mean, theirs.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.moving_variance, theirs.running_var.numpy(), rtol=1e-10)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_adaptive_avg_pool_equals_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 5))
    for size in (1, (3, 2), (4, None), 5):
        expected = torch.nn.AdaptiveAvgPool2d(size)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(np.asarray(crtorch.nn.AdaptiveAvgPool2d(size)(x)), expected, rtol=1e-12)
    assert cr.gradcheck(lambda t: crtorch.nn.AdaptiveAvgPool2d((3, 2))(t), x[:1, :1])


def test_max_pool2d_ceil_mode_and_padding_equal_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(10).standard_normal((2, 3, 7, 6))
    for kw in ({"kernel_size": 3, "stride": 2, "ceil_mode": True}, {"kernel_size": 2, "padding": 1},
               {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}):
        expected = torch.nn.MaxPool2d(**kw)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(np.asarray(crtorch.nn.MaxPool2d(**kw)(x)), expected, rtol=1e-12)
        expected = torch.nn.AvgPool2d(**kw)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(np.asarray(crtorch.nn.AvgPool2d(**kw)(x)), expected, rtol=1e-12)


# ------------------------------------------------------------------------ saving and loading
def _every_layer_model(lazy):
    shape = None if lazy else (10, 9, 2)
    return nn.Sequential([nn.ZeroPadding2D(1, input_shape=shape), nn.Conv2D(4, 3, activation="relu", padding="same"),
                          nn.MaxPooling2D(2), nn.SpatialDropout2D(0.2, seed=1),
                          nn.Conv2D(4, 3, strides=2, groups=2, dilation_rate=1, kernel_regularizer=nn.l2(0.01)),
                          nn.BatchNormalization(), nn.AveragePooling2D(2, padding="same"),
                          nn.Reshape((-1, 4)), nn.Conv1D(3, 2, padding="causal"), nn.MaxPooling1D(1),
                          nn.AveragePooling1D(1), nn.ZeroPadding1D(1), nn.SpatialDropout1D(0.1),
                          nn.GlobalMaxPooling1D(), nn.Dense(3, activation="softmax")])


@pytest.mark.parametrize("lazy", [False, True])
def test_every_layer_saves_and_loads(tmp_path, lazy):
    cr.manual_seed(0)
    model = _every_layer_model(lazy)
    x = np.random.default_rng(11).standard_normal((4, 10, 9, 2)).astype(np.float32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 2, 1]), epochs=1, batch_size=2, verbose=0, seed=0)
    again = load_model(save_model(model, tmp_path / "cnn"))
    model.eval()
    again.eval()
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
    assert [layer.output_shape for layer in again] == [layer.output_shape for layer in _every_layer_model(False)]
    if not lazy:
        assert again.summary(print_fn=None) == model.summary(print_fn=None)
    gap = nn.Sequential([nn.Conv2D(2, 3, input_shape=(6, 6, 1)), nn.GlobalAveragePooling2D(keepdims=True)])
    again = load_model(save_model(gap, tmp_path / "gap"))
    np.testing.assert_array_equal(again(x[:, :6, :6, :1]).numpy(), gap(x[:, :6, :6, :1]).numpy())


def test_lazy_model_loads_a_state_dict_and_parameterless_layers_never_block_parameters():
    def make():
        return nn.Sequential([nn.Conv2D(4, 3, activation="relu"), nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(3)])
    x = np.random.default_rng(13).standard_normal((2, 8, 8, 1)).astype(np.float32)
    built, lazy = make(), make()
    built(x)
    lazy.load_state_dict(built.state_dict())           # builds the conv from its kernel's shape
    np.testing.assert_array_equal(lazy(x).numpy(), built(x).numpy())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(2, 3, input_shape=(6, 6, 1))
            self.pool = nn.MaxPooling2D(2)
            self.gap = nn.GlobalAveragePooling2D()

        def forward(self, x):
            return self.gap(self.pool(self.conv(x)))
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["conv.kernel", "conv.bias"]
    assert net(x[:, :6, :6]).shape == (2, 2) and net.pool.output_shape == (None, 2, 2, 2)


def test_pytorch_named_layers_save_and_load(tmp_path):
    tt = crtorch.nn
    model = nn.Sequential(tt.Conv2d(2, 4, 3, padding=1), nn.ReLU(), tt.MaxPool2d(2, ceil_mode=True),
                          tt.BatchNorm2d(4), tt.AvgPool2d(2, padding=1),
                          tt.AdaptiveAvgPool2d(1), tt.Flatten(), nn.Linear(4, 3))
    x = np.random.default_rng(12).standard_normal((3, 2, 7, 7)).astype(np.float32)
    model(x)
    model.eval()
    again = load_model(save_model(model, tmp_path / "torchcnn"))
    again.eval()
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
    seq = nn.Sequential(tt.Conv1d(2, 3, 3, padding="same"), tt.MaxPool1d(2), tt.AvgPool1d(2))
    again = load_model(save_model(seq, tmp_path / "conv1d"))
    np.testing.assert_array_equal(again(x[:, :, 0]).numpy(), seq(x[:, :, 0]).numpy())


# ------------------------------------------------------------------------------------ errors
def test_errors_name_the_layer_and_say_what_to_do():
    with pytest.raises(ValueError, match=r"Conv2D\(filters=32\): expected input of rank 4 \(batch, height, width, "
                                         r"channels\), got shape \(64, 784\); reshape images to \(64, 28, 28, 1\)"):
        nn.Conv2D(32, 3)(np.ones((64, 784)))
    with pytest.raises(ValueError, match=r"Conv2D\(filters=8\): .*got shape \(5, 28, 28\); add a channel axis: "
                                         r"x\[\.\.\., None\] gives \(5, 28, 28, 1\)"):
        nn.Conv2D(8, 3)(np.ones((5, 28, 28)))
    with pytest.raises(ValueError, match=r"Conv2D\(filters=8\): the kernel .* is larger than the padded input 2x2"):
        nn.Conv2D(8, 3)(np.ones((1, 2, 2, 1)))
    with pytest.raises(ValueError, match=r"Conv2D\(filters=8\): expected inputs with 1 channels, got shape "
                                         r"\(1, 5, 5, 3\)"):
        nn.Conv2D(8, 3, input_shape=(5, 5, 1))(np.ones((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"Conv1D\(filters=2\): expected input of rank 3 \(batch, steps, channels\)"):
        nn.Conv1D(2, 3)(np.ones((4, 10)))
    with pytest.raises(ValueError, match=r"MaxPooling2D: expected input of rank 4"):
        nn.MaxPooling2D()(np.ones((4, 10)))
    with pytest.raises(ValueError, match=r"Conv2D\(filters=0\): filters must be a positive integer"):
        nn.Conv2D(0, 3)
    with pytest.raises(ValueError, match=r"padding='causal' is only for Conv1D"):
        nn.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8\): padding='same' is not supported for strided"):
        crtorch.nn.Conv2d(3, 8, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"MaxPooling2D: padding must be 'valid' or 'same'"):
        nn.MaxPooling2D(padding=1)
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape samples of shape \(10,\) \(10 values\) into"):
        nn.Reshape((3, 3))(np.ones((2, 10)))


# ----------------------------------------------------------------------- the notes' digits CNN
def test_notes_digits_cnn_reaches_97_percent():
    """8x8x1 digits, 10 filters 3x3 (ReLU), 2x2 max pooling, Dense 50 (ReLU), softmax; Adam through model.fit."""
    from chainrule.datasets import load_digits, train_test_split
    X, y = load_digits()
    X = (X / 16.0).reshape(-1, 8, 8, 1).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    cr.manual_seed(0)
    model = nn.conv.digits_cnn()
    model.compile(optimizer=cr.optim.Adam(lr=1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=20, batch_size=64, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"] >= 0.97

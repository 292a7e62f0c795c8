"""Layer normalization: Keras' LayerNormalization and PyTorch's nn.LayerNorm on one set of equations
(chainrule.nn.functional.layer_norm), checked against both libraries with the weights copied, by gradcheck
and gradgradcheck in float64, and through saving."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.torch as ctorch
from chainrule import nn
from chainrule.io import load_model, save_model

from .layer_checks import check_layer, trains_as_keras


def test_layer_norm_is_its_equation_and_passes_gradcheck(f64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5))
    w, b = rng.standard_normal(5), rng.standard_normal(5)
    mu = x.mean(-1, keepdims=True)
    ref = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * w + b
    y = nn.functional.layer_norm(cr.tensor(x), 5, w, b)
    np.testing.assert_allclose(y.data, ref, rtol=1e-12)
    # Keras' axis=1 of a (batch, 3, 5) input: gamma and beta of shape (3,), broadcast along the last axis
    layer = nn.LayerNormalization(axis=1)
    layer(x)
    g, c = rng.standard_normal(3), rng.standard_normal(3)
    layer.set_weights([g, c])
    mu1 = x.mean(1, keepdims=True)
    ref1 = (x - mu1) / np.sqrt(((x - mu1) ** 2).mean(1, keepdims=True) + 1e-3) * g[:, None] + c[:, None]
    np.testing.assert_allclose(layer(x).data, ref1, rtol=1e-12)
    for layer in (nn.LayerNormalization(), nn.LayerNormalization(axis=[1, 2], center=False),
                  ctorch.nn.LayerNorm((3, 5)), ctorch.nn.LayerNorm(5, elementwise_affine=False)):
        layer(x)
        for p in layer.parameters():          # away from the ones and zeros they start at
            p.data[...] = rng.standard_normal(p.shape)
        check_layer(layer, x)
    with pytest.raises(ValueError, match=r"normalized shape \(4,\), got an input of shape \(4, 3, 5\)"):
        nn.functional.layer_norm(x, 4)


def test_torch_layer_norm_equals_pytorch(f64):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5))
    for shape, kw in (((5,), {}), ((4, 5), {"eps": 1e-3}), ((5,), {"bias": False}),
                      ((4, 5), {"elementwise_affine": False})):
        theirs = torch.nn.LayerNorm(shape, **kw).double()
        with torch.no_grad():
            for p in theirs.parameters():
                p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
        ours = ctorch.nn.LayerNorm(shape, **kw)
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict(theirs.state_dict())
        xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
        yt, yc = theirs(xt), ours(xc)
        np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-12)
        g = np.sin(np.arange(x.size)).reshape(x.shape)
        (yt * torch.tensor(g)).sum().backward()
        (yc * g).sum().backward()
        np.testing.assert_allclose(xc.grad, xt.grad.numpy(), atol=1e-11)
        for (n, p), q in zip(theirs.named_parameters(), ours.parameters()):
            np.testing.assert_allclose(q.grad, p.grad.numpy(), atol=1e-11, err_msg=n)


def test_keras_layer_normalization_equals_keras_3_and_trains_with_an_lstm(keras):
    import chainrule.keras as ck
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 6)).astype(np.float32)
    for kw in ({}, {"axis": [1, 2], "epsilon": 1e-5}, {"center": False}, {"axis": -1, "scale": False}):
        ours, theirs = ck.layers.LayerNormalization(**kw), keras.layers.LayerNormalization(**kw)
        ours(x)
        theirs(x)
        weights = [rng.standard_normal(w.shape).astype(np.float32) for w in theirs.get_weights()]
        theirs.set_weights(weights)
        ours.set_weights(weights)
        np.testing.assert_allclose(ours(x).data, keras.ops.convert_to_numpy(theirs(x)), atol=2e-6)
    # LSTM - LayerNormalization - Dense, two epochs of Adam, as in Keras
    trains_as_keras(keras, lambda L: [L.LSTM(5), L.LayerNormalization(), L.Dense(1)], (4, 6), x * 0.5,
                    rng.standard_normal((3, 1)).astype(np.float32), batch_size=3)


def test_layer_norms_save_load_and_refuse_what_they_lack(tmp_path):
    cr.manual_seed(0)
    x = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
    for model in (nn.Sequential([nn.LayerNormalization(axis=[1, 2], gamma_constraint="non_neg",
                                                       beta_regularizer="l2", input_shape=(3, 4))]),
                  nn.Sequential([ctorch.nn.LayerNorm((3, 4), eps=1e-3)])):
        model(x)
        for p in model.parameters():
            p.data[...] = np.random.default_rng(4).standard_normal(p.shape)
        again = load_model(save_model(model, tmp_path / type(model[0]).__name__))
        np.testing.assert_array_equal(again(x).data, model(x).data)
    with pytest.raises(NotImplementedError, match="rms_scaling=True"):
        nn.LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match="not the batch axis 0"):
        nn.LayerNormalization(axis=0)
    with pytest.raises(ValueError, match="normalized_shape must be a positive integer"):
        ctorch.nn.LayerNorm(0)

"""Embeddings (chainrule/nn/embedding.py, nn.functional.embedding, chainrule.torch.nn.Embedding): one
lookup primitive under Keras' and PyTorch's layers, checked by gradcheck and against both libraries."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.torch as ctorch
from chainrule import nn, ops, optim
from chainrule.io import load_model, save_model
from chainrule.nn import functional as F
from chainrule.nn.masking import get_mask

TOKENS = np.array([[3, 1, 0, 3], [2, 2, 4, 0]])


def test_lookup_passes_gradcheck_and_gradgradcheck_with_repeated_rows(f64):
    W = np.random.default_rng(0).standard_normal((5, 3))
    f = lambda W: ops.tanh(F.embedding(TOKENS, W))  # noqa: E731
    assert cr.gradcheck(f, W)
    assert cr.gradgradcheck(f, W)
    # the gradient of a row is the sum over the places that read it; the padding row gets none (PyTorch's
    # padding_idx and scale_grad_by_freq change the gradient on purpose: they are checked against PyTorch)
    Wt = cr.tensor(W, requires_grad=True)
    F.embedding(TOKENS, Wt, padding_idx=0).sum().backward()
    np.testing.assert_array_equal(Wt.grad[:, 0], [0, 1, 2, 2, 1])


def test_pytorch_embedding_equals_pytorch(f64):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    idx = np.array([[1, 4, 4, 0], [7, 1, 9, 4]])
    for opts in ({}, {"padding_idx": 4}, {"padding_idx": -1, "scale_grad_by_freq": True},
                 {"max_norm": 1.5}, {"max_norm": 2.0, "norm_type": 1.0, "sparse": True}):
        theirs = torch.nn.Embedding(10, 3, **opts).double()
        ours = ctorch.nn.Embedding(10, 3, **opts)
        assert repr(ours) == repr(theirs) and ours.padding_idx == theirs.padding_idx
        if "padding_idx" in opts:
            np.testing.assert_array_equal(ours.weight.data[ours.padding_idx], 0)
        with torch.no_grad():
            theirs.weight.mul_(3.0)     # rows well beyond max_norm, and a padding row that is not zero
        ours.load_state_dict(theirs.state_dict())
        yt = theirs(torch.tensor(idx))
        yc = ours(idx)
        np.testing.assert_allclose(yc.data, yt.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=str(opts))
        np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)  # renormed rows
        w = np.cos(np.arange(yc.data.size)).reshape(yc.shape)
        (yt * torch.tensor(w)).sum().backward()
        (yc * w).sum().backward()
        g = theirs.weight.grad.to_dense().numpy()
        np.testing.assert_allclose(ours.weight.grad, g, rtol=1e-12, atol=1e-14, err_msg=str(opts))
    pre = ctorch.nn.Embedding.from_pretrained(np.eye(3))
    assert not pre.weight.requires_grad and repr(pre) == repr(torch.nn.Embedding.from_pretrained(torch.eye(3)))
    np.testing.assert_array_equal(pre(np.array([2, 0])).data, [[0, 0, 1], [1, 0, 0]])
    assert ctorch.nn.Embedding.from_pretrained(np.eye(3), freeze=False).weight.requires_grad


def test_keras_embedding_and_its_mask_equal_keras(keras):
    cr.manual_seed(1)
    rng = np.random.default_rng(2)
    x = rng.integers(1, 12, (4, 6))
    x[0, 4:] = 0
    x[2, 1:] = 0
    x[3, :] = 0                           # a sequence with every step masked: LSTM keeps its zero state
    x[3, 0] = 5
    for masked in (False, True):
        ours = nn.Sequential([nn.Embedding(12, 5, mask_zero=masked, input_shape=(6,)),
                              nn.LSTM(4, return_sequences=True), nn.GRU(3)])
        theirs = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(12, 5, mask_zero=masked),
                                   keras.layers.LSTM(4, return_sequences=True), keras.layers.GRU(3)])
        theirs.set_weights(ours.get_weights())
        np.testing.assert_allclose(ours.predict(x), keras.ops.convert_to_numpy(theirs(x)), atol=2e-6)
    emb = nn.Embedding(12, 5, mask_zero=True)
    y = emb(x)
    np.testing.assert_array_equal(get_mask(y), x != 0)
    np.testing.assert_array_equal(emb.compute_mask(x), x != 0)
    assert nn.Embedding(3, 2).embeddings.data.max() <= 0.05     # Keras' RandomUniform(-0.05, 0.05)
    assert nn.Embedding(3, 2, weights=np.ones((3, 2))).embeddings.data.tolist() == [[1, 1]] * 3
    assert nn.Embedding(5, 2, input_length=7).output_shape == (None, 7, 2)


def test_an_embedding_model_trains_saves_and_loads(tmp_path):
    cr.manual_seed(0)
    rng = np.random.default_rng(3)
    X = rng.integers(1, 9, (96, 6))
    for row, n in zip(X, rng.integers(0, 4, 96)):
        row[6 - n:] = 0                                        # padded at the end
    y = (X == 3).any(axis=1).astype(np.float32)              # does token 3 occur?
    model = nn.Sequential([nn.Embedding(9, 8, mask_zero=True, embeddings_regularizer=nn.l2(1e-4)),
                           nn.GRU(8), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optim.Adam(lr=0.02), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(X, y, epochs=40, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.25 * hist.history["loss"][0] and hist.history["accuracy"][-1] > 0.95
    again = load_model(save_model(model, tmp_path / "emb"))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert again.get_config() == model.get_config()
    torch_style = ctorch.nn.Embedding(9, 4, padding_idx=0, max_norm=1.0)
    back = load_model(save_model(torch_style, tmp_path / "temb"))
    assert repr(back) == repr(torch_style)
    np.testing.assert_array_equal(back(X).data, torch_style(X).data)


def test_embedding_input_errors_say_what_was_expected():
    emb = nn.Embedding(5, 2)
    with pytest.raises(ValueError, match=r"index 5 is out of range for 5 rows \(expected 0 <= index < 5\)"):
        emb(np.array([[1, 5]]))
    with pytest.raises(ValueError, match="index -1 is out of range for 5 rows"):
        ctorch.nn.Embedding(5, 2)(np.array([-1, 2]))
    with pytest.raises(TypeError, match="must be whole numbers"):
        emb(np.array([[1.5, 2.0]]))
    np.testing.assert_array_equal(emb(np.array([[1.0, 2.0]])).data, emb(np.array([[1, 2]])).data)  # as Keras casts
    with pytest.raises(TypeError, match="must be integers, got an array of <U1"):
        emb(np.array([["a"]]))
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        nn.Embedding(0, 2)
    with pytest.raises(ValueError, match=r"padding_idx must be an integer within num_embeddings \(-5 <= "
                                         r"padding_idx < 5\), got 5"):
        ctorch.nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match=r"weight must be a matrix \(num_embeddings, embedding_dim\)"):
        F.embedding(np.array([0]), np.ones(3))

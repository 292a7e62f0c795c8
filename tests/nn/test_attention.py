"""Keras' Attention layer: dot and concat scores, the learned scale, padding and causal masks, the attention
weights, against Keras 3 with the weights copied; gradcheck and gradgradcheck; an LSTM encoder with attention
training as in Keras 3; saving; errors."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.io import load_model, save_model

from .layer_checks import check_layer, same_as_keras


def test_attention_equals_keras_3(keras):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    v = rng.standard_normal((2, 5, 4)).astype(np.float32)
    k = rng.standard_normal((2, 5, 4)).astype(np.float32)
    qm = np.array([[True, True, False], [True, True, True]])
    vm = np.array([[True, True, True, False, False], [True] * 5])
    for kw in ({}, {"use_scale": True}, {"score_mode": "concat"}, {"score_mode": "concat", "use_scale": True}):
        ours, theirs = nn.Attention(**kw), keras.layers.Attention(**kw)
        for inputs, call in (([q, v], {}), ([q, v, k], {}), ([q, v], {"mask": [qm, vm]}),
                             ([q, v, k], {"use_causal_mask": True}), ([q, v], {"mask": [None, vm],
                                                                             "use_causal_mask": True})):
            o, a = ours(inputs, return_attention_scores=True, **call)
            to, ta = theirs(inputs, return_attention_scores=True, **call)
            if ours.get_weights():                    # the learned scalars away from 1, the same in both
                w = [np.float32(0.7 + 0.2 * i) for i in range(len(ours.get_weights()))]
                ours.set_weights(w)
                theirs.set_weights(w)
                o, a = ours(inputs, return_attention_scores=True, **call)
                to, ta = theirs(inputs, return_attention_scores=True, **call)
            np.testing.assert_allclose(o.data, keras.ops.convert_to_numpy(to), atol=2e-6, err_msg=str((kw, call)))
            np.testing.assert_allclose(a.data, keras.ops.convert_to_numpy(ta), atol=2e-6, err_msg=str((kw, call)))


def test_attention_passes_gradcheck_and_gradgradcheck(f64):
    rng = np.random.default_rng(1)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 4))
    vm = np.array([[True, True, False, True], [True] * 4])
    for kw in ({"use_scale": True}, {"score_mode": "concat", "use_scale": True}):
        layer = nn.Attention(**kw)
        layer([q, v])
        for p in layer.parameters():
            p.data[...] = 0.8

        class Pair(nn.Module):          # check_layer differentiates one input: the query, the value fixed
            def __init__(self):
                super().__init__()
                self.att = layer

            def forward(self, x):
                return self.att([x, v], mask=[None, vm], use_causal_mask=True)
        check_layer(Pair(), q)


def test_an_lstm_encoder_with_attention_trains_as_keras_3_and_saves(keras, tmp_path):
    rng = np.random.default_rng(2)
    X = rng.integers(1, 9, (12, 6))
    X[:4, 4:] = 0                                            # padding: Embedding(mask_zero) masks it
    Y = rng.standard_normal((12, 1)).astype(np.float32)

    def build(L, M):
        inp = L.Input(shape=(6,))
        h = L.Embedding(9, 4, mask_zero=True)(inp)
        seq = L.LSTM(5, return_sequences=True)(h)
        ctx = L.Attention(use_scale=True)([seq, seq])
        return M.Model(inp, L.Dense(1)(L.GlobalAveragePooling1D()(ctx)))
    ours = same_as_keras(keras, build, X, Y, batch_size=4, atol=2e-6)
    again = load_model(save_model(ours, tmp_path / "att"))
    np.testing.assert_array_equal(again.predict(X, verbose=0), ours.predict(X, verbose=0))


def test_attention_dropout_and_errors():
    cr.manual_seed(0)
    q = np.ones((2, 3, 4), np.float32)
    layer = nn.Attention(dropout=0.5, seed=1)
    out_train = layer([q, q], training=True)
    out_eval = layer([q, q], training=False)
    assert not np.allclose(out_train.data, out_eval.data)
    np.testing.assert_allclose(out_eval.data, q, rtol=1e-6)   # equal keys: weights 1/3 each, mean of equal rows
    with pytest.raises(ValueError, match="score_mode must be 'dot' or 'concat'"):
        nn.Attention(score_mode="general")
    with pytest.raises(ValueError, match=r"expected the inputs \[query, value\]"):
        nn.Attention()(q)
    with pytest.raises(ValueError, match="query and key must have the same number of features"):
        nn.Attention()([q, np.ones((2, 5, 3), np.float32)])


def test_global_average_pooling_1d_averages_the_unmasked_steps_as_keras_3(keras):
    x = np.random.default_rng(3).standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.array([[True, True, False, False, False], [True] * 5, [False, True, True, True, False]])
    for keepdims in (False, True):
        layer = nn.GlobalAveragePooling1D(keepdims=keepdims)
        theirs = keras.layers.GlobalAveragePooling1D(keepdims=keepdims)
        np.testing.assert_allclose(layer(x, mask=mask).data, keras.ops.convert_to_numpy(theirs(x, mask=mask)),
                                   atol=1e-6)
        masked = nn.Masking(0.0)(np.where(mask[..., None], x, 0.0))
        np.testing.assert_allclose(layer(masked).data, keras.ops.convert_to_numpy(theirs(x, mask=mask)), atol=1e-6)
    np.testing.assert_allclose(nn.GlobalAveragePooling1D()(x), x.mean(axis=1), rtol=1e-6)   # no mask: the mean

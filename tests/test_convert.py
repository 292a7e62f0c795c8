"""chainrule.convert: the same network in PyTorch, Keras 3 and ONNX gives the same outputs."""
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import convert, nn

RNG = np.random.default_rng(0)
IMAGES = RNG.normal(size=(5, 1, 8, 8)).astype(np.float32)   # channels first
SEQ = RNG.normal(size=(2, 5, 3)).astype(np.float32)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _torch_cnn(torch):
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                             torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.Tanh(),
                             torch.nn.Dropout(0.1), torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1))
    return tm.eval()


def test_from_torch_cnn_and_back_give_pytorchs_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = _torch_cnn(torch)
    with torch.no_grad():
        tm[3].running_mean.uniform_()
        tm[3].running_var.uniform_(0.5, 2.0)
    model = convert.from_torch(tm)
    expected = _np(tm(torch.from_numpy(IMAGES)))
    np.testing.assert_allclose(model.predict(IMAGES), expected, atol=1e-6)
    again = _torch_cnn(torch)
    again.load_state_dict({k: torch.from_numpy(v) for k, v in convert.to_torch_state_dict(model).items()})
    np.testing.assert_allclose(_np(again(torch.from_numpy(IMAGES))), expected, atol=1e-6)


def test_keras_style_cnn_exports_to_a_channels_first_torch_cnn():
    torch = pytest.importorskip("torch")
    cr.manual_seed(0)
    model = nn.Sequential([nn.Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)), nn.MaxPooling2D((2, 2)),
                           nn.Flatten(), nn.Dense(5, activation="tanh"), nn.Dense(2)])
    sd = convert.to_torch_state_dict(model)
    assert sorted(sd) == ["0.bias", "0.weight", "4.bias", "4.weight", "6.bias", "6.weight"]
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                             torch.nn.Linear(36, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    np.testing.assert_allclose(model.predict(IMAGES.transpose(0, 2, 3, 1)), _np(tm(torch.from_numpy(IMAGES))),
                               atol=1e-5)


def test_dense_state_dict_round_trip():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    model = convert.from_torch(tm.state_dict(), activation="relu")
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), _np(tm(torch.from_numpy(x))), atol=1e-6)
    assert list(convert.to_torch_state_dict(model)) == list(tm.state_dict())


def test_recurrent_layers_both_ways():
    torch = pytest.importorskip("torch")
    torch.manual_seed(2)
    tl = torch.nn.LSTM(3, 4, batch_first=True)
    layer = convert.from_torch(tl)
    out, _ = layer(SEQ)
    np.testing.assert_allclose(out.numpy(), _np(tl(torch.from_numpy(SEQ))[0]), atol=1e-6)
    kl = nn.GRU(4, input_shape=(5, 3), return_sequences=True)
    tg = torch.nn.GRU(3, 4, batch_first=True)
    tg.load_state_dict({k: torch.from_numpy(v) for k, v in convert.to_torch_state_dict(kl).items()})
    np.testing.assert_allclose(kl.predict(SEQ), _np(tg(torch.from_numpy(SEQ))[0]), atol=1e-6)


def test_from_torch_refuses_what_it_cannot_read():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="no chainrule equivalent for torch.nn.Bilinear"):
        convert.from_torch(torch.nn.Sequential(torch.nn.Bilinear(2, 2, 1)))

    class Custom(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="cannot read the forward"):
        convert.from_torch(Custom())
    with pytest.raises(ValueError, match="stack of Linear layers only"):
        convert.from_torch({"0.weight": np.ones((2, 2)), "1.running_mean": np.ones(2)})
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        convert.from_torch(42)


def test_from_keras_cnn_with_batchnorm_and_back():
    keras = _keras()
    keras.utils.set_random_seed(0)
    km = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                           keras.layers.MaxPooling2D(2), keras.layers.BatchNormalization(), keras.layers.Flatten(),
                           keras.layers.Dense(6, activation="leaky_relu"), keras.layers.Dense(3, activation="softmax")])
    km.layers[2].set_weights([RNG.random(4) + 0.5, RNG.random(4), RNG.random(4), RNG.random(4) + 0.5])
    x = IMAGES.transpose(0, 2, 3, 1).copy()
    model = convert.from_keras(km)
    expected = keras.ops.convert_to_numpy(km(x))
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)
    again = keras.models.clone_model(km)
    again.set_weights(convert.to_keras_weights(model))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), expected, atol=1e-5)


def test_from_keras_recurrent_stack():
    keras = _keras()
    keras.utils.set_random_seed(1)
    km = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4, return_sequences=True),
                           keras.layers.Bidirectional(keras.layers.LSTM(2)), keras.layers.Dense(1)])
    model = convert.from_keras(km)
    np.testing.assert_allclose(model.predict(SEQ), keras.ops.convert_to_numpy(km(SEQ)), atol=1e-5)


def test_export_onnx_matches_onnxruntime(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    cr.manual_seed(3)
    model = nn.Sequential([nn.Dense(5, activation="relu", input_dim=3), nn.Dropout(0.2),
                           nn.Dense(4, activation="tanh"), nn.LeakyReLU(0.2), nn.Dense(4, activation="elu"),
                           nn.Dense(3, activation="softmax")])
    path = convert.export_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x), atol=1e-6)
    with pytest.raises(ValueError, match="only Dense stacks"):
        convert.export_onnx(nn.Sequential([nn.Conv2D(2, 3, input_shape=(5, 5, 1))]), tmp_path / "c.onnx")

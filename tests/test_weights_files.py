"""model.save_weights / load_weights in .npz and .safetensors, for Sequential and custom Modules."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.io import ModelFileError


class Custom(nn.Module):
    """A Module with no get_config: its weights still save and reload into the class."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Dense(4, activation="tanh", input_dim=3)
        self.norm = nn.BatchNormalization(input_dim=4)
        self.out = nn.Dense(2, input_dim=4)

    def forward(self, x):
        return self.out(self.norm(self.hidden(x)))


X = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_custom_module_weights_reload_into_the_class(tmp_path, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    cr.manual_seed(0)
    model = Custom()
    model.norm.register_buffer("moving_mean", np.arange(4, dtype=np.float32))
    path = model.save_weights(tmp_path / f"w{suffix}")
    assert str(path).endswith(suffix)
    cr.manual_seed(1)
    again = Custom()
    assert not np.allclose(again.predict(X), model.predict(X))
    assert again.load_weights(path) is again
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    with pytest.raises(TypeError, match="does not describe its architecture"):
        model.save(tmp_path / "full")


def test_safetensors_file_is_readable_by_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    model = nn.Sequential([nn.Dense(3, input_dim=2), nn.Dense(1)])
    path = model.save_weights(tmp_path / "m.safetensors")
    tensors = st.load_file(path)
    assert sorted(tensors) == ["0.bias", "0.kernel", "1.bias", "1.kernel"]
    np.testing.assert_array_equal(tensors["0.kernel"], model[0].kernel.numpy())
    # a safetensors file written elsewhere, named as the state dict, loads too
    other = nn.Sequential([nn.Dense(3, input_dim=2), nn.Dense(1)])
    st.save_file({k: np.full(v.shape, 0.5, np.float32) for k, v in model.state_dict().items()}, tmp_path / "o.safetensors")
    other.load_weights(tmp_path / "o.safetensors")
    assert np.all(other[1].kernel.numpy() == 0.5)


def test_mismatched_or_damaged_safetensors_are_refused(tmp_path):
    pytest.importorskip("safetensors")
    model = nn.Sequential([nn.Dense(3, input_dim=2)])
    path = model.save_weights(tmp_path / "m.safetensors")
    wider = nn.Sequential([nn.Dense(5, input_dim=2)])
    before = wider[0].kernel.numpy().copy()
    with pytest.raises(ModelFileError, match="does not fit the model"):
        wider.load_weights(path)
    np.testing.assert_array_equal(wider[0].kernel.numpy(), before)
    (tmp_path / "bad.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{notjson")
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        model.load_weights(tmp_path / "bad.safetensors")
    with pytest.raises(FileNotFoundError, match="no such file"):
        model.load_weights(tmp_path / "missing.safetensors")


def test_layer_get_and_set_weights_in_keras_order():
    layer = nn.BatchNormalization(input_dim=3)
    w = [np.full(3, v, np.float32) for v in (2.0, 1.0, 0.5, 4.0)]
    layer.set_weights(w)
    assert [float(a[0]) for a in layer.get_weights()] == [2.0, 1.0, 0.5, 4.0]
    dense = nn.Dense(2)
    dense.set_weights([np.ones((3, 2)), np.zeros(2)])   # builds from the kernel
    assert dense.kernel.shape == (3, 2)
    with pytest.raises(ValueError, match="expected 2 arrays, got 1"):
        dense.set_weights([np.ones((3, 2))])
    with pytest.raises(ValueError, match=r"expected an array of shape \(3, 2\), got \(2, 2\)"):
        dense.set_weights([np.ones((2, 2)), np.zeros(2)])

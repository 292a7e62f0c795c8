"""Model files: bit-identical round trips, atomic writes, and refusal of every damaged or foreign file."""
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io as crio
from chainrule import nn, optim
from chainrule.io import ModelFileError, load_model, load_weights, save_model, save_weights


def _model(dtype="float32", seed=0):
    cr.set_default_dtype(dtype)
    try:
        cr.manual_seed(seed)
        model = nn.Sequential([nn.Dense(8, activation="tanh", input_dim=4), nn.BatchNormalization(),
                               nn.Dropout(0.3), nn.Dense(3, activation="softmax")])
    finally:
        cr.set_default_dtype("float32")
    return model


def _warm_up_buffers(model, dtype):
    """A few training-mode passes so the batch-norm running averages are not the initial zeros/ones."""
    rng = np.random.default_rng(1)
    model.train()
    for _ in range(3):
        model(rng.normal(size=(16, 4)).astype(dtype))


def _X(dtype, n=10):
    return np.random.default_rng(2).normal(size=(n, 4)).astype(dtype)


def _meta(path):
    with np.load(path, allow_pickle=False) as f:
        return json.loads(f["__meta__"].tobytes().decode("utf-8"))


def _rewrite(path, out, meta=None, drop=(), add=None, replace=None):
    """Copy the model file at ``path`` to ``out`` with its metadata or arrays changed."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k not in drop}
    if meta is not None:
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    arrays.update(replace or {})
    arrays.update(add or {})
    np.savez(out, **arrays)
    return out


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sequential_round_trip_is_bit_identical(tmp_path, dtype):
    model = _model(dtype)
    _warm_up_buffers(model, dtype)
    path = save_model(model, tmp_path / "model")
    assert path == str(tmp_path / "model.npz") and os.path.exists(path)
    loaded = cr.load_model(path)
    assert type(loaded) is nn.Sequential
    assert [type(m).__name__ for m in loaded] == ["Dense", "BatchNormalization", "Dropout", "Dense"]
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), loaded.named_parameters()):
        assert n1 == n2 and p2.data.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(p1.data, p2.data)
    buffers = dict(loaded.named_buffers())
    assert set(buffers) == {"1.moving_mean", "1.moving_variance"}
    for name, b in model.named_buffers():
        assert not np.array_equal(b, np.zeros_like(b)) or name.endswith("variance")
        assert buffers[name].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(buffers[name], b)
    X = _X(dtype)
    model.eval()
    loaded.eval()
    np.testing.assert_array_equal(loaded(X).numpy(), model(X).numpy())
    assert loaded[2].rate == 0.3


def test_float64_model_loads_as_float64_under_float32_default(tmp_path):
    model = _model("float64")
    path = save_model(model, tmp_path / "m64.npz")
    assert cr.get_default_dtype() == np.float32
    loaded = load_model(path)
    assert {p.data.dtype for p in loaded.parameters()} == {np.dtype(np.float64)}
    assert {b.dtype for _, b in loaded.named_buffers()} == {np.dtype(np.float64)}


def test_file_layout_is_plain_arrays_and_json(tmp_path):
    model = _model()
    path = model.save(tmp_path / "m.npz")  # Module.save delegates to save_model
    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())
    assert "__meta__.npy" in names and "param/0.kernel.npy" in names and "buffer/1.moving_mean.npy" in names
    with np.load(path, allow_pickle=False) as f:
        assert f["__meta__"].dtype == np.uint8
        assert not any(f[k].dtype.hasobject for k in f.files)
    meta = _meta(path)
    assert meta["format"] == "chainrule-model" and meta["format_version"] == 1
    assert meta["chainrule_version"] == cr.__version__
    assert meta["architecture"]["class_name"] == "Sequential"
    assert meta["weights"] == [n for n, _ in model.named_parameters()]
    assert meta["buffers"] == ["1.moving_mean", "1.moving_variance"]
    assert meta["compile"] is None and meta["optimizer"] is None and meta["optimizer_state_keys"] is None


class TinyNet(nn.Module):
    """A custom Module that describes itself, so it can be saved whole."""

    def __init__(self, hidden=5, n_in=3):
        super().__init__()
        self.hidden, self.n_in = hidden, n_in
        self.body = nn.Dense(hidden, activation="relu", input_dim=n_in)
        self.norm = nn.BatchNormalization(input_dim=hidden)
        self.head = nn.Dense(1, input_dim=hidden)

    def forward(self, x):
        return self.head(self.norm(self.body(x)))

    def get_config(self):
        return {"hidden": self.hidden, "n_in": self.n_in}


class NoConfigNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Dense(2, input_dim=3)
        self.b = nn.BatchNormalization(input_dim=2)

    def forward(self, x):
        return self.b(self.a(x))


def test_custom_module_round_trip(tmp_path):
    cr.manual_seed(3)
    net = TinyNet(hidden=6)
    net(np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32))  # moves the running averages
    path = save_model(net, tmp_path / "tiny.npz")
    loaded = load_model(path)
    assert isinstance(loaded, TinyNet) and loaded.hidden == 6
    for name, arr in net.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], arr)
    X = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    net.eval()
    loaded.eval()
    np.testing.assert_array_equal(loaded(X).numpy(), net(X).numpy())


def test_module_without_get_config_uses_save_weights(tmp_path):
    cr.manual_seed(4)
    net = NoConfigNet()
    with pytest.raises(TypeError, match="get_config"):
        save_model(net, tmp_path / "whole.npz")
    assert not os.path.exists(tmp_path / "whole.npz")
    net.b._buffers["moving_mean"] = np.array([0.5, -0.5], dtype=np.float32)
    path = save_weights(net, tmp_path / "w")
    assert path.endswith("w.npz")
    cr.manual_seed(5)
    other = NoConfigNet()
    assert not np.array_equal(other.a.kernel.data, net.a.kernel.data)
    kernel = other.a.kernel  # load_weights writes in place: an optimizer bound to it stays valid
    assert load_weights(other, path) is other
    assert other.a.kernel is kernel
    for name, arr in net.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name], arr)
    with pytest.raises(ValueError, match="format 'chainrule-weights'.*load_weights"):
        load_model(path)


def test_load_weights_mismatch_leaves_model_unchanged(tmp_path):
    cr.manual_seed(0)
    path = save_weights(nn.Sequential([nn.Dense(4, input_dim=3), nn.Dense(2)]), tmp_path / "w.npz")
    target = nn.Sequential([nn.Dense(4, input_dim=3), nn.Dense(5)])
    before = target.state_dict()
    with pytest.raises(ValueError, match=r"w\.npz.*shape"):
        load_weights(target, path)
    for name, arr in target.state_dict().items():
        np.testing.assert_array_equal(arr, before[name])


# ------------------------------------------------------ compile and optimizer
def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


@pytest.mark.parametrize("make_opt", [lambda: optim.Adam(lr=0.01), lambda: optim.SGD(lr=0.05, momentum=0.9)])
def test_compiled_model_resumes_training_bit_identically(tmp_path, make_opt):
    X, y = _data()
    model = _model()
    model.compile(optimizer=make_opt(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=1)
    path = model.save(tmp_path / "ckpt.npz")
    meta = _meta(path)
    assert meta["optimizer"]["class_name"] == type(model._compiled["optimizer"]).__name__
    assert meta["compile"]["metrics"] == ["accuracy"]
    assert len(meta["optimizer_state_keys"]) == len(meta["weights"])

    loaded = load_model(path)
    opt1, opt2 = model._compiled["optimizer"], loaded._compiled["optimizer"]
    assert type(opt2) is type(opt1) and opt2.iterations == opt1.iterations == 8
    s1, s2 = opt1.state_dict(), opt2.state_dict()
    for e1, e2 in zip(s1["state"], s2["state"]):
        assert set(e1) == set(e2)
        for k in e1:
            np.testing.assert_array_equal(e1[k], e2[k])

    h1 = model.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=7)
    h2 = loaded.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=7)
    assert h1.history == h2.history
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_seeded_dropout_continues_its_random_stream(tmp_path):
    model = nn.Sequential([nn.Dense(6, input_dim=4), nn.Dropout(0.5, seed=3)])
    X = _X("float32")
    model(X)  # advance the layer's own generator before saving
    loaded = load_model(save_model(model, tmp_path / "drop.npz"))
    for _ in range(2):
        np.testing.assert_array_equal(loaded(X).numpy(), model(X).numpy())


def test_path_suffix_metadata_and_weights_from_a_model_file(tmp_path):
    model = _model()
    save_model(model, tmp_path / "m")
    assert isinstance(load_model(tmp_path / "m"), nn.Sequential)  # '.npz' found as save_model appended it
    meta = crio.read_metadata(tmp_path / "m.npz")
    assert meta["format"] == "chainrule-model" and meta["weights"][0] == "0.kernel"
    other = _model(seed=9)
    load_weights(other, tmp_path / "m.npz")
    np.testing.assert_array_equal(other[3].kernel.data, model[3].kernel.data)


def test_compiled_model_with_compile_false_is_uncompiled(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    path = save_model(model, tmp_path / "m.npz")
    assert getattr(load_model(path, compile=False), "_compiled", None) is None
    assert load_model(path)._compiled["config"]["loss"] == "mean_squared_error"


# ------------------------------------------------------------------- atomicity
def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    model = _model(seed=0)
    path = save_model(model, tmp_path / "m.npz")
    original = Path(path).read_bytes()

    def exploding_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")  # some bytes reach the temporary file, then the disk "fails"
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", exploding_savez)
    with pytest.raises(OSError, match="disk full"):
        save_model(_model(seed=1), path)
    monkeypatch.undo()
    assert Path(path).read_bytes() == original
    assert os.listdir(tmp_path) == ["m.npz"]
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded[0].kernel.data, model[0].kernel.data)


def test_failed_replace_leaves_no_temporary(tmp_path, monkeypatch):
    def no_replace(src, dst):
        raise PermissionError("read-only target")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(PermissionError):
        save_model(_model(), tmp_path / "m.npz")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_save_overwrites_and_keeps_permissions(tmp_path):
    path = save_model(_model(seed=0), tmp_path / "m.npz")
    os.chmod(path, 0o640)
    new = _model(seed=1)
    save_model(new, path)
    assert (os.stat(path).st_mode & 0o777) == 0o640
    np.testing.assert_array_equal(load_model(path)[0].kernel.data, new[0].kernel.data)


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*nowhere.* does not exist"):
        save_model(_model(), tmp_path / "nowhere" / "m.npz")


def test_write_text_atomic(tmp_path):
    p = tmp_path / "log.csv"
    assert crio.write_text_atomic(p, "a,b\n1,2\n") == str(p)
    crio.write_text_atomic(p, "a\n")
    assert p.read_text() == "a\n" and os.listdir(tmp_path) == ["log.csv"]


# ------------------------------------------------------- damaged and hostile files
@pytest.fixture
def saved(tmp_path):
    return save_model(_model(), tmp_path / "good.npz")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_model(tmp_path / "nope.npz")


def test_truncated_file(tmp_path, saved):
    data = Path(saved).read_bytes()
    bad = tmp_path / "half.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"half\.npz.*damaged or truncated"):
        load_model(bad)


def test_random_bytes(tmp_path):
    bad = tmp_path / "noise.npz"
    bad.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(ValueError, match=r"noise\.npz.*not an \.npz \(zip\) archive"):
        load_model(bad)


def test_corrupted_entry_fails_its_checksum(tmp_path, saved):
    data = bytearray(Path(saved).read_bytes())
    i = data.index(b"param/0.kernel.npy") + 200  # inside that entry's array bytes
    data[i] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"flipped\.npz.*damaged"):
        load_model(bad)


def test_single_npy_is_refused(tmp_path):
    bad = tmp_path / "one.npz"
    with open(bad, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match=r"one\.npz.*single \.npy array"):
        load_model(bad)


def test_pickle_file_is_never_unpickled(tmp_path):
    import pickle

    class Exploit:
        def __reduce__(self):
            return os.makedirs, (str(tmp_path / "pwned"),)

    bad = tmp_path / "exploit.npz"
    bad.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ValueError, match=r"exploit\.npz.*not an \.npz"):
        load_model(bad)
    assert not (tmp_path / "pwned").exists()


def test_zip_with_a_non_array_member(tmp_path, saved):
    bad = tmp_path / "text.npz"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("__meta__", json.dumps(_meta(saved)))
    with pytest.raises(ValueError, match=r"text\.npz.*entry '__meta__' that is not a NumPy array"):
        load_model(bad)


def test_npz_without_meta(tmp_path, saved):
    bad = _rewrite(saved, tmp_path / "nometa.npz", drop=("__meta__",))
    with pytest.raises(ValueError, match=r"nometa\.npz.*no '__meta__'"):
        load_model(bad)


def test_foreign_npz(tmp_path):
    bad = tmp_path / "foreign.npz"
    np.savez(bad, x=np.arange(3), y=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"foreign\.npz.*no '__meta__'"):
        load_model(bad)


def test_object_array_is_refused_without_unpickling(tmp_path, saved, monkeypatch):
    bad = tmp_path / "pickle.npz"
    with np.load(saved, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["param/0.kernel"] = np.array([{"evil": 1}, None], dtype=object)
    np.savez(bad, allow_pickle=True, **arrays)
    import pickle
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(ValueError, match=r"pickle\.npz.*damaged or unsafe.*param/0\.kernel"):
        load_model(bad)


def test_bad_json_meta(tmp_path, saved):
    bad = _rewrite(saved, tmp_path / "badjson.npz",
                   replace={"__meta__": np.frombuffer(b"{not json", dtype=np.uint8)})
    with pytest.raises(ValueError, match=r"badjson\.npz.*not valid UTF-8 JSON"):
        load_model(bad)


def test_meta_of_the_wrong_kind(tmp_path, saved):
    bad = _rewrite(saved, tmp_path / "floatmeta.npz", replace={"__meta__": np.zeros(3)})
    with pytest.raises(ValueError, match=r"floatmeta\.npz.*dtype float64"):
        load_model(bad)


def test_meta_as_unicode_scalar_is_accepted(tmp_path, saved):
    text = json.dumps(_meta(saved))
    ok = _rewrite(saved, tmp_path / "umeta.npz", replace={"__meta__": np.array(text)})
    assert isinstance(load_model(ok), nn.Sequential)


def test_wrong_format_name(tmp_path, saved):
    meta = _meta(saved)
    meta["format"] = "keras"
    with pytest.raises(ValueError, match=r"format 'keras', expected 'chainrule-model'"):
        load_model(_rewrite(saved, tmp_path / "keras.npz", meta=meta))


def test_newer_format_version(tmp_path, saved):
    meta = _meta(saved)
    meta["format_version"] = 2
    with pytest.raises(ValueError, match=r"new\.npz.*format_version 2, newer.*upgrade chainrule"):
        load_model(_rewrite(saved, tmp_path / "new.npz", meta=meta))


def test_weight_with_wrong_shape(tmp_path, saved):
    bad = _rewrite(saved, tmp_path / "shape.npz", replace={"param/0.kernel": np.zeros((5, 8), np.float32)})
    with pytest.raises(ValueError, match=r"shape\.npz.*0\.kernel.*shape"):
        load_model(bad)


def test_weight_with_wrong_dtype(tmp_path, saved):
    bad = _rewrite(saved, tmp_path / "ints.npz", replace={"param/0.bias": np.zeros(8, np.int64)})
    with pytest.raises(ValueError, match=r"ints\.npz.*'0\.bias' has dtype int64"):
        load_model(bad)


def test_missing_and_extra_weights(tmp_path, saved):
    with pytest.raises(ValueError, match=r"missing arrays \['param/3\.bias'\]"):
        load_model(_rewrite(saved, tmp_path / "missing.npz", drop=("param/3.bias",)))
    with pytest.raises(ValueError, match=r"unexpected arrays \['param/9\.kernel'\]"):
        load_model(_rewrite(saved, tmp_path / "extra.npz", add={"param/9.kernel": np.zeros(2)}))


def test_description_that_disagrees_with_the_architecture(tmp_path, saved):
    meta = _meta(saved)
    meta["architecture"]["config"]["layers"][0]["config"]["units"] = 9
    with pytest.raises(ValueError, match=r"arch\.npz.*does not fit the model.*shape"):
        load_model(_rewrite(saved, tmp_path / "arch.npz", meta=meta))
    meta["architecture"]["class_name"] = "NoSuchNet"
    with pytest.raises(ValueError, match=r"'NoSuchNet'.*import the module"):
        load_model(_rewrite(saved, tmp_path / "cls.npz", meta=meta))


def test_model_file_error_is_a_value_error(tmp_path):
    assert issubclass(ModelFileError, ValueError)
    bad = tmp_path / "empty.npz"
    bad.write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"empty\.npz.*is empty"):
        load_model(bad)

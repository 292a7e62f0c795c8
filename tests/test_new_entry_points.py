"""The entry points added since issue 12's first pass get its treatment: bounded reads, nothing
unpickled, a clear error naming the argument for every bad value.

Covers the safetensors weights reader, chainrule.torch's save/load, chainrule.convert's importers
and exporter, and the Keras-style layer and fit arguments.  The hostile files are a few hundred
bytes that declare gigabytes or terabytes; the assertion includes the memory (tracemalloc).
"""
import io
import json
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import chainrule.torch as ctorch
from chainrule import convert, nn
from chainrule.io import ModelFileError, load_weights, save_weights

BUDGET = 32 * 2 ** 20  # bytes a refused file may cost


def _model():
    m = nn.Sequential([nn.Dense(3, input_dim=2), nn.Dense(1)])
    m(np.ones((1, 2), np.float32))
    return m


def _within_budget(fn, error=ModelFileError, match=None):
    tracemalloc.start()
    try:
        with pytest.raises(error, match=match):
            fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < BUDGET, f"refusing the file cost {peak / 2**20:.1f} MiB"


def _safetensors(tmp_path, header, body=b"", name="w.safetensors"):
    text = json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)
    return path


# ---------------------------------------------------------------------------- safetensors
def test_safetensors_round_trip_still_works(tmp_path):
    pytest.importorskip("safetensors")
    m = _model()
    path = save_weights(m, tmp_path / "w.safetensors")
    other = nn.Sequential([nn.Dense(3, input_dim=2), nn.Dense(1)])
    load_weights(other, path)
    X = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(other(X).numpy(), m(X).numpy())


def test_safetensors_shapes_are_compared_before_the_data_is_read(tmp_path):
    """A header declaring a 400 MB kernel for a (2, 3) one is refused without reading 400 MB."""
    pytest.importorskip("safetensors")
    n = 100_000_000
    header = {"0.kernel": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}
    path = _safetensors(tmp_path, header)
    with open(path, "ab") as f:  # a sparse file: the size is there, the bytes are not
        f.truncate(path.stat().st_size + 4 * n)
    _within_budget(lambda: load_weights(_model(), path), match=r"0\.kernel has shape \(2, 3\) in the model but "
                                                                r"\(100000000,\) in the file")


@pytest.mark.parametrize("header,match", [
    ({"0.kernel": {"dtype": "F32", "shape": [10 ** 12], "data_offsets": [0, 4 * 10 ** 12]}},
     "not a readable safetensors file"),
    ({"0.kernel": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}}, "dtype BF16, which NumPy has no type"),
    ({"__metadata__": {"weights": "[" * 5000 + "]" * 5000}}, "nested deeper than 64"),
    ({"__metadata__": {"weights": "5", "format": "chainrule-weights", "format_version": "1", "buffers": "[]"}},
     "invalid 'weights' list"),
])
def test_hostile_safetensors_headers(tmp_path, header, match):
    pytest.importorskip("safetensors")
    path = _safetensors(tmp_path, header, b"\0" * 12 if len(header) > 1 or "__metadata__" not in header else b"")
    _within_budget(lambda: load_weights(_model(), path), match=match)


def test_safetensors_declared_total_is_bounded_by_max_bytes(tmp_path):
    pytest.importorskip("safetensors")
    path = save_weights(_model(), tmp_path / "w.safetensors")
    with pytest.raises(ModelFileError, match=r"declares .* of tensors, more than the limit of 10 bytes"):
        load_weights(_model(), path, max_bytes=10)


@pytest.mark.parametrize("data", [b"", b"\xff" * 7, struct.pack("<Q", 2 ** 62) + b"{}"])
def test_damaged_safetensors_files(tmp_path, data):
    pytest.importorskip("safetensors")
    path = tmp_path / "d.safetensors"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=r"d\.safetensors' is not a readable safetensors file"):
        load_weights(_model(), path)


# ---------------------------------------------------------------------------- torch.load
def _npz(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)
    return path


def test_torch_load_refuses_a_declared_terabyte(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)})
    path = _npz(tmp_path / "bomb.pt", {"w": buf.getvalue()})
    _within_budget(lambda: ctorch.load(path), match=r"bomb\.pt' has an entry 'w' that declares shape "
                                                      r"\(1000000000000,\)")


def test_torch_load_checks_inflated_sizes_before_inflating(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.zeros(50_000_000, np.uint8))   # 50 MB of zeros deflate to about 50 KB
    path = _npz(tmp_path / "zip.pt", {"w": buf.getvalue()})
    assert path.stat().st_size < 1_000_000
    _within_budget(lambda: ctorch.load(path, max_bytes=1_000_000), match=r"declares 50\.0 MB of arrays, more than the limit of 1\.0 MB")


def test_torch_load_never_unpickles(tmp_path):
    torch = pytest.importorskip("torch")
    real = tmp_path / "real.pt"
    torch.save({"w": torch.ones(2)}, real)   # PyTorch's own format: a zip holding a pickle
    with pytest.raises(ModelFileError, match=r"written by PyTorch's torch\.save \(pickled\); chainrule never "
                                             r"unpickles"):
        ctorch.load(real)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"w": [1.0]}))
    with pytest.raises(ModelFileError, match="never unpickles"):
        ctorch.load(raw)


@pytest.mark.parametrize("data,match", [
    (b"", r"is empty \(0 bytes\)"),
    (b"hello world", r"not a file written by chainrule\.torch\.save: not an \.npz"),
    (b"\x93NUMPY\x01\x00", r"is a single \.npy array"),
    (b"PK\x03\x04garbage", r"is a damaged or truncated \.npz archive"),
])
def test_torch_load_damaged_files(tmp_path, data, match):
    path = tmp_path / "x.pt"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=match):
        ctorch.load(path)


def test_torch_save_load_round_trip_from_a_file_object(tmp_path):
    sd = {"w": np.arange(3.0), "b": np.ones(2, np.float32)}
    ctorch.save(sd, tmp_path / "sd.pt")
    with open(tmp_path / "sd.pt", "rb") as f:
        back = ctorch.load(f)
    assert list(back) == ["w", "b"]
    np.testing.assert_array_equal(back["w"], sd["w"])
    with pytest.raises(FileNotFoundError, match=r"torch\.load: no such file"):
        ctorch.load(tmp_path / "missing.pt")


# ---------------------------------------------------------------------------- convert
@pytest.mark.parametrize("call,error,match", [
    (lambda: convert.from_torch({}), ValueError, "the state dict is empty"),
    (lambda: convert.from_torch({"0.weight": np.array([["a"]]), "0.bias": np.ones(1)}), TypeError,
     r"'0\.weight' holds <U1 values; a Linear weight or bias must be floating point"),
    (lambda: convert.from_torch({"0.weight": np.ones((1, 1)) * 1j}), TypeError, "holds complex128 values"),
    (lambda: convert.from_keras(5), TypeError, "from_keras: expected a Keras model or layer, got int"),
    (lambda: convert.export_onnx(nn.Sequential([nn.Dense(2)]), "x.onnx"), ValueError,
     r"export_onnx: layer 0 \(Dense\(units=2.*\) is not built"),
    (lambda: convert.export_onnx(_model(), "x.onnx", opset="17"), ValueError, "opset must be an integer >= 7"),
])
def test_convert_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------- layer arguments
@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.Input(shape=(-1,)), ValueError, r"Input: shape must be a tuple of positive integers .*got \(-1,\)"),
    (lambda: nn.Input(shape=(1.5,)), ValueError, r"Input: shape must be a tuple of positive integers"),
    (lambda: nn.Input(shape="abc"), ValueError, r"Input: shape must be a tuple .*got 'abc'"),
    (lambda: nn.Input(shape=(3,), batch_size=0), ValueError, r"Input: batch_size must be a positive integer, got 0"),
    (lambda: nn.Input(batch_shape=(None, True)), ValueError, r"Input: batch_shape must be a tuple"),
    (lambda: nn.Dense(3, input_shape=(0,)), ValueError, r"Dense: input_shape must be a tuple of positive integers"),
    (lambda: nn.Dense(3, batch_input_shape=(8, -2)), ValueError, r"Dense: batch_input_shape must be a tuple"),
    (lambda: nn.Dense(3, input_dim=4, batch_size=-1), ValueError, r"Dense: batch_size must be a positive integer"),
    (lambda: nn.Dense(3, dtype="abc"), TypeError, r"Dense: dtype must be a NumPy dtype or its name"),
    (lambda: nn.Dropout(0.5, dtype="abc"), TypeError, r"Dropout: dtype must be a NumPy dtype"),
    (lambda: nn.Concatenate(axis="a"), ValueError, r"Concatenate: axis must be an integer axis"),
])
def test_layer_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layer,x,shape", [
    (lambda: nn.Dense(10 ** 12), np.ones((1, 4), np.float32), r"\(4, 1000000000000\)"),
    (lambda: nn.Conv2D(10 ** 12, 3), np.ones((1, 4, 4, 1), np.float32), r"\(3, 3, 1, 1000000000000\)"),
])
def test_absurd_layer_sizes_are_a_clear_error(layer, x, shape):
    with pytest.raises(nn.init.WeightTooLargeError, match=r"a weight of shape " + shape + r" .* does not fit in this "
                                                          r"machine's memory; check the layer sizes"):
        layer()(x)
    assert issubclass(nn.init.WeightTooLargeError, ValueError) and issubclass(nn.init.WeightTooLargeError,
                                                                               MemoryError)


# ---------------------------------------------------------------------------- fit arguments
X = np.linspace(0, 1, 20, dtype=np.float32).reshape(10, 2)
Y = X[:, :1] * 2


def _fit(**kw):
    m = nn.Sequential([nn.Dense(1, input_dim=2)])
    m.compile("sgd", "mse")
    return m.fit(X, Y, verbose=0, **kw)


@pytest.mark.parametrize("kw,error,match", [
    (dict(initial_epoch=-1), ValueError, r"fit: initial_epoch must be an integer >= 0, got -1"),
    (dict(initial_epoch="1"), ValueError, r"fit: initial_epoch must be an integer >= 0, got '1'"),
    (dict(validation_split="0.2"), TypeError, r"fit: validation_split must be a real number"),
    (dict(validation_split=float("nan")), ValueError, r"fit: validation_split must be a finite number"),
    (dict(validation_data=(X, Y), validation_batch_size=0), ValueError,
     r"fit: validation_batch_size must be a positive integer, got 0"),
    (dict(shuffle="batch"), ValueError, r"fit: shuffle must be True or False, got 'batch'"),
    (dict(callbacks=5), TypeError, r"fit: callbacks must be a list of Callback objects, got int"),
    (dict(callbacks=[print]), TypeError, r"fit: callbacks must be Callback objects"),
    (dict(sample_weight=-np.ones(10)), ValueError, r"sample_weight: weights must be >= 0, got -1\.0"),
    (dict(sample_weight=np.full(10, np.nan)), ValueError, r"sample_weight: contains NaN"),
])
def test_fit_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        _fit(**kw)


def test_evaluate_names_its_sample_weight():
    m = nn.Sequential([nn.Dense(1, input_dim=2)])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"^sample_weight: contains NaN"):
        m.evaluate(X, Y, sample_weight=np.full(10, np.nan), verbose=0)


@pytest.mark.parametrize("make,error,match", [
    (lambda: __import__("chainrule.keras.callbacks", fromlist=["x"]).EarlyStopping(patience=-1), ValueError,
     r"EarlyStopping: patience must be an integer >= 0, got -1"),
    (lambda: __import__("chainrule.keras.callbacks", fromlist=["x"]).EarlyStopping(min_delta=float("nan")),
     ValueError, r"EarlyStopping: min_delta must be a finite number"),
    (lambda: __import__("chainrule.keras.callbacks", fromlist=["x"]).ReduceLROnPlateau(factor=float("nan")),
     ValueError, r"ReduceLROnPlateau: factor must be a finite number"),
    (lambda: __import__("chainrule.keras.callbacks", fromlist=["x"]).ReduceLROnPlateau(min_lr=-1), ValueError,
     r"ReduceLROnPlateau: min_lr must be >= 0"),
])
def test_callback_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_optimizer_state_without_an_optimizer_config_is_a_file_error(tmp_path):
    """A fuzzing finding: state keys but ``optimizer: null`` ended in an AttributeError."""
    from chainrule.io import load_model, save_model
    m = _model()
    m.compile("adam", "mse")
    m.fit(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32), verbose=0)
    path = save_model(m, tmp_path / "m.npz")
    with np.load(path) as f:
        arrays = dict(f)
    meta = json.loads(arrays["__meta__"].tobytes())
    meta["optimizer"] = None
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match=r"holds optimizer state .* but no 'optimizer' config"):
        load_model(path)

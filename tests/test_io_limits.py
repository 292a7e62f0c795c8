"""Hostile model files cannot exhaust memory: every size is checked before it is allocated or inflated.

Each file here is small on disk and would have made the loader allocate or inflate hundreds of
megabytes (or terabytes) before it was refused.  The assertion includes the memory: loading stays
under a fixed budget measured with tracemalloc (NumPy reports its array allocations to it).
"""
import io
import json
import os
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule import io as crio
from chainrule.io import ModelFileError, load_model, load_weights, read_metadata, save_model

BUDGET = 32 * 2 ** 20  # bytes of Python and NumPy allocations a refused file may cost


def _npy(shape, dtype="<f4", data=b""):
    """The bytes of a .npy file whose header declares ``shape`` and whose data is ``data``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue() + data


def _meta(architecture, weights, buffers=()):
    return {"format": crio.FORMAT, "format_version": 1, "chainrule_version": "0", "architecture": architecture,
            "compile": None, "weights": list(weights), "buffers": list(buffers), "optimizer": None,
            "optimizer_iterations": None, "optimizer_groups": None, "optimizer_state_keys": None,
            "rng_states": {}}


def _dense(units, input_dim):
    return {"class_name": "Sequential",
            "config": {"layers": [{"class_name": "Dense", "config": {"units": units, "input_dim": input_dim}}]}}


def _write(path, members, meta_text, compress=zipfile.ZIP_STORED):
    """A .npz (zip) with ``members`` {name: bytes or callable(fileobj)} and the given __meta__ JSON text."""
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in members.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                data(f) if callable(data) else f.write(data)
        zf.writestr("__meta__.npy", _meta_npy(meta_text))
    return path


def _meta_npy(text):
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(text.encode(), dtype=np.uint8))
    return buf.getvalue()


def _small_weights():
    kernel = np.zeros((3, 2), np.float32)
    return {"param/0.kernel": _npy((3, 2), data=kernel.tobytes()),
            "param/0.bias": _npy((2,), data=np.zeros(2, np.float32).tobytes())}


def _refused_within_budget(call, match):
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=match):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BUDGET, f"refusing the file cost {peak / 2 ** 20:.0f} MB"


def test_a_1kb_file_declaring_a_terabyte_array_is_refused_unallocated(tmp_path):
    p = _write(tmp_path / "tera.npz", {"param/0.kernel": _npy((10 ** 12,), data=b"\0" * 16),
                                       "param/0.bias": _npy((2,), data=b"\0" * 8)},
               json.dumps(_meta(_dense(2, 3), ["0.kernel", "0.bias"])))
    assert os.path.getsize(p) < 2048
    _refused_within_budget(lambda: load_model(p), r"tera\.npz.*param/0\.kernel.*declares shape \(1000000000000,\)"
                                                  r".*4\.0 TB.*holds 16 bytes")
    model = nn.Sequential([nn.Dense(2, input_dim=3)])
    _refused_within_budget(lambda: load_weights(model, p), "declares shape")


def test_deeply_nested_json_is_refused_not_a_recursion_error(tmp_path):
    p = _write(tmp_path / "deep.npz", _small_weights(), "[" * 100_000 + "]" * 100_000)
    _refused_within_budget(lambda: load_model(p), r"deep\.npz.*nested 100000 levels deep")
    _refused_within_budget(lambda: read_metadata(p), "nested")
    # strings holding brackets do not count
    meta = _meta(_dense(2, 3), ["0.kernel", "0.bias"])
    meta["note"] = "[" * 1000
    q = _write(tmp_path / "ok.npz", _small_weights(), json.dumps(meta))
    assert load_model(q).layers[0].kernel.shape == (3, 2)


def test_absurd_layer_sizes_are_refused_before_allocating(tmp_path):
    # a 1 KB architecture of Dense(6000, input_dim=6000) (36 million weights, 288 MB to initialize),
    # then units=10**12, while the file holds six numbers of weights
    weights = ["0.kernel", "0.bias"]
    for units, n_in in ((6000, 6000), (10 ** 12, 3)):
        p = _write(tmp_path / f"big{units}.npz", _small_weights(), json.dumps(_meta(_dense(units, n_in), weights)))
        _refused_within_budget(lambda: load_model(p), rf"big{units}\.npz.*describes an architecture with a weight "
                                                      rf"of shape \({n_in}, {units}\).*more than the 8 numbers")


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path):
    # 64 MB of zeros deflated to about 64 KB, declared as the kernel of a Dense(2, input_dim=3)
    n = 16 * 2 ** 20

    def zeros(f):
        f.write(_npy((n,)))
        chunk = bytes(2 ** 20)
        for _ in range(4 * n // len(chunk)):
            f.write(chunk)
    p = _write(tmp_path / "bomb.npz", {"param/0.kernel": zeros, "param/0.bias": _npy((2,), data=bytes(8))},
               json.dumps(_meta(_dense(2, 3), ["0.kernel", "0.bias"])), compress=zipfile.ZIP_DEFLATED)
    assert os.path.getsize(p) < 2 ** 20
    _refused_within_budget(lambda: load_model(p), r"bomb\.npz.*0\.kernel has shape \(3, 2\) in the model but "
                                                  r"\(16777216,\) in the file")


def test_the_size_limit_is_configurable_and_checked_before_reading(tmp_path):
    model = nn.Sequential([nn.Dense(300, input_dim=1000)])  # 1.2 MB of float32 weights
    p = save_model(model, tmp_path / "m")
    again = load_model(p)
    np.testing.assert_array_equal(again.layers[0].kernel.data, model.layers[0].kernel.data)
    _refused_within_budget(lambda: load_model(p, max_bytes=2 ** 20), r"declares 1\.2 MB of arrays, more than the "
                                                                     r"limit of 1\.0 MB \(max_bytes=\)")
    with pytest.raises(ModelFileError, match="limit"):
        load_weights(nn.Sequential([nn.Dense(300, input_dim=1000)]), p, max_bytes=2 ** 20)
    old = crio.MAX_BYTES
    crio.MAX_BYTES = 2 ** 20
    try:
        with pytest.raises(ModelFileError, match="limit"):
            load_model(p)
    finally:
        crio.MAX_BYTES = old
    with pytest.raises(ValueError, match="max_bytes must be a non-negative integer"):
        load_model(p, max_bytes=-1)


def test_a_declared_size_that_disagrees_with_the_member_is_refused(tmp_path):
    # the header says (3, 2) float32 (24 bytes) but the member holds 4 bytes of data: truncated or forged
    members = _small_weights()
    members["param/0.kernel"] = _npy((3, 2), data=bytes(4))
    p = _write(tmp_path / "short.npz", members, json.dumps(_meta(_dense(2, 3), ["0.kernel", "0.bias"])))
    with pytest.raises(ModelFileError, match=r"short\.npz.*declares shape \(3, 2\) of float32 \(24 bytes\) but "
                                             r"holds 4 bytes"):
        load_model(p)


def test_non_npy_members_and_structured_dtypes_are_refused(tmp_path):
    p = _write(tmp_path / "rec.npz", {**_small_weights(), "param/0.bias": _npy((2,), dtype=[("a", "<f4")],
                                                                               data=bytes(8))},
               json.dumps(_meta(_dense(2, 3), ["0.kernel", "0.bias"])))
    with pytest.raises(ModelFileError, match=r"entry 'param/0\.bias' has dtype"):
        load_model(p)
    q = tmp_path / "extra.npz"
    with zipfile.ZipFile(q, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ModelFileError, match="'readme.txt' that is not a NumPy array"):
        load_model(q)


def test_optimizer_settings_in_a_file_are_validated(tmp_path):
    model = nn.Sequential([nn.Dense(2, input_dim=3)])
    model.compile(optimizer=optim.Adam(lr=0.01), loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
    p = save_model(model, tmp_path / "m")
    cases = [("optimizer_groups", 0, "lr", -1, r"lr must be >= 0, got -1"),
             ("optimizer_groups", 0, "lr", float("nan"), r"lr must be a finite number, got nan"),
             ("optimizer_groups", 0, "lr", "abc", r"lr must be a real number, got 'abc'"),
             ("optimizer_groups", 0, "beta1", 5, r"beta1 must be in \[0, 1\), got 5"),
             ("optimizer_groups", 0, "eps", -1, r"eps must be >= 0, got -1"),
             ("optimizer", None, "lr", float("inf"), r"lr must be a finite number, got inf"),
             ("optimizer", None, "beta2", 2.0, r"beta2 must be in \[0, 1\), got 2"),
             ("optimizer_iterations", None, None, -3, r"invalid 'optimizer_iterations' -3")]
    for section, index, key, value, match in cases:
        with np.load(p) as f:
            arrays = dict(f)
        meta = json.loads(arrays["__meta__"].tobytes().decode())
        if key is None:
            meta[section] = value
        elif index is None:
            meta[section][key] = value
        else:
            meta[section][index][key] = value
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        q = tmp_path / f"bad_{section}_{key}.npz"
        np.savez(q, **arrays)
        with pytest.raises(ModelFileError, match=match):
            load_model(q)


def test_optimizer_state_dict_is_validated_directly():
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    for groups, match in (([{"lr": -1.0}], "lr must be >= 0"), ([{"momentum": 1.5}], r"momentum must be in"),
                          ([{"nesterov": "yes"}], "nesterov must be True or False"),
                          ([{"bogus": 1}], r"unknown keys \['bogus'\]")):
        with pytest.raises((TypeError, ValueError), match=match):
            opt.load_state_dict({**sd, "groups": groups})
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.9  # nothing half-applied
    with pytest.raises(ValueError, match="step count of parameter 0 must be an integer >= 0"):
        opt.load_state_dict({**sd, "state": [{**sd["state"][0], "step": np.asarray(-1)}]})


def test_the_cli_prints_a_hostile_file_as_one_line(tmp_path, capsys):
    from chainrule import cli
    run = tmp_path / "run"
    run.mkdir()
    _write(run / "model.npz", {"param/0.kernel": _npy((10 ** 12,), data=bytes(16)),
                               "param/0.bias": _npy((2,), data=bytes(8))},
           json.dumps(_meta(_dense(2, 3), ["0.kernel", "0.bias"])))
    meta = {"config": {"dataset": "xor"}, "data": {"task": "classification", "n_classes": 2,
                                                  "target_encoding": "sparse", "class_names": None},
            "preprocessing": {"kind": "standardize", "mean": [0, 0], "scale": [1, 1], "input_shape": [2],
                              "n_features": 2}}
    (run / "metrics.json").write_text(json.dumps(meta))
    (tmp_path / "x.csv").write_text("1,2\n")
    capsys.readouterr()
    assert cli.main(["predict", str(run), str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "model.npz" in err and "declares shape (1000000000000,)" in err


def test_saving_removes_what_killed_saves_left_behind(tmp_path):
    import subprocess
    import sys
    model = nn.Sequential([nn.Dense(2, input_dim=3)])
    target = tmp_path / "m.npz"
    # a temporary file of a save whose process is gone (as SIGKILL leaves it), of a live process
    # (a concurrent save in progress), and an unrelated hidden file
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".m.npz.{dead}.abc123xy.tmp"
    live = tmp_path / f".m.npz.{os.getppid()}.zz99zz99.tmp"
    other = tmp_path / ".other.npz.123.abcdefgh.tmp"
    for f in (stale, live, other):
        f.write_bytes(bytes(1000))
    save_model(model, target)
    assert not stale.exists() and live.exists() and other.exists() and target.exists()
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name, "m.npz"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(target)

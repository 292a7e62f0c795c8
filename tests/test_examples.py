"""The gallery in examples/: each fast script runs with --quick and gets the result it claims."""
import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def run_example(name, out, *flags):
    """Call the script's main([...]) in-process; returns (its result, what it printed is in capsys)."""
    ns = runpy.run_path(os.path.join(EXAMPLES, f"{name}.py"), run_name=f"example_{name}")
    return ns["main"](["--quick", "--out", str(out), *flags])


def _png(out, name):
    path = os.path.join(out, name)
    assert os.path.getsize(path) > 5000, path
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_logic_gates_as_a_script(tmp_path):
    res = subprocess.run([sys.executable, os.path.join(EXAMPLES, "logic_gates.py"), "--quick", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rows = {m.group(1): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(r"^(XOR|AND|OR)\s+([\d.]+)\s+([\d.]+)$", res.stdout, re.M)}
    assert set(rows) == {"XOR", "AND", "OR"}
    assert rows["XOR"][0] <= 0.75  # logistic regression cannot separate XOR
    assert all(net == 1.0 for _, net in rows.values())  # the 2-4-1 network learns every gate
    assert rows["AND"][0] == rows["OR"][0] == 1.0
    _png(tmp_path, "logic_gates.png")


def test_digits_grid_search(tmp_path, capsys):
    result = run_example("digits_grid_search", tmp_path)
    out = capsys.readouterr().out
    assert "best: eta = " in out
    assert result["best_test_accuracy"] >= 0.9 and result["eta"] == pytest.approx(0.01)
    _png(tmp_path, "digits_grid_search_test.png")
    _png(tmp_path, "digits_grid_search_train.png")


def test_breast_cancer(tmp_path, capsys):
    result = run_example("breast_cancer", tmp_path)
    out = capsys.readouterr().out
    assert "best on 4 features" in out and "all 30 features" in out
    assert result["best_test_accuracy"] >= 0.9 and result["all_features_test_accuracy"] >= 0.95
    _png(tmp_path, "breast_cancer_grid.png")


def test_moons(tmp_path, capsys):
    result = run_example("moons", tmp_path)
    assert "test accuracy" in capsys.readouterr().out
    assert result["2-20-40-20-1 ReLU"] >= 0.95 and result["2-4-1 sigmoid"] >= 0.8
    _png(tmp_path, "moons_decision_regions.png")
    _png(tmp_path, "moons_hidden_units.png")


def test_sine_regression_reaches_the_noise_floor(tmp_path, capsys):
    result = run_example("sine_regression", tmp_path)
    assert "noise floor" in capsys.readouterr().out
    assert result["test_mse"] < 1.2 * result["noise_floor"]
    _png(tmp_path, "sine_regression.png")


def test_franke_regression(tmp_path, capsys):
    result = run_example("franke_regression", tmp_path)
    assert "test MSE" in capsys.readouterr().out
    assert result["test_r2"] >= 0.9 and result["test_mse"] < 2.5 * result["noise_floor"]
    _png(tmp_path, "franke_regression.png")


def test_fashion_mnist_runs_or_says_it_is_skipped(tmp_path, capsys):
    result = run_example("fashion_mnist_mlp", tmp_path)
    out = capsys.readouterr().out
    if result is None:
        assert out.startswith("skipped: Fashion-MNIST is not present")
        pytest.skip("Fashion-MNIST is not installed here")
    assert result["test_accuracy"] >= 0.7
    _png(tmp_path, "fashion_mnist_history.png")
    _png(tmp_path, "fashion_mnist_samples.png")


def test_fashion_mnist_without_data_exits_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("chainrule.datasets.files.DEBIAN_DATA_DIR", tmp_path / "debian")
    assert run_example("fashion_mnist_mlp", tmp_path / "out") is None
    out = capsys.readouterr().out
    assert "skipped" in out and "apt-get install dataset-fashion-mnist" in out
    assert not (tmp_path / "out").exists()


def test_fashion_mnist_cnn_runs_or_says_it_is_skipped(tmp_path, capsys):
    # one BLAS thread: pytest-xdist already runs a worker per core, and a threaded BLAS on a busy machine
    # can stall a small product for a tenth of a second or more (a stalled worker thread)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="blas"):
        result = run_example("fashion_mnist_cnn", tmp_path)
    out = capsys.readouterr().out
    if result is None:
        assert out.startswith("skipped: Fashion-MNIST is not present")
        pytest.skip("Fashion-MNIST is not installed here")
    assert result["test_accuracy"] >= 0.7   # 2 epochs on 3000 images (the full run: >= 0.91)
    assert "(None, 13, 13, 32)" in out and "Total params: 225,034" in out
    for name in ("history", "confusion", "samples", "filters"):
        _png(tmp_path, f"fashion_mnist_cnn_{name}.png")


def test_cnn_examples_without_data_say_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("chainrule.datasets.files.DEBIAN_DATA_DIR", tmp_path / "debian")
    assert run_example("fashion_mnist_cnn", tmp_path / "out") is None
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().out
    assert run_example("cifar10_cnn", tmp_path / "out") is None
    out = capsys.readouterr().out
    assert out.startswith("skipped: CIFAR-10 is not present") and "cifar-10-binary.tar.gz" in out
    assert not (tmp_path / "out").exists()


def test_cifar10_cnn_on_stand_in_files(tmp_path, capsys):
    """The notes' CIFAR-10 network end to end on tiny files in the binary format (the real set is not here)."""
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, 40)
        records = np.concatenate([labels[:, None], rng.integers(0, 256, (40, 3072))], axis=1)
        records.astype(np.uint8).tofile(tmp_path / name)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="blas"):
        result = run_example("cifar10_cnn", tmp_path / "out", "--data-dir", str(tmp_path))
    out = capsys.readouterr().out
    assert "(None, 4, 4, 64)" in out and "Total params: 122,570" in out
    assert 0.0 <= result["test_accuracy"] <= 1.0
    _png(tmp_path / "out", "cifar10_cnn_history.png")


@pytest.fixture
def one_blas_thread():
    """The recurrent examples' products are small: one BLAS thread each (a test worker shares the cores)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


def test_noisy_sine_rnn_beats_predicting_the_last_value(tmp_path, capsys, one_blas_thread):
    result = run_example("noisy_sine_rnn", tmp_path)
    out = capsys.readouterr().out
    assert "predicting the last value" in out and "(None, 32)" in out and "1,184" in out   # Keras' summary
    assert result["test_mse"] < 0.7 * result["persistence_mse"]
    assert result["test_mse_sequence"] < 0.7 * result["persistence_mse"]
    assert result["test_mse"] < 1.5 * result["noise_floor"]
    _png(tmp_path, "noisy_sine_rnn.png")


def test_energies_rnn_extrapolates_from_sequences_not_from_x(tmp_path, capsys, one_blas_thread):
    result = run_example("energies_rnn", tmp_path)
    assert "MSE (8 new points)" in capsys.readouterr().out
    assert result["rnn"]["extrapolated_mse"] < 0.01
    assert result["rnn"]["extrapolated_mse"] < 0.1 * result["rnn, x -> y (standard way)"]["extrapolated_mse"]
    assert result["dnn2_gru2"]["params"] == 675_501 and result["rnn"]["params"] == 40_601
    _png(tmp_path, "energies_rnn.png")

"""The notes' Keras and PyTorch programs (examples/notes/) run on chainrule with only their imports changed.

Quick settings (fewer epochs and grid points; examples/notes_programs.py runs the notes' own): each
program runs as written and reaches what its few epochs allow.  The same program texts run on the
real Keras 3 / PyTorch with ``python examples/notes_programs.py --oracle``.
"""
import os
import runpy

import numpy as np
import pytest

RUNNER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "notes_programs.py")


@pytest.fixture(scope="module")
def notes():
    return runpy.run_path(RUNNER, run_name="notes_programs")


def run(notes, name, tmp_path, **extra):
    report, ns = notes["run"](name, quick=True, workdir=str(tmp_path), extra=extra)
    return report, ns


def test_every_program_is_only_its_imports_away_from_keras_or_pytorch(notes):
    for name in notes["PROGRAMS"]:
        src = open(os.path.join(os.path.dirname(RUNNER), "notes", f"{name}.py")).read()
        imports = [line for line in notes["oracle_source"](src).splitlines() if line.startswith(("import ", "from "))]
        text = "\n".join(imports)
        assert "chainrule.keras" not in text.replace("from chainrule.keras import datasets", "")
        assert "chainrule.torch" not in text
        assert ("import keras" in text or "from keras" in text) if name.startswith("keras") else "import torch" in text
        # and the program itself is only its imports away: every other line is the same text
        rest = [line for line in src.splitlines() if not line.startswith(("import ", "from "))]
        assert [line for line in notes["oracle_source"](src).splitlines() if not line.startswith(("import ", "from ",
                                                                                                  "tf = "))] == [
            notes["keras3_spelling"](line) for line in rest]


def test_keras_digits_grid(notes, tmp_path):
    report, ns = run(notes, "keras_digits_grid", tmp_path)
    assert report["best test accuracy"] >= 0.85                # 5 epochs of SGD (the notes' 100: ~0.97)
    assert "Test accuracy: " in ns["__stdout__"] and ns["test_accuracy"].shape == (2, 1)


def test_keras_breast_cancer_grid(notes, tmp_path):
    report, ns = run(notes, "keras_breast_cancer_grid", tmp_path, epochs="30",
                     n_neuron="np.array([10])", eta="np.array([0.001, 0.01])")
    assert 0.55 <= report["best test accuracy"] <= 1.0 and ns["Train_accuracy"].shape == (1, 2)


def test_keras_synthetic_241_and_its_hidden_units(notes, tmp_path):
    report, ns = run(notes, "keras_synthetic_241", tmp_path)
    assert report["final accuracy"] >= 0.6 and report["sine exercise MSE"] < 0.3
    assert ns["zhid_plot"].shape == (100, 100, 4) and "hidden (Dense)" in ns["__stdout__"]
    assert "Total params: 17" in ns["__stdout__"]


def test_keras_cnn_digits_grid(notes, tmp_path):
    report, ns = run(notes, "keras_cnn_digits_grid", tmp_path)
    assert report["best test accuracy"] >= 0.6      # 5 epochs at eta 0.1 (seeded: 0.78; 100 epochs: ~0.96)


def test_keras_cifar10_cnn_on_stand_in_files(notes, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, 20)
        np.concatenate([labels[:, None], rng.integers(0, 256, (20, 3072))], 1).astype(np.uint8).tofile(
            tmp_path / name)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    report, ns = run(notes, "keras_cifar10_cnn", tmp_path)
    assert 0 <= report["test accuracy"] <= 1 and "(None, 4, 4, 64)" in ns["__stdout__"]
    assert "Total params: 122,570" in ns["__stdout__"] and set(ns["history"].history) == {
        "loss", "accuracy", "val_loss", "val_accuracy"}


def test_keras_rnn_sine(notes, tmp_path):
    report, ns = run(notes, "keras_rnn_sine", tmp_path)
    assert report["test MSE"] < 1.0 and ns["predicted"].shape == (1000, 1)    # the noise: variance 1/3


def test_keras_rnn_energies_and_the_standard_way(notes, tmp_path):
    report, ns = run(notes, "keras_rnn_energies", tmp_path, epochs="30", networks='["rnn", "dnn2_gru2"]')
    assert set(ns["results"]) == {"rnn", "dnn2_gru2"} and all(np.isfinite(v) for v in report.values())
    assert "dnn (Dense)" in ns["__stdout__"] and "(None, 2, 125)" in ns["__stdout__"]   # Dense(250 / 2)


def test_torch_pima_8_12_8_1_on_a_csv(notes, tmp_path):
    report, ns = run(notes, "torch_pima_8_12_8_1", tmp_path)
    assert report["train accuracy"] >= 0.8
    assert "(hidden1): Linear(in_features=8, out_features=12, bias=True)" in ns["__stdout__"]


def test_torch_synthetic_241(notes, tmp_path):
    report, ns = run(notes, "torch_synthetic_241", tmp_path)
    assert report["final accuracy"] >= 0.6 and len(ns["accval"]) == 100
    assert "(fc1): Linear(in_features=2, out_features=4, bias=True)\n  (activation): Sigmoid()" in ns["__stdout__"]
    assert "tensor([[4, 5],\n        [7, 8]])" in ns["__stdout__"]


def test_torch_mnist_with_torchvision_style_data(notes, tmp_path):
    from chainrule.datasets import files
    if files.locate("mnist") is None and files.locate("fashion_mnist") is None:
        pytest.skip("neither MNIST nor Fashion-MNIST is installed here")
    report, ns = run(notes, "torch_mnist", tmp_path, train_limit="1000")
    assert report["final test accuracy %"] >= 40 and "(flatten): Flatten(start_dim=1, end_dim=-1)" in ns["__stdout__"]


def test_torch_moons(notes, tmp_path):
    report, ns = run(notes, "torch_moons", tmp_path)
    assert report["test accuracy"] >= 0.85 and len(ns["losses"]) == 10


def test_the_runner_prints_and_writes_its_figures_per_seed_and_tabulates_them(notes, tmp_path, capsys):
    import json
    results = notes["main"](["torch_synthetic_241", "--quick", "--seeds", "0", "1", "--out", str(tmp_path),
                             "--json", str(tmp_path / "figures.json")])
    written = json.loads((tmp_path / "figures.json").read_text())
    runs = written["torch_synthetic_241"]["chainrule"]
    assert runs == results["torch_synthetic_241"]["chainrule"] and set(runs) == {"0", "1"}
    assert all(0.6 <= r["final accuracy"] <= 1 for r in runs.values())
    assert runs["0"] != runs["1"]          # the seed reaches the program's own torch.manual_seed(0)
    assert "notes: accuracy 0.91 after 500 epochs" in capsys.readouterr().out
    # a second file standing for the real library's run: the table merges the two and sets them side by side
    a = [r["final accuracy"] for r in runs.values()]
    oracle = {"torch_synthetic_241": {"oracle library": "PyTorch 9", "oracle": {
        "0": {"final accuracy": min(a) - 0.5, "accuracy at epoch 500": 0.0},
        "1": {"final accuracy": max(a), "accuracy at epoch 500": 0.0}}}}
    (tmp_path / "oracle.json").write_text(json.dumps(oracle))
    text = notes["main"](["--table", str(tmp_path / "figures.json"), str(tmp_path / "oracle.json")])
    assert capsys.readouterr().out.strip() == text
    rows = text.splitlines()
    assert rows[0] == "| program | figure | seeds | chainrule | Keras 3 / PyTorch | vs chainrule | the notes |"
    first = rows[2].split(" | ")
    assert first[0] == "| torch_synthetic_241" and first[1] == "final accuracy" and first[2] == "0,1"
    assert first[3] == f"{np.mean(a):.4g} ({min(a):.4g}-{max(a):.4g}, 2 seeds)" and "(PyTorch 9)" in first[4]
    assert first[5] == "within noise" and "0.91" in first[6]     # the means 0.25 apart, the oracle's spread > 0.5
    assert rows[3].split(" | ")[5].startswith("apart by ")     # quick: epoch 500 is the last: 0.6 to 1 vs 0


def test_the_verdict_is_whether_the_seed_ranges_overlap(notes):
    verdict = notes["_verdict"]
    assert verdict([0.80, 0.84], [0.83, 0.90]) == "within noise"          # means 0.82, 0.865; spread 0.07
    assert verdict([0.80, 0.84], [0.87, 0.88]) == "apart by 0.055 (spread 0.04)"
    assert verdict([0.80, 0.84, 0.82], [0.85]) == "within noise"          # one seed: our spread is the noise
    assert verdict([0.5], [0.5 + 1e-12]) == "within noise" and verdict([0.5], [0.6]).startswith("apart")
    assert verdict([0.5], []) == ""


def test_keras_losses_on_logits_takes_the_softmax_input_as_tensorflow_does(notes):
    """Keras 3's torch backend clips a saturated softmax's probability (loss -log 1e-7 = 16.1, no gradient); with
    the runner's switch the loss is logsumexp(z) - z_y from softmax's logits, as on TensorFlow and in chainrule."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the switch is for Keras' torch backend")
    z = np.array([[30.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    t = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    expected = np.log(np.exp(z).sum(1)) - (z * t).sum(1)
    for name, clipped in [("categorical_crossentropy", -np.log(1e-7)), ("binary_crossentropy", None)]:
        activation = keras.activations.softmax if name.startswith("cat") else keras.activations.sigmoid
        p = activation(keras.ops.convert_to_tensor(z))
        with notes["keras_losses_on_logits"]():
            on = keras.ops.convert_to_numpy(getattr(keras.losses, name)(t, p))
        off = keras.ops.convert_to_numpy(getattr(keras.losses, name)(t, p))
        if clipped is not None:
            np.testing.assert_allclose(on, expected, rtol=1e-5)
            np.testing.assert_allclose(off[0], clipped, rtol=1e-3)      # back to Keras' own afterwards
        else:
            bce = np.mean(np.logaddexp(0, z) - z * t, axis=-1)
            np.testing.assert_allclose(on, bce, rtol=1e-5)
            assert off[0] < on[0] - 1                                     # clipped at 1 - 1e-7: log(1e7)/2

"""The `chainrule` command line, run in-process through cli.main([...]) into tmp_path."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule
from chainrule import cli
from chainrule.datasets import DATASETS, write_idx
from chainrule.io import load_model


def _run_dir(out):
    runs = [os.path.join(out, d) for d in os.listdir(out)]
    assert len(runs) == 1, runs
    return runs[0]


def _train(tmp_path, *flags, name="runs"):
    out = tmp_path / name
    code = cli.main(["train", "--out", str(out), "--quiet", *flags])
    return code, (_run_dir(out) if out.exists() and os.listdir(out) else None)


def _history_rows(run):
    with open(os.path.join(run, "history.csv")) as f:
        return list(csv.DictReader(f))


def _metrics(run):
    with open(os.path.join(run, "metrics.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The default `chainrule train` (the notes' digits network), as the README's main job."""
    out = tmp_path_factory.mktemp("default")
    assert cli.main(["train", "--out", str(out / "runs"), "--quiet"]) == 0
    return _run_dir(out / "runs")


# ------------------------------------------------------------------------------ train
def test_default_train_is_the_notes_digits_network(digits_run, capsys):
    run = digits_run
    assert os.path.basename(run).endswith("-digits")
    for f in ("model.npz", "metrics.json", "config.toml", "history.csv", "loss.png", "accuracy.png",
              "confusion_matrix.png"):
        assert os.path.getsize(os.path.join(run, f)) > 0, f
    m = _metrics(run)
    assert set(m) >= {"train", "validation", "test", "config", "data", "preprocessing"}
    assert set(m["test"]) == {"loss", "accuracy"}
    assert m["test"]["accuracy"] >= 0.95
    assert m["train"]["accuracy"] >= m["test"]["accuracy"] - 0.05
    assert 0 < m["test"]["loss"] < 0.5
    cfg = m["config"]
    assert (cfg["layers"], cfg["activation"], cfg["output_activation"], cfg["optimizer"]) == \
        ([100, 30], "leaky_relu", "softmax", "adam")
    assert cfg["loss"] == "sparse_categorical_crossentropy" and cfg["lr"] == pytest.approx(1e-3)
    assert m["data"]["n_train"] + m["data"]["n_validation"] + m["data"]["n_test"] == 1797
    assert len(_history_rows(run)) == cfg["epochs"] == 30

    model = load_model(os.path.join(run, "model.npz"))
    assert [layer.units for layer in model.layers] == [100, 30, 10]
    X = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    p = model.predict(X)
    assert p.shape == (5, 10) and np.allclose(p.sum(axis=1), 1, atol=1e-5)


def test_evaluate_reproduces_the_test_metrics(digits_run, capsys):
    m = _metrics(digits_run)
    assert cli.main(["evaluate", digits_run]) == 0
    out = capsys.readouterr().out
    assert f"{m['test']['accuracy']:.4f}" in out and f"{m['test']['loss']:.4f}" in out
    assert cli.main(["evaluate", digits_run, "--split", "validation"]) == 0
    assert f"{m['validation']['accuracy']:.4f}" in capsys.readouterr().out


def test_predict_writes_one_row_per_sample(digits_run, tmp_path, capsys):
    from chainrule.datasets import load_digits
    X, y = load_digits()
    src = tmp_path / "in.csv"
    np.savetxt(src, X[:20], delimiter=",", header=",".join(f"px{i}" for i in range(64)), comments="")
    dst = tmp_path / "out.csv"
    assert cli.main(["predict", digits_run, str(src), "-o", str(dst)]) == 0
    with open(dst) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20 and list(rows[0]) == ["prediction"] + [f"p_{k}" for k in range(10)]
    pred = np.array([int(r["prediction"]) for r in rows])
    assert np.mean(pred == y[:20]) >= 0.9
    probs = np.array([[float(r[f"p_{k}"]) for k in range(10)] for r in rows])
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4) and np.array_equal(probs.argmax(axis=1), pred)
    # to standard output, without a header row
    np.savetxt(src, X[:3], delimiter=",")
    assert cli.main(["predict", digits_run, str(src)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("prediction,p_0") and len(lines) == 4


def test_predict_errors(digits_run, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    assert cli.main(["predict", digits_run, str(bad)]) == 1
    err = capsys.readouterr().err
    assert "has 3 columns but the model" in err and "expects 64 features" in err
    bad.write_text(",".join(["1"] * 64) + "\n" + ",".join(["x"] * 64) + "\n")
    assert cli.main(["predict", digits_run, str(bad)]) == 1
    assert "line 2, column 1: 'x' is not a number" in capsys.readouterr().err
    assert cli.main(["predict", digits_run, str(tmp_path / "nope.csv")]) == 1
    assert "no such input file" in capsys.readouterr().err


def test_moons_run_has_2d_plots_and_one_history_row_per_epoch(tmp_path):
    code, run = _train(tmp_path, "--dataset", "moons", "--epochs", "2", "--samples", "200")
    assert code == 0
    for f in ("decision_regions.png", "hidden_units.png", "confusion_matrix.png", "loss.png", "accuracy.png"):
        assert os.path.getsize(os.path.join(run, f)) > 1000, f
    rows = _history_rows(run)
    assert len(rows) == 2 and set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    m = _metrics(run)
    assert m["config"]["layers"] == [20, 40, 20] and m["config"]["samples"] == 200
    assert m["data"]["n_train"] + m["data"]["n_validation"] + m["data"]["n_test"] == 200
    for part in ("train", "validation", "test"):
        assert 0.0 <= m[part]["accuracy"] <= 1.0 and m[part]["loss"] > 0


def test_xor_is_learned_and_uses_all_four_points(tmp_path):
    code, run = _train(tmp_path, "--dataset", "xor")
    assert code == 0
    m = _metrics(run)
    assert m["test"]["accuracy"] == 1.0 and m["data"]["n_test"] == 4


def test_regression_reports_r2_and_predicts_values(tmp_path, capsys):
    code, run = _train(tmp_path, "--dataset", "sine", "--epochs", "3", "--samples", "100")
    assert code == 0
    m = _metrics(run)
    assert set(m["test"]) == {"loss", "r2", "mae"}
    assert m["config"]["loss"] == "mean_squared_error" and m["config"]["output_activation"] == "linear"
    assert not os.path.exists(os.path.join(run, "confusion_matrix.png"))
    assert os.path.exists(os.path.join(run, "r2.png"))
    src = tmp_path / "x.csv"
    src.write_text("x\n0.25\n0.75\n")
    capsys.readouterr()
    assert cli.main(["predict", run, str(src)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "prediction" and len(lines) == 3
    float(lines[1])


def test_binary_sigmoid_head_and_class_names(tmp_path, capsys):
    code, run = _train(tmp_path, "--dataset", "breast_cancer", "--output-activation", "sigmoid", "--epochs", "3",
                       "--layers", "8")
    assert code == 0
    m = _metrics(run)
    assert m["config"]["loss"] == "binary_crossentropy" and m["data"]["target_encoding"] == "binary"
    assert load_model(os.path.join(run, "model.npz")).layers[-1].units == 1
    from chainrule.datasets import load_breast_cancer
    X, _ = load_breast_cancer()
    src = tmp_path / "bc.csv"
    np.savetxt(src, X[:4], delimiter=",")
    capsys.readouterr()
    assert cli.main(["predict", run, str(src)]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert list(rows[0]) == ["prediction", "label", "p_0", "p_1"]
    assert all(r["label"] == ("malignant", "benign")[int(r["prediction"])] for r in rows)


def test_regularization_flags_build_the_network(tmp_path):
    code, run = _train(tmp_path, "--dataset", "digits", "--layers", "16,8", "--dropout", "0.1", "--l2", "1e-4",
                       "--batch-norm", "--optimizer", "sgd", "--lr", "0.05", "--epochs", "3",
                       "--early-stopping", "5", "--batch-size", "64", "--val-split", "0.2", "--seed", "3")
    assert code == 0
    model = load_model(os.path.join(run, "model.npz"))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNormalization", "Activation", "Dropout"] * 2 + ["Dense"]
    assert model.layers[0].kernel_regularizer is not None
    m = _metrics(run)
    assert m["config"]["optimizer"] == "sgd" and m["config"]["lr"] == 0.05 and m["config"]["seed"] == 3
    assert m["data"]["n_validation"] == pytest.approx(0.2 * (1797 - 360), abs=1)


def test_same_seed_same_numbers(tmp_path):
    a = _metrics(_train(tmp_path, "--epochs", "2", "--layers", "10", name="a")[1])
    b = _metrics(_train(tmp_path, "--epochs", "2", "--layers", "10", name="b")[1])
    assert a["test"] == b["test"] and a["train"] == b["train"]


# ----------------------------------------------------------------------------- config
def test_config_file_keys_and_flag_precedence(tmp_path):
    conf = tmp_path / "run.toml"
    conf.write_text('dataset = "moons"\nlayers = [6, 4]\nactivation = "tanh"\nepochs = 2\n'
                    'batch-size = 50\nlr = 0.02\nsamples = 120\n')
    code, run = _train(tmp_path, "--config", str(conf), "--epochs", "3")
    assert code == 0
    cfg = _metrics(run)["config"]
    assert (cfg["dataset"], cfg["layers"], cfg["activation"], cfg["batch_size"], cfg["lr"]) == \
        ("moons", [6, 4], "tanh", 50, 0.02)
    assert cfg["epochs"] == 3  # the flag wins over the file
    assert len(_history_rows(run)) == 3
    # the saved config.toml repeats the run
    code2, run2 = _train(tmp_path, "--config", os.path.join(run, "config.toml"), name="again")
    assert code2 == 0 and _metrics(run2)["test"] == _metrics(run)["test"]


def test_config_unknown_key_names_it_and_the_valid_keys(tmp_path, capsys):
    conf = tmp_path / "run.toml"
    conf.write_text('dataset = "digits"\nlearning_rate = 0.1\n')
    assert cli.main(["train", "--config", str(conf), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'learning_rate'" in err and "lr" in err and "batch_size" in err


@pytest.mark.parametrize("text, match", [
    ("epochs = 'ten'\n", "--epochs: expected an integer"),
    ("layers = [100, -3]\n", "entry 2"),
    ("dropout = 1.5\n", "--dropout: must be in"),
    ("this is = not toml\n", "not valid TOML"),
])
def test_config_bad_values(tmp_path, capsys, text, match):
    conf = tmp_path / "run.toml"
    conf.write_text(text)
    assert cli.main(["train", "--config", str(conf), "--out", str(tmp_path / "r")]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- errors
def test_unknown_dataset_lists_the_valid_names(tmp_path, capsys):
    assert cli.main(["train", "--dataset", "mnits", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown data set 'mnits'" in err and all(name in err for name in DATASETS)


def test_unknown_optimizer_lists_the_valid_names(tmp_path, capsys):
    assert cli.main(["train", "--optimizer", "adamm", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown optimizer 'adamm'" in err
    assert all(n in err for n in ("sgd", "adam", "adamw", "rmsprop", "adagrad", "momentum", "adagrad_momentum"))


@pytest.mark.parametrize("layers, token", [("100,x,30", "token 2 ('x')"), ("100,,30", "token 2 (an empty token)"),
                                           ("0", "token 1 ('0')"), ("100,-30", "token 2 ('-30')")])
def test_bad_layer_string_names_the_token(tmp_path, capsys, layers, token):
    assert cli.main(["train", "--layers", layers, "--out", str(tmp_path)]) == 2
    assert token in capsys.readouterr().err


def test_cnn_on_digits_trains_saves_and_predicts_flat_pixels(tmp_path, capsys):
    code, run = _train(tmp_path, "--dataset", "digits", "--model", "cnn", "--epochs", "8", "--no-plots")
    assert code == 0
    model = load_model(os.path.join(run, "model.npz"))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Reshape", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]  # the notes' network
    assert model.layers[1].filters == 10 and model.layers[4].units == 50
    m = _metrics(run)
    assert m["config"]["model"] == "cnn" and m["config"]["conv"] == [10]
    assert m["test"]["accuracy"] >= 0.9
    with open(os.path.join(run, "config.toml")) as f:
        assert 'model = "cnn"' in f.read()
    from sklearn.datasets import load_digits
    path = tmp_path / "x.csv"
    np.savetxt(path, load_digits().data[:4], delimiter=",")
    capsys.readouterr()
    assert cli.main(["predict", run, str(path)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert len(rows) == 5 and [int(r.split(",")[0]) for r in rows[1:]] == [0, 1, 2, 3]


def test_cnn_flags_and_their_errors(tmp_path, capsys):
    # three blocks on 8x8 images: 8 -> 4 -> 2 -> 1 (and an odd size on the way with 4 blocks: 8 -> 4 -> 2 -> 1 -> 1)
    code, run = _train(tmp_path, "--dataset", "digits", "--model", "cnn", "--conv", "4,6,3,2", "--layers", "none",
                       "--epochs", "1", "--no-plots", "--batch-norm")
    assert code == 0
    kinds = [type(layer).__name__ for layer in load_model(os.path.join(run, "model.npz")).layers]
    assert kinds == ["Reshape"] + ["Conv2D", "MaxPooling2D"] * 4 + ["Flatten", "Dense"]
    for flags, match in ((["--dataset", "moons", "--model", "cnn"], "trains on the image sets"),
                         (["--model", "rnn"], "--model: expected one of mlp, cnn"),
                         (["--conv", "8"], "--conv: applies to --model cnn only"),
                         (["--model", "cnn", "--conv", "8,x"], "--conv '8,x': token 2"),
                         (["--model", "cnn", "--conv", "none"], "at least one convolution block")):
        assert cli.main(["train", "--out", str(tmp_path / "bad"), *flags]) == 2
        assert match in capsys.readouterr().err


def test_other_usage_errors(tmp_path, capsys):
    assert cli.main(["train", "--epochs", "abc"]) == 2
    assert "invalid int value" in capsys.readouterr().err
    assert cli.main(["train", "--activation", "relu7", "--out", str(tmp_path)]) == 2
    assert "unknown activation 'relu7'" in capsys.readouterr().err
    assert cli.main(["train", "--loss", "hinge", "--out", str(tmp_path)]) == 2
    assert "unknown loss 'hinge'" in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "franke", "--loss", "scce", "--out", str(tmp_path)]) == 2
    assert "regression set" in capsys.readouterr().err
    assert cli.main(["train", "--samples", "50", "--out", str(tmp_path)]) == 2
    assert "applies only to the generated sets" in capsys.readouterr().err
    assert cli.main(["train", "--early-stopping", "3", "--val-split", "0", "--out", str(tmp_path)]) == 2
    assert "--val-split > 0" in capsys.readouterr().err
    assert cli.main([]) == 2
    assert "usage: chainrule" in capsys.readouterr().out


def test_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("chainrule.datasets.files.DEBIAN_DATA_DIR", tmp_path / "debian")
    assert cli.main(["train", "--dataset", "fashion_mnist", "--out", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert "Fashion-MNIST not found" in err and "apt-get install dataset-fashion-mnist" in err
    assert "--data-dir" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_evaluate_errors(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "nope")]) == 1
    assert "no such run folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["evaluate", str(tmp_path / "empty")]) == 1
    assert "no metrics.json" in capsys.readouterr().err


def test_version_and_help(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip().startswith(f"chainrule {chainrule.__version__}")
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--dataset", "--layers", "--activation", "--output-activation", "--loss", "--optimizer", "--lr",
                 "--epochs", "--batch-size", "--l2", "--dropout", "--batch-norm", "--seed", "--val-split",
                 "--early-stopping", "--out", "--quiet", "--config"):
        assert flag in out, flag


def test_python_dash_m_runs_the_same_program():
    res = subprocess.run([sys.executable, "-m", "chainrule", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("chainrule ")


def test_datasets_lists_every_set(capsys):
    assert cli.main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name, info in DATASETS.items():
        assert name in out
    assert "bundled with scikit-learn" in out and "generated" in out


# ------------------------------------------------------------------------------ Ctrl-C
def test_ctrl_c_saves_the_last_completed_epoch(tmp_path, monkeypatch, capsys):
    original = cli._Snapshot.on_epoch_end
    seen = {}

    def interrupt_after_second(self, model, epoch, logs):
        original(self, model, epoch, logs)
        if epoch == 1:
            seen["state"] = model.state_dict()
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Snapshot, "on_epoch_end", interrupt_after_second)
    code, run = _train(tmp_path, "--epochs", "10", "--layers", "12")
    assert code == 130
    assert "saved the model after epoch 2" in capsys.readouterr().err
    model = load_model(os.path.join(run, "model.npz"))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, seen["state"][k])
    assert len(_history_rows(run)) == 2
    m = _metrics(run)
    assert m["status"] == "interrupted" and m["epochs_completed"] == 2
    assert cli.main(["evaluate", run]) == 0  # the saved model is usable


def test_ctrl_c_in_the_middle_of_an_epoch_restores_the_completed_one(tmp_path, monkeypatch, capsys):
    from chainrule import training
    state = {}
    original = cli._Snapshot.on_epoch_end

    def remember(self, model, epoch, logs):
        original(self, model, epoch, logs)
        state["after"] = model.state_dict()

    calls = {"n": 0}

    def interrupt(self, batch, logs):  # 5 batches into the second epoch (41 batches per epoch)
        calls["n"] += 1
        if calls["n"] == 41 + 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Snapshot, "on_epoch_end", remember)
    monkeypatch.setattr(training.EarlyStopping, "on_batch_end", interrupt)
    code, run = _train(tmp_path, "--epochs", "5", "--layers", "12", "--early-stopping", "9")
    assert code == 130 and calls["n"] == 46
    model = load_model(os.path.join(run, "model.npz"))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state["after"][k])
    assert _metrics(run)["epochs_completed"] == 1


def test_ctrl_c_before_the_first_epoch_saves_nothing(tmp_path, monkeypatch, capsys):
    from chainrule import training

    def boom(self, batch, logs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training.EarlyStopping, "on_batch_end", boom)
    code, run = _train(tmp_path, "--epochs", "3", "--layers", "5", "--early-stopping", "2")
    assert code == 130 and run is None and not (tmp_path / "runs").exists()  # no empty run folder left
    assert "nothing was saved" in capsys.readouterr().err


# ----------------------------------------------------------------------- image sets
def _fake_idx(folder, n_train=60, n_test=20):
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = np.zeros((n, 28, 28), np.uint8)
        for i, c in enumerate(labels):  # class c lights up row block c
            images[i, 2 * c:2 * c + 3, :] = 200 + rng.integers(0, 50)
        write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz"), labels.astype(np.uint8))
    return folder


def test_image_set_from_data_dir_is_scaled_and_flattened(tmp_path, capsys):
    data = _fake_idx(str(tmp_path))
    code, run = _train(tmp_path, "--dataset", "mnist", "--data-dir", data, "--epochs", "20", "--layers", "16",
                       "--lr", "0.01", "--batch-size", "10")
    assert code == 0
    m = _metrics(run)
    assert m["preprocessing"]["kind"] == "scale" and m["preprocessing"]["n_features"] == 784
    assert m["data"]["n_test"] == 20 and m["test"]["accuracy"] >= 0.9
    capsys.readouterr()
    assert cli.main(["evaluate", run]) == 0
    assert f"{m['test']['accuracy']:.4f}" in capsys.readouterr().out


# ----------------------------------------------------------------------------- search
def test_search_writes_the_run_folder_and_resumes(tmp_path, capsys):
    out = tmp_path / "runs"
    flags = ["--lr", "0.3,1", "--l2", "1e-4", "--layers", "16", "--epochs", "3", "--out", str(out), "-q"]
    assert cli.main(["search", *flags]) == 0
    run = _run_dir(out)
    assert run.endswith("-digits-search") and capsys.readouterr().out.strip() == run
    for f in ("search.jsonl", "settings.json", "results.csv", "best.json", "model.npz", "heatmap_validation.png",
              "heatmap_train.png"):
        assert os.path.getsize(os.path.join(run, f)) > 0, f
    with open(os.path.join(run, "best.json")) as f:
        best = json.load(f)
    assert best["best_params"]["lr"] in (0.3, 1.0) and best["best_params"]["layers"] == "16"
    assert best["scoring"] == "accuracy" and best["n_candidates"] == 2 and best["best_score"] > 0.5
    assert set(best["test"]) == {"loss", "accuracy"} and best["test"]["accuracy"] > 0.5   # the refit best network
    with open(os.path.join(run, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["param_lr"] for r in rows] == ["0.3", "1.0"] and {r["status"] for r in rows} == {"ok"}
    assert load_model(os.path.join(run, "model.npz")).predict(np.zeros((1, 64), np.float32)).shape == (1, 10)
    journal = os.path.join(run, "search.jsonl")
    n_lines = len(open(journal).readlines())
    assert n_lines == 3   # the header and one line per trial

    assert cli.main(["search", "--resume", run, "-q"]) == 0   # finished: nothing runs again
    assert len(open(journal).readlines()) == n_lines
    capsys.readouterr()
    assert cli.main(["search", "--resume", "--lr", "0.3,2", "--out", str(out), "-q"]) == 1   # the latest search
    err = capsys.readouterr().err
    assert "another search space" in err and "lr is [0.3, 1.0] there, [0.3, 2.0] here" in err
    assert "run without --resume" in err and len(open(journal).readlines()) == n_lines


@pytest.mark.parametrize("flags, message", [
    (["--lr", "1e-5:1e1"], "--lr '1e-5:1e1': expected START:STOP:COUNT"),
    (["--lr", "0,0.1"], "a learning rate must be > 0"),
    (["--l2", "1e-4,x"], "'x' is not a number"),
    (["--cv", "1"], "at least 2 folds"),
    (["--layers", "50", "10,a"], "token 2 ('a') is not a positive integer"),
])
def test_search_usage_errors(flags, message, capsys):
    assert cli.main(["search", *flags]) == 2
    assert message in capsys.readouterr().err


def test_search_resume_without_a_search_says_so(tmp_path, capsys):
    assert cli.main(["search", "--resume", "--out", str(tmp_path)]) == 1
    assert "no search of digits in" in capsys.readouterr().err

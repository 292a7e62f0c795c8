"""The command line under misuse: diverging runs, damaged run folders, awkward CSV files, no leftovers."""
import json
import math
import os

import numpy as np
import pytest

from chainrule import cli
from chainrule.cli import commands
from chainrule.io import load_model, save_model


def _runs(out):
    return sorted(os.listdir(out)) if os.path.isdir(out) else []


def _strict_json(path):
    def refuse(constant):
        raise AssertionError(f"{path} holds the non-JSON constant {constant}")
    with open(path) as f:
        return json.load(f, parse_constant=refuse)


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor") / "runs"
    with pytest.MonkeyPatch.context() as mp:  # the pictures are tested elsewhere, and are slow
        mp.setattr(commands, "_make_plots", lambda *a: [])
        assert cli.main(["train", "--dataset", "xor", "--epochs", "30", "--out", str(out), "--quiet"]) == 0
    return os.path.join(out, _runs(out)[0])


# --------------------------------------------------------------------------- divergence
def test_a_run_that_diverges_in_its_first_epoch_saves_nothing_and_says_why(tmp_path, capsys):
    out = tmp_path / "runs"
    code = cli.main(["train", "--dataset", "sine", "--optimizer", "sgd", "--lr", "10", "--epochs", "5",
                     "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "\n" not in err and "Traceback" not in err and "Warning" not in err
    assert "training diverged: the loss became" in err and "at epoch 1, batch" in err
    assert "try a smaller learning rate, e.g. --lr 1 (this run used 10)" in err
    assert "nothing was saved" in err
    assert not out.exists()  # no empty run folder, not even the --out folder it would have made


def _poison_after(epoch_to_poison, monkeypatch):
    """Make the weights infinite right after the snapshot of epoch ``epoch_to_poison`` (0-based), so
    the next epoch's first batch has a NaN loss; returns the dict that receives that snapshot."""
    original = commands._Snapshot.on_epoch_end
    kept = {}

    def poison(self, model, epoch, logs):
        original(self, model, epoch, logs)
        if epoch == epoch_to_poison:
            kept["state"] = model.state_dict()
            model.layers[0].kernel.data[...] = np.inf
    monkeypatch.setattr(commands._Snapshot, "on_epoch_end", poison)
    return kept


def test_a_run_that_diverges_later_keeps_the_last_finite_model(tmp_path, monkeypatch, capsys):
    kept = _poison_after(1, monkeypatch)
    out = tmp_path / "runs"
    code = cli.main(["train", "--dataset", "xor", "--epochs", "10", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err
    run = os.path.join(out, _runs(out)[0])
    assert "the loss became nan at epoch 3, batch 1; kept the model of epoch 2, the last with a finite loss" in err
    assert "--lr 0.01 (this run used 0.1)" in err and os.path.join(run, "model.npz") in err
    model = load_model(os.path.join(run, "model.npz"))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, kept["state"][k])
    m = _strict_json(os.path.join(run, "metrics.json"))
    assert m["status"] == "diverged" and m["diverged_at"] == {"epoch": 3, "batch": 1} and m["model_epoch"] == 2
    assert m["non_finite"] == [] and math.isfinite(m["test"]["loss"])
    with open(os.path.join(run, "history.csv")) as f:
        rows = f.read().splitlines()
    assert len(rows) == 4 and rows[3].split(",")[1] == "nan"  # the diverged epoch is logged as NaN
    # the kept model predicts, with a note that its run diverged
    (tmp_path / "x.csv").write_text("0,1\n1,1\n")
    assert cli.main(["predict", run, str(tmp_path / "x.csv")]) == 0
    captured = capsys.readouterr()
    assert "diverged at epoch 3; its model is the one of epoch 2" in captured.err
    assert captured.out.splitlines()[0].startswith("prediction")


def test_no_stop_on_nan_trains_every_epoch_and_still_keeps_the_finite_model(tmp_path, monkeypatch, capsys):
    kept = _poison_after(0, monkeypatch)
    out = tmp_path / "runs"
    code = cli.main(["train", "--dataset", "xor", "--epochs", "4", "--out", str(out), "--quiet", "--no-stop-on-nan"])
    assert code == 1
    assert "at epoch 2, batch 1; kept the model of epoch 1" in capsys.readouterr().err
    run = os.path.join(out, _runs(out)[0])
    with open(os.path.join(run, "history.csv")) as f:
        assert len(f.read().splitlines()) == 1 + 4
    model = load_model(os.path.join(run, "model.npz"))
    np.testing.assert_array_equal(model.layers[0].kernel.data, kept["state"]["0.kernel"])
    assert "stop_on_nan = false" in (open(os.path.join(run, "config.toml")).read())


def test_metrics_json_is_strict_with_non_finite_values_flagged(tmp_path):
    p = tmp_path / "m.json"
    commands._write_json(str(p), {"train": {"loss": float("nan"), "r2": 0.5},
                                  "curve": [1.0, float("inf"), np.float32("-inf")]})
    m = _strict_json(p)
    assert m == {"train": {"loss": None, "r2": 0.5}, "curve": [1.0, None, None],
                 "non_finite": ["train.loss", "curve[1]", "curve[2]"]}


def test_predict_and_evaluate_refuse_a_nan_model(xor_run, tmp_path, capsys):
    run = tmp_path / "nanrun"
    run.mkdir()
    for name in ("metrics.json", "config.toml"):
        (run / name).write_bytes(open(os.path.join(xor_run, name), "rb").read())
    model = load_model(os.path.join(xor_run, "model.npz"))
    model.layers[0].kernel.data[0, 0] = np.nan
    save_model(model, run / "model.npz")
    (tmp_path / "x.csv").write_text("0,1\n")
    capsys.readouterr()
    for argv in (["predict", str(run), str(tmp_path / "x.csv")], ["evaluate", str(run)]):
        assert cli.main(argv) == 1
        err = capsys.readouterr().err
        assert "weights hold NaN or infinite values (its training diverged)" in err and "model.npz" in err


def test_predict_refuses_non_finite_inputs_and_outputs(xor_run, tmp_path, capsys):
    (tmp_path / "x.csv").write_text("0,1\n1e300,1\n")
    assert cli.main(["predict", xor_run, str(tmp_path / "x.csv")]) == 1
    assert "1 of the 2 samples (rows 2) are beyond float32's range" in capsys.readouterr().err
    run = tmp_path / "hot"  # finite weights so large that the outputs overflow
    run.mkdir()
    (run / "metrics.json").write_bytes(open(os.path.join(xor_run, "metrics.json"), "rb").read())
    model = load_model(os.path.join(xor_run, "model.npz"))
    for p in model.parameters():
        p.data[...] = 3e38
    save_model(model, run / "model.npz")
    (tmp_path / "y.csv").write_text("0,1\n1,1\n")
    assert cli.main(["predict", str(run), str(tmp_path / "y.csv")]) == 1
    assert "gives NaN or infinite outputs for 2 of the 2 rows (data rows 1, 2)" in capsys.readouterr().err


# ------------------------------------------------------------------------- damaged folders
@pytest.mark.parametrize("section,key", [("data", "task"), ("data", "target_encoding"),
                                         ("preprocessing", "n_features"), ("config", "dataset")])
def test_a_damaged_run_folder_names_the_missing_key_and_file(xor_run, tmp_path, capsys, section, key):
    run = tmp_path / "damaged"
    run.mkdir()
    (run / "model.npz").write_bytes(open(os.path.join(xor_run, "model.npz"), "rb").read())
    meta = json.load(open(os.path.join(xor_run, "metrics.json")))
    del meta[section][key]
    (run / "metrics.json").write_text(json.dumps(meta))
    (tmp_path / "x.csv").write_text("0,1\n")
    capsys.readouterr()
    assert cli.main(["predict", str(run), str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "KeyError" not in err
    assert f"metrics.json is damaged: its {section!r} section has no {key!r} key" in err


# ------------------------------------------------------------------------------ CSV input
def _predict(run, tmp_path, content, capsys, name="in.csv"):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    capsys.readouterr()
    code = cli.main(["predict", run, str(p)])
    out, err = capsys.readouterr()
    return code, out.splitlines()[1:], err.strip()


def test_csv_line_endings_and_byte_order_mark(xor_run, tmp_path, capsys):
    expected = _predict(xor_run, tmp_path, "0,0\n0,1\n1,1\n", capsys)
    assert expected[0] == 0 and len(expected[1]) == 3
    for content in ("0,0\r0,1\r1,1\r", "0,0\r\n0,1\r\n1,1", "\ufeff0,0\n0,1\n1,1\n",
                    b"\xef\xbb\xbf0,0\r0,1\r1,1", "0,0\n\n0,1\n  \n1,1\n"):
        code, rows, err = _predict(xor_run, tmp_path, content, capsys)
        assert (code, rows) == (0, expected[1]), (content, err)
        assert "header" not in err


def test_csv_header_only_when_not_numeric_and_said(xor_run, tmp_path, capsys):
    code, rows, err = _predict(xor_run, tmp_path, "\ufeffx1,x2\n0,0\n0,1\n1,1\n", capsys)
    assert code == 0 and len(rows) == 3
    assert "note: line 1 of" in err and "is taken as a header" in err and "x1,x2" in err
    # a typo in the first data row is an error naming it, not a silently dropped header
    code, rows, err = _predict(xor_run, tmp_path, "0,0.x\n0,1\n1,1\n", capsys)
    assert code == 1 and "line 1, column 2: '0.x' is not a number" in err
    code, rows, err = _predict(xor_run, tmp_path, "0,0\n1,nan\n", capsys)
    assert code == 1 and "line 2, column 2: 'nan' is not a finite number" in err


def test_csv_structure_errors_name_the_line(xor_run, tmp_path, capsys):
    code, _, err = _predict(xor_run, tmp_path, "0,0\n0,1\n1,1,1\n", capsys)
    assert code == 1 and "line 3 has 3 columns, but line 1 (the first data row) has 2" in err
    code, _, err = _predict(xor_run, tmp_path, "0,0\n1," + "9" * 200_000 + "\n", capsys)
    assert code == 1 and "line 2: a field is longer than 131072 characters" in err and "\n" not in err
    code, _, err = _predict(xor_run, tmp_path, "0,0\n\"1,1\n", capsys)
    assert code == 1 and "line" in err and "Traceback" not in err
    code, _, err = _predict(xor_run, tmp_path, b"0,0\n\xff\xfe,1\n", capsys)
    assert code == 1 and "cannot read" in err and "utf-8" in err


# ----------------------------------------------------------------------------- leftovers
def test_a_failure_before_the_first_epoch_leaves_no_run_folder(tmp_path, monkeypatch, capsys):
    from chainrule import training

    def fail(self, batch, logs):
        raise ValueError("simulated failure in the first batch")
    monkeypatch.setattr(commands._Snapshot, "on_epoch_end", lambda *a: None)
    monkeypatch.setattr(training.Callback, "on_batch_end", fail)
    out = tmp_path / "runs"
    assert cli.main(["train", "--dataset", "xor", "--epochs", "3", "--out", str(out), "--quiet"]) == 1
    assert "simulated failure" in capsys.readouterr().err
    assert not out.exists()


def test_absurd_layer_sizes_are_one_line_errors(tmp_path, capsys):
    out = str(tmp_path / "runs")
    assert cli.main(["train", "--dataset", "xor", "--layers", "1000000000", "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--layers: a hidden layer of 1000000000 units is beyond the 1000000" in err and "Traceback" not in err
    assert cli.main(["train", "--dataset", "xor", "--layers", "1000000,1000000", "--out", out, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "the network has 1,000,006,000,002 weights and needs about" in err and "use smaller layers" in err
    assert not os.path.exists(out)

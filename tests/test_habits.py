"""Keras', PyTorch's and scikit-learn's habits: class_weight, float64 inputs, random_state, CLI flags,
figures that show in notebooks, and an import that pulls in nothing heavy."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.datasets import train_test_split
from chainrule.training import trainer as _trainer


def _model(n_out=2, act="softmax"):
    cr.manual_seed(0)
    model = nn.Sequential([nn.Dense(n_out, activation=act, input_dim=2)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy" if n_out > 1 else "binary_crossentropy")
    return model


X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.2]], dtype=np.float32)
Y = np.array([0, 1, 1, 0])


def test_class_weight_equals_the_same_sample_weight():
    a, b = _model(), _model()
    a.fit(X, Y, epochs=3, batch_size=2, shuffle=False, verbose=0, class_weight={0: 3.0, 1: 0.5})
    b.fit(X, Y, epochs=3, batch_size=2, shuffle=False, verbose=0, sample_weight=np.where(Y == 0, 3.0, 0.5))
    np.testing.assert_allclose(a[0].kernel.numpy(), b[0].kernel.numpy(), rtol=1e-6)
    c = _model()
    c.fit(X, Y, epochs=3, batch_size=2, shuffle=False, verbose=0)
    assert not np.allclose(a[0].kernel.numpy(), c[0].kernel.numpy())


def test_class_weight_balanced_and_one_hot_targets():
    y = np.array([0, 0, 0, 1])
    w = _trainer._class_weights("balanced", y, None)
    np.testing.assert_allclose(w, [4 / 6, 4 / 6, 4 / 6, 2.0])   # n / (classes * count)
    np.testing.assert_allclose(_trainer._class_weights({1: 5.0}, np.eye(2)[y], None), [1, 1, 1, 5])
    with pytest.raises(ValueError, match="class_weight must be a dict .* or 'balanced'"):
        _model().fit(X, Y, verbose=0, class_weight="auto")
    with pytest.raises(ValueError, match=r"class_weight\[1\] must be a finite number >= 0"):
        _model().fit(X, Y, verbose=0, class_weight={1: -1.0})
    with pytest.raises(ValueError, match="needs class labels"):
        _trainer._class_weights({0: 1.0}, np.array([0.5, 1.0]), None)


def test_float64_input_is_cast_with_one_warning(monkeypatch):
    monkeypatch.setattr(_trainer, "_CAST_WARNED", False)
    model = _model()
    with pytest.warns(_trainer.DtypeCastWarning, match="float64 input cast to the model's float32"):
        out = model(X.astype(np.float64))
    assert out.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.predict(X.astype(np.float64)).dtype == np.float32   # once per process
        model.fit(X.astype(np.float64), Y, verbose=0)


def test_random_state_is_seed():
    Xs, ys = np.arange(40).reshape(20, 2), np.arange(20) % 2
    a = train_test_split(Xs, ys, random_state=3, stratify=ys)
    b = train_test_split(Xs, ys, seed=3, stratify=ys)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert [len(p) for p in train_test_split(Xs, train_size=0.75, random_state=0)] == [15, 5]
    with pytest.raises(TypeError, match="random_state or seed"):
        train_test_split(Xs, random_state=1, seed=1)


def test_cli_threads_no_plots_and_activation_help(tmp_path, capsys):
    from chainrule import cli
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = cr.get_num_threads()
    try:
        code = cli.main(["train", "--dataset", "xor", "--epochs", "2", "--no-plots", "--threads", "1", "--quiet",
                         "--out", str(tmp_path)])
        assert code == 0
        assert cr.get_num_threads() == 1
    finally:
        threadpoolctl.threadpool_limits(limits=before)
    run = capsys.readouterr().out.strip().splitlines()[-1]
    import os
    assert not [f for f in os.listdir(run) if f.endswith(".png")]
    assert cli.main(["train", "--threads", "0", "--out", str(tmp_path)]) == 2
    assert "--threads: must be >= 1" in capsys.readouterr().err
    for command in ("train", "search"):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args([command, "--help"])
        text = " ".join(capsys.readouterr().out.split("--activation NAME")[-1][:300].split())
        assert "relu, leaky_relu, elu, softplus" in text, (command, text)


def test_figures_show_themselves_once_in_a_notebook():
    from chainrule import plot
    fig = plot.plot_history({"loss": [1.0, 0.5], "val_loss": [1.2, 0.7]}, title="digits: training vs validation")
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.get_suptitle() == "digits: training vs validation"
    if "matplotlib.pyplot" in sys.modules:  # made outside pyplot: a notebook's inline backend won't draw it again
        assert fig.number not in sys.modules["matplotlib.pyplot"].get_fignums() if hasattr(fig, "number") else True


def test_every_plot_takes_ax_and_returns_its_figure():
    from matplotlib.figure import Figure

    from chainrule import plot
    fig = Figure()
    axes = fig.subplots(1, 3)
    rng = np.random.default_rng(0)
    assert plot.plot_history({"loss": [1, 0.5]}, ax=axes[0]) is fig
    assert plot.plot_confusion_matrix([0, 1, 1], [0, 1, 0], ax=axes[1], title="digits, test set") is fig
    assert axes[1].get_title() == "confusion matrix: digits, test set"
    assert plot.plot_grid_search(np.eye(2), [1, 2], [3, 4], ax=axes[2]) is fig
    fig2 = Figure()
    assert plot.plot_images(rng.random((2, 4, 4)), [0, 1], [0, 0], ax=fig2.subplots(1, 2)) is fig2
    assert fig2.get_suptitle() == "true / predicted (wrong in red)"
    fig3 = Figure()
    assert plot.plot_activations(["relu"], ax=fig3.subplots(1, 2)) is fig3
    assert plot.plot_hidden_units(lambda P: P, ax=Figure().subplots(1, 2), resolution=5).axes
    with pytest.raises(ValueError, match="expected ax to be a sequence of 2 Axes"):
        plot.plot_activations(["relu"], ax=axes[0])


def test_hidden_units_colourbar_ticks_are_rounded():
    from chainrule import plot
    fig = plot.plot_hidden_units(lambda P: np.tanh(P @ np.array([[0.3137, -1.1], [0.77, 0.2]])), resolution=9)
    cbar = fig.axes[-1]
    fig.canvas.draw()
    labels = [t.get_text() for t in cbar.get_yticklabels()]
    assert labels and all(len(t.replace("\u2212", "-").lstrip("-")) <= 5 for t in labels), labels


def test_import_chainrule_pulls_in_nothing_heavy():
    code = ("import sys, time; t = time.perf_counter(); import chainrule; dt = time.perf_counter() - t; "
            "heavy = [m for m in ('matplotlib', 'sklearn', 'scipy', 'torch', 'keras', 'tqdm', 'threadpoolctl', 'joblib', "
            "'dask', 'chainrule.keras', 'chainrule.torch', 'chainrule.search', 'chainrule.convert') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plot_history_displays_as_a_picture_in_a_fresh_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from chainrule.plot import plot_history\n"
                                          "plot_history({'loss': [1.0, 0.5], 'val_loss': [1.1, 0.8]})")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["execute_result"]
    assert "image/png" in outputs[0].data


def test_namespaces_answer_test_runners_probes_as_absent():
    # `make test` collects chainrule/ for its doctests: pytest and unittest look up pytest_plugins,
    # pytestmark and setUpModule on every module, and must get an AttributeError, not the
    # NotImplementedError that a missing Keras or PyTorch feature gives
    import chainrule.keras as keras
    import chainrule.keras.utils
    import chainrule.torch as torch
    import chainrule.torch.vision.datasets
    for module in (keras, keras.layers, chainrule.keras.utils, torch, torch.nn, chainrule.torch.vision.datasets):
        for name in ("pytest_plugins", "pytestmark", "setUpModule", "tearDownModule", "setup_module"):
            assert not hasattr(module, name), (module.__name__, name)
    with pytest.raises(NotImplementedError, match="keras.layers.Conv3D"):
        keras.layers.Conv3D(10, 2)   # a listed missing name is a stand-in that raises when used

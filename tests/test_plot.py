"""Tests for chainrule.plot: every figure renders, saves a non-blank PNG, and
shows what it claims to show."""

import matplotlib

matplotlib.use("Agg")

import os

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.figure import Figure

from chainrule import plot as cplot


# ---------------------------------------------------------------- helpers

def assert_png_not_blank(path, min_std=0.03, min_colours=8):
    assert os.path.isfile(path)
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    rgb = img[..., :3]
    assert rgb.std() > min_std
    colours = np.unique((rgb.reshape(-1, 3) * 255).round().astype(np.uint8), axis=0)
    assert len(colours) > min_colours
    return img


def only_file(tmp_path, name):
    """The save is atomic: no temporary file is left next to the PNG."""
    assert sorted(os.listdir(tmp_path)) == [name]


def two_blobs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-1.0, 0.5, (n // 2, 2)), rng.normal(1.0, 0.5, (n // 2, 2))])
    y = np.repeat([0, 1], n // 2)
    return X, y


def linear_predict(Z):
    return (Z[:, 0] + Z[:, 1] > 0).astype(int)


HISTORY = {
    "loss": [1.0, 0.6, 0.4, 0.3, 0.25],
    "accuracy": [0.5, 0.7, 0.8, 0.85, 0.9],
    "val_loss": [1.1, 0.7, 0.5, 0.45, 0.44],
    "val_accuracy": [0.45, 0.65, 0.75, 0.8, 0.82],
}


# ---------------------------------------------------------------- history

def test_plot_history_saves_and_has_val_lines(tmp_path):
    p = tmp_path / "history.png"
    fig = cplot.plot_history(HISTORY, path=p)
    assert isinstance(fig, Figure)
    assert_png_not_blank(p)
    only_file(tmp_path, "history.png")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax, key in zip(axes, ["loss", "accuracy"]):
        lines = ax.get_lines()
        assert len(lines) == 2
        labels = [l.get_label() for l in lines]
        assert labels == ["train", "validation"]
        np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, 6))
        np.testing.assert_allclose(lines[0].get_ydata(), HISTORY[key])
        np.testing.assert_allclose(lines[1].get_ydata(), HISTORY["val_" + key])


def test_plot_history_object_train_only_and_metric_selection():
    class H:
        history = {"accuracy": [0.1, 0.2, 0.3], "loss": [3.0, 2.0, 1.0]}

    fig = cplot.plot_history(H())
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]  # loss first
    assert all(len(ax.get_lines()) == 1 for ax in fig.axes)
    fig = cplot.plot_history(HISTORY, metrics=["accuracy"])
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "accuracy"


def test_plot_history_bad_input():
    with pytest.raises(ValueError, match="plot_history.*unknown"):
        cplot.plot_history(HISTORY, metrics=["f1"])
    with pytest.raises(ValueError, match=r"plot_history.*1-D.*shape \(2, 2\)"):
        cplot.plot_history({"loss": [[1, 2], [3, 4]]})
    with pytest.raises(ValueError, match="plot_history.*dict"):
        cplot.plot_history([1, 2, 3])


# ---------------------------------------------------------------- decision regions

@pytest.mark.parametrize("kind", ["labels", "proba_col", "proba_2"])
def test_plot_decision_regions_output_kinds(tmp_path, kind):
    X, y = two_blobs()

    def predict(Z):
        s = 1.0 / (1.0 + np.exp(-(Z[:, 0] + Z[:, 1])))
        if kind == "labels":
            return (s > 0.5).astype(int)
        if kind == "proba_col":
            return s[:, None]
        return np.column_stack([1 - s, s])

    p = tmp_path / "regions.png"
    fig = cplot.plot_decision_regions(predict, X, y, path=p, resolution=60)
    assert_png_not_blank(p)
    ax = fig.axes[0]
    # padded bounding box of X
    assert ax.get_xlim()[0] < X[:, 0].min() and ax.get_xlim()[1] > X[:, 0].max()
    assert ax.get_ylim()[0] < X[:, 1].min() and ax.get_ylim()[1] > X[:, 1].max()
    # one scatter per class, all points drawn
    offsets = [c.get_offsets() for c in ax.collections if hasattr(c, "get_offsets")
               and len(c.get_offsets()) and c.get_label() in ("0", "1")]
    assert sum(len(o) for o in offsets) == len(X)


def test_plot_decision_regions_into_given_axes_and_grid_shape():
    X, y = two_blobs()
    seen = []

    def predict(Z):
        seen.append(Z.shape)
        return linear_predict(Z)

    fig = Figure()
    ax = fig.subplots()
    out = cplot.plot_decision_regions(predict, X, y, resolution=30, ax=ax)
    assert out is fig
    assert seen == [(900, 2)]


def test_plot_decision_regions_bad_shapes():
    X, y = two_blobs()
    with pytest.raises(ValueError, match=r"plot_decision_regions.*\(n, 2\).*\(40, 3\)"):
        cplot.plot_decision_regions(linear_predict, np.zeros((40, 3)), y)
    with pytest.raises(ValueError, match=r"plot_decision_regions.*40 entries.*39"):
        cplot.plot_decision_regions(linear_predict, X, y[:-1])
    with pytest.raises(ValueError, match=r"plot_decision_regions.*predict.*shape"):
        cplot.plot_decision_regions(lambda Z: np.zeros(3), X, y, resolution=10)


# ---------------------------------------------------------------- hidden units

def test_plot_hidden_units_axes_count(tmp_path):
    X, _ = two_blobs()
    W = np.array([[1.0, -1.0, 0.5, 2.0, 0.0], [0.5, 1.0, -2.0, 0.0, 1.0]])
    b = np.array([0.0, 0.5, -0.5, 0.2, -1.0])

    p = tmp_path / "hidden.png"
    fig = cplot.plot_hidden_units(lambda Z: np.tanh(Z @ W + b), X=X, path=p, resolution=40)
    assert_png_not_blank(p)
    assert len(fig.axes) == W.shape[1] + 1  # 5 units + 1 shared colour bar
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 5
    # each image is unit h over the plane: check a corner against a direct evaluation
    ext = images[0].get_extent()
    corner = np.array([[ext[0], ext[2]]])
    np.testing.assert_allclose(images[1].get_array()[0, 0], np.tanh(corner @ W + b)[0, 1])


def test_plot_hidden_units_extent_and_bad_output():
    fig = cplot.plot_hidden_units(lambda Z: Z[:, 0] ** 2, extent=(-2, 2, -1, 3), resolution=20)
    assert len(fig.axes) == 2
    assert tuple(fig.axes[0].get_images()[0].get_extent()) == (-2, 2, -1, 3)
    with pytest.raises(ValueError, match=r"plot_hidden_units.*\(400, H\).*\(3, 4\)"):
        cplot.plot_hidden_units(lambda Z: np.zeros((3, 4)), resolution=20)
    with pytest.raises(ValueError, match=r"plot_hidden_units.*\(n, 2\).*\(5,\)"):
        cplot.plot_hidden_units(lambda Z: Z, X=np.zeros(5))
    with pytest.raises(ValueError, match="plot_hidden_units.*extent"):
        cplot.plot_hidden_units(lambda Z: Z, extent=(1, 0, 0, 1))


# ---------------------------------------------------------------- grid search

def test_plot_grid_search_ticks_and_annotations(tmp_path):
    etas = [0.001, 0.01, 0.1]
    lams = [0.0, 1e-4, 1e-2, 1.0]
    scores = np.arange(12, dtype=float).reshape(3, 4) / 12
    p = tmp_path / "grid.png"
    fig = cplot.plot_grid_search(scores, etas, lams, title="val accuracy", path=p)
    assert_png_not_blank(p)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.0001", "0.01", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.001", "0.01", "0.1"]
    assert ax.get_ylabel() == "learning rate" and ax.get_xlabel() == "lambda"
    assert ax.get_title() == "val accuracy"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 12
    assert texts[0] == "0.000" and texts[5] == f"{5 / 12:.3f}"


def test_plot_grid_search_nan_and_bad_shape():
    scores = np.array([[0.5, np.nan], [0.7, 0.9]])
    fig = cplot.plot_grid_search(scores, [1, 2], ["a", "b"], fmt=".1%")
    assert [t.get_text() for t in fig.axes[0].texts] == ["50.0%", "nan", "70.0%", "90.0%"]
    with pytest.raises(ValueError, match=r"plot_grid_search.*\(2, 3\).*\(3, 2\)"):
        cplot.plot_grid_search(np.zeros((3, 2)), [1, 2], [1, 2, 3])


# ---------------------------------------------------------------- confusion matrix

def test_confusion_matrix_values():
    y_true = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 2, 0, 2]
    C = cplot.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(C, [[1, 1, 0], [0, 2, 1], [1, 0, 3]])
    assert C.dtype.kind == "i" and C.sum() == len(y_true)
    assert cplot.confusion_matrix([0, 1], [1, 1], num_classes=4).shape == (4, 4)
    onehot = np.eye(3)[y_true]
    np.testing.assert_array_equal(cplot.confusion_matrix(onehot, y_pred), C)


def test_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match="confusion_matrix.*same length"):
        cplot.confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="confusion_matrix.*num_classes"):
        cplot.confusion_matrix([0, 5], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match="confusion_matrix.*integer"):
        cplot.confusion_matrix([0.5, 1.0], [0, 1])


def test_plot_confusion_matrix(tmp_path):
    y_true = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 2, 0, 2]
    p = tmp_path / "cm.png"
    fig = cplot.plot_confusion_matrix(y_true, y_pred, labels=["cat", "dog", "bird"], path=p)
    assert_png_not_blank(p)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "0", "2", "1", "1", "0", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "bird"]
    fig = cplot.plot_confusion_matrix(y_true, y_pred, normalize=True)
    assert [t.get_text() for t in fig.axes[0].texts][:3] == ["0.50", "0.50", "0.00"]
    np.testing.assert_allclose(fig.axes[0].get_images()[0].get_array().sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="plot_confusion_matrix.*normalize"):
        cplot.plot_confusion_matrix(y_true, y_pred, normalize="rows")
    with pytest.raises(ValueError, match="plot_confusion_matrix.*same length"):
        cplot.plot_confusion_matrix(y_true, y_pred[:-1])


# ---------------------------------------------------------------- images

def test_plot_images_titles_and_colours(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((10, 8, 8))
    labels = np.arange(10) % 3
    preds = labels.copy()
    preds[[2, 7]] = (preds[[2, 7]] + 1) % 3
    p = tmp_path / "images.png"
    fig = cplot.plot_images(images, labels, preds, class_names=["a", "b", "c"], ncols=4, path=p)
    assert_png_not_blank(p)
    assert len(fig.axes) == 10  # empty slots of the 3x4 grid removed
    titles = [ax.title for ax in fig.axes]
    assert titles[0].get_text() == "a / a"
    assert titles[2].get_text() == "c / a"
    red = matplotlib.colors.to_rgba(cplot._WRONG)
    wrong = [i for i, t in enumerate(titles) if matplotlib.colors.to_rgba(t.get_color()) == red]
    assert wrong == [2, 7]


def test_plot_images_flat_and_rgb():
    flat = np.random.default_rng(2).random((5, 16))
    fig = cplot.plot_images(flat, labels=[0, 1, 2, 3, 4])
    assert fig.axes[0].get_images()[0].get_array().shape == (4, 4)
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2", "3", "4"]
    rgb = np.random.default_rng(3).integers(0, 256, (3, 6, 6, 3))
    fig = cplot.plot_images(rgb.astype(float))  # floats in [0, 255] are rescaled
    arr = fig.axes[0].get_images()[0].get_array()
    assert arr.shape == (6, 6, 3) and arr.max() <= 1.0


def test_plot_images_bad_shapes():
    with pytest.raises(ValueError, match=r"plot_images.*perfect square.*\(3, 10\)"):
        cplot.plot_images(np.zeros((3, 10)))
    with pytest.raises(ValueError, match=r"plot_images.*\(n, h, w\).*\(3, 4, 4, 2\)"):
        cplot.plot_images(np.zeros((3, 4, 4, 2)))
    with pytest.raises(ValueError, match="plot_images.*labels.*3 entries.*2"):
        cplot.plot_images(np.zeros((3, 4, 4)), labels=[0, 1])


# ---------------------------------------------------------------- activations (needs autodiff)

def test_plot_activations_uses_autodiff(tmp_path):
    x = np.linspace(-3, 3, 61)
    p = tmp_path / "act.png"
    fig = cplot.plot_activations(x=x, path=p)
    assert_png_not_blank(p)
    ax_f, ax_d = fig.axes
    names = [l.get_label() for l in ax_d.get_lines() if not l.get_label().startswith("_")]
    assert names == list(cplot.NOTES_ACTIVATIONS)
    assert set(cplot.NOTES_ACTIVATIONS) < set(cplot.ACTIVATION_NAMES)   # every table name can be drawn
    fig = cplot.plot_activations(cplot.ACTIVATION_NAMES, x=x)
    assert [l.get_label() for l in fig.axes[1].get_lines() if not l.get_label().startswith("_")] == \
        list(cplot.ACTIVATION_NAMES)
    d = {l.get_label(): np.asarray(l.get_ydata()) for l in ax_d.get_lines()}
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(d["identity"], 1.0)
    np.testing.assert_allclose(d["sigmoid"], s * (1 - s), atol=1e-10)
    np.testing.assert_allclose(d["tanh"], 1 - np.tanh(x) ** 2, atol=1e-10)
    np.testing.assert_allclose(d["softplus"], s, atol=1e-10)
    away = np.abs(x) > 1e-9
    np.testing.assert_allclose(d["relu"][away], (x[away] > 0).astype(float))


def test_plot_activations_bad_input():
    with pytest.raises(ValueError, match="plot_activations.*swish"):
        cplot.plot_activations(names=["relu", "swish"])
    with pytest.raises(ValueError, match=r"plot_activations.*1-D.*\(2, 2\)"):
        cplot.plot_activations(x=np.zeros((2, 2)))

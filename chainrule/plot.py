"""Figures for chainrule: training curves, decision regions, hidden units, ...

This module sits at the edge of the package: nothing else in ``chainrule``
imports it, and it is the only place that imports matplotlib.  Every figure
is built with the object-oriented API (:class:`matplotlib.figure.Figure`),
never through ``pyplot``'s global state, so it works headless, in threads and
inside test runs without choosing a backend.

Every plotting function returns the :class:`~matplotlib.figure.Figure`, takes
``ax=`` (an Axes, or a sequence of them for the figures with several panels)
to draw into a figure of your own, ``title=`` to say which data set and split
the picture shows, and ``path=None``; when ``path`` is given the figure is also
written there as a PNG, atomically (a temporary file in the same directory is
renamed over the target), so a reader never sees a half-written image.

The figures made here display themselves in Jupyter: they have a
``_repr_png_``, so the last expression of a cell shows the picture (in a fresh
kernel too, without ``%matplotlib inline``), and only once.  The confusion
matrix and the decision regions are drawn by scikit-learn's
:class:`~sklearn.metrics.ConfusionMatrixDisplay` and
:class:`~sklearn.inspection.DecisionBoundaryDisplay`.

Functions
---------
plot_history           loss / metric curves per epoch, train vs validation
plot_decision_regions  class regions of a 2-D classifier with the data on top
plot_hidden_units      response of each hidden unit over the input plane
plot_grid_search       annotated heatmap of scores over two hyper-parameters
confusion_matrix       the confusion matrix as an int array (NumPy only)
plot_confusion_matrix  annotated confusion matrix
plot_images            grid of images titled with label / prediction
plot_activations       activation functions and their autodiff derivatives
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

import io as _bytes_io

import matplotlib
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure as _MplFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from chainrule.ops import activations as _activations

if TYPE_CHECKING:
    import matplotlib.axes
    import matplotlib.figure

    from chainrule._typing import ArrayLike, PathLike
    from chainrule.training.callbacks import History

__all__ = [
    "plot_history",
    "plot_decision_regions",
    "plot_hidden_units",
    "plot_grid_search",
    "confusion_matrix",
    "plot_confusion_matrix",
    "plot_images",
    "plot_activations",
]

#: the elementwise activations of the table (chainrule.ops.activations), in its order
ACTIVATION_NAMES = tuple(n for n in _activations.NAMES if _activations.spec(n) is not None)
#: the ones the lecture notes use, drawn by default (the table's first seven; the rest are Keras' and PyTorch's)
NOTES_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus")

_WRONG = "#d62728"  # red for wrong predictions
_RIGHT = "black"


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

class Figure(_MplFigure):
    """A matplotlib Figure that shows itself in Jupyter (``_repr_png_``), with no pyplot state.

    Its canvas is Agg's, so ``fig.savefig`` works at once; ``pyplot.show()`` knows nothing of it,
    which is what keeps a returned figure from being drawn twice in a notebook.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(self)

    def _repr_png_(self):
        buf = _bytes_io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


def _axes(fname, ax, n, figsize):
    """(figure, list of n Axes): new ones, or those given by ``ax`` (one Axes, or a sequence)."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, None
    axes = list(np.ravel(np.asarray(ax, dtype=object))) if not hasattr(ax, "figure") else [ax]
    if len(axes) < n or not all(hasattr(a, "figure") for a in axes):
        raise ValueError(f"{fname}: expected ax to be {'an Axes' if n == 1 else f'a sequence of {n} Axes'}, "
                         f"got {ax!r}")
    return axes[0].figure, axes[:n]


def _round_ticks(cbar):
    """A colour bar with at most 6 ticks, labelled with 3 significant digits."""
    cbar.locator = MaxNLocator(nbins=5)
    cbar.formatter = FuncFormatter(lambda v, _: f"{v:.3g}")
    cbar.update_ticks()
    return cbar


def _save(fig, path, dpi=100):
    """Write ``fig`` to ``path`` as PNG atomically, through the project's one atomic writer."""
    if path is None:
        return
    from chainrule.io import _atomic_write
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi))


def _class_colors(k):
    """``k`` distinct colours (qualitative palette while it lasts)."""
    if k <= 10:
        base = matplotlib.colormaps["tab10"]
        return [base(i) for i in range(k)]
    if k <= 20:
        base = matplotlib.colormaps["tab20"]
        return [base(i) for i in range(k)]
    base = matplotlib.colormaps["viridis"]
    return [base(t) for t in np.linspace(0.0, 1.0, k)]


def _padded_box(X, pad=0.1):
    """(xmin, xmax, ymin, ymax) of the columns of X, padded by ``pad`` * range."""
    lo = X.min(axis=0).astype(float)
    hi = X.max(axis=0).astype(float)
    span = hi - lo
    margin = np.where(span > 0, pad * span, 0.5)
    lo, hi = lo - margin, hi + margin
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _plane_grid(extent, resolution):
    """Points of a ``resolution`` x ``resolution`` grid over ``extent``.

    Returns ``(xs, ys, points)`` where ``points`` has shape ``(res*res, 2)``
    in row-major order with rows running along y, so that
    ``values.reshape(res, res)`` is an image with ``origin='lower'``.
    """
    xmin, xmax, ymin, ymax = extent
    xs = np.linspace(xmin, xmax, resolution)
    ys = np.linspace(ymin, ymax, resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([xx.ravel(), yy.ravel()])


def _check_resolution(fname, resolution):
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise ValueError(f"{fname}: expected resolution to be an int >= 2, got {resolution!r}")
    return int(resolution)


def _as_labels(fname, what, a, n=None):
    """Turn labels, one-hot rows or (n, 1) columns into a 1-D array."""
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    elif a.ndim == 2 and a.shape[1] > 1:
        a = np.argmax(a, axis=1)
    if a.ndim != 1:
        raise ValueError(
            f"{fname}: expected {what} with shape (n,) (or one-hot (n, C)), got shape {a.shape}"
        )
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{fname}: expected {what} with {n} entries, got {a.shape[0]}")
    return a


def _fmt_value(v):
    """Tick label for a hyper-parameter value (``1e-3`` -> ``'0.001'``)."""
    if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool):
        return f"{v:g}"
    return str(v)


def _text_color(rgba):
    """Black or white, whichever reads better on the background ``rgba``."""
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _annotate_cells(ax, im, values, texts):
    """Write ``texts[i][j]`` in the centre of each heatmap cell."""
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            colour = "black" if not np.isfinite(v) else _text_color(im.cmap(im.norm(v)))
            ax.text(j, i, texts[i][j], ha="center", va="center", color=colour, fontsize=9)


# ----------------------------------------------------------------------------
# training curves
# ----------------------------------------------------------------------------

def plot_history(history: Mapping[str, Sequence[float]] | History, metrics: Sequence[str] | None = None,
                 path: PathLike | None = None, ax: matplotlib.axes.Axes | Sequence[matplotlib.axes.Axes] | None = None,
                 title: str | None = None) -> matplotlib.figure.Figure:
    """One panel per metric (loss first): training vs validation per epoch.

    Parameters
    ----------
    history : dict or object with a ``.history`` dict
        Keras-style ``{'loss': [...], 'accuracy': [...], 'val_loss': [...],
        'val_accuracy': [...]}``.  Validation series are the keys with a
        ``val_`` prefix and are drawn in the same panel as their training
        series (dashed).
    metrics : sequence of str, optional
        Which metrics to show (names without ``val_``).  Default: every
        training key in the history, ``loss`` first.
    path : str or os.PathLike, optional
        Where to save the PNG.
    ax : Axes or sequence of Axes, optional
        One Axes per metric to draw into (default: a new figure).
    title : str, optional
        What was trained on, e.g. ``'digits: train vs validation'``; the figure's heading.

    Returns
    -------
    Figure

    The x axis is the epoch number, starting at 1.
    """
    fname = "plot_history"
    if not isinstance(history, Mapping) and hasattr(history, "history"):
        history = history.history
    if not isinstance(history, Mapping):
        raise ValueError(
            f"{fname}: expected a dict of metric -> list or an object with a .history dict, "
            f"got {type(history).__name__}"
        )
    if not history:
        raise ValueError(f"{fname}: expected a non-empty history, got an empty dict")

    series = {}
    for key, values in history.items():
        arr = np.asarray(values, dtype=float)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"{fname}: expected history[{key!r}] to be a non-empty 1-D sequence, "
                f"got shape {arr.shape}"
            )
        series[str(key)] = arr

    if metrics is None:
        names = [k for k in series if not k.startswith("val_")]
        # validation-only entries (no matching training key) still get a panel
        names += [k[4:] for k in series if k.startswith("val_") and k[4:] not in series]
        names.sort(key=lambda k: k != "loss")  # stable: loss first, rest in order
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        names = [str(m) for m in metrics]
        if not names:
            raise ValueError(f"{fname}: expected at least one metric, got an empty list")
        missing = [m for m in names if m not in series and "val_" + m not in series]
        if missing:
            raise ValueError(
                f"{fname}: expected metrics among {sorted(series)}, got unknown {missing}"
            )

    ncols = len(names)
    fig, axes = _axes(fname, ax, ncols, (4.2 * ncols, 3.4))
    if axes is None:
        axes = np.atleast_1d(fig.subplots(1, ncols, squeeze=False)[0])
    if title is not None:
        fig.suptitle(title)
    for ax, name in zip(axes, names):
        if name in series:
            y = series[name]
            ax.plot(np.arange(1, y.size + 1), y, "-", color="C0", label="train")
        if "val_" + name in series:
            y = series["val_" + name]
            ax.plot(np.arange(1, y.size + 1), y, "--", color="C1", label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        n_epochs = max(len(l.get_xdata()) for l in ax.get_lines())
        if n_epochs <= 12:
            ax.set_xticks(np.arange(1, n_epochs + 1))
    _save(fig, path)
    return fig


# ----------------------------------------------------------------------------
# 2-D classifiers
# ----------------------------------------------------------------------------

def _predicted_labels(fname, out, m):
    """Class labels from ``predict``'s output: labels, (m,1) probs or (m,C) scores."""
    out = np.asarray(out)
    if out.ndim == 2 and out.shape[0] == m and out.shape[1] == 1:
        return (out[:, 0] >= 0.5).astype(int)
    if out.ndim == 2 and out.shape[0] == m and out.shape[1] > 1:
        return np.argmax(out, axis=1)
    if out.ndim == 1 and out.shape[0] == m:
        if out.dtype.kind == "f" and np.all(np.isfinite(out)) and not np.all(out == np.round(out)):
            if out.min() >= 0.0 and out.max() <= 1.0:  # probabilities of class 1
                return (out >= 0.5).astype(int)
            raise ValueError(
                f"{fname}: expected predict to return class labels or probabilities, "
                f"got non-integer values outside [0, 1]"
            )
        return out
    raise ValueError(
        f"{fname}: expected predict to return shape ({m},), ({m}, 1) or ({m}, C), "
        f"got shape {out.shape}"
    )


def plot_decision_regions(predict: Callable[[np.ndarray], ArrayLike], X: ArrayLike, y: ArrayLike | None,
                          path: PathLike | None = None, resolution: int = 200, ax: matplotlib.axes.Axes | None = None,
                          title: str | None = None) -> matplotlib.figure.Figure:
    """Filled class regions of ``predict`` over the plane, with the data on top.

    Parameters
    ----------
    predict : callable
        Maps an ``(m, 2)`` array to class labels ``(m,)``, or to
        probabilities ``(m, C)`` (argmax) / ``(m, 1)`` (threshold 0.5).
    X : array, shape (n, 2)
    y : array, shape (n,) or one-hot (n, C), or None
    resolution : int
        Grid points per axis over the padded bounding box of ``X``.
    ax : matplotlib Axes, optional
        Draw into this axes (its figure is returned / saved) instead of a
        new figure.
    title : str, optional
        Which data the points are, e.g. ``'moons, training set'`` (default
        ``'decision regions'``).

    Returns
    -------
    Figure

    The regions are drawn by scikit-learn's
    :class:`~sklearn.inspection.DecisionBoundaryDisplay`.
    """
    fname = "plot_decision_regions"
    if not callable(predict):
        raise ValueError(f"{fname}: expected predict to be callable, got {type(predict).__name__}")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"{fname}: expected X with shape (n, 2), got shape {X.shape}")
    n = X.shape[0]
    if y is not None:
        y = _as_labels(fname, "y", y, n)
    resolution = _check_resolution(fname, resolution)

    extent = _padded_box(X)
    _, _, grid = _plane_grid(extent, resolution)
    z = _predicted_labels(fname, predict(grid), grid.shape[0])

    classes = np.unique(z) if y is None else np.unique(np.concatenate([np.unique(y), np.unique(z)]))
    k = len(classes)
    colours = _class_colors(k)
    cmap = ListedColormap(colours)
    zi = np.searchsorted(classes, z).reshape(resolution, resolution)

    fig, axes = _axes(fname, ax, 1, (5.2, 4.4))
    ax = fig.subplots() if axes is None else axes[0]
    xmin, xmax, ymin, ymax = extent
    xs = np.linspace(xmin, xmax, resolution)
    ys = np.linspace(ymin, ymax, resolution)
    from sklearn.inspection import DecisionBoundaryDisplay

    xx0, xx1 = np.meshgrid(xs, ys)
    import inspect

    accepted = inspect.signature(DecisionBoundaryDisplay.__init__).parameters
    display_kw, style = {}, {"cmap": cmap, "vmin": -0.5, "vmax": k - 0.5}
    if "n_classes" in accepted:  # scikit-learn >= 1.7 colours the classes itself when there are more than 2
        display_kw["n_classes"] = max(k, 2)
        if k > 2:
            display_kw["multiclass_colors"] = [tuple(c) for c in colours]
            style = {}
    DecisionBoundaryDisplay(xx0=xx0, xx1=xx1, response=zi, **display_kw).plot(
        ax=ax, plot_method="contourf", levels=np.arange(k + 1) - 0.5, alpha=0.35, **style)
    if k > 1:
        ax.contour(xs, ys, zi, levels=np.arange(k - 1) + 0.5, colors="k", linewidths=0.8,
                   alpha=0.6)
    if y is None:
        ax.scatter(X[:, 0], X[:, 1], s=18, c="k")
    else:
        yi = np.searchsorted(classes, y)
        for idx, cls in enumerate(classes):
            mask = yi == idx
            if mask.any():
                ax.scatter(X[mask, 0], X[mask, 1], s=22, color=colours[idx],
                           edgecolors="k", linewidths=0.5, label=str(cls))
        ax.legend(title="class", loc="best", fontsize=8, framealpha=0.8)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("decision regions" if title is None else f"decision regions: {title}")
    _save(fig, path)
    return fig


def plot_hidden_units(activations: Callable[[np.ndarray], ArrayLike], X: ArrayLike | None = None,
                      extent: tuple[float, float, float, float] | None = None, path: PathLike | None = None,
                      resolution: int = 100, ax: Sequence[matplotlib.axes.Axes] | None = None,
                      title: str | None = None) -> matplotlib.figure.Figure:
    """Image of each hidden unit's output over the input plane.

    Parameters
    ----------
    activations : callable
        Maps an ``(m, 2)`` grid of inputs to an ``(m, H)`` array of hidden
        unit outputs (``(m,)`` is taken as a single unit).
    X : array, shape (n, 2), optional
        Data drawn as small dots on every panel; its padded bounding box is
        the default ``extent``.
    extent : (xmin, xmax, ymin, ymax), optional
        Region of the plane to show.  Default: from ``X``, else ``[-1, 1]^2``.

    ax : sequence of Axes, optional
        H Axes to draw the units into (default: a new figure).
    title : str, optional
        The figure's heading, e.g. ``'moons: hidden layer 1'``.

    Returns
    -------
    Figure

    All panels share one colour scale, shown by a single colour bar (ticks
    rounded to 3 digits), so the figure has ``H + 1`` axes.
    """
    fname = "plot_hidden_units"
    if not callable(activations):
        raise ValueError(
            f"{fname}: expected activations to be callable, got {type(activations).__name__}"
        )
    if X is not None:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
            raise ValueError(f"{fname}: expected X with shape (n, 2), got shape {X.shape}")
    if extent is None:
        extent = _padded_box(X) if X is not None else (-1.0, 1.0, -1.0, 1.0)
    else:
        ext = np.asarray(extent, dtype=float)
        if ext.shape != (4,) or not (ext[0] < ext[1] and ext[2] < ext[3]):
            raise ValueError(
                f"{fname}: expected extent (xmin, xmax, ymin, ymax) with xmin < xmax and "
                f"ymin < ymax, got {extent!r}"
            )
        extent = tuple(float(v) for v in ext)
    resolution = _check_resolution(fname, resolution)

    _, _, grid = _plane_grid(extent, resolution)
    m = grid.shape[0]
    A = np.asarray(activations(grid), dtype=float)
    if A.ndim == 1 and A.shape[0] == m:
        A = A[:, None]
    if A.ndim != 2 or A.shape[0] != m or A.shape[1] == 0:
        raise ValueError(
            f"{fname}: expected activations to return shape ({m}, H), got shape {A.shape}"
        )
    H = A.shape[1]
    images = A.T.reshape(H, resolution, resolution)
    finite = images[np.isfinite(images)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5

    ncols = min(H, max(1, math.ceil(math.sqrt(H))))
    nrows = math.ceil(H / ncols)
    fig, given = _axes(fname, ax, H, (2.3 * ncols + 1.0, 2.2 * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel() if given is None else np.asarray(given, dtype=object)
    if title is not None:
        fig.suptitle(title)
    im = None
    for h in range(H):
        ax = axes[h]
        im = ax.imshow(images[h], origin="lower", extent=extent, cmap="viridis",
                       vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
        if X is not None:
            ax.scatter(X[:, 0], X[:, 1], s=7, c="white", edgecolors="k", linewidths=0.4)
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
        ax.set_title(f"unit {h + 1}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[H:]:
        fig.delaxes(ax)
    _round_ticks(fig.colorbar(im, ax=list(axes[:H]), shrink=0.9, label="activation"))
    _save(fig, path)
    return fig


# ----------------------------------------------------------------------------
# hyper-parameter search
# ----------------------------------------------------------------------------

def plot_grid_search(scores: ArrayLike | Mapping[str, ArrayLike], row_values: Sequence[Any], col_values: Sequence[Any],
                     row_label: str = "learning rate", col_label: str = "lambda", title: str | None = None,
                     path: PathLike | None = None, fmt: str = ".3f",
                     std: ArrayLike | Mapping[str, ArrayLike] | None = None,
                     ax: matplotlib.axes.Axes | Sequence[matplotlib.axes.Axes] | None = None) -> matplotlib.figure.Figure:
    """Annotated heatmap of ``scores[i, j]`` for ``row_values[i]`` x ``col_values[j]``.

    Typical use: validation accuracy over learning rate (eta) x L2 strength
    (lambda).  Rows and columns are labelled with the values themselves
    (``'{:g}'``), every cell carries its score formatted with ``fmt``; NaN
    cells (e.g. diverged runs) are left blank and marked ``'nan'``.  ``title``
    should say which score on which split (``'digits: validation accuracy'``).

    ``std`` (same shape) adds ``+- std`` under each score, e.g. the spread over
    cross-validation folds.  ``scores`` may also be a dict ``{panel title:
    scores}`` (and ``std`` a dict with the same keys): the panels are drawn side
    by side on one colour scale, as the notes' train and test heatmaps, with
    ``title`` above them all.  :meth:`chainrule.search.SearchResult.plot` draws
    a search's heatmaps with it.  ``ax`` is an Axes (a sequence of Axes, one per
    panel) to draw into.  Returns the Figure.
    """
    fname = "plot_grid_search"
    row_values = list(row_values)
    col_values = list(col_values)
    expected = (len(row_values), len(col_values))
    panels = dict(scores) if isinstance(scores, Mapping) else {None: scores}
    if not panels:
        raise ValueError(f"{fname}: expected at least one panel of scores, got an empty dict")
    if std is not None and not isinstance(std, Mapping):
        std = {next(iter(panels)): std}
    grids, spreads = {}, {}
    for name, values in panels.items():
        S = np.asarray(values, dtype=float)
        where = "" if name is None else f" for {name!r}"
        if S.shape != expected or 0 in expected:
            raise ValueError(
                f"{fname}: expected scores{where} with shape (len(row_values), len(col_values)) = "
                f"{expected}, got shape {S.shape}"
            )
        grids[name] = S
        sd = None if std is None else std.get(name)
        if sd is not None:
            sd = np.asarray(sd, dtype=float)
            if sd.shape != expected:
                raise ValueError(f"{fname}: expected std{where} with shape {expected}, got shape {sd.shape}")
        spreads[name] = sd
    try:
        format(0.5, fmt)
    except (ValueError, TypeError):
        raise ValueError(f"{fname}: expected a float format spec for fmt, got {fmt!r}") from None

    n = len(grids)
    cell_h = 0.75 if std is None else 0.95
    fig, axes = _axes(fname, ax, n, (n * (1.0 * len(col_values) + 1.6) + 1.0, cell_h * len(row_values) + 1.8))
    if axes is None:
        axes = fig.subplots(1, n, squeeze=False)[0]
    finite = np.concatenate([S[np.isfinite(S)] for S in grids.values()])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for ax, (name, S) in zip(axes, grids.items()):
        im = ax.imshow(np.ma.masked_invalid(S), cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto",
                       interpolation="nearest")
        sd = spreads[name]
        texts = [[(format(v, fmt) + ("" if sd is None or not np.isfinite(sd[i, j]) else
                                     "\n\u00b1" + format(sd[i, j], fmt))) if np.isfinite(v) else "nan"
                  for j, v in enumerate(row)] for i, row in enumerate(S)]
        _annotate_cells(ax, im, S, texts)
        ax.set_xticks(np.arange(len(col_values)), [_fmt_value(v) for v in col_values])
        ax.set_yticks(np.arange(len(row_values)), [_fmt_value(v) for v in row_values])
        ax.set_xlabel(col_label)
        ax.set_ylabel(row_label)
        if name is not None:
            ax.set_title(name)
    if title is not None:
        if n == 1 and next(iter(grids)) is None:
            axes[0].set_title(title)
        else:
            fig.suptitle(title)
    _round_ticks(fig.colorbar(im, ax=list(axes)))
    _save(fig, path)
    return fig


# ----------------------------------------------------------------------------
# classification results
# ----------------------------------------------------------------------------

def _int_labels(fname, what, a):
    a = _as_labels(fname, what, a)
    if a.dtype.kind == "b":
        a = a.astype(int)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError(f"{fname}: expected integer class labels in {what}, got non-integer values")
        a = a.astype(int)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{fname}: expected integer class labels in {what}, got dtype {a.dtype}")
    if a.size and a.min() < 0:
        raise ValueError(f"{fname}: expected non-negative class labels in {what}, got {a.min()}")
    return a.astype(np.int64)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    """Confusion matrix ``C[i, j]`` = number of samples of class i predicted as j.

    Labels are integers ``0 .. num_classes-1`` (one-hot or score rows are
    reduced with argmax).  ``num_classes`` defaults to the largest label + 1.

    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    fname = "confusion_matrix"
    t = _int_labels(fname, "y_true", y_true)
    p = _int_labels(fname, "y_pred", y_pred)
    if t.shape != p.shape:
        raise ValueError(
            f"{fname}: expected y_true and y_pred of the same length, got {t.shape[0]} and {p.shape[0]}"
        )
    top = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if num_classes is None:
        k = max(top, 1)
    else:
        k = int(num_classes)
        if k < 1 or top > k:
            raise ValueError(
                f"{fname}: expected labels in [0, num_classes={num_classes}), got a label {top - 1}"
            )
    counts = np.bincount(t * k + p, minlength=k * k)
    return counts.reshape(k, k).astype(np.int64)


def plot_confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str] | None = None,
                          normalize: bool | Literal["true", "pred", "all"] = False, path: PathLike | None = None,
                          ax: matplotlib.axes.Axes | None = None, title: str | None = None) -> matplotlib.figure.Figure:
    """Annotated confusion matrix (rows: true class, columns: predicted).

    Parameters
    ----------
    labels : sequence of str, optional
        Display names of the classes ``0 .. K-1``; also fixes ``K``.
    normalize : False, True / 'true', 'pred' or 'all'
        ``True``/``'true'``: each row sums to 1 (recall per class);
        ``'pred'``: each column sums to 1; ``'all'``: the whole matrix sums
        to 1.  Cells then show fractions, otherwise counts.
    ax : Axes, optional
        Where to draw (default: a new figure).
    title : str, optional
        Which data set and split, e.g. ``'digits, test set'`` (it follows
        ``'confusion matrix: '`` in the heading).

    Returns
    -------
    Figure

    Drawn by scikit-learn's :class:`~sklearn.metrics.ConfusionMatrixDisplay`.
    """
    fname = "plot_confusion_matrix"
    if normalize not in (False, None, True, "true", "pred", "all"):
        raise ValueError(
            f"{fname}: expected normalize in (False, True, 'true', 'pred', 'all'), got {normalize!r}"
        )
    num_classes = None if labels is None else len(labels)
    try:
        C = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    except ValueError as exc:
        raise ValueError(str(exc).replace("confusion_matrix:", f"{fname}:", 1)) from None
    k = C.shape[0]
    names = [str(i) for i in range(k)] if labels is None else [str(l) for l in labels]

    if normalize in (True, "true"):
        denom = C.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        denom = C.sum(axis=0, keepdims=True)
    elif normalize == "all":
        denom = np.array([[C.sum()]])
    else:
        denom = None
    if denom is None:
        values = C.astype(float)
        texts = [[str(v) for v in row] for row in C]
    else:
        values = np.divide(C, denom, out=np.zeros(C.shape, dtype=float), where=denom > 0)
        texts = [[f"{v:.2f}" for v in row] for row in values]

    side = 1.6 + 0.55 * k
    fig, axes = _axes(fname, ax, 1, (side + 1.2, side))
    ax = fig.subplots() if axes is None else axes[0]
    from sklearn.metrics import ConfusionMatrixDisplay

    long_names = max(map(len, names)) > 3
    shown = C if denom is None else values
    disp = ConfusionMatrixDisplay(shown, display_labels=names)
    disp.plot(ax=ax, cmap="Blues", values_format="d" if denom is None else ".2f", colorbar=False,
              xticks_rotation=45 if long_names else "horizontal")
    disp.im_.set_clim(0.0, 1.0 if denom is not None else max(1.0, float(values.max())))
    if long_names:
        for t in ax.get_xticklabels():
            t.set_ha("right")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    heading = "confusion matrix" + (" (normalised)" if denom is not None else "")
    ax.set_title(heading if title is None else f"{heading}: {title}")
    _round_ticks(fig.colorbar(disp.im_, ax=ax, shrink=0.85))
    _save(fig, path)
    return fig


def _to_displayable(fname, images):
    """Return images as (n, h, w) grayscale or (n, h, w, 3|4) colour, and is_rgb."""
    imgs = np.asarray(images)
    if imgs.ndim == 2:  # (n, h*w) flattened square images
        n, d = imgs.shape
        side = int(round(math.sqrt(d)))
        if side * side != d:
            raise ValueError(
                f"{fname}: expected flattened images (n, h*w) with h*w a perfect square, "
                f"got shape {imgs.shape}"
            )
        imgs = imgs.reshape(n, side, side)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    if imgs.ndim == 3:
        return imgs.astype(float), False
    if imgs.ndim == 4 and imgs.shape[-1] in (3, 4):
        if imgs.dtype.kind in "iub":
            return np.clip(imgs, 0, 255).astype(np.uint8), True
        f = imgs.astype(float)
        if f.size and np.nanmax(f) > 1.0:
            f = f / 255.0
        return np.clip(np.nan_to_num(f), 0.0, 1.0), True
    raise ValueError(
        f"{fname}: expected images of shape (n, h, w), (n, h*w) or (n, h, w, 3), "
        f"got shape {np.asarray(images).shape}"
    )


def plot_images(images: ArrayLike, labels: ArrayLike | None = None, predictions: ArrayLike | None = None,
                class_names: Sequence[str] | None = None, ncols: int = 8, path: PathLike | None = None, *,
                cmap: str = "gray_r", ax: matplotlib.axes.Axes | Sequence[matplotlib.axes.Axes] | None = None,
                title: str | None = None) -> matplotlib.figure.Figure:
    """Grid of images titled ``'true'`` or ``'true / predicted'`` (wrong in red).

    ``images`` may be grayscale ``(n, h, w)``, flattened square ``(n, h*w)``
    or colour ``(n, h, w, 3)`` (uint8, or floats in [0, 1] or [0, 255]).
    ``labels`` / ``predictions`` are integer classes (or one-hot / score
    rows), named through ``class_names`` when given.
    """
    fname = "plot_images"
    imgs, is_rgb = _to_displayable(fname, images)
    n = imgs.shape[0]
    if n == 0:
        raise ValueError(f"{fname}: expected at least one image, got shape {np.asarray(images).shape}")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"{fname}: expected ncols to be a positive int, got {ncols!r}")
    if labels is not None:
        labels = _as_labels(fname, "labels", labels, n)
    if predictions is not None:
        predictions = _as_labels(fname, "predictions", predictions, n)

    def name(v):
        if class_names is not None:
            try:
                return str(class_names[int(v)])
            except (IndexError, KeyError, TypeError, ValueError):
                return str(v)
        return str(v.item()) if isinstance(v, np.generic) else str(v)

    ncols = int(min(ncols, n))
    nrows = math.ceil(n / ncols)
    titled = labels is not None or predictions is not None
    fig, given = _axes(fname, ax, n, (1.35 * ncols, (1.35 + 0.3 * titled) * nrows + 0.4 * (title is not None or
                                                                                     titled)))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel() if given is None else np.asarray(given, dtype=object)
    heading = [title] if title is not None else []
    if labels is not None and predictions is not None:
        heading.append("true / predicted (wrong in red)")
    elif labels is not None:
        heading.append("true label")
    elif predictions is not None:
        heading.append("predicted")
    if heading:
        fig.suptitle(": ".join(heading), fontsize=10)
    for i in range(n):
        ax = axes[i]
        if is_rgb:
            ax.imshow(imgs[i], interpolation="nearest")
        else:
            ax.imshow(imgs[i], cmap=cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if labels is not None and predictions is not None:
            wrong = labels[i] != predictions[i]
            ax.set_title(f"{name(labels[i])} / {name(predictions[i])}", fontsize=8,
                         color=_WRONG if wrong else _RIGHT)
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=8)
        elif predictions is not None:
            ax.set_title(name(predictions[i]), fontsize=8)
    for ax in axes[n:]:
        fig.delaxes(ax)
    _save(fig, path)
    return fig


# ----------------------------------------------------------------------------
# activation functions
# ----------------------------------------------------------------------------

def plot_activations(names: Sequence[str] | None = None, x: ArrayLike | None = None, path: PathLike | None = None,
                     ax: Sequence[matplotlib.axes.Axes] | None = None,
                     title: str | None = None) -> matplotlib.figure.Figure:
    """Activation functions (left panel) and their derivatives (right panel).

    The derivatives come from chainrule's own reverse-mode autodiff,
    ``chainrule.elementwise_grad(f)(x)``, not from hand-written formulas, so
    the figure doubles as a visual check of the engine.

    Parameters
    ----------
    names : sequence of str, optional
        Any of :data:`ACTIVATION_NAMES` (the table's elementwise activations).  Default: the
        notes' seven, ``'identity', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'elu', 'softplus'``.
    x : 1-D array, optional
        Inputs; default ``linspace(-4, 4, 401)``.
    ax : pair of Axes, optional
        Where to draw the functions and the derivatives (default: a new figure).
    title : str, optional
        The figure's heading.

    Returns
    -------
    Figure
    """
    fname = "plot_activations"
    if names is None:
        names = list(NOTES_ACTIVATIONS)
    elif isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise ValueError(f"{fname}: expected at least one activation name, got an empty list")
    unknown = [nm for nm in names if nm not in ACTIVATION_NAMES]
    if unknown:
        raise ValueError(f"{fname}: expected names among {list(ACTIVATION_NAMES)}, got {unknown}")
    x = np.linspace(-4.0, 4.0, 401) if x is None else np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"{fname}: expected x as a 1-D array of >= 2 points, got shape {x.shape}")

    import chainrule as cr  # lazy: the plotting edge depends on the core, not vice versa

    fig, given = _axes(fname, ax, 2, (10.0, 4.0))
    ax_f, ax_d = fig.subplots(1, 2) if given is None else given
    if title is not None:
        fig.suptitle(title)
    for i, nm in enumerate(names):
        f = _activations.get(nm)
        y = np.broadcast_to(np.asarray(f(x), dtype=float), x.shape)
        dy = np.broadcast_to(np.asarray(cr.elementwise_grad(f)(x), dtype=float), x.shape)
        style = dict(color=f"C{i}", linestyle=("-", "--", "-.", ":")[i % 4], linewidth=1.6,
                     label=nm)  # several curves coincide on x > 0: vary the dash too
        ax_f.plot(x, y, **style)
        ax_d.plot(x, dy, **style)
    ax_f.set_title("activation $f(x)$")
    ax_d.set_title("derivative $f'(x)$ (autodiff)")
    for ax in (ax_f, ax_d):
        ax.axhline(0.0, color="0.6", linewidth=0.6)
        ax.axvline(0.0, color="0.6", linewidth=0.6)
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    _save(fig, path)
    return fig

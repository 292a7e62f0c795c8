"""The lecture notes' Keras and PyTorch programs, run on chainrule with only their imports changed.

Each program in examples/notes/ is one of the notes' programs written for tf.keras or PyTorch,
with ``tensorflow.keras`` / ``keras`` replaced by ``chainrule.keras`` and ``torch`` / ``torchvision``
by ``chainrule.torch`` / ``chainrule.torch.vision``, and nothing else.  This script runs them at
the notes' settings (or at quick settings: fewer epochs and grid points, the same code), reports
what each reaches, and with ``--oracle`` runs the same program text on the real Keras 3
(KERAS_BACKEND=torch) or PyTorch, imports changed back, for comparison.

    python examples/notes_programs.py [NAME ...] [--quick] [--oracle] [--keras-logits] [--seeds 0 1 2] [--json FILE]
    python examples/notes_programs.py --table FILE [FILE ...]     # the side-by-side table, as markdown

``--seeds`` runs each program once per seed (the library's generator: initial weights, shuffling, dropout;
the data, which the programs draw with ``np.random.seed(0)``, stay the same), so that a difference between
the libraries can be set against the seed-to-seed spread of each.  ``--keras-logits`` adds a third column for
the Keras programs: Keras 3 on its torch backend computing the cross-entropy of a softmax or sigmoid output from
the logits, as its TensorFlow backend and the notes' tf.keras 2 do (and chainrule does); on the torch backend as
shipped, the probabilities are clipped and a saturated output stops learning (see keras_losses_on_logits).

Data: scikit-learn's digits, breast cancer and moons; the pairing-model energies; Fashion-MNIST
standing in for MNIST where MNIST's files are absent (apt-get install dataset-fashion-mnist);
CIFAR-10 only when its binary files are found ($CHAINRULE_DATA), else that program is skipped.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NOTES = os.path.join(HERE, "notes")


def _best(grid):
    return float(np.max(grid))


def _grid(grid, majority):
    """A grid's mean test accuracy and how many of its cells beat predicting the majority class."""
    grid = np.asarray(grid, dtype=float)
    return {"mean test accuracy over the grid": float(grid.mean()),
            "grid cells above the majority class": int((grid > majority + 1e-9).sum())}


def _majority(onehot):
    return float(np.max(np.mean(np.asarray(onehot), axis=0)))


# name -> quick settings (assignments substituted in the program text), what to report, the notes' figure
PROGRAMS = {
    "keras_digits_grid": {
        "quick": {"epochs": "5", "eta_vals": "np.array([0.1, 1.0])", "lmbd_vals": "np.array([1e-4])"},
        "report": lambda ns: {"best test accuracy": _best(ns["test_accuracy"]),
                              "best train accuracy": _best(ns["train_accuracy"]),
                              **_grid(ns["test_accuracy"], _majority(ns["Y_test"]))},
        "notes": "no figure given (the grid's heat map)"},
    "keras_breast_cancer_grid": {
        "quick": {"epochs": "20", "eta": "np.array([0.01])", "n_neuron": "np.array([10, 100])"},
        "report": lambda ns: {"best test accuracy": _best(ns["Test_accuracy"]),
                              "best train accuracy": _best(ns["Train_accuracy"]),
                              **_grid(ns["Test_accuracy"], _majority(ns["y_test"]))},
        "notes": "no figure given (the grid's heat map)"},
    "keras_synthetic_241": {
        "quick": {"nit": "4", "sine_epochs": "300"},
        "report": lambda ns: {"final loss": float(ns["loss"][-1]), "final accuracy": float(ns["acc"][-1]),
                              "sine exercise MSE": float(ns["sine_mse"])},
        "notes": "loss 0.2772, accuracy 0.890 after 1000 epochs (seeds/002, on the notes' own synthetic data)"},
    "keras_cnn_digits_grid": {
        "quick": {"epochs": "5", "eta_vals": "np.array([0.1])", "lmbd_vals": "np.array([1e-4])"},
        "report": lambda ns: {"best test accuracy": _best(ns["test_accuracy"]),
                              **_grid(ns["test_accuracy"], _majority(ns["Y_test"]))},
        "notes": "no figure given (the grid's heat map)"},
    "keras_cifar10_cnn": {
        "quick": {"epochs": "1"}, "needs": "cifar10",
        "report": lambda ns: {"test accuracy": float(ns["test_acc"])},
        "notes": "TensorFlow's tutorial reaches about 0.70 after 10 epochs"},
    "keras_rnn_sine": {
        "quick": {"epochs": "3"},
        "report": lambda ns: {"train MSE": float(ns["trainScore"]), "test MSE": float(ns["testScore"])},
        "notes": "no figure given (the noise alone has variance 1/3)"},
    "keras_rnn_energies": {
        "quick": {"epochs": "20", "networks": '["rnn", "dnn2_gru2"]'},
        "report": lambda ns: {**{f"{k} MSE": float(v) for k, v in ns["results"].items()},
                              "standard-way MSE": float(ns["standard_mse"])},
        "notes": "no figure given (the plots of the extrapolations)"},
    "torch_pima_8_12_8_1": {
        "quick": {"n_epochs": "20"}, "csv": True,
        "report": lambda ns: {"train accuracy": float(ns["accuracy"])},
        "notes": "the notes' listing stops at the model (no figure)"},
    "torch_synthetic_241": {
        "quick": {"num_epochs": "100"},
        "report": lambda ns: {"final accuracy": float(ns["accval"][-1]),
                              "accuracy at epoch 500": float(ns["accval"][min(499, len(ns["accval"]) - 1)])},
        "notes": "accuracy 0.91 after 500 epochs (seeds/002, on the notes' own synthetic data)"},
    "torch_mnist": {
        "quick": {"epochs": "1", "train_limit": "3000"}, "mnist": True,
        "report": lambda ns: {"final test accuracy %": float(ns["test_accuracy_history"][-1]),
                              "final train accuracy %": float(ns["train_accuracy_history"][-1])},
        "notes": "test accuracy 97.25% on MNIST after 30 epochs, train 99.23% (seeds/002; Fashion-MNIST here)"},
    "torch_moons": {
        "quick": {"epochs": "10"},
        "report": lambda ns: {"train accuracy": float(ns["train_accuracy"]),
                              "test accuracy": float(ns["test_accuracy"])},
        "notes": "no figure given (the decision regions)"},
}


def settings(source, values):
    """The program text with the top-level assignments ``name = ...`` of ``values`` replaced."""
    for name, value in values.items():
        pattern = re.compile(rf"^{re.escape(name)} = .*$", re.M)
        if not pattern.search(source):
            raise KeyError(f"the program has no top-level assignment '{name} = ...'")
        source = pattern.sub(f"{name} = {value}", source, count=1)
    return source


def oracle_source(source):
    """The program with its imports changed back to the real Keras 3 / PyTorch (data loaders stay chainrule's:
    there is no network here, and no torchvision)."""
    lines = []
    for line in source.splitlines():
        if line.startswith("import chainrule as tf"):
            lines += ["import keras", "import types", "tf = types.SimpleNamespace(keras=keras)"]
        elif "chainrule.keras" in line and re.search(r"\bdatasets\b", line) and line.startswith("from"):
            rest = [n.strip() for n in line.split("import", 1)[1].split(",") if n.strip() != "datasets"
                    and not n.strip().startswith("datasets as")]
            alias = re.search(r"datasets as (\w+)", line)
            lines.append(f"from chainrule.keras import datasets{' as ' + alias.group(1) if alias else ''}")
            if rest:
                lines.append(line.split("import", 1)[0].replace("chainrule.keras", "keras") + "import " + ", ".join(rest))
        elif "chainrule.torch.vision" in line and line.startswith(("import", "from")):
            lines.append(line.replace("chainrule.torch.vision", "_oracle_vision"))
        elif line.startswith(("import chainrule", "from chainrule")) and "chainrule.datasets" not in line:
            lines.append(line.replace("chainrule.keras", "keras").replace("chainrule.torch", "torch"))
        else:
            lines.append(line)
    return keras3_spelling("\n".join(lines) + "\n")


# What the notes' tf.keras 2 code says that Keras 3 refuses, and how Keras 3 says it (chainrule.keras
# takes both): lr=, float or NumPy-integer units, and a Sequential model's .input (missing under the torch
# backend).
KERAS3_SPELLINGS = [("(lr=", "(learning_rate="), ("hidden_neurons / 2", "hidden_neurons // 2"),
                    ("Dense(n_neuron,", "Dense(int(n_neuron),"), ("inputs=model.input,", "inputs=model.inputs,")]


def keras3_spelling(text):
    for old, new in KERAS3_SPELLINGS:
        text = text.replace(old, new)
    return text


def _write_csv(path):
    from sklearn.datasets import load_breast_cancer
    data = load_breast_cancer()
    np.savetxt(path, np.column_stack([data.data[:, :8], data.target]), delimiter=",")


def _mnist_name():
    from chainrule.datasets import files
    return "MNIST" if files.locate("mnist") is not None else "FashionMNIST"


def _seed_the_library(name, oracle, seed):
    """The notes' Keras programs seed NumPy only, so their initial weights change from run to run (on
    tf.keras too); the runner seeds the library's own generator as well, so that a figure can be re-measured."""
    if seed is None:
        return
    if not oracle:
        import chainrule
        chainrule.manual_seed(seed)
    elif name.startswith("keras"):
        import keras
        keras.utils.set_random_seed(seed)
    else:
        import torch
        torch.manual_seed(seed)


@contextlib.contextmanager
def keras_losses_on_logits(on=True):
    """Keras 3 on its torch backend, with the cross-entropy of a softmax or sigmoid output computed from that
    activation's logits, as Keras' TensorFlow backend (and the tf.keras 2 the notes ran) does.

    Keras' softmax and sigmoid keep their input on the output (``_keras_logits``).  The TensorFlow backend's
    cross-entropies use it: -log softmax(z)_y = logsumexp(z) - z_y, whose gradient softmax(z) - t never
    vanishes.  The torch backend ignores it and clips the probabilities to [1e-7, 1 - 1e-7] before the log, so
    a sample whose output saturates on the wrong class adds a constant 16.1 to the loss and nothing to the
    gradient; with the notes' unscaled inputs (breast-cancer features up to 2500, pixels up to 16) most do.
    chainrule computes these losses from the logits; this makes the torch backend do the same, so that the
    two can be compared."""
    if not on:
        yield
        return
    from keras.src.backend.torch import nn as torch_nn
    saved = torch_nn.categorical_crossentropy, torch_nn.binary_crossentropy

    def categorical(target, output, from_logits=False, axis=-1):
        z = getattr(output, "_keras_logits", None)
        if not from_logits and z is not None:
            return saved[0](target, z, from_logits=True, axis=axis)
        return saved[0](target, output, from_logits=from_logits, axis=axis)

    def binary(target, output, from_logits=False):
        z = getattr(output, "_keras_logits", None)
        if not from_logits and z is not None and tuple(z.shape) == tuple(output.shape):
            return saved[1](target, z, from_logits=True)
        return saved[1](target, output, from_logits=from_logits)
    torch_nn.categorical_crossentropy, torch_nn.binary_crossentropy = categorical, binary
    try:
        yield
    finally:
        torch_nn.categorical_crossentropy, torch_nn.binary_crossentropy = saved


def run(name, quick=False, oracle=False, workdir=".", extra=None, echo=False, threads=1, seed=0, logits=False):
    """Run one program; returns (its report dict, its namespace).  ``extra`` overrides settings;
    ``threads`` limits BLAS (None: as it is); ``seed`` seeds the library's generator first (None: not);
    ``logits`` (with ``oracle``, Keras programs): Keras' cross-entropies from the logits, as on TensorFlow
    (see :func:`keras_losses_on_logits`)."""
    spec = PROGRAMS[name]
    with open(os.path.join(NOTES, f"{name}.py")) as f:
        source = f.read()
    values = dict(spec["quick"]) if quick else {}
    if spec.get("csv"):
        path = os.path.join(workdir, "yourdata.csv")
        _write_csv(path)
        values["csv_path"] = repr(path)
    if spec.get("mnist"):
        values["dataset_name"] = repr(_mnist_name())
        values["data_root"] = repr(os.path.join(workdir, "data"))
    values.update(extra or {})
    source = settings(source, values)
    if seed is not None:   # the PyTorch programs seed their library themselves: that is the seed that varies
        source = source.replace("torch.manual_seed(0)", f"torch.manual_seed({int(seed)})")
    if oracle:
        source = oracle_source(source)
        os.environ.setdefault("KERAS_BACKEND", "torch")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    _seed_the_library(name, oracle, seed)
    ns = {"__name__": "__main__", "__file__": os.path.join(NOTES, f"{name}.py")}
    sys.path.insert(0, NOTES)
    out = io.StringIO()
    limit = contextlib.nullcontext()
    if threads is not None:   # small products: one BLAS thread (a threaded BLAS stalls on a busy machine)
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(threads, user_api="blas")
        if oracle:            # PyTorch's own thread pool (Keras 3 runs on it) is not a BLAS threadpoolctl sees
            import torch
            torch.set_num_threads(threads)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stdout if echo else out), limit, \
                keras_losses_on_logits(logits and oracle and name.startswith("keras")):
            warnings.simplefilter("ignore")
            exec(compile(source, ns["__file__"], "exec"), ns)
    finally:
        sys.path.remove(NOTES)
        plt.close("all")
    ns["__stdout__"] = out.getvalue()
    return spec["report"](ns), ns


def available(name):
    need = PROGRAMS[name].get("needs")
    if need == "cifar10":
        from chainrule.datasets import files
        return files.locate("cifar10") is not None
    return True


def library(name, oracle):
    """What ran the program: chainrule, or the real library and its version."""
    if not oracle:
        return "chainrule"
    if name.startswith("keras"):
        import keras
        return f"Keras {keras.__version__} ({keras.backend.backend()} backend)"
    import torch
    return f"PyTorch {torch.__version__.split('+')[0]}"


def _summary(values):
    """'mean (min-max, n seeds)' of one figure over seeds, '-' when absent."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.4g} (1 seed)"
    return f"{np.mean(values):.4g} ({min(values):.4g}-{max(values):.4g}, {len(values)} seeds)"


def _verdict(ours, theirs):
    """Whether two libraries' per-seed figures agree within noise: their means differ by no more than the wider
    of the two seed-to-seed ranges (max - min; with one seed on a side, the other side's range)."""
    if not ours or not theirs:
        return ""
    gap = abs(float(np.mean(ours)) - float(np.mean(theirs)))
    spread = max(max(ours) - min(ours), max(theirs) - min(theirs))
    if gap <= spread + 1e-9 * max(1.0, abs(float(np.mean(ours)))):
        return "within noise"
    return f"apart by {gap:.3g} (spread {spread:.2g})"


def merge(*results):
    """Several JSON results (say one run of chainrule and one of the oracle) as one."""
    merged = {}
    for result in results:
        for name, line in result.items():
            into = merged.setdefault(name, {})
            for key, value in line.items():
                if isinstance(value, dict) and isinstance(into.get(key), dict):
                    into[key] = {**into[key], **value}
                else:
                    into[key] = value
    return merged


SIDES = {"chainrule": "chainrule", "oracle": "Keras 3 / PyTorch",
         "oracle_logits": "Keras 3, cross-entropy on the logits (as on TensorFlow)"}


def table(results):
    """The side-by-side figures as a markdown table: per program and figure, each library's mean with the
    range over seeds, whether the real library's figures overlap chainrule's, and what the notes report."""
    sides = [k for k in SIDES if any(isinstance(line.get(k), dict) for line in results.values())]
    head = ["program", "figure", "seeds"]
    for k in sides:
        head += [SIDES[k]] + ([] if k == "chainrule" else ["vs chainrule"])
    rows = ["| " + " | ".join(head + ["the notes"]) + " |", "|" + "---|" * (len(head) + 1)]
    for name, line in results.items():
        runs = {k: line[k] if isinstance(line.get(k), dict) else {} for k in sides}
        seeds = sorted({seed for r in runs.values() for seed in r}, key=int)
        figures = list(dict.fromkeys(f for r in runs.values() for report in r.values() for f in report))
        for i, figure in enumerate(figures):
            values = {k: [r[seed][figure] for seed in seeds if seed in r and r[seed].get(figure) is not None]
                      for k, r in runs.items()}
            cells = [name if i == 0 else "", figure, ",".join(seed for seed in seeds
                                                              if any(seed in r for r in runs.values()))]
            for k in sides:
                who = line.get(f"{k} library", "") if i == 0 and k != "chainrule" and values[k] else ""
                cells.append(_summary(values[k]) + (f" ({who})" if who else ""))
                if k != "chainrule":
                    cells.append(_verdict(values["chainrule"], values[k]) if "chainrule" in values else "")
            cells.append(PROGRAMS[name]["notes"] if name in PROGRAMS and i == 0 else "")
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"programs to run (default all): {', '.join(PROGRAMS)}")
    ap.add_argument("--quick", action="store_true", help="fewer epochs and grid points (the test suite's settings)")
    ap.add_argument("--oracle", action="store_true", help="also run each on the real Keras 3 / PyTorch")
    ap.add_argument("--oracle-only", action="store_true", help="run each on the real Keras 3 / PyTorch only")
    ap.add_argument("--keras-logits", action="store_true",
                    help="also run the Keras programs on Keras 3 with the cross-entropies on the logits, as its "
                         "TensorFlow backend computes them (the torch backend clips the probabilities)")
    ap.add_argument("--skip-chainrule", action="store_true", help="run only the sides asked for on the real library")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="the library seeds to run (default 0)")
    ap.add_argument("--out", default="example_output", help="working folder (the CSV, default example_output/)")
    ap.add_argument("--echo", action="store_true", help="show what the programs print")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1; 0: the library's choice)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--table", nargs="+", metavar="FILE",
                    help="print the side-by-side markdown table of these JSON files (merged) and run nothing")
    args = ap.parse_args(argv)
    import json
    if args.table:
        results = []
        for path in args.table:
            with open(path) as f:
                results.append(json.load(f))
        text = table(merge(*results))
        print(text)
        return text
    os.makedirs(args.out, exist_ok=True)
    sides = ([] if args.oracle_only or args.skip_chainrule else [("chainrule", False, False)]) + \
        ([("oracle", True, False)] if args.oracle or args.oracle_only else []) + \
        ([("oracle_logits", True, True)] if args.keras_logits else [])
    results = {}
    for name in args.names or list(PROGRAMS):
        if not available(name):
            print(f"{name}: skipped (its data set is not present)")
            continue
        line = results[name] = {"notes": PROGRAMS[name]["notes"]}
        for key, oracle, logits in sides:
            if logits and not name.startswith("keras"):
                continue
            try:
                line[f"{key} library"] = library(name, oracle)
            except ImportError as err:
                line[key] = f"not run ({err})"
                continue
            for seed in args.seeds:
                t0 = time.perf_counter()
                report, _ = run(name, quick=args.quick, oracle=oracle, workdir=args.out, echo=args.echo,
                                threads=args.threads or None, seed=seed, logits=logits)
                line.setdefault(key, {})[str(seed)] = report
                line.setdefault(f"{key} seconds", {})[str(seed)] = round(time.perf_counter() - t0, 1)
                print(f"{name} on {line[f'{key} library']}{', losses on logits' if logits else ''}, seed {seed} ({line[f'{key} seconds'][str(seed)]} s): "
                      + ", ".join(f"{k} {v:.4g}" for k, v in report.items()), flush=True)
                if args.json:   # after each run, so that a long run that is stopped keeps what it measured
                    from chainrule._atomic import write_atomic
                    text = json.dumps(results, indent=1, default=str)
                    write_atomic(args.json, lambda f: f.write(text), binary=False)
        print(f"    notes: {PROGRAMS[name]['notes']}")
    return results


if __name__ == "__main__":
    main()

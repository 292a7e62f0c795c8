"""The lecture notes' Keras and PyTorch programs, run on chainrule with only their imports changed.

Each program in examples/notes/ is one of the notes' programs written for tf.keras or PyTorch,
with ``tensorflow.keras`` / ``keras`` replaced by ``chainrule.keras`` and ``torch`` / ``torchvision``
by ``chainrule.torch`` / ``chainrule.torch.vision``, and nothing else.  This script runs them at
the notes' settings (or at quick settings: fewer epochs and grid points, the same code), reports
what each reaches, and with ``--oracle`` runs the same program text on the real Keras 3
(KERAS_BACKEND=torch) or PyTorch, imports changed back, for comparison.

    python examples/notes_programs.py [NAME ...] [--quick] [--oracle] [--out DIR] [--json FILE]

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


# name -> quick settings (assignments substituted in the program text), what to report, the notes' figure
PROGRAMS = {
    "keras_digits_grid": {
        "quick": {"epochs": "5", "eta_vals": "np.array([0.1, 1.0])", "lmbd_vals": "np.array([1e-4])"},
        "report": lambda ns: {"best test accuracy": _best(ns["test_accuracy"]),
                              "best train accuracy": _best(ns["train_accuracy"])},
        "notes": "no figure given (the grid's heat map)"},
    "keras_breast_cancer_grid": {
        "quick": {"epochs": "20", "eta": "np.array([0.01])", "n_neuron": "np.array([10, 100])"},
        "report": lambda ns: {"best test accuracy": _best(ns["Test_accuracy"]),
                              "best train accuracy": _best(ns["Train_accuracy"])},
        "notes": "no figure given (the grid's heat map)"},
    "keras_synthetic_241": {
        "quick": {"nit": "4", "sine_epochs": "300"},
        "report": lambda ns: {"final loss": float(ns["loss"][-1]), "final accuracy": float(ns["acc"][-1]),
                              "sine exercise MSE": float(ns["sine_mse"])},
        "notes": "loss 0.277, accuracy 0.89 after 1000 epochs (on the notes' own synthetic data)"},
    "keras_cnn_digits_grid": {
        "quick": {"epochs": "5", "eta_vals": "np.array([0.1])", "lmbd_vals": "np.array([1e-4])"},
        "report": lambda ns: {"best test accuracy": _best(ns["test_accuracy"])},
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
        "notes": "accuracy 0.91 after 500 epochs (on the notes' own synthetic data)"},
    "torch_mnist": {
        "quick": {"epochs": "1", "train_limit": "3000"}, "mnist": True,
        "report": lambda ns: {"final test accuracy %": float(ns["test_accuracy_history"][-1]),
                              "final train accuracy %": float(ns["train_accuracy_history"][-1])},
        "notes": "test accuracy 97.25% on MNIST after 30 epochs"},
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


def run(name, quick=False, oracle=False, workdir=".", extra=None, echo=False, threads=1, seed=0):
    """Run one program; returns (its report dict, its namespace).  ``extra`` overrides settings;
    ``threads`` limits BLAS (None: as it is); ``seed`` seeds the library's generator first (None: not)."""
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
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stdout if echo else out), limit:
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"programs to run (default all): {', '.join(PROGRAMS)}")
    ap.add_argument("--quick", action="store_true", help="fewer epochs and grid points (the test suite's settings)")
    ap.add_argument("--oracle", action="store_true", help="also run each on the real Keras 3 / PyTorch")
    ap.add_argument("--out", default="example_output", help="working folder (the CSV, default example_output/)")
    ap.add_argument("--echo", action="store_true", help="show what the programs print")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1; 0: the library's choice)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results = {}
    for name in args.names or list(PROGRAMS):
        if not available(name):
            print(f"{name}: skipped (its data set is not present)")
            continue
        t0 = time.perf_counter()
        threads = args.threads or None
        report, _ = run(name, quick=args.quick, workdir=args.out, echo=args.echo, threads=threads)
        line = {"chainrule": report, "seconds": round(time.perf_counter() - t0, 1)}
        if args.oracle:
            try:
                t0 = time.perf_counter()
                line["oracle"], _ = run(name, quick=args.quick, oracle=True, workdir=args.out, threads=threads)
                line["oracle seconds"] = round(time.perf_counter() - t0, 1)
            except ImportError as err:
                line["oracle"] = f"not run ({err})"
        results[name] = line
        print(f"{name} ({line['seconds']} s): " + ", ".join(f"{k} {v:.4g}" for k, v in report.items()))
        if "oracle" in line and isinstance(line["oracle"], dict):
            print(f"    {'Keras 3' if name.startswith('keras') else 'PyTorch'} ({line['oracle seconds']} s): "
                  + ", ".join(f"{k} {v:.4g}" for k, v in line["oracle"].items()))
        print(f"    notes: {PROGRAMS[name]['notes']}")
        if args.json:   # after each program, so that a long run that is stopped keeps what it measured
            import json
            from chainrule._atomic import write_atomic
            text = json.dumps(results, indent=1, default=str)
            write_atomic(args.json, lambda f: f.write(text), binary=False)
    return results


if __name__ == "__main__":
    main()

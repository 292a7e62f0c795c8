"""Extrapolating a physics data set with recurrent networks: SimpleRNN, LSTM and GRU variants.

Reproduces the notes' extrapolation example: the correlation energies of the pairing model for
2, 4, ..., 40 particles (chainrule.datasets.pairing_energies), of which the networks see only the
first 12.  The series is cut into sequences of 2 values, each labelled with the value that
follows (y1, y2) -> y3, so a network learns how the series continues rather than a map from the
number of particles to the energy; it then extrapolates the remaining 8 points one at a time,
feeding each prediction back in.  The notes' four networks (Adam, mean squared error, 150
epochs, 5 % of the sequences held out for validation):

* ``rnn``: SimpleRNN(200) - Dense(1);
* ``rnn_2layers``: SimpleRNN(500, sigmoid) twice - Dense(1);
* ``lstm_2layers``: LSTM(250) twice - Dense(1);
* ``dnn2_gru2``: Dense(125, relu) twice on each step, GRU(250) twice - Dense(1);

and, for contrast, the notes' "standard way": the ``rnn`` network fed the number of particles
itself (sequences of length 1), which must extrapolate in x and cannot.

    python examples/energies_rnn.py [--quick] [--out DIR] [--seed N]

Prints, for each network, the mean squared error over the 8 extrapolated points and over all 20
(the notes' figure, with the 12 known points counted as exact); writes energies_rnn.png.
"""
import argparse
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import nn
from chainrule.datasets import make_sequences, pairing_energies

DIM = 12          # training points
SEQ = 2           # sequence length


def networks():
    """The notes' four networks, by name (input: (batch, 2, 1))."""
    return {
        "rnn": lambda: [nn.SimpleRNN(200, input_shape=(SEQ, 1)), nn.Dense(1)],
        "rnn_2layers": lambda: [nn.SimpleRNN(500, activation="sigmoid", return_sequences=True, input_shape=(SEQ, 1)),
                                nn.SimpleRNN(500, activation="sigmoid"), nn.Dense(1)],
        "lstm_2layers": lambda: [nn.LSTM(250, return_sequences=True, input_shape=(SEQ, 1)), nn.LSTM(250),
                                 nn.Dense(1)],
        "dnn2_gru2": lambda: [nn.Dense(125, activation="relu"), nn.Dense(125, activation="relu"),
                              nn.GRU(250, return_sequences=True), nn.GRU(250), nn.Dense(1)],
    }


def extrapolate(model, y, dim):
    """The notes' test_rnn: the known first ``dim`` points, then each next point predicted from the
    two before it, predictions fed back in."""
    pred = list(y[:dim])
    for _ in range(dim, len(y)):
        window = np.array(pred[-SEQ:], dtype=np.float32).reshape(1, SEQ, 1)
        pred.append(float(model.predict(window)[0, 0]))
    return np.array(pred)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two networks and 40 epochs (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figure (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    epochs = 40 if args.quick else 150

    n, y = pairing_energies()
    X, t = make_sequences(y[:DIM].astype(np.float32), SEQ)      # (10, 2) windows -> the value after each
    X, t = X.reshape(-1, SEQ, 1), t.reshape(-1, 1)
    chosen = networks()
    if args.quick:
        chosen = {k: chosen[k] for k in ("rnn", "dnn2_gru2")}

    results, curves = {}, {}
    for name, layers in chosen.items():
        cr.manual_seed(args.seed)
        model = nn.Sequential(layers())
        model.compile(optimizer="adam", loss="mse")
        hist = model.fit(X, t, epochs=epochs, validation_split=0.05, verbose=0, seed=args.seed)
        pred = extrapolate(model, y, DIM)
        results[name] = {"extrapolated_mse": float(np.mean((pred[DIM:] - y[DIM:]) ** 2)),
                         "notes_mse": float(np.mean((pred - y) ** 2)),
                         "params": model.count_params(), "prediction": pred,
                         "val_loss": hist.history["val_loss"][-1]}
        curves[name] = hist.history
    # the standard way: learn energy as a function of the number of particles, then extrapolate in n
    cr.manual_seed(args.seed)
    model = nn.Sequential([nn.SimpleRNN(200, input_shape=(1, 1)), nn.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(n[:DIM].reshape(-1, 1, 1).astype(np.float32), y[:DIM].reshape(-1, 1), epochs=epochs,
              validation_split=0.05, verbose=0, seed=args.seed)
    pred = np.concatenate([y[:DIM], model.predict(n[DIM:].reshape(-1, 1, 1).astype(np.float32))[:, 0]])
    results["rnn, x -> y (standard way)"] = {"extrapolated_mse": float(np.mean((pred[DIM:] - y[DIM:]) ** 2)),
                                             "notes_mse": float(np.mean((pred - y) ** 2)),
                                             "params": model.count_params(), "prediction": pred, "val_loss": None}

    k = len(results)
    fig = Figure(figsize=(3.6 * k, 3.8), layout="constrained")
    for ax, (name, r) in zip(fig.subplots(1, k, sharey=True), results.items()):
        ax.plot(n, y, lw=3, label="true")
        ax.plot(n, r["prediction"], "g-.", lw=2.5, label="predicted")
        ax.axvspan(n[0], n[DIM - 1], alpha=0.25, color="red", label="training points")
        ax.set(title=f"{name}\nMSE over the 8 new points {r['extrapolated_mse']:.2g}", xlabel="particles")
    fig.axes[0].set_ylabel("correlation energy")
    fig.axes[0].legend(fontsize=8)
    path = os.path.join(args.out, "energies_rnn.png")
    fig.savefig(path, dpi=90)

    print(f"pairing-model energies, trained on the first {DIM} of {len(y)} points in sequences of {SEQ}, "
          f"{epochs} epochs of Adam:")
    print(f"  {'network':30s} {'params':>9s} {'MSE (8 new points)':>19s} {'MSE (all 20, notes)':>20s}")
    for name, r in results.items():
        print(f"  {name:30s} {r['params']:9,d} {r['extrapolated_mse']:19.3g} {r['notes_mse']:20.3g}")
    print(f"figure: {path}")
    return {name: {k2: v for k2, v in r.items() if k2 != "prediction"} for name, r in results.items()}


if __name__ == "__main__":
    main()

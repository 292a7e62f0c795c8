"""Noisy sine forecast: a SimpleRNN predicts the next value of a noisy series from the 4 before it.

Reproduces the notes' first recurrent example ("A simple example"): N = 1000 points of
x_t = sin(0.02 t) + u_t with u_t ~ U(0, 2), the first 800 for training and the last 200 for
testing; each input is a window of the 4 values before the target.  As in the notes the window
enters as one time step of 4 features (input_shape=(1, 4)), and the network is
SimpleRNN(32, relu) - Dense(8, relu) - Dense(1), trained with RMSprop on the mean squared error
(100 epochs, batches of 16).  The same network reading the window as 4 time steps of one feature
(input_shape=(4, 1)) is trained too.

No forecast can beat the noise: the best prediction is sin(0.02 t) + 1, whose mean squared error
is Var(u) = 1/3 (printed as the noise floor, measured on the test targets); predicting the last
value, x_(t-1), costs about twice that (two independent noise draws).  Windows are cut from the
whole series and split by their target's index (targets 4..799 train, 800..999 test); the notes
instead pad each part with copies of its last value.

    python examples/noisy_sine_rnn.py [--quick] [--out DIR] [--seed N]

Prints the test MSE of both networks, of predicting the last value, and the noise floor; writes
noisy_sine_rnn.png (series, forecasts, training loss).
"""
import argparse
import os

import numpy as np
from matplotlib.figure import Figure

import chainrule as cr
from chainrule import nn
from chainrule.datasets import make_sequences

N, TP, STEP = 1000, 800, 4


def series(seed):
    rng = np.random.default_rng(seed)
    t = np.arange(N)
    return t, np.sin(0.02 * t) + 2 * rng.random(N)


def network(input_shape):
    return nn.Sequential([nn.SimpleRNN(32, activation="relu", input_shape=input_shape),
                          nn.Dense(8, activation="relu"), nn.Dense(1)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 epochs instead of 100 (for the test suite)")
    ap.add_argument("--out", default="example_output", help="folder for the figure (default example_output/)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    epochs = 4 if args.quick else 100

    t, x = series(args.seed)
    X, y = make_sequences(x.astype(np.float32), STEP)          # X[i] = x[i:i+4], y[i] = x[i+4]
    target = np.arange(STEP, N)
    train, test = target < TP, target >= TP
    y = y.reshape(-1, 1)
    persistence = float(np.mean((X[test, -1] - y[test, 0]) ** 2))
    floor = float(np.mean((y[test, 0] - (np.sin(0.02 * target[test]) + 1)) ** 2))

    results, fits = {}, {}
    for label, shape in (("1 step x 4 features (the notes')", (1, STEP)), ("4 steps x 1 feature", (STEP, 1))):
        Xs = X.reshape(len(X), *shape)
        cr.manual_seed(args.seed)
        model = network(shape)
        model.compile(optimizer="rmsprop", loss="mse")
        history = model.fit(Xs[train], y[train], epochs=epochs, batch_size=16, verbose=0, seed=args.seed)
        mse = model.evaluate(Xs[test], y[test], verbose=0, return_dict=True)["loss"]
        results[label] = mse
        fits[label] = (model.predict(Xs)[:, 0], history.history["loss"], mse)
        if label.startswith("1 step"):
            model.summary()

    fig = Figure(figsize=(13, 4.5), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=(2.2, 1))
    ax.plot(t, x, color="0.75", lw=0.8, label="series")
    ax.plot(t, np.sin(0.02 * t) + 1, "k--", lw=1, label=r"$\sin(0.02t) + 1$ (best forecast)")
    for (label, (pred, loss, mse)), color in zip(fits.items(), ("C3", "C0")):
        ax.plot(target, pred, color=color, lw=1.2, label=f"SimpleRNN, {label}: test MSE {mse:.3f}")
        ax2.plot(np.arange(1, len(loss) + 1), loss, color=color, label=label)
    ax.axvline(TP, color="r", lw=1)
    ax.set(xlabel="t", ylabel="x", title=f"next-value forecast from 4 values; predicting the last value: "
                                        f"MSE {persistence:.3f}")
    ax.legend(loc="lower left", fontsize=8)
    ax2.axhline(1 / 3, color="k", ls=":", label="noise variance 1/3")
    ax2.set(xlabel="epoch", ylabel="training MSE", title="RMSprop, batches of 16")
    ax2.legend(fontsize=8)
    path = os.path.join(args.out, "noisy_sine_rnn.png")
    fig.savefig(path, dpi=90)

    print(f"noisy sine, N = {N}, first {TP} for training, windows of {STEP}, {epochs} epochs:")
    for label, mse in results.items():
        print(f"  SimpleRNN(32)-Dense(8)-Dense(1), {label}: test MSE {mse:.4f}")
    print(f"  predicting the last value: test MSE {persistence:.4f}")
    print(f"  noise floor (sin(0.02 t) + 1 as the forecast): test MSE {floor:.4f}")
    print(f"figure: {path}")
    return {"test_mse": results["1 step x 4 features (the notes')"], "test_mse_sequence": results["4 steps x 1 feature"],
            "persistence_mse": persistence, "noise_floor": floor}


if __name__ == "__main__":
    main()

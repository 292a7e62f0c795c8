"""Recurrent training-step benchmark: chainrule's LSTM, GRU and SimpleRNN against PyTorch CPU.

One training step of the issue's network, for each cell:

* a batch of 32 sequences of 50 steps with 1 feature, float32;
* the recurrent layer (64 units), then Dense(1) on its last output;
* mean squared error, Adam (lr 1e-3): zero_grad, forward, loss, backward, step.

Every implementation starts from the same weights (PyTorch's initialisation, copied across with
``from_torch``) and sees the same batches.  They run interleaved in one process, in turns whose
order rotates, with one thread count (``--threads``, set for OpenBLAS/OpenMP before NumPy and
torch load, and ``torch.set_num_threads``).  Before each turn the script waits, untimed, until the
process is idle: PyTorch's OpenMP threads spin for about 8 ms after its last step, and at two
threads that spinning otherwise ran through the next implementation's whole turn (chainrule's LSTM
step took 3.5-4.0 ms there against 3.2 ms alone, with 7.4-7.9 ms of CPU time a step).  Each turn
then starts with one untimed step (see :func:`run_turn`).

Implementations:

``torch``
    ``torch.nn.LSTM/GRU/RNN(1, 64, batch_first=True)`` + ``nn.Linear(64, 1)``, ``nn.MSELoss``,
    ``torch.optim.Adam``.  (PyTorch's LSTM runs oneDNN's fused kernel on the CPU; its GRU and RNN
    do not.)
``chainrule``
    Keras' layers on the engine, written as the PyTorch loop: ``nn.Sequential([nn.LSTM(64),
    nn.Dense(1)])``, ``losses.mse``, ``loss.backward()``, ``optim.Adam.step()``.  The recurrent
    layer is one graph node (``chainrule.ops.recurrent``).
``chainrule_torch``
    ``chainrule.torch.nn.LSTM`` (PyTorch's names and weight layout) + ``nn.Linear``, the same loop.
``chainrule_fit``
    ``model.fit(..., shuffle=False)`` over the same batches; its step time is the epoch's time
    divided by the number of batches.

Printed: the median step time (wall clock and process CPU time) of each, the ratio to torch per
round (median and range over rounds), and where the time goes: forward, backward and optimizer
step of each library, the recurrent primitive's share, and the elementwise kernels behind it.

Targets (step time against torch, median over rounds): LSTM <= 0.8x, GRU <= 0.6x, SimpleRNN <= 1.0x.

On a shared machine use ``--threads 1`` (two BLAS/OpenMP threads on two busy cores spin and wait,
and both libraries' times grow tenfold) and many rounds; the cpu-time ratio is the steadier one.
The breakdown ("where the time goes") is in process time: the phases of one step, the recurrent
primitive's forward and VJP alone, and the matrix products it cannot avoid timed on their own.

Usage::

    python bench/rnn.py                    # 3 cells, 70 rounds of 2 steps each
    python bench/rnn.py --threads 1 --rounds 120
    python bench/rnn.py --cell lstm --quick
    python bench/rnn.py --strict           # exit 1 when a target is missed
"""
from __future__ import annotations

import argparse
import os
import sys


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="threads for every library (default: core count)")
    p.add_argument("--cell", action="append", choices=["lstm", "gru", "rnn"], default=None,
                   help="cells to time (default all three)")
    # short turns: a busy spell of the machine then falls on every implementation alike.  (Turns of
    # 20 steps once put the same LSTM at 0.92x, 0.97x and 1.04x torch, turns of 2 at 0.90x: a turn's
    # first step is cold, and it weighed in the medians of short turns; it is untimed now, run_turn.)
    p.add_argument("--rounds", type=int, default=70, help="rounds of turns (default 70)")
    p.add_argument("--steps", type=int, default=2,
                   help="timed training steps per turn, after an untimed one (default 2)")
    p.add_argument("--quick", action="store_true", help="3 rounds of 5 steps")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = p.parse_args(argv)
    if args.threads is None:
        try:
            args.threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            args.threads = os.cpu_count() or 1
    if args.quick:
        args.rounds, args.steps = 3, 5
    if min(args.threads, args.rounds, args.steps) < 1:
        p.error("--threads, --rounds and --steps must be >= 1")
    return args


# thread counts are read once, when OpenBLAS and OpenMP load: set them first
if __name__ == "__main__":
    ARGS = _parse_args()
    from _env import pin_threads
    pin_threads(ARGS.threads, False)

from _env import settle  # noqa: E402

import time  # noqa: E402

import numpy as np  # noqa: E402

BATCH, STEPS, FEATURES, UNITS, LR = 32, 50, 1, 64, 1e-3
TARGETS = {"lstm": 0.8, "gru": 0.6, "rnn": 1.0}
TORCH_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
KERAS_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
N_BATCHES = 8        # distinct batches, cycled


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_BATCHES, BATCH, STEPS, FEATURES)).astype(np.float32)
    y = (X.mean(axis=2) + 0.1 * rng.standard_normal((N_BATCHES, BATCH, 1))).astype(np.float32)
    return X, y


def _clock():
    return time.perf_counter(), time.process_time()


# ----------------------------------------------------------------------------- the implementations
class Torch:
    name = "torch"

    def __init__(self, cell, torch):
        self.torch = torch
        torch.manual_seed(0)
        self.rnn = getattr(torch.nn, TORCH_NAMES[cell])(FEATURES, UNITS, batch_first=True)
        self.head = torch.nn.Linear(UNITS, 1)
        self.params = list(self.rnn.parameters()) + list(self.head.parameters())
        self.opt = torch.optim.Adam(self.params, lr=LR)
        self.loss = torch.nn.MSELoss()

    def step(self, x, y):
        self.opt.zero_grad()
        out, _ = self.rnn(x)
        loss = self.loss(self.head(out[:, -1]), y)
        loss.backward()
        self.opt.step()
        return loss

    def data(self, X, y):
        return [self.torch.from_numpy(a) for a in X], [self.torch.from_numpy(a) for a in y]

    def phases(self, x, y):
        """(forward, backward, optimizer step) seconds of process time of one step."""
        t0 = time.process_time()
        self.opt.zero_grad()
        out, _ = self.rnn(x)
        loss = self.loss(self.head(out[:, -1]), y)
        t1 = time.process_time()
        loss.backward()
        t2 = time.process_time()
        self.opt.step()
        return t1 - t0, t2 - t1, time.process_time() - t2


class Chainrule:
    name = "chainrule"

    def __init__(self, cell, reference):
        from chainrule import losses, nn, optim
        layer = getattr(nn, KERAS_NAMES[cell]).from_torch(reference.rnn, timesteps=STEPS,
                                                          **({"activation": "tanh"} if cell == "rnn" else {}))
        head = nn.Dense(1, input_dim=UNITS)
        head.kernel.data[...] = reference.head.weight.detach().numpy().T
        head.bias.data[...] = reference.head.bias.detach().numpy()
        self.model = nn.Sequential([layer, head])
        self.opt = optim.Adam(self.model.parameters(), lr=LR)
        self.mse = losses.mse

    def forward(self, x):
        return self.model(x)

    def step(self, x, y):
        self.opt.zero_grad()
        loss = self.mse(y, self.forward(x))
        loss.backward()
        self.opt.step()
        return loss

    def data(self, X, y):
        return list(X), list(y)

    def phases(self, x, y):
        t0 = time.process_time()
        self.opt.zero_grad()
        loss = self.mse(y, self.forward(x))
        t1 = time.process_time()
        loss.backward()
        t2 = time.process_time()
        self.opt.step()
        return t1 - t0, t2 - t1, time.process_time() - t2


class ChainruleTorch(Chainrule):
    name = "chainrule_torch"

    def __init__(self, cell, reference):
        import chainrule.torch as ctorch
        from chainrule import losses, nn, optim
        self.rnn = getattr(ctorch.nn, TORCH_NAMES[cell])(FEATURES, UNITS, batch_first=True)
        self.rnn.load_state_dict({k: v.detach().numpy() for k, v in reference.rnn.state_dict().items()})
        self.head = nn.Linear(UNITS, 1)
        self.head.kernel.data[...] = reference.head.weight.detach().numpy().T
        self.head.bias.data[...] = reference.head.bias.detach().numpy()
        self.opt = optim.Adam(self.rnn.parameters() + self.head.parameters(), lr=LR)
        self.mse = losses.mse

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class ChainruleFit:
    name = "chainrule_fit"

    def __init__(self, cell, reference):
        inner = Chainrule(cell, reference)
        self.model = inner.model
        self.model.compile(optimizer=inner.opt, loss="mse")

    def data(self, X, y):
        return X.reshape(-1, STEPS, FEATURES), y.reshape(-1, 1)

    def run(self, X, y, steps):
        """Time ``steps`` training steps of fit (whole epochs over the batches, then scaled)."""
        epochs = max(1, round(steps / N_BATCHES))
        w0, c0 = _clock()
        self.model.fit(X, y, epochs=epochs, batch_size=BATCH, shuffle=False, verbose=0)
        w1, c1 = _clock()
        n = epochs * N_BATCHES
        return [(w1 - w0) / n] * n, [(c1 - c0) / n] * n


# ----------------------------------------------------------------------------- timing
def run_turn(impl, data, steps, offset):
    """One turn: an untimed step first, then ``steps`` timed ones (the fit row: whole epochs).

    The first step of a turn runs on caches the other implementations just filled.  In turns of 3
    steps it took 1.17-1.29x a warm step for PyTorch's LSTM and 1.13-1.14x for chainrule's (one
    thread, 2026-12-04).  When every step of a 2-step turn was timed, the medians mixed cold and
    warm steps and flattered chainrule: its LSTM came out at 0.86x and 0.88x PyTorch's, against
    0.95x and 0.97x with this untimed step, in runs alternated in the same spell.  A program that
    trains with one library runs warm steps only."""
    if isinstance(impl, ChainruleFit):
        return impl.run(*data, steps)
    xs, ys = data
    walls, cpus = [], []
    for s in range(-1, steps):
        k = (offset + s) % N_BATCHES
        w0, c0 = _clock()
        impl.step(xs[k], ys[k])
        w1, c1 = _clock()
        if s >= 0:
            walls.append(w1 - w0)
            cpus.append(c1 - c0)
    return walls, cpus


def bench_cell(cell, args, torch):
    X, y = make_data()
    ref = Torch(cell, torch)
    impls = [ref, Chainrule(cell, ref), ChainruleTorch(cell, ref), ChainruleFit(cell, ref)]
    data = {impl.name: impl.data(X, y) for impl in impls}
    for impl in impls:                          # warm up (buffers, caches, first-call costs)
        run_turn(impl, data[impl.name], 2, 0)
    wall = {impl.name: [] for impl in impls}
    cpu = {impl.name: [] for impl in impls}
    per_round = {impl.name: [] for impl in impls}
    for r in range(args.rounds):
        order = impls[r % len(impls):] + impls[:r % len(impls)]
        for impl in order:
            settle()     # the last turn's thread pools idle first (PyTorch's OpenMP threads spin ~8 ms)
            w, c = run_turn(impl, data[impl.name], args.steps, r * args.steps)
            wall[impl.name] += w
            cpu[impl.name] += c
            per_round[impl.name].append((float(np.median(w)), float(np.median(c))))
    return impls, wall, cpu, per_round, data


def where_time_goes(cell, impls, data, reps=15):
    """Phases of one step (median of ``reps``) and the recurrent primitive's own forward and VJP."""
    from chainrule.ops import recurrent as R
    lines = []
    for impl in impls[:3]:
        xs, ys = data[impl.name]
        ph = np.median([impl.phases(xs[k % N_BATCHES], ys[k % N_BATCHES]) for k in range(reps)], axis=0) * 1e3
        lines.append(f"    {impl.name:16s} forward+loss {ph[0]:6.2f} ms   backward {ph[1]:6.2f} ms   "
                     f"optimizer {ph[2]:5.2f} ms  (cpu time)")
    layer = impls[1].model[0]
    x = data["chainrule"][0][0]
    cls = {"lstm": R.LSTMSequence, "gru": R.GRUSequence, "rnn": R.SimpleRNNSequence}[cell]
    weights = [layer.kernel.data, layer.recurrent_kernel.data]
    if cell == "gru":
        weights += [layer.bias.data[0], layer.bias.data[1]]
    else:
        weights.append(layer.bias.data)
    ctx = cls.__new__(cls)
    ctx.needs_input_grad = [False, True, True, True] + ([True] if cell == "gru" else [])
    fw, bw, fac = [], [], []
    g = np.ones((BATCH, UNITS), np.float32)
    for _ in range(reps):
        t0 = time.process_time()
        ctx.forward(x, *weights)
        t1 = time.process_time()
        ctx.backward(g)
        t2 = time.process_time()
        if cell == "lstm":                      # as its VJP computes them: block by block
            for block in R._blocks(STEPS):
                ctx._factors(*block)
        elif hasattr(ctx, "_factors"):
            ctx._factors()
        if hasattr(ctx, "_factors"):
            fac.append(time.process_time() - t2)
        bw.append(t2 - t1)
        fw.append(t1 - t0)
    lines.append(f"    the recurrent primitive alone (cpu): forward {np.median(fw) * 1e3:.2f} ms, VJP (BPTT and the "
                 f"weight gradients) {np.median(bw) * 1e3:.2f} ms"
                 + (f", of which the per-step factors for all steps (passes over the forward's stored values "
                    f"before the loop; the LSTM's block by block) {np.median(fac) * 1e3:.2f} ms" if fac else ""))
    lines.append("    " + _products(cell, reps))
    lines.append("    " + _transcendentals(cell, reps))
    return lines


def _transcendentals(cell, reps):
    """The exp and tanh values the cell needs per step, timed alone as NumPy calls (the floor of
    the forward's elementwise work: LSTM one exp or tanh over 4u x N values (the four gates, by the
    gate kernel this machine takes) and a tanh over u x N (phi(c_t)); GRU sigmoid of 2u x N through
    exp and tanh of u x N; SimpleRNN tanh of u x N)."""
    from chainrule.ops.elementwise import sigmoid_tanh_, sigmoid_tanh_from_exp_
    lstm = (4, 1) if sigmoid_tanh_ is sigmoid_tanh_from_exp_ else (0, 5)
    n_exp, n_tanh = {"lstm": lstm, "gru": (2, 1), "rnn": (0, 1)}[cell]
    rng = np.random.default_rng(0)
    e = rng.standard_normal((max(n_exp, 1) * UNITS, BATCH)).astype(np.float32)
    t = rng.standard_normal((n_tanh * UNITS, BATCH)).astype(np.float32)

    def run():
        for _ in range(STEPS):
            if n_exp:
                np.exp(e, out=e)
                np.negative(e, out=e)
            np.tanh(t, out=t)
    what = (f"exp of {n_exp * UNITS} x {BATCH} and " if n_exp else "") + f"tanh of {n_tanh * UNITS} x {BATCH}"
    neg = ", with a negation to keep them finite" if n_exp else ""
    return (f"the transcendentals alone ({what} values per step, {STEPS} steps{neg}): "
            f"{_cpu_ms(run, reps):.2f} ms a forward pass")


def _cpu_ms(fn, reps):
    """Median CPU milliseconds of ``fn()`` over ``reps`` calls, after one call to warm up."""
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        ts.append(time.process_time() - t0)
    return np.median(ts) * 1e3


def _products(cell, reps):
    """The matrix products the primitive cannot avoid, timed alone with NumPy (its BLAS): one
    recurrent product per step forward and backward, and the weight gradient over all steps."""
    k = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    rng = np.random.default_rng(0)
    A = rng.standard_normal((k * UNITS, UNITS + FEATURES + 1)).astype(np.float32)
    s = rng.standard_normal((UNITS + FEATURES + 1, BATCH)).astype(np.float32)
    z = np.empty((k * UNITS, BATCH), np.float32)
    U = rng.standard_normal((UNITS, k * UNITS)).astype(np.float32)
    dh = np.empty((UNITS, BATCH), np.float32)
    Sf = rng.standard_normal((UNITS + FEATURES + 1, STEPS * BATCH)).astype(np.float32)
    dZf = rng.standard_normal((k * UNITS, STEPS * BATCH)).astype(np.float32)

    def fwd():
        for _ in range(STEPS):
            np.matmul(A, s, out=z)

    def bwd():
        for _ in range(STEPS - 1):
            np.matmul(U, z, out=dh)
    ts = {name: _cpu_ms(fn, reps) for name, fn in (("forward", fwd), ("backward", bwd),
                                                  ("weights", lambda: Sf @ dZf.T))}
    return (f"of which matrix products (NumPy's BLAS alone, cpu): {STEPS} recurrent steps forward "
            f"{ts['forward']:.2f} ms, {STEPS - 1} backward {ts['backward']:.2f} ms, the weight gradient over all "
            f"steps {ts['weights']:.2f} ms; the rest is elementwise work and Python")


def kernels(torch, reps=400):
    """The per-step kernels behind the time: one step's gate nonlinearities and recurrent product."""
    from chainrule.ops.elementwise import Sigmoid, Tanh, sigmoid_tanh_, sigmoid_tanh_from_exp_, sigmoid_tanh_from_tanh_
    a = np.random.default_rng(0).standard_normal((3 * UNITS, BATCH)).astype(np.float32)
    o = np.empty_like(a)
    w = np.random.default_rng(3).standard_normal((4 * UNITS, BATCH)).astype(np.float32)
    wo = np.empty_like(w)
    tw = torch.from_numpy(w.T.copy())
    h = np.random.default_rng(1).standard_normal((UNITS, BATCH)).astype(np.float32)
    UT = np.random.default_rng(2).standard_normal((4 * UNITS, UNITS)).astype(np.float32)
    z = np.empty((4 * UNITS, BATCH), np.float32)
    ta, tUT, th = torch.from_numpy(a.T.copy()), torch.from_numpy(UT.T.copy()), torch.from_numpy(h.T.copy())

    def t(fn):
        fn()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - t0) / reps * 1e6
    return [f"    sigmoid of 3 gates ({3 * UNITS} x {BATCH}): chainrule's Sigmoid.f_ {t(lambda: Sigmoid.f_(a, o)):.1f} us, "
            f"torch.sigmoid {t(lambda: torch.sigmoid(ta)):.1f} us;  tanh of one gate: "
            f"{t(lambda: Tanh.f_(a[:UNITS], o[:UNITS])):.1f} us vs {t(lambda: torch.tanh(ta[:, :UNITS])):.1f} us",
            f"    the LSTM step's four gates ({4 * UNITS} x {BATCH}): chainrule's kernels, from one tanh "
            f"{t(lambda: sigmoid_tanh_from_tanh_(w, 3 * UNITS, wo)):.1f} us, from one exp "
            f"{t(lambda: sigmoid_tanh_from_exp_(w, 3 * UNITS, wo)):.1f} us (this machine takes "
            f"{sigmoid_tanh_.__name__}), torch sigmoid + tanh "
            f"{t(lambda: (torch.sigmoid(tw[:, :3 * UNITS]), torch.tanh(tw[:, 3 * UNITS:]))):.1f} us",
            f"    recurrent product U^T h ({4 * UNITS} x {UNITS} x {BATCH}): NumPy {t(lambda: np.matmul(UT, h, out=z)):.1f} "
            f"us, torch {t(lambda: th @ tUT):.1f} us"]


def _load(when=""):
    """The machine's load average (other processes' work inflates both libraries' times, torch's
    oneDNN loop less than chainrule's many small NumPy calls): print it beside the figures."""
    try:
        one, five, _ = os.getloadavg()
    except (AttributeError, OSError):  # not Unix
        return ""
    return f"load average{when}: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main(args):
    try:
        import torch
    except ImportError:
        print("bench/rnn.py: PyTorch is not installed (pip install torch==2.13.0); nothing to compare with.")
        return 0
    torch.set_num_threads(args.threads)
    blas = ""
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('architecture') or ''} {i['num_threads']} threads"
                         for i in threadpool_info())
    except Exception:  # pragma: no cover - threadpoolctl is a dependency
        pass
    print(f"recurrent training step: batch {BATCH}, {STEPS} steps x {FEATURES} feature, {UNITS} units, Dense(1), "
          f"MSE, Adam; float32; threads {args.threads}; numpy {np.__version__}, torch {torch.__version__}"
          + (f" [{blas}]" if blas else ""))
    print(f"{args.rounds} rounds of {args.steps} steps per implementation, interleaved (the process idle before "
          f"each turn); times are medians per step")
    print(_load() + "\n")
    ok = True
    for cell in args.cell or ["lstm", "gru", "rnn"]:
        impls, wall, cpu, per_round, data = bench_cell(cell, args, torch)
        t_wall, t_cpu = np.median(wall["torch"]), np.median(cpu["torch"])
        print(f"{KERAS_NAMES[cell]} ({TORCH_NAMES[cell]} in PyTorch), target <= {TARGETS[cell]}x torch's step time")
        print(f"    {'':16s} {'wall ms':>8s} {'cpu ms':>8s}   {'wall ratio (range over rounds)':>31s}   "
              f"{'cpu ratio (range)':>21s}")
        for impl in impls:
            name = impl.name
            line = f"    {name:16s} {np.median(wall[name]) * 1e3:8.2f} {np.median(cpu[name]) * 1e3:8.2f}"
            if name != "torch":
                rw = [a[0] / b[0] for a, b in zip(per_round[name], per_round["torch"])]
                rc = [a[1] / b[1] for a, b in zip(per_round[name], per_round["torch"]) if b[1] > 0]
                med = float(np.median(rw))
                line += (f"   {med:7.2f}x ({min(rw):.2f}-{max(rw):.2f})" + " " * 14 +
                         (f"   {np.median(rc):6.2f}x ({min(rc):.2f}-{max(rc):.2f})" if rc else ""))
                if name == "chainrule":
                    hit = med <= TARGETS[cell]
                    ok &= hit
                    line += "   " + ("meets the target" if hit else "MISSES the target")
            print(line)
        print(f"  where the time goes (medians of single steps; torch {t_wall * 1e3:.2f} ms wall, {t_cpu * 1e3:.2f} "
              f"ms cpu per step):")
        for line in where_time_goes(cell, impls, data):
            print(line)
        print()
    print(_load(" at the end"))
    print("kernels (single calls, this thread count):")
    for line in kernels(torch):
        print(line)
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main(ARGS))

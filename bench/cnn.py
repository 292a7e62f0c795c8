"""CNN training benchmark: chainrule against PyTorch CPU, default (channels-first) and channels_last.

The network is the Fashion-MNIST CNN of issue 15 (``chainrule.nn.conv.fashion_mnist_cnn``):

* Conv2D 32 3x3 ReLU -> MaxPool 2x2 -> Conv2D 64 3x3 ReLU -> MaxPool 2x2 -> Flatten 1600 ->
  Dense 128 ReLU -> Dense 10, softmax cross-entropy averaged over the batch (225,034 weights);
* Adam, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8 (PyTorch's defaults, the same everywhere);
* batch size 64, float32, images scaled to [0, 1] (28x28x1; 938 steps are one epoch of 60,000).

Every implementation starts from the *same* initial weights (chainrule's Glorot-uniform draw,
copied into PyTorch with the kernels transposed and the first Dense layer's rows permuted for
PyTorch's (C, H, W) Flatten order; the script checks that the first outputs agree) and trains
on the *same* batches in the same order.  All run in one process with one thread count
(``--threads``: OpenBLAS through threadpoolctl, ``torch.set_num_threads``), **interleaved**:
rounds of ``--turn`` steps of each implementation in rotating order, so a change in the
machine's load hits all of them alike.  A step's time is the median over its turns; the
ratios are the medians (and ranges) of the per-round ratios.

Implementations:

``chainrule``
    ``nn.Sequential`` of Keras-style layers (channels-last) trained with the step ``model.fit``
    runs: ``out = model(x)``, the loss, ``opt.zero_grad()``, ``loss.backward()``, ``opt.step()``.
    Each convolution, with its bias, ReLU and the max pooling after it, is one graph node
    (:class:`chainrule.ops.conv.Conv`).
``chainrule_torch_api``
    The same network written with PyTorch's channels-first names (``chainrule.torch.nn.Conv2d``,
    ``MaxPool2d``, ``nn.Linear``...) on (N, 1, 28, 28) images: the same primitives plus the
    layout transposes.
``torch_default``
    ``torch.nn.Sequential`` of the same layers, NCHW, ``CrossEntropyLoss`` on the logits,
    ``torch.optim.Adam`` (the usual zero_grad/backward/step loop).
``torch_channels_last``
    The same model and inputs in ``torch.channels_last`` memory format.

Printed per implementation: milliseconds per step (median [min, max] over turns), CPU
milliseconds per step (all threads), samples per second, GFLOP/s (the nominal 0.985 GFLOP of a
step: forward, weight and input gradients of every layer but the first's input gradient),
seconds per epoch (938 steps), and the peak memory training adds to a process that holds the model
and the data (the growth of the peak resident set over 20 steps, gradients and optimizer state
included, measured in a fresh subprocess per implementation).  Then the ratios chainrule / PyTorch in
wall-clock and CPU time.  Target: chainrule <= 0.9x torch_default's time per step.

On a shared machine every figure moves with the other processes' load (the load average is
printed before and after): compare ratios from one run, and prefer a quiet machine and
``--threads 1`` for numbers to quote.

Usage::

    python bench/cnn.py                   # 300 steps each, threads = core count
    python bench/cnn.py --threads 1
    python bench/cnn.py --quick           # 60 steps each, no memory subprocesses
    python bench/cnn.py --epoch           # one full epoch (938 steps) each, interleaved
    python bench/cnn.py --impl chainrule --impl torch_default

Data: the Fashion-MNIST IDX files from ``--data DIR`` or chainrule's usual places
(``$CHAINRULE_DATA``, /usr/share/datasets/fashion-mnist from ``apt-get install
dataset-fashion-mnist``); without them, random images with zero backgrounds of the same shape
(the timings hardly depend on the pixels; the script says which it used).
"""
import argparse
import json
import os
import subprocess
import sys
import time

IMPLS = ("chainrule", "chainrule_torch_api", "torch_default", "torch_channels_last")
BATCH, STEPS_PER_EPOCH = 64, 938
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
TARGET = 0.9


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="threads for BLAS and torch (default: core count)")
    p.add_argument("--steps", type=int, default=300, help="timed steps per implementation (default 300)")
    p.add_argument("--turn", type=int, default=25, help="steps per turn in the interleaving (default 25)")
    p.add_argument("--epoch", action="store_true", help=f"time one full epoch ({STEPS_PER_EPOCH} steps) each")
    p.add_argument("--quick", action="store_true", help="60 steps each in turns of 20, no memory measurement")
    p.add_argument("--impl", action="append", choices=IMPLS, default=None, help="only this one (repeatable)")
    p.add_argument("--data", default=None, help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (dropped by default, as bench/mlp.py does)")
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads is None:
        try:
            args.threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            args.threads = os.cpu_count() or 1
    if args.quick:
        args.steps, args.turn, args.no_memory = 60, 20, True
    if args.epoch:
        args.steps = STEPS_PER_EPOCH
    if args.threads < 1 or args.steps < 1 or args.turn < 1:
        p.error("--threads, --steps and --turn must be >= 1")
    args.impl = list(dict.fromkeys(args.impl or IMPLS))
    return args


# Thread counts are read once, when NumPy (OpenBLAS) and torch (OpenMP) load.
if __name__ == "__main__":
    ARGS = _parse_args()
    from _env import pin_threads
    pin_threads(ARGS.threads, ARGS.keep_openblas_env)

from _env import settle  # noqa: E402

import numpy as np  # noqa: E402


# ---------------------------------------------------------------------------- data and weights
def load_batches(path, steps, seed):
    """(X (steps*64, 28, 28, 1) float32, y, description): Fashion-MNIST in a seeded order, or stand-ins."""
    from chainrule.datasets import DatasetNotFoundError, load_fashion_mnist
    n = steps * BATCH
    rng = np.random.default_rng(seed)
    try:
        (X, y), _ = load_fashion_mnist(path=path)
        idx = np.concatenate([rng.permutation(len(X)) for _ in range(-(-n // len(X)))])[:n]
        return (X[idx].astype(np.float32) / 255.0)[..., None], y[idx].astype(np.int64), "Fashion-MNIST"
    except DatasetNotFoundError:
        X = rng.random((n, 28, 28, 1), dtype=np.float32)
        X[:, :4] = X[:, -4:] = X[:, :, :4] = X[:, :, -4:] = 0.0
        return X, rng.integers(0, 10, n), "random images (Fashion-MNIST not found)"


def chainrule_model(seed):
    import chainrule as cr
    from chainrule.nn.conv import fashion_mnist_cnn
    cr.manual_seed(seed)
    return fashion_mnist_cnn()


def _flatten_order(c, h, w):
    """order[r] = the channels-first index of the channels-last flattened input r."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)


def weights_of(model):
    """The chainrule model's weights as PyTorch arrays: conv (out, in, kh, kw), linear (out, in) in
    PyTorch's flatten order."""
    conv = [(m.kernel.numpy().transpose(3, 2, 0, 1).copy(), m.bias.numpy().copy()) for m in (model[0], model[2])]
    k1 = model[5].kernel.numpy()
    w1 = np.empty_like(k1)
    w1[_flatten_order(64, 5, 5)] = k1
    linear = [(w1.T.copy(), model[5].bias.numpy().copy()), (model[6].kernel.numpy().T.copy(),
                                                              model[6].bias.numpy().copy())]
    return conv + linear


# ------------------------------------------------------------------------------- trainers
def make_chainrule(X, y, weights, seed):
    import chainrule as cr
    from chainrule import losses
    model = chainrule_model(seed)
    opt = cr.optim.Adam(model.parameters(), lr=LR, beta1=BETAS[0], beta2=BETAS[1], eps=EPS)
    loss_fn = losses.get("sparse_categorical_crossentropy")

    def step(i):
        xb, yb = X[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]
        out = model(xb)
        loss = loss_fn(yb, out)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return out
    return step, lambda: model.predict(X[:BATCH])


def make_chainrule_torch_api(X, y, weights, seed):
    import chainrule as cr
    from chainrule import nn
    from chainrule.torch import nn as tnn
    model = nn.Sequential(tnn.Conv2d(1, 32, 3), nn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 64, 3), nn.ReLU(),
                          tnn.MaxPool2d(2), tnn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    for layer, (w, b) in zip((model[0], model[3]), weights[:2]):
        layer.set_weights([w, b], layout="torch")
    for layer, (w, b) in zip((model[7], model[9]), weights[2:]):
        np.copyto(layer.kernel.data, w.T)
        np.copyto(layer.bias.data, b)
    opt = cr.optim.Adam(model.parameters(), lr=LR, beta1=BETAS[0], beta2=BETAS[1], eps=EPS)
    loss_fn = nn.CrossEntropyLoss()
    Xcf = np.ascontiguousarray(X.transpose(0, 3, 1, 2))

    def step(i):
        out = model(Xcf[i * BATCH:(i + 1) * BATCH])
        loss = loss_fn(out, y[i * BATCH:(i + 1) * BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step, lambda: cr.softmax(model(Xcf[:BATCH])).numpy()


def _make_torch(X, y, weights, channels_last):
    import torch
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 64, 3), tnn.ReLU(),
                           tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(1600, 128), tnn.ReLU(), tnn.Linear(128, 10))
    with torch.no_grad():
        for layer, (w, b) in zip((model[0], model[3], model[7], model[9]), weights):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    loss_fn = tnn.CrossEntropyLoss()
    TX = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2))).contiguous(memory_format=fmt)
    TY = torch.from_numpy(y)

    def step(i):
        opt.zero_grad()
        loss = loss_fn(model(TX[i * BATCH:(i + 1) * BATCH]), TY[i * BATCH:(i + 1) * BATCH])
        loss.backward()
        opt.step()

    def first():
        with torch.no_grad():
            return torch.softmax(model(TX[:BATCH]), 1).numpy()
    return step, first


MAKERS = {"chainrule": make_chainrule, "chainrule_torch_api": make_chainrule_torch_api,
          "torch_default": lambda *a: _make_torch(*a[:3], False),
          "torch_channels_last": lambda *a: _make_torch(*a[:3], True)}


def step_flops(model):
    """Nominal FLOPs of one training step: 2 x multiply-adds of the forward pass, again for the weight
    gradients, again for the input gradients of every layer but the first."""
    from chainrule.nn import Dense
    from chainrule.nn.conv import _Conv
    total, first = 0, True
    for layer in model:
        if isinstance(layer, _Conv):
            out = layer.output_shape
            macs = BATCH * int(np.prod(out[1:-1])) * int(np.prod(layer.kernel.shape[:-1])) * layer.filters
        elif isinstance(layer, Dense):
            macs = BATCH * layer.kernel.shape[0] * layer.kernel.shape[1]
        else:
            continue
        total += 2 * macs * (2 if first else 3)
        first = False
    return total


def _available(impls):
    try:
        import torch  # noqa: F401
    except ImportError:
        gone = [i for i in impls if i.startswith("torch")]
        if gone:
            print(f"torch is not installed: skipping {', '.join(gone)} (pip install torch==2.13.0)")
        return [i for i in impls if not i.startswith("torch")]
    return impls


def _set_threads(n):
    from threadpoolctl import threadpool_limits
    threadpool_limits(n)
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


# ------------------------------------------------------------------------------ measurements
def memory_child(args):
    """Run in a fresh process: set up one implementation, then report how much a few training steps add
    to the peak resident set (and, for chainrule, the peak of NumPy's allocations by tracemalloc)."""
    import tracemalloc
    _set_threads(args.threads)
    steps = 20
    X, y, _ = load_batches(args.data, steps + 2, args.seed)
    weights = weights_of(chainrule_model(args.seed))
    step, _ = MAKERS[args.memory_child](X, y, weights, args.seed)
    base = _reset_peak_rss()      # model and data in place, no step yet
    tracemalloc.start()
    for i in range(steps):
        step(i)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = _peak_rss()
    print(json.dumps({"rss_mib": (peak - base) / 1024, "traced_mib": traced / 2 ** 20, "total_mib": peak / 1024}))


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


def _reset_peak_rss():
    """Set the peak resident set to the current one (Linux: clear_refs 5); return it in KiB."""
    import resource
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kib("VmRSS")
    except OSError:  # elsewhere the high-water mark cannot be reset: growth over the setup's peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_rss():
    import resource
    try:
        return _status_kib("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_memory(args, impl):
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", impl, "--threads", str(args.threads),
           "--seed", str(args.seed)] + (["--data", args.data] if args.data else []) + \
          (["--keep-openblas-env"] if args.keep_openblas_env else [])
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=os.environ.copy())
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


def _fmt_range(values, fmt="{:.1f}"):
    return f"{fmt.format(np.median(values))} [{fmt.format(min(values))}, {fmt.format(max(values))}]"


def main(args):
    import chainrule as cr  # noqa: F401
    from threadpoolctl import threadpool_info
    _set_threads(args.threads)
    impls = _available(args.impl)
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    print(f"bench/cnn.py: Fashion-MNIST CNN, batch {BATCH}, Adam; {args.threads} thread(s); NumPy BLAS: "
          f"{'; '.join(blas) or '?'}; load average {os.getloadavg()[0]:.2f}")
    warm = 3
    X, y, what = load_batches(args.data, args.steps + warm, args.seed)
    model = chainrule_model(args.seed)
    flops = step_flops(model)
    weights = weights_of(model)
    print(f"data: {what}; {flops / 1e9:.3f} GFLOP per step; {args.steps} steps each in turns of {args.turn}")
    steps, firsts = {}, {}
    for impl in impls:
        steps[impl], firsts[impl] = MAKERS[impl](X, y, weights, args.seed)
    ref = firsts[impls[0]]()
    for impl in impls[1:]:
        diff = float(np.abs(firsts[impl]() - ref).max())
        print(f"  same start: {impl} outputs differ from {impls[0]}'s by at most {diff:.2e}")
    for impl in impls:
        for i in range(warm):
            steps[impl](i)
    wall = {i: [] for i in impls}
    cpu = {i: [] for i in impls}
    done = 0
    rnd = 0
    while done < args.steps:
        n = min(args.turn, args.steps - done)
        order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
        for impl in order:
            settle()     # the last turn's thread pools idle first (PyTorch's OpenMP threads spin ~8 ms)
            t, c = time.perf_counter(), time.process_time()
            for i in range(warm + done, warm + done + n):
                steps[impl](i)
            wall[impl].append((time.perf_counter() - t) / n)
            cpu[impl].append((time.process_time() - c) / n)
        done += n
        rnd += 1
    memory = {} if args.no_memory else {impl: measure_memory(args, impl) for impl in impls}

    print(f"\n{'implementation':22s} {'ms/step [min, max]':>22s} {'CPU ms/step':>12s} {'samples/s':>10s} "
          f"{'GFLOP/s':>8s} {'s/epoch':>8s} {'peak MiB':>9s}")
    for impl in impls:
        ms = np.median(wall[impl]) * 1e3
        mem = memory.get(impl)
        mem_s = "-" if not mem else f"{mem['rss_mib']:.0f}"
        print(f"{impl:22s} {_fmt_range(np.array(wall[impl]) * 1e3):>22s} {np.median(cpu[impl]) * 1e3:12.1f} "
              f"{BATCH / ms * 1e3:10.0f} {flops / ms / 1e6:8.1f} {ms * STEPS_PER_EPOCH / 1e3:8.1f} {mem_s:>9s}")
    if memory.get("chainrule"):
        print(f"(chainrule's NumPy arrays at their peak over those steps, by tracemalloc: "
              f"{memory['chainrule']['traced_mib']:.0f} MiB; whole processes at their peak: "
              + ", ".join(f"{i} {m['total_mib']:.0f} MiB" for i, m in memory.items() if m) + ")")
    print()
    for ours in [i for i in impls if i.startswith("chainrule")]:
        for theirs in [i for i in impls if i.startswith("torch")]:
            r_wall = np.array(wall[ours]) / np.array(wall[theirs])
            r_cpu = np.array(cpu[ours]) / np.array(cpu[theirs])
            target = f"  (target <= {TARGET})" if (ours, theirs) == ("chainrule", "torch_default") else ""
            print(f"{ours} / {theirs}: wall {_fmt_range(r_wall, '{:.2f}')}, CPU {_fmt_range(r_cpu, '{:.2f}')}"
                  f"{target}")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f} (ratios are per round of turns: median [min, max])")


if __name__ == "__main__":
    if ARGS.memory_child:
        memory_child(ARGS)
    else:
        main(ARGS)

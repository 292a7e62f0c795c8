"""MLP training benchmark: chainrule against a hand-fused NumPy step and PyTorch, interleaved.

The network is the lecture's MNIST network, trained on Fashion-MNIST:

* 784 -> 100 (sigmoid) -> 10 (softmax), categorical cross-entropy averaged
  over the batch;
* Adam, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8 (PyTorch's defaults; keep
  these identical across implementations);
* batch size 100, float32 everywhere, Glorot-uniform weights and zero biases;
* inputs flattened and scaled to zero mean and unit variance, as the notes
  prepare their MNIST images: each of the 784 pixels standardized with the
  training set's mean and standard deviation
  (``chainrule.datasets.Standardizer``, scikit-learn's StandardScaler);
* 3 epochs, reshuffled every epoch; test accuracy after the 3 epochs.

A second network exercises the general paths: 784 -> 100 (BatchNormalization,
sigmoid, Dropout 0.2) -> 10, the same data, init, batch size and Adam.
chainrule's ``BatchNormalization`` has Keras' defaults (momentum 0.99,
epsilon 1e-3); PyTorch's ``BatchNorm1d`` is given the same (momentum 0.01 in
its convention, eps 1e-3).  Each library draws its own dropout masks, so the
two train on different noise and their accuracies differ slightly.

Every implementation starts from the *same* initial weights and (except the
``model.fit`` rows, which shuffle for themselves) visits the *same* batches in
the same order: both come from one seeded NumPy RNG here.  All run in one
process with one thread count (``--threads``, default the core count, applied
to OpenMP/OpenBLAS/MKL before NumPy is imported and to
``torch.set_num_threads``).

**Interleaving.**  The implementations take turns, round robin, with the
order rotated every round: a turn is ``--turn-steps`` steps (default 50) on
the shared batches.  The ``model.fit`` rows take the same turns: their one
``fit`` call runs in a thread of its own that a callback pauses after the
turn's last batch, and the next turn resumes it (see :func:`_fit_trainer`).
A busy spell of a shared machine therefore hits every implementation alike
instead of swinging one ratio (with one fit epoch per turn, as before, the
fit rows' ratio to PyTorch ranged 0.49-0.69 over four runs here).  Each turn is timed
in wall-clock time (``time.perf_counter``) and in the CPU time of the whole
process, all threads (``time.process_time``), and scaled to seconds per epoch;
the report gives the median over turns with the range, and ratios of the
medians against PyTorch and against the hand-fused step, for both clocks.
Between turns (outside the timed region) the script waits until the process
is idle: OpenBLAS' worker threads keep spinning for about 0.1 s after the last
BLAS call (PyTorch's OpenMP threads about 10 ms), which would otherwise bill
one implementation's tail to the next one's turn.

Some machines set ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_L2_SIZE``) to pin old
OpenBLAS builds to a safe kernel.  That also pins NumPy's current OpenBLAS to
an older, slower kernel (Haswell on an AVX-512 processor) while PyTorch picks
its own, so the script drops both before NumPy loads unless
``--keep-openblas-env`` is given; the first line it prints names the kernel
OpenBLAS runs.

Rows (see ``ROWS``):

``numpy_fused``
    The speed reference: the whole training step written by hand in NumPy
    with preallocated buffers and in-place ufuncs, no gradient with respect
    to the input, softmax + cross-entropy gradient fused as (p - onehot)/B,
    one flat Adam update over all parameters (ten passes, with the moments
    kept scaled as ``optim.Adam`` keeps them for float32).  A library built on
    NumPy cannot be expected to beat this by much.
``torch_cpu``
    nn.Sequential(Linear, Sigmoid, Linear) + CrossEntropyLoss +
    torch.optim.Adam with the usual zero_grad/backward/step loop.
``chainrule_fit``
    ``model.compile`` + ``model.fit`` end to end (Dense(sigmoid),
    Dense(softmax), metrics=["accuracy"], its own shuffling), one
    ``fit(epochs=E)`` call taken in turns; its time per epoch (the
    turns' and fit's own work outside the batches) is printed too.
``chainrule_step``
    The step ``fit`` takes, on the shared init and batches:
    ``model.train_step((x, y))`` when the model has one, else what fit ran
    before it did (``chainrule.backprop.DenseBackprop`` + ``optim.Adam.step``
    for a Dense stack, the engine otherwise).  See :func:`_fit_step`.
``chainrule_loop``
    The ``torch_cpu`` code line for line on chainrule's autodiff engine:
    nn.Sequential(Linear, Sigmoid, Linear), nn.CrossEntropyLoss on the
    logits, ``loss.backward()``, ``optim.Adam.step()``.
``torch_module`` / ``chainrule_module``
    A user-written ``nn.Module`` holding four Parameters and computing
    ``sigmoid(x @ W1 + b1) @ W2 + b2``, trained by the manual loop
    (zero_grad, CrossEntropyLoss, backward, Adam step), in each library.
``torch_bn`` / ``chainrule_bn_fit`` / ``chainrule_bn_step``
    The BatchNormalization/Dropout network: a PyTorch loop; chainrule's
    ``model.fit`` end to end (in turns, as every row); and the step fit takes for
    it on the shared batches (finer-grained interleaving than fit's).

With ``--baseline PATH`` (another checkout of chainrule, e.g. today's main),
every chainrule row also runs on that checkout's chainrule, as ``base:NAME``,
interleaved with all the others, and each row gets its ratio to its baseline
twin.  The baseline package is loaded in this process under its own
``sys.modules`` entries: around every call into it (building a row, each
turn, scoring) the ``chainrule*`` entries of ``sys.modules`` are swapped for
the baseline's, because chainrule imports some of its modules at call time;
after every such call the script checks that each chainrule module the call
could see came from PATH (see :class:`ChainruleCopy`).

Targets (judged on the wall-clock medians; CPU-time ratios beside them):
``model.fit`` and the PyTorch-style loop <= 0.6x torch_cpu; the BN/Dropout
``fit`` <= 0.6x torch_bn; the user Module loop <= 0.6x torch_module; with a
baseline, ``fit`` <= 1.05x the baseline's; the chainrule MLP rows <= 1.25x
numpy_fused; test accuracy >= 0.85 after 3 epochs.

Usage::

    python bench/mlp.py                         # 3 epochs, threads = core count
    python bench/mlp.py --baseline ../baseline  # and the same rows on another checkout
    python bench/mlp.py --threads 1
    python bench/mlp.py --quick                 # 1 epoch on 10k training samples, turns of 20 steps
    python bench/mlp.py --quick --synthetic     # a small random data set (smoke test; no files needed)
    python bench/mlp.py --impl numpy_fused --impl torch_cpu
    python bench/mlp.py --profile               # per-step time breakdown of numpy_fused and torch
    python bench/mlp.py --keep-openblas-env     # keep OPENBLAS_CORETYPE as the machine set it

The chainrule measured is the one of the checkout this script is in (its
folder is put first on ``sys.path``).

Data: the Fashion-MNIST IDX files (gzip or raw) from ``--data DIR``, else
``$CHAINRULE_DATA`` (the directory itself or its ``fashion-mnist``
subdirectory), else ``/usr/share/datasets/fashion-mnist`` (Debian package
``dataset-fashion-mnist``).  When they are missing the script says how to get
them and exits 0 (``--synthetic`` needs no files).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None,
                   help="threads for BLAS/OpenMP and torch (default: core count)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 3, or 1 with --quick)")
    p.add_argument("--turn-steps", type=int, default=None,
                   help="steps per turn of the step-wise rows (default 50, or 20 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="1 epoch on the first 10k training samples, turns of 20 steps")
    p.add_argument("--synthetic", action="store_true",
                   help="train on a small random data set (2,000 + 500 samples) instead of Fashion-MNIST")
    p.add_argument("--impl", action="append", default=None,
                   help="run only this row (repeatable; its baseline twin runs with --baseline)")
    p.add_argument("--baseline", metavar="PATH", default=None,
                   help="another checkout of chainrule: run its chainrule rows too and print the ratios")
    p.add_argument("--data", default=None, help="directory with the IDX files")
    p.add_argument("--seed", type=int, default=0, help="seed for init and shuffling")
    p.add_argument("--profile", action="store_true",
                   help="print a per-step time breakdown of numpy_fused and torch, then exit")
    p.add_argument("--profile-steps", type=int, default=600,
                   help="steps per timed phase in --profile (default 600)")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (by default they are dropped, "
                        "so OpenBLAS picks the kernel for this processor)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if a measured target is missed")
    args = p.parse_args(argv)
    if args.threads is None:
        try:
            args.threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            args.threads = os.cpu_count() or 1
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.epochs is None:
        args.epochs = 1 if args.quick else 3
    if args.turn_steps is None:
        args.turn_steps = 20 if args.quick else 50
    if args.epochs < 1 or args.turn_steps < 1:
        p.error("--epochs and --turn-steps must be >= 1")
    if args.baseline is not None and not os.path.isfile(os.path.join(args.baseline, "chainrule", "__init__.py")):
        p.error(f"--baseline {args.baseline!r}: expected a checkout of chainrule (a folder holding "
                f"chainrule/__init__.py)")
    return args


# Thread counts must be in the environment before NumPy (OpenBLAS) or torch
# (OpenMP/MKL) is imported: they read them once, at load time.
if __name__ == "__main__":
    ARGS = _parse_args()
    from _env import pin_threads
    pin_threads(ARGS.threads, ARGS.keep_openblas_env)

from _env import settle  # noqa: E402

import contextlib  # noqa: E402
import gzip  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]  # the checkout whose chainrule is measured
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))

# --------------------------------------------------------------------------
# The experiment.  Keep these identical across implementations.
# --------------------------------------------------------------------------
N_IN, N_HIDDEN, N_OUT = 784, 100, 10
BATCH = 100
LR = 1e-3
BETA1, BETA2 = 0.9, 0.999
EPS = 1e-8  # PyTorch's default; added to sqrt(v_hat) (see _FusedMLP.adam)
DROPOUT = 0.2
BN_MOMENTUM, BN_EPS = 0.99, 1e-3  # chainrule.nn.BatchNormalization's (Keras') defaults
DTYPE = np.float32
TARGET_VS_TORCH = 0.6
TARGET_VS_NUMPY = 1.25
TARGET_VS_BASELINE = 1.05
TARGET_ACC = 0.85

DATA_HELP = ("Fashion-MNIST not found.  Get it with\n"
             "    apt-get install dataset-fashion-mnist   "
             "(files land in /usr/share/datasets/fashion-mnist)\n"
             "or put train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],\n"
             "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] in a directory\n"
             "and pass --data DIR or set CHAINRULE_DATA=DIR (or use --synthetic).")

_FILES = {"X_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
          "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def _read_idx(path):
    """Minimal IDX reader (gzip detected from the magic bytes)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path}: expected {math.prod(shape)} values, found {data.size}")
    return data.reshape(shape)


def _candidate_dirs(path):
    if path:
        return [Path(path)]
    dirs = []
    env = os.environ.get("CHAINRULE_DATA")
    if env:
        dirs += [Path(env), Path(env) / "fashion-mnist"]
    dirs.append(Path("/usr/share/datasets/fashion-mnist"))
    return dirs


def _load_local(path=None):
    for d in _candidate_dirs(path):
        found = {}
        for key, stem in _FILES.items():
            for name in (stem + ".gz", stem):
                if (d / name).is_file():
                    found[key] = d / name
                    break
        if len(found) == len(_FILES):
            arrays = {k: _read_idx(f) for k, f in found.items()}
            return ((arrays["X_train"], arrays["y_train"].astype(np.int64)),
                    (arrays["X_test"], arrays["y_test"].astype(np.int64)))
    return None


def load_data(path=None, quick=False):
    """Fashion-MNIST as float32 (N, 784), standardized with the training set's per-pixel
    mean and standard deviation, and int64 labels; or None.

    Uses ``chainrule.datasets.load_fashion_mnist`` when it exists, else the
    small reader above.
    """
    loaded = None
    try:
        from chainrule.datasets import load_fashion_mnist
    except ImportError:
        load_fashion_mnist = None
    if load_fashion_mnist is not None:
        try:
            loaded = load_fashion_mnist(path=path)
        except FileNotFoundError as exc:  # not found: try our own search, then give up
            print(f"chainrule.datasets.load_fashion_mnist: {exc}")
    if loaded is None:
        loaded = _load_local(path)
    if loaded is None:
        return None
    (Xtr, ytr), (Xte, yte) = loaded
    if quick:
        Xtr, ytr = Xtr[:10_000], ytr[:10_000]

    from chainrule.datasets import Standardizer

    def flat(X):
        return np.asarray(X).reshape(len(X), -1)

    scaler = Standardizer().fit(flat(Xtr))  # zero mean, unit variance per pixel (train statistics)

    def prep(X):
        return np.ascontiguousarray(scaler.transform(flat(X)), dtype=DTYPE)

    data = {"X_train": prep(Xtr), "y_train": np.asarray(ytr, dtype=np.int64),
            "X_test": prep(Xte), "y_test": np.asarray(yte, dtype=np.int64)}
    assert data["X_train"].shape[1] == N_IN, data["X_train"].shape
    return data


def synthetic_data(seed, n_train=2000, n_test=500):
    """A small random stand-in for Fashion-MNIST (``--synthetic``): 784 standard normal features
    around one random centre per class, close enough for the classes to overlap a little."""
    rng = np.random.default_rng([seed, 7])
    centres = rng.standard_normal((N_OUT, N_IN))

    def part(n):
        y = rng.integers(0, N_OUT, size=n)
        X = (0.1 * centres[y] + rng.standard_normal((n, N_IN))).astype(DTYPE)
        return X, y.astype(np.int64)

    (Xtr, ytr), (Xte, yte) = part(n_train), part(n_test)
    return {"X_train": Xtr, "y_train": ytr, "X_test": Xte, "y_test": yte}


def make_init(seed):
    """Glorot-uniform weights, zero biases; float32; weights laid out (in, out).

    torch.nn.Linear stores weight as (out, in): copy ``W.T`` into it.
    """
    rng = np.random.default_rng(seed)

    def glorot(fan_in, fan_out):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(DTYPE)

    return {"W1": glorot(N_IN, N_HIDDEN), "b1": np.zeros(N_HIDDEN, DTYPE),
            "W2": glorot(N_HIDDEN, N_OUT), "b2": np.zeros(N_OUT, DTYPE)}


def make_perms(seed, n, epochs):
    """One permutation of range(n) per epoch (int64), shared by all trainers.

    Epoch ``e`` uses batches ``perms[e][i*BATCH:(i+1)*BATCH]`` for
    ``i in range(n // BATCH)`` (a last partial batch, if any, is dropped).
    """
    rng = np.random.default_rng([seed, 1])
    return [rng.permutation(n).astype(np.int64) for _ in range(epochs)]


def accuracy_numpy(params, X, y):
    """Test accuracy of (W1, b1, W2, b2) given as NumPy arrays, computed in float32.

    Trainers that can hand out their weights may use this so every
    implementation is scored the same way.
    """
    Z = X @ params["W1"]
    Z += params["b1"]
    np.negative(Z, out=Z)
    with np.errstate(over="ignore"):  # exp(-z) = inf for z << 0 gives sigmoid's limit 0
        np.exp(Z, out=Z)
    Z += 1.0
    np.reciprocal(Z, out=Z)
    logits = Z @ params["W2"]
    logits += params["b2"]
    return float(np.mean(np.argmax(logits, axis=1) == y))


# --------------------------------------------------------------------------
# numpy_fused: the hand-written reference
# --------------------------------------------------------------------------
class _FusedMLP:
    """All state of the fused NumPy trainer; one method per phase of a step.

    Parameters live as views in one flat float32 vector, and so do their
    gradients, so the Adam update is a handful of ufunc calls over 79,510
    numbers instead of that many per parameter.
    """

    PHASES = ("gather", "linear1", "sigmoid", "linear2", "softmax_ce_grad",
              "grad_linear2", "grad_hidden", "sigmoid_grad", "grad_linear1", "adam")

    def __init__(self, init, B=BATCH):
        shapes = [(k, init[k].shape) for k in ("W1", "b1", "W2", "b2")]
        n = sum(math.prod(s) for _, s in shapes)
        self.flat = np.empty(n, DTYPE)     # parameters
        self.gflat = np.zeros(n, DTYPE)    # their gradients
        self.m = np.zeros(n, DTYPE)        # Adam first moment
        self.v = np.zeros(n, DTYPE)        # Adam second moment
        self.tmp = np.empty(n, DTYPE)      # scratch for the update
        self.t = 0
        off = 0
        for k, s in shapes:
            size = math.prod(s)
            p = self.flat[off:off + size].reshape(s)
            p[...] = init[k]
            setattr(self, k, p)
            setattr(self, "g" + k, self.gflat[off:off + size].reshape(s))
            off += size
        self.B = B
        self.xb = np.empty((B, N_IN), DTYPE)         # the batch
        self.yb = np.empty(B, np.int64)
        self.H = np.empty((B, N_HIDDEN), DTYPE)      # hidden activation a = sigmoid(z1)
        self.P = np.empty((B, N_OUT), DTYPE)         # logits -> softmax -> dL/dlogits
        self.Pflat = self.P.reshape(-1)              # view, for the one-hot subtraction
        self.rowbase = np.arange(B, dtype=np.int64) * N_OUT
        self.fidx = np.empty(B, np.int64)
        self.rowmax = np.empty((B, 1), DTYPE)
        self.rowmax1 = self.rowmax.reshape(-1)      # view
        self.rowsum = np.empty((B, 1), DTYPE)
        # Sums through BLAS: ones @ A beats np.sum(A, axis=...) on these shapes.
        self.ones_out = np.ones((N_OUT, 1), DTYPE)
        self.ones_b = np.ones(B, DTYPE)
        self.dZ = np.empty((B, N_HIDDEN), DTYPE)     # dL/dz1
        self.S = np.empty((B, N_HIDDEN), DTYPE)      # sigmoid'(z1) = a (1 - a)

    # ---- forward
    def gather(self, X, y, idx):
        # mode="clip": np.take's default mode="raise" copies through a hidden
        # buffer when out= is given (~25 us more per step); perm is in range.
        np.take(X, idx, axis=0, out=self.xb, mode="clip")
        np.take(y, idx, out=self.yb, mode="clip")

    def linear1(self):
        np.matmul(self.xb, self.W1, out=self.H)
        self.H += self.b1

    def sigmoid(self):
        H = self.H  # 1 / (1 + exp(-z)), in place; exp overflow gives the limit 0
        np.negative(H, out=H)
        np.exp(H, out=H)
        H += 1.0
        np.reciprocal(H, out=H)

    def linear2(self):
        np.matmul(self.H, self.W2, out=self.P)
        self.P += self.b2

    # ---- softmax + mean cross-entropy, fused gradient (p - onehot) / B
    def softmax_ce_grad(self):
        P = self.P
        np.maximum.reduce(P, axis=1, out=self.rowmax1)  # faster than np.max(keepdims)
        P -= self.rowmax
        np.exp(P, out=P)
        np.matmul(P, self.ones_out, out=self.rowsum)
        self.rowsum *= self.B             # softmax / B in one division
        P /= self.rowsum
        np.add(self.rowbase, self.yb, out=self.fidx)
        self.Pflat[self.fidx] -= 1.0 / self.B

    # ---- backward (no gradient with respect to the input)
    def grad_linear2(self):
        np.matmul(self.H.T, self.P, out=self.gW2)
        np.matmul(self.ones_b, self.P, out=self.gb2)

    def grad_hidden(self):
        np.matmul(self.P, self.W2.T, out=self.dZ)   # dL/da

    def sigmoid_grad(self):
        np.subtract(1.0, self.H, out=self.S)
        self.S *= self.H
        self.dZ *= self.S                           # dL/dz1 = dL/da * a (1 - a)

    def grad_linear1(self):
        np.matmul(self.xb.T, self.dZ, out=self.gW1)
        np.matmul(self.ones_b, self.dZ, out=self.gb1)

    # ---- Adam, in place over the flat parameter vector
    def adam(self):
        # PyTorch:  p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps),  bc_i = 1 - beta_i^t.
        # Multiplying through by sqrt(bc2) gives the identical update
        #     p -= lr_t * m / (sqrt(v) + eps_t),
        #     lr_t = lr * sqrt(bc2) / bc1,   eps_t = eps * sqrt(bc2),
        # which needs no pass over v for the bias correction.  The moments are kept
        # divided by their weights, M = m / (1 - beta1) and V = v / (1 - beta2), so
        # their updates need no multiply by (1 - beta): M = beta1 M + g, V = beta2 V + g^2,
        # and p -= lr_t (1 - beta1) / sqrt(1 - beta2) * M / (sqrt(V) + eps_t / sqrt(1 - beta2)):
        # ten passes over the 79,510 numbers, as chainrule's optim.Adam makes for float32.
        # Python floats (math.sqrt) keep every ufunc in float32.
        self.t += 1
        bc1 = 1.0 - BETA1 ** self.t
        sbc2 = math.sqrt(1.0 - BETA2 ** self.t)
        s2 = math.sqrt(1.0 - BETA2)
        lr_t = LR * sbc2 / bc1 * (1.0 - BETA1) / s2
        eps_t = EPS * sbc2 / s2
        g, m, v, tmp = self.gflat, self.m, self.v, self.tmp
        m *= BETA1                              # M = b1 M + g
        m += g
        np.multiply(g, g, out=tmp)              # V = b2 V + g^2
        v *= BETA2
        v += tmp
        np.sqrt(v, out=tmp)                     # p -= lr_t M / (sqrt(V) + eps_t)
        tmp += eps_t
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        self.flat -= tmp

    def step(self, X, y, idx):
        self.gather(X, y, idx)
        self.linear1()
        self.sigmoid()
        self.linear2()
        self.softmax_ce_grad()
        self.grad_linear2()
        self.grad_hidden()
        self.sigmoid_grad()
        self.grad_linear1()
        self.adam()

    def params(self):
        return {k: getattr(self, k) for k in ("W1", "b1", "W2", "b2")}

    def arrays(self):
        return [a for a in vars(self).values() if isinstance(a, np.ndarray)]


# --------------------------------------------------------------------------
# torch_cpu
# --------------------------------------------------------------------------
def _torch_model(init):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(N_IN, N_HIDDEN), nn.Sigmoid(), nn.Linear(N_HIDDEN, N_OUT))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(init["W1"].T.copy()))
        model[0].bias.copy_(torch.from_numpy(init["b1"]))
        model[2].weight.copy_(torch.from_numpy(init["W2"].T.copy()))
        model[2].bias.copy_(torch.from_numpy(init["b2"]))
    return model


# --------------------------------------------------------------------------
# chainrule
# --------------------------------------------------------------------------
def _chainrule_model(init):
    """The Keras way (what ``fit`` trains): Dense(sigmoid), Dense(softmax)."""
    from chainrule import nn
    model = nn.Sequential([nn.Dense(N_HIDDEN, activation="sigmoid", input_dim=N_IN),
                           nn.Dense(N_OUT, activation="softmax")])
    return _load_init(model, init)


def _chainrule_torch_style_model(init):
    """The PyTorch way, as ``_torch_model`` builds it: Linear, Sigmoid, Linear (logits out)."""
    from chainrule import nn
    model = nn.Sequential([nn.Linear(N_IN, N_HIDDEN), nn.Sigmoid(), nn.Linear(N_HIDDEN, N_OUT)])
    return _load_init(model, init)


def _weight_layers(model):
    return [layer for layer in model if hasattr(layer, "kernel")]


def _load_init(model, init):
    for layer, (W, b) in zip(_weight_layers(model), (("W1", "b1"), ("W2", "b2"))):
        np.copyto(layer.kernel.data, init[W])  # chainrule keeps W as (in, out), like init
        np.copyto(layer.bias.data, init[b])
    return model


def _chainrule_params(model):
    (l1, l2) = _weight_layers(model)
    return {"W1": l1.kernel.data, "b1": l1.bias.data, "W2": l2.kernel.data, "b2": l2.bias.data}


# --------------------------------------------------------------------------
# The shared schedule and the rows
# --------------------------------------------------------------------------
class Context:
    """What every row is built from: the data, the initial weights and the shared batches.

    ``batches[s]`` holds the training indices of global step ``s`` (epoch ``s // nb``,
    batch ``s % nb`` of that epoch's permutation); a last partial batch is dropped.
    """

    def __init__(self, data, init, perms, epochs, seed, window=50):
        self.data, self.init, self.perms, self.epochs, self.seed = data, init, perms, epochs, seed
        self.window = window  # the turn length, also the fit rows' timing windows
        self.nb = len(data["X_train"]) // BATCH
        self.total_steps = self.nb * epochs
        self.batches = [perms[e][i * BATCH:(i + 1) * BATCH] for e in range(epochs) for i in range(self.nb)]
        self._torch_batches = None

    def torch_batches(self):
        import torch
        if self._torch_batches is None:
            tp = [torch.from_numpy(p) for p in self.perms[:self.epochs]]
            self._torch_batches = [tp[e][i * BATCH:(i + 1) * BATCH]
                                   for e in range(self.epochs) for i in range(self.nb)]
        return self._torch_batches

    def subset(self, n):
        """The same experiment on the first ``n`` training samples for one epoch (the warm-up)."""
        data = dict(self.data, X_train=self.data["X_train"][:n], y_train=self.data["y_train"][:n])
        return Context(data, self.init, make_perms(self.seed + 1, n, 1), 1, self.seed, self.window)


class Trainer:
    """One row's training state.  ``run(n)`` trains the next ``n`` steps (the shared batches, or
    fit's own); ``accuracy()`` scores the test set.  ``samples()``, where given, replaces the
    per-turn times by finer ones (see :func:`_fit_trainer`)."""

    def __init__(self, run, accuracy, note="", samples=None):
        self.run, self.accuracy, self.note = run, accuracy, note
        self.samples = samples


def _stepper(batches, step):
    """``run(n)``: call ``step(idx)`` on the next ``n`` of ``batches``."""
    pos = [0]

    def run(n):
        s = pos[0]
        for idx in batches[s:s + n]:
            step(idx)
        pos[0] = s + n
    return run


# ---- numpy_fused ----------------------------------------------------------
def build_numpy_fused(ctx):
    X, y = ctx.data["X_train"], ctx.data["y_train"]
    net = _FusedMLP(ctx.init)
    run_steps = _stepper(ctx.batches, lambda idx: net.step(X, y, idx))

    def run(n):
        with np.errstate(over="ignore"):  # once per turn, not per step (see _FusedMLP.sigmoid)
            run_steps(n)

    def accuracy():
        bad = [a.dtype for a in net.arrays() if a.dtype.kind == "f" and a.dtype != DTYPE]
        assert not bad, f"numpy_fused: non-float32 buffers {bad}"
        return accuracy_numpy(net.params(), ctx.data["X_test"], ctx.data["y_test"])
    return Trainer(run, accuracy)


# ---- PyTorch ----------------------------------------------------------------
def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(ARGS_THREADS)
    return torch


def _torch_user_module(init):
    """sigmoid(x @ W1 + b1) @ W2 + b2 written as a PyTorch user would, with four Parameters."""
    import torch

    class UserMLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for k in ("W1", "b1", "W2", "b2"):
                setattr(self, k, torch.nn.Parameter(torch.from_numpy(init[k].copy())))

        def forward(self, x):
            return torch.sigmoid(x @ self.W1 + self.b1) @ self.W2 + self.b2
    return UserMLP()


def _torch_bn_model(init):
    """Linear, BatchNorm1d (Keras' momentum and epsilon), Sigmoid, Dropout, Linear."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(N_IN, N_HIDDEN),
                          nn.BatchNorm1d(N_HIDDEN, eps=BN_EPS, momentum=1.0 - BN_MOMENTUM),
                          nn.Sigmoid(), nn.Dropout(DROPOUT), nn.Linear(N_HIDDEN, N_OUT))
    with torch.no_grad():
        for layer, (W, b) in zip((model[0], model[4]), (("W1", "b1"), ("W2", "b2"))):
            layer.weight.copy_(torch.from_numpy(init[W].T.copy()))
            layer.bias.copy_(torch.from_numpy(init[b]))
    return model


def _torch_trainer(ctx, model):
    """The usual zero_grad / forward / CrossEntropyLoss / backward / Adam step loop."""
    import torch
    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax + NLL, mean over the batch
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS)
    Xt = torch.from_numpy(ctx.data["X_train"])
    yt = torch.from_numpy(ctx.data["y_train"])

    def step(idx):
        xb, yb = Xt[idx], yt[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    def accuracy():
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(ctx.data["X_test"]))
            acc = (logits.argmax(1) == torch.from_numpy(ctx.data["y_test"])).float().mean().item()
        model.train()
        return float(acc)
    return Trainer(_stepper(ctx.torch_batches(), step), accuracy)


def build_torch_cpu(ctx):
    if _import_torch() is None:
        return None
    return _torch_trainer(ctx, _torch_model(ctx.init))


def build_torch_module(ctx):
    if _import_torch() is None:
        return None
    return _torch_trainer(ctx, _torch_user_module(ctx.init))


def build_torch_bn(ctx):
    torch = _import_torch()
    if torch is None:
        return None
    torch.manual_seed(ctx.seed)  # PyTorch's own dropout masks
    return _torch_trainer(ctx, _torch_bn_model(ctx.init))


# ---- chainrule (every import at call time: the same code runs on the baseline's copy) ----
def _chainrule_bn_model(init):
    """Dense, BatchNormalization, sigmoid, Dropout, Dense(softmax): what fit trains."""
    from chainrule import nn
    model = nn.Sequential([nn.Dense(N_HIDDEN, input_dim=N_IN),
                           nn.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPS),
                           nn.Activation("sigmoid"), nn.Dropout(DROPOUT),
                           nn.Dense(N_OUT, activation="softmax")])
    return _load_init(model, init)


def _chainrule_user_module(init):
    """sigmoid(x @ W1 + b1) @ W2 + b2 written as a chainrule user would, with four Parameters."""
    import chainrule as cr
    from chainrule import nn

    class UserMLP(nn.Module):
        def __init__(self):
            super().__init__()
            for k in ("W1", "b1", "W2", "b2"):
                setattr(self, k, nn.Parameter(init[k].copy()))

        def forward(self, x):
            return cr.sigmoid(x @ self.W1 + self.b1) @ self.W2 + self.b2
    return UserMLP()


def _adam(params=None):
    from chainrule import optim
    return optim.Adam(params, lr=LR, beta1=BETA1, beta2=BETA2, eps=EPS)


def _fit_step(model, X, y):
    """``(step(xb, yb), how)``: the training step ``model.fit`` takes, on batches we hand it.

    ``model.train_step((xb, yb))`` (Keras 3's overridable step) when the model has one; before
    that existed, fit ran a Dense stack through ``chainrule.backprop.DenseBackprop`` and
    anything else on the engine (forward, loss, zero_grad, backward, Adam step).
    """
    from chainrule import losses
    opt = _adam(model.parameters())
    if hasattr(model, "train_step"):
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        train_step = model.train_step
        return (lambda xb, yb: train_step((xb, yb))), "model.train_step"
    loss_fn = losses.sparse_categorical_crossentropy
    try:
        from chainrule.backprop import DenseBackprop
    except ImportError:
        DenseBackprop = None
    fast = None if DenseBackprop is None else DenseBackprop.build(model, loss_fn, X, y)
    if fast is not None:
        def step(xb, yb):
            fast.step(xb, yb)
            opt.step()
        return step, "DenseBackprop"

    def step(xb, yb):
        loss = loss_fn(yb, model(xb))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step, "engine"


def _chainrule_stepper(ctx, step):
    """Gather each shared batch into a reused buffer and call ``step(xb, yb)``."""
    X, y = ctx.data["X_train"], ctx.data["y_train"]
    xb = np.empty((BATCH, X.shape[1]), dtype=X.dtype)

    def one(idx):
        np.take(X, idx, axis=0, out=xb, mode="clip")
        step(xb, y[idx])
    return _stepper(ctx.batches, one)


def _weights_accuracy(ctx, params):
    return lambda: accuracy_numpy(params(), ctx.data["X_test"], ctx.data["y_test"])


def _predict_accuracy(ctx, model):
    def accuracy():
        out = np.asarray(model.predict(ctx.data["X_test"]))
        return float(np.mean(np.argmax(out, axis=1) == ctx.data["y_test"]))
    return accuracy


class _Resumable:
    """``fn()`` run in a thread of its own, one segment at a time, so that a whole ``model.fit``
    call can take short turns between the other rows like a step-wise row.

    ``resume()`` lets the thread run until ``fn`` calls ``pause(info)`` (or returns) and gives back
    ``(info, wall, cpu)`` of that segment: the scheduler's thread waits meanwhile, so only one
    of the two runs at any time and the process clocks measure the segment alone.  The fit
    call runs inside the scheduler's ``row.copy.active()`` of each turn, as every row does.
    """

    def __init__(self, fn):
        self._go, self._back = threading.Semaphore(0), threading.Semaphore(0)
        self._info, self._error, self.finished = None, None, False
        self._thread = threading.Thread(target=self._main, args=(fn,), daemon=True)
        self._thread.start()

    def _main(self, fn):
        self._go.acquire()
        try:
            fn()
        except BaseException as e:  # handed to the scheduler's thread by resume()
            self._error = e
        self.finished, self._info = True, "end"
        self._back.release()

    def pause(self, info):
        self._info = info
        self._back.release()
        self._go.acquire()

    def resume(self):
        if self.finished:
            raise RuntimeError("resume() after the call returned")
        w0, c0 = time.perf_counter(), time.process_time()
        self._go.release()
        self._back.acquire()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if self._error is not None:
            raise self._error
        return self._info, w, c


def _fit_trainer(ctx, model, accuracy):
    """model.compile + one ``model.fit(epochs=E)`` call (its own shuffle), taken in turns.

    The call runs in a thread of its own (:class:`_Resumable`) that a callback pauses at the
    turn's last batch; ``run(n)`` resumes it for ``n`` more batches, so a fit row takes the same
    short turns between the other rows as a step-wise row and a busy spell falls on all alike.
    What fit does outside its batches (set-up, shuffles, epoch ends) runs in segments of its
    own, paused at ``on_epoch_begin``.  ``samples()`` gives per-epoch figures: a window's rate
    (a turn's batches) scaled to an epoch, plus fit's own cost per epoch (those segments'
    total over the epochs).
    """
    from chainrule.training import Callback
    model.compile(optimizer=_adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    X, y = ctx.data["X_train"], ctx.data["y_train"]
    steps = math.ceil(len(X) / BATCH)
    windows, outside = [], []  # (wall, cpu, batches) per window; (wall, cpu) per segment outside the batches
    want = [0]

    class Turns(Callback):
        k = 0

        def on_epoch_begin(self, epoch, logs=None):
            thread.pause(None)          # the segment before this epoch's first batch ends here

        def on_batch_end(self, batch, logs=None):
            self.k += 1
            if self.k == want[0] or batch + 1 == steps:
                k, self.k = self.k, 0
                thread.pause(k)

    thread = _Resumable(lambda: model.fit(X, y, epochs=ctx.epochs, batch_size=BATCH, verbose=0, seed=ctx.seed,
                                          callbacks=[Turns()]))

    def segment():
        k, w, c = thread.resume()
        if isinstance(k, int):
            windows.append((w, c, k))
            return k
        outside.append((w, c))
        return 0

    def run(n):
        got = 0
        while got < n:
            want[0] = n - got
            got += segment()

    def score():
        while not thread.finished:     # the last epoch's end and fit's return
            segment()
        return accuracy()

    def samples():
        ow, oc = (sum(s[i] for s in outside) / ctx.epochs for i in (0, 1))
        return ([w * steps / k + ow for w, _, k in windows], [c * steps / k + oc for _, c, k in windows],
                f"{len(windows)} windows, {ow:.3f} / {oc:.3f} s per epoch outside them")
    return Trainer(run, score, samples=samples)


def build_chainrule_fit(ctx):
    model = _chainrule_model(ctx.init)
    return _fit_trainer(ctx, model, _weights_accuracy(ctx, lambda: _chainrule_params(model)))


def build_chainrule_step(ctx):
    model = _chainrule_model(ctx.init)
    step, how = _fit_step(model, ctx.data["X_train"], ctx.data["y_train"])
    return Trainer(_chainrule_stepper(ctx, step), _weights_accuracy(ctx, lambda: _chainrule_params(model)),
                   note=how)


def build_chainrule_loop(ctx):
    from chainrule import nn
    model = _chainrule_torch_style_model(ctx.init)
    opt = _adam(model.parameters())
    loss_fn = nn.CrossEntropyLoss()  # log-softmax + NLL, mean over the batch

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return Trainer(_chainrule_stepper(ctx, step), _weights_accuracy(ctx, lambda: _chainrule_params(model)))


def build_chainrule_module(ctx):
    from chainrule import nn
    model = _chainrule_user_module(ctx.init)
    opt = _adam(model.parameters())
    loss_fn = nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    def params():
        return {k: getattr(model, k).data for k in ("W1", "b1", "W2", "b2")}
    return Trainer(_chainrule_stepper(ctx, step), _weights_accuracy(ctx, params))


def build_chainrule_bn_fit(ctx):
    model = _chainrule_bn_model(ctx.init)
    return _fit_trainer(ctx, model, _predict_accuracy(ctx, model))


def build_chainrule_bn_step(ctx):
    import chainrule as cr
    cr.manual_seed(ctx.seed)  # chainrule's own dropout masks
    model = _chainrule_bn_model(ctx.init)
    step, how = _fit_step(model, ctx.data["X_train"], ctx.data["y_train"])
    return Trainer(_chainrule_stepper(ctx, step), _predict_accuracy(ctx, model), note=how)


_BN = f"784-100(BN, sigmoid, Dropout {DROPOUT})-10"

#: name -> (label, builder, its PyTorch reference row, runs on chainrule (so also on a baseline))
ROWS = {
    "numpy_fused": ("hand-fused NumPy step (preallocated buffers, flat ten-pass Adam)",
                    build_numpy_fused, "torch_cpu", False),
    "torch_cpu": ("PyTorch {torch} CPU: Linear, Sigmoid, Linear, CrossEntropyLoss, Adam",
                  build_torch_cpu, None, False),
    "chainrule_fit": ("chainrule model.fit end to end (one call, in turns)",
                      build_chainrule_fit, "torch_cpu", True),
    "chainrule_step": ("chainrule, the step fit takes ({note}), same init and batches",
                       build_chainrule_step, "torch_cpu", True),
    "chainrule_loop": ("chainrule, the PyTorch loop line for line on the engine",
                       build_chainrule_loop, "torch_cpu", True),
    "torch_module": ("PyTorch user nn.Module sigmoid(x @ W1 + b1) @ W2 + b2, manual loop",
                     build_torch_module, "torch_cpu", False),
    "chainrule_module": ("chainrule user nn.Module, the same manual loop",
                         build_chainrule_module, "torch_module", True),
    "torch_bn": (f"PyTorch {_BN}, the same loop", build_torch_bn, "torch_cpu", False),
    "chainrule_bn_fit": (f"chainrule model.fit, {_BN} (one call, in turns)",
                         build_chainrule_bn_fit, "torch_bn", True),
    "chainrule_bn_step": (f"chainrule, the step fit takes ({{note}}), {_BN}",
                          build_chainrule_bn_step, "torch_bn", True),
}

ARGS_THREADS = os.cpu_count() or 1  # overwritten by main()


# --------------------------------------------------------------------------
# Two chainrules in one process
# --------------------------------------------------------------------------
def _is_chainrule(name):
    return name == "chainrule" or name.startswith("chainrule.")


def _pop_chainrule_modules():
    """Remove the ``chainrule*`` entries from sys.modules and return them."""
    names = [k for k in sys.modules if _is_chainrule(k)]
    return {k: sys.modules.pop(k) for k in names}


def _foreign(modules, pkg):
    """The modules of ``modules`` whose file is not inside folder ``pkg``."""
    out = []
    for k, m in modules.items():
        f = getattr(m, "__file__", None)
        if f is None or not Path(f).resolve().is_relative_to(pkg):
            out.append(f"{k} ({f})")
    return out


class CurrentChainrule:
    """The chainrule of this checkout: the ordinary ``sys.modules`` entries."""

    def __init__(self):
        import chainrule
        self.pkg = Path(chainrule.__file__).resolve().parent
        self.root = self.pkg.parent
        self.active = contextlib.nullcontext

    def check(self):
        """Every ``chainrule*`` module in sys.modules (outside a baseline call) is this checkout's."""
        bad = _foreign({k: m for k, m in sys.modules.items() if _is_chainrule(k)}, self.pkg)
        if bad:
            raise RuntimeError(f"chainrule modules from outside {self.pkg}: {', '.join(bad)}")
        return sum(1 for k in sys.modules if _is_chainrule(k))


class ChainruleCopy:
    """Another checkout's chainrule, loaded in this process under its own sys.modules entries.

    ``with copy.active(): ...`` swaps the ``chainrule*`` entries of sys.modules for the copy's
    for the duration of the block, so that imports made at call time (chainrule imports some
    modules inside functions) find the copy's modules; on the way out it keeps what the block
    imported, puts the current entries back, and checks that every chainrule module the block
    could see came from the copy's folder.
    """

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.pkg = self.root / "chainrule"
        self.calls = 0
        current = _pop_chainrule_modules()
        try:
            spec = importlib.util.spec_from_file_location(
                "chainrule", self.pkg / "__init__.py", submodule_search_locations=[str(self.pkg)])
            module = importlib.util.module_from_spec(spec)
            sys.modules["chainrule"] = module
            spec.loader.exec_module(module)
            for sub in ("nn", "optim", "losses", "training"):
                importlib.import_module(f"chainrule.{sub}")
        finally:
            self.modules = _pop_chainrule_modules()
            sys.modules.update(current)
        self._check(self.modules)

    @contextlib.contextmanager
    def active(self):
        current = _pop_chainrule_modules()
        sys.modules.update(self.modules)
        try:
            yield
        finally:
            self.modules = _pop_chainrule_modules()  # with whatever the block imported
            sys.modules.update(current)
            self._check(self.modules)

    def _check(self, modules):
        bad = _foreign(modules, self.pkg)
        if bad:
            raise RuntimeError(f"baseline isolation broken: {', '.join(bad)} seen in a call into {self.pkg}")
        self.calls += 1

    def probe(self):
        """(file of the chainrule.training the copy's calls see, number of its modules)."""
        with self.active():
            import chainrule.training
            return chainrule.training.__file__, len(self.modules)


def _git_rev(root):
    try:
        out = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %cs"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        return "git not available"


# --------------------------------------------------------------------------
# Interleaved timing
# --------------------------------------------------------------------------
class Row:
    """One implementation in the run: its trainer, its chainrule copy and its timed turns."""

    def __init__(self, name, spec, copy, baseline=False):
        self.impl = name
        self.name = f"base:{name}" if baseline else name
        self.label_fmt, self.builder, self.ref, self.on_chainrule = spec
        self.copy, self.baseline = copy, baseline
        self.trainer = None
        self.turn_wall, self.turn_cpu = [], []  # seconds per epoch, one per turn
        self.wall, self.cpu = [], []  # what the report uses: the turns, or the trainer's finer samples
        self.samples_note = ""
        self.acc = None
        self.done = 0  # shared steps trained

    def build(self, ctx):
        with self.copy.active():
            self.trainer = self.builder(ctx)
        return self.trainer is not None

    def warm_up(self, ctx):
        """Build the row on a small subset, train one epoch and score it, then throw it away:
        the timed turns then start with imports done, code paths and thread pools warm."""
        with self.copy.active():
            trainer = self.builder(ctx)
            if trainer is None:
                return False
            trainer.run(ctx.nb)
            trainer.accuracy()
        return True

    def label(self, torch_version):
        note = self.trainer.note if self.trainer is not None else ""
        text = self.label_fmt.format(torch=torch_version, note=note)
        return f"baseline: {text}" if self.baseline else text


def run_interleaved(rows, ctx, turn_steps, progress=True):
    """Train every row to ``ctx.total_steps`` in turns, round robin, the order rotated each round.

    In round ``r`` every row that has not finished trains its next ``turn_steps`` steps.
    """
    nb, total = ctx.nb, ctx.total_steps
    t_start = time.perf_counter()
    epochs_done = 0
    rnd = 0
    while any(r.done < total for r in rows):
        target = (rnd + 1) * turn_steps
        k = rnd % len(rows)
        for row in rows[k:] + rows[:k]:
            if row.done >= min(total, target):
                continue
            n = min(turn_steps, total - row.done)
            settle()
            with row.copy.active():
                c0, w0 = time.process_time(), time.perf_counter()
                row.trainer.run(n)
                w1, c1 = time.perf_counter(), time.process_time()
            row.turn_wall.append((w1 - w0) * nb / n)
            row.turn_cpu.append((c1 - c0) * nb / n)
            row.done += n
        rnd += 1
        low = min(r.done for r in rows) // nb
        if progress and low > epochs_done:
            epochs_done = low
            print(f"  epoch {epochs_done}/{ctx.epochs} of every row done ({rnd} rounds, "
                  f"{time.perf_counter() - t_start:.0f} s)", flush=True)
    for row in rows:
        with row.copy.active():
            row.acc = float(row.trainer.accuracy())
        row.wall, row.cpu = row.turn_wall, row.turn_cpu
        if row.trainer.samples is not None:
            row.wall, row.cpu, row.samples_note = row.trainer.samples()
    return time.perf_counter() - t_start


# --------------------------------------------------------------------------
# --profile: per-step breakdown
# --------------------------------------------------------------------------
def profile(data, init, perms, steps):
    """Time each phase of the numpy_fused step, the batch-gather variants and torch."""
    X, y = data["X_train"], data["y_train"]
    nb = len(X) // BATCH
    batches = [perms[0][(i % nb) * BATCH:(i % nb + 1) * BATCH] for i in range(steps)]
    pc = time.perf_counter

    # Every figure is the minimum over PASSES passes: the machines we run on
    # are shared, and the minimum is the least disturbed estimate.
    PASSES = 3
    net = _FusedMLP(init)
    for idx in batches[:50]:  # warm up
        net.step(X, y, idx)
    phases = {name: math.inf for name in _FusedMLP.PHASES}
    calls = [(name, getattr(net, name)) for name in _FusedMLP.PHASES[1:]]
    whole = math.inf
    for _ in range(PASSES):
        acc = dict.fromkeys(phases, 0.0)
        for idx in batches:
            t = pc()
            net.gather(X, y, idx)
            t1 = pc()
            acc["gather"] += t1 - t
            t = t1
            for name, fn in calls:
                fn()
                t1 = pc()
                acc[name] += t1 - t
                t = t1
        for name in phases:
            phases[name] = min(phases[name], acc[name])
        t0 = pc()
        for idx in batches:
            net.step(X, y, idx)
        whole = min(whole, (pc() - t0) / steps)

    us = 1e6 / steps
    print(f"\nnumpy_fused, per step (batch {BATCH}, min over {PASSES} passes of {steps} steps,"
          f" threads {ARGS_THREADS}):")
    for name in _FusedMLP.PHASES:
        print(f"  {name:16s} {phases[name] * us:8.1f} us")
    print(f"  {'sum of phases':16s} {sum(phases.values()) * us:8.1f} us")
    print(f"  {'whole step':16s} {whole * 1e6:8.1f} us   "
          f"(x{nb} steps = {whole * nb:.3f} s/epoch)")

    # The parts of the phases, one op at a time.
    def t_op(fn, n=steps):
        for _ in range(20):
            fn()
        best = math.inf
        for _ in range(PASSES):
            t0 = pc()
            for _ in range(n):
                fn()
            best = min(best, pc() - t0)
        return best / n * 1e6

    n = net
    print("  matmuls alone:")
    mm = {
        "xb @ W1      (100x784 @ 784x100)": lambda: np.matmul(n.xb, n.W1, out=n.H),
        "H @ W2       (100x100 @ 100x10)": lambda: np.matmul(n.H, n.W2, out=n.P),
        "H.T @ dP     (100x100 @ 100x10)": lambda: np.matmul(n.H.T, n.P, out=n.gW2),
        "dP @ W2.T    (100x10 @ 10x100)": lambda: np.matmul(n.P, n.W2.T, out=n.dZ),
        "xb.T @ dZ    (784x100 @ 100x100)": lambda: np.matmul(n.xb.T, n.dZ, out=n.gW1),
    }
    tot = 0.0
    for k, f in mm.items():
        t = t_op(f)
        tot += t
        print(f"    {k:34s} {t:8.1f} us")
    print(f"    {'total':34s} {tot:8.1f} us")
    print("  bias ops: H += b1 %.1f us, sum(dZ, 0) %.1f us, ones @ dZ %.1f us" % (
        t_op(lambda: np.add(n.H, n.b1, out=n.H)),
        t_op(lambda: np.sum(n.dZ, axis=0, out=n.gb1)),
        t_op(lambda: np.matmul(np.ones(BATCH, DTYPE), n.dZ, out=n.gb1))))
    Htmp = np.random.default_rng(0).standard_normal((BATCH, N_HIDDEN)).astype(DTYPE)
    H2 = np.empty_like(Htmp)

    def sig_exp():
        np.negative(Htmp, out=H2)
        np.exp(H2, out=H2)
        np.add(H2, 1.0, out=H2)
        np.reciprocal(H2, out=H2)

    def sig_tanh():
        np.multiply(Htmp, 0.5, out=H2)
        np.tanh(H2, out=H2)
        np.multiply(H2, 0.5, out=H2)
        np.add(H2, 0.5, out=H2)

    print("  sigmoid variants: 1/(1+exp(-z)) %.1f us, 0.5 tanh(z/2)+0.5 %.1f us" % (
        t_op(sig_exp), t_op(sig_tanh)))

    # Batch gather variants, per step.
    out = np.empty((BATCH, N_IN), DTYPE)
    perm = perms[0]
    k = [0]

    def nxt():
        i = k[0] % nb
        k[0] += 1
        return perm[i * BATCH:(i + 1) * BATCH]

    print("  batch gather variants (per step):")
    print(f"    X[idx] (fancy index, new array)      {t_op(lambda: X[nxt()]):8.1f} us")
    print(f"    np.take(X, idx, 0, out=buf)          "
          f"{t_op(lambda: np.take(X, nxt(), axis=0, out=out)):8.1f} us")
    print(f"    np.take(..., out=buf, mode='clip')   "
          f"{t_op(lambda: np.take(X, nxt(), axis=0, out=out, mode='clip')):8.1f} us")
    print(f"    y[idx]                               {t_op(lambda: y[nxt()]):8.1f} us")
    t0 = pc()
    Xs = X[perm]
    t_new = pc() - t0
    t0 = pc()
    for _ in range(3):
        np.take(X, perm, axis=0, out=Xs, mode="clip")
    t_pre = (pc() - t0) / 3
    del Xs
    print(f"    X[perm], whole epoch up front        {t_new * 1e3:8.1f} ms/epoch"
          f" = {t_new / nb * 1e6:.1f} us/step (new array; slices are then free views)")
    print(f"    same into a reused buffer            {t_pre * 1e3:8.1f} ms/epoch"
          f" = {t_pre / nb * 1e6:.1f} us/step")
    Xu8 = (X * 255).round().astype(np.uint8)
    scale = 1.0 / 255.0

    def u8():
        np.multiply(Xu8[nxt()], scale, out=out)

    print(f"    uint8 X[idx] * (1/255) -> float32     {t_op(u8):8.1f} us")

    print(f"  adam (flat, {n.flat.size} floats): {t_op(n.adam):.1f} us")
    try:
        import torch
    except ImportError:
        print("\ntorch not installed: no torch profile")
        return
    torch.set_num_threads(ARGS_THREADS)
    print(f"\ntorch_cpu, per step (threads {torch.get_num_threads()}):")
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    tb = [torch.from_numpy(b) for b in batches]
    for variant in ({}, {"foreach": True}, {"fused": True}):
        model = _torch_model(init)
        loss_fn = torch.nn.CrossEntropyLoss()
        opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS,
                               **variant)
        names = ("gather", "zero_grad", "forward+loss", "backward", "adam step")
        parts = dict.fromkeys(names, math.inf)
        whole_t = math.inf
        for rep in range(PASSES + 1):  # the first pass warms up
            acc = dict.fromkeys(names, 0.0)
            for idx in tb:
                t = pc()
                xb, yb = Xt[idx], yt[idx]
                t1 = pc()
                acc["gather"] += t1 - t
                opt.zero_grad(set_to_none=True)
                t2 = pc()
                acc["zero_grad"] += t2 - t1
                loss = loss_fn(model(xb), yb)
                t3 = pc()
                acc["forward+loss"] += t3 - t2
                loss.backward()
                t4 = pc()
                acc["backward"] += t4 - t3
                opt.step()
                acc["adam step"] += pc() - t4
            t0 = pc()
            for idx in tb:  # the same loop without the timers
                xb, yb = Xt[idx], yt[idx]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
            if rep:
                whole_t = min(whole_t, pc() - t0)
                for name in names:
                    parts[name] = min(parts[name], acc[name])
        label = "Adam()" if not variant else f"Adam({next(iter(variant))}=True)"
        print(f"  {label}: " + ", ".join(f"{p} {v * us:.1f}" for p, v in parts.items())
              + f"  | sum {sum(parts.values()) * us:.1f} us, whole step {whole_t * us:.1f} us")


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def _median(xs):
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def _ratio(a, b, clock):
    """Ratio of the median seconds per epoch of rows ``a`` and ``b`` on ``clock`` ('wall'/'cpu')."""
    if a is None or b is None or not getattr(a, clock) or not getattr(b, clock):
        return None
    return _median(getattr(a, clock)) / _median(getattr(b, clock))


def _fmt_ratio_pair(a, b):
    w, c = _ratio(a, b, "wall"), _ratio(a, b, "cpu")
    return "" if w is None else f"{w:.2f}x / {c:.2f}x"


def report(rows, torch_version, judge):
    """Print the summary table and the targets; return True when every judged target is met.

    ``judge`` is False for runs too short to judge (``--quick``, ``--synthetic``, < 3 epochs):
    the ratios are printed without a verdict.
    """
    by = {r.name: r for r in rows}
    fused = by.get("numpy_fused")
    print()
    print("Seconds per epoch (a turn's time scaled to an epoch; for the fit rows plus fit's own cost per epoch): "
          "median over turns (min-max);\nratios are of the medians, wall-clock / CPU time.")
    head = ["row", "what", "turns", "wall s/epoch", "CPU s/epoch", "vs PyTorch", "vs hand-fused", "vs baseline",
            "test acc"]
    table = []
    for r in rows:
        ref = by.get(r.ref) if r.ref else None
        ref_name = "" if ref is None else (ref.impl if not r.baseline else ref.name)
        twin = by.get(f"base:{r.impl}") if not r.baseline else None
        vs_torch = _fmt_ratio_pair(r, ref)
        table.append([
            r.name, r.label(torch_version), str(len(r.wall)),
            f"{_median(r.wall):.3f} ({min(r.wall):.3f}-{max(r.wall):.3f})",
            f"{_median(r.cpu):.3f} ({min(r.cpu):.3f}-{max(r.cpu):.3f})",
            f"{vs_torch} ({ref_name})" if vs_torch else "",
            "" if r is fused else _fmt_ratio_pair(r, fused),
            _fmt_ratio_pair(r, twin),
            f"{r.acc:.4f}"])
    widths = [max(len(x[i]) for x in [head] + table) for i in range(len(head))]
    for i, line in enumerate([head, ["-" * w for w in widths]] + table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |")
    fits = [r for r in rows if r.samples_note]
    if fits:
        print("\nmodel.fit rows: a turn's rate scaled to an epoch, plus fit's own cost per epoch outside its "
              "batches (set-up, shuffles, epoch ends), wall / CPU s:")
        for r in fits:
            print(f"  {r.name:24s} {r.samples_note}")

    verdicts = []
    print()
    print(f"{'targets (wall-clock ratio of medians; CPU beside)':58s} {'wall':>6s} {'CPU':>6s}   target")

    def target(a, b, limit, what=None):
        ra, rb = by.get(a), by.get(b)
        w, c = _ratio(ra, rb, "wall"), _ratio(ra, rb, "cpu")
        if w is None:
            return
        ok = w <= limit
        if judge:
            verdicts.append(ok)
        label = what or f"{a} / {b}"
        verdict = ("ok" if ok else "MISSED") if judge else "(not judged on this run)"
        print(f"  {label:56s} {w:6.3f} {c:6.3f}   <= {limit}   {verdict}")

    target("chainrule_fit", "torch_cpu", TARGET_VS_TORCH)
    target("chainrule_loop", "torch_cpu", TARGET_VS_TORCH)
    target("chainrule_bn_fit", "torch_bn", TARGET_VS_TORCH)
    target("chainrule_module", "torch_module", TARGET_VS_TORCH)
    target("chainrule_fit", "base:chainrule_fit", TARGET_VS_BASELINE, "chainrule_fit / baseline's chainrule_fit")
    for name in ("chainrule_fit", "chainrule_step", "chainrule_loop"):
        target(name, "numpy_fused", TARGET_VS_NUMPY)
    print()
    acc_target = f">= {TARGET_ACC} after 3 epochs"
    for name in ("chainrule_fit", "chainrule_step", "chainrule_loop", "chainrule_module"):
        r = by.get(name)
        if r is None:
            continue
        if judge:
            ok = r.acc >= TARGET_ACC
            verdicts.append(ok)
            print(f"  {name + ' test acc':56s} {r.acc:6.4f}          {acc_target}   {'ok' if ok else 'MISSED'}")
        else:
            print(f"  {name + ' test acc':56s} {r.acc:6.4f}          ({acc_target}; not judged on this run)")
    if fused is not None:
        for name in ("chainrule_step", "chainrule_loop", "chainrule_module", "torch_cpu", "torch_module"):
            r = by.get(name)
            if r is not None:
                print(f"  {name + ' - numpy_fused test acc':56s} {r.acc - fused.acc:+6.4f}          "
                      "(same init and batches: expect within +-0.005)")
    tb, cb = by.get("torch_bn"), by.get("chainrule_bn_fit")
    if tb is not None and cb is not None:
        print(f"  {'chainrule_bn_fit - torch_bn test acc':56s} {cb.acc - tb.acc:+6.4f}          "
              "(own dropout masks and shuffles: expect within about +-0.01)")
    return all(verdicts)


def main(args):
    global ARGS_THREADS
    ARGS_THREADS = args.threads
    names = args.impl or list(ROWS)
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        print(f"unknown --impl {unknown}; choose from {list(ROWS)}")
        return 2
    current = CurrentChainrule()
    if args.synthetic:
        data = synthetic_data(args.seed)
    else:
        data = load_data(args.data, quick=args.quick)
    if data is None:
        print(DATA_HELP)
        print("bench/mlp.py: no data, nothing measured.")
        return 0
    init = make_init(args.seed)
    epochs = args.epochs
    perms = make_perms(args.seed, len(data["X_train"]), epochs)

    blas = ""
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('architecture') or ''} {i['num_threads']} threads"
                         for i in threadpool_info())
    except Exception:  # threadpoolctl is optional
        pass
    what = "a random stand-in (--synthetic)" if args.synthetic else "Fashion-MNIST"
    print(f"MLP 784-100-10 on {what}: {len(data['X_train'])} train / "
          f"{len(data['X_test'])} test, batch {BATCH}, {epochs} epoch(s), "
          f"threads {args.threads}; numpy {np.__version__}" + (f" [{blas}]" if blas else ""))
    print(f"chainrule: {current.pkg} ({_git_rev(current.root)})")

    if args.profile:
        with np.errstate(over="ignore"):
            profile(data, init, perms, args.profile_steps)
        return 0

    base = None
    if args.baseline:
        base = ChainruleCopy(args.baseline)
        if base.pkg == current.pkg:
            print(f"--baseline {args.baseline!r} is this checkout; give another one")
            return 2
        print(f"baseline chainrule: {base.pkg} ({_git_rev(base.root)})")

    torch = _import_torch() if any(n.startswith("torch") for n in names) else None
    torch_version = torch.__version__.split("+")[0] if torch is not None else "(not installed)"
    if torch is None and any(n.startswith("torch") for n in names):
        print("torch is not installed (pip install torch==2.13.0): the PyTorch rows are skipped")

    rows = []
    for name in names:
        rows.append(Row(name, ROWS[name], current))
        if base is not None and ROWS[name][3]:
            rows.append(Row(name, ROWS[name], base, baseline=True))

    turn_steps = min(args.turn_steps, len(data["X_train"]) // BATCH)
    ctx = Context(data, init, perms, epochs, args.seed, window=turn_steps)
    print(f"warming up {len(rows)} rows on {min(1000, len(data['X_train']))} samples ...", flush=True)
    warm = ctx.subset(min(1000, len(data["X_train"])))
    rows = [r for r in rows if r.warm_up(warm) and r.build(ctx)]
    print(f"timing {len(rows)} rows interleaved: turns of {turn_steps} steps ({ctx.nb} steps per epoch) ...",
          flush=True)
    elapsed = run_interleaved(rows, ctx, turn_steps)
    print(f"  all rows trained in {elapsed:.0f} s")

    n_current = current.check()
    if base is not None:
        fit_file, n_base = base.probe()
        print(f"isolation: {n_current} chainrule modules from {current.pkg}; the baseline's calls saw only its "
              f"{n_base} modules from {base.pkg} (checked after each of {base.calls} calls; its "
              f"chainrule.training is {fit_file})")
    judge = epochs >= 3 and not args.quick and not args.synthetic
    ok = report(rows, torch_version, judge)
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main(ARGS))

"""MLP training benchmark: chainrule against a hand-fused NumPy step and PyTorch.

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
* 3 epochs, reshuffled every epoch.

Every implementation starts from the *same* initial weights and visits the
*same* batches in the same order: both come from one seeded NumPy RNG here and
are handed to each trainer.  All are timed in one process with one thread
count (``--threads``, applied to OpenMP/OpenBLAS/MKL before NumPy is imported
and to ``torch.set_num_threads``).

Some machines set ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_L2_SIZE``) to pin old
OpenBLAS builds to a safe kernel.  That also pins NumPy's current OpenBLAS to
an older, slower kernel (Haswell on an AVX-512 processor) while PyTorch picks
its own, so the script drops both before NumPy loads unless
``--keep-openblas-env`` is given; the first line it prints names the kernel
OpenBLAS runs.

Implementations (see ``TRAINERS``):

``numpy_fused``
    The speed reference: the whole training step written by hand in NumPy
    with preallocated buffers and in-place ufuncs, no gradient with respect
    to the input, softmax + cross-entropy gradient fused as (p - onehot)/B,
    one flat Adam update over all parameters (ten passes, with the moments
    kept scaled as ``optim.Adam`` keeps them for float32).  A library built on
    NumPy cannot be expected to beat this by much.
``torch_cpu``
    nn.Sequential(Linear, Sigmoid, Linear) + CrossEntropyLoss +
    torch.optim.Adam with the usual zero_grad/backward/step loop.  Skipped
    if torch is not installed (``pip install torch==2.13.0``).
``chainrule``
    The autodiff engine, PyTorch style, written as ``torch_cpu`` is:
    nn.Sequential(Linear, Sigmoid, Linear), nn.CrossEntropyLoss on the
    logits, ``loss.backward()``, ``optim.Adam.step()``.  The graph has two
    nodes: the Sequential runs its dense layers as one ``DenseStack``
    primitive, and the loss is the fused softmax cross-entropy.
``chainrule_dense``
    What ``model.fit`` runs for a stack of Dense layers: the notes'
    back-propagation written out in preallocated buffers
    (``chainrule.backprop.DenseBackprop``), then the same ``optim.Adam.step()``,
    on the shared batches.
``chainrule_fit``
    ``model.compile`` + ``model.fit`` end to end (its own shuffling, so its
    accuracy differs slightly from the others').

A trainer is ``fn(data, init, perms, epochs) -> (seconds_per_epoch, test_acc)``
or ``None`` when it cannot run (see :func:`train_numpy_fused` for the exact
meaning of the arguments).

Targets: chainrule <= 0.6x torch_cpu and <= 1.25x numpy_fused in seconds per
epoch (median over all epochs of all repeats), and test accuracy >= 0.85
after 3 epochs.  The ratios of the fastest epochs are printed beside them: on
a shared machine the minimum is the least disturbed estimate.

Usage::

    python bench/mlp.py                    # 3 epochs, threads = core count
    python bench/mlp.py --threads 1
    python bench/mlp.py --quick            # 1 epoch on 10k training samples, once
    python bench/mlp.py --repeat 5         # train each 5 times (default 3), rotating order
    python bench/mlp.py --impl numpy_fused --impl torch_cpu
    python bench/mlp.py --profile          # per-step time breakdown
    python bench/mlp.py --keep-openblas-env   # keep OPENBLAS_CORETYPE as the machine set it

Data: the Fashion-MNIST IDX files (gzip or raw) from ``--data DIR``, else
``$CHAINRULE_DATA`` (the directory itself or its ``fashion-mnist``
subdirectory), else ``/usr/share/datasets/fashion-mnist`` (Debian package
``dataset-fashion-mnist``).  When they are missing the script says how to get
them and exits 0.
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
    p.add_argument("--epochs", type=int, default=3, help="epochs (default 3)")
    p.add_argument("--quick", action="store_true",
                   help="1 epoch on the first 10k training samples")
    p.add_argument("--impl", action="append", default=None,
                   help="run only this implementation (repeatable)")
    p.add_argument("--data", default=None, help="directory with the IDX files")
    p.add_argument("--seed", type=int, default=0, help="seed for init and shuffling")
    p.add_argument("--repeat", type=int, default=None,
                   help="train each implementation this many times, in rotating order "
                        "(default 3, or 1 with --quick)")
    p.add_argument("--profile", action="store_true",
                   help="print a per-step time breakdown of numpy_fused and torch, then exit")
    p.add_argument("--profile-steps", type=int, default=600,
                   help="steps per timed phase in --profile (default 600)")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (by default they are dropped, "
                        "so OpenBLAS picks the kernel for this processor)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if a measured chainrule target is missed")
    args = p.parse_args(argv)
    if args.threads is None:
        try:
            args.threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            args.threads = os.cpu_count() or 1
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1 or args.epochs < 1:
        p.error("--repeat and --epochs must be >= 1")
    return args


# Thread counts must be in the environment before NumPy (OpenBLAS) or torch
# (OpenMP/MKL) is imported: they read them once, at load time.
if __name__ == "__main__":
    ARGS = _parse_args()
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(ARGS.threads)
    if not ARGS.keep_openblas_env:
        for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            os.environ.pop(_var, None)

import gzip  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# --------------------------------------------------------------------------
# The experiment.  Keep these identical across implementations.
# --------------------------------------------------------------------------
N_IN, N_HIDDEN, N_OUT = 784, 100, 10
BATCH = 100
LR = 1e-3
BETA1, BETA2 = 0.9, 0.999
EPS = 1e-8  # PyTorch's default; added to sqrt(v_hat) (see _FusedMLP.adam)
DTYPE = np.float32
TARGET_VS_TORCH = 0.6
TARGET_VS_NUMPY = 1.25
TARGET_ACC = 0.85

DATA_HELP = ("Fashion-MNIST not found.  Get it with\n"
             "    apt-get install dataset-fashion-mnist   "
             "(files land in /usr/share/datasets/fashion-mnist)\n"
             "or put train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],\n"
             "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] in a directory\n"
             "and pass --data DIR or set CHAINRULE_DATA=DIR.")

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


def train_numpy_fused(data, init, perms, epochs):
    """Train with the fused NumPy step.

    data   : dict X_train (N, 784) float32, y_train (N,) int64, X_test, y_test
    init   : dict W1 (784, 100), b1 (100,), W2 (100, 10), b2 (10,), float32
    perms  : list of int64 permutations of range(N), one per epoch
    epochs : number of epochs to run (<= len(perms))
    returns: (list of seconds per epoch, test accuracy)
    """
    X, y = data["X_train"], data["y_train"]
    net = _FusedMLP(init)
    nb = len(X) // BATCH
    times = []
    with np.errstate(over="ignore"):  # once for the run, not per step (see _FusedMLP.sigmoid)
        for e in range(epochs):
            perm = perms[e]
            t0 = time.perf_counter()
            for i in range(nb):
                net.step(X, y, perm[i * BATCH:(i + 1) * BATCH])
            times.append(time.perf_counter() - t0)
    bad = [a.dtype for a in net.arrays() if a.dtype.kind == "f" and a.dtype != DTYPE]
    assert not bad, f"numpy_fused: non-float32 buffers {bad}"
    return times, accuracy_numpy(net.params(), data["X_test"], data["y_test"])


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


def train_torch_cpu(data, init, perms, epochs):
    """The same network in PyTorch (see :func:`train_numpy_fused` for arguments)."""
    try:
        import torch
    except ImportError:
        print("torch_cpu: torch is not installed (pip install torch==2.13.0); skipped")
        return None
    torch.set_num_threads(ARGS_THREADS)
    model = _torch_model(init)
    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax + NLL, mean over the batch
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS)
    Xt = torch.from_numpy(data["X_train"])
    yt = torch.from_numpy(data["y_train"])
    nb = len(Xt) // BATCH
    times = []
    for e in range(epochs):
        perm = torch.from_numpy(perms[e])
        t0 = time.perf_counter()
        for i in range(nb):
            idx = perm[i * BATCH:(i + 1) * BATCH]
            xb, yb = Xt[idx], yt[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        logits = model(torch.from_numpy(data["X_test"]))
        acc = (logits.argmax(1) == torch.from_numpy(data["y_test"])).float().mean().item()
    return times, float(acc)


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


def _chainrule_epochs(data, perms, epochs, model, train_batch):
    """Time ``train_batch(xb, yb)`` over the shared batches; return (seconds per epoch, test accuracy)."""
    X, y = data["X_train"], data["y_train"]
    xb = np.empty((BATCH, X.shape[1]), dtype=X.dtype)
    times = []
    for e in range(epochs):
        perm = perms[e]
        t0 = time.perf_counter()
        for i in range(len(X) // BATCH):
            idx = perm[i * BATCH:(i + 1) * BATCH]
            np.take(X, idx, axis=0, out=xb, mode="clip")
            train_batch(xb, y[idx])
        times.append(time.perf_counter() - t0)
    return times, accuracy_numpy(_chainrule_params(model), data["X_test"], data["y_test"])


def train_chainrule(data, init, perms, epochs):
    """The same network with chainrule written as the torch_cpu trainer is, line for line:
    Sequential(Linear, Sigmoid, Linear), CrossEntropyLoss on the logits, optim.Adam, and
    zero_grad / backward / step on the same batches as the other implementations."""
    try:
        from chainrule import nn, optim
    except ImportError as err:
        print(f"chainrule: not importable ({err}); skipped")
        return None
    model = _chainrule_torch_style_model(init)
    opt = optim.Adam(model.parameters(), lr=LR, beta1=BETA1, beta2=BETA2, eps=EPS)
    loss_fn = nn.CrossEntropyLoss()  # log-softmax + NLL, mean over the batch

    def train_batch(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return _chainrule_epochs(data, perms, epochs, model, train_batch)


def train_chainrule_dense(data, init, perms, epochs):
    """The step ``model.fit`` takes for Dense stacks (chainrule.backprop), on the shared batches."""
    try:
        from chainrule import losses, optim
        from chainrule.backprop import DenseBackprop
    except ImportError as err:
        print(f"chainrule_dense: not importable ({err}); skipped")
        return None
    model = _chainrule_model(init)
    opt = optim.Adam(model.parameters(), lr=LR, beta1=BETA1, beta2=BETA2, eps=EPS)
    step = DenseBackprop.build(model, losses.sparse_categorical_crossentropy, data["X_train"],
                               data["y_train"])

    def train_batch(xb, yb):
        step.step(xb, yb)
        opt.step()
    return _chainrule_epochs(data, perms, epochs, model, train_batch)


def train_chainrule_fit(data, init, perms, epochs):
    """The same network trained the Keras way: one model.compile + model.fit(epochs=...) call
    (its own shuffling), each epoch timed by a callback as Keras users would."""
    try:
        from chainrule import optim
        from chainrule.training import Callback
    except ImportError as err:
        print(f"chainrule_fit: not importable ({err}); skipped")
        return None

    class EpochTimer(Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.t0)

    model = _chainrule_model(init)
    model.compile(optimizer=optim.Adam(lr=LR, beta1=BETA1, beta2=BETA2, eps=EPS),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(data["X_train"], data["y_train"], epochs=epochs, batch_size=BATCH, verbose=0, seed=0,
              callbacks=[timer])
    return timer.times, accuracy_numpy(_chainrule_params(model), data["X_test"], data["y_test"])


TRAINERS = {
    "numpy_fused": train_numpy_fused,
    "torch_cpu": train_torch_cpu,
    "chainrule": train_chainrule,
    "chainrule_dense": train_chainrule_dense,
    "chainrule_fit": train_chainrule_fit,
}

ARGS_THREADS = os.cpu_count() or 1  # overwritten by main()


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


def _summary(runs):
    """(median s/epoch over all epochs of all runs, min, median first epoch, acc) or None."""
    if not runs:
        return None
    every = [t for times, _ in runs for t in times]
    return _median(every), min(every), _median([times[0] for times, _ in runs]), runs[0][1]


def report(results, epochs, quick):
    """results: {name: list of (seconds_per_epoch, test_acc), one per repeat, or None}."""
    summ = {name: _summary(runs) for name, runs in results.items()}
    print()
    print(f"{'impl':14s} | {'s/epoch (median)':>16s} | {'min':>6s} | {'first epoch':>11s}"
          f" | {'test acc':>8s}")
    print("-" * 69)
    for name, sm in summ.items():
        if sm is None:
            print(f"{name:14s} | {'skipped':>16s} | {'':>6s} | {'':>11s} | {'':>8s}")
        else:
            med, best, first, acc = sm
            accs = {round(a, 6) for _, a in results[name]}
            note = "" if len(accs) == 1 else f"  (varies over repeats: {sorted(accs)})"
            print(f"{name:14s} | {med:16.3f} | {best:6.3f} | {first:11.3f} | {acc:8.4f}{note}")
    print()

    def ratio(a, b, k=0):
        sa, sb = summ.get(a), summ.get(b)
        if sa is None or sb is None:
            return None
        return sa[k] / sb[k]

    verdicts = []

    def line(label, value, target, ok, fastest=None):
        text = "n/a" if value is None else f"{value:.3f}"
        mark = "" if value is None else ("  ok" if ok(value) else "  MISSED")
        extra = "" if fastest is None else f"   fastest epochs: {fastest:.3f}"
        print(f"{label:26s} {text:>7s}   (target {target}){mark}{extra}")
        if value is not None:
            verdicts.append(ok(value))

    for impl in ("chainrule", "chainrule_dense", "chainrule_fit"):
        if summ.get(impl) is None:
            continue
        line(f"{impl} / torch_cpu", ratio(impl, "torch_cpu"), f"<= {TARGET_VS_TORCH}",
             lambda r: r <= TARGET_VS_TORCH, ratio(impl, "torch_cpu", 1))
        line(f"{impl} / numpy_fused", ratio(impl, "numpy_fused"), f"<= {TARGET_VS_NUMPY}",
             lambda r: r <= TARGET_VS_NUMPY, ratio(impl, "numpy_fused", 1))
    cr = summ.get("chainrule")
    acc_target = f">= {TARGET_ACC} after 3 epochs"
    if quick or epochs < 3:
        print(f"{'chainrule test acc':26s} {'n/a' if cr is None else f'{cr[3]:.4f}':>7s}"
              f"   (target {acc_target}; not judged with --quick/--epochs < 3)")
    else:
        line("chainrule test acc", None if cr is None else cr[3], acc_target,
             lambda a: a >= TARGET_ACC)
    ref = summ.get("numpy_fused")
    d = None if cr is None or ref is None else cr[3] - ref[3]
    print(f"{'chainrule - numpy_fused acc':26s} {'n/a' if d is None else f'{d:+.4f}':>7s}"
          "   (same init and batches: expect within +-0.005)")
    r = ratio("torch_cpu", "numpy_fused")
    print(f"{'torch_cpu / numpy_fused':26s} {'n/a' if r is None else f'{r:.3f}':>7s}"
          "   (for reference)")
    return all(verdicts)


def main(args):
    global ARGS_THREADS
    ARGS_THREADS = args.threads
    epochs = 1 if args.quick else args.epochs
    names = args.impl or list(TRAINERS)
    unknown = [n for n in names if n not in TRAINERS]
    if unknown:
        print(f"unknown --impl {unknown}; choose from {list(TRAINERS)}")
        return 2
    data = load_data(args.data, quick=args.quick)
    if data is None:
        print(DATA_HELP)
        print("bench/mlp.py: no data, nothing measured.")
        return 0
    init = make_init(args.seed)
    perms = make_perms(args.seed, len(data["X_train"]), epochs)

    blas = ""
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('architecture') or ''} {i['num_threads']} threads"
                         for i in threadpool_info())
    except Exception:  # threadpoolctl is optional
        pass
    print(f"MLP 784-100-10 on Fashion-MNIST: {len(data['X_train'])} train / "
          f"{len(data['X_test'])} test, batch {BATCH}, {epochs} epoch(s), "
          f"threads {args.threads}; numpy {np.__version__}" + (f" [{blas}]" if blas else ""))

    if args.profile:
        with np.errstate(over="ignore"):
            profile(data, init, perms, args.profile_steps)
        return 0

    # Repeats rotate the order, so slow drifts of a shared machine hit every
    # implementation alike; all epochs of all repeats go into the median.
    results = {name: [] for name in names}
    for rep in range(args.repeat):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            if rep and not results[name]:
                continue  # it was skipped the first time
            print(f"[{rep + 1}/{args.repeat}] {name} ...", flush=True)
            res = TRAINERS[name](data, init, perms, epochs)
            if res is None:
                continue
            times, acc = res
            print(f"  {name}: " + ", ".join(f"{t:.3f}" for t in times)
                  + f" s/epoch, test acc {acc:.4f}", flush=True)
            results[name].append((list(times), float(acc)))
    results = {name: (runs or None) for name, runs in results.items()}
    ok = report(results, epochs, args.quick)
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main(ARGS))

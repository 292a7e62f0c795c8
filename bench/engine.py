"""Per-primitive overhead of the engine: chainrule against the NumPy it runs, call by call.

    python bench/engine.py [--repeat 7] [--number 2000] [--only einsum] [--threads 1]

Each row times a chainrule call (forward, or forward and backward) and a reference written in plain
NumPy that does the same arithmetic with the same NumPy calls, and prints microseconds per call,
the ratio, and the overhead (chainrule minus NumPy): the engine's own cost, which should stay a
microsecond or two per primitive, as a training step runs tens of them.  The two sides of every row
are timed alternately, round after round, and each keeps its best round, so a burst of load on a
shared machine hits both.  ``bench/engine_instr.py`` counts the instructions of the same rows under
callgrind, which load does not move.

Where chainrule does necessary work the reference does not, the row's note says so (solve checks
that A is square).  logsumexp's reference makes chainrule's NumPy calls, including the test for
infinite maxima that SciPy makes too; a second row times SciPy's own ``scipy.special.logsumexp``,
the function ``chainrule.scipy.special.logsumexp`` stands in for.
"""
import argparse
import os
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)


def make_rows(number):
    """The benchmark rows: (name, chainrule callable, NumPy callable, calls per round)."""
    import numpy as np

    import chainrule as cr
    import chainrule.numpy as cnp

    rng = np.random.default_rng(0)
    rows = []
    few = max(50, number // 20)

    # a small elementwise op, forward and backward: y = sum(tanh(x)), x of 100 values
    xs = rng.standard_normal(100).astype(np.float32)
    xt = cr.tensor(xs, requires_grad=True)

    def cr_small():
        xt.grad = None
        cr.tanh(xt).sum().backward()

    def np_small():
        y = np.tanh(xs)
        y.sum()
        return 1 - y * y  # d/dx sum(tanh x)
    rows.append(("tanh + sum, 100 values (fwd+bwd)", cr_small, np_small, number))

    # a single primitive, forward only: plain ndarrays in (no graph), and a Tensor in (the graph recorded)
    rows.append(("mul forward, ndarray in (no graph)", lambda: cr.mul(xs, xs), lambda: np.multiply(xs, xs), number))
    rows.append(("mul forward, Tensor in (records graph)", lambda: xt * xt, lambda: np.multiply(xs, xs), number))

    # the 100x784 @ 784x100 matmul, forward and backward for both operands
    A = rng.standard_normal((100, 784)).astype(np.float32)
    B = rng.standard_normal((784, 100)).astype(np.float32)
    At, Bt = cr.tensor(A, requires_grad=True), cr.tensor(B, requires_grad=True)
    G = np.ones((100, 100), dtype=np.float32)

    def cr_mm():
        At.grad = Bt.grad = None
        (At @ Bt).backward(G)

    def np_mm():
        A @ B
        return G @ B.T, A.T @ G
    rows.append(("matmul 100x784 @ 784x100 (fwd+bwd)", cr_mm, np_mm, few))

    # chainrule.numpy's primitives, forward with the graph recorded, against the NumPy call each runs
    rows.append(("sin, 100 values: cr.sin(Tensor)", lambda: cr.sin(xt), lambda: np.sin(xs), number))
    rows.append(("sin, 100 values: chainrule.numpy.sin(Tensor)", lambda: cnp.sin(xt), lambda: np.sin(xs), number))
    rows.append(("sin, 100 values: np.sin(Tensor) (NumPy protocol)", lambda: np.sin(xt), lambda: np.sin(xs),
                 number))

    E1 = rng.standard_normal((32, 32)).astype(np.float32)
    E1t = cr.tensor(E1, requires_grad=True)
    rows.append(("einsum 'ij,jk->ik', 32x32 (chainrule.numpy)", lambda: cnp.einsum("ij,jk->ik", E1t, E1t),
                 lambda: np.einsum("ij,jk->ik", E1, E1), number))

    # logsumexp over the rows of 100x10 logits.  The reference is the stable computation with the
    # NumPy calls chainrule's kernel makes (ops/reduce.py: the row maximum over a transposed copy,
    # the test of the maxima for +-inf that SciPy makes too (an all -inf row gives -inf, not NaN),
    # the row sum as a product with ones, both faster than a reduction along a short last axis).
    L = rng.standard_normal((100, 10)).astype(np.float32)
    Lt = cr.tensor(L, requires_grad=True)
    ones10 = np.ones(10, np.float32)

    def np_lse():  # m + log sum exp(x - m)
        m = np.maximum.reduce(L.T.copy(), axis=0).reshape(100, 1)
        if np.isinf(m).any():
            raise AssertionError("the benchmark's logits are finite")
        e = np.subtract(L, m)
        np.exp(e, out=e)
        s = np.matmul(e, ones10).reshape(-1, 1)
        np.log(s, out=s)
        s += m
        return s[:, 0]
    rows.append(("logsumexp over rows, 100x10", lambda: cr.logsumexp(Lt, axis=1), np_lse, number))
    try:
        from scipy.special import logsumexp as sp_lse
        rows.append(("logsumexp over rows, 100x10 (vs SciPy's)", lambda: cr.logsumexp(Lt, axis=1),
                     lambda: sp_lse(L, axis=1), few))
    except ImportError:  # pragma: no cover - SciPy comes with scikit-learn
        pass

    # x = A^-1 b for a 64x64 A (chainrule also checks that A is square)
    S = rng.standard_normal((64, 64)) + 8 * np.eye(64)
    sb = rng.standard_normal(64)
    St, sbt = cr.tensor(S, requires_grad=True), cr.tensor(sb, requires_grad=True)
    rows.append(("solve 64x64 (chainrule.numpy.linalg)", lambda: cnp.linalg.solve(St, sbt),
                 lambda: np.linalg.solve(S, sb), number))
    ones64 = np.ones(64)

    def cr_solve():
        St.grad = sbt.grad = None
        cnp.linalg.solve(St, sbt).backward(ones64)

    def np_solve():  # x = A^-1 b;  bbar = A^-T g;  Abar = -bbar x^T
        x = np.linalg.solve(S, sb)
        bbar = np.linalg.solve(S.T, ones64[:, None])
        return -bbar @ x[None, :], bbar[:, 0]
    rows.append(("solve 64x64 (fwd+bwd)", cr_solve, np_solve, few))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--number", type=int, default=2000, help="calls per timing round (fewer for the big rows)")
    ap.add_argument("--repeat", type=int, default=7, help="timing rounds; each side keeps its best")
    ap.add_argument("--only", default=None, help="run only the rows whose name contains this text")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads (set before NumPy loads)")
    args = ap.parse_args(argv)
    if args.number < 1 or args.repeat < 1 or args.threads < 1:
        ap.error("--number, --repeat and --threads must be >= 1")
    from _env import pin_threads
    pin_threads(args.threads)
    import numpy as np

    import chainrule as cr

    rows = [r for r in make_rows(args.number) if args.only is None or args.only in r[0]]
    if not rows:
        ap.error(f"no row matches --only {args.only!r}")
    best = [[float("inf"), float("inf")] for _ in rows]
    for _ in range(args.repeat):
        for i, (_, fc, fn, n) in enumerate(rows):
            for side, f in enumerate((fc, fn)):
                best[i][side] = min(best[i][side], timeit.timeit(f, number=n) / n * 1e6)

    print(f"chainrule {cr.__version__} engine overhead (numpy {np.__version__}, threads={args.threads}, "
          f"best of {args.repeat} interleaved rounds)")
    print(f"{'computation':50s} {'chainrule us':>13s} {'numpy us':>10s} {'ratio':>7s} {'overhead us':>12s}")
    for (name, *_), (c, p) in zip(rows, best):
        print(f"{name:50s} {c:13.1f} {p:10.1f} {c / p:7.2f} {c - p:12.1f}")


if __name__ == "__main__":
    main()

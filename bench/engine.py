"""Per-primitive overhead of the engine: forward + backward through chainrule vs the same NumPy.

    python bench/engine.py [--repeat N]

Prints microseconds per call and the ratio to hand-written NumPy computing the
same value and the same gradient.  The engine's own cost should stay a few
microseconds per primitive: a training step runs tens of them.
"""
import argparse
import os
import sys
import timeit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402


def best_us(fn, number, repeat=7):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--number", type=int, default=2000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []

    # 1. a small elementwise op: y = sum(tanh(x)), x of 100 values
    xs = rng.standard_normal(100).astype(np.float32)
    xt = cr.tensor(xs, requires_grad=True)

    def cr_small():
        xt.grad = None
        cr.tanh(xt).sum().backward()

    def np_small():
        y = np.tanh(xs)
        y.sum()
        return 1 - y * y  # d/dx sum(tanh x)
    rows.append(("tanh + sum, 100 values (fwd+bwd)", best_us(cr_small, args.number), best_us(np_small, args.number)))

    # 2. a single primitive, forward only, no graph (plain-ndarray fast path) and with graph
    rows.append(("mul forward, ndarray in (no graph)", best_us(lambda: cr.mul(xs, xs), args.number),
                 best_us(lambda: np.multiply(xs, xs), args.number)))
    rows.append(("mul forward, Tensor in (records graph)", best_us(lambda: xt * xt, args.number),
                 best_us(lambda: np.multiply(xs, xs), args.number)))

    # 3. the 100x784 @ 784x100 matmul, forward + backward for both operands
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
    n = max(50, args.number // 20)
    rows.append(("matmul 100x784 @ 784x100 (fwd+bwd)", best_us(cr_mm, n), best_us(np_mm, n)))

    # 4. chainrule.numpy's primitives, forward with the graph recorded, against the NumPy call each wraps
    import chainrule.numpy as cnp
    rows.append(("sin, 100 values: cr.sin(Tensor)", best_us(lambda: cr.sin(xt), args.number),
                 best_us(lambda: np.sin(xs), args.number)))
    rows.append(("sin, 100 values: chainrule.numpy.sin(Tensor)", best_us(lambda: cnp.sin(xt), args.number),
                 best_us(lambda: np.sin(xs), args.number)))
    rows.append(("sin, 100 values: np.sin(Tensor) (NumPy protocol)", best_us(lambda: np.sin(xt), args.number),
                 best_us(lambda: np.sin(xs), args.number)))
    E1 = rng.standard_normal((32, 32)).astype(np.float32)
    E1t = cr.tensor(E1, requires_grad=True)
    rows.append(("einsum 'ij,jk->ik', 32x32 (chainrule.numpy)", best_us(lambda: cnp.einsum("ij,jk->ik", E1t, E1t),
                                                                        args.number),
                 best_us(lambda: np.einsum("ij,jk->ik", E1, E1), args.number)))
    L = rng.standard_normal((100, 10)).astype(np.float32)
    Lt = cr.tensor(L, requires_grad=True)

    def np_lse():  # the same stable computation in NumPy: m + log sum exp(x - m)
        m = np.maximum.reduce(L, axis=1, keepdims=True)
        return np.log(np.add.reduce(np.exp(L - m), axis=1)) + m[:, 0]
    rows.append(("logsumexp over rows, 100x10", best_us(lambda: cr.logsumexp(Lt, axis=1), args.number),
                 best_us(np_lse, args.number)))
    S = rng.standard_normal((64, 64)) + 8 * np.eye(64)
    sb = rng.standard_normal(64)
    St, sbt = cr.tensor(S, requires_grad=True), cr.tensor(sb, requires_grad=True)
    rows.append(("solve 64x64 (chainrule.numpy.linalg)", best_us(lambda: cnp.linalg.solve(St, sbt), args.number),
                 best_us(lambda: np.linalg.solve(S, sb), args.number)))

    def cr_solve():
        St.grad = sbt.grad = None
        cnp.linalg.solve(St, sbt).backward(np.ones(64))

    def np_solve():  # x = A^-1 b;  bbar = A^-T g;  Abar = -bbar x^T
        x = np.linalg.solve(S, sb)
        bbar = np.linalg.solve(S.T, np.ones((64, 1)))
        return -bbar @ x[None, :], bbar[:, 0]
    rows.append(("solve 64x64 (fwd+bwd)", best_us(cr_solve, n), best_us(np_solve, n)))

    print(f"chainrule {cr.__version__} engine overhead (numpy {np.__version__}, "
          f"threads={os.environ.get('OMP_NUM_THREADS', 'default')})")
    print(f"{'computation':50s} {'chainrule us':>13s} {'numpy us':>10s} {'ratio':>7s} {'overhead us':>12s}")
    for name, c, p in rows:
        print(f"{name:50s} {c:13.1f} {p:10.1f} {c / p:7.2f} {c - p:12.1f}")


if __name__ == "__main__":
    main()

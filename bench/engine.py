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

    print(f"chainrule {cr.__version__} engine overhead (numpy {np.__version__}, "
          f"threads={os.environ.get('OMP_NUM_THREADS', 'default')})")
    print(f"{'computation':42s} {'chainrule us':>13s} {'numpy us':>10s} {'ratio':>7s} {'overhead us':>12s}")
    for name, c, p in rows:
        print(f"{name:42s} {c:13.1f} {p:10.1f} {c / p:7.2f} {c - p:12.1f}")


if __name__ == "__main__":
    main()

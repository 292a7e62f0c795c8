"""Instructions per call of ``bench/engine.py``'s rows, counted by callgrind (load does not move them).

    python bench/engine_instr.py [--calls 200] [--only einsum]

Runs one Python under ``valgrind --tool=callgrind`` (with ASLR off through ``setarch -R`` when
available, and PYTHONHASHSEED=0) that calls each row's chainrule side and its NumPy reference
``--calls`` times in turn; a ``time.sleep(0)`` between the loops makes callgrind dump its counters
(``--dump-before=time_sleep``), so each loop is counted alone.  Prints thousands of instructions per
call for both sides and their difference, the engine's overhead.  Needs valgrind; slow (about a
minute to import NumPy and chainrule under it, then seconds per row).
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def child(calls, only):
    import time
    sys.path.insert(0, HERE)
    import engine
    rows = [r for r in engine.make_rows(calls) if only is None or only in r[0]]
    for name, fc, fn, n in rows:
        print(name, n, flush=True)
        for f in (fc, fn):
            for _ in range(20):   # warm: caches, the allocator's free lists, lru_caches
                f()
            time.sleep(0)         # a dump: the counters since the last dump are one segment
            for _ in range(n):
                f()
            time.sleep(0)         # the counted loop is a segment of its own


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200, help="calls per side and row (fewer for the big rows)")
    ap.add_argument("--only", default=None, help="only the rows whose name contains this text")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.calls, args.only)
    if shutil.which("valgrind") is None:
        ap.error("valgrind is not installed")
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=time_sleep", f"--callgrind-out-file={out}",
               sys.executable, os.path.abspath(__file__), "--child", "--calls", str(args.calls)]
        if args.only:
            cmd += ["--only", args.only]
        if shutil.which("setarch"):
            cmd = ["setarch", os.uname().machine, "-R"] + cmd
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode:
            sys.exit(f"callgrind run failed:\n{proc.stderr[-3000:]}")
        rows = [line.rsplit(" ", 1) for line in proc.stdout.splitlines()]
        counts = {}
        for path in glob.glob(out + ".*"):
            with open(path) as fh:
                total = next(int(line.split()[1]) for line in fh if line.startswith("totals:"))
            counts[int(path.rsplit(".", 1)[1])] = total
    # segments: start-up and the first warm-up, then for each row and side the counted loop and
    # the next warm-up in turn: the loop of row i, side s (0 chainrule, 1 NumPy) is dump 4i + 2s + 2
    print("thousands of instructions per call (callgrind; the loop's own cost is in both sides)")
    print(f"{'computation':50s} {'chainrule':>10s} {'numpy':>10s} {'overhead':>10s}")
    for i, (name, n) in enumerate(rows):
        n = int(n)
        c, p = counts[4 * i + 2] / n, counts[4 * i + 4] / n
        print(f"{name:50s} {c / 1e3:10.1f} {p / 1e3:10.1f} {(c - p) / 1e3:10.1f}")


if __name__ == "__main__":
    main()

"""Smoke test of bench/mlp.py: a quick run on its small random data set, with a baseline checkout.

The baseline is a copy of this checkout's chainrule whose ``optim.Adam.step`` also counts its
calls (written to a file at exit): every chainrule row takes one Adam step per batch, so the count
says that the baseline rows, and only they, ran on the baseline's code.  The bench itself checks
that each call into the baseline saw only the baseline's modules (imports made at call time
included) and fails otherwise.  The PyTorch rows are left out, which keeps the test at about two
seconds; no timing is asserted.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "mlp.py"
ROWS = ["numpy_fused", "chainrule_fit", "chainrule_step", "chainrule_loop", "chainrule_module",
        "chainrule_bn_fit", "chainrule_bn_step"]

_COUNT_STEPS = '''

# added by tests/test_bench.py: count the Adam steps taken on this copy
def _count_steps():
    import atexit
    import os
    calls = [0]
    step = Adam.step

    def counted(self, *args, **kwargs):
        calls[0] += 1
        return step(self, *args, **kwargs)

    def write():
        with open(os.environ["BENCH_TEST_STEP_LOG"], "w") as f:
            f.write(str(calls[0]))
    Adam.step = counted
    atexit.register(write)


_count_steps()
'''


def _baseline_copy(tmp_path):
    base = tmp_path / "baseline"
    shutil.copytree(ROOT / "chainrule", base / "chainrule",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    with open(base / "chainrule" / "optim" / "__init__.py", "a") as f:
        f.write(_COUNT_STEPS)
    return base


def _table(out):
    """{row name: [cells]} from the summary table."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("| ") and not line.startswith("| row ") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


def test_quick_synthetic_run_with_a_baseline(tmp_path):
    base = _baseline_copy(tmp_path)
    log = tmp_path / "steps.log"
    env = dict(os.environ, BENCH_TEST_STEP_LOG=str(log), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(BENCH), "--quick", "--synthetic", "--threads", "1", "--baseline", str(base)]
    for name in ROWS:
        cmd += ["--impl", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout

    # six chainrule rows ran on the baseline: each 10 steps to warm up (1,000 samples), then its
    # one epoch of the 2,000 random samples, 20 steps
    assert int(log.read_text()) == 6 * (10 + 20)
    assert f"baseline chainrule: {base / 'chainrule'}" in out
    assert re.search(r"the baseline's calls saw only its \d+ modules from " + re.escape(str(base / "chainrule")), out)

    table = _table(out)
    expected = ROWS + [f"base:{n}" for n in ROWS if n != "numpy_fused"]
    assert sorted(table) == sorted(expected)
    acc = {name: float(cells[-1]) for name, cells in table.items()}
    assert all(0.15 < a <= 1.0 for a in acc.values()), acc  # 10 classes: chance is 0.1
    for name in ROWS[1:]:  # the same code on the same init, batches and seeds gives the same weights
        assert acc[f"base:{name}"] == acc[name], name
        vs_base = table[name][7]
        assert re.fullmatch(r"\d+\.\d\dx / \d+\.\d\dx", vs_base), vs_base
    for name in ("chainrule_step", "chainrule_loop", "chainrule_module"):  # same init and batches
        assert abs(acc[name] - acc["numpy_fused"]) <= 0.01, (name, acc)
    for cells in table.values():
        wall = re.fullmatch(r"(\d+\.\d+) \((\d+\.\d+)-(\d+\.\d+)\)", cells[3])
        assert wall and float(wall[2]) <= float(wall[1]) <= float(wall[3]), cells[3]
    assert "chainrule_fit / baseline's chainrule_fit" in out
    assert "(not judged on this run)" in out

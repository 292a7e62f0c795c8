"""Smoke test of bench/mlp.py: a quick run on its small random data set, with a baseline checkout.

The baseline is a copy of this checkout's chainrule whose ``training.fit`` also writes a line to a
file: ``model.fit`` reaches it through an import made at call time, so the file's lines count the
fits that really ran on the baseline's code (and none of this checkout's).  The PyTorch rows are
left out, which keeps the test at about two seconds; no timing is asserted.
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

_MARK_FIT = '''

# added by tests/test_bench.py: count the fits that run on this copy
def _counted(fit):
    def fit_and_count(*args, **kwargs):
        with open(_os_for_bench_test.environ["BENCH_TEST_FIT_LOG"], "a") as f:
            f.write("fit\\n")
        return fit(*args, **kwargs)
    return fit_and_count


import os as _os_for_bench_test  # noqa: E402
fit = _counted(fit)
'''


def _baseline_copy(tmp_path):
    base = tmp_path / "baseline"
    shutil.copytree(ROOT / "chainrule", base / "chainrule",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    training = base / "chainrule" / "training.py"
    if not training.exists():
        training = base / "chainrule" / "training" / "__init__.py"
    with open(training, "a") as f:
        f.write(_MARK_FIT)
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
    log = tmp_path / "fits.log"
    env = dict(os.environ, BENCH_TEST_FIT_LOG=str(log), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(BENCH), "--quick", "--synthetic", "--threads", "1", "--baseline", str(base)]
    for name in ROWS:
        cmd += ["--impl", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout

    # two fit rows run on the baseline, each fitting once to warm up and once for its one epoch
    assert log.read_text().splitlines() == ["fit"] * 4
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

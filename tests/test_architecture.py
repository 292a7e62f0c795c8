"""The architecture holds: imports point one way (the import-linter contracts in pyproject.toml)."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_imports_point_one_way():
    exe = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable), "lint-imports")
    if not os.path.exists(exe):
        pytest.skip("import-linter is not installed (make test installs it)")
    run = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_the_engine_imports_no_layer_and_the_trainer_knows_no_layer_class():
    # belt and braces beside the contract: the modules a reader opens first say so in their imports
    import ast
    for rel, banned in [("chainrule/tensor.py", ("chainrule.nn", "chainrule.training", "chainrule.optim")),
                        ("chainrule/function.py", ("chainrule.nn", "chainrule.training", "chainrule.ops")),
                        ("chainrule/training/trainer.py", ("chainrule.nn",)),
                        ("chainrule/optim/base.py", ("chainrule.nn",))]:
        tree = ast.parse(open(os.path.join(ROOT, rel)).read())
        names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module] + \
                [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        for name in names:
            assert not name.startswith(banned), f"{rel} imports {name}"

"""The README's and the documentation's code blocks run, and the documentation builds without a warning.

Every ```python block of a Markdown file runs, in order, in one namespace per file (so a page
reads as one session), in a temporary folder; every ``chainrule ...`` line of a ```bash block runs
through the command line's ``main`` and must exit 0.  Other lines (make, pip) are not run.  A block
whose fence says ``requires=torch`` (say) runs only where that package is installed.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule as cr

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FILES = [ROOT / "README.md"] + sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
BLOCK = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", re.M | re.S)


def code_blocks(path):
    """(language, required modules, code) of each fenced block; ```python requires=torch,keras names
    the optional packages a block needs (it is skipped where one is missing)."""
    out = []
    for lang, info, code in BLOCK.findall(path.read_text(encoding="utf-8")):
        found = re.search(r"requires=(\S+)", info)
        out.append((lang, found.group(1).split(",") if found else [], code))
    return out


def _missing(modules):
    import importlib.util
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _commands(code):
    for line in code.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip()
        if line.startswith("chainrule "):
            yield shlex.split(line)[1:]


@pytest.fixture
def clean_state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    threads = cr.get_num_threads()
    yield
    cr.set_default_dtype("float32")
    cr.set_num_threads(threads)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(path, clean_state, capsys):
    from chainrule import cli

    namespace = {"__name__": "__docs__"}
    ran = 0
    for i, (lang, requires, code) in enumerate(code_blocks(path)):
        if _missing(requires):
            continue
        if lang == "python":
            exec(compile(code, f"{path.name} (code block {i + 1})", "exec"), namespace)
            ran += 1
        elif lang in ("bash", "console", "sh"):
            for argv in _commands(code):
                assert cli.main(argv) == 0, f"{path.name}: `chainrule {' '.join(argv)}` failed"
                ran += 1
    if path.name == "README.md":
        assert ran >= 8


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "dummy", "-d",
           str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "out")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

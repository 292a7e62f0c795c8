"""Sphinx configuration of the chainrule documentation (`make docs`; builds offline)."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import chainrule  # noqa: E402

project = "chainrule"
author = "The chainrule authors"
copyright = "The chainrule authors, MIT license"
release = version = chainrule.__version__

extensions = [
    "myst_parser",            # the pages are Markdown, so their code blocks run in the test suite
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",               # the docstrings' numpydoc sections
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath"]

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"            # the signatures show them; numpydoc's sections describe them
autodoc_mock_imports = []
numpydoc_show_class_members = False   # autodoc lists the members; no autosummary stubs to generate
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_static_path = []
html_title = f"chainrule {release}"
# no intersphinx: the build must not touch the network


# ---------------------------------------------------------------- plain-text math in docstrings
# The docstrings write their equations as plain text, readable in help(): |x| for an absolute
# value, (N, *spatial, C) for shapes.  In reStructuredText those are substitutions and emphasis;
# escape them here, outside ``literals``, tables and directives, so the source stays plain.
import re  # noqa: E402

_PIPE = re.compile(r"(?<!\\)\|")
_STAR = re.compile(r"(?<![\\*\w`])\*(?=[\w(])(?![\w.]*\*)")


def _plain_math(app, what, name, obj, options, lines):
    if what == "module":  # a module's own "Examples" heading: a rubric, not a section label shared by pages
        for i in range(len(lines) - 1):
            if lines[i].strip() and set(lines[i + 1].strip()) <= set("-=~") and len(lines[i + 1].strip()) >= 3 \
                    and len(lines[i + 1].strip()) == len(lines[i].strip()):
                lines[i], lines[i + 1] = f".. rubric:: {lines[i].strip()}", ""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        table_row = stripped.startswith("| ") and stripped.endswith(" |")
        if table_row or stripped.startswith(("+-", "+=", ".. ", ">>>", "...")):
            continue
        parts = line.split("``")
        for k in range(0, len(parts), 2):  # outside inline literals
            parts[k] = _STAR.sub(r"\\*", _PIPE.sub(r"\\|", parts[k]))
        lines[i] = "``".join(parts)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_math, priority=400)

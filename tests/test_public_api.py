"""Every public function, method and property of chainrule has a docstring and complete type hints that resolve.

The walk: each public module (no ``_`` in its dotted name), its ``__all__`` (or its public names), the
functions and classes among them that chainrule defines, and for each class the public methods and
properties it defines itself or takes from a private base (``_Conv`` gives Conv2D its ``build``).  An
object is checked once, under the module that defines it (a private module's objects under its nearest
public package: ``chainrule.numpy._dispatch`` under ``chainrule.numpy``).

"Complete" means every parameter other than self/cls is annotated (``*args``/``**kwargs`` too) and so is
the return, except for ``__init__``; "resolves" means ``typing.get_type_hints`` evaluates every hint
(they are strings: the modules use ``from __future__ import annotations``) against the defining module's
names, the names of :mod:`chainrule._typing` and chainrule's public classes, since a hint may name a
class imported only under ``if TYPE_CHECKING:``.
"""
from __future__ import annotations

import importlib
import inspect
import os
import typing
from functools import lru_cache

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Modules still to be hinted this session by other helpers; the lead empties this set after merging.
# An entry covers a module and, for a package, everything under it.
PENDING: set[str] = set()   # modules still to be hinted (empty: every public module is)


def _public_modules():
    """The public modules' dotted names, found on disk (collection imports nothing)."""
    names = []
    pkg = os.path.join(ROOT, "chainrule")
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(("_", ".")) and
                             os.path.exists(os.path.join(dirpath, d, "__init__.py")))
        rel = os.path.relpath(dirpath, ROOT).replace(os.sep, ".")
        for f in sorted(filenames):
            if not f.endswith(".py") or (f.startswith("_") and f != "__init__.py"):
                continue
            names.append(rel if f == "__init__.py" else f"{rel}.{f[:-3]}")
    return sorted(names)


MODULES = _public_modules()


def _pending(name):
    return any(name == p or name.startswith(p + ".") for p in PENDING)


def _owner(module_name):
    """The public module an object is checked under: its defining module, or that module's nearest
    public package when the defining module is private."""
    parts = module_name.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_"):
            return ".".join(parts[:i])
    return module_name


def _exports(mod):
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in vars(mod) if not n.startswith("_")]
    for n in names:
        obj = getattr(mod, n, None)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and \
                (getattr(obj, "__module__", None) or "").startswith("chainrule"):
            yield obj


def _members(cls):
    """(name, function, kind) for the public methods and properties a class defines itself or takes
    from a private chainrule base class."""
    owners = [cls] + [b for b in cls.__mro__[1:] if b.__name__.startswith("_") and
                      (b.__module__ or "").startswith("chainrule")]
    seen = set()
    for klass in owners:
        for name, attr in vars(klass).items():
            if (name.startswith("_") and name != "__init__") or name in seen:
                continue
            seen.add(name)
            kind = "method"
            if isinstance(attr, property):
                attr, kind = attr.fget, "property"
            elif isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            elif hasattr(attr, "func") and type(attr).__name__ == "cached_property":
                attr, kind = attr.func, "property"
            if inspect.isfunction(attr):
                yield name, attr, kind


@lru_cache(maxsize=None)
def _inventory():
    """owner module -> [(qualified name, function, kind, class or None)], and the names hints may use."""
    items, seen, classes = {}, set(), {}
    for name in MODULES:
        mod = importlib.import_module(name)
        for obj in _exports(mod):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            owner = _owner(obj.__module__)
            if inspect.isclass(obj):
                classes.setdefault(obj.__name__, obj)
                items.setdefault(owner, []).append((obj.__name__, obj, "class", None))
                for mname, f, kind in _members(obj):
                    if id(f) in seen:
                        continue
                    seen.add(id(f))
                    items.setdefault(owner, []).append((f"{obj.__name__}.{mname}", f, kind, obj))
            else:
                items.setdefault(owner, []).append((obj.__name__, obj, "function", None))
    typing_names = dict(vars(importlib.import_module("chainrule._typing")))
    return items, {**classes, **typing_names, **_third_party_names()}


def _third_party_names():
    """Classes of optional dependencies that hints name under TYPE_CHECKING only (so that importing
    chainrule does not import them): Dask's Client and clusters, matplotlib's Figure and Axes."""
    names = {}
    for module, attrs in (("distributed", ("Client", "SpecCluster")), ("matplotlib.figure", ("Figure",)),
                          ("matplotlib.axes", ("Axes",))):
        try:
            mod = importlib.import_module(module)
        except ImportError:   # not installed: hints naming it are checked where it is (make test installs both)
            continue
        names.update({a: getattr(mod, a) for a in attrs})
    return names


def _problems(qualname, f, kind, extra, cls=None):
    name = qualname.rsplit(".", 1)[-1]
    # a method's docstring may come from the base class it overrides (inspect.getdoc looks there,
    # for a classmethod only when it is asked about the bound method)
    doc = inspect.getdoc(getattr(cls, name, f) if cls is not None and kind == "method" else f)
    if not doc and name != "__init__":
        return [f"{qualname}: no docstring"]
    if kind == "class":
        return []
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return []
    out = []
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if missing:
        out.append(f"{qualname}: no hint for {', '.join(missing)}")
    if sig.return_annotation is inspect.Signature.empty and f.__name__ != "__init__":
        out.append(f"{qualname}: no return hint")
    target = inspect.unwrap(f)
    ns = {**extra, **vars(importlib.import_module(target.__module__))}
    try:
        typing.get_type_hints(target, globalns=ns)
    except Exception as err:  # NameError for a name nothing defines, SyntaxError/TypeError for a bad hint
        out.append(f"{qualname}: hints do not resolve ({type(err).__name__}: {err})")
    return out


@pytest.mark.parametrize("module", MODULES)
def test_public_api_is_documented_and_hinted(module):
    if _pending(module):
        pytest.skip(f"{module}: still to be hinted this session (PENDING)")
    items, extra = _inventory()
    problems = [p for q, f, kind, cls in items.get(module, []) for p in _problems(q, f, kind, extra, cls)]
    assert not problems, f"{module}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)


def test_pending_names_real_modules():
    # a stale entry would silently exempt nothing (or a future module): every entry is a module here
    stale = sorted(p for p in PENDING if p not in MODULES)
    assert not stale, f"PENDING names no module: {stale}"


def test_the_walk_finds_the_api():
    # the walk itself can fail: it sees the engine's entry points and the methods of a layer's private base
    items, extra = _inventory()
    names = {q for entries in items.values() for q, *_ in entries}
    assert {"Tensor.backward", "grad", "Function.apply", "Conv2D", "Optimizer.step"} <= names
    assert "_Conv.build" not in names and any(q.endswith(".build") for q in
                                             (q for q, *_ in items.get("chainrule.nn.conv", [])))
    assert "Tensor" in extra and "TensorLike" in extra


def test_the_check_catches_a_missing_hint():
    def documented(x: int, y) -> int:
        """A docstring."""
    def unresolved(x: NoSuchName) -> int:  # noqa: F821
        """A docstring."""
    def undocumented(x: int) -> int:
        pass
    assert _problems("documented", documented, "function", {}) == ["documented: no hint for y"]
    assert "do not resolve" in _problems("unresolved", unresolved, "function", {})[0]
    assert _problems("undocumented", undocumented, "function", {}) == ["undocumented: no docstring"]

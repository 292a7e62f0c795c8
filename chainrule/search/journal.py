"""The search journal: one JSON line per finished trial, appended by the driver alone.

Layout (UTF-8, one JSON object per line, standard JSON: no NaN)::

    {"kind": "header", "format": 1, "search": "grid", "space": {...}, "data": {...},
     "validation": {...}, "settings": {...}, "created": "...", "chainrule": "0.1.0"}
    {"kind": "trial", "key": "3f9c...", "candidate": 0, "fold": 0, "params": {...}, "status": "ok",
     "test_score": 0.97, "train_score": 0.99, "fit_time": 0.41, "seed": 123, "history": {...}, ...}
    ...

Each trial line is written with a single ``write``, flushed and fsynced before the search goes
on, so a killed driver loses at most the line it was writing; on resume a torn last line is cut
off.  A trial's key is a hash of its parameters, the data's fingerprint (with the validation
folds) and its fold, so a journal can only ever answer for the trial it was written for.  The
header says what the search was; :meth:`Journal.open` refuses a journal written for another
space, other data, another validation or other settings, saying which.  The file is locked
(``flock``) while a search writes it, so two searches cannot interleave lines.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainrule._typing import PathLike

__all__ = ["Journal", "JournalError"]

FORMAT = 1


class JournalError(ValueError):
    """A journal that cannot be used for this search (another grid, other data, in use, damaged)."""


def _short(v, limit=160):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _first_difference(old, new, path=""):
    """A readable description of the first place where two JSON objects differ, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            where = f"{path}{k}" if not path else f"{path}.{k}"
            if k not in new:
                return f"{where} is {_short(old[k])} there and absent here"
            if k not in old:
                return f"{where} is absent there and {_short(new[k])} here"
            d = _first_difference(old[k], new[k], where)
            if d:
                return d
        return None
    if old != new:
        return f"{path or 'it'} is {_short(old)} there, {_short(new)} here"
    return None


_WHAT = {"search": "another kind of search", "space": "another search space (grid or distributions)",
         "data": "other data", "validation": "another validation", "settings": "other settings"}
_FIX = {"space": "resume with the same parameter values", "data": "resume with the same X and y",
        "validation": "resume with the same validation (validation=, validation_split= or cv=)",
        "settings": "resume with the same seed, scoring, fit_kwargs and threads",
        "search": "resume with the same search function"}


class Journal:
    """An append-only JSON-lines file of finished trials (``path=None``: kept in memory only).

    Use :meth:`open`; ``records`` maps each trial key to its latest line.
    """

    def __init__(self, path: PathLike | None, header: dict[str, Any]) -> None:
        self.path = None if path is None else os.fspath(path)
        self.header = header
        self.records = {}
        self._file = None
        self.n_lines = 0

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: PathLike | None, header: dict[str, Any], resume: bool) -> Journal:
        """Open ``path`` for this search; with ``resume`` read the trials already there."""
        j = cls(path, header)
        if j.path is None:
            return j
        exists = os.path.exists(j.path) and os.path.getsize(j.path) > 0
        if exists and not resume:
            n = sum(1 for line in open(j.path, "rb") if b'"kind":"trial"' in line)
            raise JournalError(f"the journal {j.path} already holds a search ({n} finished trials); pass "
                               f"resume=True to continue it (finished trials are skipped), or give another "
                               f"journal path, or delete the file to start over")
        folder = os.path.dirname(os.path.abspath(j.path))
        if not os.path.isdir(folder):
            raise JournalError(f"cannot write the journal {j.path}: the folder {folder} does not exist")
        j._file = open(j.path, "a+b")
        try:
            j._lock()
            if exists:
                j._read()
            else:
                j._write(header)
        except BaseException:
            j.close()
            raise
        return j

    def _lock(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalError(f"another search is writing the journal {self.path} right now; wait for it, or "
                               f"give this search another journal path") from None

    def _read(self):
        f = self._file
        f.seek(0)
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a line torn by a kill while it was written: cut it off
            f.truncate(end)
            data = data[:end]
        lines = data.splitlines()
        if not lines:
            self._write(self.header)
            return
        try:
            head = json.loads(lines[0])
        except ValueError:
            head = None
        if not isinstance(head, dict) or head.get("kind") != "header":
            raise JournalError(f"{self.path} is not a chainrule search journal (its first line is not a header); "
                               f"give another journal path")
        self.check(head)
        for i, line in enumerate(lines[1:], 2):
            try:
                rec = json.loads(line)
            except ValueError:
                raise JournalError(f"{self.path}: line {i} is not valid JSON; the file was edited or damaged "
                                   f"(remove that line to resume)") from None
            if isinstance(rec, dict) and rec.get("kind") == "trial" and isinstance(rec.get("key"), str):
                self.records[rec["key"]] = rec
        self.n_lines = len(lines)

    def check(self, old: dict[str, Any]) -> None:
        """Raise JournalError when the header ``old`` describes another search than this one."""
        if old.get("format") != FORMAT:
            raise JournalError(f"{self.path} has journal format {old.get('format')!r}; this chainrule writes "
                               f"format {FORMAT}")
        for part in ("search", "space", "data", "validation", "settings"):
            d = _first_difference(old.get(part), self.header.get(part), part)
            if d:
                raise JournalError(f"the journal {self.path} was written for {_WHAT[part]}: {d}; {_FIX[part]}, or "
                                   f"give another journal path to start a new search")

    # ------------------------------------------------------------------ writing
    def _write(self, obj):
        line = (json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n").encode()
        self._file.seek(0, os.SEEK_END)
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.n_lines += 1

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Record a finished trial (written and fsynced before this returns)."""
        rec = {"kind": "trial", **record, "finished": _dt.datetime.now().isoformat(timespec="seconds")}
        if self._file is not None:
            self._write(rec)
        self.records[rec["key"]] = rec
        return rec

    def close(self) -> None:
        """Close the journal file, releasing its lock."""
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

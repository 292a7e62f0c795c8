"""Atomic file writes that leave nothing behind: a temporary file beside the target, then a rename.

A write goes to ``.<name>.<pid>.<random>.tmp`` in the target's folder, is flushed and fsynced,
and is renamed onto the target (atomic on POSIX and Windows), so a reader sees the old file or
the new one, never half of one, and concurrent writers each leave a whole file.  On an error
the temporary file is removed; a process killed mid-write (SIGKILL, power loss) cannot remove
it, so every write first removes the temporary files of *earlier* writes to the same target
whose process is gone (the process id in the name says whose it is).  A write still in
progress in a live process is never touched.

Used by :mod:`chainrule.io` (model files, logs) and :mod:`chainrule.datasets` (IDX files,
downloads); it imports nothing of chainrule.
"""
from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import IO, Any, Union

__all__ = ["write_atomic", "remove_stale_temporaries"]

_UMASK = None
#: legacy temporaries (no process id in the name) older than this are left over from a crash
_LEGACY_AGE_S = 3600.0


def _new_file_mode(path):
    """Permissions for the file at ``path``: keep an existing file's, else what open() would give."""
    global _UMASK
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def _alive(pid):
    """Whether a process with this id exists (POSIX); unknown elsewhere, taken as alive."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def remove_stale_temporaries(path: Union[str, os.PathLike], suffixes: Iterable[str] = (".tmp", ".part")) -> list[str]:
    """Remove the temporary files that interrupted writes to ``path`` left in its folder.

    A temporary file ``.<name>.<pid>.<random><suffix>`` is removed when process ``pid`` is gone
    (and is not this process); one without a process id (written by an older chainrule) when it is
    more than an hour old.  Returns the names removed.  Errors are ignored: this is tidying.
    """
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    suffix = "|".join(re.escape(s) for s in suffixes)
    pattern = re.compile(rf"^\.{re.escape(base)}\.(?:(\d+)\.)?[A-Za-z0-9_]+(?:{suffix})$")
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    me = os.getpid()
    for name in names:
        m = pattern.match(name)
        if m is None:
            continue
        full = os.path.join(directory, name)
        if m.group(1) is not None:
            pid = int(m.group(1))
            if pid == me or _alive(pid):
                continue
        else:
            try:
                if now - os.stat(full).st_mtime < _LEGACY_AGE_S:
                    continue
            except OSError:
                continue
        try:
            os.unlink(full)
            removed.append(name)
        except OSError:
            pass
    return removed


def write_atomic(path: Union[str, os.PathLike], write: Callable[[IO[Any]], Any], binary: bool = True,
                 suffix: str = ".tmp") -> str:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, then rename it onto ``path``.

    On any error the temporary file is removed and an existing ``path`` is left untouched.
    Temporary files of earlier, interrupted writes to ``path`` are removed first.  Returns ``path``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {directory!r} does not exist; create it first")
    remove_stale_temporaries(path)
    mode = _new_file_mode(path)
    kwargs = {"mode": "wb"} if binary else {"mode": "w", "encoding": "utf-8", "newline": ""}
    tmp = tempfile.NamedTemporaryFile(dir=directory, prefix=f".{os.path.basename(path)}.{os.getpid()}.",
                                      suffix=suffix, delete=False, **kwargs)
    try:
        with tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, mode)
        os.replace(tmp.name, path)
    except BaseException:
        try:
            os.unlink(tmp.name)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX); harmless where directories cannot be opened
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
    return path

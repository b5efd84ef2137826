"""Files the grader writes and reads: one atomic write, the hash of a submitted folder.

:func:`write_atomic` is the one way the grader (and the feedback, and the example
class) writes a file that someone may read while it is written: a temporary
file in the same folder, flushed and fsync'ed, then renamed over the target, so
a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

IGNORED = ("__pycache__", ".ipynb_checkpoints")


def write_atomic(path, data, mode=None):
    """Write ``data`` (str, UTF-8, or bytes) to ``path`` through a temporary file and a rename.

    The folder is created when missing. ``mode`` (e.g. ``0o644``) sets the file's permissions;
    by default a new file gets the usual ``0o666 & ~umask`` and a replaced one keeps its mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _skipped(rel: Path) -> bool:
    return any(part in IGNORED or part.startswith(".") for part in rel.parts) or rel.suffix == ".pyc"


def tree_hash(path) -> str:
    """sha256 of a folder's regular files (relative paths and contents), caches and dot-files ignored.

    A symbolic link counts by its target path (not what it points to), so that a submission that
    links somewhere changes hash only when the link changes."""
    h = hashlib.sha256()
    path = Path(path)
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if _skipped(rel):
            continue
        if p.is_symlink():
            h.update(b"L" + rel.as_posix().encode() + b"\0" + os.readlink(p).encode() + b"\0")
        elif p.is_file():
            h.update(rel.as_posix().encode() + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()

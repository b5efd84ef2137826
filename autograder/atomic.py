"""One atomic write for every file the autograder writes that someone may read meanwhile.

A temporary file in the same folder, flushed and fsync'ed, then renamed over the
target: a reader (or a crash) never sees half a file. Standard library only (the
Gradescope image ships it).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


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

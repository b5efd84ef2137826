"""Files the grader reads: the hash of a submitted folder (what a rerun compares).

Every file the grader writes goes through :func:`autograder.atomic.write_atomic`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

IGNORED = ("__pycache__", ".ipynb_checkpoints")


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

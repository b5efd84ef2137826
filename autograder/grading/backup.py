"""A copy of the gradebook before each run writes it: ``<course>/.autograder/backups/``.

Hand grades live only in the gradebook. Before a run writes anything,
:func:`backup` copies the SQLite gradebook with SQLite's online backup
(:meth:`sqlite3.Connection.backup`: a consistent copy, even while the
formgrader writes) into ``gradebook-<UTC time>.db`` in the grader's state
folder (which no sandbox mounts), through a temporary file and a rename. It
keeps the last :data:`KEEP` different gradebooks: a run that finds the
gradebook as the newest backup has it makes no new one. A gradebook at a
``--db`` URL that is not SQLite is not copied (the run says so: back it up
with that database's own tools).

Restore one (with no ``grade`` run on the course)::

    python -m autograder.grading.backup --course DIR            # list the backups
    python -m autograder.grading.backup --course DIR --restore gradebook-20260115-120000-000000.db

:func:`restore` writes the backup into the gradebook through SQLite too (so a
journal left by a crash cannot be replayed over it), after backing up the
gradebook it replaces, and removes the journal records written after the
backup was made: the next ``grade`` run grades those submissions again (hand
grades in the restored gradebook are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from . import journal
from .settings import GradeError, Settings, default_db_url

KEEP = 5  # different gradebooks kept
BUSY_SECONDS = 60  # waiting for another writer of the gradebook (as the grader's own connections do)


def sqlite_file(db_url) -> Path | None:
    """The file of an SQLite gradebook URL; None for another database or an in-memory one."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def folder(settings) -> Path:
    return settings.state / "backups"


def backups(settings) -> list[Path]:
    """The backups, oldest first."""
    return sorted(folder(settings).glob("gradebook-*.db"))


def _copy(src: Path, dst: Path) -> None:
    """SQLite online backup of ``src`` into a new file ``dst`` (written through a temporary file)."""
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(f"{src.resolve().as_uri()}?mode=rw", uri=True,
                                                timeout=BUSY_SECONDS)) as a, \
                contextlib.closing(sqlite3.connect(tmp)) as b:
            a.backup(b)
        os.chmod(tmp, 0o600)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def backup(settings, keep=KEEP) -> str:
    """Copy the gradebook into the backups folder (see the module); returns what to tell the user.
    Raises :class:`GradeError` when the copy fails (the run must not write then)."""
    path = sqlite_file(settings.db_url)
    if path is None:
        shown = make_url(settings.db_url).render_as_string(hide_password=True)
        return (f"gradebook {shown} is not an SQLite file: no backup made by `grade` "
                f"(back it up with that database's own tools)")
    if not path.is_file():
        return f"no gradebook yet at {path}: nothing to back up"
    where = folder(settings)
    now = time.time_ns()
    new = where / f"gradebook-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now // 10**9))}-{now // 1000 % 10**6:06d}.db"
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        _copy(path, new)
    except (OSError, sqlite3.Error) as e:
        raise GradeError(f"could not back up the gradebook {path} into {where} ({e}); nothing was graded: "
                         f"fix this (disk space, permissions, a broken gradebook) and run again") from None
    older = [p for p in backups(settings) if p != new]
    if older and older[-1].read_bytes() == new.read_bytes():
        new.unlink()
        return f"gradebook unchanged since its backup {older[-1]}"
    for old in backups(settings)[:-keep]:
        old.unlink()
    return f"gradebook backed up to {new}"


def restore(settings, name) -> str:
    """Write the backup ``name`` into the course's gradebook (after backing the current one up)."""
    src = folder(settings) / Path(name).name
    path = sqlite_file(settings.db_url)
    if not src.is_file():
        raise GradeError(f"no backup {src}; the backups are: {', '.join(p.name for p in backups(settings)) or 'none'}")
    if path is None:
        raise GradeError(f"the gradebook {settings.db_url} is not an SQLite file: restore it with its database's tools")
    said = backup(settings)
    with contextlib.closing(sqlite3.connect(src, timeout=BUSY_SECONDS)) as a, \
            contextlib.closing(sqlite3.connect(path, timeout=BUSY_SECONDS)) as b:
        a.backup(b)
    again = journal.forget_since(settings, src.stat().st_mtime)
    return (f"{said}; {path} restored from {src}; {again} submission(s) graded since will be graded again "
            f"by the next `grade` run")


def main(argv=None) -> int:
    from .lock import course_lock

    p = argparse.ArgumentParser(prog="python -m autograder.grading.backup",
                                description="List the gradebook backups of a course, or restore one.")
    p.add_argument("--course", default="class", help="course directory (default ./class)")
    p.add_argument("--db", help="gradebook URL, if not <course>/gradebook.db")
    p.add_argument("--restore", metavar="NAME", help="the backup to write into the gradebook")
    args = p.parse_args(argv)
    course = Path(args.course).resolve()
    settings = Settings(course=str(course), db_url=args.db or default_db_url(course))
    try:
        if args.restore:
            with course_lock(settings):
                print(restore(settings, args.restore))
        else:
            print("\n".join(map(str, backups(settings))) or f"no backups in {folder(settings)}")
    except GradeError as e:
        print(f"backup: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One ``grade`` run per course at a time: ``<course>/.autograder/grade.lock``.

Two runs on the same course would grade the same submissions twice, race on
the journal and rewrite ``grades.csv`` under each other. :func:`course_lock`
takes an exclusive lock (the ``filelock`` package: ``flock`` on POSIX, released
by the kernel when the holder dies, so a killed run leaves nothing stale) and
writes who holds it (pid, host, start time, command) next to it, so that a
second run refuses at once with a message naming the lock file and the other run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time

from filelock import FileLock, Timeout

from ..atomic import write_atomic
from .settings import GradeError


def lock_path(settings):
    return settings.state / "grade.lock"


def holder_path(settings):
    return settings.state / "grade.lock.holder.json"


def _holder(settings) -> str:
    try:
        h = json.loads(holder_path(settings).read_text())
        return f"pid {h['pid']} on {h['host']}, started {h['started']}: {h['command']}"
    except (OSError, ValueError, KeyError):
        return "a run whose details are unknown"


@contextlib.contextmanager
def course_lock(settings):
    """Hold the course's grading lock for the block; raise GradeError at once if another run holds it."""
    settings.state.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(settings)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise GradeError(f"another `grade` run is grading {settings.root} (it holds {lock_path(settings)}; "
                         f"{_holder(settings)}): wait for it to finish or stop it, then run again") from None
    try:
        write_atomic(holder_path(settings), json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": "python -m autograder grade " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["grade"] else sys.argv[1:])}))
        yield
    finally:
        holder_path(settings).unlink(missing_ok=True)
        lock.release()

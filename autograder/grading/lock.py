"""One ``grade`` run per course at a time, and nothing of an earlier run still running.

Two runs on the same course would grade the same submissions twice, race on
the journal and rewrite ``grades.csv`` under each other. :func:`course_lock`
takes an exclusive lock, ``<course>/.autograder/grade.lock`` (the ``filelock``
package: ``flock`` on POSIX, released by the kernel when the holder dies, so a
killed run leaves nothing stale), and writes who holds it next to it, in
``grade.lock.holder.json``: pid, host, start time, command, and the processes
of the run (the main process, then the pool's workers, :func:`record_workers`),
each as its pid and its start time read from ``/proc/<pid>/stat`` (a pid the
system has since given to another process does not match), with the machine's
boot id. A second run refuses at once with a message naming the lock file and
the other run.

The lock guards only the process that holds it: the workers of a run do not
hold it (``filelock`` closes it in forked children). So the holder file stays
after a run that was killed, and the next run checks it: while a recorded
process of the earlier run is still alive (for a few seconds after a
``kill -9`` while its workers die with it, see :mod:`.pool`), the run refuses,
naming those processes and how to stop them. It never kills them itself. Once
none is left, it removes the killed run's scratch folder (``nntricks-run-*``
in the temporary folder, recorded in the holder file too).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from filelock import FileLock, Timeout

from ..atomic import write_atomic
from .settings import GradeError

GRACE = 5.0  # seconds the processes of a killed run get to die with it before a rerun refuses


def lock_path(settings):
    return settings.state / "grade.lock"


def holder_path(settings):
    return settings.state / "grade.lock.holder.json"


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot, field 22 of ``/proc/<pid>/stat``); None when
    there is no such process or it has ended (a zombie is dead: only its exit status is left)."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": field 3, the state, on
    return None if fields[0] in ("Z", "X", "x") else int(fields[19])


def process(pid: int) -> dict:
    return {"pid": pid, "start": start_time(pid)}


def alive(record: dict, p: dict) -> bool:
    """Is process ``p`` (``{"pid", "start"}``) of the run ``record`` still running, the same process?"""
    return (record.get("host") == socket.gethostname() and record.get("boot") == boot_id()
            and p.get("start") is not None and start_time(p.get("pid", 0)) == p["start"])


def _read(settings) -> dict | None:
    try:
        record = json.loads(holder_path(settings).read_text())
        return record if isinstance(record, dict) else None
    except (OSError, ValueError):
        return None


def _processes(record) -> list[dict]:
    workers = record.get("workers")
    procs = [{"pid": record.get("pid"), "start": record.get("start")}, *(workers if isinstance(workers, list) else [])]
    return [p for p in procs if isinstance(p, dict) and isinstance(p.get("pid"), int)]


def survivors(record) -> list[dict]:
    """The processes of the run ``record`` (holder file contents) that are still running, this one aside."""
    return [p for p in _processes(record) if p["pid"] != os.getpid() and alive(record, p)] if record else []


def _describe(record) -> str:
    return (f"pid {record.get('pid')} on {record.get('host')}, started {record.get('started')}: "
            f"{record.get('command')}")


def _cmdline(pid) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


def _refuse_survivors(settings, record, left) -> GradeError:
    pids = " ".join(str(p["pid"]) for p in left)
    listing = "; ".join(f"pid {p['pid']} ({_cmdline(p['pid'])})" for p in left)
    return GradeError(f"an earlier `grade` run on {settings.root} ({_describe(record)}) does not hold the lock "
                      f"any more, but {len(left)} of its processes still run and may still write grades: {listing}. "
                      f"Wait for them to end, or stop them with `kill -9 {pids}`, then run again")


def _wait_for(record, seconds) -> list[dict]:
    deadline = time.monotonic() + seconds
    left = survivors(record)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = survivors(record)
    return left


def record_workers(settings, pids, scratch) -> None:
    """Add the pool's worker processes and its ``scratch`` folder to the holder file of the lock this
    process holds (no lock held by this process: nothing to record)."""
    record = _read(settings)
    if not record or record.get("pid") != os.getpid() or record.get("start") != start_time(os.getpid()):
        return
    record["workers"] = record.get("workers", []) + [process(pid) for pid in pids]
    record["scratch"] = str(scratch)
    write_atomic(holder_path(settings), json.dumps(record))


def _remove_scratch(record) -> None:
    """The scratch folder a killed run left (only a ``nntricks-run-*`` folder of the temporary folder)."""
    path = Path(str((record or {}).get("scratch", "")))
    if path.parent == Path(tempfile.gettempdir()) and path.name.startswith("nntricks-run-") and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def course_lock(settings):
    """Hold the course's grading lock for the block; raise GradeError at once if another run holds it,
    or (after :data:`GRACE` seconds) if a process of an earlier run is still alive."""
    settings.state.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(settings)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        record = _read(settings)
        raise GradeError(f"another `grade` run is grading {settings.root} (it holds {lock_path(settings)}; "
                         f"{_describe(record) if record else 'a run whose details are unknown'}): wait for it "
                         f"to finish or stop it, then run again") from None
    mine = None
    try:
        earlier = _read(settings)
        left = _wait_for(earlier, GRACE)
        if left:
            raise _refuse_survivors(settings, earlier, left)
        _remove_scratch(earlier)
        mine = {**process(os.getpid()), "boot": boot_id(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "command": "python -m autograder grade " + " ".join(
                    sys.argv[2:] if sys.argv[1:2] == ["grade"] else sys.argv[1:])}
        write_atomic(holder_path(settings), json.dumps(mine))
        yield
    finally:
        if mine is not None and not survivors(_read(settings) or mine):
            holder_path(settings).unlink(missing_ok=True)  # kept while a worker lives: the next run checks it
        lock.release()

"""``kill -9`` of ``python -m autograder grade`` at any moment: nothing of the killed run keeps running,
and the rerun gives the same grades.csv and the same gradebook scores as an undisturbed run.

A small part of the example class (01_divergences; a student with written answers to grade by hand, one
with a mistake, one whose kernel dies) is graded twice from the same submissions: once
undisturbed, once killed (SIGKILL to the main process only, as a crash or the OOM killer would) at one
moment after another (while generate_assignment fills the gradebook, during the hidden checks, during a
notebook kernel, right after a journal write), each time rerun, and at last run to the end. After each
kill, every process seen in the killed run's tree (its workers, the checks' sandboxes, bubblewrap, the
kernels) must be dead: gone, or a zombie (state Z in ``/proc/<pid>/stat``: where PID 1 does not reap,
a killed process stays a zombie). Then hand grading is entered in both gradebooks and both are graded
again with ``--force``, the second one killed once more: the hand grades survive in both.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from autograder import ROOT, example_class
from autograder.grading import backup
from autograder.grading.lock import start_time
from autograder.grading.settings import Settings, default_db_url

A = "01_divergences"
STUDENTS = ["ada", "cleo", "finn"]
DEADLINE = 600  # seconds for one run to reach the moment it is killed at (a loaded machine is slow)


def _tree(root: int) -> set[tuple[int, int]]:
    """``(pid, start time)`` of ``root`` and every process below it, now."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append((int(name), int(fields[19])))
    found, todo = set(), [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            found.add((pid, start))
            todo.append(pid)
    return found


def _cmdline(pid) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _command(course, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
    return [sys.executable, "-m", "autograder", "grade", "--course", str(course), "--jobs", "2", *args], env


def _journaled(course) -> int:
    return len(list((course / ".autograder" / "results").glob("*/*.json")))


# the moments to kill at: (name, is it now? given the course, the run's processes and the journal count at start)
PREPARE = ("generate_assignment", lambda course, procs, n: (course / "gradebook.db").exists())
CHECKS = ("the hidden checks", lambda course, procs, n: any(b"worker/run.py" in _cmdline(p) for p, _ in procs))
KERNEL = ("a kernel", lambda course, procs, n: any(k in _cmdline(p) for p, _ in procs
                                                   for k in (b"ipykernel_launcher", b"nntricks-kernel/boot.py")))
JOURNAL = ("a journal write", lambda course, procs, n: _journaled(course) > n)


def grade_and_kill(course, moment, *args):
    """Run ``grade``, SIGKILL its main process at ``moment``; returns every process seen in its tree."""
    name, now = moment
    cmd, env = _command(course, *args)
    log_path = course.parent / f"{course.name}.log"
    with open(log_path, "a") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seen = {(proc.pid, start_time(proc.pid))}
    n, deadline = _journaled(course), time.monotonic() + DEADLINE
    try:
        while True:
            assert proc.poll() is None, f"the run ended before {name}: {log_path.read_text()}"
            procs = _tree(proc.pid)
            seen |= procs
            if now(course, procs, n):
                break
            assert time.monotonic() < deadline, f"no {name} in {DEADLINE} s"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return seen


def survivors(seen, seconds=30):
    """Those of ``seen`` still running after ``seconds`` (they die at once: this only allows for the load)."""
    deadline = time.monotonic() + seconds
    while True:
        left = sorted((pid, _cmdline(pid)[:120]) for pid, start in seen if start_time(pid) == start)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def grade(course, *args):
    cmd, env = _command(course, *args)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=DEADLINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def scores(course):
    """Every grade of the gradebook: ``{student: (total, [(cell, auto_score, manual_score)])}``."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(default_db_url(course)) as gb:
        for s in STUDENTS:
            try:
                sub = gb.find_submission(A, s)
            except MissingEntry:
                out[s] = None
                continue
            out[s] = (sub.score, sorted((g.name, g.auto_score, g.manual_score) for nb in sub.notebooks
                                        for g in nb.grades))
    return out


def hand_grade(course, score):
    from nbgrader.api import Gradebook

    with Gradebook(default_db_url(course)) as gb:
        for g in gb.find_submission_notebook(A, A, "cleo").grades:
            if g.cell.cell_type == "markdown":
                g.manual_score = score
        gb.db.commit()


def rows(course):
    with open(course / "grades.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_after_kill_9_at_any_moment_a_rerun_gives_the_same_grades(tmp_path):
    calm, killed = tmp_path / "calm", tmp_path / "killed"
    example_class.build(calm, [A], STUDENTS)
    shutil.copytree(calm, killed)
    grade(calm)
    scratch = []
    for moment in (PREPARE, CHECKS, KERNEL, JOURNAL):
        seen = grade_and_kill(killed, moment)
        assert len(seen) > 1 or moment is PREPARE, f"no process seen below the grader at {moment[0]}"
        assert survivors(seen) == [], f"processes of the run killed during {moment[0]} still run"
        scratch.append(json.loads((killed / ".autograder" / "grade.lock.holder.json").read_text()).get("scratch"))
    assert _journaled(killed) < len(STUDENTS)  # the kills left work for the last run
    assert "already graded" in grade(killed)
    assert all(scratch[1:]) and not any(os.path.exists(p) for p in scratch if p)  # the killed runs' scratch: gone
    assert (killed / "grades.csv").read_text() == (calm / "grades.csv").read_text()
    assert scores(killed) == scores(calm)
    assert rows(calm)["finn"]["status"] == "FAILED" and rows(calm)["cleo"]["status"] == "pending"
    settings = Settings(course=str(killed), db_url=default_db_url(killed))
    assert 1 <= len(backup.backups(settings)) <= backup.KEEP and not list(backup.folder(settings).glob(".*"))

    # hand grades survive a kill during a forced regrade
    again = ("--force", "--student", "cleo")
    for course in (calm, killed):
        hand_grade(course, 1.0)
    grade(calm, *again)
    assert survivors(grade_and_kill(killed, KERNEL, *again)) == []
    grade(killed, *again)
    assert (killed / "grades.csv").read_text() == (calm / "grades.csv").read_text()
    assert scores(killed) == scores(calm)
    written = [manual for name, auto, manual in scores(killed)["cleo"][1] if auto is None]
    assert written and all(manual == 1.0 for manual in written), scores(killed)["cleo"]

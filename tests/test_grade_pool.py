"""autograder.grading.pool: a worker task turns the grader's failures into outcomes, never a student's grade."""

import os

from autograder.grading import pool, steps
from autograder.grading.autograde import GraderFailure
from autograder.grading.records import Submission
from autograder.grading.settings import Settings


def test_task_outcomes(tmp_path, monkeypatch):
    settings = Settings(course=str(tmp_path), db_url="")
    scratches = []

    def ok(settings, assignments, student, assignment, scratch):
        scratches.append(scratch)
        return Submission(student, assignment, key="k")

    monkeypatch.setattr(steps, "grade", ok)
    out = pool.task(settings, ["a"], "s", "a")
    assert out.record.key == "k" and out.grader_error is None

    def kernel(*a):
        raise GraderFailure("the notebook kernel did not start (3 attempts; last: ...)")

    monkeypatch.setattr(steps, "grade", kernel)
    out = pool.task(settings, ["a"], "s", "a")
    assert out.record is None and "did not start" in out.grader_error

    def bug(*a):
        raise KeyError("oops")

    monkeypatch.setattr(steps, "grade", bug)
    out = pool.task(settings, ["a"], "s", "a")
    assert out.record is None and out.grader_error.startswith("the grader crashed") and "KeyError" in out.grader_error
    assert not os.path.exists(scratches[0])  # the scratch folder goes with the task


def test_run_journals_nothing_itself_and_leaves_no_scratch(tmp_path, monkeypatch):
    """Outcomes come back to the main process in completion order; the per-run scratch folder is removed."""
    import glob
    import tempfile

    seen = []

    def fake(settings, assignments, student, assignment, scratch):
        open(os.path.join(scratch, "x"), "w").close()
        return Submission(student, assignment, key=scratch)

    monkeypatch.setattr(steps, "grade", fake)
    before = set(glob.glob(tempfile.gettempdir() + "/nntricks-run-*"))
    settings = Settings(course=str(tmp_path), db_url=f"sqlite:///{tmp_path / 'gb.db'}")
    pool.run(settings, ["a"], [("s1", "a"), ("s2", "a")], [], 2, lambda out, fb: seen.append(out))
    assert sorted(o.student for o in seen) == ["s1", "s2"] and all(o.record for o in seen)
    assert not any(os.path.exists(o.record.key) for o in seen)
    assert set(glob.glob(tempfile.gettempdir() + "/nntricks-run-*")) == before
    assert not list((tmp_path / ".autograder").glob("results/*"))  # journaling is the caller's


HOLD = """
import sys, time
from pathlib import Path
from autograder.grading import lock, pool, steps
from autograder.grading.settings import Settings

pool.api = lambda *a: None  # no nbgrader here: only the workers' lifetime is tested
pool.kernel_env = lambda settings: {}

def grade(settings, assignments, student, assignment, scratch):
    (Path(settings.course) / f"started-{student}").touch()
    time.sleep(600)

steps.grade = grade
settings = Settings(course=sys.argv[1], db_url="sqlite://")
with lock.course_lock(settings):
    pool.run(settings, ["a"], [("s1", "a"), ("s2", "a")], [], 2, lambda outcome, only_feedback: None)
"""


def _dead(procs, seconds=30):
    """Wait (at most ``seconds``: they die at once) until none of ``procs`` runs; returns those still alive."""
    import time

    from autograder.grading.lock import start_time

    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in procs if start_time(p["pid"]) == p["start"]]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def test_workers_die_when_the_grader_is_killed(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time

    from autograder import ROOT
    from autograder.grading.lock import course_lock, holder_path, process

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    main = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not ((tmp_path / "started-s1").exists() and (tmp_path / "started-s2").exists()):
            assert main.poll() is None and time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        record = json.loads(holder_path(Settings(course=str(tmp_path), db_url="")).read_text())
        workers, scratch = record["workers"], record["scratch"]
        assert os.path.isdir(scratch)
        assert len(workers) == 2 and _dead(workers, 0) == workers  # both alive, recorded with their start times
        assert all(process(w["pid"]) == w for w in workers)
    finally:
        main.send_signal(signal.SIGKILL)
        main.wait()
    assert _dead(workers) == []
    with course_lock(Settings(course=str(tmp_path), db_url="")):  # nothing of the killed run left: a rerun may go
        assert not os.path.exists(scratch)  # its scratch folder removed


def test_the_main_process_ends_its_workers_on_any_error(tmp_path, monkeypatch):
    import time

    import pytest

    from autograder.grading import lock

    def grade(settings, assignments, student, assignment, scratch):
        if student == "s2":
            time.sleep(600)
        return Submission(student, assignment, key="k")

    def finished(outcome, only_feedback):
        raise RuntimeError("a bug while recording")

    workers = []
    monkeypatch.setattr(steps, "grade", grade)
    monkeypatch.setattr(pool, "api", lambda *a: None)
    monkeypatch.setattr(lock, "record_workers", lambda settings, pids, root: workers.extend(lock.process(p) for p in pids))
    settings = Settings(course=str(tmp_path), db_url="")
    with pytest.raises(RuntimeError, match="a bug while recording"):
        pool.run(settings, ["a"], [("s1", "a"), ("s2", "a")], [], 2, finished)
    assert len(workers) == 2 and _dead(workers, 0) == []

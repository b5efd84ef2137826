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

"""autograder.grading.pool: a worker task turns the grader's failures into outcomes, never a student's grade."""

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
    import os

    assert not os.path.exists(scratches[0])  # the scratch folder goes with the task

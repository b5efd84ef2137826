"""autograder.grading.steps: the per-submission steps that need no kernel (the checks on the package copy,
the notebook's presence), and their order."""

import json
import os

import pytest

from autograder import NOTEBOOKS, REFERENCE
from autograder.grading import steps
from autograder.grading.autograde import GraderFailure
from autograder.grading.records import Failure, Status, Submission
from autograder.grading.settings import Settings


def _job(tmp_path, student="s", assignment="01_divergences"):
    settings = Settings(course=str(tmp_path / "course"), db_url="sqlite://")
    settings.submitted(student, assignment).mkdir(parents=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return steps.Job(settings, [assignment], scratch, Submission(student, assignment))


def test_the_order_of_the_steps():
    assert [s.__name__ for s in steps.STEPS] == ["key", "hidden_checks", "take_in", "notebook_present", "run_autograde",
                                                 "merge", "notebook_feedback"]


def test_hidden_checks_grade_the_copy_and_leave_links_out(tmp_path):
    """The student's package links its divergences module to the solved reference: the checks never see it."""
    job = _job(tmp_path)
    pkg = job.submitted / "nntricks"
    pkg.mkdir()
    for p in (NOTEBOOKS / "nntricks").glob("*.py"):
        (pkg / p.name).write_text(p.read_text())
    (pkg / "divergences.py").unlink()
    os.symlink(REFERENCE / "nntricks" / "divergences.py", pkg / "divergences.py")
    steps.hidden_checks(job)
    rec = job.record
    assert rec.ignored == ["nntricks/divergences.py: a symbolic link (only regular files are graded)"]
    assert rec.checks["max_score"] > 0 and rec.checks["score"] == 0
    assert {t["topic"] for t in rec.checks["tests"]} == {"divergences", "nn", "train"}
    assert json.loads((job.scratch / "checks.json").read_text()) == rec.checks
    assert rec.timings.checks > 0


def test_a_crash_of_the_checks_is_the_graders_failure(tmp_path, monkeypatch):
    import autograder.check

    def crash(*a, **k):
        raise ZeroDivisionError("a bug in the checks")

    monkeypatch.setattr(autograder.check, "grade_package", crash)
    job = _job(tmp_path)
    with pytest.raises(GraderFailure, match="the hidden checks crashed"):
        steps.hidden_checks(job)


def test_no_notebook_is_the_students_failure(tmp_path):
    job = _job(tmp_path)
    (job.submitted / "my_work.ipynb").write_text("{}")
    steps.take_in(job)
    steps.notebook_present(job)
    assert job.record.status is Status.FAILED and job.record.failure is Failure.NO_NOTEBOOK
    assert job.record.reason == "no notebook 01_divergences.ipynb in the submission (found my_work.ipynb: rename it)"


def test_take_in_copies_regular_files_only_and_a_linked_notebook_is_no_notebook(tmp_path):
    """nbgrader and the kernel read the scratch copy: a link (to a notebook elsewhere, or to the gradebook) and
    a fifo (which would block nbgrader's copy forever) are left out, with a note."""
    job = _job(tmp_path)
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    (job.submitted / "nntricks").mkdir()
    (job.submitted / "nntricks" / "nn.py").write_text("x = 1\n")
    os.symlink(secret, job.submitted / "nntricks" / "optim.py")
    os.mkfifo(job.submitted / "timestamp.txt")
    os.symlink(secret, job.submitted / "01_divergences.ipynb")
    steps.take_in(job)
    assert sorted(str(p.relative_to(job.copy)) for p in job.copy.rglob("*")) == ["nntricks", "nntricks/nn.py"]
    assert job.record.ignored == ["01_divergences.ipynb: a symbolic link (only regular files are graded)",
                                  "nntricks/optim.py: a symbolic link (only regular files are graded)",
                                  "timestamp.txt: a fifo (only regular files are graded)"]
    steps.notebook_present(job)
    assert job.record.failure is Failure.NO_NOTEBOOK
    assert job.record.reason == ("no notebook 01_divergences.ipynb in the submission (01_divergences.ipynb: a "
                                 "symbolic link (only regular files are graded))")


def test_a_failed_step_stops_the_rest(tmp_path, monkeypatch):
    ran = []

    def fail(job):
        ran.append("fail")
        job.record.status = Status.FAILED

    monkeypatch.setattr(steps, "STEPS", [fail, lambda job: ran.append("after")])
    rec = steps.grade(Settings(course=str(tmp_path), db_url=""), [], "s", "a", tmp_path)
    assert ran == ["fail"] and rec.status is Status.FAILED and rec.timings.total > 0

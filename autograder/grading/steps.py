"""The ordered steps of grading one submission (run by a worker), in the spirit of nbgrader's
preprocessor lists: :data:`STEPS` is the list; each step takes the :class:`Job` and fills its record.

1. :func:`key`: the journal key of the submitted files (:func:`autograder.grading.journal.job_key`).
2. :func:`hidden_checks`: the hidden checks of the notebook's topics on a copy of the student's package
   (:func:`autograder.check.grade_package`, which takes the package in with :mod:`autograder.submission`, sandboxed),
   saved as ``checks.json`` in the job's scratch folder for the test cells (``NNTRICKS_CHECKS_FILE``,
   see :mod:`autograder.cell`).
3. :func:`take_in`: the scratch copy of the submitted folder (regular files, never through a link, capped):
   nbgrader and the kernel read the submission only from it.
4. :func:`notebook_present`: no ``<assignment>.ipynb`` in the copy is the student's failure.
5. :func:`run_autograde`: ``nbgrader autograde`` in-process (:mod:`autograder.grading.autograde`), the
   kernel in its sandbox (:mod:`autograder.grading.kernel_sandbox`) on a copy of the submitted folder
   made by the intake's rules, its sockets in the scratch folder, within the submission's deadline; a
   failure caused by the submission (time, output or memory limit included) ends the steps (FAILED).
6. :func:`merge`: which test cells were restored, the merge into the gradebook
   (:mod:`autograder.grading.merge`), what went wrong per cell.
7. :func:`notebook_feedback`: nbgrader's notebook HTML (``--notebook-feedback`` only).

A step raises :class:`autograder.grading.autograde.GraderFailure` for what is not the student's doing
(the submission is then not recorded, and the next run grades it again). Submitted files are only read.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..cell import CHECKS_FILE_ENV
from . import journal, kernel_sandbox
from .autograde import CLOCK, GraderFailure, autograde
from ..atomic import write_atomic
from .kernels import sockets_in
from .merge import merge_into_gradebook
from .nbgrader_env import api, gradebook
from .notebooks import cells_by_id, notebook_notes, restored_cells
from .records import Failure, Status, Submission
from .settings import Settings, topics_of


@dataclass
class Job:
    settings: Settings
    assignments: list[str]  # every assignment of the run (the nbgrader configuration covers them all)
    scratch: Path  # a private folder for this submission: the package copy, checks.json, kernel sockets
    record: Submission

    @property
    def submitted(self) -> Path:
        return self.settings.submitted(self.record.student, self.record.assignment)

    @property
    def copy(self) -> Path:
        """The scratch copy of the submitted folder (:func:`take_in`): what nbgrader and the kernel get."""
        return self.scratch / "submitted" / self.record.student / self.record.assignment


def key(job):
    job.record.key = journal.job_key(job.settings, job.record.student, job.record.assignment)


def hidden_checks(job):
    topics = topics_of(job.record.assignment)
    if not topics:
        return
    t0 = time.perf_counter()
    try:
        from ..check import grade_package

        # the one intake (autograder.submission) copies the submitted package: regular files, never a link
        job.record.checks = grade_package(job.submitted, topics=topics, layout="notebook")
    except Exception as e:  # grade_package never raises for a bad submission: this is the grader's failure
        raise GraderFailure("the hidden checks crashed:\n" + traceback.format_exc(limit=3)) from e
    job.record.ignored = list(job.record.checks.get("extra_data", {}).get("intake", {}).get("ignored", []))
    write_atomic(job.scratch / "checks.json", json.dumps(job.record.checks))
    job.record.timings.checks = time.perf_counter() - t0


def take_in(job):
    """The scratch copy of the submitted folder, regular files only, never through a link
    (:func:`autograder.grading.kernel_sandbox.take_in`); what it left out joins the record's notes."""
    for line in kernel_sandbox.take_in(job.submitted, job.copy):
        if line not in job.record.ignored:
            job.record.ignored.append(line)


def notebook_present(job):
    a = job.record.assignment
    if not (job.copy / f"{a}.ipynb").is_file():
        others = sorted(p.name for p in job.copy.glob("*.ipynb"))
        why = [line for line in job.record.ignored if line.startswith(f"{a}.ipynb: ")]
        job.record.status, job.record.failure = Status.FAILED, Failure.NO_NOTEBOOK
        job.record.reason = f"no notebook {a}.ipynb in the submission" + (
            f" ({why[0]})" if why else f" (found {', '.join(others)}: rename it)" if others else "")


@contextlib.contextmanager
def _environ(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_autograde(job):
    s, a = job.record.student, job.record.assignment
    checks_file = job.scratch / "checks.json"
    shared = checks_file if job.settings.reuse_checks and checks_file.is_file() else None
    limits = kernel_sandbox.KernelLimits(cpu_seconds=job.settings.deadline + 5)
    kernel = kernel_sandbox.KernelJob(job.copy, shared, a, limits)  # the copy, read-only in the kernel's sandbox
    CLOCK.kernel_start = CLOCK.execution = 0.0
    with sockets_in(job.scratch), kernel_sandbox.kernel_job(kernel), _environ(**{CHECKS_FILE_ENV: shared and str(shared)}):
        result = autograde(api(job.settings, job.assignments), s, a, submitted=job.scratch / "submitted")
    t = job.record.timings
    t.kernel_start, t.execution = CLOCK.kernel_start, CLOCK.execution
    t.nbgrader = max(0.0, result.seconds - CLOCK.kernel_start - CLOCK.execution)
    if result.failure is not None:
        job.record.status, job.record.failure, job.record.reason = Status.FAILED, result.failure, result.reason


def merge(job):
    t0 = time.perf_counter()
    st, s, a = job.settings, job.record.student, job.record.assignment
    job.record.restored = restored_cells(st.root / "release" / a / f"{a}.ipynb", job.copy / f"{a}.ipynb")
    order = list(cells_by_id(st.root / "source" / a / f"{a}.ipynb") or {})
    job.record.cells = merge_into_gradebook(lambda: gradebook(st), s, a, job.record.checks, order)
    for nb_id in {c.notebook_id for c in job.record.cells} or {a}:
        job.record.notes.update(notebook_notes(st.root / "autograded" / s / a / f"{nb_id}.ipynb"))
    job.record.timings.merge = time.perf_counter() - t0


def notebook_feedback(job):
    """nbgrader's generate_feedback (hidden tests and test-cell tracebacks removed; the report is put on top
    later by :func:`autograder.grading.reports.write_reports`)."""
    if not job.settings.feedback:
        return
    t0 = time.perf_counter()
    fb = api(job.settings, job.assignments).generate_feedback(job.record.assignment, job.record.student, force=True)
    job.record.notebook_feedback = bool(fb["success"])
    job.record.feedback_error = None if fb["success"] else (fb.get("log", "") + fb.get("error", ""))[-2000:]
    job.record.timings.feedback = time.perf_counter() - t0


STEPS = [key, hidden_checks, take_in, notebook_present, run_autograde, merge, notebook_feedback]


def grade(settings, assignments, student, assignment, scratch) -> Submission:
    """Run :data:`STEPS` on one submission; a FAILED status stops the steps. Returns the record (the
    caller journals it)."""
    t0 = time.perf_counter()
    job = Job(settings, list(assignments), Path(scratch), Submission(student, assignment))
    for step in STEPS:
        step(job)
        if job.record.status is Status.FAILED:
            break
    job.record.timings.total = time.perf_counter() - t0
    return job.record

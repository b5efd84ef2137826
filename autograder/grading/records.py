"""The typed records of a grading run: a submission's journal record, its cells, its timers, its row.

A :class:`Submission` is what one worker task produces and the journal keeps
(JSON through :meth:`Submission.to_json` / :meth:`Submission.from_json`); a
:class:`Row` is what ``grades.csv`` and the feedback show (made by
:func:`autograder.grading.merge.summarize`). The hidden checks' results stay
the dict that :func:`autograder.check.grade_package` returns (Gradescope's
``results.json`` format), as an external format.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    """A submission's status: ``ok``; ``pending`` (written answers await grading by hand, rows
    only); ``failed`` (grading failed because of the submission: no score, the reason says why)."""

    OK = "ok"
    PENDING = "pending"
    FAILED = "failed"


class Failure(str, enum.Enum):
    """Why a submission FAILED: always something in the submission, never the grader."""

    NO_NOTEBOOK = "no-notebook"
    BAD_NOTEBOOK = "bad-notebook"
    KERNEL_DIED = "kernel-died"
    KERNEL_HUNG = "kernel-hung"
    TIME_LIMIT = "time-limit"  # the notebook ran past the submission's deadline (its kernel was killed)
    OUTPUT_LIMIT = "output-limit"  # it sent more output than the grader accepts (its kernel was killed)
    MEMORY_LIMIT = "memory-limit"  # its kernel died after a MemoryError
    LOCKED_CELL_CHANGED = "locked-cell-changed"
    NO_SOURCE = "no-source"  # the assignment has no source notebook (a set-up problem, per assignment)
    AUTOGRADE = "autograde"  # nbgrader refused the notebook for another reason (its log says which)


class CellKind(str, enum.Enum):
    TEST = "test"
    WRITTEN = "written"


@dataclass
class Cell:
    """One graded cell after autograde: ``notebook`` is nbgrader's score (what the kernel produced),
    ``trusted`` the ceiling the grader's own check run grants (None: no hidden checks in the cell)."""

    id: str
    notebook_id: str
    kind: CellKind
    keys: list[str]
    points: float
    notebook: float | None
    trusted: float | None = None


@dataclass
class Timings:
    """Seconds spent per step of one submission, measured by the worker."""

    checks: float = 0.0  # the hidden checks on the package copy (sandboxed)
    kernel_start: float = 0.0  # starting the notebook's kernel (and waiting until it answers)
    execution: float = 0.0  # running the notebook's cells
    nbgrader: float = 0.0  # nbgrader's own steps of autograde (sanitize, overwrite, save grades, ...)
    merge: float = 0.0  # the merge into the gradebook and reading the graded notebook back
    feedback: float = 0.0  # nbgrader's notebook HTML (--notebook-feedback)
    total: float = 0.0


@dataclass
class Submission:
    """The journal record of one graded submission."""

    student: str
    assignment: str
    key: str = ""
    status: Status = Status.OK
    failure: Failure | None = None
    reason: str | None = None
    checks: dict | None = None
    ignored: list[str] = field(default_factory=list)  # package files left out of the checks, for the student
    cells: list[Cell] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # test cells the student changed or deleted
    notes: dict[str, str] = field(default_factory=dict)  # grade_id -> what went wrong in the cell
    notebook_feedback: bool = False
    feedback_error: str | None = None
    timings: Timings = field(default_factory=Timings)

    @property
    def seconds(self) -> float:
        return self.timings.total

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Submission:
        d = json.loads(text)
        d["status"] = Status(d["status"])
        d["failure"] = Failure(d["failure"]) if d.get("failure") else None
        d["cells"] = [Cell(**{**c, "kind": CellKind(c["kind"])}) for c in d.get("cells", [])]
        d["timings"] = Timings(**d.get("timings", {}))
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Outcome:
    """What a worker task returns: the record, or the grader's own error (not the student's: the
    submission is not recorded and the next run grades it again)."""

    student: str
    assignment: str
    record: Submission | None = None
    grader_error: str | None = None


@dataclass
class CellRow:
    id: str
    kind: CellKind
    points: float
    score: float | None
    exercise: str = ""
    message: str = ""
    failed_checks: list[dict] = field(default_factory=list)
    restored: bool = False


@dataclass
class Row:
    """One student's result for one assignment, as grades.csv and the feedback show it."""

    student: str
    assignment: str
    status: Status
    reason: str | None = None
    score: float | None = None
    max_score: float | None = None
    pending: float | None = None
    tests: float | None = None
    tests_max: float | None = None
    written: float | None = None
    written_max: float | None = None
    checks: float | None = None
    checks_max: float | None = None
    ignored: list[str] = field(default_factory=list)
    cells: list[CellRow] = field(default_factory=list)
    unassigned_failures: list[dict] = field(default_factory=list)

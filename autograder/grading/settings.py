"""What a grading run is told: the course, the gradebook, the limits (one picklable record)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import SOLUTIONS
from ..exercises import EXERCISES, TOPICS

GRADER_VERSION = "2"  # part of every journal key: a new grader regrades everything once
STATE = ".autograder"  # <course>/.autograder: journal, logs, the kernels' PYTHONPATH, the lock


class GradeError(Exception):
    """A problem with the course set-up or the run (not with a student's submission)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a worker needs (picklable)."""

    course: str
    db_url: str
    timeout: int = 60  # seconds per notebook cell
    deadline: int = 600  # wall-clock seconds per notebook (its kernel is killed past it: FAILED "time limit")
    solutions: str = str(SOLUTIONS)
    feedback: bool = False  # nbgrader's notebook HTML too (--notebook-feedback)
    reuse_checks: bool = True  # test cells read the grader's check run (NNTRICKS_CHECKS_FILE)
    kernel_start_attempts: int = 3  # a kernel that does not come up is started again

    @property
    def root(self) -> Path:
        return Path(self.course)

    @property
    def state(self) -> Path:
        return self.root / STATE

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def source_notebook(self, assignment: str) -> Path:
        return Path(self.solutions) / f"{assignment}.ipynb"


def default_db_url(course) -> str:
    """The course's SQLite gradebook, with a 60 s busy timeout (parallel workers share it)."""
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}?timeout=60"


def topics_of(assignment: str) -> list[str]:
    """The package topics graded by a notebook (its exercises' modules), in contract order."""
    found = {key.split(".")[0] for key, ex in EXERCISES.items() if ex.notebook == assignment}
    return [t for t in TOPICS if t in found]

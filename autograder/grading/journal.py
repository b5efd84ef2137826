"""The journal: one file per finished submission, so that a rerun grades only what is left.

``<course>/.autograder/results/<student>/<assignment>.json`` holds the
:class:`~autograder.grading.records.Submission` record, written atomically by
the main process once the gradebook is updated. It is keyed by
:func:`job_key`, a hash of the submitted files, the source notebook, the
per-cell timeout and the grader version: a rerun (after a crash, a kill or
Ctrl-C) skips every submission whose key matches and regrades the rest
(a resubmission, a changed source notebook); ``--force`` regrades anyway.
A record that cannot be read counts as missing (graded again).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..atomic import write_atomic
from .files import tree_hash
from .records import Submission
from .settings import GRADER_VERSION


def job_key(settings, student, assignment) -> str:
    src = settings.source_notebook(assignment)
    h = hashlib.sha256()
    h.update(f"v{GRADER_VERSION}\0{settings.timeout}\0".encode())
    h.update(tree_hash(settings.submitted(student, assignment)).encode())
    h.update(hashlib.sha256(src.read_bytes()).hexdigest().encode() if src.is_file() else b"-")
    return h.hexdigest()


def path(settings, student, assignment) -> Path:
    return settings.state / "results" / student / f"{assignment}.json"


def load(settings, student, assignment) -> Submission | None:
    try:
        return Submission.from_json(path(settings, student, assignment).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(settings, record: Submission) -> None:
    write_atomic(path(settings, record.student, record.assignment), record.to_json())


def forget_since(settings, seconds) -> int:
    """Remove the records written after ``seconds`` (a time since the epoch; the next run grades those
    submissions again); returns how many. Used when an older gradebook is restored."""
    gone = 0
    for p in (settings.state / "results").glob("*/*.json"):
        if p.stat().st_mtime > seconds:
            p.unlink()
            gone += 1
    return gone


def recorded(settings):
    """Every journal record of the course, ``{(student, assignment): record}``."""
    out = {}
    for p in sorted((settings.state / "results").glob("*/*.json")):
        rec = load(settings, p.parent.name, p.stem)
        if rec is not None:
            out[(rec.student, rec.assignment)] = rec
    return out

"""The merge rule: one grade per student and assignment, the hidden checks counted once, as a ceiling.

The grade is the sum over the notebook's graded cells, out of nbgrader's
maximum for the notebook:

- a test cell whose hidden section calls ``autograder.cell.hidden(keys, P)``
  scores ``min(nbgrader's score, P x f)``, where nbgrader's score is what the
  kernel produced (0 on any error or stderr output, else the float the cell
  returned) and ``f`` is the fraction of the hidden-check points for those
  exercise keys that the package earned in the grader's own sandboxed run. A
  failing visible test still gives 0, and nothing the student's code does
  inside the kernel (patching ``hidden``, reading the reference) can raise a
  cell above what the isolated checks grant;
- other test cells score what nbgrader gave them;
- written answers (manually graded cells) score the instructor's grade from
  the formgrader; until then they are pending;
- a score set by hand in the formgrader (``manual_score``) always wins.

The package check score (``checks``/``checks_max``) is shown for information
only: it is already inside the test cells.
"""

from __future__ import annotations

import ast
import re
import time

from ..exercises import EXERCISES
from .records import Cell, CellKind, CellRow, Row, Status, Submission

HIDDEN_CALL = re.compile(r"autograder\.cell\.hidden\(\s*(\[[^\]]*\]|'[^']*'|\"[^\"]*\")\s*,\s*([0-9.eE+-]+)\s*\)")


def _round(x):
    return None if x is None else round(float(x), 6)


def hidden_call(source):
    """``(keys, points)`` of the ``autograder.cell.hidden([...], P)`` call in a cell's source, or None."""
    m = HIDDEN_CALL.search(source or "")
    if not m:
        return None
    try:
        keys = ast.literal_eval(m.group(1))
        keys = [keys] if isinstance(keys, str) else keys
        return [str(k) for k in keys], float(m.group(2))
    except (ValueError, SyntaxError):
        return None


def check_key_of(test):
    """The exercise keys a results.json test grades: its ``tags`` (``[topic, exercise key]``, as
    :func:`autograder.check.grade_package` writes them), else inferred from its name."""
    tagged = [t for t in test.get("tags") or [] if t in EXERCISES]
    if tagged:
        return tagged
    name = test.get("name", "")
    topic, _, rest = name.partition(".")
    keys = [k for k in EXERCISES if k.split(".")[0] == topic and
            (rest == k[len(topic) + 1:] or rest.startswith(k[len(topic) + 1:] + ".") or
             rest.startswith(k[len(topic) + 1:] + "[") or rest.startswith(k[len(topic) + 1:] + ":"))]
    return [max(keys, key=len)] if keys else []


def trusted_fraction(checks, keys):
    """Fraction of the hidden-check points for ``keys`` earned in the grader's run (None: no such checks)."""
    if not checks or "tests" not in checks:
        return None
    mine = [t for t in checks["tests"] if set(check_key_of(t)) & set(keys)]
    total = sum(float(t.get("max_score") or 0) for t in mine)
    if total <= 0:
        return None
    return sum(float(t.get("score") or 0) for t in mine) / total


def _is_solution(gb, name, notebook, assignment):
    from nbgrader.api import MissingEntry

    try:
        gb.find_solution_cell(name, notebook, assignment)
        return True
    except MissingEntry:
        return False


def merge_into_gradebook(gradebook, student, assignment, checks, order=(), attempts=5) -> list[Cell]:
    """Cap every hidden-test cell's autograde score by the trusted check fraction, in the gradebook.

    ``gradebook()`` opens the gradebook; ``order`` lists the source notebook's grade ids (the cells are
    returned in that order). A gradebook locked by another worker is retried."""
    from sqlalchemy.exc import OperationalError

    order = list(order)
    for attempt in range(attempts):
        cells = []
        try:
            with gradebook() as gb:
                for snb in gb.find_submission(assignment, student).notebooks:
                    rank = {g: i for i, g in enumerate(order)}
                    for g in sorted(snb.grades, key=lambda g: (rank.get(g.name, len(order)), g.name)):
                        written = g.cell_type == "markdown" or _is_solution(gb, g.name, snb.name, assignment)
                        call = None if written else hidden_call(gb.find_source_cell(g.name, snb.name, assignment).source)
                        points, trusted = float(g.max_score), None
                        if call:
                            f = trusted_fraction(checks, call[0])
                            trusted = None if f is None else points * f
                        cells.append(Cell(id=g.name, notebook_id=snb.name, kind=CellKind.WRITTEN if written else CellKind.TEST,
                                          keys=call[0] if call else [], points=points, notebook=_round(g.auto_score),
                                          trusted=_round(trusted)))
                        if trusted is not None and g.auto_score is not None and g.auto_score > trusted + 1e-12:
                            g.auto_score = trusted
                gb.db.commit()
            return cells
        except OperationalError:  # a locked SQLite database: retry
            if attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)
    return []


def gradebook_grades(gradebook, student, assignment):
    """``{cell: (auto_score, manual_score, needs_manual_grade)}`` of a submission, as the gradebook has it
    now (None: no such submission)."""
    from nbgrader.api import MissingEntry

    out = {}
    try:
        with gradebook() as gb:
            for snb in gb.find_submission(assignment, student).notebooks:
                for g in snb.grades:
                    out[g.name] = (g.auto_score, g.manual_score, bool(g.needs_manual_grade))
    except MissingEntry:
        return None
    return out


def _failing(checks, keys):
    return [t for t in checks["tests"] if set(check_key_of(t)) & set(keys)
            and float(t.get("score") or 0) < float(t.get("max_score") or 0)]


def summarize(record: Submission, grades=None) -> Row:
    """The grade row of one journal record; ``grades`` (``{cell: (auto, manual, needs_manual)}`` read from
    the gradebook now) brings in hand grading done since."""
    row = Row(student=record.student, assignment=record.assignment, status=record.status, reason=record.reason,
              ignored=list(record.ignored))
    checks = record.checks
    if checks and "tests" in checks:
        row.checks = _round(sum(float(t.get("score") or 0) for t in checks["tests"]))
        row.checks_max = _round(sum(float(t.get("max_score") or 0) for t in checks["tests"]))
    if record.status is Status.FAILED:
        return row
    tests = tests_max = written = written_max = pending = 0.0
    covered = set()
    for c in record.cells:
        auto, manual, needs = (grades or {}).get(c.id, (c.notebook, None, c.kind is CellKind.WRITTEN and c.notebook is None))
        if manual is not None:
            score = float(manual)
        elif c.kind is CellKind.WRITTEN:
            score = None if needs or auto is None else float(auto)
        else:
            score = float(auto or 0.0)
            if c.trusted is not None:
                score = min(score, c.trusted)
        failed = []
        if checks and "tests" in checks and c.keys:
            failed = _failing(checks, c.keys)
            covered |= set(c.keys)
        exercise = ", ".join(dict.fromkeys(f"{EXERCISES[k].number} {EXERCISES[k].title}" for k in c.keys if k in EXERCISES))
        row.cells.append(CellRow(id=c.id, kind=c.kind, points=c.points, score=_round(score), exercise=exercise,
                                 message=record.notes.get(c.id, ""), failed_checks=failed, restored=c.id in record.restored))
        if c.kind is CellKind.WRITTEN:
            written_max += c.points
            if score is None:
                pending += c.points
            else:
                written += score
        else:
            tests_max += c.points
            tests += score
    if checks and "tests" in checks:
        row.unassigned_failures = [t for t in checks["tests"] if not set(check_key_of(t)) & covered
                                   and float(t.get("score") or 0) < float(t.get("max_score") or 0)]
    row.score, row.max_score, row.pending = _round(tests + written), _round(tests_max + written_max), _round(pending)
    row.tests, row.tests_max = _round(tests), _round(tests_max)
    row.written, row.written_max = _round(written), _round(written_max)
    if pending:
        row.status = Status.PENDING
    return row

"""What the instructor and the students read: ``grades.csv``, the progress lines, the feedback pages.

``grades.csv``: one row per student and assignment, columns :data:`CSV_FIELDS`;
``status`` is ``ok``, ``pending`` (written answers not graded by hand yet) or
``FAILED`` (with the ``reason``, and no score). It is rewritten atomically
after every submission. ``feedback/<student>/report.html`` (and the same
section on top of nbgrader's notebook HTML, when there is one) come from
:mod:`autograder.feedback`.
"""

from __future__ import annotations

import csv
import io

from ..atomic import write_atomic
from .records import Row, Status

CSV_FIELDS = ["student", "assignment", "status", "score", "max_score", "pending", "tests", "tests_max",
              "written", "written_max", "checks", "checks_max", "reason"]


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, Status):
        return "FAILED" if value is Status.FAILED else value.value
    if isinstance(value, float):
        return f"{round(value, 4):g}"
    return value


def csv_text(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in sorted(rows, key=lambda r: (r.student, r.assignment)):
        w.writerow([_cell(getattr(r, k)) for k in CSV_FIELDS])
    return buf.getvalue()


def write_csv(settings, rows) -> None:
    write_atomic(settings.root / "grades.csv", csv_text(rows))


def write_reports(settings, rows) -> None:
    """grades.csv and every student's feedback: ``report.html`` and the section on top of nbgrader's pages."""
    from ..feedback import inject_report, student_report

    write_csv(settings, rows)
    by_student = {}
    for r in rows:
        by_student.setdefault(r.student, []).append(r)
    for student, mine in by_student.items():
        mine.sort(key=lambda r: r.assignment)
        write_atomic(settings.root / "feedback" / student / "report.html", student_report(student, mine))
        for r in mine:  # the same section on top of nbgrader's notebook feedback (release_feedback sends it)
            for page in (settings.root / "feedback" / student / r.assignment).glob("*.html"):
                text = page.read_text(encoding="utf-8")
                new = inject_report(text, r)
                if new != text:
                    write_atomic(page, new, mode=0o644)


def _num(x):
    return f"{round(float(x), 2):g}"


def progress_line(i, n, row: Row, seconds=None) -> str:
    """``[3/20] cleo 01_divergences: 12/21 (5 pending manual grading)  6.4 s``"""
    who = f"[{i}/{n}] {row.student} {row.assignment}: "
    if row.status is Status.FAILED:
        text = f"FAILED ({row.reason})"
    else:
        text = f"{_num(row.score)}/{_num(row.max_score)}"
        if row.pending:
            text += f" ({_num(row.pending)} pending manual grading)"
    return who + text + (f"  {seconds:.1f} s" if seconds is not None else "")

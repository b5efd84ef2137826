"""autograder.grading.reports: grades.csv, the progress line, the files written per student."""

import csv
import io

from grade_support import CHECKS, cell, record

from autograder.grading import reports
from autograder.grading.merge import summarize
from autograder.grading.records import CellKind, Status
from autograder.grading.settings import Settings


def test_csv_columns_and_failed_rows():
    failed = summarize(record([], CHECKS, status=Status.FAILED, reason="the kernel died"))
    ok = summarize(record([cell("t", notebook=2.0)], student="t"))
    text = reports.csv_text([ok, failed])
    assert text.splitlines()[0] == ",".join(reports.CSV_FIELDS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["student"] for r in rows] == ["s", "t"]
    assert rows[0]["status"] == "FAILED" and rows[0]["score"] == "" and rows[0]["reason"] == "the kernel died"
    assert rows[0]["checks"] == "3" and rows[0]["checks_max"] == "5"
    assert rows[1]["status"] == "ok" and rows[1]["score"] == "2" and rows[1]["max_score"] == "2"


def test_progress_line():
    row = summarize(record([cell("t", points=21.0, notebook=12.0),
                            cell("q", kind=CellKind.WRITTEN, points=5.0, notebook=None)], student="cleo"))
    assert reports.progress_line(3, 20, row, 6.44) == "[3/20] cleo 01_divergences: 12/26 (5 pending manual grading)  6.4 s"
    failed = summarize(record([], None, status=Status.FAILED, reason="no notebook", student="x"))
    assert reports.progress_line(1, 2, failed) == "[1/2] x 01_divergences: FAILED (no notebook)"


def test_write_reports(tmp_path):
    settings = Settings(course=str(tmp_path), db_url="sqlite://")
    page = tmp_path / "feedback" / "s" / "01_divergences" / "01_divergences.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html><body><p>nbgrader</p></body></html>")
    page.chmod(0o444)  # nbgrader writes its feedback read-only
    reports.write_reports(settings, [summarize(record([cell("t")], CHECKS))])
    assert (tmp_path / "grades.csv").read_text().count("\n") == 2
    assert "feedback for s" in (tmp_path / "feedback" / "s" / "report.html").read_text()
    assert page.read_text().count('id="nntricks-report"') == 1 and oct(page.stat().st_mode & 0o777) == "0o644"
    assert not [p for p in tmp_path.rglob("*.tmp")]

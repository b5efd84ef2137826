"""autograder.insights: the class's view from recorded grading, on made-up courses (fast).

The class graded through the real pipeline (the example students) and the page in a browser are in
tests/test_insights_class.py. Check messages here are made by the checks' own formatter
(:func:`autograder.checks.compare.failure_message`), so the parsing follows the real format.
"""

import csv
import io
import json
import os

import numpy as np
import pytest

from autograder import insights
from autograder.checks.compare import Mistake, failure_message
from autograder.grading.records import Status, Submission
from autograder.grading.reports import CSV_FIELDS
from autograder.insights_data import NAMED, NOT_IMPLEMENTED, NOT_OWN, UNNAMED, classify

ONE_OVER_B = Mistake("forgot the 1/B", "l2 is the MEAN over the batch: divide the sum by B.",
                     variant=lambda y, d: 0.5 * float(np.sum((y - d) ** 2)))


def l2_message(got_factor=8.0, mistakes=(ONE_OVER_B,)):
    """What divergences.l2_values writes for a student whose l2 is ``got_factor`` times too large."""
    y, d = np.ones((8, 2)), np.zeros((8, 2))
    want = 0.5 * float(np.sum((y - d) ** 2)) / 8
    return failure_message("l2(y, d)", {"y": y, "d": d}, f"the result is {want * got_factor:g}, expected {want:g}",
                           want * got_factor, want, mistakes)


def result(name, exercise, score, max_score, output="ok"):
    return {"name": name, "score": score, "max_score": max_score, "output": output, "status": "x",
            "topic": name.split(".")[0], "tags": [name.split(".")[0], exercise]}


def divergences_checks(l2_output=None, bce_output=None):
    """A results.json of the 01_divergences topics: l2 (2 checks), bce (1 check)."""
    tests = [result("divergences.l2_values", "divergences.l2", 0.0 if l2_output else 2.0, 2.0, l2_output or "ok"),
             result("divergences.l2_grad_values", "divergences.l2_grad", 1.0, 1.0),
             result("divergences.bce_values", "divergences.bce", 0.0 if bce_output else 3.0, 3.0, bce_output or "ok")]
    return {"score": sum(t["score"] for t in tests), "max_score": 6.0, "tests": tests}


def make_course(root, students, written_pending=False):
    """A graded course: ``students`` maps a name to its check results (or None: grading failed)."""
    rows = []
    for s, checks in students.items():
        failed = checks is None
        rec = Submission(s, "01_divergences", status=Status.FAILED if failed else Status.OK,
                         reason="the kernel died" if failed else None,
                         checks=divergences_checks() if failed else checks)
        path = root / ".autograder" / "results" / s / "01_divergences.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rec.to_json())
        score = None if failed else checks["score"] * 2
        pending = 4 if written_pending and not failed else 0
        status = "FAILED" if failed else ("pending" if pending else "ok")
        rows.append({"student": s, "assignment": "01_divergences", "status": status,
                     "score": "" if failed else f"{score:g}", "max_score": "" if failed else "16",
                     "pending": "" if failed else str(pending), "reason": "the kernel died" if failed else ""})
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (root / "grades.csv").write_text(buf.getvalue())
    return root


def mistakes_rows(csv_path):
    return list(csv.DictReader(io.StringIO(csv_path.read_text())))


# ---------------------------------------------------------------- reading the checks' messages


def test_classify_reads_the_named_mistake_the_checks_write():
    kind, name, hint = classify(l2_message())
    assert (kind, name, hint) == (NAMED, "forgot the 1/B", "l2 is the MEAN over the batch: divide the sum by B.")


def test_classify_takes_the_last_named_mistake_not_one_quoted_from_the_student():
    forged = ("dropout_forward: it raised ValueError (oops\nLikely mistake: the grader is wrong. Hint: ignore it) "
              "instead of ValueError" + "\nLikely mistake: alpha used as the DROP probability. Hint: keep, not drop.")
    assert classify(forged)[1] == "alpha used as the DROP probability"


def test_classify_the_other_kinds_of_failure():
    assert classify("l2(y, d): not implemented yet (NotImplementedError: Exercise 1.1)")[0] == NOT_IMPLEMENTED
    assert classify("nntricks.divergences earns nothing: it uses code that is not its own (...)")[0] == NOT_OWN
    unnamed = l2_message(got_factor=3.0, mistakes=())  # no catalogued mistake: the generic guess
    kind, guess, _ = classify(unnamed)
    assert kind == UNNAMED and "constant factor" in guess
    assert classify("l2(y, d): the result is 1, expected 2")[:2] == (UNNAMED, "")


# ---------------------------------------------------------------- counts


def test_counts_of_a_class_with_known_mistakes(tmp_path):
    course = make_course(tmp_path, {
        "ana": divergences_checks(),
        "bo": divergences_checks(l2_output=l2_message()),
        "cy": divergences_checks(l2_output=l2_message()),
        "di": divergences_checks(bce_output="bce(y, d): the result is 1, expected 2"),
        "ed": divergences_checks(bce_output="bce(y, d): not implemented yet (NotImplementedError: Exercise 1.2)"),
        "fa": None,
    })
    html, csv_path, view = insights.write(course=course)
    (a,) = view.assignments
    assert (a.submissions, a.failed, a.pending, a.median) == (6, 1, 0, 8.0)  # scores 12, 8, 8, 6, 6
    (m,) = view.mistakes
    assert (m.exercise, m.name, m.students) == ("1.1", "forgot the 1/B", {"bo", "cy"})
    (u,) = view.unnamed
    assert (u.check, u.students) == ("divergences.bce_values", {"di"})
    by_number = {x.number: x for x in view.exercises}
    assert by_number["1.2"].not_implemented == {"ed"}
    assert by_number["1.1"].full == {"ana", "di", "ed", "fa"}
    assert by_number["1.1"].share == pytest.approx((6 * 3 - 2 * 2) / (6 * 3))  # 2 of 3 points lost by 2 of 6
    assert by_number["1.2"].share == pytest.approx((6 * 3 - 2 * 3) / (6 * 3))  # 3 of 3 points lost by 2 of 6
    assert [x.number for x in view.exercises] == ["1.2", "1.1"]  # worst first
    rows = mistakes_rows(csv_path)
    assert [(r["exercise"], r["mistake"], r["students_count"], r["students"]) for r in rows] == [
        ("1.1", "forgot the 1/B", "2", "bo; cy")]
    page = html.read_text()
    assert "forgot the 1/B" in page and "bo, cy" in page and "divergences.bce_values" in page


def test_a_class_with_no_failures_gives_a_clear_page(tmp_path):
    course = make_course(tmp_path, {"ana": divergences_checks(), "bo": divergences_checks()})
    html, csv_path, view = insights.write(course=course)
    assert not view.mistakes and not view.unnamed and view.failing_checks == 0
    assert "No hidden check failed" in html.read_text()
    assert mistakes_rows(csv_path) == []


def test_a_class_with_only_pending_written_answers(tmp_path):
    course = make_course(tmp_path, {"ana": divergences_checks(), "bo": divergences_checks()}, written_pending=True)
    html, _, view = insights.write(course=course)
    (a,) = view.assignments
    assert (a.pending, a.failed, len(a.scores)) == (2, 0, 2)
    page = html.read_text()
    assert "still await manual grading" in page and "No hidden check failed" in page


def test_an_empty_course_gives_a_clear_page(tmp_path):
    html, csv_path, view = insights.write(course=tmp_path)
    assert view.submissions == 0
    assert "Nothing graded yet" in html.read_text()
    assert mistakes_rows(csv_path) == []
    assert insights.main(["--course", str(tmp_path)]) == 0
    assert insights.main(["--course", str(tmp_path / "missing")]) == 2


def test_anonymous_leaves_every_name_out(tmp_path):
    course = make_course(tmp_path, {"zelda_q": divergences_checks(l2_output=l2_message()),
                                    "yusuf_p": divergences_checks(bce_output="bce: the result is 1, expected 2")})
    (course / ".autograder" / "results" / "xena_r").mkdir()
    (course / ".autograder" / "results" / "xena_r" / "01_divergences.json").write_text("{")  # a note names her
    html, csv_path, _ = insights.write(course=course, anonymous=True)
    for text in (html.read_text(), csv_path.read_text()):
        assert "zelda_q" not in text and "yusuf_p" not in text and "xena_r" not in text
    assert mistakes_rows(csv_path)[0]["students_count"] == "1"


def test_a_folder_of_results_json(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "results.json").write_text(json.dumps(divergences_checks(l2_output=l2_message())))
    (tmp_path / "bob" / "results").mkdir(parents=True)
    (tmp_path / "bob" / "results" / "results.json").write_text(json.dumps(divergences_checks()))
    (tmp_path / "carol.json").write_text(json.dumps(divergences_checks(l2_output=l2_message())))
    _, csv_path, view = insights.write(results=tmp_path, out=tmp_path / "out")
    assert view.students == 3 and not view.notes
    assert [a.name for a in view.assignments] == ["checks: divergences"]
    assert mistakes_rows(csv_path)[0]["students"] == "alice; carol"


# ---------------------------------------------------------------- hostile records


HOSTILE = '<script>alert(1)</script><img src="http://evil.example/x.png" onerror="alert(2)">$\\frac{1}{$'
STUDENT = '<b onclick="alert(3)">=eve$x$'  # a folder name: no slash


def test_student_controlled_text_is_escaped_on_the_page_in_the_plots_and_in_the_csv(tmp_path):
    message = (f"l2(y, d): it raised ValueError ({HOSTILE})\nLikely mistake: =HYPERLINK(\"http://evil.example\") "
               f"{HOSTILE}. Hint: {HOSTILE}")
    course = make_course(tmp_path, {STUDENT: divergences_checks(l2_output=message),
                                    "bo": divergences_checks(bce_output=f"bce: {HOSTILE}\n{HOSTILE}")})
    html, csv_path, view = insights.write(course=course)
    page = html.read_text()
    assert len(view.mistakes) == 1 and len(view.unnamed) == 1
    assert "<script" not in page and "<img" not in page and "<b " not in page and "evil.example/x.png\"" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<svg") == 3  # histogram, exercises, mistakes: the label went through the SVG writer
    (row,) = mistakes_rows(csv_path)
    assert row["mistake"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text, not a formula
    assert not row["students"].startswith(("=", "+", "-", "@"))


def test_malformed_and_linked_files_are_left_out_with_a_note(tmp_path):
    course = make_course(tmp_path, {"ana": divergences_checks(l2_output=l2_message())})
    results = course / ".autograder" / "results"
    (results / "bo").mkdir()
    (results / "bo" / "01_divergences.json").write_text("{not json")
    (results / "cy").mkdir()
    (results / "cy" / "01_divergences.json").write_text(json.dumps(
        {"student": "cy", "assignment": "01_divergences", "status": "ok",
         "checks": {"tests": [{"name": "divergences.l2_values", "score": "lots", "max_score": 2}]}}))
    secret = tmp_path.parent / f"{tmp_path.name}_outside.json"
    secret.write_text(Submission("di", "01_divergences", checks=divergences_checks(l2_output=l2_message())).to_json())
    (results / "di").mkdir()
    os.symlink(secret, results / "di" / "01_divergences.json")
    os.symlink(results / "di", results / "ed")  # a linked student folder
    big = results / "fa"
    big.mkdir()
    (big / "01_divergences.json").write_bytes(b" " * (9 << 20))
    (results / "gi").mkdir()  # cells that make no sense, and no grades.csv row: no score, a note
    (results / "gi" / "01_divergences.json").write_text(json.dumps(
        {"student": "gi", "assignment": "01_divergences", "status": "ok", "cells": [
            {"id": "c", "notebook_id": "n", "kind": "test", "keys": [], "points": "many", "notebook": [1]}]}))
    with open(course / "grades.csv", "a") as f:
        f.write("ji,01_divergences,ok,NaN,16,0,,,,,,,\nhe,01_divergences,weird,1,16,0,,,,,,,\n")
    html, _, view = insights.write(course=course)
    notes = "\n".join(view.notes)
    assert "bo/01_divergences.json left out: " in notes
    assert "cy/01_divergences.json left out: test 0's score is not a number of points" in notes
    assert "di/01_divergences.json left out: a symbolic link (never followed)" in notes
    assert ".autograder/results/ed left out: a symbolic link (never followed)" in notes
    assert "fa/01_divergences.json left out: larger than 8 MiB" in notes
    assert "grades.csv line 3 left out" in notes and "grades.csv line 4 left out: unknown status" in notes
    assert "gi/01_divergences.json: no score" in notes
    assert view.students == 2 and [m.students for m in view.mistakes] == [{"ana"}]
    assert "could not be read" in html.read_text()
    secret.unlink()


def test_a_structured_mistake_field_is_read_instead_of_the_message(tmp_path):
    """When the results carry ``mistake`` ({"name", "hint"} or null), the message is not parsed: a
    "Likely mistake" line quoted from the student's own output then names nothing."""
    named = divergences_checks(l2_output="l2(y, d): the result is 8, expected 1")
    named["tests"][0]["mistake"] = {"name": "forgot the 1/B", "hint": "divide by B."}
    forged = divergences_checks(l2_output=l2_message())
    for t in forged["tests"]:
        t["mistake"] = None
    course = make_course(tmp_path, {"ana": named, "bo": forged})
    _, _, view = insights.write(course=course)
    assert [(m.name, m.hint, m.students) for m in view.mistakes] == [("forgot the 1/B", "divide by B.", {"ana"})]
    assert [(u.check, u.students) for u in view.unnamed] == [("divergences.l2_values", {"bo"})]

"""autograder.feedback: student-safe text, the nbgrader preprocessor, the reports from Jinja2 templates."""

import nbformat
from grade_support import CHECKS, cell, record

from autograder import feedback
from autograder.grading.merge import summarize
from autograder.grading.records import Status


def test_clean_strips_tracebacks_and_ansi():
    text = ("\x1b[0;31mAssertionError\x1b[0m\nTraceback (most recent call last):\n"
            '  File "/x/autograded/s/a/nb.py", line 3, in <module>\n    autograder.cell.hidden(["k"], 2)\n'
            "AssertionError: l2 should divide by B\n"
            "Cell In[4], line 7\n----> 7 secret_hidden_line()\n      8 other()\n")
    out = feedback.clean(text)
    assert "l2 should divide by B" in out
    for leak in ("File ", "hidden(", "secret_hidden_line", "\x1b", "Cell In"):
        assert leak not in out
    assert feedback.clean("x" * 5000).endswith("(truncated)")


def test_strip_tracebacks_preprocessor():
    c = nbformat.v4.new_code_cell("x", metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}})
    c.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong sign",
                                        traceback=["\x1b[31m---> 3 autograder.cell.hidden(['k'], 1)", "AssertionError"])]
    nb, _ = feedback.StripTracebacks().preprocess(nbformat.v4.new_notebook(cells=[c]), {})
    assert nb.cells[0].outputs[0]["traceback"] == ["AssertionError: wrong sign"]


def test_report_shows_grades_hints_and_failures():
    cells = [cell("test_l2", keys=["divergences.l2", "divergences.l2_grad"], points=3.0, notebook=0.0, trusted=1.0)]
    row = summarize(record(cells, CHECKS, notes={"test_l2": "AssertionError: <b>l2</b> should divide by B"},
                           restored=["test_l2"], ignored=["nntricks/divergences.py: a symbolic link (only regular "
                                                          "files are graded)"]))
    failed = summarize(record([], None, status=Status.FAILED, reason="the kernel died", assignment="05_dropout"))
    page = feedback.student_report("s", [row, failed])
    assert "&lt;b&gt;l2&lt;/b&gt; should divide by B" in page
    assert "forgot the 1/B" in page and "0 / 3" in page
    assert "Grading failed" in page and "not a zero" in page and "grading failed (see below)" in page
    assert "the original was restored before grading" in page
    assert "divergences.py: a symbolic link" in page and "Left out of the checks" in page
    assert page.count("<h2 ") == 2 and page.startswith("<!DOCTYPE html>")


def test_hostile_student_text_comes_out_escaped():
    """A student's name, cell ids, messages and check output are text: no tag, no template syntax survives."""
    evil = "<script>alert(1)</script>{{ 7*7 }}{% raw %}"
    cells = [cell(evil, keys=["divergences.l2"], points=1.0, notebook=0.0, trusted=0.0)]
    checks = {"tests": [dict(CHECKS["tests"][0], name=evil, output=evil)]}
    row = summarize(record(cells, checks, notes={evil: evil}, student=evil, ignored=[evil], reason=evil))
    for page in (feedback.student_report(evil, [row]),
                 feedback.inject_report("<html><body><p>nbgrader</p></body></html>", row)):
        assert "<script>" not in page and "alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}{% raw %}" in page
        assert "49" not in page


def test_report_injected_once_into_nbgrader_feedback():
    row = summarize(record([cell("test_l2", keys=["divergences.l2"], points=2.0, notebook=0.0, trusted=0.0)], CHECKS))
    page = "<html><head></head><body class='x'><h1>nbgrader</h1></body></html>"
    once = feedback.inject_report(page, row)
    assert once.index('id="nntricks-report"') < once.index("<h1>nbgrader</h1>")
    assert feedback.inject_report(once, row) == once
    assert "#nntricks-report table" in once  # the report's CSS, limited to its block
    assert feedback.inject_report("no body here", row) == "no body here"

"""Student feedback that says what failed, why, and the points, and never shows hidden test code.

Two kinds of HTML end up in ``<course>/feedback/<student>/``:

- ``<assignment>/<notebook>.html``: nbgrader's own feedback (``generate_feedback``),
  run with ``ClearHiddenTests`` (removes the hidden sections of the test cells)
  and :class:`StripTracebacks` (a traceback can quote hidden lines; in test
  cells only the exception's name and message are kept, with ANSI colours removed).
- ``report.html`` (all assignments), and the same section for one assignment
  at the top of nbgrader's notebook HTML (so that ``nbgrader release_feedback``
  sends it): the merged grade, per test cell the exercise, the points and what
  went wrong (the visible test's message, the hidden checks that failed with
  their hint), the written answers' points or "awaiting manual grading", and
  for a failed grading the reason.

Everything shown passes through :func:`clean`, which drops Python traceback
frames (``File "...", line N`` and the quoted source lines), removes ANSI
colour codes and caps the length: the hints and messages stay, code does not.
"""

import html
import re

from nbgrader.preprocessors import NbGraderPreprocessor

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_MESSAGE = 2000


def clean(text, limit=MAX_MESSAGE):
    """Student-safe text: no ANSI codes, no traceback frames, at most ``limit`` characters."""
    text = ANSI.sub("", str(text or ""))
    out, in_tb = [], False
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            in_tb = True
            continue
        if in_tb:
            # frames are indented ("  File ...", "    source line", "    ^^^^"); the exception line is not
            if line.startswith((" ", "\t")) or not line.strip():
                continue
            in_tb = False
        if re.match(r"\s*File \"[^\"]*\", line \d+", line) or re.match(r"^-{5,}\s*$", line):
            continue
        if re.match(r"^(Cell In\[\d+\]|Input In \[\d+\]|File [^,]+:\d+)", line):
            continue
        if re.match(r"^\s*(-+>|\d+\s)", line):  # IPython's "---> 3 hidden(...)" and numbered context lines
            continue
        out.append(line)
    text = "\n".join(out).strip()
    return text if len(text) <= limit else text[: limit - 15].rstrip() + "\n... (truncated)"


def error_message(output):
    """``"Name: message"`` of an nbformat error output, cleaned."""
    ename = clean(output.get("ename", "Error"), 200)
    evalue = clean(output.get("evalue", ""))
    return f"{ename}: {evalue}" if evalue else ename


class StripTracebacks(NbGraderPreprocessor):
    """Replace the tracebacks of grade cells' error outputs by ``Name: message`` (no hidden lines)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [error_message(output)]
                    output["evalue"] = clean(output.get("evalue", ""))
        return cell, resources


# ---------------------------------------------------------------- the report

CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #eee; }
td.pts { white-space: nowrap; text-align: right; }
.ok { color: #17652b; } .bad { color: #a61b1b; } .pending { color: #8a5a00; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .4rem .6rem; margin: .2rem 0; font-size: .85rem; }
.failed { background: #fde8e8; padding: .6rem 1rem; border-left: 4px solid #a61b1b; }
.small { color: #666; font-size: .85rem; }
"""


def _fmt(x):
    return "-" if x is None else (f"{round(x, 2):g}" if isinstance(x, (int, float)) else html.escape(str(x)))


def _cls(score, points):
    if score is None:
        return "pending"
    return "ok" if points and score >= points - 1e-9 else "bad"


def assignment_section(row):
    """HTML of one assignment's result (a row of :func:`autograder.grade.summarize`)."""
    e = html.escape
    a = row["assignment"]
    parts = [f'<h2 id="{e(a)}">{e(a)}</h2>']
    if row["status"] == "failed":
        parts.append(f'<div class="failed"><b>Grading failed</b>: {e(clean(row["reason"]))}<br>'
                     "This is not a zero: your instructor will look at it. Nothing below counts yet.</div>")
    else:
        pending = f' <span class="pending">({_fmt(row["pending"])} points of written answers await manual grading)</span>' \
            if row.get("pending") else ""
        parts.append(f'<p><b>Grade: {_fmt(row["score"])} / {_fmt(row["max_score"])}</b>{pending}</p>')
    cells = row.get("cells") or []
    if cells:
        parts.append("<table><tr><th>cell</th><th>exercise</th><th>what happened</th><th>points</th></tr>")
        for c in cells:
            notes = []
            if c.get("message"):
                notes.append(f"<pre>{e(clean(c['message']))}</pre>")
            for t in c.get("failed_checks", []):
                notes.append(f"<div><b>{e(t['name'])}</b> ({_fmt(t['score'])}/{_fmt(t['max_score'])})"
                             f"<pre>{e(clean(t.get('output', '')))}</pre></div>")
            if c.get("restored"):
                notes.append("<div class=\"small\">This test cell had been changed or deleted in your "
                             "notebook; the original was restored before grading.</div>")
            if c["kind"] == "written":
                verdict = "awaiting manual grading" if c["score"] is None else "graded by hand"
            elif c["score"] is not None and c["score"] >= c["points"] - 1e-9:
                verdict = "passed"
            else:
                verdict = "failed" if not notes else ""
            head = f'<span class="{_cls(c["score"], c["points"])}">{e(verdict)}</span>' if verdict else ""
            parts.append(f"<tr><td>{e(c['id'])}</td><td>{e(c.get('exercise') or '')}</td><td>{head}{''.join(notes)}</td>"
                         f'<td class="pts {_cls(c["score"], c["points"])}">{_fmt(c["score"])} / {_fmt(c["points"])}</td></tr>')
        parts.append("</table>")
    checks = row.get("checks")
    if checks:
        parts.append(f'<p class="small">Hidden checks on your <code>nntricks</code> package for this notebook\'s '
                     f'topics: {_fmt(checks["score"])} / {_fmt(checks["max_score"])} (they decide the hidden part '
                     "of the test cells above; they are not added a second time).</p>")
        other = [t for t in row.get("unassigned_failures", [])]
        if other:
            parts.append('<p class="small">Other failing checks of these topics:</p><ul>')
            parts += [f"<li><b>{e(t['name'])}</b>: <pre>{e(clean(t.get('output', '')))}</pre></li>" for t in other]
            parts.append("</ul>")
    return "\n".join(parts)


def student_report(student, rows, title="nntricks"):
    """A whole HTML page for one student: a summary table, then one section per assignment."""
    e = html.escape
    summary = ["<table><tr><th>assignment</th><th>grade</th></tr>"]
    for row in rows:
        if row["status"] == "failed":
            grade = '<span class="bad">grading failed (see below)</span>'
        else:
            grade = f'{_fmt(row["score"])} / {_fmt(row["max_score"])}'
            if row.get("pending"):
                grade += f' <span class="pending">+ {_fmt(row["pending"])} pending</span>'
        summary.append(f'<tr><td><a href="#{e(row["assignment"])}">{e(row["assignment"])}</a></td><td>{grade}</td></tr>')
    summary.append("</table>")
    body = "\n".join([f"<h1>{e(title)}: feedback for {e(student)}</h1>", *summary,
                      *(assignment_section(r) for r in rows)])
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{e(title)}: {e(student)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


BEGIN_MARK, END_MARK = "<!-- nntricks-report -->", "<!-- /nntricks-report -->"


def inject_report(page, row):
    """nbgrader's feedback page with the assignment's section (:func:`assignment_section`) at the top of
    its body, replacing a previous one."""
    if BEGIN_MARK in page and END_MARK in page:
        start, end = page.index(BEGIN_MARK), page.index(END_MARK) + len(END_MARK)
        page = page[:start] + page[end:]
    m = re.search(r"<body[^>]*>", page)
    if not m:
        return page
    block = (f'{BEGIN_MARK}<div id="nntricks-report" style="max-width: 60rem; margin: 1rem auto; '
             f'font-family: system-ui, sans-serif;"><style>{_scoped_css()}</style>'
             f"{assignment_section(row)}</div>{END_MARK}")
    return page[:m.end()] + block + page[m.end():]


def _scoped_css():
    rules = [r.strip() for r in CSS.strip().splitlines() if r.strip() and not r.strip().startswith("body")]
    return " ".join("#nntricks-report " + r.replace(", ", ", #nntricks-report ").replace("} ", "} #nntricks-report ")
                    for r in rules)

"""Student feedback that says what failed, why, and the points, and never shows hidden test code.

Two kinds of HTML end up in ``<course>/feedback/<student>/``:

- ``<assignment>/<notebook>.html``: nbgrader's own feedback (``generate_feedback``),
  run with ``ClearHiddenTests`` (removes the hidden sections of the test cells)
  and :class:`StripTracebacks` (a traceback can quote hidden lines; in test
  cells only the exception's name and message are kept, with ANSI colours removed).
- ``report.html`` (all assignments; rendered from ``autograder/templates/`` with
  Jinja2, autoescaped: a student's text is always text), and the same section for one assignment
  at the top of nbgrader's notebook HTML (so that ``nbgrader release_feedback``
  sends it): the merged grade, per test cell the exercise, the points and what
  went wrong (the visible test's message, the hidden checks that failed with
  their hint), the written answers' points or "awaiting manual grading", and
  for a failed grading the reason, and the files of the package that the
  checks left out (symbolic links, ...).

Everything shown passes through :func:`clean`, which drops Python traceback
frames (``File "...", line N`` and the quoted source lines), removes ANSI
colour codes and caps the length: the hints and messages stay, code does not.
"""

import functools
import re
from pathlib import Path

import jinja2
from markupsafe import Markup
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


# ---------------------------------------------------------------- the report (templates/*.j2)

TEMPLATES = Path(__file__).resolve().parent / "templates"
BEGIN_MARK, END_MARK = "<!-- nntricks-report -->", "<!-- /nntricks-report -->"


def _num(x):
    return "-" if x is None else f"{round(float(x), 2):g}"


def _mark(score, points):
    """The CSS class of a score: ok (full points), bad, pending (not graded yet)."""
    if score is None:
        return "pending"
    return "ok" if points and score >= points - 1e-9 else "bad"


@functools.lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment of the reports: autoescaping on (every value is text, never markup)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(clean=clean, num=_num, mark=_mark)
    return env


def assignment_section(row):
    """HTML of one assignment's result (a :class:`autograder.grading.records.Row`)."""
    return environment().get_template("section.html.j2").render(row=row)


def student_report(student, rows, title="nntricks"):
    """A whole HTML page for one student: a summary table, then one section per assignment."""
    return environment().get_template("report.html.j2").render(student=student, rows=rows, title=title)


def inject_report(page, row):
    """nbgrader's feedback page with the assignment's section at the top of its body, replacing a
    previous one."""
    if BEGIN_MARK in page and END_MARK in page:
        start, end = page.index(BEGIN_MARK), page.index(END_MARK) + len(END_MARK)
        page = page[:start] + page[end:]
    m = re.search(r"<body[^>]*>", page)
    if not m:
        return page
    block = environment().get_template("inject.html.j2").render(row=row, scoped_css=Markup(_scoped_css())).strip()
    return page[:m.end()] + block + page[m.end():]


def _scoped_css():
    """The report's CSS with every rule limited to ``#nntricks-report`` (nbgrader's page keeps its own)."""
    css = (TEMPLATES / "report.css").read_text()
    rules = [r.strip() for r in css.strip().splitlines() if r.strip() and not r.strip().startswith("body")]
    return " ".join("#nntricks-report " + r.replace(", ", ", #nntricks-report ").replace("} ", "} #nntricks-report ")
                    for r in rules)

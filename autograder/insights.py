"""``python -m autograder insights``: what the class got wrong, from what grading recorded.

Usage::

    python -m autograder insights --course DIR [--anonymous] [--out DIR]
    python -m autograder insights --results DIR [--anonymous] [--out DIR]

``--course`` reads a course graded by ``python -m autograder grade`` (``grades.csv`` and the journal
``.autograder/results/``); ``--results`` reads a folder of ``results.json`` files (``check --json``,
Gradescope's autograder), the student being each file's path in the folder. Nothing is regraded and
no student code runs. Writes, into the course (or ``--out``):

- ``insights.html``: one self-contained page (inline CSS and SVG plots, no script, no request to
  anything): per assignment the distribution of scores, the median, the submissions pending manual
  grading and those whose grading failed; per exercise the share of its hidden-check points the
  class earned, worst first; per named mistake the students who made it, on which exercise, and the
  hint they were shown; the checks that fail most without a named mistake (where hints need work);
  and a note for every file that could not be read;
- ``insights_mistakes.csv``: the per-mistake table (exercise, mistake, students, checks, hint).

``--anonymous`` leaves every student's name out of both (counts only), for a page shown to the class.

Python API: :func:`write` (``autograder.insights.write(course_dir)`` after a grading run).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from .atomic import write_atomic
from .insights_data import summarize
from .insights_read import Unreadable, read

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML_NAME, CSV_NAME = "insights.html", "insights_mistakes.csv"
CSV_FIELDS = ["exercise", "exercise_title", "mistake", "students_count", "students", "checks", "hint"]


def _safe_cell(value):
    """A CSV cell a spreadsheet shows as text (no formula: =, +, -, @ at the start get a quote)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def mistakes_csv(view, anonymous=False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for m in view.mistakes:
        students = "" if anonymous else "; ".join(sorted(m.students))
        w.writerow([_safe_cell(v) for v in (m.exercise, m.title, m.name, len(m.students), students,
                                             "; ".join(sorted(m.checks)), m.hint)])
    return buf.getvalue()


def render(view, anonymous=False, title="nntricks") -> str:
    """The HTML page of a :class:`autograder.insights_data.ClassView`."""
    import jinja2
    from markupsafe import Markup

    from . import insights_plots as plots

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = lambda x: "-" if x is None else f"{round(float(x), 2):g}"
    env.filters["pct"] = lambda x: f"{100 * x:.0f}%"
    figures = {
        "scores": {a.name: Markup(plots.score_histogram(a)) for a in view.assignments if a.scores},
        "exercises": Markup(plots.exercise_shares(view.exercises)) if view.exercises else None,
        "mistakes": Markup(plots.mistake_counts(view.mistakes)) if view.mistakes else None,
    }
    return env.get_template("insights.html.j2").render(view=view, figures=figures, anonymous=anonymous,
                                                       title=title)


def write(course=None, results=None, out=None, anonymous=False, title="nntricks"):
    """Read a graded course (or a folder of results.json), write insights.html and the mistakes CSV.

    Returns ``(html_path, csv_path, view)``. Raises :class:`Unreadable` only when the folder itself
    cannot be opened; every unreadable file inside is a note on the page.
    """
    if (course is None) == (results is None):
        raise ValueError("give exactly one of course and results")
    source = Path(course if course is not None else results)
    reading = read(course=course, results=results)
    label = f"{'course' if course is not None else 'results folder'} {source.resolve()}"
    view = summarize(reading.entries, label, reading.notes)
    out = Path(out) if out is not None else source
    html_path, csv_path = out / HTML_NAME, out / CSV_NAME
    write_atomic(html_path, render(view, anonymous, title), mode=0o644)
    write_atomic(csv_path, mistakes_csv(view, anonymous), mode=0o644)
    return html_path, csv_path, view


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder insights",
                                description="What the class got wrong: one offline HTML page and a CSV, "
                                            "from what grading recorded (nothing is regraded).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--course", help="a course graded by `python -m autograder grade` (grades.csv, journal)")
    src.add_argument("--results", help="a folder of results.json files (check --json, Gradescope)")
    p.add_argument("--out", help="folder to write insights.html and insights_mistakes.csv into "
                                 "(default: the course or results folder)")
    p.add_argument("--anonymous", action="store_true",
                   help="leave the students' names out (counts only), for a page shown to the class")
    p.add_argument("--title", default="nntricks", help="the course's name on the page")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    folder = args.course or args.results
    if not Path(folder).is_dir():
        print(f"insights: {folder} is not a folder", file=sys.stderr)
        return 2
    try:
        html_path, csv_path, view = write(args.course, args.results, args.out, args.anonymous, args.title)
    except (Unreadable, OSError) as e:
        print(f"insights: cannot read {folder}: {e}", file=sys.stderr)
        return 2
    print(f"insights: {view.submissions} submission(s) of {view.students} student(s), "
          f"{len(view.mistakes)} named mistake(s), {len(view.unnamed)} check(s) failing without one; "
          f"{len(view.notes)} note(s)\n  {html_path}\n  {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

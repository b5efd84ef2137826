"""``python -m autograder check PATH [--topic TOPIC ...] [--json FILE]``: the hidden checks.

Grades the ``nntricks`` package found at PATH (a directory that contains
``nntricks/``, or the package directory itself; taken in by
``autograder.submission``: regular files only, what was ignored is listed),
prints a table (per check: points, name, and the full message of a failure,
wrapped to the terminal's width) and, with ``--json``, writes a
Gradescope-style ``results.json``. The exit status is 0 whenever grading
completed, whatever the score; 2 for usage errors (e.g. PATH does not exist).

Python API (other tools build on it)::

    from autograder.check import grade_package
    result = grade_package("submissions/alice")            # every topic
    result = grade_package("alice/nntricks", topics=["optim"])
    result["score"], result["max_score"], result["tests"][0]["output"]

The student's code never runs in this process: see ``autograder.sandbox``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import shutil
import textwrap

from .atomic import write_atomic
from .exercises import TOPICS
from .runner import grade, print_internal_errors
from .sandbox import Limits


def grade_package(path, topics=None, jobs=None, *, exercises=None, limits: Limits | None = None,
                  time_budget: float | None = None, layout: str = "check") -> dict:
    """Run the hidden checks on the ``nntricks`` package at ``path``.

    Args:
        path: the submission: with the default ``layout="check"``, a directory containing
            ``nntricks/``, or the package directory itself. It is taken in once by
            :func:`autograder.submission.intake` (a scratch copy of its regular files; never
            modified, symbolic links never followed).
        topics: topic names (module names of the contract) to grade; None for all.
        jobs: topics graded in parallel (default: min(2, CPUs)).
        exercises: only the checks that grade these exercise keys
            (``"divergences.l2"``, ...; see ``autograder.exercises``).
        limits: a :class:`autograder.sandbox.Limits` (timeouts, CPU, memory, output).
        time_budget: wall-clock seconds for the whole run; checks that would
            start later fail with a message saying so.
        layout: where the package is looked for in ``path``: ``"check"``,
            ``"notebook"`` (an nbgrader assignment folder) or ``"gradescope"`` (a
            Gradescope submission: folder, loose files or zip); see
            :mod:`autograder.submission`.

    Returns:
        A Gradescope ``results.json`` dict: ``score``, ``max_score``,
        ``execution_time``, ``output`` (notes: sandbox warning, ignored files,
        ...), ``tests`` (one per check, in a fixed order: ``name`` =
        ``topic.check``, ``score``, ``max_score``, ``output`` ("ok" or why it
        failed, with the likely mistake), ``status``, ``topic``, ``tags``) and
        ``extra_data`` (``topics``: per-topic score and max_score; ``sandbox``;
        ``internal_errors``: tracebacks of bugs in the checks, normally empty;
        ``intake``: ``source``, where the package was found, None if not, and
        ``ignored``, one line per ignored file, also in ``output``).

    Never raises because of the submission (a missing package gives every
    check 0 with a message); raises ValueError for unknown topics, exercises
    or layouts.
    """
    return grade(path, topics=topics, exercises=exercises, limits=limits, jobs=jobs, time_budget=time_budget,
                 layout=layout)


def format_table(result: dict, path: str = "", width: int | None = None) -> str:
    """The report a student reads: notes, one line per check (points, name, ``ok``), the full
    message of every failure below its check, wrapped to ``width`` (default: the terminal's)."""
    width = max(72, width or shutil.get_terminal_size((100, 24)).columns)  # the longest check line fits 72
    body = textwrap.TextWrapper(width=width, initial_indent=" " * 11, subsequent_indent=" " * 11,
                                break_long_words=True, break_on_hyphens=False)
    note = textwrap.TextWrapper(width=width, initial_indent="  note: ", subsequent_indent=" " * 8)
    sandbox = result.get("extra_data", {}).get("sandbox", "?")
    lines = textwrap.wrap(f"Hidden checks of {path or 'the package'} (sandbox: {sandbox})", width,
                          subsequent_indent="  ", break_on_hyphens=False)
    for text in (result.get("output") or "").splitlines():
        lines += note.wrap(text) or [""]
    lines.append(f"{'points':>9}  check")
    current = None
    for t in result["tests"]:
        if t.get("topic") != current:
            current = t.get("topic")
            lines.append("")
        pts = f"{_num(t['score'])}/{_num(t['max_score'])}"
        if t["score"] >= t["max_score"]:
            lines.append(f"{pts:>9}  {t['name']}  ok")
            continue
        lines.append(f"{pts:>9}  {t['name']}")
        for para in t["output"].splitlines():
            lines += body.wrap(para) or [""]
    lines.append("")
    for topic, s in result.get("extra_data", {}).get("topics", {}).items():
        lines.append(f"{_num(s['score']) + '/' + _num(s['max_score']):>9}  {topic}")
    lines.append(f"{_num(result['score']) + '/' + _num(result['max_score']):>9}  TOTAL "
                 f"({result.get('execution_time', 0):.1f} s)")
    return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:g}"


def write_json(result: dict, path) -> None:
    """Write results.json atomically (a crash never leaves half a file)."""
    write_atomic(path, json.dumps(result, indent=1) + "\n")

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder check",
                                     description="Grade one nntricks package with the hidden checks.")
    parser.add_argument("path", metavar="PATH", help="a directory containing nntricks/, or the package itself")
    parser.add_argument("--topic", action="append", choices=TOPICS, metavar="TOPIC",
                        help=f"grade only this topic (repeatable): {', '.join(TOPICS)}")
    parser.add_argument("--json", metavar="FILE", help="write a Gradescope-style results.json")
    parser.add_argument("--jobs", type=int, default=None, help="topics graded in parallel (default 2)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="wall-clock seconds per check program (default 10)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="kept for old scripts: every failure's full message is always printed")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if not os.path.exists(args.path):
        print(f"error: {args.path} does not exist", file=sys.stderr)
        return 2
    limits = Limits(call_timeout=args.timeout) if args.timeout else None
    result = grade_package(args.path, topics=args.topic, jobs=args.jobs, limits=limits)
    print(format_table(result, args.path))
    print_internal_errors(result)
    if args.json:
        write_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

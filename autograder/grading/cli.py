"""``python -m autograder grade``: the command line (see :mod:`autograder.grading` for what it does)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import SOLUTIONS
from ..bwrap import SANDBOX_WARNING, bwrap_path
from .lock import course_lock
from .records import Status
from .run import run
from .settings import GradeError, Settings, default_db_url


KERNEL_WARNING = (SANDBOX_WARNING + " The notebooks' kernels run WITHOUT a sandbox too: student notebook code "
                  "can read and write whatever the grading user can (the gradebook included); the deadline and "
                  "the output cap still hold.")


def parser():
    from . import __doc__ as doc  # the package docstring: the full description

    p = argparse.ArgumentParser(prog="python -m autograder grade", description=doc.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--course", help="course directory holding submitted/ (default ./class, "
                                    "or build/example_class with --example)")
    p.add_argument("--assignment", "-a", action="append", help="grade only this assignment (repeatable)")
    p.add_argument("--student", "-s", action="append", help="grade only this student (repeatable)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (0: one per CPU)")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded")
    p.add_argument("--db", help="gradebook SQLAlchemy URL (default sqlite:///<course>/gradebook.db)")
    p.add_argument("--timeout", type=int, default=60, help="seconds per notebook cell (default 60)")
    p.add_argument("--deadline", type=int, default=600,
                   help="wall-clock seconds per submission's notebook, kernel start included (default 600); "
                        "past it the kernel and all it started are killed and the submission is FAILED "
                        "(\"time limit\"); the run goes on")
    p.add_argument("--notebook-feedback", action="store_true",
                   help="also write nbgrader's notebook HTML feedback (hidden tests and tracebacks removed, the "
                        "report on top) for `nbgrader release_feedback`")
    p.add_argument("--rerun-checks-in-cells", action="store_true",
                   help="let every test cell run its hidden checks again in its own sandbox, as under plain "
                        "nbgrader (default: the cells reuse the grader's run of the same checks); only without "
                        "bubblewrap: the kernels' sandbox starts no process")
    p.add_argument("--solutions", default=str(SOLUTIONS), help="directory of the source notebooks "
                                                               "(default: the repository's solutions/)")
    p.add_argument("--example", action="store_true",
                   help="first write the synthetic example class (autograder/example_class.py) into the course")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    course = Path(args.course or ("build/example_class" if args.example else "class")).resolve()
    settings = Settings(course=str(course), db_url=args.db or default_db_url(course), timeout=args.timeout, deadline=args.deadline,
                        feedback=args.notebook_feedback, solutions=str(Path(args.solutions).resolve()),
                        reuse_checks=not args.rerun_checks_in_cells)
    jobs = (os.cpu_count() or 1) if args.jobs == 0 else args.jobs
    if not bwrap_path():
        print(KERNEL_WARNING, file=sys.stderr)
    elif args.rerun_checks_in_cells:
        print("grade: --rerun-checks-in-cells needs a kernel that may start processes, which the kernels' "
              "sandbox forbids: leave the flag out (the cells then reuse the grader's own check run)", file=sys.stderr)
        return 2
    if args.deadline < 1:
        print(f"grade: --deadline must be at least 1 second (got {args.deadline})", file=sys.stderr)
        return 2
    from ..example_class import ExampleError

    try:
        if not args.example and not (course / "submitted").is_dir():  # before the lock creates .autograder/
            raise GradeError(f"no submissions under {course / 'submitted'} (expected submitted/<student>/<assignment>/)")
        with course_lock(settings):
            if args.example:
                from .. import example_class

                made = example_class.build(course, assignments=args.assignment, students=args.student,
                                           solutions=settings.solutions)
                print(f"example class: {len({s for s, _ in made})} students x {len({a for _, a in made})} "
                      f"assignments written to {course / 'submitted'} (see {course / 'EXAMPLE_CLASS.md'})")
            rows, errors = run(settings, args.assignment, args.student, jobs=jobs, force=args.force)
    except (GradeError, ExampleError) as e:
        print(f"grade: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted; rerun the same command to continue where it stopped", file=sys.stderr)
        return 130
    failed = sum(r.status is Status.FAILED for r in rows)
    pending = sum(r.status is Status.PENDING for r in rows)
    print(f"done: {len(rows)} submission(s), {failed} FAILED, {pending} with written answers to grade by hand; "
          f"{course / 'grades.csv'}, feedback in {course / 'feedback'}")
    if errors:
        print(f"grade: {len(errors)} submission(s) hit a grader error and were not recorded; rerun to retry",
              file=sys.stderr)
        return 1
    return 0

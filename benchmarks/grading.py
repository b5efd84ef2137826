"""Grading speed, measured in one run on the synthetic example class.

    python benchmarks/grading.py [--assignment 01_divergences] [--class-size 20] [--jobs 2]

Prints:
- the check path (``autograder.check.grade_package``, every topic, sandboxed):
  seconds per submission over the example students' packages (target < 5 s);
- the full notebook path (nbgrader autograde, the hidden checks, the merge,
  the report): seconds per submission in a worker (from the journal of the
  class run below) and wall seconds per submission of that run, and where
  those seconds go (the grader's own timers, recorded per submission in the
  journal: hidden checks, kernel start, nbgrader's own steps, notebook
  execution, merge);
- a class of ``--class-size`` example submissions (the example students
  repeated) graded with ``python -m autograder grade --jobs N`` against plain
  sequential ``nbgrader autograde <assignment>`` (one process, the same
  nbgrader settings, each test cell running its hidden checks itself; no
  merge, no reports), both from the same
  prepared course (gradebook filled by generate_assignment, not timed), and
  the ratio (target: at least 2x).

Part of ``make bench`` (``benchmarks/run.py`` runs every script here).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

from autograder import example_class  # noqa: E402
from autograder.grading import course as grading_course  # noqa: E402
from autograder.grading import journal  # noqa: E402
from autograder.grading.nbgrader_env import ensure_tools_on_path, write_config_file  # noqa: E402
from autograder.grading.settings import Settings, default_db_url  # noqa: E402
from autograder.check import grade_package  # noqa: E402


def env():
    e = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
    e["PATH"] = str(Path(sys.executable).parent) + os.pathsep + e.get("PATH", "")
    return e


def timed(cmd, cwd, extra_env=None):
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**env(), **(extra_env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return seconds, proc


def make_class(course, assignment, size):
    """``size`` submissions: the example students in turn, as s01, s02, ..."""
    with tempfile.TemporaryDirectory() as tmp:
        made = example_class.build(Path(tmp), assignments=[assignment])
        kinds = [s for s, _ in made]
        for i in range(size):
            src = Path(tmp) / "submitted" / kinds[i % len(kinds)] / assignment
            shutil.copytree(src, course / "submitted" / f"s{i + 1:02d}" / assignment)
    return kinds


def prepare(course, assignment):
    """Source notebook, gradebook (generate_assignment) and nbgrader_config.py, as `grade` makes them."""
    settings = Settings(course=str(course), db_url=default_db_url(course))
    ensure_tools_on_path()
    grading_course.prepare(settings, [assignment], log=lambda *a: None)
    write_config_file(settings, [assignment])
    return settings


STEPS = [("checks", "hidden checks"), ("kernel_start", "kernel start"), ("nbgrader", "nbgrader's own steps"),
         ("execution", "notebook execution"), ("merge", "merge"), ("feedback", "notebook feedback")]


def breakdown(records):
    """Mean seconds per submission of each step, from the journal's timers."""
    n = len(records)
    parts = [f"{label} {sum(getattr(r.timings, k) for r in records) / n:.2f}" for k, label in STEPS
             if any(getattr(r.timings, k) for r in records)]
    return ", ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="01_divergences")
    parser.add_argument("--class-size", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    a = args.assignment
    print(f"grading benchmark: {a}, {os.cpu_count()} CPUs, sandbox: ", end="", flush=True)
    from autograder.sandbox import sandbox_kind

    print(sandbox_kind())
    with tempfile.TemporaryDirectory(prefix="nntricks-bench-") as tmp:
        tmp = Path(tmp)

        # 1. the check path
        example_class.build(tmp / "ex", assignments=[a])
        subs = sorted((tmp / "ex" / "submitted").glob(f"*/{a}"))
        times = []
        for sub in subs:
            t = time.perf_counter()
            grade_package(str(sub))
            times.append(time.perf_counter() - t)
        print(f"check path, all topics: {statistics.mean(times):.2f} s per submission "
              f"(median {statistics.median(times):.2f}, max {max(times):.2f}, {len(times)} submissions; target < 5 s)")

        # 3. a class: grade --jobs N vs plain sequential nbgrader autograde
        base = tmp / "base"
        make_class(base, a, args.class_size)
        prepare(base, a)
        plain, ours = tmp / "plain", tmp / "ours"
        shutil.copytree(base, plain, symlinks=True)
        shutil.copytree(base, ours, symlinks=True)
        prepare(plain, a)  # rewrite the config for this copy's paths
        prepare(ours, a)
        t_plain, proc = timed([sys.executable, "-m", "nbgrader", "autograde", a, "--force"], plain)
        graded = len(list((plain / "autograded").glob(f"*/{a}")))
        t_ours, proc = timed([sys.executable, "-m", "autograder", "grade", "--course", str(ours),
                              "--jobs", str(args.jobs)], ROOT)
        rows = (ours / "grades.csv").read_text().splitlines()[1:]
        records = list(journal.recorded(Settings(course=str(ours), db_url="")).values())
        per = [r.seconds for r in records]
        print(f"full notebook path (autograde + hidden checks + merge + report, {a}): "
              f"{statistics.mean(per):.2f} s per submission in a worker (median {statistics.median(per):.2f}); "
              f"{t_ours / args.class_size:.2f} s per submission of wall time with --jobs {args.jobs}")
        print(f"where a worker's seconds per submission go (mean): {breakdown(records)}")
        print(f"class of {args.class_size} ({a}): plain sequential nbgrader autograde {t_plain:.1f} s "
              f"({graded} autograded); grade --jobs {args.jobs} {t_ours:.1f} s ({len(rows)} graded, with checks, "
              f"merge and reports)")
        print(f"speed-up of grade --jobs {args.jobs} over plain nbgrader: {t_plain / t_ours:.2f}x (target >= 2x)")


if __name__ == "__main__":
    main()

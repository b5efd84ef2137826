"""The insights page of a class of 1,000 submissions: how long ``python -m autograder insights`` takes.

    python benchmarks/insights.py [--course build/example_class] [--submissions 1000]

Takes a graded course (by default the example class in ``build/example_class``; graded first with
``python -m autograder grade --example --jobs 2`` when it has no ``grades.csv``), repeats its
journal records and grades.csv rows under new student names until the class has ``--submissions``
submissions (a generated journal, real check results), then prints the seconds of
``python -m autograder insights --course`` on it (a fresh process: imports, reading, plots, page)
and of :func:`autograder.insights.write` alone, best of three.

Part of ``make bench`` (``benchmarks/run.py`` runs every script here).
"""

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import insights  # noqa: E402


def graded_course(course: Path) -> Path:
    if not (course / "grades.csv").is_file():
        print(f"grading the example class into {course} first (about 2 minutes)", flush=True)
        subprocess.run([sys.executable, "-m", "autograder", "grade", "--example", "--jobs", "2",
                        "--course", str(course)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return course


def scaled(course: Path, dest: Path, submissions: int) -> int:
    """Copy ``course``'s journal and grades.csv into ``dest``, repeated to ``submissions`` records."""
    records = sorted((course / ".autograder" / "results").glob("*/*.json"))
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(io.StringIO((course / "grades.csv").read_text()))}
    out, n, copy = [], 0, 0
    while n < submissions:
        for path in records:
            if n == submissions:
                break
            student, assignment = path.parent.name, path.stem
            new = f"{student}{copy:04d}"
            text = path.read_text().replace(f'"student": "{student}"', f'"student": "{new}"')
            target = dest / ".autograder" / "results" / new / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            if (student, assignment) in rows:
                out.append(dict(rows[(student, assignment)], student=new))
            n += 1
        copy += 1
    buf = io.StringIO()
    w = csv.DictWriter(buf, list(next(iter(rows.values()))), lineterminator="\n")
    w.writeheader()
    w.writerows(out)
    (dest / "grades.csv").write_text(buf.getvalue())
    return n


def best_of(runs, fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--course", default=str(ROOT / "build" / "example_class"))
    p.add_argument("--submissions", type=int, default=1000)
    args = p.parse_args()
    course = graded_course(Path(args.course).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        n = scaled(course, Path(tmp), args.submissions)
        cli = best_of(3, lambda: subprocess.run([sys.executable, "-m", "autograder", "insights", "--course", tmp],
                                                cwd=ROOT, check=True, stdout=subprocess.DEVNULL))
        api = best_of(3, lambda: insights.write(course=tmp))
        _, _, view = insights.write(course=tmp)
        size = (Path(tmp) / insights.HTML_NAME).stat().st_size
    print(f"insights of {n} submissions ({view.students} students, {len(view.mistakes)} named mistakes) "
          f"from {course}:")
    print(f"  python -m autograder insights --course: {cli:.2f} s (a fresh process, best of 3)")
    print(f"  autograder.insights.write:              {api:.2f} s (reading, plots, page; best of 3)")
    print(f"  insights.html: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()

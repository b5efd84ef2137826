"""One full nbgrader round on the course's own notebook (solutions/01_divergences.ipynb) with
example students: the instructor generates and releases with nbgrader, the students fetch and
submit through nbgrader's exchange, the instructor collects, grades with
``python -m autograder grade`` (autograde, hidden checks, merge, feedback) and exports with
``nbgrader export``. The instructor commands run as command lines, as an instructor types them."""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import ROOT, SOLUTIONS, example_class

A = "01_divergences"
COURSE_ID = "nntricks"
STUDENTS = ["ada", "cleo", "finn"]  # correct; forgot 1/B in l2; a cell kills the kernel

pytestmark = pytest.mark.skipif(not (SOLUTIONS / f"{A}.ipynb").is_file(), reason=f"no solutions/{A}.ipynb yet")


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _run(args, cwd, timeout=900):
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def nbgrader(*args, cwd):
    return _run([sys.executable, "-m", "nbgrader", *args], cwd)


def _student_side(course, exchange, home, student, files):
    """What a student does, through nbgrader's own exchange classes: fetch, put the work in, submit."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.assignment_id = A
    c.CourseDirectory.root = str(home)
    c.Exchange.root = str(exchange)
    c.Exchange.assignment_dir = str(home)
    home.mkdir(parents=True)
    coursedir = CourseDirectory(config=c)
    auth = Authenticator(config=c)
    ExchangeFetchAssignment(coursedir=coursedir, authenticator=auth, config=c).start()
    assert (home / A / f"{A}.ipynb").is_file()
    for p in files.iterdir():  # the student's notebook and package replace the fetched copy
        if p.name == "timestamp.txt":
            continue
        dest = home / A / p.name
        if p.is_dir():
            shutil.copytree(p, dest, dirs_exist_ok=True)
        else:
            shutil.copy(p, dest)
    c.CourseDirectory.student_id = student
    ExchangeSubmit(coursedir=CourseDirectory(config=c), authenticator=auth, config=c).start()


@pytest.fixture(scope="module")
def round_(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("round")
    course, exchange = tmp / "course", tmp / "exchange"
    course.mkdir()
    exchange.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    (course / "source" / A).mkdir(parents=True)
    shutil.copy(SOLUTIONS / f"{A}.ipynb", course / "source" / A / f"{A}.ipynb")

    nbgrader("generate_assignment", A, cwd=course)  # 1. generate
    nbgrader("release_assignment", A, cwd=course)
    work = tmp / "work"  # 2. the students' work: the example class
    example_class.build(work, [A], STUDENTS)
    for s in STUDENTS:  # 3. fetch and submit
        _student_side(course, exchange, tmp / "home" / s, s, work / "submitted" / s / A)
    nbgrader("collect", A, cwd=course)  # 4. collect into submitted/
    assert sorted(p.name for p in (course / "submitted").iterdir()) == sorted(STUDENTS)
    grade = _run([sys.executable, "-m", "autograder", "grade", "--course", str(course), "--jobs", "2",
                  "--notebook-feedback"], ROOT)  # 5. autograde, checks, merge, feedback
    nbgrader("export", "--to", str(tmp / "export.csv"), cwd=course)  # 6. export
    return {"course": course, "grade_out": grade.stdout, "export": tmp / "export.csv"}


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_round_grades_and_explains(round_):
    course = round_["course"]
    ours = {r["student"]: r for r in _csv(course / "grades.csv")}
    assert set(ours) == set(STUDENTS)
    ada, cleo, finn = ours["ada"], ours["cleo"], ours["finn"]
    assert ada["status"] in ("ok", "pending") and ada["tests"] == ada["tests_max"] != "0"
    assert float(cleo["tests"]) < float(ada["tests"])
    assert finn["status"] == "FAILED" and finn["score"] == "" and "kernel died" in finn["reason"]
    for s in ("ada", "cleo"):
        assert (course / "feedback" / s / A / f"{A}.html").is_file()  # 5. feedback (nbgrader's)
        assert (course / "feedback" / s / "report.html").is_file()
    assert "1/B" in (course / "feedback" / "cleo" / "report.html").read_text()


def test_nbgrader_export_agrees_except_for_failures(round_):
    """nbgrader export reads the merged scores from the gradebook; for a failed submission it can only
    say 0.0, which is why grades.csv says FAILED."""
    ours = {r["student"]: r for r in _csv(round_["course"] / "grades.csv")}
    theirs = {r["student_id"]: r for r in _csv(round_["export"]) if r["assignment"] == A}
    assert set(theirs) == set(STUDENTS)
    for s in ("ada", "cleo"):
        assert float(theirs[s]["score"]) == pytest.approx(float(ours[s]["score"])), s
        assert float(theirs[s]["max_score"]) == pytest.approx(float(ours[s]["max_score"])), s
    assert float(theirs["finn"]["score"]) == 0.0 and ours["finn"]["status"] == "FAILED"


def test_the_instructors_config_is_left_alone(round_):
    text = (round_["course"] / "nbgrader_config.py").read_text()
    assert "Written by `python -m autograder grade`" not in text and COURSE_ID in text

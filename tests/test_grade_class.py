"""``python -m autograder grade`` on a class of example students, end to end, with the real nbgrader,
the real ``autograder.cell.hidden`` and the real hidden checks.

To keep this quick, the source notebook is a small one written here (named
01_divergences, so that its topic is divergences): two test cells with hidden
checks, one test cell with a plain hidden assert, one written answer. The full
nbgrader round on the course's own notebooks is in test_grade_nbgrader_round.py.

One grading run (module fixture, two workers) serves most tests; the
resume-after-kill test makes its own small class.
"""

import csv
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import ROOT, example_class, grading
from autograder.grading import journal
from autograder.grading.settings import Settings, default_db_url

A = "01_divergences"
SECRET = "# HIDDEN-MARKER-d41d8"  # appears only in hidden test sections
STUDENTS = ["ada", "ben", "cleo", "finn", "gus", "hana", "ivan"]


def _meta(**kw):
    d = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
    d.update(kw)
    return {"nbgrader": d}


def write_source(solutions):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_markdown_cell("# A small notebook for the grading tests"),
        new_code_cell("import numpy as np\nfrom nntricks import divergences"),
        new_markdown_cell("## Exercise 1.1: The L2 divergence"),
        new_code_cell("y = np.array([[1.0, 2.0], [3.0, 4.0]])\nd = np.zeros((2, 2))\n"
                      "got = divergences.l2(y, d)\n"
                      "assert abs(got - 7.5) < 1e-9, f'l2 should be the MEAN over the batch: got {got}, expected 7.5'\n"
                      f"### BEGIN HIDDEN TESTS\n{SECRET}\nimport autograder.cell\n"
                      "autograder.cell.hidden(['divergences.l2', 'divergences.l2_grad'], 2)\n### END HIDDEN TESTS",
                      metadata=_meta(grade=True, grade_id="test_l2", locked=True, points=2)),
        new_markdown_cell("## Exercise 1.4: A stable softmax"),
        new_code_cell("p = divergences.softmax(np.array([1.0, 2.0, 3.0]))\n"
                      "assert abs(p.sum() - 1) < 1e-12, 'softmax should sum to 1'\n"
                      f"### BEGIN HIDDEN TESTS\n{SECRET}\nimport autograder.cell\n"
                      "autograder.cell.hidden(['divergences.softmax', 'divergences.log_softmax'], 3)\n"
                      "### END HIDDEN TESTS",
                      metadata=_meta(grade=True, grade_id="test_softmax", locked=True, points=3)),
        new_code_cell("print('bce of a fair coin:', divergences.bce(np.array([0.5]), np.array([1.0])))\n"
                      f"### BEGIN HIDDEN TESTS\n{SECRET}\n"
                      "assert abs(divergences.bce(np.array([0.5]), np.array([1.0])) - np.log(2)) < 1e-9\n"
                      "### END HIDDEN TESTS",
                      metadata=_meta(grade=True, grade_id="test_bce_plain", locked=True, points=1)),
        new_markdown_cell("Why divide by B?\n\n### BEGIN SOLUTION\nSo that the loss does not grow with the "
                          "batch size.\n### END SOLUTION",
                          metadata=_meta(grade=True, solution=True, grade_id="q_why", points=1)),
    ]
    solutions.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, solutions / f"{A}.ipynb")
    return solutions


def tree(path):
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(path).rglob("*")) if p.is_file()}


def rows_of(course):
    with open(course / "grades.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def run_grade(course, solutions, *args, timeout=900):
    """``python -m autograder grade`` in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
    return subprocess.run([sys.executable, "-m", "autograder", "grade", "--course", str(course),
                           "--solutions", str(solutions), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def grade_here(capsys, course, solutions, *args):
    """The same command in this process (quicker: nbgrader is imported once); returns (status, stdout)."""
    capsys.readouterr()
    status = grading.main(["--course", str(course), "--solutions", str(solutions), *args])
    return status, capsys.readouterr().out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    solutions = write_source(tmp / "solutions")
    course = tmp / "course"
    example_class.build(course, [A], STUDENTS, solutions=solutions)
    before = tree(course / "submitted")
    t = time.time()
    proc = run_grade(course, solutions, "--jobs", "2")
    seconds = time.time() - t
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"course": course, "solutions": solutions, "before": before, "out": proc.stdout, "seconds": seconds}


def test_grades_of_the_example_students(graded):
    rows = rows_of(graded["course"])
    assert set(rows) == set(STUDENTS)
    num = {s: (r["status"], r["score"], r["max_score"], r["pending"]) for s, r in rows.items()}
    assert num["ada"] == ("pending", "6", "7", "1")  # all tests pass; the written answer awaits grading
    assert num["ben"] == ("ok", "0", "7", "0")  # stubs; an untouched answer is 0 (nbgrader)
    assert num["cleo"] == ("pending", "4", "7", "1")  # loses the l2 cell (visible test fails)
    assert num["gus"] == ("ok", "4", "7", "0")  # same code as cleo: his edits to the tests change nothing
    assert num["ivan"][:3] == ("ok", "0", "7")  # the forger's package reads the reference, which no sandbox has
    assert rows["cleo"]["tests"] == "4" and rows["cleo"]["tests_max"] == "6"
    assert rows["ada"]["checks"] == rows["ada"]["checks_max"] != ""
    assert float(rows["cleo"]["checks"]) < float(rows["cleo"]["checks_max"])


def test_failed_submissions_are_failed_not_zero(graded):
    rows = rows_of(graded["course"])
    assert rows["finn"]["status"] == "FAILED" and rows["finn"]["score"] == ""
    assert "kernel died" in rows["finn"]["reason"]
    assert rows["hana"]["status"] == "FAILED" and rows["hana"]["score"] == ""
    assert "test_l2" in rows["hana"]["reason"]
    assert "finn 01_divergences: FAILED (the kernel died" in graded["out"]


def test_progress_lines(graded):
    lines = [ln for ln in graded["out"].splitlines() if ln.startswith("[")]
    assert len(lines) == len(STUDENTS)
    assert lines[-1].startswith(f"[{len(STUDENTS)}/{len(STUDENTS)}]")
    assert "with 2 worker(s)" in graded["out"]


def test_submitted_files_are_never_modified(graded):
    assert tree(graded["course"] / "submitted") == graded["before"]


def test_student_packages_are_never_overwritten(graded):
    course = graded["course"]
    for s in STUDENTS:
        sub = course / "submitted" / s / A / "nntricks"
        done = course / "autograded" / s / A / "nntricks"
        if not done.exists():
            continue  # failed submissions: nbgrader removes autograded/
        got = {k: v for k, v in tree(done).items() if "__pycache__" not in k}
        assert got == tree(sub), f"{s}'s package was changed by autograde"
    assert list((course / "source" / A).iterdir()) == [course / "source" / A / f"{A}.ipynb"]


def test_tampered_and_deleted_test_cells_are_restored(graded):
    course = graded["course"]
    submitted = nbformat.read(course / "submitted" / "gus" / A / f"{A}.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in submitted.cells]
    assert "test_softmax" not in ids  # gus deleted it
    autograded = nbformat.read(course / "autograded" / "gus" / A / f"{A}.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in autograded.cells}
    assert "autograder.cell.hidden(['divergences.l2'" in cells["test_l2"].source  # tampered: restored
    assert "autograder.cell.hidden(['divergences.softmax'" in cells["test_softmax"].source  # deleted: re-added
    report = (course / "feedback" / "gus" / "report.html").read_text()
    assert report.count("the original was restored before grading") == 2


def test_gradebook_holds_the_merged_scores(graded):
    """The forger's package reads the reference, which his kernel's sandbox does not have either: his
    patched ``hidden`` claims nothing in cells whose visible tests fail, and the gradebook has what the
    isolated checks granted. (A patched ``hidden`` beside a package that runs: the hostile corpus's
    ``fake_hidden``, tests/test_grade_hostile.py.)"""
    from nbgrader.api import Gradebook

    course = graded["course"]
    with Gradebook(default_db_url(course)) as gb:
        ivan = {g.name: g.auto_score for g in gb.find_submission_notebook(A, A, "ivan").grades}
        cleo = {g.name: g.auto_score for g in gb.find_submission_notebook(A, A, "cleo").grades}
        total = gb.find_submission(A, "ada").score
    assert ivan["test_l2"] == 0 and ivan["test_softmax"] == 0 and ivan["test_bce_plain"] == 0
    assert cleo["test_l2"] == 0 and cleo["test_softmax"] == 3
    assert total == 6
    import json

    record = json.loads((course / ".autograder" / "results" / "ivan" / f"{A}.json").read_text())
    kernel = {c["id"]: c["notebook"] for c in record["cells"]}
    assert kernel == {"test_l2": 0, "test_softmax": 0, "test_bce_plain": 0, "q_why": 0}


def test_feedback_says_what_failed_and_never_shows_hidden_code(graded, capsys):
    course, solutions = graded["course"], graded["solutions"]
    assert not list((course / "feedback").glob(f"*/{A}/*.html"))  # notebook HTML only on request:
    status, out = grade_here(capsys, course, solutions, "--notebook-feedback", "--jobs", "2")
    assert status == 0 and "grading 0 submission(s)" in out and "notebook feedback for 5 graded before" in out
    cleo = (course / "feedback" / "cleo" / "report.html").read_text()
    assert "l2 should be the MEAN over the batch" in cleo  # the visible test's message
    assert "divergences.l2" in cleo and "1/B" in cleo  # the failing check and its hint
    assert "awaiting manual grading" in cleo
    finn = (course / "feedback" / "finn" / "report.html").read_text()
    assert "Grading failed" in finn and "kernel died" in finn
    pages = list((course / "feedback").rglob("*.html"))
    assert len([p for p in pages if p.name == "report.html"]) == len(STUDENTS)
    nbgrader_page = (course / "feedback" / "cleo" / A / f"{A}.html").read_text()  # released by release_feedback
    assert nbgrader_page.count('id="nntricks-report"') == 1 and "Grade: 4 / 7" in nbgrader_page
    for page in pages:
        text = page.read_text()
        assert SECRET not in text and "BEGIN HIDDEN TESTS" not in text, page
        assert "autograder.cell.hidden([" not in text, page
        assert 'File "' not in text, page


def test_rerun_resumes_without_regrading(graded, capsys):
    course, solutions = graded["course"], graded["solutions"]
    csv_before = (course / "grades.csv").read_text()
    status, out = grade_here(capsys, course, solutions, "--jobs", "2")
    assert status == 0
    assert f"grading 0 submission(s) of {len(STUDENTS)}" in out
    assert f"{len(STUDENTS)} already graded" in out
    assert (course / "grades.csv").read_text() == csv_before

    # --force regrades (one student, to stay quick)
    status, out = grade_here(capsys, course, solutions, "--force", "--student", "ada")
    assert "grading 1 submission(s) of 1" in out and "ada 01_divergences: 6/7" in out
    assert (course / "grades.csv").read_text() == csv_before


def test_a_changed_submission_is_regraded(graded, tmp_path):
    """The journal key covers the submitted files: a resubmission is graded again, nothing else."""
    import shutil

    course = tmp_path / "course"
    shutil.copytree(graded["course"], course, symlinks=True)
    settings = Settings(course=str(course), db_url=default_db_url(course),
                              solutions=str(graded["solutions"]))
    ben = course / "submitted" / "ben" / A
    fixed = example_class.reference_package()["divergences.py"]
    (ben / "nntricks" / "divergences.py").write_text(fixed)
    old = journal.load(settings, "ben", A)
    assert old.key != journal.job_key(settings, "ben", A)
    assert journal.job_key(settings, "ada", A) == journal.load(settings, "ada", A).key


def test_hand_grading_is_read_back(graded, capsys):
    """A written answer graded in the formgrader (manual_score) shows up on the next run."""
    from nbgrader.api import Gradebook

    course, solutions = graded["course"], graded["solutions"]
    with Gradebook(default_db_url(course)) as gb:
        g = gb.find_grade("q_why", A, A, "cleo")
        g.manual_score = 1.0
        gb.db.commit()
    status, out = grade_here(capsys, course, solutions, "--student", "cleo")
    assert status == 0
    assert "grading 0 submission(s)" in out
    row = rows_of(course)["cleo"]
    assert (row["status"], row["score"], row["pending"], row["written"]) == ("ok", "5", "0", "1")


def test_killed_run_resumes(tmp_path, graded):
    """SIGKILL in the middle, then rerun: what was done stays done, the rest is graded, with a gradebook
    at a URL of our choosing."""
    import shutil

    solutions = graded["solutions"]
    course = tmp_path / "course"
    example_class.build(course, [A], ["ada", "cleo"], solutions=solutions)
    shutil.copytree(graded["course"] / "source", course / "source")
    shutil.copytree(graded["course"] / "release", course / "release")
    shutil.copy(graded["course"] / "gradebook.db", tmp_path / "elsewhere.db")  # saves a generate_assignment
    db = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", "--course", str(course), "--solutions",
                             str(solutions), "--db", db, "--jobs", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    journal = course / ".autograder" / "results"
    deadline = time.time() + 300
    try:
        while time.time() < deadline and len(list(journal.glob("*/*.json"))) < 1:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the grader, its worker and the kernel: a hard crash
        proc.communicate()
    done = len(list(journal.glob("*/*.json")))
    assert done == 1
    proc = run_grade(course, solutions, "--db", db)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 already graded" in proc.stdout
    assert "grading 1 submission(s) of 2" in proc.stdout
    rows = rows_of(course)
    assert {s: rows[s]["tests"] for s in rows} == {"ada": "6", "cleo": "4"}
    assert (tmp_path / "elsewhere.db").is_file() and not (course / "gradebook.db").exists()


def test_a_kernel_that_does_not_start_is_a_grader_error_regraded_next_run(graded, tmp_path, capsys, monkeypatch):
    """Not the student's failure: no FAILED row, nothing journaled, exit status 1; the next run grades it."""
    import shutil

    from autograder.grading.kernels import ScratchKernelManager

    course = tmp_path / "course"
    shutil.copytree(graded["course"], course, symlinks=True)
    settings = Settings(course=str(course), db_url=default_db_url(course), solutions=str(graded["solutions"]))
    journal.path(settings, "ada", A).unlink()
    async def no_kernel(self, kernel_cmd, **kw):
        raise OSError("simulated: no kernel today")

    monkeypatch.setattr(ScratchKernelManager, "_async_launch_kernel", no_kernel)
    status, out = grade_here(capsys, course, graded["solutions"], "--student", "ada", "--db", settings.db_url)
    assert status == 1
    assert "ada 01_divergences: GRADER ERROR (not recorded, rerun to retry)" in out
    assert "did not start (3 attempts" in out
    assert journal.load(settings, "ada", A) is None
    assert "ada" not in rows_of(course) and rows_of(course)["ben"]["status"] == "ok"  # no grade, not FAILED
    monkeypatch.undo()
    status, out = grade_here(capsys, course, graded["solutions"], "--student", "ada", "--db", settings.db_url)
    assert status == 0 and "grading 1 submission(s) of 1" in out and "ada 01_divergences: 6/7" in out
    timings = journal.load(settings, "ada", A).timings
    assert timings.kernel_start > 0 and timings.execution > 0 and timings.checks > 0 and timings.total > 0

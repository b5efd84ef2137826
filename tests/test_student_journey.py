"""Issue 7, item 1: the order guarantee, checked by running every student notebook as a student would.

For each ``notebooks/NN_*.ipynb``: in a temporary folder holding a copy of the
notebook and a package built from the reference with exactly the exercises done
so far (those of the earlier notebooks; then exercise k of this notebook from the
moment execution reaches its heading; the rest stubbed as the release stubs them),
every cell runs in order in one kernel, in the student's mode (``NBGRADER_EXECUTION``
unset, ``MPLBACKEND=agg``). Optional exercises stay undone in that pass. A notebook
with optional exercises runs a second time with every exercise done. (For a notebook
without optional exercises the first pass ends with everything done; the solution
notebook's own execution test covers the rest.) See ``tests/journey.py``.
"""

import nbformat
import pytest

import journey

STUDENT = journey.student_notebooks()


@pytest.mark.parametrize("path", STUDENT, ids=[p.stem for p in STUDENT])
def test_a_student_can_run_every_cell_in_order(path, tmp_path):
    journey.walk(path, tmp_path)


OPTIONAL = [p for p in STUDENT if journey.has_optional(p)]


@pytest.mark.parametrize("path", OPTIONAL, ids=[p.stem for p in OPTIONAL])
def test_with_every_exercise_done_the_notebook_runs_clean(path, tmp_path):
    journey.walk(path, tmp_path, all_done=True)


@pytest.mark.parametrize("path", STUDENT, ids=[p.stem for p in STUDENT])
def test_an_independent_correct_implementation_runs_every_cell_clean(path, tmp_path):
    """tests/submissions/correct_alt (no attribute the contract does not name) passes every visible test."""
    journey.walk(path, tmp_path, all_done=True, alt=journey.Path(__file__).parent / "submissions" / "correct_alt")


# ---- the harness itself ----

def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def test_headings_and_optional_markers_are_read():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    sol = lambda gid: code("x = 1", metadata={"nbgrader": {"solution": True, "grade_id": gid}})
    nb = _nb(md("## Exercise 3.1: Constant init"), sol("a"),
             md("## Exercise 3.4 (optional): LSUV"), sol("b"),
             md("## Going further\n\n*Optional exercise (not graded).* Complete `lsuv`"), sol("c"),
             md("## Next section"), sol("d"))
    assert journey.exercise_headings(nb) == [(0, "3.1", False), (2, "3.4", True)]
    assert journey.optional_solution_cells(nb) == {3, 5}


def test_earlier_notebooks_exercises_are_done_before():
    assert journey.done_before("00_start_here") == set()
    assert "1.1" in journey.done_before("02_optimizers") and "2.1" not in journey.done_before("02_optimizers")


def test_a_failing_cell_is_reported_with_the_notebook_and_the_cell(tmp_path):
    src = nbformat.read(journey.NOTEBOOKS / "00_start_here.ipynb", as_version=4)
    broken = tmp_path / "src" / "00_start_here.ipynb"
    broken.parent.mkdir()
    src.cells.append(nbformat.v4.new_code_cell("from nntricks import divergences\ndivergences.l2(1, 1)"))
    nbformat.write(src, broken)
    with pytest.raises(journey.JourneyError, match=r"(?s)00_start_here.ipynb, cell \d+ .*NotImplementedError: Exercise 1.1"):
        journey.walk(broken, tmp_path / "run")


def test_an_exercise_is_done_when_its_heading_is_reached(tmp_path):
    """The rewritten module reaches the running kernel (autoreload), and not before the heading."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    numbers = sorted(journey.package_exercises("01_divergences"), key=journey._key)
    cells = [code("%load_ext autoreload\n%autoreload 2\nimport numpy as np\nfrom nntricks import divergences"),
             code("try:\n    divergences.l2(np.ones(2), np.zeros(2))\n    raise AssertionError('done too early')\n"
                  "except NotImplementedError:\n    pass")]
    cells += [md(f"## Exercise {n}: title") for n in numbers]
    cells.append(code("assert divergences.l2(np.ones(2), np.zeros(2)) == 0.5"))
    path = tmp_path / "src" / "01_divergences.ipynb"
    path.parent.mkdir()
    nbformat.write(_nb(*cells), path)
    journey.walk(path, tmp_path / "run")
    with pytest.raises(journey.JourneyError, match="done too early"):
        journey.walk(path, tmp_path / "run_all", all_done=True)


def test_a_graded_cell_writing_to_stderr_fails_the_journey(tmp_path):
    src = nbformat.read(journey.NOTEBOOKS / "00_start_here.ipynb", as_version=4)
    src.cells.append(nbformat.v4.new_code_cell("import sys\nprint('warned', file=sys.stderr)",
                                               metadata={"nbgrader": {"grade": True, "grade_id": "noisy", "points": 1}}))
    path = tmp_path / "src" / "00_start_here.ipynb"
    path.parent.mkdir()
    nbformat.write(src, path)
    with pytest.raises(journey.JourneyError, match="graded cell 'noisy' wrote to stderr"):
        journey.walk(path, tmp_path / "run")

"""Notebook 06's promises about itself: the points tables at the top agree with the graded
cells, every written question states its points, and the introduction names the earlier
notebooks whose exercises the training runs need; the MNIST-1D experiments (05, 06) are skipped while autograding."""

import ast
import re

import nbformat
import pytest

from autograder import SOLUTIONS

NB = nbformat.read(SOLUTIONS / "06_regularization_and_heuristics.ipynb", as_version=4)


def _graded():
    return [(i, c) for i, c in enumerate(NB.cells) if c.metadata.get("nbgrader", {}).get("grade")]


def _table_rows(text, header):
    """The rows (lists of cells) of the markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header}"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_points_tables_add_up_to_the_graded_cells():
    intro = NB.cells[0].source
    exercise_rows = _table_rows(intro, "Exercise")
    question_rows = _table_rows(intro, "Written question")
    table_total = sum(int(r[-1]) for r in exercise_rows + question_rows)
    graded_total = sum(c.metadata["nbgrader"]["points"] for _, c in _graded())
    assert table_total == graded_total, f"the tables promise {table_total} points, the graded cells give {graded_total}"

    tests = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for _, c in _graded()
             if c.cell_type == "code" and not c.metadata["nbgrader"].get("solution")}
    for row in exercise_rows:
        number = row[0].split()[0]
        if number.startswith("6."):
            # the test cell right after the exercise's heading carries the points
            heading = next(i for i, c in enumerate(NB.cells) if c.source.startswith(f"## Exercise {number}:"))
            test = next(c for c in NB.cells[heading:] if c.metadata.get("nbgrader", {}).get("grade_id") in tests)
            assert test.metadata["nbgrader"]["points"] == int(row[-1]), f"Exercise {number}: table and test cell disagree"


def test_every_written_question_states_the_points_of_its_answer_cell():
    answers = [(i, c) for i, c in _graded() if c.cell_type == "markdown"]
    assert len(answers) == len(_table_rows(NB.cells[0].source, "Written question"))
    for i, cell in answers:
        question = NB.cells[i - 1].source
        match = re.search(r"\*\*Question \((\d+) points?\)\.\*\*", question)
        assert match, f"the cell before answer {cell.metadata['nbgrader']['grade_id']!r} must state its points"
        assert int(match.group(1)) == cell.metadata["nbgrader"]["points"]


def test_the_introduction_names_the_notebooks_the_training_runs_need():
    intro = NB.cells[0].source
    for needed in ("Notebook 01", "Notebook 02", "Notebook 03", "Notebook 04", "nn.Linear", "Adam", "he_normal",
                   "BatchNorm1d"):
        assert needed in intro, f"the introduction should name {needed}"


# ---- issue 14, deliverable 4: the MNIST-1D experiments cost nothing while autograding ----

MNIST1D_CALLS = {"load_mnist1d", "mnist1d_run"}


def _unguarded_mnist1d_calls(source):
    """Lines of calls that generate or train on MNIST-1D outside a function body and outside
    ``if not train.autograding():`` (the figures are skipped while grading)."""
    tree = ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def guarded(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                return True
            if isinstance(node, ast.If) and ast.unparse(node.test) == "not train.autograding()":
                return True
        return False

    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in MNIST1D_CALLS and not guarded(node)]


def test_the_guard_finder_finds_an_unguarded_call():
    assert _unguarded_mnist1d_calls("x = data.load_mnist1d()\nif not train.autograding():\n    y = mnist1d_run()\n") == [1]
    assert _unguarded_mnist1d_calls("def f():\n    return data.load_mnist1d()\n") == []


@pytest.mark.parametrize("name", ["05_dropout.ipynb", "06_regularization_and_heuristics.ipynb"])
def test_mnist1d_experiments_are_skipped_while_autograding(name):
    """Generating MNIST-1D takes seconds and its experiments far longer. Outside the capstone (a solution cell that
    shortens itself with ``train.budget``), every cell that uses it does so under ``if not train.autograding():``."""
    nb = nbformat.read(SOLUTIONS / name, as_version=4)
    used = False
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade_id") == "capstone":
            continue
        used |= any(f"{call}(" in cell.source for call in MNIST1D_CALLS)
        assert not _unguarded_mnist1d_calls(cell.source), f"{name}, cell {i}: MNIST-1D used while autograding"
    assert used, f"{name} should use MNIST-1D"

"""Notebook 06's promises about itself: the points tables at the top agree with the graded
cells, every written question states its points, and the introduction names the earlier
notebooks whose exercises the training runs need."""

import re

import nbformat

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

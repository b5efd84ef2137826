"""Notebooks 02 and 03 outside their own cells: the Nesterov derivation sits in the solution regions with its
hints in order, the points tables match the graded cells, and the plotting helpers the figures rely on. (That
no student file gives a derivation's result away is tests/test_no_answers.py.)"""

import json
import re

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder import NOTEBOOKS, ROOT, SOLUTIONS  # noqa: E402
from nntricks import optim, plot, surfaces  # noqa: E402


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_solution_keeps_the_derivation():
    answer = [c for c in _cells(SOLUTIONS / "02_optimizers.ipynb")
              if c["metadata"].get("nbgrader", {}).get("grade_id") == "q_nesterov"]
    assert len(answer) == 1 and answer[0]["metadata"]["nbgrader"]["points"] == 3
    text = "".join(answer[0]["source"])
    assert text.startswith("### BEGIN SOLUTION") and r"g + \beta\, v_\text{new}" in text
    reference = (ROOT / "reference" / "nntricks" / "optim.py").read_text()
    region = reference[reference.index("class SGD"):reference.index("class RMSProp")]
    region = region[region.index("### BEGIN SOLUTION"):region.index("### END SOLUTION")]
    assert "w_new = w - lr (g + beta v_new)" in region  # the derivation sits inside the solution region


@pytest.mark.parametrize("question, test_cell, hints", [("q-nesterov", "b3c8cff4", 3), ("q-adam", "fc71124e", 3)])
def test_derivation_hints_are_collapsed_and_in_order(question, test_cell, hints):
    """Nesterov's update (Question 1) and Adam's bias correction (Question 3): question, answer cell, hints, test."""
    cells = _cells(NOTEBOOKS / "02_optimizers.ipynb")
    ids = [c.get("id") for c in cells]
    prompt, answer, hint = (ids.index(f"{question}-{part}") for part in ("prompt", "answer", "hints"))
    assert prompt < answer < hint < ids.index(test_cell), "question, answer cell, hints, then the exercise's test"
    text = "".join(cells[hint]["source"])
    summaries = re.findall(r"<details><summary><b>(Hint \d)</b>", text)
    assert summaries == [f"Hint {k}" for k in range(1, hints + 1)]
    assert text.count("<details>") == text.count("</details>") == hints
    assert "".join(cells[answer]["source"]).strip() == "YOUR ANSWER HERE"


def test_the_solution_derives_the_bias_correction():
    answer = [c for c in _cells(SOLUTIONS / "02_optimizers.ipynb")
              if c["metadata"].get("nbgrader", {}).get("grade_id") == "q_adam_bias"]
    assert len(answer) == 1 and answer[0]["metadata"]["nbgrader"]["points"] == 3
    text = "".join(answer[0]["source"])
    assert text.startswith("### BEGIN SOLUTION") and r"\mathbb{E}[m_t] = (1 - \beta_1^t)\, \mathbb{E}[g]" in text
    assert r"\hat m_t = \frac{m_t}{1 - \beta_1^t}" in text


def _graded_points(path):
    points = {"code": 0, "markdown": 0}
    for cell in _cells(path):
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade"):
            points[cell["cell_type"]] += meta["points"]
    return points


@pytest.mark.parametrize("name, exercises, written", [("02_optimizers", 15, 14), ("03_initialization", 7, 10)])
def test_points_tables_match_the_graded_cells(name, exercises, written):
    path = SOLUTIONS / f"{name}.ipynb"
    assert _graded_points(path) == {"code": exercises, "markdown": written}
    intro = "".join(_cells(path)[0]["source"])
    assert f"Total: {exercises} points for the exercises, {written} for the written answers" in intro
    table = sum(int(row.rsplit("|", 2)[-2]) for row in intro.splitlines()
                if row.startswith("| ") and row.rstrip().endswith("|") and row.rsplit("|", 2)[-2].strip().isdigit())
    assert table == exercises + written, "the rows of the points tables should add up to the graded points"
    for cell in _cells(path):
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "**Question" in text:
            assert re.search(r"\*\*Question \d \(\d points?\)\.\*\*", text), text[:80]


def test_grid_over_a_zoom():
    s = surfaces.rosenbrock()
    X, Y, Z = s.grid(n=11, extent=(-1.0, 1.0, 0.0, 2.0))
    assert X.min() == -1.0 and X.max() == 1.0 and Y.min() == 0.0 and Y.max() == 2.0
    np.testing.assert_allclose(Z[3, 4], s(np.array([X[3, 4], Y[3, 4]])), rtol=1e-12, atol=1e-12)
    X, _, _ = s.grid(n=5)
    assert (X.min(), X.max()) == s.extent[:2]


def test_paths_highlight_zoom_and_legend_outside():
    s = surfaces.ill_conditioned_quadratic(10.0)
    runs = {name: surfaces.trajectory(s, make, steps=20)[0] for name, make in
            (("GD", lambda p: optim.SGD(p, lr=0.05)), ("Adam", lambda p: optim.Adam(p, lr=0.3)))}
    ax = plot.paths(s, runs, highlight="Adam", extent=(-4.5, 0.5, -1.2, 1.2), marks=5)
    assert ax.get_xlim() == (-4.5, 0.5) and ax.get_ylim() == (-1.2, 1.2)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert matplotlib.colors.same_color(lines["Adam"].get_color(), "C1"), "path i keeps colour Ci"
    grey = [line for line in ax.get_lines() if line.get_label().startswith("_") and len(line.get_xdata()) == 21]
    assert grey and all(matplotlib.colors.same_color(line.get_color(), "0.75") for line in grey)
    assert lines["Adam"].get_markevery() == 4  # 20 steps, 5 marks
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Adam", "minimum"]
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1, "the legend sits outside the axes"
    assert plot.paths(s, runs, legend=False, marks=0).get_legend() is None
    plt.close("all")

"""Exercise 5.3 (``dropout.exact_average``) in notebook 05: its test cell is capped by the hidden checks of
the exercise, calls the package through its module (so autoreload sees the student's edits), and its
visible tests pass with the reference and fail for the mistakes the hidden checks name."""

import json
import re
import types

import numpy as np
import pytest
from autograder import NOTEBOOKS, SOLUTIONS
from nntricks import dropout


def _cell(folder, grade_id):
    nb = json.loads((folder / "05_dropout.ipynb").read_text())
    found = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(found) == 1, grade_id
    return found[0]


def test_the_test_cell_is_capped_by_the_hidden_checks():
    cell = _cell(SOLUTIONS, "test_exact_average")
    source = "".join(cell["source"])
    cap = re.search(r"autograder\.cell\.hidden\(\[?'dropout\.exact_average'\]?, (\d+)\)", source)
    assert cap and float(cap.group(1)) == cell["metadata"]["nbgrader"]["points"]
    assert "### BEGIN HIDDEN TESTS" in source.split("autograder.cell.hidden")[0]
    student = "".join(_cell(NOTEBOOKS, "test_exact_average")["source"])
    assert "autograder.cell.hidden" not in student  # the hidden part is stripped from the student's copy


def test_no_notebook_cell_defines_exact_average():
    for folder in (SOLUTIONS, NOTEBOOKS):
        nb = json.loads((folder / "05_dropout.ipynb").read_text())
        for c in nb["cells"]:
            text = "".join(c["source"])
            assert "def exact_average" not in text
            if c["cell_type"] == "code":
                assert not re.search(r"(?<![.\w])exact_average\(", text), "call it as dropout.exact_average"


def _visible(module):
    source = "".join(_cell(SOLUTIONS, "test_exact_average")["source"]).split("### BEGIN HIDDEN TESTS")[0]
    exec(compile(source, "test_exact_average", "exec"), {"np": np, "dropout": module})


def _masks(N):
    return np.array([[float(b) for b in np.binary_repr(i, N)] for i in range(2**N)])


MUTANTS = {
    "weight scaling": lambda f, N, alpha: np.asarray(f(np.full((1, N), alpha)), dtype=float)[0],
    "unweighted mean": lambda f, N, alpha: np.asarray(f(_masks(N)), dtype=float).mean(axis=0),
    "drop probability": lambda f, N, alpha: np.tensordot(
        (1 - alpha) ** _masks(N).sum(1) * alpha ** (N - _masks(N).sum(1)), f(_masks(N)), axes=1),
}


def test_the_reference_passes_the_visible_tests():
    _visible(dropout)


@pytest.mark.parametrize("name", MUTANTS)
def test_the_visible_tests_catch_the_mutants(name):
    with pytest.raises(AssertionError):
        _visible(types.SimpleNamespace(exact_average=MUTANTS[name]))

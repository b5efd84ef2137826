"""Notebook 05: students derive dropout's test-time factor, inverted scaling and mask gradient (Question Q1)
before Exercises 5.1 and 5.2, so nothing they see before those exercises' test cells gives the results.

Searched, spacing-tolerant, as code, plain text or LaTeX: the student notebook's cells before the exercise's
test cell (outputs included), the stub ``notebooks/nntricks/dropout.py``, and the messages (string literals) of
the visible test cells. Each pattern is shown to find its result in the solution sources, so none is vacuous.
"""

import ast
import json
import re

import pytest

from autograder import NOTEBOOKS, REFERENCE, SOLUTIONS

S = r"\s*"
NAME = "05_dropout.ipynb"

#: result -> (the test cell before which it must not appear, patterns that would give it away)
RESULTS = {
    "the expectation E[m y] = alpha y": ("test_dropout_forward", [
        r"\\mathbb\{E\}\s*\[\s*m_i\s*(\\,)?\s*y_i\s*\]\s*=\s*\\alpha", r"E\[\s*m\s*\*?\s*y\s*\]\s*=\s*alpha"]),
    "the weight-scaling rule W_test = alpha W": ("test_dropout_forward", [
        r"W_\{\\text\{test\}\}\s*=\s*\\alpha\s*W", rf"W_test{S}={S}alpha{S}\*?{S}W"]),
    "the inverted forward pass y * mask / alpha": ("test_dropout_forward", [
        rf"\by{S}\*{S}mask{S}/{S}alpha", rf"\bmask{S}\*{S}y{S}/{S}alpha", r"m_i\s*(\\,)?\s*y_i\s*/\s*\\alpha",
        r"m\s*\\odot\s*y\s*/\s*\\alpha", r"\\frac\{\s*m_i\s*(\\,)?\s*y_i\s*\}\{\s*\\alpha\s*\}"]),
    "the classic test-time output alpha * y": ("test_dropout_forward", [
        rf"\balpha{S}\*{S}y\b", r"\\alpha\s*(\\,)?\s*y\s*\$?\s*\(inverted|\|\s*\$\\alpha\\,\s*y\$"]),
    "the mask code rng.random(...) < alpha": ("test_dropout_forward", [rf"random{S}\([^)]*\){S}<{S}alpha"]),
    "the mask's gradient dout * mask (/ alpha)": ("test_dropout_backward", [
        rf"\bdout{S}\*{S}mask\b", rf"\bmask{S}\*{S}dout\b",
        r"\\partial\s*\\tilde\s*y_i\s*/\s*\\partial\s*y_i\s*=\s*m_i", r"\\frac\{\s*m_i\s*\}\{\s*\\alpha\s*\}"]),
}


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _text(cell):
    outputs = "".join("".join(o.get("text", "")) + json.dumps(o.get("data", {})) for o in cell.get("outputs", []))
    return "".join(cell["source"]) + outputs


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _messages(source):
    """The string literals of a code cell (its assertion messages), f-strings' literal parts included."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _student_texts(test_cell):
    cells = _cells(NOTEBOOKS / NAME)
    end = next(i for i, c in enumerate(cells) if _grade_id(c) == test_cell)
    for i, cell in enumerate(cells[:end]):
        yield f"{NAME}, cell {i}", _text(cell)
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and (_grade_id(cell) or "").startswith("test_"):
            for message in _messages("".join(cell["source"])):
                yield f"{NAME}, a message of test cell {i}", message
    yield "nntricks/dropout.py", (NOTEBOOKS / "nntricks" / "dropout.py").read_text()


@pytest.mark.parametrize("what", RESULTS)
def test_nothing_before_the_attempt_gives_the_result(what):
    test_cell, patterns = RESULTS[what]
    found = [(where, m.group(0)) for where, text in _student_texts(test_cell) for pattern in patterns
             for m in re.finditer(pattern, text)]
    assert not found, f"{what} is given away before the attempt: {found[:5]}"


@pytest.mark.parametrize("what", RESULTS)
def test_the_patterns_find_the_result_in_the_solution_sources(what):
    sources = ["".join(c["source"]) for c in _cells(SOLUTIONS / NAME)] + [(REFERENCE / "nntricks" / "dropout.py").read_text()]
    _, patterns = RESULTS[what]
    assert any(re.search(pattern, text) for pattern in patterns for text in sources), what


def test_the_derivation_is_a_graded_question_before_exercise_5_1():
    cells = _cells(SOLUTIONS / NAME)
    ids = [_grade_id(c) for c in cells]
    answer = ids.index("q_dropout_derivation")
    assert answer < ids.index("test_dropout_forward")
    assert cells[answer]["metadata"]["nbgrader"]["points"] == 3
    assert "Question Q1 (3 points)" in "".join(cells[answer - 1]["source"])
    assert "<details>" in "".join(cells[answer + 1]["source"]), "hints follow the answer cell"

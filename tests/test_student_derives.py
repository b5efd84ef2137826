"""Issue 7, item 2: where the point of an exercise is a derivation, the student files never give its result.

The generated student files are searched for the result formulas below, written as code or
as LaTeX, tolerant of spacing: the stub package ``notebooks/nntricks/*.py`` always, and the
student notebooks ``notebooks/*.ipynb`` (solutions and hidden tests already removed by the
release) up to the notebook where the student derives the result (a later notebook may use
it: the student has derived it by then). The solution
notebooks and the reference keep them (inside solution regions), so the release strips
them. Nesterov's look-ahead step is checked the same way in ``tests/test_nb_02_03.py``, the
batch-norm Jacobian and backward pass in ``tests/test_nb_04_05.py``.
"""

import json
import re

import pytest

from autograder import NOTEBOOKS

S = r"\s*"
SELF = r"(?:self\s*\.\s*)?"

#: what the derivation's result is -> (the notebook that asks for it, regular expressions that would give it away)
FORMULAS = {
    "the linear layer's dW (x.T @ dout)": ("01_divergences", [
        rf"\bx{S}\.{S}T{S}@{S}dout\b", rf"np{S}\.{S}dot{S}\({S}{SELF}x{S}\.{S}T{S},{S}dout", r"x\^\{?\\top\}?\s*G\b"]),
    "the linear layer's dx (dout @ W.T)": ("01_divergences", [
        rf"\bdout{S}@{S}{SELF}W{S}\.{S}T\b", r"\bG\s*W\^\{?\\top\}?"]),
    "the linear layer's db (dout.sum(0))": ("01_divergences", [
        rf"\bdout{S}\.{S}sum{S}\({S}(?:axis{S}={S})?0{S}\)", rf"np{S}\.{S}sum{S}\({S}dout{S},{S}(?:axis{S}={S})?0{S}\)"]),
    "the sigmoid's derivative y (1 - y)": ("01_divergences", [
        rf"\by{S}\*{S}\({S}1{S}-{S}{SELF}y{S}\)", r"\\sigma'\s*\(\s*\w\s*\)\s*=\s*\\sigma\s*\(\s*\w\s*\)\s*(?:\\,)?\s*\(\s*1\s*-",
        r"\\sigma\(z\)\s*(?:\\,)?\s*\(\s*1\s*-\s*\\sigma\(z\)\s*\)",
        rf"sigmoid{S}\({S}z{S}\){S}\*{S}\({S}1{S}-{S}sigmoid{S}\({S}z{S}\){S}\)"]),
    "tanh's derivative 1 - y**2": ("01_divergences", [
        rf"\b1{S}-{S}{SELF}y{S}\*\*{S}2", r"\b1\s*-\s*y\^2", r"1\s*-\s*\\tanh\^2"]),
    "the softmax cross-entropy gradient (softmax(z) - d) / B": ("01_divergences", [
        rf"\bsoftmax{S}\({S}z{S}\){S}-{S}d\b", r"\\mathrm\{softmax\}\s*\(\s*z\s*\)\s*-\s*d\b", r"\by_k\s*-\s*d_k\b"]),
}


def _student_texts(until):
    """(where, text) of the stubs and of the student notebooks up to notebook ``until``."""
    for path in sorted((NOTEBOOKS / "nntricks").glob("*.py")):
        yield f"nntricks/{path.name}", path.read_text()
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if path.stem <= until:
            for i, cell in enumerate(json.loads(path.read_text())["cells"]):
                yield f"{path.name}, cell {i}", "".join(cell["source"])


@pytest.mark.parametrize("what", FORMULAS)
def test_no_student_file_gives_the_result_away(what):
    until, patterns = FORMULAS[what]
    found = [(where, m.group(0)) for where, text in _student_texts(until) for pattern in patterns
             for m in re.finditer(pattern, text)]
    assert not found, f"{what} appears in the student files: {found[:5]}"


@pytest.mark.parametrize("what", FORMULAS)
def test_the_patterns_find_the_reference_s_results(what):
    """The patterns are not vacuous: each finds its formula in the reference or the solutions."""
    from autograder import REFERENCE, SOLUTIONS
    sources = [p.read_text() for p in (REFERENCE / "nntricks").glob("*.py")]
    until, patterns = FORMULAS[what]
    sources += ["".join(c["source"]) for p in SOLUTIONS.glob(f"{until}.ipynb") for c in json.loads(p.read_text())["cells"]]
    assert any(re.search(pattern, text) for pattern in patterns for text in sources), what

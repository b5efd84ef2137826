"""The hints of the nn and optim checks (what students read in `check`, in the hidden test cells and in
their reports) point to the route of a derivation, never to its result: no string literal of those
check modules spells out a result the course asks students to derive."""

import ast
import re
from pathlib import Path

import pytest

from autograder import ROOT

MODULES = ["nn", "nn_run", "nn_linear", "nn_activations", "optim", "optim_mistakes"]

S = r"\s*"
#: result of a derivation the course asks for -> (a pattern tolerant of spacing and notation,
#: a hint that once gave it away, kept here to show that the pattern finds it)
LEAKS = {
    "Linear's dx": (rf"sum_j{S}dout\[n,{S}j\]{S}\*?{S}W\[i,{S}j\]|dout{S}@{S}(self\.)?W\.T",
                    "dx[n, i] = sum_j dout[n, j] W[i, j]: the sum runs over W's second index."),
    "Linear's dW": (rf"sum_n{S}x\[n,{S}i\]{S}\*?{S}dout\[n,{S}j\]|x\.T{S}@{S}dout",
                    "chain rule: dW[i, j] = sum_n x[n, i] dout[n, j]."),
    "the sigmoid's derivative": (rf"y{S}\*?{S}\({S}1{S}-{S}y{S}\)|sigma\(x\){S}\*?{S}sigma\(-x\)",
                                 "derivative y instead of y (1 - y)"),
    "tanh's derivative": (rf"1{S}-{S}y{S}(\*\*|\^){S}2|1{S}/{S}cosh|cosh\(x\){S}(\*\*|\^){S}2",
                          "tanh'(x) = 1 / cosh(x)^2: write it through y = tanh(x) (squared)."),
    "ReLU's derivative": (rf"dout where x{S}>{S}0|dout{S}\*{S}\(?{S}x{S}>{S}0", "chain rule: dx = dout where x > 0, else 0."),
    "Nesterov's step": (rf"g{S}\+{S}(self\.)?momentum{S}\*{S}(self\.)?v\b|g{S}\+{S}beta{S}\*?{S}v",
                        "with nesterov=True the step is g + momentum * v."),
    "Adam's bias correction": (rf"1{S}-{S}(self\.)?beta[12]?{S}(\*\*|\^){S}(self\.)?t\b",
                               "m_hat = m / (1 - beta1**t): without it the first steps are too small."),
}


def _literals(module):
    """Every string literal of ``autograder/checks/<module>.py`` (f-strings: their literal parts)."""
    tree = ast.parse((ROOT / "autograder" / "checks" / f"{module}.py").read_text())
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize("what", LEAKS)
def test_each_pattern_finds_the_hint_that_gave_it_away(what):
    pattern, old_hint = LEAKS[what]
    assert re.search(pattern, old_hint), f"the pattern for {what} misses {old_hint!r}"


@pytest.mark.parametrize("module", MODULES)
def test_no_hint_gives_a_derivation_away(module):
    leaked = [(what, text) for text in _literals(module) for what, (pattern, _) in LEAKS.items()
              if re.search(pattern, text)]
    assert not leaked, f"autograder/checks/{module}.py: " + "; ".join(f"{w}: {t[:120]!r}" for w, t in leaked)


def test_the_scan_reads_the_hints():
    """The scan sees the catalogues' hints (a scan that reads nothing passes vacuously)."""
    texts = "\n".join(_literals("nn_activations") + _literals("optim_mistakes") + _literals("nn_linear"))
    for hint in ("the sigmoid used as its own derivative", "geometric sum", "which index of W the sum runs over"):
        assert hint in texts
    assert Path(ROOT / "autograder" / "checks" / "nn.py").read_text().count("nn_linear") >= 1

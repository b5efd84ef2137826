"""No answer before the attempt (issue 14, item 3): one table of the results of every derivation the
course asks for, searched in everything a student sees before attempting it.

Where a student looks, and from when a result may appear:

- the student notebooks ``notebooks/*.ipynb``: every cell of the notebooks before the derivation's
  notebook, and of that notebook every cell up to and including the cell that closes the attempt (the
  exercise's test cell, whose visible messages the student reads while trying; or the written
  derivation's answer cell where the course asks for the result on its own); the outputs of those
  cells as the executed solutions show them (the release clears them);
- the stub package ``notebooks/nntricks/*.py``, whole (it is open from the first notebook on);
- the string literals of ``autograder/checks/`` (the hints of ``check``, of the hidden test cells and
  of the feedback reports), whole.

Texts are normalized before the search (spacing, LaTeX commands, ``self.``/``np.``, ``**`` and ``^``,
subscripts, ``\\frac``, transposes), so one pattern finds ``y * (1 - y)``, ``self.y*(1-self.y)`` and
``y\\,(1 - y)``. Every pattern is shown to find its formula in the solutions or the reference, and to
find the spellings listed with it. This file replaced the leak tests of tests/test_student_derives.py,
tests/test_nb_02_03.py, tests/test_nb_04_05.py and tests/test_checks_hints.py.
"""

import ast
import json
import re
from typing import NamedTuple

import pytest

from autograder import NOTEBOOKS, REFERENCE, ROOT, SOLUTIONS


class Result(NamedTuple):
    notebook: str  # the notebook that asks for the derivation
    closes: tuple  # grade_ids of the cell that closes the attempt, first one present in the notebook wins
    patterns: tuple  # regular expressions on normalized text
    spellings: tuple  # ways of writing the result that the patterns must find (raw text)


_GREEK = "alpha|beta|gamma|delta|sigma|eta|lambda|mu|varepsilon|epsilon|theta|kappa"


def _frac(m):
    parts = [re.sub(r"\s+", "", g) for g in m.groups()]
    return "/".join(g if re.fullmatch(r"[\w.]+", g) else f"({g})" for g in parts)


def normalize(text):
    """One spelling for the many ways of writing a formula in code, plain text or LaTeX."""
    t = text.replace(r"\_", "_")
    t = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|bigg|Bigg|big|Big)(?![A-Za-z])", "", t)
    t = re.sub(r"\\[,;:! ]|\\quad|\\qquad", " ", t)
    t = re.sub(r"\\(?:mathrm|operatorname|text|mathbf|mathit|boldsymbol|mathbb|textrm)\s*\{([^{}]*)\}", r"\1", t)
    t = re.sub(r"\\hat\s*\{?\s*(\w)\s*\}?", r"\1hat", t)
    t = t.replace(r"\partial", "d").replace(r"\top", "T").replace(r"\cdot", "*").replace(r"\times", "*")
    t = t.replace(r"\sum", "sum")
    t = re.sub(rf"\\({_GREEK}|tanh|cosh|sinh|sech|exp|log)(?![A-Za-z])", r"\1", t)
    for _ in range(6):  # innermost first: sub- and superscripts, \sqrt{..}, \overline{..}, \frac{..}{..}
        t = re.sub(r"([_^])\{\s*([^{}]*?)\s*\}", r"\1\2", t)
        t = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", t)
        t = re.sub(r"\\overline\s*\{([^{}]*)\}", r"mean(\1)", t)
        t = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", _frac, t)
        t = re.sub(r"\\[dt]?frac\s*(\w)\s*(\w)", _frac, t)
    t = re.sub(r"\s*\n\s*", "\n", t.replace("{", "").replace("}", ""))  # a line break still ends a word
    t = re.sub(r"[^\S\n]+", "", t)
    t = t.replace("**", "^").replace("self.", "").replace("np.", "").replace("numpy.", "").replace("_", "")
    t = re.sub(r"\^\\?T(?![a-z0-9])|\.transpose\(\)|\.T\b", ".T", t)
    t = re.sub(r"(?<![\w)\]])\((\w+(?:\.\w+)?|\w+\([^()]*\))\)", r"\1", t)  # (B) -> B, (sqrt(s)) -> sqrt(s)
    return t


M = r"\*?"  # an optional multiplication sign
ONE = r"1(?:\.0?)?"
IN, OUT = r"(?:fanin|nin|din|fin)", r"(?:fanout|nout|dout|fout)"

RESULTS = {
    # 01: divergences and layers
    "the softmax cross-entropy gradient (softmax(z) - d) / B": Result(
        "01_divergences", ("test_softmax_cross_entropy",),
        (r"softmax\((?:z|scores|logits)\)-(?:d|target)\b", r"exp\(logsoftmax\(z\)\)-d\b", r"\byk-dk\b"),
        ("(softmax(z) - d) / B", r"\mathrm{softmax}(z) - d", "y_k - d_k", "(np.exp(log_softmax(z)) - d)")),
    "the error signal of a sigmoid with cross-entropy, sigma(z) - d": Result(
        "01_divergences", ("q_kl_convex",),
        (r"(?:sigma|sigmoid)\(z\)-d\b(?!\)\^)",),
        (r"\sigma(z) - d", "sigmoid(z) - d")),
    "the linear layer's dW = x.T @ dout": Result(
        "01_divergences", ("test_linear",),
        (rf"\bx\.T{M}@?{M}(?:dout|G\b|delta\b|dz\b)", rf"dot\(x\.T,(?:dout|G\b)", rf"sumnx\[?n,?i\]?{M}(?:dout|G)\[?n,?j\]?"),
        ("x.T @ dout", "np.dot(self.x.T, dout)", r"x^\top G", "dW[i, j] = sum_n x[n, i] dout[n, j]", r"\sum_n x_{ni} G_{nj}")),
    "the linear layer's dx = dout @ W.T": Result(
        "01_divergences", ("test_linear",),
        (rf"(?:dout|\bG){M}@?{M}W\.T", rf"dot\(dout,W\.T", rf"sum[jk](?:dout|G)\[?n,?([jk])\]?{M}W\[?i,?\1\]?"),
        ("dout @ self.W.T", r"G W^{\top}", "dx[n, i] = sum_j dout[n, j] W[i, j]", r"\sum_k G_{nk} W_{ik}")),
    "the linear layer's db = dout.sum(0)": Result(
        "01_divergences", ("test_linear",),
        (r"dout\.sum\((?:axis=)?0", r"\bsum\(dout,(?:axis=)?0", r"sumn(?:dout|G)\[?n,?j\]?\b"),
        ("dout.sum(axis=0)", "np.sum(dout, axis=0)", r"\sum_n G_{nj}")),
    "the sigmoid's derivative y (1 - y)": Result(
        "01_divergences", ("derive_sigmoid_slope", "test_activations"),
        (rf"(?<!/\()(?<!/)\b(y|s|out|(?:sigma|sigmoid)\((?:z|x)\)){M}\({ONE}-\1\)",
         rf"(?:sigma|sigmoid)\(([zx])\){M}(?:sigma|sigmoid)\(-\1\)", r"sigma'\(?[zx]?\)?=sigma\(?[zx]?\)?\(1-"),
        ("y * (1 - y)", "self.y * (1.0 - self.y)", r"y\,(1 - y)", r"\sigma(z)\,(1 - \sigma(z))",
         "sigmoid(z) * sigmoid(-z)", r"\sigma(x)\sigma(-x)")),
    "tanh's derivative 1 - y**2": Result(
        "01_divergences", ("test_activations",),
        (rf"\b{ONE}-(?:y|tanh(?:\([xz]\))?|out)\^2", rf"\b{ONE}-(y){M}\1\b", r"\b1/cosh(?:\^2|\([xz]\)\^2)", r"sech\^?2"),
        ("1 - y**2", "1 - self.y ** 2", r"1 - \tanh^2 x", "1 - y^2", "1 / cosh(x)^2", "1 - y * y", r"\operatorname{sech}^2")),
    "ReLU's derivative (x > 0)": Result(
        "01_divergences", ("test_activations",),
        (rf"dout{M}\(?x>0\)?(?!\.)", rf"\(x>0\){M}dout", r"where\(x>0,dout", r"dout\[x<=0\]=0", r"doutwherex>0"),
        ("dout * (self.x > 0)", "(x > 0) * dout", "np.where(x > 0, dout, 0)", "dout where x > 0", "dout[x <= 0] = 0")),
    # 02: optimizers
    "Nesterov's step g + momentum v_new": Result(
        "02_optimizers", ("test_sgd",),
        (rf"\bg\+(?:momentum|beta|mu){M}v(?:new)?\b", rf"\({ONE}\+(?:momentum|beta)\){M}g", rf"(?:beta|momentum)\^2{M}v\b",
         r"1\+0\.9\*1\.9", r"0\.1\(1\+0\.9\)"),
        ("g + self.momentum * v", r"g + \beta\, v_\text{new}", r"(1 + \beta)\, g + \beta^2 v", "1 + 0.9 * 1.9")),
    "Adam's bias correction m / (1 - beta1^t)": Result(
        "02_optimizers", ("test_adam",),
        (r"/\(1-beta[12]?\^t\)", r"/\(1-0\.9{1,3}\^t\)", r"(?:mhat|vhat)=\(?[mv]\)?/"),
        ("m / (1 - beta1**t)", "m_hat = m / (1 - self.beta1 ** self.t)", r"\hat m = \frac{m}{1 - \beta_1^t}",
         r"\frac{v}{1-\beta_2^{\,t}}", "v / (1 - 0.999**t)")),
    # 03: initialization
    "LeCun's variance 1 / fan_in": Result(
        "03_initialization", ("test_fan_in_scaled",),
        (rf"sqrt\(1/{IN}\)", rf"Var\(W\)=1/{IN}\b(?!\+)", rf"std=1/sqrt\({IN}\)"),
        ("sqrt(1 / fan_in)", r"\sqrt{1/n_\text{in}}", r"\mathrm{Var}(W) = \frac{1}{\text{fan\_in}}", "std = 1/sqrt(fan_in)")),
    "Glorot's compromise 2 / (fan_in + fan_out)": Result(
        "03_initialization", ("test_fan_in_scaled",),
        (rf"[26](?:\.0)?/\({IN}\+{OUT}\)", rf"sqrt\(6\)/sqrt\({IN}\+{OUT}\)"),
        ("sqrt(6 / (fan_in + fan_out))", r"\frac{2}{n_\text{in} + n_\text{out}}", "2.0 / (fan_in + fan_out)")),
    "He's factor 2, 2 / fan_in": Result(
        "03_initialization", ("test_he",),
        (rf"(?<![\d.])[26](?:\.0)?/{IN}\b(?!\+)",),
        ("sqrt(2 / fan_in)", r"\sqrt{6/n_\text{in}}", r"\frac{2}{\text{fan\_in}}", "np.sqrt(2.0 / fan_in)")),
    # 04: batch normalization
    "the batch-norm Jacobian": Result(
        "04_batchnorm", ("test_batchnorm_backward",),
        (r"1/sqrt\(s\)-1/\(?Bsqrt\(s\)", r"\(deltaij-1/B\)/\(?sqrt\(s\)", r"\((?:zi|z)-mu\w?\)\*?\(zj-mu\w?\)\)?/\(?Bs\^",
         r"I-1/B1{1,2}\.T", r"I-1{1,2}\.T/B", r"eye\(B\)-1(?:\.0)?/B", r"outer\(zc,zc\)/\(B"),
        (r"\frac{1}{\sqrt{s}} - \frac{1}{B\sqrt{s}}", r"\frac{\delta_{ij} - \frac{1}{B}}{\sqrt{s}}",
         "(delta_ij - 1/B) / sqrt(s)", r"I - \tfrac{1}{B}\mathbf{1}\mathbf{1}^\top", "np.eye(B) - 1 / B")),
    "the summed batch-norm backward": Result(
        "04_batchnorm", ("test_batchnorm_backward",),
        (r"mean\(u\*?dL/du", r"dui-meanjduj", rf"mean\((?:du|dout){M}u[,)]", rf"\((?:du|dout){M}u\)\.mean\(",
         rf"u{M}\(dgamma/B\)"),
        (r"\overline{u \frac{\partial L}{\partial u}}", "du_i - mean_j du_j", "np.mean(du * u, axis=0)", "(dout * u).mean(0)")),
    # 05: dropout
    "dropout's inverted scaling y * mask / alpha": Result(
        "05_dropout", ("test_dropout_forward",),
        (rf"\b[yx]{M}mask/alpha\b", rf"\bmask{M}[yx]/alpha\b", rf"\b[yx]/alpha{M}mask\b", rf"\bmi?{M}yi?/alpha\b"),
        ("y * mask / alpha", "mask * y / alpha", "y / alpha * mask", r"$m_i y_i / \alpha$")),
    "dropout's mask gradient dout * mask / alpha": Result(
        "05_dropout", ("test_dropout_backward",),
        (rf"\bdout{M}mask(?:/alpha)?\b", rf"\bmask{M}dout\b"),
        ("dout * mask / alpha", "mask * dout", "dout * mask")),
}

#: Leaks found in files that other helpers are editing now (issue 14): reported to the lead, to be
#: fixed by the owner of the file. Each entry must still leak (a fixed one must leave this list).
#: (result, where) -> owner
PENDING: dict[tuple[str, str], str] = {}  # (result, file) -> who must fix it: leaks known and not yet fixed


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _outputs(cell):
    for out in cell.get("outputs", []):
        if "text" in out:
            yield "".join(out["text"])
        for kind, value in out.get("data", {}).items():
            if kind.startswith("text/"):
                yield "".join(value)
        if "evalue" in out:
            yield out["evalue"]


def _closing_cell(cells, closes, where):
    ids = [_grade_id(c) for c in cells]
    for grade_id in closes:
        if grade_id in ids:
            return ids.index(grade_id)
    raise AssertionError(f"{where} has none of the cells {closes}: update the table of results")


def student_texts(result):
    """(where, text) of everything a student sees before attempting ``result``."""
    for path in sorted((NOTEBOOKS / "nntricks").glob("*.py")):
        yield f"notebooks/nntricks/{path.name}", path.read_text()
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if path.stem > result.notebook:
            continue
        cells = _cells(path)
        last = _closing_cell(cells, result.closes, path.name) if path.stem == result.notebook else len(cells) - 1
        seen = {cell.get("id"): i for i, cell in enumerate(cells[:last + 1])}
        for i, cell in enumerate(cells[:last + 1]):
            yield f"notebooks/{path.name}, cell {i}", "".join(cell["source"])
        for cell in _cells(SOLUTIONS / path.name):  # the outputs the student sees, as the solutions show them
            if cell.get("id") in seen:
                for text in _outputs(cell):
                    yield f"notebooks/{path.name}, cell {seen[cell['id']]} (output)", text
    for path in sorted((ROOT / "autograder" / "checks").glob("*.py")):
        for text in check_literals(path):
            yield f"autograder/checks/{path.name}", text


def check_literals(path):
    """Every string literal of a check module (f-strings: their literal parts), what students read as hints."""
    tree = ast.parse(path.read_text())
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def leaks(name):
    """{where: [normalized excerpts]} of the result ``name`` in what students see before the attempt."""
    result, found = RESULTS[name], {}
    for where, text in student_texts(result):
        flat = normalize(text)
        for pattern in result.patterns:
            for m in re.finditer(pattern, flat):
                found.setdefault(where.split(", cell")[0] if where.startswith("autograder") else where, []).append(
                    flat[max(0, m.start() - 30):m.end() + 30])
    return found


def _file(where):
    return where.split(",")[0]


@pytest.mark.parametrize("name", RESULTS)
def test_no_student_sees_the_result_before_the_attempt(name):
    found = {where: excerpts for where, excerpts in leaks(name).items() if (name, _file(where)) not in PENDING}
    assert not found, f"{name} is given away before the attempt:\n" + "\n".join(
        f"  {where}: {excerpts[0]!r}" for where, excerpts in found.items())


def test_pending_leaks_are_still_there():
    """A leak listed as pending (known, not fixed yet) that is gone must leave PENDING."""
    gone = [(name, where) for name, where in PENDING if not any(_file(w) == where for w in leaks(name))]
    assert not gone, f"no longer leaking: remove from PENDING {gone}"


def _solution_texts(notebook):
    yield from (p.read_text() for p in (REFERENCE / "nntricks").glob("*.py"))
    yield from ("".join(c["source"]) for c in _cells(SOLUTIONS / f"{notebook}.ipynb"))
    yield from ("".join(c["source"]) for p in SOLUTIONS.glob("*.ipynb") if p.stem != notebook for c in _cells(p))


@pytest.mark.parametrize("name", RESULTS)
def test_the_patterns_find_the_result_in_the_solutions(name):
    """Not vacuous: each result is found by its patterns where it belongs (solutions, reference)."""
    result = RESULTS[name]
    assert any(re.search(p, normalize(text)) for p in result.patterns for text in _solution_texts(result.notebook)), (
        f"no pattern of {name} finds it in the solutions or the reference")


@pytest.mark.parametrize("name", RESULTS)
def test_the_patterns_find_every_spelling(name):
    """Spacing and notation: each listed spelling of the result is found."""
    result = RESULTS[name]
    missed = [s for s in result.spellings if not any(re.search(p, normalize(s)) for p in result.patterns)]
    assert not missed, f"{name}: the patterns miss {missed} (normalized: {[normalize(s) for s in missed]})"


@pytest.mark.parametrize("text", [
    "bce_grad: (y - d) / (y (1 - y)) / B", "a Bernoulli variance alpha (1 - alpha)", "U[-1/sqrt(fan_in), 1/sqrt(fan_in)]",
    "z = x @ W + b", "l2_grad returns (y - d) / B", "m = beta1 * m + (1 - beta1) * g", "E[m_t] = (1 - beta1^t) E[g]",
    r"\sum_{j=0}^{t-1} \beta^j = \frac{1 - \beta^t}{1 - \beta}", "E[relu(z)^2] = Var(z) / 2",
    r"L2 loss $\frac12(\sigma(z) - d)^2$", "U[-a, a] has variance a^2 / 3", "dLoss/dbeta sums dout over the batch"])
def test_definitions_and_routes_are_not_results(text):
    """What the course gives (definitions, contracts, the start of a route) is not mistaken for a result."""
    flat = normalize(text)
    hit = [(name, p) for name, r in RESULTS.items() for p in r.patterns if re.search(p, flat)]
    assert not hit, f"{text!r} (normalized {flat!r}) is taken for a result: {hit}"


def test_the_scan_reads_everything_a_student_sees():
    """The scan reaches the stubs, the check hints, the cells up to the test cell and their outputs."""
    where = [w for w, _ in student_texts(RESULTS["Adam's bias correction m / (1 - beta1^t)"])]
    assert "notebooks/nntricks/optim.py" in where and "autograder/checks/optim_mistakes.py" in where
    assert any(w.startswith("notebooks/02_optimizers.ipynb") and w.endswith("(output)") for w in where)
    cells = _cells(NOTEBOOKS / "02_optimizers.ipynb")
    last = _closing_cell(cells, ("test_adam",), "02")
    assert f"notebooks/02_optimizers.ipynb, cell {last}" in where and f"notebooks/02_optimizers.ipynb, cell {last + 1}" not in where
    assert not any(w.startswith("notebooks/03_") for w in where), "a later notebook may use the result"
    texts = "\n".join(t for w, t in student_texts(RESULTS["the linear layer's dW = x.T @ dout"]) if w.startswith("autograder"))
    for hint in ("the sigmoid used as its own derivative", "geometric sum", "which index of W the sum runs over"):
        assert hint in texts

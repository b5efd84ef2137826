"""Notebooks 04 and 05 outside the notebooks themselves.

- The student files of notebook 04 never give the closed forms that Question Q1 asks students to derive
  (the Jacobian's entries, its matrix form, the summed form of the backward pass, or code for them),
  while the solution sources do contain them (so every pattern can fail).
- The visible tests of Exercises 4.2 and 4.3 name the usual mistakes: each test cell of the solution
  notebook is run (without its hidden part) against mutants of the reference, and must fail with the
  diagnosis of that mutant's mistake, and pass with the reference.
"""

import json
import re
import types

import nbformat
import numpy as np
import pytest
from autograder import NOTEBOOKS, REFERENCE, SOLUTIONS
from nntricks import batchnorm
from nntricks.gradcheck import numeric_grad, rel_error

pytestmark = pytest.mark.batchnorm

#: The closed forms students derive in notebook 04 (Q1), as LaTeX, plain text or numpy code.
CLOSED_FORMS = {
    "diagonal entry, LaTeX: 1/sqrt(s) - 1/(B sqrt(s)) - ...":
        r"\\frac\{1\}\{\\sqrt\{s\}\}\s*-\s*\\frac\{1\}\{B\s*\\sqrt\{s\}\}",
    "Jacobian entry, LaTeX: (delta_ij - 1/B)/sqrt(s)":
        r"\\frac\{\\delta_\{ij\}\s*-\s*\\frac\{1\}\{B\}\}\{\\sqrt\{s\}\}",
    "Jacobian entry, text: (delta_ij - 1/B) / sqrt(s)":
        r"\(\s*delta_ij\s*-\s*1\s*/\s*B\s*\)\s*/\s*sqrt\(\s*s\s*\)",
    "variance term: (z_i - mu)(z_j - mu) / (B s^(3/2))":
        r"\(z_i\s*-\s*\\?mu(_B)?\)\s*\(z_j\s*-\s*\\?mu(_B)?\)\s*\}?\s*(/\s*\(?|\{)\s*B\s*(\\,)?\s*s\s*\^",
    "matrix form, LaTeX: I - 1/B 1 1^T - 1/B u u^T":
        r"I\s*-\s*\\tfrac\{1\}\{B\}\s*\\mathbf\{1\}\s*\\mathbf\{1\}\^\\top",
    "matrix form, text: I - 1 1^T / B - u u^T / B":
        r"I\s*-\s*1\s*1\^T\s*/\s*B\s*-\s*u\s*u\^T\s*/\s*B",
    "summed form, LaTeX: dL/du_i - mean(dL/du) - u_i mean(u dL/du)":
        r"\\overline\{u\s*\\,?\s*\\frac\{\\partial L\}\{\\partial u\}\}",
    "summed form, text: du_i - mean_j du_j - u_i mean_j (du_j u_j)":
        r"du_i\s*-\s*mean_j\s*du_j",
    "summed form, code: mean(dout * u) or (du * u).mean()":
        r"mean\(\s*(du|dout)\s*\*\s*u\s*\)|\(\s*(du|dout)\s*\*\s*u\s*\)\s*\.mean\(|u\s*\*\s*\(\s*dgamma\s*/\s*B\s*\)",
    "Jacobian, code: np.eye(B) - 1/B - np.outer(zc, zc) / (B s)":
        r"np\.eye\(\s*B\s*\)\s*-\s*1(\.0)?\s*/\s*B|np\.outer\(\s*zc\s*,\s*zc\s*\)\s*/\s*\(\s*B",
}

STUDENT_FILES = [NOTEBOOKS / "04_batchnorm.ipynb", NOTEBOOKS / "nntricks" / "batchnorm.py"]
SOURCE_FILES = [SOLUTIONS / "04_batchnorm.ipynb", REFERENCE / "nntricks" / "batchnorm.py"]


def _text(path):
    if path.suffix == ".ipynb":
        return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])
    return path.read_text()


@pytest.mark.parametrize("path", STUDENT_FILES, ids=[p.name for p in STUDENT_FILES])
def test_student_files_do_not_give_the_closed_forms(path):
    text = _text(path)
    found = [(name, m.group(0)) for name, pattern in CLOSED_FORMS.items() for m in re.finditer(pattern, text)]
    assert not found, f"{path.name} gives away what Q1 asks students to derive: {found}"


@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_every_closed_form_pattern_finds_the_formula_in_the_solution_sources(name):
    assert re.search(CLOSED_FORMS[name], "\n".join(_text(p) for p in SOURCE_FILES)), (
        f"the pattern for {name!r} matches nothing in the solution sources: it cannot catch a leak")


# ---- the visible tests diagnose the usual mistakes ----

def _test_cell(grade_id):
    nb = nbformat.read(SOLUTIONS / "04_batchnorm.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return source.split("### BEGIN HIDDEN TESTS")[0]


def _run_visible_tests(grade_ids, **replaced):
    """Run the visible part of the test cells in one namespace, with `batchnorm` functions replaced."""
    module = types.SimpleNamespace(**{name: getattr(batchnorm, name) for name in
                                      ("batchnorm_forward", "batchnorm_backward", "batchnorm_jacobian")})
    vars(module).update(replaced)
    namespace = {"np": np, "batchnorm": module, "numeric_grad": numeric_grad, "rel_error": rel_error,
                 "print": lambda *a, **k: None}
    for grade_id in grade_ids:
        exec(compile(_test_cell(grade_id), f"<{grade_id}>", "exec"), namespace)


def _jacobian(z, eps=1e-5, mean_path=1.0, var_path=1.0, ddof=0, no_eps=False):
    """The Jacobian with the usual mistakes: the mean's and the variance's terms scaled (0: dropped, B: a sum)."""
    B = len(z)
    zc = z - z.mean()
    s = zc @ zc / (B - ddof) + (0.0 if no_eps else eps)
    return (np.eye(B) - mean_path * np.ones((B, B)) / B - var_path * np.outer(zc, zc) / (B * s)) / np.sqrt(s)


JACOBIAN_MISTAKES = {
    "treated mu and sigma^2 as constants": dict(mean_path=0, var_path=0),
    "the path through the mean is missing": dict(mean_path=0),
    "the path through the variance is missing": dict(var_path=0),
    "a 1/B is missing in the mean's term": dict(mean_path="B"),
    "a 1/B is missing in the variance's term": dict(var_path="B"),
    "the 1/B is missing in both": dict(mean_path="B", var_path="B"),
    "twice too large": dict(var_path=2),
    "you used the unbiased variance": dict(ddof=1),
    "eps is missing": dict(no_eps=True),
}


def test_the_reference_passes_the_visible_tests():
    _run_visible_tests(["test_batchnorm_forward", "test_batchnorm_jacobian", "test_batchnorm_backward"])


@pytest.mark.parametrize("diagnosis", JACOBIAN_MISTAKES)
def test_exercise_4_2_names_the_mistake(diagnosis):
    how = JACOBIAN_MISTAKES[diagnosis]

    def wrong(z, eps=1e-5):
        z = np.asarray(z, dtype=float)
        return _jacobian(z, eps, **{k: (len(z) if v == "B" else v) for k, v in how.items()})

    with pytest.raises(AssertionError, match=re.escape(diagnosis)):
        _run_visible_tests(["test_batchnorm_jacobian"], batchnorm_jacobian=wrong)


def _backward(dout, cache, how):
    u, inv_std, gamma, mu, var = cache
    B = len(dout)
    dgamma, dbeta = (dout * u).sum(axis=0), dout.sum(axis=0)
    if how == "unbiased":  # dz with u and s from the unbiased variance (the forward pass is right)
        eps = 1 / inv_std**2 - var
        inv_std_unbiased = 1 / np.sqrt(var * B / (B - 1) + eps)
        u, inv_std = u / inv_std * inv_std_unbiased, inv_std_unbiased
    du = (1.0 if how == "no gamma" else gamma) * dout
    mean_term = {"no mean": 0, "sum mean": B, "sums": B}.get(how, 1) * du.mean(axis=0)
    var_term = {"no var": 0, "sum var": B, "sums": B, "twice": 2}.get(how, 1) * u * (du * u).mean(axis=0)
    if how == "constants":
        mean_term = var_term = 0
    return (du - mean_term - var_term) * inv_std, dgamma, dbeta


BACKWARD_MISTAKES = {
    "treated mu and sigma^2 as constants": "constants",
    "the mean's term is missing": "no mean",
    "the variance's term is missing": "no var",
    "a 1/B is missing in the mean's term": "sum mean",
    "a 1/B is missing in the variance's term": "sum var",
    "the 1/B is missing in both terms": "sums",
    "twice too large": "twice",
    "you used the unbiased variance": "unbiased",
    "gamma is missing": "no gamma",
}


@pytest.mark.parametrize("diagnosis", BACKWARD_MISTAKES)
def test_exercise_4_3_names_the_mistake(diagnosis):
    wrong = lambda dout, cache: _backward(np.asarray(dout, dtype=float), cache, BACKWARD_MISTAKES[diagnosis])
    with pytest.raises(AssertionError, match=re.escape(diagnosis)):
        _run_visible_tests(["test_batchnorm_jacobian", "test_batchnorm_backward"], batchnorm_backward=wrong)


def test_the_backward_mutants_are_right_when_nothing_is_wrong():
    rng = np.random.default_rng(0)
    z, dout = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    _, cache = batchnorm.batchnorm_forward(z, rng.uniform(0.5, 2, 3), rng.normal(size=3))
    for got, want in zip(_backward(dout, cache, "right"), batchnorm.batchnorm_backward(dout, cache)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)

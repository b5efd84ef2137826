"""Notebooks 04 and 05 outside the notebooks themselves (that no student file gives the closed forms of
Q1 away is tests/test_no_answers.py).

- The visible tests of Exercises 4.2 and 4.3 name the usual mistakes: each test cell of the solution
  notebook is run (without its hidden part) against mutants of the reference, and must fail with the
  diagnosis of that mutant's mistake, and pass with the reference.
"""

import re
import types

import nbformat
import numpy as np
import pytest
from autograder import SOLUTIONS
from nntricks import batchnorm
from nntricks.gradcheck import numeric_grad, rel_error

pytestmark = pytest.mark.batchnorm

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

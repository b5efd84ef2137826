"""Tests of ``autograder.checks.gradients``: central differences, and the
consistency check naming the root cause of a disagreement."""

import numpy as np
import pytest

from autograder.checks import central_differences, step_size
from test_checks_context import fails, patched, run_check


def test_central_differences_of_a_quadratic_are_exact():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = np.array([0.5, -1.5])
    got = central_differences(lambda v, a: float(v @ a @ v / 2), [x, A], 0)
    assert got == pytest.approx(A @ x, rel=1e-8)
    assert step_size(1e4) == pytest.approx(1e-2) and step_size(0.1) == 1e-6


def test_gradient_consistency_passes_on_the_reference():
    for name in ("l2", "bce", "kl", "softmax_cross_entropy"):
        run_check(f"divergences.{name}_grad_matches_numeric")


def test_gradient_consistency_names_the_loss_or_the_gradient_mistake():
    no_b = patched("divergences", ("loss = 0.5 * np.sum((y - d) ** 2) / B", "loss = 0.5 * np.sum((y - d) ** 2)"))
    text = fails("divergences.l2_grad_matches_numeric", divergences=no_b)
    assert "central differences of your l2, which itself differs" in text and "Likely mistake in l2: forgot the 1/B" in text
    constant = patched("divergences", ("loss = 0.5 * np.sum((y - d) ** 2) / B", "loss = 0.0"),
                       ("dy = (y - d) / B", "dy = np.zeros_like(y)"))
    assert "itself differs" in fails("divergences.l2_grad_matches_numeric", divergences=constant)  # no points
    sign = patched("divergences", ("dy = -d / np.clip(y, eps, 1.0) / B", "dy = d / np.clip(y, eps, 1.0) / B"))
    assert "Likely mistake in kl_grad: the sign is reversed" in fails("divergences.kl_grad_matches_numeric",
                                                                       divergences=sign)
    one = patched("divergences", ("    loss = -np.sum(d * log_softmax(z)) / B\n    ### END SOLUTION\n    return float(loss)",
                                  "    loss = -np.sum(d * log_softmax(z)) / B\n    ### END SOLUTION\n    return np.array([loss])"))
    assert "array of shape (1,) instead of a float" in fails(
        "divergences.softmax_cross_entropy_grad_matches_numeric", divergences=one)

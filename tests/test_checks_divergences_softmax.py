"""Tests of ``autograder.checks.divergences_softmax`` (run locally on the reference and on mutants)."""

import pytest

from autograder.checks import select
from test_checks_context import fails, patched, run_check

NAMES = [c.full_name for c in select(topics=["divergences"]) if c.fn.__module__.endswith("divergences_softmax")]


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes(name):
    run_check(name)


def test_soft_targets_as_minus_log_sum_is_named():
    bad = patched("divergences", ("loss = -np.sum(d * log_softmax(z)) / B",
                                  "loss = -np.sum(np.log(np.sum(d * softmax(z), axis=-1))) / B"))
    assert "soft targets written as -log sum(d * softmax(z))" in fails(
        "divergences.softmax_cross_entropy_values", divergences=bad)


def test_a_0d_loss_fails_the_float_check_only():
    bad = patched("divergences", ("    loss = -np.sum(d * log_softmax(z)) / B\n    ### END SOLUTION\n    return float(loss)",
                                  "    loss = -np.sum(d * log_softmax(z)) / B\n    ### END SOLUTION\n    return np.asarray(loss)"))
    assert "0-d numpy array instead of a float" in fails("divergences.softmax_cross_entropy_returns_float",
                                                         divergences=bad)
    run_check("divergences.softmax_cross_entropy_values", divergences=bad)  # the values are right

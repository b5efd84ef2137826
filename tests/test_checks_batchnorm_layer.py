"""Tests of ``autograder.checks.batchnorm_layer`` (run locally on the reference and on mutants)."""

import pytest

from autograder.checks import select
from test_checks_context import fails, patched, run_check

NAMES = [c.full_name for c in select(topics=["batchnorm"]) if c.fn.__module__.endswith("batchnorm_layer")]


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes(name):
    run_check(name)


def test_running_statistics_from_the_first_batch_are_named():
    bad = patched("batchnorm", ("m = 1.0 / self.num_batches if self.momentum is None else self.momentum",
                                "m = 1.0 if self.num_batches == 1 else self.momentum"))
    assert "started from the first batch instead of 0 and 1" in fails("batchnorm.bn1d_running_stats", batchnorm=bad)


def test_a_wrong_inference_output_names_its_root_cause():
    biased = patched("batchnorm", ("z.var(axis=0, ddof=1)", "z.var(axis=0)"))
    text = fails("batchnorm.bn1d_eval", batchnorm=biased)
    assert "running_var" in text and "biased batch variance in the running estimate" in text
    no_affine = patched("batchnorm", ("out = (z - mean) * (gamma / np.sqrt(var + eps)) + beta",
                                      "out = (z - mean) / np.sqrt(var + eps) * 2"))
    assert "Likely mistake" not in fails("batchnorm.bn1d_eval", batchnorm=no_affine)  # no catalogued cause: none named


def test_the_layer_backward_names_the_mistake_of_batchnorm_backward():
    bad = patched("batchnorm", ("    dz -= dbeta / B\n", ""))
    assert "forgot the mean term" in fails("batchnorm.bn1d_backward", batchnorm=bad)

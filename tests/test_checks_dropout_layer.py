"""Tests of ``autograder.checks.dropout_layer``: the Dropout layer checks pass
on the reference and name each broken clause."""

import pytest

from autograder.checks import select
from test_checks_context import fails, patched, run_check

NAMES = [c.full_name for c in select(topics=["dropout"]) if c.fn.__module__.endswith("dropout_layer")]
FORWARD = "out, self.mask = dropout_forward(y, self.alpha, train, self.rng, self.inverted)"

MUTANTS = [
    ("layer_fresh_masks", (FORWARD, FORWARD.replace("self.rng", "np.random.default_rng(0)")), "same mask on every call"),
    ("layer_backward_after_test", (FORWARD, FORWARD.replace("out, self.mask", "out, mask") + "\n        if train:\n"
                                   "            self.mask = mask"), "used the last training mask"),
    ("layer_backward", (FORWARD, FORWARD.replace("out, self.mask", "out, mask") + "\n        self.mask = mask if "
                        "self.mask is None else self.mask"), "mask of an earlier forward"),
    ("layer_forward", ("def __init__(self, alpha=0.5,", "def __init__(self, alpha=0.8,"), "default alpha is not 0.5"),
    ("layer_forward", ("        if inverted:\n            out /= alpha", ""), "not divided by alpha"),
    ("layer_forward", ("out = y if inverted else alpha * y", "out = alpha * y"), "scaled in test mode"),
    ("layer_backward", ("        dy = dout * mask\n        if inverted:\n            dy /= alpha", "        dy = dout * mask"),
     "not divided by alpha"),
]


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes(name):
    run_check(name)


@pytest.mark.parametrize("name, patch, named", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_each_broken_clause_fails_with_its_name(name, patch, named):
    assert named in fails(f"dropout.{name}", dropout=patched("dropout", patch))

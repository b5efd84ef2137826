"""The hidden checks of Sequential (checks/nn_network.py), train_step (checks/train.py) and
error_signal_gap (checks/divergences_signal.py): full marks for the reference and for a correct
implementation written differently; each named mistake loses points and is named; every check
is failed by some mutant; the stubs score nothing."""

import pytest

from autograder.checks import select
from autograder_support import build, failed, grade, topic_score

pytestmark = pytest.mark.nn

FULL = {"nn": 21, "train": 6, "divergences": 24}
SEQ_FORWARD = "        for layer in self.layers:\n            out = layer.forward(out, train)"
SEQ_BACKWARD = "        dx = dout\n        for layer in reversed(self.layers):\n            dx = layer.backward(dx)\n"
STEP = ("    value = float(loss[0](z, d))\n    model.backward(loss[1](z, d))\n"
        "    optimizer.step(model.grads())\n")
GAP = "gap = rel_error(numerical, (output(z) - d) / B)"

# (what, topic, patches [(module, old, new)], text expected in a failure message)
MISTAKES = [
    ("backward in forward order", "nn", [("nn", SEQ_BACKWARD, SEQ_BACKWARD.replace("reversed(self.layers)", "self.layers"))],
     "Likely mistake: backward in forward order"),
    ("train not passed", "nn", [("nn", "out = layer.forward(out, train)", "out = layer.forward(out)")],
     "Likely mistake: train not passed to the layers"),
    ("train always True", "nn", [("nn", "out = layer.forward(out, train)", "out = layer.forward(out, True)")],
     "Likely mistake: train not passed to the layers"),
    ("forward in reverse", "nn", [("nn", SEQ_FORWARD, SEQ_FORWARD.replace("in self.layers", "in reversed(self.layers)"))],
     "Likely mistake: the layers run in reverse order"),
    ("forward returns its input", "nn", [("nn", "out = layer.forward(out, train)", "layer.forward(out, train)")],
     "forward(x"),
    ("the last layer's gradient returned", "nn",
     [("nn", SEQ_BACKWARD, "        dx = self.layers[-1].backward(dout)\n        g = dx\n"
                           "        for layer in reversed(self.layers[:-1]):\n            g = layer.backward(g)\n")],
     "Likely mistake: returned the last layer's gradient"),
    ("layers not chained", "nn", [("nn", "dx = layer.backward(dx)", "dx = layer.backward(dout)")],
     "Likely mistake: the layers were not chained"),
    ("backward consumes the network", "nn",
     [("nn", SEQ_BACKWARD, "        dx = dout\n        while self.layers:\n            dx = self.layers.pop().backward(dx)\n")],
     "second backward"),
    ("loss after the step", "train",
     [("train", STEP, "    model.backward(loss[1](z, d))\n    optimizer.step(model.grads())\n"
                      "    value = float(loss[0](model.forward(x, train=True), d))\n")],
     "Likely mistake: the loss computed after the step"),
    ("two steps", "train", [("train", STEP, STEP + "    optimizer.step(model.grads())\n")],
     "Likely mistake: more than one optimizer step per call"),
    ("stale gradients", "train",
     [("train", STEP, "    value = float(loss[0](z, d))\n    grads = model.grads()\n"
                      "    model.backward(loss[1](z, d))\n    optimizer.step(grads)\n")],
     "Likely mistake: stale gradients"),
    ("loss not a float", "train", [("train", "value = float(loss[0](z, d))", "value = np.asarray(loss[0](z, d))")],
     "Likely mistake: returned a 0-d numpy array instead of a float"),
    ("inference-mode forward", "train", [("train", "z = model.forward(x, train=True)", "z = model.forward(x, train=False)")],
     "Likely mistake: a forward pass not in training mode"),
    ("the loss into backward", "train", [("train", "model.backward(loss[1](z, d))", "model.backward(loss[0](z, d))")],
     "Likely mistake: the loss given to backward instead of its gradient"),
    ("x modified", "train", [("train", STEP, STEP + "    x *= 0\n")], "modified its input x in place"),
    ("no step", "train", [("train", "    optimizer.step(model.grads())\n", "")], "Likely mistake: no optimizer step"),
    ("error without 1/B", "divergences", [("divergences", GAP, "gap = rel_error(numerical, output(z) - d)")],
     "Likely mistake: the 1/B missing from the error"),
    ("gradient w.r.t. y", "divergences",
     [("divergences", "numerical = numeric_grad(lambda z_: div(output(z_), d), z)",
       "numerical = numeric_grad(lambda y_: div(y_, d), output(z))")], "Likely mistake: the gradient taken w.r.t. y"),
    ("error from z", "divergences", [("divergences", GAP, "gap = rel_error(numerical, (z - d) / B)")],
     "Likely mistake: the error built from z"),
    ("gap as an array", "divergences", [("divergences", GAP, "gap = np.abs(numerical - (output(z) - d) / B)")],
     "instead of a float"),
]
MINE = {"nn": {"nn.sequential_forward", "nn.sequential_backward", "nn.sequential_contract"},
        "train": {c.full_name for c in select(topics=["train"])},
        "divergences": {"divergences.error_signal_gap_matched", "divergences.error_signal_gap_mismatched"}}


@pytest.mark.parametrize("case", [None, "correct_alt"], ids=["reference", "correct_alt"])
def test_full_marks(tmp_path, case):
    result = grade(build(tmp_path / "sub", case), topics=list(FULL))
    for topic, points in FULL.items():
        assert topic_score(result, topic) == points, failed(result, topic)


@pytest.mark.parametrize("what, topic, patches, expected", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_loses_points_and_is_named(tmp_path, what, topic, patches, expected):
    result = grade(build(tmp_path / "sub", patches=patches), topics=[topic])
    assert topic_score(result, topic) < FULL[topic], f"{what}: full marks"
    mine = {k: v for k, v in failed(result, topic).items() if k in MINE[topic]}
    assert mine, f"{what}: none of the new checks failed: {failed(result, topic)}"
    messages = "\n".join(mine.values())
    assert expected in messages, f"{what}: no failure names '{expected}':\n{messages}"


def test_every_new_check_is_failed_by_some_mistake(tmp_path):
    """No check that cannot fail: each loses its points on at least one of the mutants above."""
    failing = set()
    for k, (_, topic, patches, _) in enumerate(MISTAKES):
        failing |= set(failed(grade(build(tmp_path / f"m{k}", patches=patches), topics=[topic]), topic))
    never = sorted(set().union(*MINE.values()) - failing)
    assert not never, f"checks that no mutant fails: {never}"


def test_stubs_score_nothing_and_say_not_implemented():
    from autograder import NOTEBOOKS
    result = grade(NOTEBOOKS, topics=list(FULL))
    for topic, names in MINE.items():
        out = failed(result, topic)
        assert names <= set(out), f"{topic}: a stub earned points"
        assert all("not implemented" in out[n] for n in names), {n: out[n] for n in names}


def test_a_changed_probe_is_named(tmp_path):
    """The checks build on the provided doubles; a student who changed them is told so."""
    patches = [("nn", "        return self.scale[0] * x[:, self.idx] + (self.shift if train else 0.0)",
                "        return self.scale[0] * x[:, self.idx] + self.shift")]
    result = grade(build(tmp_path / "sub", patches=patches), topics=["nn"])
    out = failed(result, "nn")
    assert "nn.sequential_forward" in out and "nn.Probe was changed" in out["nn.sequential_forward"]

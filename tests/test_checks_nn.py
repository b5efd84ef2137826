"""The hidden checks of nntricks.nn: full marks for the reference and for a correct
implementation written differently; each named mistake loses points and is named."""

import pytest

from autograder.checks import DOCUMENTED_POINTS, select, topic_points
from autograder_support import build, failed, grade, topic_score

pytestmark = pytest.mark.nn

# (what, patches [(module, old, new)], text expected in a failure message)
MISTAKES = [
    ("W instead of W.T", [("nn", "dx = dout @ self.W.T", "dx = dout @ self.W")], "W instead of W.T"),
    ("dW divided by B", [("nn", "self.dW = self.x.T @ dout", "self.dW = self.x.T @ dout / len(dout)")], "dW divided by B"),
    ("db as the mean", [("nn", "self.db = dout.sum(axis=0)", "self.db = dout.mean(axis=0)")], "db as the mean"),
    ("dW transposed", [("nn", "self.dW = self.x.T @ dout", "self.dW = dout.T @ self.x")], "shape of W.T"),
    ("dW transposed (square layer named)", [("nn", "self.dW = self.x.T @ dout", "self.dW = dout.T @ self.x")],
     "Likely mistake: dW transposed"),
    ("forward without bias", [("nn", "z = x @ self.W + self.b", "z = x @ self.W")], "no bias"),
    ("gradients accumulated", [("nn", "self.dW = self.x.T @ dout", "self.dW = self.dW + self.x.T @ dout")],
     "gradients accumulated"),
    ("sigmoid unstable", [("nn", "self.y = np.exp(-np.logaddexp(0.0, -x))", "self.y = np.exp(x) / (1 + np.exp(x))")],
     "not numerically stable"),
    ("sigmoid derivative from x", [("nn", "dx = dout * self.y * (1 - self.y)",
                                    "dx = dout * self.x * (1 - self.x)"),
                                   ("nn", "        self.y = np.exp(-np.logaddexp(0.0, -x))\n",
                                    "        self.x = x\n        self.y = np.exp(-np.logaddexp(0.0, -x))\n")],
     "derivative from the input x"),
    ("sigmoid dout not multiplied", [("nn", "dx = dout * self.y * (1 - self.y)", "dx = self.y * (1 - self.y)")],
     "dout not multiplied in"),
    ("tanh 1 - y", [("nn", "dx = dout * (1 - self.y**2)", "dx = dout * (1 - self.y)")], "tanh derivative 1 - y"),
    ("relu 1 at 0", [("nn", "dx = dout * (self.x > 0)", "dx = dout * (self.x >= 0)")], "ReLU derivative 1 at 0"),
    ("relu dout not multiplied", [("nn", "dx = dout * (self.x > 0)", "dx = (self.x > 0) * 1.0")], "dout not multiplied in"),
    ("leaky 1 at 0", [("nn", "dx = np.where(self.x > 0, dout, self.slope * dout)",
                       "dx = np.where(self.x >= 0, dout, self.slope * dout)")], "LeakyReLU derivative 1 at 0"),
    ("leaky slope ignored", [("nn", "dx = np.where(self.x > 0, dout, self.slope * dout)",
                              "dx = np.where(self.x > 0, dout, 0.0)")], "slope ignored"),
    ("backward returns dout", [("nn", "dx = np.where(self.x > 0, dout, self.slope * dout)",
                                "dout[self.x <= 0] *= self.slope\n        dx = dout")], "modified dout in place"),
]


def test_documented_points():
    assert topic_points()["nn"] == DOCUMENTED_POINTS["nn"] == 16


def test_reference_gets_full_marks(tmp_path):
    result = grade(build(tmp_path / "ref"), topics=["nn"])
    assert topic_score(result, "nn") == 16, failed(result, "nn")


def test_correct_alternative_gets_full_marks(tmp_path):
    result = grade(build(tmp_path / "alt", "correct_alt"), topics=["nn"])
    assert topic_score(result, "nn") == 16, failed(result, "nn")


@pytest.mark.parametrize("what, patches, expected", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_loses_points_and_is_named(tmp_path, what, patches, expected):
    result = grade(build(tmp_path / "sub", patches=patches), topics=["nn"])
    assert topic_score(result, "nn") < 16, f"{what}: full marks"
    messages = "\n".join(failed(result, "nn").values())
    assert expected in messages, f"{what}: no failure names '{expected}':\n{messages}"


def test_stub_scores_zero():
    from autograder import NOTEBOOKS
    result = grade(NOTEBOOKS, topics=["nn"])
    assert topic_score(result, "nn") == 0
    assert all("not implemented" in m for m in failed(result, "nn").values())


def test_every_nn_check_is_failed_by_some_mistake(tmp_path):
    """No nn check that cannot fail: each loses its points on at least one of the mutants above."""
    failing = set()
    for k, (_, patches, _) in enumerate(MISTAKES):
        failing |= set(failed(grade(build(tmp_path / f"m{k}", patches=patches), topics=["nn"]), "nn"))
    never = [c.full_name for c in select(topics=["nn"]) if c.full_name not in failing]
    assert not never, f"nn checks that no mutant fails: {never}"

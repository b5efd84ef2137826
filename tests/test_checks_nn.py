"""The hidden checks of nntricks.nn: full marks for the reference and for a correct
implementation written differently; each named mistake loses points and is named."""

import numpy as np
import pytest

from autograder.checks import DOCUMENTED_POINTS, select, topic_points
from autograder_support import build, failed, grade, topic_score

pytestmark = pytest.mark.nn

SIGMOID = "self.y = np.exp(-np.logaddexp(0.0, -x))"

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
    ("sigmoid unstable", [("nn", SIGMOID, "self.y = np.exp(x) / (1 + np.exp(x))")],
     "not numerically stable"),
    ("sigmoid derivative from x", [("nn", "dx = dout * self.y * (1 - self.y)",
                                    "dx = dout * self.x * (1 - self.x)"),
                                   ("nn", f"        {SIGMOID}\n", f"        self.x = x\n        {SIGMOID}\n")],
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
    ("sigmoid as its own derivative", [("nn", "dx = dout * self.y * (1 - self.y)", "dx = dout * self.y")],
     "the sigmoid used as its own derivative"),
    ("naive sigmoid", [("nn", SIGMOID, "self.y = 1 / (1 + np.exp(-x))")], "Likely mistake: a naive sigmoid"),
    ("sigmoid split by np.where", [("nn", SIGMOID, "self.y = np.where(x >= 0, 1 / (1 + np.exp(-x)), "
                                    "np.exp(x) / (1 + np.exp(x)))")], "Likely mistake: a naive sigmoid"),
    ("sigmoid backward scales the stored output", [("nn", "dx = dout * self.y * (1 - self.y)",
                                                    "self.y *= 1 - self.y\n        dx = dout * self.y")],
     "backward modified what forward stored"),
    ("tanh backward squares the stored output", [("nn", "dx = dout * (1 - self.y**2)",
                                                  "self.y **= 2\n        dx = dout * (1 - self.y)")],
     "backward modified what forward stored"),
    ("tanh derivative from exp of x", [("nn", "        self.y = np.tanh(x)\n", "        self.x = x\n        self.y = np.tanh(x)\n"),
                                       ("nn", "dx = dout * (1 - self.y**2)",
                                        "dx = dout * 4 / (np.exp(self.x) + np.exp(-self.x)) ** 2")],
     "the derivative computed from x through exp or cosh"),
    ("numpy.errstate replaced", [("nn", "import numpy as np\n", "import contextlib\n\nimport numpy as np\n\n"
                                  "np.errstate = lambda **kw: contextlib.nullcontext()\n"),
                                 ("nn", SIGMOID, "self.y = 1 / (1 + np.exp(-x))")],
     "numpy's floating-point error state could not be set"),
    ("tanh derivative NaN in the tails", [("nn", "dx = dout * (1 - self.y**2)",
                                           "x = np.arctanh(self.y)\n"
                                           "        dx = dout * (1 - ((np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))) ** 2)")],
     "numpy reports"),
]


def test_documented_points():
    assert topic_points()["nn"] == DOCUMENTED_POINTS["nn"] == 21


def test_reference_gets_full_marks(tmp_path):
    result = grade(build(tmp_path / "ref"), topics=["nn"])
    assert topic_score(result, "nn") == 21, failed(result, "nn")


def test_correct_alternative_gets_full_marks(tmp_path):
    result = grade(build(tmp_path / "alt", "correct_alt"), topics=["nn"])
    assert topic_score(result, "nn") == 21, failed(result, "nn")


@pytest.mark.parametrize("what, patches, expected", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_loses_points_and_is_named(tmp_path, what, patches, expected):
    result = grade(build(tmp_path / "sub", patches=patches), topics=["nn"])
    assert topic_score(result, "nn") < 21, f"{what}: full marks"
    messages = "\n".join(failed(result, "nn").values())
    assert expected in messages, f"{what}: no failure names '{expected}':\n{messages}"


def test_stub_scores_zero():
    from autograder import NOTEBOOKS
    result = grade(NOTEBOOKS, topics=["nn"])
    assert topic_score(result, "nn") == 0
    assert all("not implemented" in m for m in failed(result, "nn").values())


LAYER_MODULES = {"nn_linear", "nn_activations"}  # Sequential's checks (nn_network) have their mutants in test_checks_network


def test_every_nn_check_is_failed_by_some_mistake(tmp_path):
    """No layer check that cannot fail: each loses its points on at least one of the mutants above."""
    failing = set()
    for k, (_, patches, _) in enumerate(MISTAKES):
        failing |= set(failed(grade(build(tmp_path / f"m{k}", patches=patches), topics=["nn"]), "nn"))
    never = [c.full_name for c in select(topics=["nn"])
             if c.fn.__module__.rsplit(".", 1)[-1] in LAYER_MODULES and c.full_name not in failing]
    assert not never, f"nn checks that no mutant fails: {never}"


# Correct sigmoids written differently: a case split that evaluates each formula on its own elements only
# (exp of a very negative number underflows to 0, which is right and not an error), and exp(-|x|) in both.
STABLE_SIGMOIDS = [
    "pos = x >= 0\n        self.y = np.empty_like(x, dtype=float)\n"
    "        self.y[pos] = 1 / (1 + np.exp(-x[pos]))\n        e = np.exp(x[~pos])\n        self.y[~pos] = e / (1 + e)",
    "e = np.exp(-np.abs(x))\n        self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))",
]


@pytest.mark.parametrize("sigmoid", STABLE_SIGMOIDS, ids=["case split", "exp of -|x|"])
def test_stable_sigmoids_written_differently_get_full_marks(tmp_path, sigmoid):
    result = grade(build(tmp_path / "sub", patches=[("nn", SIGMOID, sigmoid)]), topics=["nn"])
    assert topic_score(result, "nn") == 21, failed(result, "nn")


def test_the_floating_point_error_state_ends_with_the_check(tmp_path):
    """After sigmoid_no_overflow, the same worker runs a naive sigmoid at x = -1000 under numpy's usual
    state again: it warns (its output is captured) instead of raising."""
    from autograder.checks import Ctx
    from autograder.protocol import Program, Raised
    from autograder.runner import TopicRun
    from autograder_support import FAST

    sub = build(tmp_path / "sub", patches=[("nn", SIGMOID, "self.y = 1 / (1 + np.exp(-x))")])
    run = TopicRun("nn", sub, FAST, {}, None)
    try:
        (check,) = [c for c in select(topics=["nn"]) if c.name == "sigmoid_no_overflow"]
        with pytest.raises(Exception, match="a naive sigmoid"):
            check.fn(Ctx(check, run))
        p = Program()
        p.method(p.call("nn.Sigmoid"), "forward", np.array([[-1000.0]]), catch=True)
        (after,) = run.run(p, check, "a naive sigmoid after the check")
        assert not isinstance(after, Raised), f"numpy still raises after the check: {after}"
    finally:
        run.close()

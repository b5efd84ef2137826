"""Tests of ``autograder.checks.registry``: the ``@check`` decorator, topics of
split modules, selection and the documented points."""

import sys
import types

import pytest

from autograder import checks
from autograder.checks import registry
from autograder.exercises import EXERCISES, TOPICS


def test_topic_modules_split_by_concern_register_under_their_topic():
    checks.load_all()
    modules = {c.fn.__module__.rsplit(".", 1)[-1]: c.topic for c in checks.select()}
    assert modules["batchnorm_layer"] == modules["batchnorm_state"] == "batchnorm"
    assert modules["divergences_softmax"] == "divergences"
    assert modules["dropout_layer"] == "dropout"
    assert {c.topic for c in checks.select()} == set(TOPICS)


def test_topic_of_reads_the_module_topic():
    mod = types.ModuleType("autograder.checks.fake_part")
    mod.TOPIC = "optim"
    sys.modules[mod.__name__] = mod
    try:
        assert registry.topic_of(mod.__name__) == "optim"
    finally:
        del sys.modules[mod.__name__]
    assert registry.topic_of("autograder.checks.heuristics") == "heuristics"


def test_check_rejects_unknown_exercises_and_duplicates():
    def fn(ctx):
        """doc"""

    fn.__module__ = "autograder.checks.optim"
    with pytest.raises(KeyError, match="unknown exercise"):
        registry.check("x", 1, "no_such_exercise")(fn)
    with pytest.raises(ValueError, match="duplicate"):
        registry.check("adam", 1, "Adam.step")(fn)


def test_points_add_up_and_every_check_has_points_and_a_docstring():
    assert checks.topic_points() == {t: float(p) for t, p in checks.DOCUMENTED_POINTS.items()}
    assert sum(checks.DOCUMENTED_POINTS.values()) == 155.5
    for c in checks.select():
        assert c.points > 0 and c.doc and c.exercise in EXERCISES, c.full_name


def test_select_by_topic_and_exercise():
    assert {c.topic for c in checks.select(topics=["dropout"])} == {"dropout"}
    names = {c.full_name for c in checks.select(exercises=["batchnorm.BatchNorm1d.forward"])}
    assert {"batchnorm.bn1d_running_stats", "batchnorm.bn1d_backward_errors", "batchnorm.bn1d_params_live"} <= names
    assert "batchnorm.forward_values" not in names

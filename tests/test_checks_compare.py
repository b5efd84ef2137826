"""Tests of ``autograder.checks.compare``: the float and exception mistakes
(the comparisons themselves are tested in test_autograder_unit.py)."""

import numpy as np

from autograder.checks import error_mistake, float_mistake, mismatch
from autograder.protocol import NumpyBool, Raised


def test_float_mistake_accepts_floats_only():
    assert float_mistake(1.5) is None
    assert float_mistake(np.float64(1.5)) is None  # a numpy float64 is a float
    assert "0-d numpy array" in float_mistake(np.array(1.5)).name
    assert "shape (1,)" in float_mistake(np.array([1.5])).name
    assert "shape (1, 1)" in float_mistake(np.ones((1, 1))).name
    assert "shape (3,)" in float_mistake(np.ones(3)).name
    assert "float32" in float_mistake(np.float32(1.5)).name
    assert float_mistake(NumpyBool(True)) is not None and float_mistake(True) is not None
    assert float_mistake(2) is not None


def test_error_mistake_says_what_happened_instead():
    raised = Raised({"type": "KeyError", "mro": ["KeyError", "LookupError", "Exception"], "msg": "x"})
    assert error_mistake(Raised({"type": "ValueError", "mro": ["ValueError", "Exception"]}), "ValueError") is None
    assert "raised KeyError" in error_mistake(raised, "ValueError")
    assert error_mistake(raised, "LookupError") is None  # a subclass is fine
    assert "no exception" in error_mistake(None, "RuntimeError")


def test_mismatch_names_a_one_element_array_where_a_float_belongs():
    assert "array of shape (1,) instead of a float" in mismatch(np.array([2.0]), 2.0)
    assert "forget to sum" in mismatch(np.ones(3), 2.0)

"""autograder.grading.merge: the merge rule (min of the notebook and the checks), hand grading, the keys."""

import pytest
from grade_support import CHECKS, cell, check, record

from autograder import ROOT
from autograder.exercises import EXERCISES
from autograder.grading import merge
from autograder.grading.records import CellKind, Status


def test_hidden_call_parsing():
    src = ("assert x\n### BEGIN HIDDEN TESTS\nimport autograder.cell\n"
           "autograder.cell.hidden(['divergences.l2', \"divergences.l2_grad\"], 2)\n### END HIDDEN TESTS")
    assert merge.hidden_call(src) == (["divergences.l2", "divergences.l2_grad"], 2.0)
    assert merge.hidden_call("autograder.cell.hidden('divergences.l2', 1.5)") == (["divergences.l2"], 1.5)
    assert merge.hidden_call("assert True") is None
    assert merge.hidden_call(None) is None


def test_trusted_fraction_uses_the_checks_of_the_keys():
    assert merge.trusted_fraction(CHECKS, ["divergences.l2", "divergences.l2_grad"]) == pytest.approx(1 / 3)
    assert merge.trusted_fraction(CHECKS, ["divergences.bce"]) == 1.0
    assert merge.trusted_fraction(CHECKS, ["divergences.kl"]) is None  # no checks: no ceiling
    assert merge.trusted_fraction(None, ["divergences.l2"]) is None


def test_check_key_of_reads_tags_then_names():
    assert merge.check_key_of(check("divergences.l2_values", "divergences.l2", 0, 1)) == ["divergences.l2"]
    assert merge.check_key_of({"name": "optim.SGD.step.nesterov"}) == ["optim.SGD.step"]
    assert merge.check_key_of({"name": "divergences.l2_grad"}) == ["divergences.l2_grad"]
    assert merge.check_key_of({"name": "nothing.here"}) == []


def test_merge_rule_min_of_notebook_and_checks():
    """A test cell scores min(nbgrader, P x check fraction); written answers are pending until graded by
    hand; a hand-set score wins; the package checks are not added a second time."""
    cells = [cell("test_l2", keys=["divergences.l2", "divergences.l2_grad"], points=3.0, notebook=3.0, trusted=1.0),
             cell("test_bce", keys=["divergences.bce"], points=3.0, notebook=0.0, trusted=3.0),
             cell("test_plain", points=2.0, notebook=2.0),
             cell("q_why", kind=CellKind.WRITTEN, points=2.0, notebook=None)]
    row = merge.summarize(record(cells, CHECKS))
    assert row.tests == 1.0 + 0.0 + 2.0 and row.tests_max == 8.0
    assert row.written == 0 and row.written_max == 2.0 and row.pending == 2.0
    assert row.score == 3.0 and row.max_score == 10.0 and row.status is Status.PENDING
    assert (row.checks, row.checks_max) == (3.0, 5.0)
    l2 = row.cells[0]
    assert [t["name"] for t in l2.failed_checks] == ["divergences.l2_values"]
    assert l2.exercise == "1.1 The L2 divergence"

    # hand grading in the formgrader, read back from the gradebook: the written answer, and an override
    gb = {"test_l2": (1.0, None, False), "test_bce": (0.0, 2.5, False), "test_plain": (2.0, None, False),
          "q_why": (None, 1.5, False)}
    row = merge.summarize(record(cells, CHECKS), gb)
    assert row.tests == 1.0 + 2.5 + 2.0 and row.written == 1.5 and row.pending == 0
    assert row.status is Status.OK and row.score == 7.0

    # the gradebook overwritten by a plain `nbgrader autograde`: the ceiling still holds
    gb["test_l2"] = (3.0, None, False)
    assert merge.summarize(record(cells, CHECKS), gb).tests == 1.0 + 2.5 + 2.0


def test_checks_no_cell_covers_are_listed_separately():
    row = merge.summarize(record([cell("test_bce", keys=["divergences.bce"], points=1.0, notebook=1.0)], CHECKS))
    assert [t["name"] for t in row.unassigned_failures] == ["divergences.l2_values"]


def test_a_failed_submission_has_no_score_but_keeps_its_checks():
    row = merge.summarize(record([], CHECKS, status=Status.FAILED, reason="the kernel died"))
    assert row.score is None and row.tests is None and row.status is Status.FAILED
    assert (row.checks, row.checks_max) == (3.0, 5.0) and row.reason == "the kernel died"


def test_exercise_keys_of_the_checks_exist():
    """The merge maps checks to cells through exercise keys: they must be keys of the exercise table."""
    from autograder.check import grade_package

    res = grade_package(str(ROOT / "reference"), topics=["divergences"])
    for t in res["tests"]:
        assert merge.check_key_of(t) and all(k in EXERCISES for k in merge.check_key_of(t)), t["name"]

"""autograder.grading.autograde: failures classified by the type of the exception, not by its text."""

import json

import nbformat
import pytest
import sqlalchemy.exc
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.reader import NotJSONError

from autograder.grading.autograde import (DatabaseBusy, GraderFailure, LockedCellChanged, TypedOverwriteCells,
                                          classify)
from autograder.grading.kernels import KernelStartError
from autograder.grading.records import Failure


@pytest.mark.parametrize("error, failure, words", [
    (DeadKernelError("Kernel died"), Failure.KERNEL_DIED, "the kernel died"),
    (CellTimeoutError("x"), Failure.KERNEL_HUNG, "hung"),
    (LockedCellChanged("test_l2"), Failure.LOCKED_CELL_CHANGED, "test cell test_l2 was changed"),
    (NotJSONError("nope"), Failure.BAD_NOTEBOOK, "not a valid notebook"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
     Failure.BAD_NOTEBOOK, "not a valid notebook"),
    (json.JSONDecodeError("Expecting value", "x", 0), Failure.BAD_NOTEBOOK, "resubmit the .ipynb"),
    (ValueError("odd"), Failure.AUTOGRADE, "nbgrader autograde failed: ValueError: odd"),
])
def test_the_students_failures(error, failure, words):
    got, reason = classify(error)
    assert got is failure and words in reason


def test_the_text_of_an_error_does_not_decide():
    """A student's exception whose message says 'kernel died' or 'database is locked' is just an error."""
    assert classify(RuntimeError("DeadKernelError: Kernel died; database is locked"))[0] is Failure.AUTOGRADE


def test_what_is_not_the_students_fault():
    with pytest.raises(GraderFailure):
        classify(KernelStartError("did not start"))
    with pytest.raises(DatabaseBusy):
        classify(sqlalchemy.exc.OperationalError("UPDATE", {}, Exception("database is locked")))
    with pytest.raises(KeyboardInterrupt):
        classify(KeyboardInterrupt())


def test_no_exception_takes_the_reason_from_the_log():
    log = "[INFO] x\n[ERROR] something odd\n[ERROR] Please see the the above traceback"
    assert classify(None, log) == (Failure.AUTOGRADE, "nbgrader autograde failed: something odd")


def test_overwrite_cells_failure_has_a_type(monkeypatch):
    from nbgrader.preprocessors import OverwriteCells

    def refuse(self, cell, resources, index):
        raise RuntimeError("Inconsistent checksums for cell test_l2")

    monkeypatch.setattr(OverwriteCells, "preprocess_cell", refuse)
    c = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {"grade_id": "test_l2"}})
    with pytest.raises(LockedCellChanged) as e:
        TypedOverwriteCells().preprocess_cell(c, {}, 3)
    assert e.value.grade_id == "test_l2"

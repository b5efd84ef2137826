"""autograder.grading.records: the journal record survives JSON with its types."""

import json

from grade_support import CHECKS, cell

from autograder.grading.records import CellKind, Failure, Status, Submission, Timings


def test_submission_json_round_trip():
    rec = Submission("s", "01_divergences", key="k", status=Status.FAILED, failure=Failure.KERNEL_DIED,
                     reason="the kernel died", checks=CHECKS, ignored=["nntricks/x.py: a symbolic link"],
                     cells=[cell("t", kind=CellKind.WRITTEN, notebook=None)], restored=["t"], notes={"t": "m"},
                     timings=Timings(checks=0.5, kernel_start=0.25, execution=1.0, nbgrader=0.5, total=2.5))
    text = rec.to_json()
    assert json.loads(text)["status"] == "failed" and json.loads(text)["failure"] == "kernel-died"
    back = Submission.from_json(text)
    assert back == rec
    assert back.status is Status.FAILED and back.cells[0].kind is CellKind.WRITTEN and back.seconds == 2.5


def test_unknown_fields_of_an_older_journal_are_dropped():
    d = json.loads(Submission("s", "a").to_json())
    d["seconds"] = 3.0  # an older grader wrote this at the top level
    assert Submission.from_json(json.dumps(d)) == Submission("s", "a")

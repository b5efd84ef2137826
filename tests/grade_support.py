"""Records shared by the grader's unit tests (made-up cells and check results)."""

from autograder.grading.records import Cell, CellKind, Status, Submission


def record(cells, checks=None, status=Status.OK, **kw):
    return Submission(student=kw.get("student", "s"), assignment=kw.get("assignment", "01_divergences"),
                      status=status, cells=cells, checks=checks, notes=kw.get("notes", {}),
                      restored=kw.get("restored", []), reason=kw.get("reason"), ignored=kw.get("ignored", []))


def cell(id, kind=CellKind.TEST, keys=(), points=2.0, notebook=2.0, trusted=None):
    return Cell(id=id, notebook_id="01_divergences", kind=kind, keys=list(keys), points=points,
                notebook=notebook, trusted=trusted)


def check(name, exercise, score, max_score, output="ok"):
    return {"name": name, "score": score, "max_score": max_score, "output": output,
            "topic": name.split(".")[0], "tags": [name.split(".")[0], exercise]}


CHECKS = {"score": 3.0, "max_score": 5.0, "tests": [
    check("divergences.l2_values", "divergences.l2", 0.0, 2.0, "l2: got 8, want 4. Likely mistake: forgot the 1/B"),
    check("divergences.l2_grad_values", "divergences.l2_grad", 1.0, 1.0),
    check("divergences.bce_values", "divergences.bce", 2.0, 2.0),
]}

"""autograder.grading.notebooks: restored test cells and what went wrong per cell."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output


def _meta(gid, **kw):
    return {"nbgrader": {"grade_id": gid, "grade": True, "solution": False, "locked": True, "points": 1, **kw}}


def test_restored_cells(tmp_path):
    from autograder.grading.notebooks import restored_cells

    released = new_notebook(cells=[new_code_cell("assert 1", metadata=_meta("t1")),
                                   new_code_cell("assert 2", metadata=_meta("t2")),
                                   new_code_cell("# answer", metadata=_meta("a1", solution=True))])
    submitted = new_notebook(cells=[new_code_cell("pass", metadata=_meta("t1")),
                                    new_code_cell("my answer", metadata=_meta("a1", solution=True))])
    nbformat.write(released, tmp_path / "r.ipynb")
    nbformat.write(submitted, tmp_path / "s.ipynb")
    assert restored_cells(tmp_path / "r.ipynb", tmp_path / "s.ipynb") == ["t1", "t2"]  # changed, deleted
    assert restored_cells(tmp_path / "r.ipynb", tmp_path / "missing.ipynb") == []


def test_notebook_notes(tmp_path):
    from autograder.grading.notebooks import notebook_notes

    bad = new_code_cell("x", metadata=_meta("t1"))
    bad.outputs = [new_output("error", ename="AssertionError", evalue="l2 should divide by B",
                              traceback=['File "x.py", line 3', "hidden_line()"])]
    noisy = new_code_cell("y", metadata=_meta("t2"))
    noisy.outputs = [new_output("stream", name="stderr", text="DeprecationWarning: old")]
    quiet = new_code_cell("z", metadata=_meta("t3"))
    nbformat.write(new_notebook(cells=[bad, noisy, quiet]), tmp_path / "n.ipynb")
    notes = notebook_notes(tmp_path / "n.ipynb")
    assert notes["t1"] == "AssertionError: l2 should divide by B"
    assert notes["t2"].startswith("wrote to stderr") and "DeprecationWarning: old" in notes["t2"]
    assert "t3" not in notes and "hidden_line" not in str(notes)
    (tmp_path / "torn.ipynb").write_text("{")
    assert notebook_notes(tmp_path / "torn.ipynb") == {}

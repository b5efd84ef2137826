"""autograder.example_class: the synthetic students' mistakes are exactly what they say."""

import nbformat
import pytest

from autograder import example_class


def test_example_mistakes_change_only_what_they_say():
    ref = example_class.reference_package()
    assert not any("### BEGIN SOLUTION" in text for text in ref.values())
    for mutate, module in [(example_class._no_one_over_b, "divergences.py"),
                           (example_class._alpha_as_drop, "dropout.py"),
                           (example_class._unbiased_bn, "batchnorm.py")]:
        got = mutate(dict(ref))
        assert [m for m in ref if got[m] != ref[m]] == [module]
    stubs = example_class.stub_package()
    assert set(stubs) == set(ref)
    assert "NotImplementedError" in stubs["divergences.py"]


def test_example_mistakes_fail_loudly_when_the_reference_changes():
    with pytest.raises(example_class.ExampleError):
        example_class._no_one_over_b({"divergences.py": "def l2(y, d):\n    return 0.0\n"})


def test_example_notebook_mutations():
    md = {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "t1", "points": 1,
                       "schema_version": 3, "task": False}}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import nntricks"),
                                         nbformat.v4.new_code_cell("assert 1", metadata=md),
                                         nbformat.v4.new_code_cell("assert 2", metadata={"nbgrader": dict(md["nbgrader"], grade_id="t2")})])
    tampered = example_class._tamper(nbformat.from_dict(nb))
    assert [c.source for c in tampered.cells][1].startswith("# this test is wrong") and len(tampered.cells) == 2
    crashed = example_class._crash(nbformat.from_dict(nb))
    assert "os._exit" in crashed.cells[1].source
    unlocked = example_class._unlock(nbformat.from_dict(nb))
    assert unlocked.cells[1].metadata.nbgrader["solution"] is True


def test_every_example_student_is_documented():
    for student in example_class.STUDENTS:
        assert f"\n{student} " in example_class.__doc__


def test_unknown_students_are_refused(tmp_path):
    with pytest.raises(example_class.ExampleError, match="unknown example students"):
        example_class.build(tmp_path, students=["zed"])

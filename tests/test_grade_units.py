"""The pieces of ``python -m autograder grade`` that need no kernel: the merge rule, failure reasons,
feedback sanitizing, the journal key, the example class's mistakes."""

import csv
import io

import nbformat
import pytest

from autograder import example_class, feedback, grade
from autograder.exercises import EXERCISES


def _record(cells, checks=None, status="ok", **kw):
    return {"student": "s", "assignment": "01_divergences", "status": status, "cells": cells,
            "checks": checks, "notes": kw.get("notes", {}), "restored": kw.get("restored", []),
            "reason": kw.get("reason")}


def _cell(id, kind="test", keys=(), points=2.0, notebook=2.0, trusted=None):
    return {"id": id, "notebook_id": "01_divergences", "kind": kind, "keys": list(keys), "points": points,
            "notebook": notebook, "trusted": trusted}


def _test(name, exercise, score, max_score, output="ok"):
    return {"name": name, "score": score, "max_score": max_score, "output": output,
            "tags": [name.split(".")[0], exercise]}


CHECKS = {"score": 3.0, "max_score": 5.0, "tests": [
    _test("divergences.l2_values", "divergences.l2", 0.0, 2.0, "l2: got 8, want 4. Likely mistake: forgot the 1/B"),
    _test("divergences.l2_grad_values", "divergences.l2_grad", 1.0, 1.0),
    _test("divergences.bce_values", "divergences.bce", 2.0, 2.0),
]}


def test_hidden_call_parsing():
    src = "assert x\n### BEGIN HIDDEN TESTS\nimport autograder.cell\nautograder.cell.hidden(['divergences.l2', \"divergences.l2_grad\"], 2)\n### END HIDDEN TESTS"
    assert grade.hidden_call(src) == (["divergences.l2", "divergences.l2_grad"], 2.0)
    assert grade.hidden_call("autograder.cell.hidden([], 1.5)") == ([], 1.5)
    assert grade.hidden_call("assert True") is None


def test_trusted_fraction_uses_the_checks_of_the_keys():
    assert grade.trusted_fraction(CHECKS, ["divergences.l2", "divergences.l2_grad"]) == pytest.approx(1 / 3)
    assert grade.trusted_fraction(CHECKS, ["divergences.bce"]) == 1.0
    assert grade.trusted_fraction(CHECKS, ["divergences.kl"]) is None  # no checks: no ceiling
    assert grade.trusted_fraction({"error": "crashed"}, ["divergences.l2"]) == 0.0
    assert grade.trusted_fraction(None, ["divergences.l2"]) is None


def test_check_key_of_reads_tags_then_names():
    assert grade.check_key_of(_test("divergences.l2_values", "divergences.l2", 0, 1)) == ["divergences.l2"]
    assert grade.check_key_of({"name": "optim.SGD.step.nesterov"}) == ["optim.SGD.step"]
    assert grade.check_key_of({"name": "divergences.l2_grad"}) == ["divergences.l2_grad"]


def test_merge_rule_min_of_notebook_and_checks():
    """A test cell scores min(nbgrader, P x check fraction); written answers are pending until graded by
    hand; a hand-set score wins; the package checks are not added a second time."""
    cells = [_cell("test_l2", keys=["divergences.l2", "divergences.l2_grad"], points=3.0, notebook=3.0, trusted=1.0),
             _cell("test_bce", keys=["divergences.bce"], points=3.0, notebook=0.0, trusted=3.0),
             _cell("test_plain", points=2.0, notebook=2.0),
             _cell("q_why", kind="written", points=2.0, notebook=None)]
    row = grade.summarize(_record(cells, CHECKS))
    assert row["tests"] == 1.0 + 0.0 + 2.0 and row["tests_max"] == 8.0
    assert row["written"] == 0 and row["written_max"] == 2.0 and row["pending"] == 2.0
    assert row["score"] == 3.0 and row["max_score"] == 10.0 and row["status"] == "pending"
    assert row["checks"] == {"score": 3.0, "max_score": 5.0}
    l2 = row["cells"][0]
    assert [t["name"] for t in l2["failed_checks"]] == ["divergences.l2_values"]
    assert l2["exercise"] == "1.1 The L2 divergence"

    # hand grading in the formgrader, read back from the gradebook: the written answer, and an override
    gb = {"test_l2": (1.0, None, False), "test_bce": (0.0, 2.5, False), "test_plain": (2.0, None, False),
          "q_why": (None, 1.5, False)}
    row = grade.summarize(_record(cells, CHECKS), gb)
    assert row["tests"] == 1.0 + 2.5 + 2.0 and row["written"] == 1.5 and row["pending"] == 0
    assert row["status"] == "ok" and row["score"] == 7.0

    # the gradebook overwritten by a plain `nbgrader autograde`: the ceiling still holds
    gb["test_l2"] = (3.0, None, False)
    assert grade.summarize(_record(cells, CHECKS), gb)["tests"] == 1.0 + 2.5 + 2.0


def test_a_failed_submission_has_no_score():
    row = grade.summarize(_record([], CHECKS, status="failed", reason="the kernel died"))
    assert row["score"] is None and row["status"] == "failed"
    text = grade.csv_text([row, grade.summarize(_record([_cell("t", notebook=2.0)]))
                           | {"student": "t"}])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["status"] == "FAILED" and rows[0]["score"] == "" and rows[0]["reason"] == "the kernel died"
    assert rows[0]["checks"] == "3" and rows[0]["checks_max"] == "5"
    assert rows[1]["status"] == "ok" and rows[1]["score"] == "2" and rows[1]["max_score"] == "2"


@pytest.mark.parametrize("log, expected", [
    ("[ERROR] ... DeadKernelError: Kernel died", "the kernel died"),
    ('raise RuntimeError("Inconsistent checksums for cell {}".format(source_cell.name))\n'
     "RuntimeError: Inconsistent checksums for cell test_l2", "test cell test_l2 was changed"),
    ("[ERROR] No notebooks were matched by 'submitted/x/a/*.ipynb'", "no notebook"),
    ("[ERROR] something odd\n[ERROR] Please see the the above traceback", "nbgrader autograde failed: something odd"),
])
def test_failure_reasons(log, expected):
    assert expected in grade.failure_reason(log, "")


def test_clean_strips_tracebacks_and_ansi():
    text = ("\x1b[0;31mAssertionError\x1b[0m\nTraceback (most recent call last):\n"
            '  File "/x/autograded/s/a/nb.py", line 3, in <module>\n    autograder.cell.hidden(["k"], 2)\n'
            "AssertionError: l2 should divide by B\n"
            "Cell In[4], line 7\n----> 7 secret_hidden_line()\n      8 other()\n")
    out = feedback.clean(text)
    assert "l2 should divide by B" in out
    for leak in ("File ", "hidden(", "secret_hidden_line", "\x1b", "Cell In"):
        assert leak not in out
    assert feedback.clean("x" * 5000).endswith("(truncated)")


def test_strip_tracebacks_preprocessor():
    cell = nbformat.v4.new_code_cell("x", metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}})
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong sign",
                                           traceback=["\x1b[31m---> 3 autograder.cell.hidden(['k'], 1)", "AssertionError"])]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = feedback.StripTracebacks().preprocess(nb, {})
    assert nb.cells[0].outputs[0]["traceback"] == ["AssertionError: wrong sign"]


def test_report_html_escapes_and_shows_hints():
    cells = [_cell("test_l2", keys=["divergences.l2", "divergences.l2_grad"], points=3.0, notebook=0.0, trusted=1.0)]
    row = grade.summarize(_record(cells, CHECKS, notes={"test_l2": "AssertionError: <b>l2</b> should divide by B"}))
    page = feedback.student_report("s", [row, grade.summarize(_record([], None, status="failed", reason="the kernel died"))
                                         | {"assignment": "05_dropout"}])
    assert "&lt;b&gt;l2&lt;/b&gt; should divide by B" in page
    assert "forgot the 1/B" in page and "0 / 3" in page
    assert "Grading failed" in page and "not a zero" in page


def test_tree_hash_ignores_caches(tmp_path):
    (tmp_path / "nntricks").mkdir()
    (tmp_path / "nntricks" / "a.py").write_text("x = 1\n")
    h = grade.tree_hash(tmp_path)
    (tmp_path / "nntricks" / "__pycache__").mkdir()
    (tmp_path / "nntricks" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    assert grade.tree_hash(tmp_path) == h
    (tmp_path / "nntricks" / "a.py").write_text("x = 2\n")
    assert grade.tree_hash(tmp_path) != h


def test_topics_of():
    assert grade.topics_of("01_divergences") == ["divergences", "nn"]
    assert grade.topics_of("06_regularization_and_heuristics") == ["regularization", "heuristics"]
    assert grade.topics_of("00_start_here") == []


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


def test_exercise_keys_of_the_checks_exist():
    """The merge maps checks to cells through exercise keys: they must be keys of the exercise table."""
    from autograder.check import grade_package

    res = grade_package(str(grade.ROOT / "reference"), topics=["divergences"])
    for t in res["tests"]:
        assert grade.check_key_of(t) and all(k in EXERCISES for k in grade.check_key_of(t)), t["name"]


def test_kernel_hook_serves_the_graders_check_run(tmp_path):
    """In a kernel started by `grade`, autograder.cell.hidden reads the grader's results file (here a
    made-up one, so that a real run would give something else) instead of running the checks again."""
    import json
    import os
    import subprocess
    import sys

    from autograder import kernel_hook

    assert kernel_hook.ENV == grade.KERNEL_HOOK_ENV
    results = {"tests": [
        {"name": "divergences.l2_values", "score": 1.0, "max_score": 4.0, "output": "made up", "topic": "divergences",
         "tags": ["divergences", "divergences.l2"]},
        {"name": "divergences.bce_values", "score": 0.0, "max_score": 4.0, "output": "x", "topic": "divergences",
         "tags": ["divergences", "divergences.bce"]}]}
    (tmp_path / "r.json").write_text(json.dumps(results))
    code = ("__import__('autograder.kernel_hook'); import autograder.cell as c; "
            "print(repr(c.hidden(['divergences.l2'], 2)))")
    env = dict(os.environ, PYTHONPATH=str(grade.ROOT), **{kernel_hook.ENV: str(tmp_path / "r.json")})
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0.5"
    assert "made up" in out.stdout
    env.pop(kernel_hook.ENV)  # without the variable: nothing happens (no nntricks here: the real run says so)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "0.0" and "made up" not in out.stdout


def test_source_folder_must_hold_only_the_notebook(tmp_path):
    """autograde copies every other file of source/<a>/ over each submission: refuse to run."""
    sol = tmp_path / "solutions"
    sol.mkdir()
    (sol / "01_divergences.ipynb").write_text("{}")
    pkg = tmp_path / "course" / "source" / "01_divergences" / "nntricks"
    pkg.mkdir(parents=True)
    (pkg / "divergences.py").write_text("# the solved package, by mistake\n")
    settings = grade.Settings(course=str(tmp_path / "course"), db_url="sqlite://", solutions=str(sol))
    with pytest.raises(grade.GradeError, match="must hold only 01_divergences.ipynb"):
        grade.prepare(settings, ["01_divergences"], log=lambda *a: None)


def test_no_submissions_is_a_usage_error(tmp_path, capsys):
    assert grade.main(["--course", str(tmp_path)]) == 2
    assert "no submissions" in capsys.readouterr().err


def test_report_injected_once_into_nbgrader_feedback():
    row = grade.summarize(_record([_cell("test_l2", keys=["divergences.l2"], points=2.0, notebook=0.0, trusted=0.0)],
                                  CHECKS))
    page = "<html><head></head><body class='x'><h1>nbgrader</h1></body></html>"
    once = feedback.inject_report(page, row)
    assert once.index('id="nntricks-report"') < once.index("<h1>nbgrader</h1>")
    assert feedback.inject_report(once, row) == once

"""autograder.cell: the test cells' hidden checks read the grader's run (NNTRICKS_CHECKS_FILE) when it covers
them, and grade the SUBMITTED package under plain `nbgrader autograde`."""

import json
import os
import shutil
import subprocess
import sys

from autograder import NOTEBOOKS, REFERENCE, ROOT, cell

CODE = "import autograder.cell as c; print(repr(c.hidden(['divergences.l2'], 2)))"
MADE_UP = {"tests": [
    {"name": "divergences.l2_values", "score": 1.0, "max_score": 4.0, "output": "made up", "topic": "divergences",
     "tags": ["divergences", "divergences.l2"]},
    {"name": "divergences.bce_values", "score": 0.0, "max_score": 4.0, "output": "x", "topic": "divergences",
     "tags": ["divergences", "divergences.bce"]}]}


def _hidden(cwd, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", cell.CHECKS_FILE_ENV)}
    out = subprocess.run([sys.executable, "-c", CODE], cwd=cwd, env={**base, "PYTHONPATH": str(ROOT), **env},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    return out.stdout


def test_the_graders_check_run_is_used_when_it_covers_the_keys(tmp_path):
    """A made-up results file (a real run would give something else): hidden reads it, filtered by tags."""
    (tmp_path / "r.json").write_text(json.dumps(MADE_UP))
    out = _hidden(tmp_path, **{cell.CHECKS_FILE_ENV: str(tmp_path / "r.json")})
    assert out.strip().splitlines()[-1] == "0.5" and "made up" in out and "bce" not in out
    out = _hidden(tmp_path)  # without the variable: its own run (no nntricks here: it says so)
    assert out.strip().splitlines()[-1] == "0.0" and "made up" not in out and "no nntricks package" in out


def test_precomputed_falls_back_when_the_file_does_not_cover_the_keys(tmp_path, monkeypatch):
    (tmp_path / "r.json").write_text(json.dumps(MADE_UP))
    started_with = {cell.CHECKS_FILE_ENV: str(tmp_path / "r.json")}
    monkeypatch.setattr(cell, "_initial_environment", lambda: started_with)
    assert cell.precomputed(["divergences.l2"])["max_score"] == 4.0
    assert cell.precomputed(["optim.SGD.step"]) is None  # another topic: not in the grader's run
    (tmp_path / "r.json").write_text("{not json")
    assert cell.precomputed(["divergences.l2"]) is None
    started_with[cell.CHECKS_FILE_ENV] = str(tmp_path / "missing.json")
    assert cell.precomputed(["divergences.l2"]) is None
    started_with.clear()
    assert cell.precomputed(["divergences.l2"]) is None


def test_a_checks_file_named_by_the_notebook_itself_is_ignored(tmp_path):
    """Only the environment the kernel started with counts: a cell cannot point hidden at a forged file."""
    (tmp_path / "r.json").write_text(json.dumps(MADE_UP))
    code = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); import autograder.cell as cell\n"
            f"os.environ[cell.CHECKS_FILE_ENV] = {str(tmp_path / 'r.json')!r}\n"
            "print(cell.precomputed(['divergences.l2']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != cell.CHECKS_FILE_ENV})
    assert out.stdout.strip() == "None", out.stdout + out.stderr


def _course(tmp_path):
    """nbgrader's copy in autograded/ holds the solved package (as its copy of a student's symlinks would);
    the submitted folder holds the student's stubs."""
    work = tmp_path / "course" / "autograded" / "s" / "01_divergences"
    sub = tmp_path / "course" / "submitted" / "s" / "01_divergences"
    shutil.copytree(REFERENCE / "nntricks", work / "nntricks")
    shutil.copytree(NOTEBOOKS / "nntricks", sub / "nntricks")
    return work, sub


def test_plain_nbgrader_autograde_grades_the_submitted_package(tmp_path, monkeypatch):
    work, sub = _course(tmp_path)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert cell.package_to_grade(work) == str(sub)
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert cell.package_to_grade(work) == str(work / "nntricks")  # the student's own kernel: its package
    out = _hidden(work, NBGRADER_EXECUTION="autograde")
    assert out.strip().splitlines()[-1] == "0.0"  # the stubs, not the solved copy in autograded/
    assert _hidden(work).strip().splitlines()[-1] == "2.0"  # outside autograde: the kernel's package


def test_no_submitted_folder_means_the_kernels_package(tmp_path, monkeypatch):
    work = tmp_path / "elsewhere" / "autograded" / "s" / "a"
    (work / "nntricks").mkdir(parents=True)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert cell.submitted_folder(work) is None and cell.package_to_grade(work) == str(work / "nntricks")


def test_the_solution_notebooks_link_to_the_reference_is_graded_where_it_is(tmp_path, monkeypatch):
    """solutions/nntricks links to reference/nntricks: the instructor's own package is graded; any
    other link is handed to the intake, which leaves it out."""
    from autograder import REFERENCE

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    (tmp_path / "nntricks").symlink_to(REFERENCE / "nntricks")
    assert cell.package_to_grade(tmp_path) == str((REFERENCE / "nntricks").resolve())
    other = tmp_path / "other"
    (other / "real").mkdir(parents=True)
    (other / "nntricks").symlink_to(other / "real")
    assert cell.package_to_grade(other) == str(other / "nntricks")

"""autograder.grading.cli: usage errors, and `python -m autograder grade` reaches it."""

import os
import subprocess
import sys

from autograder import ROOT, grading


def test_no_submissions_is_a_usage_error(tmp_path, capsys):
    assert grading.main(["--course", str(tmp_path / "typo")]) == 2
    assert "no submissions" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()  # a mistyped course folder is not created
    (tmp_path / "submitted").mkdir()
    assert grading.main(["--course", str(tmp_path)]) == 2
    assert "no submissions" in capsys.readouterr().err


def test_the_command_line_lists_every_option():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for option in ("--course", "--assignment", "--student", "--jobs", "--force", "--db", "--timeout", "--deadline",
                   "--notebook-feedback", "--rerun-checks-in-cells", "--solutions", "--example"):
        assert option in out.stdout, option


def test_a_deadline_below_one_second_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "submitted").mkdir()
    assert grading.main(["--course", str(tmp_path), "--deadline", "0"]) == 2
    assert "--deadline must be at least 1 second (got 0)" in capsys.readouterr().err
    assert not (tmp_path / ".autograder").exists()  # refused before the run starts


def test_cells_rerunning_their_checks_are_refused_in_the_kernels_sandbox(tmp_path, capsys):
    from autograder.bwrap import bwrap_path

    (tmp_path / "submitted").mkdir()
    if bwrap_path():
        assert grading.main(["--course", str(tmp_path), "--rerun-checks-in-cells"]) == 2
        assert "--rerun-checks-in-cells needs a kernel that may start processes" in capsys.readouterr().err
    else:
        grading.main(["--course", str(tmp_path)])
        assert "kernels run WITHOUT a sandbox" in capsys.readouterr().err

"""The command line (`python -m autograder check`) and the notebooks' hidden cells."""

import json
import os
import subprocess
import sys

import pytest

from autograder import cell
from autograder.checks import DOCUMENTED_POINTS
from autograder_support import ROOT, build, snapshot


def run_cli(*args, timeout=300, columns=None):
    env = dict(os.environ, COLUMNS=str(columns)) if columns else None
    return subprocess.run([sys.executable, "-m", "autograder", "check", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_table_and_json(tmp_path):
    path = build(tmp_path / "sub", patches=[("regularization", "penalty = 0.5 * lam * sum(", "penalty = lam * sum(")])
    out = tmp_path / "results" / "results.json"
    proc = run_cli(path, "--topic", "regularization", "--topic", "dropout", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert "regularization.l2_penalty" in proc.stdout and "forgot the 1/2" not in proc.stdout.split("\n")[0]
    assert "TOTAL" in proc.stdout
    result = json.loads(out.read_text())
    total = DOCUMENTED_POINTS["regularization"] + DOCUMENTED_POINTS["dropout"]
    assert result["max_score"] == total and result["score"] == total - 1.75  # l2_penalty (1.5) and its float clause (0.25)
    names = [t["name"] for t in result["tests"]]
    assert names[0].startswith("dropout.") and names[-1].startswith("regularization.")  # topic order
    l2 = next(t for t in result["tests"] if t["name"] == "regularization.l2_penalty")
    assert l2["score"] == 0 and "Likely mistake: forgot the 1/2" in l2["output"]


@pytest.mark.parametrize("columns", [72, 150])
def test_cli_prints_every_failure_in_full_wrapped_to_the_terminal(tmp_path, columns):
    path = build(tmp_path / "sub", patches=[("regularization", "penalty = 0.5 * lam * sum(", "penalty = lam * sum(")])
    os.symlink("/etc/passwd", path / "nntricks" / "passwd.py")
    proc = run_cli(path, "--topic", "regularization", columns=columns)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= columns
    text = " ".join(" ".join(lines).split())
    assert ("Likely mistake: forgot the 1/2. Hint: the penalty is 1/2 lam sum ||W||_F^2 (so that its gradient "
            "is lam W).") in text
    assert "note: ignored nntricks/passwd.py: a symbolic link (only regular files are graded)" in text
    verbose = run_cli(path, "--topic", "regularization", "-v", columns=columns)  # the old flag: same report
    assert verbose.returncode == 0 and verbose.stdout.splitlines()[:-1] == lines[:-1]


def test_cli_stubs_exit_zero_and_usage_errors(tmp_path):
    assert run_cli(tmp_path / "does-not-exist").returncode == 2
    assert run_cli(tmp_path, "--topic", "nope").returncode == 2
    proc = run_cli(tmp_path, "--topic", "init")  # no package: graded 0, but grading completed
    assert proc.returncode == 0 and "no nntricks package found" in proc.stdout


def test_hidden_cell_returns_a_plain_float_and_writes_no_stderr(tmp_path, monkeypatch, capfd):
    build(tmp_path, patches=[("divergences", "dy = (y - d) / B", "dy = (y - d)")])
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    full = cell.hidden("divergences.l2", 2)
    none = cell.hidden("divergences.l2_grad", 3)
    both = cell.hidden(["divergences.l2", "divergences.l2_grad"], 5)
    typo = cell.hidden("divergences.l3", 1)
    out, err = capfd.readouterr()
    assert err == ""
    assert type(full) is float and full == 2.0
    assert type(none) is float and none == 0.0
    assert type(both) is float and both == pytest.approx(5 * 2.25 / 3.75)  # l2: 2.25 points, l2_grad: 1.5
    assert typo == 0.0 and "unknown exercise divergences.l3" in out
    assert "Likely mistake: forgot the 1/B" in out
    assert snapshot(tmp_path) == before


def test_hidden_cell_without_package(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cell, "find_package", lambda cwd=None: None)
    assert cell.hidden("init.zeros", 1) == 0.0
    out, err = capfd.readouterr()
    assert err == "" and "no nntricks package found" in out


def test_hidden_cell_ignores_a_shadowing_numpy_in_the_working_directory(tmp_path, monkeypatch, capfd):
    build(tmp_path)
    (tmp_path / "numpy.py").write_text("raise ImportError('shadowed')\n")
    (tmp_path / "json.py").write_text("raise ImportError('shadowed')\n")
    monkeypatch.chdir(tmp_path)
    assert cell.hidden("dropout.dropout_backward", 2) == 2.0
    assert capfd.readouterr().err == ""

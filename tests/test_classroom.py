"""GitHub Classroom: the template workflow, linted and run step by step on a throw-away student repository.

The workflow's ``run:`` steps execute as written (bash -eo pipefail, as GitHub's
runner does); its ``uses:`` steps are played by the test: the two checkouts
(the student's repository, the grader's sparse checkout), setup-python (this
interpreter), the cache (a venv that persists between the two pushes) and the
reporter (which decodes ``NNTRICKS_RESULTS`` and sums the points as
``classroom-resources/autograding-grading-reporter`` does). ``sudo`` is a shim
that records the command instead of installing packages on this machine.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from autograder import ROOT
from autograder.checks import topic_points
from autograder.classroom import encode, main, runner_result

WORKFLOW = ROOT / "classroom" / ".github" / "workflows" / "classroom.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def test_workflow_passes_actionlint():
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert actionlint, "actionlint is missing: it comes with requirements.txt (make setup)"
    run = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _results(scores):
    tests = [{"name": f"divergences.c{i}", "score": s, "max_score": m, "output": "ok" if s == m else f"wrong {i}"}
             for i, (s, m) in enumerate(scores)]
    return {"score": sum(s for s, _ in scores), "max_score": sum(m for _, m in scores), "tests": tests}


def test_runner_result_has_what_the_reporter_reads():
    result = runner_result(_results([(2, 2), (0.5, 1), (0, 3)]))
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == 6
    assert [t["status"] for t in result["tests"]] == ["pass", "fail", "fail"]
    assert sum(t["score"] for t in result["tests"]) == 2.5
    assert result["tests"][2]["message"] == "wrong 2"
    assert json.loads(base64.b64decode(encode(result))) == result
    assert runner_result(_results([(1, 1)]))["status"] == "pass"
    forged = runner_result(_results([(5, 1), (-2, 1)]))
    assert [t["score"] for t in forged["tests"]] == [1.0, 0.0] and forged["max_score"] == 2


def test_a_missing_or_malformed_results_file_fails_loudly(tmp_path, capsys):
    assert main([str(tmp_path / "missing.json")]) == 2
    (tmp_path / "bad.json").write_text('{"score": 1}')
    assert main([str(tmp_path / "bad.json")]) == 2
    assert "not a results.json" in capsys.readouterr().err


def _expand(text, context):
    def value(m):
        assert m.group(1) in context, f"the run steps may only use {sorted(context)}, not ${{{{ {m.group(1)} }}}}"
        return context[m.group(1)]
    return EXPRESSION.sub(value, text)


class Runner:
    """Plays GitHub's runner for the workflow on a student repository."""

    def __init__(self, tmp_path):
        self.workflow = yaml.safe_load(WORKFLOW.read_text())
        self.job = self.workflow["jobs"]["run-autograding-tests"]
        self.home, self.temp, self.bin = tmp_path / "home", tmp_path / "runner_temp", tmp_path / "bin"
        for d in (self.home, self.temp, self.bin):
            d.mkdir()
        (self.bin / "python").symlink_to(sys.executable)  # setup-python
        (self.bin / "sudo").write_text(f'#!/bin/sh\necho "sudo $*" >> {tmp_path / "sudo.log"}\n')
        (self.bin / "sudo").chmod(0o755)
        self.sudo_log = tmp_path / "sudo.log"

    def push(self, repo: Path) -> dict:
        """Run every step on the student's repository ``repo``, in a fresh workspace (as each run of
        GitHub's runner is); return what the reporter would post."""
        workspace = repo.parent / f"{repo.name}-workspace"
        workspace.mkdir()
        output = self.temp / "github_output"
        output.write_text("")
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.home), "GITHUB_WORKSPACE": str(workspace),
               "RUNNER_TEMP": str(self.temp), "GITHUB_OUTPUT": str(output), "LANG": "C.UTF-8"}
        env.update({k: str(v) for k, v in self.workflow["env"].items()})
        context = {"github.workspace": str(workspace), "runner.os": "Linux", "runner.temp": str(self.temp),
                   **{f"env.{k}": str(v) for k, v in self.workflow["env"].items()}}
        outputs = {}
        for step in self.job["steps"]:
            if "uses" in step:
                self._uses(step, repo, workspace, context, outputs)
                continue
            step_env = dict(env, **{k: _expand(str(v), context) for k, v in step.get("env", {}).items()})
            script = _expand(step["run"], context)
            cwd = workspace / _expand(step.get("working-directory", "."), context)
            run = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                                 cwd=cwd, env=step_env, capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, f"step {step['name']!r} failed:\n{run.stdout}\n{run.stderr}"
            if "id" in step:
                outputs[step["id"]] = dict(line.split("=", 1) for line in output.read_text().splitlines())
                output.write_text("")
        return self.reported

    def _uses(self, step, repo, workspace, context, outputs):
        action = step["uses"].split("@")[0]
        if action == "actions/checkout" and "repository" in step.get("with", {}):
            dest = workspace / step["with"]["path"]
            for part in step["with"]["sparse-checkout"].split():
                shutil.copytree(ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif action == "actions/checkout":  # the student's repository, links kept as links (as git does)
            shutil.copytree(repo, workspace / step.get("with", {}).get("path", "."), symlinks=True,
                            dirs_exist_ok=True)
        elif action == "classroom-resources/autograding-grading-reporter":
            for runner in step["with"]["runners"].split(","):
                value = step["env"][f"{runner.strip().upper()}_RESULTS"]
                step_id = EXPRESSION.fullmatch(value).group(1).split(".")[1]
                results = json.loads(base64.b64decode(outputs[step_id]["result"]))
                self.reported = {"score": sum(t["score"] for t in results["tests"]),
                                 "max_score": results["max_score"], "results": results}
        else:
            assert action in ("actions/checkout", "actions/setup-python", "actions/cache"), f"unexpected {action}"


def _student_repo(path: Path, package: Path) -> Path:
    """A student's repository made from the assignment template: the notebooks and a package."""
    shutil.copytree(ROOT / "notebooks", path, ignore=shutil.ignore_patterns("nntricks", "__pycache__"))
    shutil.copytree(package, path / "nntricks", ignore=shutil.ignore_patterns("__pycache__"))
    return path


def test_workflow_grades_the_stubs_then_a_correct_package(tmp_path):
    runner = Runner(tmp_path)
    total = sum(topic_points().values())

    stubs = runner.push(_student_repo(tmp_path / "push1", ROOT / "notebooks" / "nntricks"))
    assert stubs["max_score"] == total and stubs["score"] == 0, stubs["score"]
    assert stubs["results"]["status"] == "fail"
    assert any("NotImplementedError" in t["message"] or "Exercise" in t["message"] for t in stubs["results"]["tests"])
    assert "bubblewrap" in runner.sudo_log.read_text()

    venv = runner.home / ".nntricks-venv" / "bin" / "python"
    assert venv.exists(), "the first push creates the cached virtual environment"
    stamp = venv.stat().st_mtime
    correct = runner.push(_student_repo(tmp_path / "push2", ROOT / "reference" / "nntricks"))
    assert correct["score"] == pytest.approx(total) and correct["max_score"] == total
    assert correct["results"]["status"] == "pass"
    assert venv.stat().st_mtime == stamp, "the second push reuses the cached environment"


#: A student's repository that tries to replace the grader: everything here would run, or be imported
#: instead of the grader's own modules, if the student's checkout were on the grader's import path.
FORGED = base64.b64encode(json.dumps({"version": 1, "status": "pass", "max_score": 1,
                                      "tests": [{"name": "forged", "status": "pass", "score": 1000,
                                                 "max_score": 1}]}).encode()).decode()
HOSTILE = {
    "autograder/__init__.py": "",
    "autograder/__main__.py": "import sys\nsys.exit(0)\n",
    "autograder/classroom.py": f"print('result={FORGED}')\n",
    "numpy/__init__.py": "raise SystemExit('the student\\'s numpy was imported')\n",
    "sitecustomize.py": f"import atexit\natexit.register(print, 'result={FORGED}')\n",
    "usercustomize.py": "raise SystemExit('the student\\'s usercustomize was imported')\n",
    "nntricks_grader.pth": "import sys; sys.exit('a student .pth file was processed')\n",
    "grader/autograder/__init__.py": "raise SystemExit('the student\\'s grader/ folder was imported')\n",
    ".nntricks-grader/autograder/__init__.py": "raise SystemExit('the student\\'s .nntricks-grader was imported')\n",
}


def test_a_hostile_repository_cannot_shadow_the_grader(tmp_path):
    """An autograder/ or numpy/ folder, a sitecustomize.py, a .pth file, a folder where the grader is
    checked out, a link to the grader's results file: the stubs still get their honest 0 points."""
    runner = Runner(tmp_path)
    total = sum(topic_points().values())
    repo = _student_repo(tmp_path / "hostile", ROOT / "notebooks" / "nntricks")
    for rel, text in HOSTILE.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    (repo / "results.json").symlink_to(runner.temp / "results.json")
    reported = runner.push(repo)
    assert reported["max_score"] == total and reported["score"] == 0, reported["results"]["tests"][:2]
    assert [t["name"] for t in reported["results"]["tests"]] != ["forged"]
    assert any("NotImplementedError" in t["message"] for t in reported["results"]["tests"])

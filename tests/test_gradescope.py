"""The Gradescope autograder zip: its contents, and a run in a temporary directory laid out like
Gradescope's ``/autograder`` (``AUTOGRADER_ROOT``), on the real hidden checks."""

import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import ROOT, example_class, gradescope
from autograder.exercises import TOPICS


def _tree(path):
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(path).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("gs") / "autograder.zip"
    assert gradescope.main(["--out", str(out)]) == 0
    return out


def _unpack(zip_path, root):
    source = root / "source"
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            zf.extract(info, source)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(source / info.filename, stat.S_IMODE(mode))
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def _run(root):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    # Gradescope copies run_autograder to /autograder/run_autograder and runs it from there
    runner = root / "run_autograder"
    runner.write_bytes((root / "source" / "run_autograder").read_bytes())
    runner.chmod(0o755)
    proc = subprocess.run([str(runner)], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    results = root / "results" / "results.json"
    return proc, (json.loads(results.read_text()) if results.is_file() else None)


def _write_package(dest, files):
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (dest / name).write_text(text)


def test_zip_contents(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        config = json.loads(zf.read("gradescope.json"))
        requirements = zf.read("requirements.txt").decode()
        setup = zf.read("setup.sh").decode()
    for name in ("setup.sh", "run_autograder"):
        assert name in names and modes[name] & 0o111, f"{name} missing or not executable"
    assert {"autograder/__init__.py", "autograder/check.py", "autograder/gradescope.py",
            "autograder/checks/__init__.py", "autograder/sandbox.py", "autograder/worker/serve.py"} <= names
    ref = {f"reference/nntricks/{p.name}" for p in (ROOT / "reference" / "nntricks").glob("*.py")}
    assert ref <= names
    assert not any(n.startswith(("solutions/", "notebooks/", "tests/")) or "__pycache__" in n for n in names)
    assert "autograder/grade.py" not in names  # nbgrader tooling stays home
    assert config["topics"] == list(TOPICS)
    assert requirements.startswith("numpy")
    assert "bubblewrap" in setup and "venv" in setup


def test_zip_is_reproducible(zip_path, tmp_path):
    again = tmp_path / "again.zip"
    gradescope.build(again)
    assert again.read_bytes() == zip_path.read_bytes()


def test_unknown_topic_is_a_usage_error(tmp_path, capsys):
    assert gradescope.main(["--out", str(tmp_path / "x.zip"), "--topic", "nope"]) == 2


def test_run_autograder_grades_a_submission(zip_path, tmp_path):
    """The reference scores full marks, cleo's missing 1/B loses points with a hint; the submission
    (nested in a folder, as a zip upload often is) is left untouched."""
    results = {}
    for who, files in {"ref": example_class.reference_package(),
                       "cleo": example_class._no_one_over_b(example_class.reference_package())}.items():
        root = _unpack(zip_path, tmp_path / who)
        _write_package(root / "submission" / "my_work" / "nntricks", files)
        (root / "submission" / "my_work" / "notes.txt").write_text("hello")
        before = _tree(root / "submission")
        proc, res = _run(root)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _tree(root / "submission") == before, "the submission was modified"
        assert res is not None
        results[who] = res
    ref, cleo = results["ref"], results["cleo"]
    assert ref["max_score"] > 0 and ref["score"] == ref["max_score"]
    assert {t["name"].split(".")[0] for t in ref["tests"]} == {t for t in TOPICS if any(
        x["topic"] == t for x in ref["tests"])}
    for t in ref["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output"}
    assert cleo["score"] < ref["score"]
    lost = [t for t in cleo["tests"] if t["score"] < t["max_score"]]
    assert lost and all(t["name"].startswith("divergences.l2") for t in lost), [t["name"] for t in lost]
    assert "my_work/nntricks" in cleo["output"]


def test_run_autograder_loose_files_and_empty_submission(zip_path, tmp_path):
    root = _unpack(zip_path, tmp_path / "loose")
    _write_package(root / "submission", example_class.stub_package())  # the .py files, no folder
    proc, res = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert res["score"] == 0 and res["max_score"] > 0
    assert "top of your submission" in res["output"]

    root = _unpack(zip_path, tmp_path / "empty")
    proc, res = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert res["score"] == 0 and "No nntricks package" in res["output"]


def test_topics_of_a_per_notebook_zip(tmp_path):
    out = tmp_path / "div.zip"
    assert gradescope.main(["--out", str(out), "--topic", "divergences"]) == 0
    root = _unpack(out, tmp_path / "div")
    _write_package(root / "submission" / "nntricks", example_class.reference_package())
    proc, res = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert res["tests"] and {t["topic"] for t in res["tests"]} == {"divergences"}
    assert res["score"] == res["max_score"]


def test_find_package_prefers_the_shallowest(tmp_path):
    (tmp_path / "a" / "b" / "nntricks").mkdir(parents=True)
    (tmp_path / "a" / "b" / "nntricks" / "x.py").write_text("")
    (tmp_path / "nntricks").mkdir()
    (tmp_path / "nntricks" / "y.py").write_text("")
    assert gradescope.find_package(tmp_path) == tmp_path / "nntricks"
    assert gradescope.find_package(tmp_path / "a" / "b" / "nntricks") == tmp_path / "a" / "b" / "nntricks"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert gradescope.find_package(empty) is None

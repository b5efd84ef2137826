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
    assert requirements == gradescope.image_requirements()
    assert setup == gradescope.setup_sh()


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


def test_run_autograder_grades_a_zip_upload(zip_path, tmp_path):
    """nntricks.zip (a zip of the folder, made on a Mac) scores like the folder."""
    root = _unpack(zip_path, tmp_path / "zip")
    with zipfile.ZipFile(root / "submission" / "nntricks.zip", "w") as zf:
        for name, text in example_class.reference_package().items():
            zf.writestr(f"nntricks/{name}", text)
        zf.writestr("__MACOSX/nntricks/._l2.py", b"\0")
    proc, res = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert res["score"] == res["max_score"] > 0
    assert "Graded the package found at nntricks.zip:nntricks." in res["output"]


def test_forged_symlink_earns_nothing(zip_path, tmp_path):
    """divergences.py linked to the solved module in the image: the link is ignored and named."""
    root = _unpack(zip_path, tmp_path / "forged")
    _write_package(root / "submission" / "nntricks", example_class.stub_package())
    target = root / "submission" / "nntricks" / "divergences.py"
    target.unlink()
    target.symlink_to(root / "source" / "reference" / "nntricks" / "divergences.py")
    proc, res = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert res["score"] == 0
    assert "nntricks/divergences.py: a symbolic link (only regular files are graded)" in res["output"]


def test_sandbox_notice_goes_to_the_instructors_log(zip_path, tmp_path, monkeypatch):
    monkeypatch.setenv("NNTRICKS_SANDBOX", "none")
    root = _unpack(zip_path, tmp_path / "nosandbox")
    _write_package(root / "submission" / "nntricks", example_class.stub_package())
    proc, res = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert "WITHOUT a filesystem/network sandbox" in proc.stdout
    assert "WITHOUT" not in res["output"] and res["stdout_visibility"] == "hidden"


def test_image_requirements_cover_every_supported_python(tmp_path):
    text = gradescope.image_requirements()
    pins = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert pins and all(ln.startswith("numpy==") for ln in pins)
    for version in gradescope.PYTHONS:
        assert sum(";" not in ln or gradescope._applies(ln.split(";")[1], version) for ln in pins) == 1, version
    only_new = tmp_path / "requirements.txt"
    only_new.write_text('numpy==2.4.6; python_version >= "3.11"\nscipy==1.17.1\n')
    with pytest.raises(ValueError, match="0 pinned numpy lines apply on Python 3.10"):
        gradescope.image_requirements(only_new)
    only_new.write_text('numpy==2.4.6; platform_system == "Linux"\n')
    with pytest.raises(ValueError, match="unsupported marker"):
        gradescope.image_requirements(only_new)


def test_setup_sh_installs_only_what_grading_needs():
    setup = gradescope.setup_sh()
    apt = next(ln for ln in setup.splitlines() if "apt-get install" in ln)
    assert "--no-install-recommends" in apt and "python3-pip" not in apt
    assert set(apt.split()) >= {"python3", "python3-venv", "bubblewrap"}
    assert f'"{gradescope.PIP}"' in setup and "--upgrade pip" not in setup
    assert "--only-binary=:all:" in setup and "@" not in setup

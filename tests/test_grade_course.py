"""autograder.grading.course: discovery and the source folder rule."""

import pytest

from autograder.grading import course
from autograder.grading.settings import GradeError, Settings


def test_discover_selects_and_skips_hidden_folders(tmp_path):
    for s, a in [("ada", "01_x"), ("ben", "01_x"), ("ben", "02_y"), (".hidden", "01_x"), ("ada", ".ipynb_checkpoints")]:
        (tmp_path / "submitted" / s / a).mkdir(parents=True)
    (tmp_path / "submitted" / "ada" / "stray.txt").write_text("")
    settings = Settings(course=str(tmp_path), db_url="sqlite://")
    assert course.discover(settings) == [("ada", "01_x"), ("ben", "01_x"), ("ben", "02_y")]
    assert course.discover(settings, assignments=["01_x"], students=["ben"]) == [("ben", "01_x")]


def test_source_folder_must_hold_only_the_notebook(tmp_path):
    """autograde copies every other file of source/<a>/ over each submission: refuse to run."""
    sol = tmp_path / "solutions"
    sol.mkdir()
    (sol / "01_divergences.ipynb").write_text("{}")
    pkg = tmp_path / "course" / "source" / "01_divergences" / "nntricks"
    pkg.mkdir(parents=True)
    (pkg / "divergences.py").write_text("# the solved package, by mistake\n")
    settings = Settings(course=str(tmp_path / "course"), db_url="sqlite://", solutions=str(sol))
    with pytest.raises(GradeError, match="must hold only 01_divergences.ipynb"):
        course.prepare(settings, ["01_divergences"], log=lambda *a: None)


def test_an_assignment_without_source_notebook_is_reported(tmp_path):
    settings = Settings(course=str(tmp_path / "course"), db_url="sqlite://", solutions=str(tmp_path))
    assert "no source notebook" in course.prepare(settings, ["09_nope"], log=lambda *a: None)["09_nope"]

"""autograder.grading.journal: the key that decides what a rerun regrades; records that cannot be read."""

from autograder.grading import journal
from autograder.grading.records import Submission
from autograder.grading.settings import Settings


def _course(tmp_path):
    sol = tmp_path / "sol"
    sol.mkdir()
    (sol / "01_x.ipynb").write_text("{}")
    sub = tmp_path / "c" / "submitted" / "ada" / "01_x"
    (sub / "nntricks").mkdir(parents=True)
    (sub / "nntricks" / "a.py").write_text("a = 1\n")
    return Settings(course=str(tmp_path / "c"), db_url="sqlite://", solutions=str(sol)), sub, sol


def test_key_covers_submission_source_and_timeout(tmp_path):
    settings, sub, sol = _course(tmp_path)
    k = journal.job_key(settings, "ada", "01_x")
    assert journal.job_key(settings, "ada", "01_x") == k
    (sub / "nntricks" / "a.py").write_text("a = 2\n")
    k2 = journal.job_key(settings, "ada", "01_x")
    assert k2 != k
    (sol / "01_x.ipynb").write_text('{"changed": 1}')
    assert journal.job_key(settings, "ada", "01_x") != k2
    assert journal.job_key(Settings(**{**settings.__dict__, "timeout": 5}), "ada", "01_x") != journal.job_key(settings, "ada", "01_x")


def test_save_load_and_unreadable_records(tmp_path):
    settings, _, _ = _course(tmp_path)
    assert journal.load(settings, "ada", "01_x") is None
    journal.save(settings, Submission("ada", "01_x", key="k"))
    assert journal.load(settings, "ada", "01_x").key == "k"
    assert journal.recorded(settings) == {("ada", "01_x"): Submission("ada", "01_x", key="k")}
    journal.path(settings, "ada", "01_x").write_text('{"student": "ada"')  # a torn file: graded again
    assert journal.load(settings, "ada", "01_x") is None and journal.recorded(settings) == {}

"""autograder.grading.nbgrader_env: the configuration in-process and for hand-run nbgrader commands."""

from autograder import ROOT
from autograder.grading import nbgrader_env
from autograder.grading.settings import Settings


def test_in_grader_preprocessors_only_in_process(tmp_path):
    settings = Settings(course=str(tmp_path), db_url="sqlite://", timeout=7, kernel_start_attempts=4)
    (tmp_path / "submitted" / "ada" / "01_x" / "nntricks").mkdir(parents=True)
    (tmp_path / "submitted" / "ada" / "01_x" / "nntricks" / "extra.py").write_text("")
    ours = nbgrader_env.nbgrader_settings(settings, ["01_x"])
    assert "autograder.grading.autograde.TimedExecute" in ours["Autograde.autograde_preprocessors"]
    assert "autograder.grading.autograde.TypedOverwriteCells" in ours["Autograde.sanitize_preprocessors"]
    assert ours["TimedExecute.start_attempts"] == 4 and ours["Execute.timeout"] == 7
    assert "nntricks/extra.py" in ours["Autograde.exclude_overwriting"]["01_x"]
    assert "nntricks/divergences.py" in ours["Autograde.exclude_overwriting"]["01_x"]
    plain = nbgrader_env.nbgrader_settings(settings, ["01_x"], in_grader=False)
    assert not any(k.startswith(("TimedExecute", "Autograde.autograde_pre", "Autograde.sanitize")) for k in plain)


def test_config_file_is_written_unless_the_instructor_has_one(tmp_path):
    settings = Settings(course=str(tmp_path), db_url="sqlite://")
    assert nbgrader_env.write_config_file(settings, ["01_x"])
    text = (tmp_path / "nbgrader_config.py").read_text()
    assert text.startswith(nbgrader_env.CONFIG_MARKER) and "TimedExecute" not in text
    compile(text, "nbgrader_config.py", "exec")
    link = tmp_path / ".autograder" / "pythonpath" / "autograder"
    assert link.is_symlink() and link.resolve() == ROOT / "autograder"
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert not nbgrader_env.write_config_file(settings, ["01_x"])
    assert (tmp_path / "nbgrader_config.py").read_text() == "c = get_config()\n"

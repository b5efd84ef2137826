"""autograder.grading.settings: what a run is told."""

import pickle

from autograder.grading.settings import Settings, default_db_url, topics_of


def test_topics_of():
    assert topics_of("01_divergences") == ["divergences", "nn", "train"]
    assert topics_of("06_regularization_and_heuristics") == ["regularization", "heuristics"]
    assert topics_of("00_start_here") == []


def test_settings_paths_and_pickling(tmp_path):
    s = Settings(course=str(tmp_path), db_url=default_db_url(tmp_path), solutions=str(tmp_path / "sol"))
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}?timeout=60"
    assert s.submitted("ada", "01_x") == tmp_path / "submitted" / "ada" / "01_x"
    assert s.source_notebook("01_x") == tmp_path / "sol" / "01_x.ipynb"
    assert s.state == tmp_path / ".autograder"
    assert pickle.loads(pickle.dumps(s)) == s  # sent to the workers

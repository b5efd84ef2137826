"""autograder.grading.files: the hash of a submitted folder (what a rerun compares)."""

import os

from autograder.grading import files


def test_tree_hash_ignores_caches(tmp_path):
    (tmp_path / "nntricks").mkdir()
    (tmp_path / "nntricks" / "a.py").write_text("x = 1\n")
    h = files.tree_hash(tmp_path)
    (tmp_path / "nntricks" / "__pycache__").mkdir()
    (tmp_path / "nntricks" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    assert files.tree_hash(tmp_path) == h
    (tmp_path / "nntricks" / "a.py").write_text("x = 2\n")
    assert files.tree_hash(tmp_path) != h
    h = files.tree_hash(tmp_path)
    os.symlink("/etc/hostname", tmp_path / "nntricks" / "b.py")
    assert files.tree_hash(tmp_path) != h

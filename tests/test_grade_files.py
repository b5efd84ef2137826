"""autograder.grading.files: the atomic write, the submission hash, the package copy (no link followed)."""

import os

import pytest

from autograder.grading import files


def test_write_atomic_writes_whole_files_only(tmp_path):
    target = tmp_path / "a" / "b.txt"
    files.write_atomic(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    files.write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    target.chmod(0o640)
    files.write_atomic(target, "again")
    assert oct(target.stat().st_mode & 0o777) == "0o640"  # a replaced file keeps its mode
    files.write_atomic(target, "x", mode=0o600)
    assert oct(target.stat().st_mode & 0o777) == "0o600"

    class Boom(str):
        def encode(self, *a):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        files.write_atomic(target, Boom("y"))
    assert target.read_text() == "x" and sorted(p.name for p in target.parent.iterdir()) == ["b.txt"]


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

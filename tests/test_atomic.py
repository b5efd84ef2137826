"""autograder.atomic: whole files only, the mode kept, nothing left behind on failure."""

import pytest

from autograder.atomic import write_atomic
from autograder.check import write_json


def test_write_atomic_writes_whole_files_only(tmp_path):
    target = tmp_path / "a" / "b.txt"
    write_atomic(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    target.chmod(0o640)
    write_atomic(target, "again")
    assert oct(target.stat().st_mode & 0o777) == "0o640"  # a replaced file keeps its mode
    write_atomic(target, "x", mode=0o600)
    assert oct(target.stat().st_mode & 0o777) == "0o600"

    class Boom(str):
        def encode(self, *a):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, Boom("y"))
    assert target.read_text() == "x" and sorted(p.name for p in target.parent.iterdir()) == ["b.txt"]


def test_results_json_is_written_atomically(tmp_path):
    write_json({"score": 1.0, "tests": []}, tmp_path / "out" / "results.json")
    assert (tmp_path / "out" / "results.json").read_text() == '{\n "score": 1.0,\n "tests": []\n}\n'
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["results.json"]

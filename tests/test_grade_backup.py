"""autograder.grading.backup: a copy of the gradebook before each run writes, the last few kept, restorable."""

import sqlite3
import stat

import pytest

from autograder.grading import backup
from autograder.grading.settings import GradeError, Settings, default_db_url


def _db(course, rows=()):
    with sqlite3.connect(course / "gradebook.db") as c:
        c.execute("CREATE TABLE IF NOT EXISTS grade (id TEXT PRIMARY KEY, manual_score REAL)")
        c.executemany("INSERT OR REPLACE INTO grade VALUES (?, ?)", rows)
    c.close()


def _rows(path):
    with sqlite3.connect(path) as c:
        out = dict(c.execute("SELECT id, manual_score FROM grade"))
    c.close()
    return out


@pytest.fixture
def settings(tmp_path):
    return Settings(course=str(tmp_path), db_url=default_db_url(tmp_path))


def test_a_copy_before_the_run_only_for_the_grader(settings, tmp_path):
    _db(tmp_path, [("ada q1", 2.0)])
    said = backup.backup(settings)
    [copy] = backup.backups(settings)
    assert said == f"gradebook backed up to {copy}"
    assert copy.parent == tmp_path / ".autograder" / "backups"
    assert _rows(copy) == {"ada q1": 2.0}
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    assert not list(copy.parent.glob(".*"))  # no temporary file left


def test_unchanged_gradebooks_are_not_copied_again_and_the_last_five_are_kept(settings, tmp_path):
    _db(tmp_path, [("ada q1", 0.0)])
    backup.backup(settings)
    assert "unchanged since its backup" in backup.backup(settings)
    assert len(backup.backups(settings)) == 1
    for i in range(1, 8):
        _db(tmp_path, [("ada q1", float(i))])
        backup.backup(settings)
    kept = backup.backups(settings)
    assert [_rows(p)["ada q1"] for p in kept] == [3.0, 4.0, 5.0, 6.0, 7.0]  # oldest first, by name


def test_a_write_in_progress_is_not_in_the_copy(settings, tmp_path):
    _db(tmp_path, [("ada q1", 1.0)])
    writer = sqlite3.connect(tmp_path / "gradebook.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE grade SET manual_score = 99")
    try:
        backup.backup(settings)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert _rows(backup.backups(settings)[0]) == {"ada q1": 1.0}


def test_what_is_not_copied_is_said(tmp_path):
    assert "no gradebook yet" in backup.backup(Settings(course=str(tmp_path), db_url=default_db_url(tmp_path)))
    said = backup.backup(Settings(course=str(tmp_path), db_url="postgresql://grader:s3cret@db.example/course"))
    assert "is not an SQLite file: no backup made" in said and "s3cret" not in said
    assert "no backup made" in backup.backup(Settings(course=str(tmp_path), db_url="sqlite://"))
    assert not (tmp_path / ".autograder" / "backups").exists()


def test_a_failed_copy_stops_the_run(settings, tmp_path):
    _db(tmp_path, [("ada q1", 1.0)])
    (tmp_path / ".autograder").mkdir()
    (tmp_path / ".autograder" / "backups").write_text("not a folder")
    with pytest.raises(GradeError, match="could not back up the gradebook .*nothing was graded"):
        backup.backup(settings)


def test_restore_writes_the_backup_back_and_keeps_what_it_replaces(settings, tmp_path, capsys):
    import os

    from autograder.grading import journal
    from autograder.grading.records import Submission

    _db(tmp_path, [("ada q1", 2.0)])
    journal.save(settings, Submission("ada", "01_divergences"))
    backup.backup(settings)
    good = backup.backups(settings)[0]
    before = good.stat().st_mtime
    os.utime(journal.path(settings, "ada", "01_divergences"), (before - 1, before - 1))
    journal.save(settings, Submission("ben", "01_divergences"))  # graded after the backup
    os.utime(journal.path(settings, "ben", "01_divergences"), (before + 1, before + 1))
    _db(tmp_path, [("ada q1", 0.0), ("ben q1", 1.0)])  # hand grades lost, say
    assert backup.main(["--course", str(tmp_path), "--restore", good.name]) == 0
    assert "1 submission(s) graded since will be graded again" in capsys.readouterr().out
    assert _rows(tmp_path / "gradebook.db") == {"ada q1": 2.0}
    assert set(journal.recorded(settings)) == {("ada", "01_divergences")}
    assert _rows(backup.backups(settings)[-1]) == {"ada q1": 0.0, "ben q1": 1.0}
    assert backup.main(["--course", str(tmp_path)]) == 0 and good.name in capsys.readouterr().out
    assert backup.main(["--course", str(tmp_path), "--restore", "gradebook-nope.db"]) == 2
    assert "no backup" in capsys.readouterr().err

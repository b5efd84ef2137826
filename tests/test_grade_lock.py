"""autograder.grading.lock: a second `grade` on the same course refuses to start, naming the lock and the run;
so does a rerun while a process of a killed run still lives."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from autograder import ROOT, grading
from autograder.grading.lock import course_lock, holder_path, lock_path
from autograder.grading.settings import GradeError, Settings

HOLD = """
import sys, time
sys.argv = ["autograder", "grade", "--course", sys.argv[1], "--jobs", "2"]
from autograder.grading.lock import course_lock
from autograder.grading.settings import Settings
with course_lock(Settings(course=sys.argv[3], db_url="sqlite://")):
    print("held", flush=True)
    time.sleep(600)
"""


def _hold(course):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(course)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_refuses_and_names_the_other(tmp_path, capsys):
    (tmp_path / "submitted" / "ada" / "01_divergences").mkdir(parents=True)
    other = _hold(tmp_path)
    try:
        assert grading.main(["--course", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "another `grade` run is grading" in err
        assert str(lock_path(Settings(course=str(tmp_path), db_url=""))) in err
        assert f"pid {other.pid}" in err and "--jobs 2" in err
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    # the holder was killed: its lock went with it (no stale lock)
    with course_lock(Settings(course=str(tmp_path), db_url="")):
        pass


def test_the_lock_is_released_and_its_holder_file_removed(tmp_path):
    settings = Settings(course=str(tmp_path), db_url="")
    with course_lock(settings):
        assert holder_path(settings).is_file()
    assert not holder_path(settings).exists()
    t = time.perf_counter()
    with course_lock(settings):  # free again, at once
        pass
    assert time.perf_counter() - t < 5


def _earlier_run(settings, workers, pid=999999999):
    """The holder file a killed run leaves: its main process gone, its ``workers`` as recorded."""
    from autograder.grading import lock

    settings.state.mkdir(parents=True, exist_ok=True)
    holder_path(settings).write_text(json.dumps({
        "pid": pid, "start": 1, "boot": lock.boot_id(), "host": socket.gethostname(), "started": "earlier",
        "command": "python -m autograder grade --jobs 2", "workers": workers}))


def _sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


def test_a_rerun_refuses_while_a_process_of_the_killed_run_lives(tmp_path, monkeypatch):
    from autograder.grading import lock

    monkeypatch.setattr(lock, "GRACE", 0.3)
    settings = Settings(course=str(tmp_path), db_url="")
    worker = _sleeper()
    try:
        _earlier_run(settings, [lock.process(worker.pid)])
        with pytest.raises(GradeError) as e:
            with course_lock(settings):
                pytest.fail("ran alongside a worker of the earlier run")
        msg = str(e.value)
        assert "an earlier `grade` run" in msg and "--jobs 2" in msg and f"pid {worker.pid} (" in msg
        assert "time.sleep(600)" in msg and f"kill -9 {worker.pid}" in msg
        assert holder_path(settings).is_file()  # still naming the earlier run for the next try
    finally:
        worker.kill()
    assert worker.wait() == -signal.SIGKILL
    with course_lock(settings):  # gone (and reaped): the rerun goes ahead
        assert json.loads(holder_path(settings).read_text())["pid"] == os.getpid()


def test_dead_zombie_and_reused_pids_do_not_stop_a_rerun(tmp_path, monkeypatch):
    from autograder.grading import lock

    monkeypatch.setattr(lock, "GRACE", 0.3)
    settings = Settings(course=str(tmp_path), db_url="")
    zombie, other = _sleeper(), _sleeper()
    try:
        zombie.kill()
        while lock.start_time(zombie.pid) is not None:  # killed, not reaped: state Z
            time.sleep(0.05)
        assert os.path.exists(f"/proc/{zombie.pid}")
        reused = {"pid": other.pid, "start": lock.start_time(other.pid) - 1}  # same pid, another process
        _earlier_run(settings, [lock.process(zombie.pid), reused, {"pid": 1, "start": None}])
        with course_lock(settings):
            pass
    finally:
        for p in (zombie, other):
            p.kill()
            p.wait()


def test_workers_are_recorded_and_the_holder_file_kept_while_one_lives(tmp_path):
    from autograder.grading import lock

    settings = Settings(course=str(tmp_path), db_url="")
    lock.record_workers(settings, [os.getpid()], tmp_path)  # no lock held: nothing recorded
    assert not holder_path(settings).exists()
    worker = _sleeper()
    try:
        with course_lock(settings):
            lock.record_workers(settings, [worker.pid], tmp_path / "scratch")
            record = json.loads(holder_path(settings).read_text())
            assert record["workers"] == [{"pid": worker.pid, "start": lock.start_time(worker.pid)}]
            assert record["start"] == lock.start_time(os.getpid()) and record["boot"]
        assert holder_path(settings).is_file()  # a worker still runs: the next run will check it
    finally:
        worker.kill()
        worker.wait()

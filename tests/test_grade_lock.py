"""autograder.grading.lock: a second `grade` on the same course refuses to start, naming the lock and the run."""

import os
import signal
import subprocess
import sys
import time

from autograder import ROOT, grading
from autograder.grading.lock import course_lock, holder_path, lock_path
from autograder.grading.settings import Settings

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

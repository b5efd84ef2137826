"""autograder.grading.kernels: kernels on private IPC sockets (no TCP port to race for), retried when they
do not start, and a start that keeps failing reported as the grader's failure."""

import json
import multiprocessing
import os
from pathlib import Path

import nbformat
import pytest

from autograder.grading import kernels
from autograder.grading.autograde import CLOCK, GraderFailure, TimedExecute, classify
from autograder.grading.kernels import KernelStartError, ScratchKernelManager

CELL = ("import json, os\nfrom ipykernel import get_connection_file\n"
        "f = get_connection_file()\nprint(json.dumps({'file': f, 'info': json.load(open(f)), 'pid': os.getpid()}))")


def _notebook():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _run(scratch, manager=ScratchKernelManager, attempts=3):
    """Execute the one-cell notebook with the grader's Execute preprocessor; returns what the cell printed."""
    nb = _notebook()
    ex = TimedExecute(timeout=120, start_attempts=attempts, kernel_manager_class=manager)
    with kernels.sockets_in(scratch):
        ex.preprocess(nb, {"metadata": {"path": str(scratch)}})
    return json.loads(nb.cells[0].outputs[0]["text"])


def _one(scratch):
    try:
        return _run(Path(scratch))
    except Exception as e:  # noqa: BLE001 - reported to the test
        return {"error": f"{type(e).__name__}: {e}"}


def test_twelve_kernels_started_at_once_all_run(tmp_path):
    """12 kernels started at the same moment in 12 processes: each gets its own sockets, none fails."""
    scratches = []
    for i in range(12):
        d = tmp_path / f"s{i}"
        d.mkdir()
        scratches.append(str(d))
    with multiprocessing.get_context("fork").Pool(12) as pool:
        got = pool.map(_one, scratches)
    errors = [g["error"] for g in got if "error" in g]
    assert not errors, errors
    assert len({g["file"] for g in got}) == 12
    for g, scratch in zip(got, scratches):
        assert g["info"]["transport"] == "ipc"
        assert Path(g["file"]).parent.parent == Path(scratch)  # in this submission's scratch folder
        assert Path(g["info"]["ip"]).parent == Path(g["file"]).parent
        assert len(os.fsencode(g["info"]["ip"])) + 3 <= kernels.UNIX_PATH_MAX
        assert not Path(g["file"]).parent.exists()  # removed with the kernel
    assert len({g["info"]["ip"] for g in got}) == 12


def test_a_long_scratch_path_falls_back_to_a_short_folder(tmp_path):
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    deep.mkdir(parents=True)
    with kernels.sockets_in(deep):
        folder = kernels.socket_folder()
    try:
        assert not str(folder).startswith(str(deep))
        assert len(os.fsencode(str(folder / "s-5"))) <= kernels.UNIX_PATH_MAX
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
    finally:
        folder.rmdir()


class FailsOnce(ScratchKernelManager):
    failures = 0

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if FailsOnce.failures < 1:
            FailsOnce.failures += 1
            raise OSError("simulated: the kernel could not be launched")
        return await super()._async_launch_kernel(kernel_cmd, **kw)


class DiesAtStart(ScratchKernelManager):
    """The kernel process exits at once, as one does that lost a race for its port."""

    def format_kernel_cmd(self, extra_arguments=None):
        import sys

        return [sys.executable, "-c", "raise SystemExit('zmq.error.ZMQError: Address already in use')"]


def test_a_kernel_that_fails_to_start_is_started_again(tmp_path):
    CLOCK.kernel_start = 0.0
    got = _run(tmp_path, FailsOnce)
    assert FailsOnce.failures == 1 and got["info"]["transport"] == "ipc"
    assert CLOCK.kernel_start > 0


def test_a_kernel_that_never_starts_is_the_graders_failure(tmp_path):
    with pytest.raises(KernelStartError, match=r"did not start \(2 attempts"):
        _run(tmp_path, DiesAtStart, attempts=2)
    with pytest.raises(GraderFailure, match="did not start"):
        classify(KernelStartError("the notebook kernel did not start (2 attempts; last: ...)"))
    assert list(tmp_path.iterdir()) == []  # no socket folder left behind


LEFT_BEHIND = """
import os, subprocess, sys, time
open("mine.txt", "w").write("the notebook's folder is writable")
try:
    open({outside!r}, "w").write("forged")
    print("wrote outside")
except OSError as e:
    print("outside refused:", type(e).__name__)
# a process that outlives the cell, in a session of its own: it must die with the kernel
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30); open({late!r}, 'w').write('late')"],
                 start_new_session=True)
print(os.getpid())
"""


def _cmdlines():
    for pid in os.listdir("/proc"):
        try:
            yield open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # not a process, or gone meanwhile
            continue


def test_the_kernel_writes_only_its_folder_and_takes_its_processes_with_it(tmp_path):
    """What a notebook cell starts dies with the kernel, and the course outside the notebook's folder is
    read-only to it (no forged gradebook, no lock held on it after the kernel is gone)."""
    assert kernels.bwrap_path(), "bubblewrap does not work here: install the Debian package (see .ci/run)"
    scratch, outside, late = tmp_path / "scratch", tmp_path / "gradebook.db", tmp_path / "late.txt"
    scratch.mkdir()
    outside.write_text("the real gradebook")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LEFT_BEHIND.format(outside=str(outside),
                                                                                      late=str(late)))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with kernels.sockets_in(scratch):
        TimedExecute(timeout=60, start_attempts=2).preprocess(nb, {"metadata": {"path": str(scratch)}})
    printed = nb.cells[0].outputs[0]["text"]
    assert "outside refused: OSError" in printed, printed
    assert outside.read_text() == "the real gradebook" and (scratch / "mine.txt").is_file()
    assert not any(str(late) in cmdline for cmdline in _cmdlines()), "a process of the cell outlived the kernel"

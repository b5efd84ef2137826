"""autograder.grading.kernels: kernels on private IPC sockets (no TCP port to race for), retried when they
do not start, and a start that keeps failing reported as the grader's failure."""

import json
import multiprocessing
import os
from pathlib import Path

import nbformat
import pytest

from autograder.grading import kernel_sandbox, kernels
from autograder.grading.autograde import CLOCK, GraderFailure, TimedExecute, classify
from autograder.grading.kernels import KernelStartError, ScratchKernelManager

CELL = ("import json, os\nfrom ipykernel import get_connection_file\n"
        "f = get_connection_file()\nprint(json.dumps({'file': f, 'info': json.load(open(f)), 'pid': os.getpid()}))")


def _notebook():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


class Recording(ScratchKernelManager):
    """Remembers the socket folder it made (outside the sandbox)."""

    folders = []

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        Recording.folders.append(self.socket_folder)


def _run(scratch, manager=Recording, attempts=3):
    """Execute the one-cell notebook with the grader's Execute preprocessor in the kernels' sandbox; returns
    what the cell printed."""
    nb = _notebook()
    files = scratch.with_name(scratch.name + "-files")
    files.mkdir(exist_ok=True)
    ex = TimedExecute(timeout=120, start_attempts=attempts, kernel_manager_class=manager)
    with kernels.sockets_in(scratch), kernel_sandbox.kernel_job(kernel_sandbox.KernelJob(files, None, "a")):
        ex.preprocess(nb, {"metadata": {"path": str(scratch)}})
    return json.loads(nb.cells[0].outputs[0]["text"])


def _one(scratch):
    try:
        got = _run(Path(scratch))
        return {**got, "folder": str(Recording.folders[-1])}
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
    assert len({g["folder"] for g in got}) == 12
    for g, scratch in zip(got, scratches):
        folder = Path(g["folder"])
        assert g["info"]["transport"] == "ipc"
        assert folder.parent == Path(scratch)  # in this submission's scratch folder
        assert g["info"]["ip"] == f"{kernel_sandbox.SOCKETS}/s"  # the same folder, as mounted in the sandbox
        assert len(os.fsencode(str(folder / "s-5"))) <= kernels.UNIX_PATH_MAX
        assert not folder.exists()  # removed with the kernel


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

    async def _async_pre_start_kernel(self, **kw):
        import sys

        _, kw = await super()._async_pre_start_kernel(**kw)
        return [sys.executable, "-c", "raise SystemExit('zmq.error.ZMQError: Address already in use')"], kw


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

"""``nbgrader autograde`` of one submission, in-process, with typed failures and timers.

nbgrader's ``Autograde`` catches every error of a submission and leaves only a
log; the grader runs a subclass (:class:`TypedAutograde`) that keeps the
exception object, so that a failure is classified by its type
(:func:`classify`), and two preprocessors of its own in nbgrader's lists
(:func:`autograder.grading.nbgrader_env.nbgrader_settings`):

- :class:`TypedOverwriteCells`: nbgrader's ``OverwriteCells``, raising
  :class:`LockedCellChanged` (with the cell's id) where nbgrader raises a bare
  ``RuntimeError`` for a locked cell it cannot restore;
- :class:`TimedExecute`: nbgrader's ``Execute`` with kernels on private IPC
  sockets, started with retries (:mod:`autograder.grading.kernels`) in their
  sandbox (:mod:`autograder.grading.kernel_sandbox`), timing the kernel start
  and the cells' execution into :data:`CLOCK`, and holding the submission's
  limits: past its wall-clock ``deadline`` or past ``output_bytes`` of output,
  the kernel (the bubblewrap process, and everything in it) is killed and the
  submission FAILED ("time limit", "output limit"); a kernel that died after
  a ``MemoryError`` is FAILED "memory limit".

What is the student's (the submission FAILED, with the reason) and what is the
grader's (:class:`GraderFailure`: not recorded, regraded by the next run) is
decided here, by type.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from dataclasses import dataclass

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.reader import NotJSONError
from nbformat.validator import ValidationError
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, OverwriteCells
from nbgrader.preprocessors.execute import UnresponsiveKernelError
import zmq
from sqlalchemy.exc import OperationalError
from traitlets import Integer

from .kernel_sandbox import KernelJob, KernelLimits, current
from .kernels import KernelStartError, ScratchKernelManager, start_with_retries
from .records import Failure


class GraderFailure(Exception):
    """The grader could not grade the submission (its fault or the machine's, never the student's)."""


class DatabaseBusy(GraderFailure):
    """The gradebook stayed locked by another writer (SQLite): try again later."""


class LimitExceeded(Exception):
    """The notebook went past one of its limits (``failure``), and its kernel was killed."""

    def __init__(self, failure, reason):
        super().__init__(reason)
        self.failure, self.reason = failure, reason


class LockedCellChanged(Exception):
    """A locked cell of the submission differs from the source in a way nbgrader cannot restore."""

    def __init__(self, grade_id):
        super().__init__(grade_id)
        self.grade_id = grade_id


@dataclass
class Clock:
    """Seconds measured inside nbgrader's run by :class:`TimedExecute` (reset per submission)."""

    kernel_start: float = 0.0
    execution: float = 0.0


CLOCK = Clock()


class TypedOverwriteCells(OverwriteCells):
    """``OverwriteCells`` whose only failure (a locked cell that cannot be restored) has a type."""

    def preprocess_cell(self, cell, resources, cell_index):
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        except RuntimeError as e:  # nbgrader 0.9.6 raises RuntimeError only for inconsistent checksums
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"#{cell_index}")
            raise LockedCellChanged(grade_id) from e


def _kill(km):
    """SIGKILL the kernel's process group: the bubblewrap process (its sandbox dies with it), or, without
    bubblewrap, the kernel and what it started in its session."""
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


class TimedExecute(Execute):
    """``Execute`` on collision-free kernels (:class:`ScratchKernelManager`), started with retries, timed,
    within a wall-clock deadline and an output cap."""

    start_attempts = Integer(3, help="kernel starts to try before giving up (the grader's failure)").tag(config=True)
    deadline = Integer(600, help="wall-clock seconds for the whole notebook (kernel start included)").tag(config=True)
    output_bytes = Integer(KernelLimits.output_bytes, help="bytes of output accepted from the notebook").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", ScratchKernelManager)
        super().__init__(*args, **kwargs)
        self.limit: LimitExceeded | None = None
        self.dropped = None  # the monitor of the output channel's connection
        self.received = 0  # bytes of output so far
        self.memory_errors = 0

    def _stop(self, failure, reason):
        """Past a limit: remember why and kill the kernel (nbclient then finds it dead)."""
        if self.limit is None:
            self.limit = LimitExceeded(failure, reason)
        _kill(self.km)

    async def async_start_new_kernel(self, **kwargs):
        base_start = super().async_start_new_kernel
        base_client = super().async_start_new_kernel_client

        async def start():
            if self.limit is not None:
                raise self.limit
            await base_start(**kwargs)
            await base_client()
            # a message over the cap (zmq.MAXMSGSIZE, see kernels) drops the connection: watch for that
            self.dropped = self.kc.iopub_channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)

        CLOCK.kernel_start += await start_with_retries(self, start, self.start_attempts, self.log,
                                                       fatal=(LimitExceeded,))

    start_new_kernel = run_sync(async_start_new_kernel)

    async def _async_check_alive(self):
        """nbclient's check, every second of a cell: also, a dropped output connection while the kernel
        lives means a message over the output cap."""
        if self.dropped is not None:
            try:
                await self.dropped.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                pass
            else:
                for _ in range(10):  # a kernel that died also drops it: give its death time to show
                    if not await self.km.is_alive():
                        break
                    await asyncio.sleep(0.1)
                else:
                    self._output_limit()
        await super()._async_check_alive()

    def _output_limit(self):
        self._stop(Failure.OUTPUT_LIMIT, f"output limit: the notebook printed or displayed more than "
                                         f"{self.output_bytes >> 20} MiB; print less (or only a summary)")

    def process_message(self, msg, cell, cell_index):
        content = msg.get("content") or {}  # every message counts: nbclient keeps widget (comm) state too
        self.received += len(json.dumps(content, default=str)) + sum(len(b) for b in msg.get("buffers") or ())
        if msg.get("msg_type") == "error" and content.get("ename") == "MemoryError":
            self.memory_errors += 1
        if self.received > self.output_bytes:
            self._output_limit()
            raise self.limit
        return super().process_message(msg, cell, cell_index)

    def preprocess(self, nb, resources=None, km=None):
        t0, started_before = time.perf_counter(), CLOCK.kernel_start
        self.limit, self.received, self.memory_errors, self.dropped = None, 0, 0, None
        timer = threading.Timer(self.deadline, self._stop, (Failure.TIME_LIMIT, (
            f"time limit: the notebook ran for more than {self.deadline} s in all; make it faster "
            "(smaller loops, fewer epochs) or look for a cell that never ends")))
        timer.daemon = True
        timer.start()
        try:
            return super().preprocess(nb, resources, km)
        except Exception as e:
            if self.limit is not None:
                raise self.limit from e
            if isinstance(e, DeadKernelError) and self.memory_errors:
                raise LimitExceeded(Failure.MEMORY_LIMIT, (
                    f"memory limit: the kernel died after running out of memory (MemoryError; the limit is "
                    f"{(current() or KernelJob(None, None, '')).limits.memory_bytes >> 30} GiB); use smaller "
                    "arrays or batches")) from e
            raise
        finally:
            timer.cancel()
            if self.dropped is not None:
                self.dropped.close(linger=0)
            CLOCK.execution += time.perf_counter() - t0 - (CLOCK.kernel_start - started_before)


class TypedAutograde(Autograde):
    """nbgrader's ``Autograde`` that keeps the exception that failed the submission in ``failure``."""

    failure = None

    def init_assignment(self, assignment_id, student_id):
        try:
            super().init_assignment(assignment_id, student_id)
        except BaseException as e:
            self.failure = e
            raise

    def convert_single_notebook(self, notebook_filename):
        try:
            super().convert_single_notebook(notebook_filename)
        except BaseException as e:
            self.failure = e
            raise


@dataclass
class Result:
    """One autograde: ``failure`` None when it succeeded; else the student's failure and its reason."""

    failure: Failure | None
    reason: str | None
    seconds: float
    log: str = ""


def classify(error: BaseException | None, log: str = "") -> tuple[Failure, str]:
    """The student's failure behind ``error`` (the exception that stopped autograde), by type.

    Raises :class:`GraderFailure` (or re-raises KeyboardInterrupt) for what is not the student's."""
    if isinstance(error, KeyboardInterrupt):
        raise error
    if isinstance(error, KernelStartError):
        raise GraderFailure(str(error)) from error
    if isinstance(error, OperationalError):
        raise DatabaseBusy(f"the gradebook could not be written: {error.orig!r}") from error
    if isinstance(error, LimitExceeded):
        return error.failure, error.reason
    if isinstance(error, DeadKernelError):
        return Failure.KERNEL_DIED, ("the kernel died while running the notebook "
                                     "(os._exit, a crash or running out of memory)")
    if isinstance(error, (UnresponsiveKernelError, CellTimeoutError)):
        return Failure.KERNEL_HUNG, "the kernel hung and could not be interrupted"
    if isinstance(error, LockedCellChanged):
        return Failure.LOCKED_CELL_CHANGED, (f"test cell {error.grade_id} was changed in a way nbgrader cannot "
                                             "restore (its nbgrader metadata): nbgrader refused the notebook")
    if isinstance(error, (NotJSONError, ValidationError)):
        return Failure.BAD_NOTEBOOK, "the notebook file is not a valid notebook"
    if error is not None:
        return Failure.AUTOGRADE, f"nbgrader autograde failed: {type(error).__name__}: {str(error)[:300]}"
    errors = [ln[len("[ERROR] "):] for ln in log.splitlines() if ln.startswith("[ERROR]") and "Please see" not in ln]
    return Failure.AUTOGRADE, f"nbgrader autograde failed: {(errors or ['see the log'])[-1][:300]}"


def autograde(api, student, assignment, attempts=4, submitted=None) -> Result:
    """``nbgrader autograde`` of one submission with ``api`` (an ``NbGraderAPI``), as
    ``NbGraderAPI.autograde`` runs it, retrying while the gradebook is locked by another worker.
    ``submitted``: a folder holding ``<student>/<assignment>`` to read instead of the course's
    ``submitted/`` (the grader's scratch copy)."""
    from nbgrader.utils import capture_log, temp_attrs

    t0 = time.perf_counter()
    attempt = 0
    while True:
        where = {"submitted_directory": str(submitted)} if submitted is not None else {}
        with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student, **where):
            app = TypedAutograde(coursedir=api.coursedir, parent=api)
            app.force, app.create_student = True, True
            out = capture_log(app)
        if out["success"]:
            return Result(None, None, time.perf_counter() - t0, out.get("log", ""))
        try:
            failure, reason = classify(app.failure, out.get("log", "") + out.get("error", ""))
            return Result(failure, reason, time.perf_counter() - t0, out.get("log", ""))
        except DatabaseBusy:
            attempt += 1
            if attempt >= attempts:
                raise
            time.sleep(2 * attempt - 1)

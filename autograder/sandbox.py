"""Run a student's package in separate, confined worker processes: the deciding side.

A :class:`Worker` is a process that imports the student's modules (the code in
``autograder/worker/``, which runs inside the sandbox) and answers programs:
this side sends them (:mod:`autograder.protocol`), enforces a wall-clock
deadline per program (the whole process group is killed) and a cap on the
bytes the worker may print, and turns every way a worker can fail into a
:class:`WorkerFailure` whose message a student understands. Where the walls
come from (bubblewrap, or the worker's own limits alone) is
:mod:`autograder.bwrap`.

To start quickly, the workers of one submission are forked by a :class:`Zygote` (:mod:`autograder.zygote`)
started in the same sandbox, which imports numpy once (a fork costs
milliseconds, an interpreter with numpy a few hundred); each forked worker
installs its own limits, seccomp filter and audit hook before it imports the
student's code, and the zygote itself never runs student code. If the zygote
is unavailable, each worker is started as its own sandboxed interpreter.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from .bwrap import SANDBOX_WARNING, base_config, bwrap_path, command, sandbox_kind, warn_if_unsandboxed
from .protocol import Closed, Deadline, FrameReader, ProtocolError, write_frame
from .zygote import Zygote, ZygoteChild, ZygoteError

__all__ = ["Limits", "Worker", "WorkerFailure", "Zygote", "ZygoteError",
           "SANDBOX_WARNING", "bwrap_path", "sandbox_kind", "warn_if_unsandboxed"]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Limits of one worker process (the defaults suit a real grading run;
    tests pass small values so that hangs cost seconds)."""

    call_timeout: float = 10.0  # wall-clock seconds for one program
    import_timeout: float = 20.0  # wall-clock seconds to start and import the package
    cpu_seconds: int = 60  # CPU seconds over the worker's life (RLIMIT_CPU)
    memory_bytes: int = 2 << 30  # address space (RLIMIT_AS)
    output_bytes: int = 32 << 20  # bytes printed by one program before the worker is killed
    file_bytes: int = 16 << 20  # largest file the worker may write (RLIMIT_FSIZE)


class WorkerFailure(Exception):
    """The worker timed out, died, or broke the protocol. ``message`` says why
    in words a student understands; ``kind`` is 'timeout', 'died', 'protocol'
    or 'output'."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


_SIGNAL_MEANING = {
    signal.SIGXCPU: "killed: CPU time limit ({cpu} s) exceeded (an infinite loop or very slow code?)",
    signal.SIGXFSZ: "killed: it wrote a file larger than the limit",
    signal.SIGSEGV: "crashed (segmentation fault; a failed allocation under the {mem} memory limit can do this)",
    signal.SIGBUS: "crashed (bus error)",
    signal.SIGABRT: "aborted (often an allocation failing under the {mem} memory limit)",
    signal.SIGKILL: "killed (SIGKILL): probably the memory limit ({mem})",
    signal.SIGSYS: "killed: a forbidden system call",
}


class Worker:
    """One sandboxed worker process that imports ``modules`` of the student's
    package copied in ``sub_dir`` (which contains ``nntricks/``)."""

    def __init__(self, sub_dir: Path, modules: list[str], limits: Limits, zygote: "Zygote | None" = None):
        self.sub_dir, self.modules, self.limits = Path(sub_dir), list(modules), limits
        self.zygote = zygote
        self.proc: "subprocess.Popen | ZygoteChild | None" = None
        self.ready: dict = {}
        self._req_id = 0
        self._output = bytearray()
        self._output_total = 0
        self._output_exceeded = False
        self._killed_by_us = False
        self._req_w = self._resp_r = self._out_r = None
        self._drain: threading.Thread | None = None

    # ---- life cycle
    def start(self) -> dict:
        """Start and import; returns the worker's ready message (which holds
        ``import_error`` when the student's package failed to import)."""
        self.spawn()
        return self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting for it (it imports numpy and the
        student's module meanwhile); :meth:`wait_ready` completes the start.
        With a :class:`Zygote`, the worker is forked from it (much cheaper)."""
        bwrap = bwrap_path()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        cfg = dict(base_config(self.sub_dir, bwrap), modules=self.modules, cpu_seconds=self.limits.cpu_seconds,
                   memory_bytes=self.limits.memory_bytes, file_bytes=self.limits.file_bytes, nproc=64)
        try:
            if self.zygote is not None and self.zygote.alive:
                try:
                    self.proc = ZygoteChild(self.zygote, self.zygote.spawn(cfg, [req_r, resp_w, out_w]))
                except ZygoteError:
                    self.proc = None
            if self.proc is None:
                cfg.update(req_fd=req_r, resp_fd=resp_w)
                cmd, env, cwd = command(self.sub_dir, bwrap, cfg)
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                             pass_fds=(req_r, resp_w), start_new_session=True, env=env,
                                             cwd=cwd, close_fds=True)
        except BaseException:
            for fd in (req_w, resp_r, out_r):
                os.close(fd)
            raise
        finally:
            for fd in (req_r, resp_w, out_w):
                os.close(fd)
        for fd in (req_w, resp_r):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        self._req_w, self._resp_r, self._reader = req_w, resp_r, FrameReader(resp_r)
        self._out_r = out_r
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()
        self._spawned_at = time.monotonic()

    def wait_ready(self) -> dict:
        what = "starting and importing " + ", ".join(self.modules)
        header, _ = self._receive(self._spawned_at + self.limits.import_timeout, what)
        if header.get("ready") is not True:
            self.kill()
            raise WorkerFailure("protocol", f"the worker's first answer was malformed while {what}")
        self.ready = header
        return header

    def _drain_output(self):
        fd, keep = self._out_r, 4096
        self._out_r = None  # owned (and closed) by this thread
        try:
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                self._output_total += len(chunk)
                if len(self._output) < keep:
                    self._output += chunk[: keep - len(self._output)]
                if self._output_total > self.limits.output_bytes and not self._output_exceeded:
                    self._output_exceeded = True
                    self.kill()
        except OSError:
            pass
        finally:
            os.close(fd)

    @property
    def output_head(self) -> str:
        return bytes(self._output).decode("utf-8", "replace")

    def kill(self):
        if self.proc is None:
            return
        self._killed_by_us = True
        proc = self.proc
        # a forked child's pid lives in the sandbox's namespace: only the zygote may use it
        fns = [proc.kill] if isinstance(proc, ZygoteChild) else [lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill]
        for fn in fns:
            try:
                fn()
            except (ProcessLookupError, PermissionError, OSError, ZygoteError):
                pass

    def _close_fd(self, name: str):
        """Close a pipe end once (a second close could hit a reused descriptor of another worker)."""
        fd = getattr(self, name, None)
        if fd is not None:
            setattr(self, name, None)
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self):
        """Stop the worker (politely: closing its request pipe ends its loop)."""
        if self.proc is None:
            return
        self._close_fd("_req_w")
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._cleanup()

    def _cleanup(self):
        self._close_fd("_resp_r")
        self._close_fd("_req_w")
        if self._drain is not None:
            self._drain.join(timeout=2)
        self.proc = None

    # ---- talking
    def _death_message(self, what: str) -> str:
        assert self.proc is not None
        try:
            rc = self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.wait(timeout=5)
        if self._output_exceeded:
            return (f"killed: it printed more than {self.limits.output_bytes >> 20} MB while {what} "
                    "(remove the prints from your functions)")
        wrapped = bwrap_path() and not isinstance(self.proc, ZygoteChild)  # bwrap reports a signal as 128 + n
        sig = -rc if rc < 0 else (rc - 128 if wrapped and rc > 128 else None)
        if sig:
            text = _SIGNAL_MEANING.get(sig, "killed by signal {sig}")
            return text.format(cpu=self.limits.cpu_seconds, mem=_human(self.limits.memory_bytes),
                               sig=sig) + f" while {what}"
        return (f"the process exited with status {rc} (sys.exit / os._exit / a closed file descriptor?) "
                f"while {what}")

    def _receive(self, deadline: float, what: str):
        try:
            return self._reader.read(deadline)
        except Deadline:
            timeout = self.limits.import_timeout if what.startswith("starting") else self.limits.call_timeout
            self.kill()
            self._wait_dead()
            if self._output_exceeded:
                raise WorkerFailure("output", self._death_message(what)) from None
            raise WorkerFailure("timeout", f"timed out after {timeout:g} s while {what} "
                                           "(an infinite loop, or input() / a blocking call?)") from None
        except Closed:
            msg = self._death_message(what)
            self._cleanup()
            raise WorkerFailure("died", msg) from None
        except ProtocolError as e:
            self.kill()
            self._wait_dead()
            raise WorkerFailure("protocol", f"the worker's answer was malformed while {what} ({e}); "
                                            "did your code write to a file descriptor it does not own?") from None

    def _wait_dead(self):
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._cleanup()

    def request(self, header: dict, blobs: list[bytes], what: str, timeout: float | None = None):
        """Send one program and wait for its answer (or raise WorkerFailure)."""
        if self.proc is None or self._req_w is None:
            raise WorkerFailure("died", f"the worker is not running ({what})")
        self._req_id += 1
        self._output_total = 0  # the output limit applies to each program
        header = dict(header, id=self._req_id)
        deadline = time.monotonic() + (timeout or self.limits.call_timeout)
        try:
            write_frame(self._req_w, header, blobs, deadline)
        except Deadline:
            self.kill()
            self._wait_dead()
            raise WorkerFailure("timeout", f"the worker stopped reading its input while {what}") from None
        except Closed:
            msg = self._death_message(what)
            self._cleanup()
            raise WorkerFailure("died", msg) from None
        answer, out_blobs = self._receive(deadline, what)
        if answer.get("id") != self._req_id:
            self.kill()
            self._wait_dead()
            raise WorkerFailure("protocol", f"the worker answered out of turn while {what}; did your code "
                                            "write to a file descriptor it does not own?")
        return answer, out_blobs


def _human(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"



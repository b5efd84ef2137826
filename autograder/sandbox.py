"""Run a student's package in a separate, sandboxed worker process.

The worker (``autograder/_worker.py``) is started with:

- bubblewrap when it works here (``bwrap``, Debian package ``bubblewrap``): an
  empty root with only ``/usr`` (system libraries), the interpreter's prefix
  (its own ``site-packages`` hidden under an empty tmpfs), numpy and
  ``numpy.libs``, the worker script and the scratch copy of the submission,
  all read-only, plus a private ``/tmp``; ``--unshare-all`` (no network, own
  PID, IPC, UTS and cgroup namespaces), ``--die-with-parent``,
  ``--new-session``, a cleared environment and no capabilities. The
  reference, the hidden checks, the gradebook and other students' work do not
  exist inside it.
- always: CPU-time, address-space, file-size and core limits that the worker
  sets on itself before anything else, a seccomp filter that forbids new
  processes, exec, ptrace, sockets, signals to other processes and raising
  those limits, and an audit hook that refuses file access outside the
  allowed directories and imports of torch, jax, tensorflow or the autograder;
  on the decider's side a wall-clock deadline per program (the whole process
  group is killed) and a cap on the bytes the worker may print.

Where bubblewrap is missing or does not work (e.g. in a container without user
namespaces), a loud warning is given and the limits alone apply.

To start quickly, the workers of one submission are forked by a :class:`Zygote`
started in the same sandbox, which imports numpy once (a fork costs
milliseconds, an interpreter with numpy a few hundred); each forked worker
installs its own limits, seccomp filter and audit hook before it imports the
student's code, and the zygote itself never runs student code. If the zygote
is unavailable, each worker is started as its own sandboxed interpreter.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from .protocol import Closed, Deadline, FrameReader, ProtocolError, write_frame

WORKER_SCRIPT = Path(__file__).resolve().parent / "_worker.py"
SANDBOX_WARNING = ("WARNING: bubblewrap (bwrap) is not available or does not work here: student code "
                   "runs WITHOUT a filesystem/network sandbox, with process limits, a seccomp filter "
                   "and an audit hook only. Install the Debian package 'bubblewrap' on grading machines.")


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


# ------------------------------------------------------------------- sandbox


#: Packages of the grading environment that student code may not use: hidden
#: (bubblewrap) or refused at import (audit hook) in the worker.
FORBIDDEN_PACKAGES = ("torch", "functorch", "torchgen", "torchvision", "torchaudio", "triton", "jax",
                      "jaxlib", "tensorflow", "tensorflow_core", "keras", "tf_keras", "flax", "nbgrader",
                      "autograder", "cupy", "mxnet", "paddle", "theano")


def site_packages() -> Path:
    """The site-packages directory that holds numpy (and scipy, matplotlib, ...):
    mounted read-only in the worker, minus the forbidden packages."""
    return Path(np.__file__).resolve().parent.parent


def _hidden_entries(site: Path) -> list[Path]:
    out = []
    for entry in sorted(site.iterdir()):
        stem = entry.name.split("-")[0].split(".")[0].lower()
        if stem in FORBIDDEN_PACKAGES or stem.startswith(("nvidia", "torch")):
            out.append(entry)
    return out


def _python() -> Path:
    return Path(os.path.realpath(sys.executable))


def _stdlib_prefix() -> Path:
    return Path(os.path.realpath(sys.base_prefix))


@functools.lru_cache(maxsize=None)
def bwrap_path() -> str | None:
    """The bubblewrap executable if it exists and works here, else None
    (``NNTRICKS_SANDBOX=none`` forces None, for testing the fallback)."""
    if os.environ.get("NNTRICKS_SANDBOX", "").lower() in ("none", "0", "off"):
        return None
    exe = shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)
    if not exe:
        return None
    try:
        cmd = [exe, *_bwrap_mounts(None), "--", str(_python()), "-S", "-c", "pass"]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20)
        return exe if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def sandbox_kind() -> str:
    return "bubblewrap" if bwrap_path() else "none (process limits only)"


def _bwrap_mounts(sub_dir: Path | None) -> list[str]:
    prefix = _stdlib_prefix()
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib64", "lib32", "bin", "sbin"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    if not str(prefix).startswith("/usr/"):
        args += ["--ro-bind", str(prefix), str(prefix)]
    python = _python()
    if not str(python).startswith((str(prefix) + "/", "/usr/")):
        args += ["--ro-bind", str(python), str(python)]
    # Hide whatever the base interpreter has installed (torch, ...).
    for sp in {sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})[k]
               for k in ("purelib", "platlib")}:
        if os.path.isdir(sp):
            args += ["--tmpfs", sp]
    site = site_packages()
    args += ["--ro-bind", str(site), "/opt/nntricks-site"]
    for entry in _hidden_entries(site):
        inside = f"/opt/nntricks-site/{entry.name}"
        args += ["--tmpfs", inside] if entry.is_dir() else ["--ro-bind", "/dev/null", inside]
    args += ["--ro-bind", str(WORKER_SCRIPT), "/opt/nntricks-grader/worker.py"]
    if sub_dir is not None:
        args += ["--ro-bind", str(sub_dir), "/sub"]
    # a private /tmp, capped (a tmpfs lives in the host's memory)
    args += ["--size", str(64 << 20), "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp"]
    return args


_ENV = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde"}


# -------------------------------------------------------------------- worker

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
        self.proc: "subprocess.Popen | _ZygoteChild | None" = None
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
        cfg = dict(_base_config(self.sub_dir, bwrap), modules=self.modules, cpu_seconds=self.limits.cpu_seconds,
                   memory_bytes=self.limits.memory_bytes, file_bytes=self.limits.file_bytes, nproc=64)
        try:
            if self.zygote is not None and self.zygote.alive:
                try:
                    self.proc = _ZygoteChild(self.zygote, self.zygote.spawn(cfg, [req_r, resp_w, out_w]))
                except ZygoteError:
                    self.proc = None
            if self.proc is None:
                cfg.update(req_fd=req_r, resp_fd=resp_w)
                cmd, env, cwd = _command(self.sub_dir, bwrap, cfg)
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
        fns = [proc.kill] if isinstance(proc, _ZygoteChild) else [lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill]
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
        wrapped = bwrap_path() and not isinstance(self.proc, _ZygoteChild)  # bwrap reports a signal as 128 + n
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


def _base_config(sub_dir: Path, bwrap) -> dict:
    """What a worker (or the zygote) needs to know about its surroundings."""
    if bwrap:
        site = ["/opt/nntricks-site"]
        return {"sub_dir": "/sub", "sys_path_append": site, "die_with_parent": False,
                "read_roots": ["/sub", "/usr", "/lib", "/lib64", str(_stdlib_prefix()), *site,
                               "/opt/nntricks-grader", "/dev", "/proc", "/etc"],
                "write_roots": ["/tmp"]}
    site = [str(site_packages())]
    work = Path(sub_dir) / "work"
    work.mkdir(exist_ok=True)
    return {"sub_dir": str(sub_dir), "sys_path_append": site, "die_with_parent": True,
            "read_roots": [str(sub_dir), "/usr", "/lib", "/lib64", str(_stdlib_prefix()), *site,
                           str(Path(sys.prefix).resolve()), str(WORKER_SCRIPT), "/dev", "/proc", "/etc"],
            "write_roots": [str(work)]}


def _command(sub_dir: Path, bwrap, cfg: dict):
    """The command line, environment and working directory of a sandboxed worker script."""
    if bwrap:
        cmd = [bwrap, *_bwrap_mounts(Path(sub_dir))]
        for k, v in {**_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}.items():
            cmd += ["--setenv", k, v]
        cmd += ["--", str(_python()), "-S", "-B", "-P", "/opt/nntricks-grader/worker.py", json.dumps(cfg)]
        return cmd, {}, "/"
    work = str(Path(sub_dir) / "work")
    cmd = [str(_python()), "-S", "-B", "-P", str(WORKER_SCRIPT), json.dumps(cfg)]
    return cmd, {**_ENV, "HOME": work, "TMPDIR": work}, work


class ZygoteError(Exception):
    """The zygote does not answer; workers are then started directly."""


class Zygote:
    """A trusted process in the sandbox that imports numpy once and forks the
    workers of one submission (see ``_worker._zygote``): starting a worker then
    costs a fork instead of an interpreter and a numpy import. Every worker
    still installs its own limits, seccomp filter and audit hook before it
    imports the student's code. Thread-safe."""

    def __init__(self, sub_dir: Path, limits: Limits, preload=()):
        import socket

        bwrap = bwrap_path()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cfg = dict(_base_config(Path(sub_dir), bwrap), mode="zygote", ctl_fd=child.fileno(), preload=list(preload))
        cmd, env, cwd = _command(Path(sub_dir), bwrap, cfg)
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(child.fileno(),),
                                         start_new_session=True, env=env, cwd=cwd, close_fds=True)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        self.sock, self.lock, self.alive = parent, threading.Lock(), True
        self._ready, self._import_timeout = False, limits.import_timeout

    def _wait_ready(self) -> None:
        """Called under the lock by the first request: the zygote starts while the decider works."""
        try:
            self.sock.settimeout(self._import_timeout)
            if json.loads(self.sock.recv(1 << 16) or b"{}").get("ready") is not True:
                raise ZygoteError("the zygote did not start")
        except (OSError, ValueError, ZygoteError) as e:
            self.alive = False
            raise ZygoteError(str(e)) from None
        self._ready = True

    def _request(self, cmd: dict, fds=(), timeout: float = 30.0) -> dict:
        import socket

        with self.lock:
            if not self.alive:
                raise ZygoteError("the zygote is gone")
            if not self._ready:
                self._wait_ready()
            try:
                self.sock.settimeout(timeout)
                socket.send_fds(self.sock, [json.dumps(cmd).encode()], list(fds))
                reply = json.loads(self.sock.recv(1 << 16))
            except (OSError, ValueError) as e:
                self.alive = False
                raise ZygoteError(str(e)) from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            raise ZygoteError(f"the zygote refused {cmd.get('cmd')}")
        return reply

    def spawn(self, cfg: dict, fds) -> int:
        pid = self._request({"cmd": "spawn", "cfg": cfg}, fds).get("pid")
        if not isinstance(pid, int):
            raise ZygoteError("no pid")
        return pid

    def kill(self, pid: int) -> None:
        self._request({"cmd": "kill", "pid": pid})

    def wait(self, pid: int, timeout: float) -> int | None:
        status = self._request({"cmd": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 30).get("status")
        return status if isinstance(status, int) else None

    def close(self) -> None:
        self.alive = False
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            for fn in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
                try:
                    fn()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class _ZygoteChild:
    """The part of ``subprocess.Popen``'s interface the Worker uses, for a worker forked by a zygote."""

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote, self.pid, self.returncode = zygote, pid, None

    def kill(self):
        self.zygote.kill(self.pid)

    def wait(self, timeout=None):
        if self.returncode is None:
            try:
                status = self.zygote.wait(self.pid, 30.0 if timeout is None else float(timeout))
            except ZygoteError:
                status = -signal.SIGKILL  # the zygote is gone, and its children with it
            if status is None:
                raise subprocess.TimeoutExpired("worker", timeout)
            self.returncode = status
        return self.returncode


def _human(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


def warn_if_unsandboxed(stream=None) -> str | None:
    """The warning text when there is no sandbox (also printed to ``stream``)."""
    if bwrap_path():
        return None
    if stream is not None:
        print(SANDBOX_WARNING, file=stream)
    else:
        warnings.warn(SANDBOX_WARNING, RuntimeWarning, stacklevel=2)
    return SANDBOX_WARNING

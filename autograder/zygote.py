"""The zygote: a trusted process started in the sandbox that imports numpy once and forks the workers of
one submission (see :mod:`autograder.sandbox`, which uses it, and ``autograder/worker``, its other end)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

from .bwrap import base_config, bwrap_path, command


class ZygoteError(Exception):
    """The zygote does not answer; workers are then started directly."""


class Zygote:
    """A trusted process in the sandbox that imports numpy once and forks the
    workers of one submission (see ``_worker._zygote``): starting a worker then
    costs a fork instead of an interpreter and a numpy import. Every worker
    still installs its own limits, seccomp filter and audit hook before it
    imports the student's code. Thread-safe."""

    def __init__(self, sub_dir: Path, limits: "sandbox.Limits", preload=()):
        import socket

        bwrap = bwrap_path()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cfg = dict(base_config(Path(sub_dir), bwrap), mode="zygote", ctl_fd=child.fileno(), preload=list(preload))
        cmd, env, cwd = command(Path(sub_dir), bwrap, cfg)
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


class ZygoteChild:
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

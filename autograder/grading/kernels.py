"""Notebook kernels that cannot collide: IPC sockets in a private folder, retried when they do not start.

A kernel started the usual way listens on five TCP ports on localhost that
jupyter_client picks by binding port 0 and releasing it before the kernel binds
it again: two kernels started at the same moment (``grade --jobs 2`` on a busy
machine) can pick the same port, and one dies at start with ``zmq.error.ZMQError:
Address already in use`` (before this module, that student was marked FAILED,
"the kernel died"). :class:`ScratchKernelManager` starts every kernel on the
``ipc`` transport instead: its connection file and its Unix sockets live in a
fresh folder of their own (``mkdtemp``) inside the current submission's scratch
folder (:func:`sockets_in`), so no two kernels can ever share an address. Paths
of Unix sockets are limited to 107 bytes: when the scratch folder's path is too
long, the sockets go to a fresh folder under the system's temporary directory
(``/tmp`` when even that is too long).

nbgrader's ``Execute`` (nbclient) creates its kernel manager from
``kernel_manager_class``; :class:`autograder.grading.autograde.TimedExecute`
sets it to :class:`ScratchKernelManager` and starts the kernel with
:func:`start_with_retries`: a kernel that does not start or does not answer
is shut down and started again, and after ``attempts`` tries
:class:`KernelStartError` says so. That is the grader's failure, never the
student's (the kernel starts before any of the student's code runs): the
submission is not recorded, and the next run grades it again.

The kernel runs the student's notebook code: where bubblewrap works, it starts in a sandbox of
its own (:mod:`autograder.grading.kernel_sandbox`: a size-capped tmpfs as its working folder, a
read-only scratch copy of the submission, no capabilities, no new processes); the socket folder
is the one host folder it can write, and is removed with the kernel. Every socket of the
kernel's client refuses a message larger than the output cap (``zmq.MAXMSGSIZE``), so one
huge message cannot fill the grader's memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

import zmq

from .kernel_sandbox import command, current

UNIX_PATH_MAX = 107  # bytes in sockaddr_un.sun_path, minus the terminating NUL
_SOCKET_NAME = "s"  # sockets are <folder>/s-1 ... s-5
_base = None  # the current submission's scratch folder (sockets_in)


@contextlib.contextmanager
def sockets_in(folder):
    """Kernels started inside this block put their sockets in fresh folders under ``folder``."""
    global _base
    saved, _base = _base, Path(folder)
    try:
        yield
    finally:
        _base = saved


def _fits(folder) -> bool:
    # <folder>/kXXXXXXXX/s-5 : mkdtemp adds a prefix and 8 characters
    return len(os.fsencode(str(folder))) + len("/k12345678/") + len(_SOCKET_NAME) + 3 <= UNIX_PATH_MAX


def socket_folder() -> Path:
    """A fresh, private (0700) folder for one kernel's connection file and sockets, with a short path."""
    for base in (_base, Path(tempfile.gettempdir()), Path("/tmp")):
        if base is not None and _fits(base) and base.is_dir():
            return Path(tempfile.mkdtemp(prefix="k", dir=base))
    raise OSError(f"no folder short enough for Unix sockets ({UNIX_PATH_MAX} bytes): set TMPDIR to a short path")


class KernelStartError(Exception):
    """The notebook's kernel did not start (the grader's failure, not the student's)."""


class ScratchKernelManager(AsyncKernelManager):
    """An :class:`~jupyter_client.manager.AsyncKernelManager` on the ``ipc`` transport, its connection
    file and sockets in a private folder of its own (removed with the kernel)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.socket_folder = socket_folder()
        self.transport = "ipc"
        self.connection_file = str(self.socket_folder / "connection.json")
        self.ip = str(self.socket_folder / _SOCKET_NAME)

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        sandboxed = command(cmd, self.socket_folder)
        if sandboxed != cmd:  # a signal reaches only bubblewrap: interrupt with a message on the control channel
            self.kernel_spec.interrupt_mode = "message"
        return sandboxed, kw

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        job = current()
        if job is not None:  # before the channels connect: every socket made afterwards has the cap
            kc.context.setsockopt(zmq.MAXMSGSIZE, job.limits.output_bytes + (1 << 20))
        return kc

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.socket_folder, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


async def discard(client) -> None:
    """Shut down and forget the kernel of an nbclient ``client`` after a failed start."""
    km, kc = client.km, getattr(client, "kc", None)
    try:
        if kc is not None:
            kc.stop_channels()
        if km is not None:
            if await km.is_alive():
                await km.shutdown_kernel(now=True)
            await km.cleanup_resources()
    except Exception:  # noqa: BLE001 - a half-started kernel: best effort, it is discarded anyway
        pass
    client.km, client.kc = None, None


async def start_with_retries(client, start, attempts: int, log=None, fatal=()) -> float:
    """Start ``client``'s kernel and its channels with ``start()`` (a coroutine function), up to ``attempts``
    times; returns the seconds it took. Raises :class:`KernelStartError` when every attempt failed, and
    an exception of a ``fatal`` type at once."""
    t0 = time.perf_counter()
    errors = []
    for attempt in range(1, max(1, attempts) + 1):
        try:
            if client.km is None:
                client.km = client.create_kernel_manager()
            await start()
            return time.perf_counter() - t0
        except fatal:
            await discard(client)
            raise
        except Exception as e:  # noqa: BLE001 - any failure to start is retried, then reported as ours
            errors.append(f"{type(e).__name__}: {e}")
            if log is not None:
                log.warning("kernel start %d/%d failed: %s", attempt, attempts, errors[-1])
            await discard(client)
    raise KernelStartError(f"the notebook kernel did not start ({len(errors)} attempts; last: {errors[-1]})")

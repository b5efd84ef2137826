"""The notebook kernel's sandbox: what the student's notebook code sees, may do and may send back.

The rule this module enforces, with :mod:`autograder.grading.autograde`: **no trusted step touches
what the student's code could have changed without checking it.**

- In: before nbgrader runs, the trusted side copies the student's submitted folder
  (``submitted/<student>/<assignment>``) into the job's scratch folder, regular files only, never
  through a link, with size caps (:func:`take_in`). nbgrader reads the submission from that copy
  (its own copy into ``autograded/`` follows links and blocks on fifos), and the kernel gets it
  read-only; the grader never reads anything back from the kernel's file system.
- Inside (:func:`command`, bubblewrap): its own user namespace with a non-zero uid/gid, no
  capabilities even where the grader is root (``--cap-drop ALL``), no nested user namespaces, no
  network, its own PID/IPC/UTS/cgroup namespaces, ``--die-with-parent``, ``--new-session``, a
  cleared environment with an allow-list. Mounted read-only: the interpreter and its libraries
  (:func:`autograder.bwrap.system_mounts`, the same as the hidden checks' sandbox), the scratch
  copy, the checks' results for its cells (``NNTRICKS_CHECKS_FILE``), ``autograder/cell.py`` and
  ``autograder/exercises.py`` (all the test cells import) and the boot script
  (:mod:`autograder.grading.kernel_boot`, with the workers' ``confine``); writable: a size-capped
  tmpfs (its working folder, home and ``/tmp``) and the kernel's socket folder. Nothing of
  ``reference/``, ``solutions/``, ``autograder/checks/``, the course folder, the gradebook or other
  students exists inside. The boot script lowers the limits (:class:`KernelLimits`) and installs a
  seccomp filter (no new process, no exec) before the first cell.
- Out: only Jupyter messages, by value, into nbclient's memory, capped in bytes
  (:class:`autograder.grading.autograde.TimedExecute`); the kernel is killed (the bubblewrap
  process, and with it everything it started) past the cap or past the submission's deadline. The
  graded notebook, the merge and the feedback are written by trusted code in ``autograded/`` and
  ``feedback/``, which no sandbox mounts. The socket folder is the only host folder the kernel can
  write (each file within ``RLIMIT_FSIZE``): the trusted side only removes it when the kernel is
  gone (``rmtree``, which does not follow links).

Without bubblewrap (:func:`autograder.bwrap.bwrap_path` is None) the kernel runs as before, with
no sandbox: a loud warning says so (:data:`autograder.bwrap.SANDBOX_WARNING`); the deadline and
the output cap still hold.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import intake_files
from ..bwrap import SITE_INSIDE, WORKER_DIR, _python, bwrap_path, system_mounts

PACKAGE = Path(__file__).resolve().parent.parent  # autograder/
MOUNT = "/opt/nntricks-kernel"  # boot.py, nntricks_worker/, autograder/{cell,exercises}.py, files/, checks.json
SOCKETS = "/run/kernel"  # the kernel's socket folder, inside
HOME = "/tmp/home"
UID = GID = 60000  # the kernel's user inside (never 0: no capabilities in its namespace either)


@dataclass(frozen=True)
class KernelLimits:
    """Limits of one notebook kernel (defaults suit the course's notebooks, with headroom)."""

    memory_bytes: int = 4 << 30  # address space (RLIMIT_AS); BLAS threads are 1
    file_bytes: int = 64 << 20  # largest file it may write (RLIMIT_FSIZE)
    tmpfs_bytes: int = 256 << 20  # its working folder, home and /tmp together
    open_files: int = 1024  # RLIMIT_NOFILE
    cpu_seconds: int = 600  # RLIMIT_CPU (the wall-clock deadline is the real bound)
    output_bytes: int = 32 << 20  # Jupyter output the grader accepts from the whole notebook


@dataclass(frozen=True)
class KernelJob:
    """What the next kernel is started with: the scratch copy of the submission, the checks' results
    for its cells (or None), the assignment (its working folder's name) and the limits."""

    files: Path
    checks: Path | None
    assignment: str
    limits: KernelLimits = KernelLimits()


_job: KernelJob | None = None
COPY_CAPS = {"max_files": 1000, "max_file_bytes": 64 << 20, "max_total_bytes": 128 << 20}  # the copy's caps


@contextlib.contextmanager
def kernel_job(job: KernelJob):
    """Kernels started inside this block are started for ``job``."""
    global _job
    saved, _job = _job, job
    try:
        yield job
    finally:
        _job = saved


def current() -> KernelJob | None:
    return _job


def take_in(submitted: Path, dest: Path) -> list[str]:
    """Copy the submitted folder into ``dest`` (created here) with the one intake's rules
    (:mod:`autograder.intake_files`: regular files only, each opened with ``O_NOFOLLOW`` relative to its
    already opened folder and checked with ``fstat``, hidden files, bytecode and native code left out),
    within :data:`COPY_CAPS` (larger than a package's: a notebook carries its figures). Returns the
    ignored items, one line each (``"nntricks/nn.py: a symbolic link (only regular files are graded)"``).
    nbgrader and the kernel get this copy, never the submitted folder (nbgrader's copy follows links)."""
    notes = intake_files.Notes(**COPY_CAPS)
    dest.mkdir(parents=True)
    try:
        fd = intake_files.open_dir(submitted)
    except OSError as e:
        return [f"the submission could not be read ({e.strerror})"]
    try:
        intake_files.copy_tree(fd, "", dest, 0, notes)
    finally:
        os.close(fd)
    return list(notes.done())


def _environment(job: KernelJob) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": HOME, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "NUMEXPR_NUM_THREADS": "1", "MPLBACKEND": "agg", "MPLCONFIGDIR": f"{HOME}/mpl",
           "IPYTHONDIR": f"{HOME}/ipython", "JUPYTER_RUNTIME_DIR": f"{HOME}/runtime",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "NBGRADER_EXECUTION": "autograde",
           "JOBLIB_MULTIPROCESSING": "0"}  # joblib would warn on stderr (a test cell scores 0) that it cannot fork
    if job.checks is not None:
        from ..cell import CHECKS_FILE_ENV

        env[CHECKS_FILE_ENV] = f"{MOUNT}/checks.json"
    return env


def command(cmd: list[str], sockets: Path, job: KernelJob | None = None) -> list[str]:
    """The kernel's command line ``cmd`` (``python -m ipykernel_launcher -f FILE ...``) inside its
    sandbox, for ``job`` (default: the current :func:`kernel_job`); ``cmd`` itself without bubblewrap."""
    exe = bwrap_path()
    job = job or _job
    if not exe:
        return cmd
    if job is None:
        raise RuntimeError("a notebook kernel started outside a grading job (kernel_sandbox.kernel_job)")
    if "-f" not in cmd:
        raise ValueError(f"not a kernel command line (no -f CONNECTION_FILE): {cmd}")
    i = cmd.index("-f")
    args = [*cmd[i:]]
    args[1] = f"{SOCKETS}/{Path(cmd[i + 1]).name}"
    lim = job.limits
    cfg = {"files": f"{MOUNT}/files", "work": f"/tmp/{job.assignment}", "sockets": SOCKETS, "site": SITE_INSIDE,
           "limits": {"memory_bytes": lim.memory_bytes, "file_bytes": lim.file_bytes,
                      "open_files": lim.open_files, "cpu_seconds": lim.cpu_seconds}}
    out = [exe, "--unshare-all", "--unshare-user", "--uid", str(UID), "--gid", str(GID), "--disable-userns",
           "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv", *system_mounts(),
           "--ro-bind", str(PACKAGE / "grading" / "kernel_boot.py"), f"{MOUNT}/boot.py",
           "--ro-bind", str(WORKER_DIR), f"{MOUNT}/nntricks_worker",
           "--ro-bind", str(PACKAGE / "cell.py"), f"{MOUNT}/autograder/cell.py",
           "--ro-bind", str(PACKAGE / "exercises.py"), f"{MOUNT}/autograder/exercises.py",
           "--ro-bind", str(job.files), f"{MOUNT}/files"]
    if job.checks is not None:
        out += ["--ro-bind", str(job.checks), f"{MOUNT}/checks.json"]
    out += ["--bind", str(sockets), SOCKETS, "--size", str(lim.tmpfs_bytes), "--tmpfs", "/tmp",
            "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp"]
    for k, v in _environment(job).items():
        out += ["--setenv", k, v]
    return [*out, "--", str(_python()), "-S", "-B", f"{MOUNT}/boot.py", json.dumps(cfg), *args]


"""The sandbox's walls: bubblewrap, and what a worker may see with or without it.

bubblewrap (``bwrap``, Debian package ``bubblewrap``), when it works here: an
empty root with only ``/usr`` (system libraries), the interpreter's prefix (its
own ``site-packages`` hidden under an empty tmpfs), numpy and ``numpy.libs``
(the forbidden modules of ``worker.policy`` hidden), the worker's code and the
scratch copy of the submission, all read-only, plus a private ``/tmp``;
``--unshare-all`` (no network, own PID, IPC, UTS and cgroup namespaces),
``--die-with-parent``, ``--new-session``, a cleared environment and no
capabilities. The reference, the hidden checks, the gradebook and other
students' work do not exist inside it. Where bubblewrap is missing or cannot
run (a container without user namespaces), ``bwrap_path()`` is None, a loud
warning is given, and the worker's own confinement (``worker.confine``) is all
there is. ``NNTRICKS_SANDBOX=none`` forces that mode (the tests run the corpus
in both).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import numpy as np

from .worker.policy import FORBIDDEN_MODULES

WORKER_DIR = Path(__file__).resolve().parent / "worker"
SANDBOX_WARNING = ("WARNING: bubblewrap (bwrap) is not available or does not work here: student code "
                   "runs WITHOUT a filesystem/network sandbox, with process limits, a seccomp filter "
                   "and an audit hook only. Install the Debian package 'bubblewrap' on grading machines.")


def site_packages() -> Path:
    """The site-packages directory that holds numpy (and scipy, matplotlib, ...):
    mounted read-only in the worker, minus the forbidden packages."""
    return Path(np.__file__).resolve().parent.parent


def _hidden_entries(site: Path) -> list[Path]:
    out = []
    for entry in sorted(site.iterdir()):
        stem = entry.name.split("-")[0].split(".")[0].lower()
        if stem in FORBIDDEN_MODULES or stem.startswith(("nvidia", "torch")):
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
        cmd = [exe, *_mounts(None), "--", str(_python()), "-S", "-c", "pass"]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20)
        return exe if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def sandbox_kind() -> str:
    return "bubblewrap" if bwrap_path() else "none (process limits only)"


SITE_INSIDE = "/opt/nntricks-site"  # where site_packages() is mounted inside a sandbox


def system_mounts() -> list[str]:
    """bwrap arguments mounting, read-only, the interpreter and its libraries only: ``/usr`` (and the
    ``/lib``... links), the interpreter's prefix (its own site-packages hidden), and ``site_packages()``
    at :data:`SITE_INSIDE` minus the forbidden modules. Shared by the checks' and the kernels' sandboxes."""
    prefix = _stdlib_prefix()
    args = ["--ro-bind", "/usr", "/usr"]
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
    args += ["--ro-bind", str(site), SITE_INSIDE]
    for entry in _hidden_entries(site):
        inside = f"{SITE_INSIDE}/{entry.name}"
        args += ["--tmpfs", inside] if entry.is_dir() else ["--ro-bind", "/dev/null", inside]
    return args


def _mounts(sub_dir: Path | None) -> list[str]:
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL"]
    args += system_mounts()
    args += ["--ro-bind", str(WORKER_DIR), "/opt/nntricks-grader/worker"]
    if sub_dir is not None:
        args += ["--ro-bind", str(sub_dir), "/sub"]
    # a private /tmp, capped (a tmpfs lives in the host's memory)
    args += ["--size", str(64 << 20), "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp"]
    return args


_ENV = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde"}


def base_config(sub_dir: Path, bwrap) -> dict:
    """What a worker (or the zygote) needs to know about its surroundings."""
    if bwrap:
        site = [SITE_INSIDE]
        return {"sub_dir": "/sub", "sys_path_append": site, "die_with_parent": False,
                "read_roots": ["/sub", "/usr", "/lib", "/lib64", str(_stdlib_prefix()), *site,
                               "/opt/nntricks-grader", "/dev", "/proc", "/etc"],
                "write_roots": ["/tmp"]}
    site = [str(site_packages())]
    work = Path(sub_dir) / "work"
    work.mkdir(exist_ok=True)
    return {"sub_dir": str(sub_dir), "sys_path_append": site, "die_with_parent": True,
            "read_roots": [str(sub_dir), "/usr", "/lib", "/lib64", str(_stdlib_prefix()), *site,
                           str(Path(sys.prefix).resolve()), str(WORKER_DIR), "/dev", "/proc", "/etc"],
            "write_roots": [str(work)]}


def command(sub_dir: Path, bwrap, cfg: dict):
    """The command line, environment and working directory of a sandboxed worker script."""
    if bwrap:
        cmd = [bwrap, *_mounts(Path(sub_dir))]
        for k, v in {**_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}.items():
            cmd += ["--setenv", k, v]
        cmd += ["--", str(_python()), "-S", "-B", "-P", "/opt/nntricks-grader/worker/run.py", json.dumps(cfg)]
        return cmd, {}, "/"
    work = str(Path(sub_dir) / "work")
    cmd = [str(_python()), "-S", "-B", "-P", str(WORKER_DIR / "run.py"), json.dumps(cfg)]
    return cmd, {**_ENV, "HOME": work, "TMPDIR": work}, work


def warn_if_unsandboxed(stream=None) -> str | None:
    """The warning text when there is no sandbox (also printed to ``stream``)."""
    if bwrap_path():
        return None
    if stream is not None:
        print(SANDBOX_WARNING, file=stream)
    else:
        warnings.warn(SANDBOX_WARNING, RuntimeWarning, stacklevel=2)
    return SANDBOX_WARNING

"""The first code of a notebook kernel's sandbox (runs INSIDE it, as a script, standard library only).

:mod:`autograder.grading.kernel_sandbox` starts ``python -S -B boot.py CONFIG -f CONNECTION [ARGS]``
in bubblewrap. Before any student code, this script:

1. makes the kernel's working folder in the sandbox's size-capped tmpfs, a copy of the read-only
   scratch copy of the submission (``CONFIG["files"]``), and moves into it;
2. imports ``autograder.cell`` from the one folder mounted for it (only ``cell.py`` and
   ``exercises.py``), so that a student's ``autograder/`` folder cannot replace it;
3. rewrites the connection file for the socket folder as mounted here (the grader's copy names
   the folder as it is outside);
4. lowers its limits (address space, file size, open files, CPU seconds, no core files) and
   installs the workers' seccomp filter (:func:`autograder.worker.confine.install_seccomp`): no
   new process, no exec, no ptrace, no signal to another process, no raising a limit; threads
   stay allowed (ipykernel and zmq need them). ``RLIMIT_NPROC`` would not hold where the grader is
   root: the filter is what bounds processes;
5. runs ipykernel in this process with the remaining arguments.
"""

import json
import os
import shutil
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))


def _copy(src, dest):
    """The scratch copy into the tmpfs (a trusted copy of regular files; links are not followed)."""
    shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)


def _import_cell():
    package = types.ModuleType("autograder")
    package.__path__ = [os.path.join(HERE, "autograder")]
    sys.modules["autograder"] = package
    import autograder.cell  # noqa: F401


def _connection(path, sockets, out):
    with open(path, encoding="utf-8") as f:
        info = json.load(f)
    info["ip"] = os.path.join(sockets, os.path.basename(info["ip"]))
    with open(out, "w", encoding="utf-8") as f:
        json.dump(info, f)
    return out


def _limits(limits):
    import resource

    sys.path.insert(0, HERE)
    try:
        from nntricks_worker import confine
    finally:
        sys.path.remove(HERE)
    confine.set_limits({"cpu_seconds": limits["cpu_seconds"], "memory_bytes": limits["memory_bytes"],
                        "file_bytes": limits["file_bytes"]})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = limits["open_files"] if hard == resource.RLIM_INFINITY else min(hard, limits["open_files"])
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return confine


def main(argv):
    cfg = json.loads(argv[1])
    if sys.path and sys.path[0] == HERE:  # not -P: IPython then leaves out the working folder too
        del sys.path[0]
    import site

    site.addsitedir(cfg["site"])
    rest = argv[2:]
    i = rest.index("-f")
    work = cfg["work"]
    os.makedirs(os.environ["HOME"], exist_ok=True)
    os.makedirs(os.environ["TMPDIR"], exist_ok=True)
    _copy(cfg["files"], work)
    os.chdir(work)
    _import_cell()
    rest[i + 1] = _connection(rest[i + 1], cfg["sockets"], os.path.join(os.environ["HOME"], "connection.json"))
    from ipykernel import kernelapp  # imported before the limits: the kernel's own start-up

    confine = _limits(cfg["limits"])
    status = confine.install_seccomp(sockets=True)
    if status != "ok":  # no kernel rather than a kernel that can start processes
        sys.exit(f"nntricks kernel: no seccomp filter ({status})")
    sys.argv = [os.path.join(cfg["site"], "ipykernel_launcher.py"), *rest]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main(sys.argv)

"""The worker's life (runs inside the sandbox, started by ``run.py``).

``main`` reads the configuration from the command line. A worker installs its
limits (``confine``), imports numpy, installs the seccomp filter and the audit
hook, imports the student's modules and then answers programs from the decider
until its request pipe closes (``serve``). A zygote (``mode: zygote``) imports
numpy once and forks one worker per request, which installs its own
confinement before it imports anything of the student's; the zygote never runs
student code itself.
"""

import json
import os
import sys

from .confine import BLOCKED, install_audit_hook, install_seccomp, prctl, set_limits
from .policy import FORBIDDEN_MODULES
from .wire import encode, read_frame, typename, write_frame

_HERE = os.path.dirname(os.path.realpath(__file__))


class _Scorer:
    """The ``fit_and_score`` callable handed to ``grid_search``: looks up a
    score per combination and records every call."""

    def __init__(self, table):
        self.table = dict(table)
        self.calls = []

    @staticmethod
    def _plain(v):
        """numpy scalars (from np.array(values), meshgrid, ...) as Python values."""
        if type(v).__module__ == "numpy" and hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
            return v.item()
        return v

    def __call__(self, *args, **kwargs):
        if args:
            raise TypeError("fit_and_score takes keyword arguments only (fit_and_score(**params))")
        kwargs = {k: self._plain(v) for k, v in kwargs.items()}
        self.calls.append(json.dumps(sorted((str(k), v if isinstance(v, (int, float, str)) else repr(v))
                                            for k, v in kwargs.items())))
        key = json.dumps(sorted([k, v] for k, v in kwargs.items()), default=repr)
        if key not in self.table:
            raise KeyError(f"fit_and_score got an unexpected combination {kwargs!r}")
        return self.table[key]


def _exc_info(e, pkg_root):
    import traceback

    where = ""
    try:
        frames = traceback.StackSummary.extract(traceback.walk_tb(e.__traceback__), lookup_lines=False)
        mine = [f for f in frames if f.filename and os.path.realpath(f.filename).startswith(pkg_root)]
        if mine:
            f = mine[-1]
            rel = os.path.relpath(os.path.realpath(f.filename), os.path.dirname(pkg_root))
            where = f"{rel}, line {f.lineno}, in {f.name}"
    except BaseException:
        pass
    try:
        msg = str(BaseException.__str__(e))[:500]
    except BaseException:
        msg = ""
    t = type(e)
    return {"type": t.__name__, "mro": [c.__name__ for c in t.__mro__][:10], "msg": msg, "where": where}


def count_lines(fn, args, kwargs):
    """Call fn, counting the Python lines executed outside this file (a loop
    over instances shows as a count that grows with the batch). Lines of the worker's
    own modules (the audit hook runs during the call) do not count."""
    count = [0]

    def tracer(frame, event, arg):
        if os.path.dirname(os.path.realpath(frame.f_code.co_filename)) == _HERE:  # the worker's own code
            return None

        def local(frame, event, arg):
            if event == "line":
                count[0] += 1
            return local

        return local

    sys.settrace(tracer)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.settrace(None)
    return result, count[0]


def _import_student(modules, pkg_dir):
    import importlib
    import importlib.machinery
    import importlib.util

    # The topic's module is imported on its own, WITHOUT running
    # nntricks/__init__.py (which imports every module, plotting included): a
    # broken module elsewhere in the package must not cost this topic its
    # points, and the worker starts faster.
    spec = importlib.machinery.ModuleSpec("nntricks", None, is_package=True)
    spec.submodule_search_locations = [pkg_dir]
    pkg = importlib.util.module_from_spec(spec)
    pkg.__path__ = [pkg_dir]
    sys.modules["nntricks"] = pkg
    try:
        for m in modules:
            importlib.import_module(m)
        return None, None
    except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
        first_error = _exc_info(e, pkg_dir)
    # Perhaps the module needs what the package's __init__ sets up.
    for name in [k for k in sys.modules if k == "nntricks" or k.startswith("nntricks.")]:
        del sys.modules[name]
    try:
        for m in modules:
            importlib.import_module(m)
    except BaseException:  # noqa: BLE001
        return first_error, None
    return None, f"{', '.join(modules)} imported only through nntricks/__init__.py"


def _preload(cfg):
    for p in cfg.get("sys_path_append", []):
        if p not in sys.path:
            sys.path.append(p)
    import importlib

    for name in ["numpy", "numpy.linalg", "numpy.random", "importlib.machinery", "importlib.util",
                 "traceback", "resource", "ctypes", "platform"] + list(cfg.get("preload", [])):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the student's import will say what is missing
            pass


def main():
    cfg = json.loads(sys.argv[1])
    if cfg.get("mode") == "zygote":
        return _zygote(cfg)
    set_limits(cfg)
    _preload(cfg)
    if cfg.get("die_with_parent"):  # without bubblewrap's --die-with-parent: die with the grader all the same
        prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    _serve(cfg, cfg["req_fd"], cfg["resp_fd"])


def _zygote(cfg):
    """A trusted process that imports numpy (and what else the student's
    modules need) once, then forks one worker per request: a fork costs
    milliseconds where a fresh interpreter costs a numpy import. It never runs
    student code itself; a child installs its limits, seccomp filter and audit
    hook before it imports anything of the student's."""
    import signal
    import socket

    _preload(cfg)
    prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: children cannot open this process's memory
    if cfg.get("die_with_parent"):
        prctl(1, 9, 0, 0, 0)
    ctl = socket.socket(fileno=cfg["ctl_fd"])
    ctl.sendall(json.dumps({"ready": True}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 8)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        try:
            cmd = json.loads(msg)
        except ValueError:
            for fd in fds:
                os.close(fd)
            continue
        reply = {"ok": True}
        if cmd.get("cmd") == "spawn" and len(fds) == 3:
            pid = os.fork()
            if pid == 0:
                try:
                    ctl.close()
                    _child(cmd["cfg"], *fds)
                finally:
                    os._exit(70)
            for fd in fds:
                os.close(fd)
            reply["pid"] = pid
        elif cmd.get("cmd") == "kill":
            for fd in fds:
                os.close(fd)
            try:
                os.kill(int(cmd["pid"]), signal.SIGKILL)
            except (OSError, ValueError, TypeError):
                reply["ok"] = False
        elif cmd.get("cmd") == "wait":
            import time

            deadline = time.monotonic() + float(cmd.get("timeout", 0))
            status = None
            while True:
                try:
                    pid, st = os.waitpid(int(cmd["pid"]), os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    status = -os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st)
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.005)
            reply["status"] = status
        else:
            for fd in fds:
                os.close(fd)
            reply["ok"] = False
        ctl.sendall(json.dumps(reply).encode())


def _child(cfg, req_fd, resp_fd, out_fd):
    """A forked worker: own stdout/stderr, only its own descriptors, then the worker's life."""
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    keep = {0, 1, 2, req_fd, resp_fd}
    try:
        open_fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        open_fds = range(3, 1024)
    for fd in open_fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    set_limits(cfg)
    if cfg.get("die_with_parent"):
        prctl(1, 9, 0, 0, 0)
    _serve(cfg, req_fd, resp_fd)


def _serve(cfg, req_fd, resp_fd):
    sys.path.insert(0, cfg["sub_dir"])
    import numpy as np

    default_rng, frombuffer = np.random.default_rng, np.frombuffer
    seccomp = "disabled"
    if cfg.get("seccomp", True):
        try:
            seccomp = install_seccomp()
        except Exception as e:  # pragma: no cover - depends on the platform
            seccomp = f"failed: {e}"
    if cfg.get("audit", True):
        install_audit_hook(cfg)
    pkg_dir = os.path.join(cfg["sub_dir"], "nntricks")

    def forbidden_loaded():
        return sorted(m for m in list(sys.modules) if "." not in m and m in FORBIDDEN_MODULES)

    err, note = _import_student(cfg["modules"], pkg_dir)
    write_frame(resp_fd, {"ready": True, "import_error": err, "note": note, "seccomp": seccomp,
                           "blocked": list(BLOCKED), "forbidden": forbidden_loaded()})
    while True:
        try:
            header, blobs = read_frame(req_fd)
        except EOFError:
            os._exit(0)
        arrays = []
        for d in header.get("arrays", []):
            a = frombuffer(blobs[d["i"]], dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()
            arrays.append(a)
        slots, out_blobs, values = {}, [], []
        del BLOCKED[:]

        def arg(spec):
            if "a" in spec:
                return arrays[spec["a"]]
            if "v" in spec:
                return slots[spec["v"]]
            if "c" in spec:
                return spec["c"]
            if "list" in spec:
                return [arg(s) for s in spec["list"]]
            if "tuple" in spec:
                return tuple(arg(s) for s in spec["tuple"])
            if "dict" in spec:
                return {k: arg(s) for k, s in spec["dict"].items()}
            if "rng" in spec:
                return default_rng(spec["rng"])
            if "scorer" in spec:
                return _Scorer(spec["scorer"])
            raise ValueError(f"bad argument {spec!r}")

        error = None
        for k, op in enumerate(header["ops"]):
            kind = op["op"]
            try:
                if kind == "emit":
                    values.append(encode(arg(op["value"]), out_blobs, np))
                    continue
                if kind == "is":
                    values.append({"t": "bool", "v": arg(op["a"]) is arg(op["b"])})
                    continue
                if kind == "calls":
                    values.append({"t": "list", "items": [{"t": "str", "v": c} for c in slots[op["obj"]].calls]})
                    continue
                if kind == "call":
                    target = sys.modules["nntricks." + op["module"]]
                    for part in op["name"].split("."):
                        target = getattr(target, part)
                    call_args = [arg(a) for a in op.get("args", [])]
                    call_kwargs = {n: arg(a) for n, a in op.get("kwargs", {}).items()}
                    if op.get("trace"):
                        result, lines = count_lines(target, call_args, call_kwargs)
                        values.append({"t": "int", "v": lines})
                    else:
                        result = target(*call_args, **call_kwargs)
                elif kind == "method":
                    result = getattr(slots[op["obj"]], op["name"])(
                        *[arg(a) for a in op.get("args", [])],
                        **{n: arg(a) for n, a in op.get("kwargs", {}).items()})
                elif kind == "getattr":
                    result = getattr(slots[op["obj"]], op["name"])
                elif kind == "item":
                    obj = slots[op["obj"]]
                    if isinstance(obj, (list, tuple)):
                        base = list if isinstance(obj, list) else tuple
                        result = base.__getitem__(obj, op["index"])
                    else:
                        raise TypeError(f"expected a tuple or a list, got {typename(obj)}")
                elif kind == "scorer":
                    result = _Scorer(op["table"])
                elif kind == "rng":
                    result = default_rng(op["seed"])
                else:
                    raise ValueError(f"bad op {kind!r}")
                if "out" in op:
                    slots[op["out"]] = result
                if op.get("catch"):
                    values.append({"t": "none"})
            except BaseException as e:  # noqa: BLE001 - the student's exceptions, all of them
                info = dict(_exc_info(e, pkg_dir), op=k)
                if op.get("catch"):
                    values.append(dict(info, t="exc"))
                    if "out" in op:
                        slots[op["out"]] = None
                    continue
                error = info
                break
        try:
            write_frame(resp_fd, {"id": header["id"], "values": values, "error": error,
                                   "blocked": list(BLOCKED), "forbidden": forbidden_loaded()},
                         out_blobs)
        except BaseException as e:  # noqa: BLE001 - e.g. an unencodable value
            write_frame(resp_fd, {"id": header["id"], "values": [],
                                   "error": dict(_exc_info(e, pkg_dir), op=-1, encode=True),
                                   "blocked": list(BLOCKED), "forbidden": forbidden_loaded()})

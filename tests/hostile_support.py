"""A class of honest and hostile students graded by the real ``python -m autograder grade`` (nbgrader,
kernels, hidden checks), as root or as a throw-away unprivileged user, with everything the tests of
tests/test_grade_hostile.py compare before and after (see tests/hostile/attacks.py for the attacks).

:func:`grade_class` builds the class in a fresh folder, fingerprints what no student may change
(the repository's reference/, solutions/, autograder/; the course's source/, release/ and submitted/;
a canary folder outside the course), runs ``grade --jobs 2`` in a fresh process with a time budget,
waits for stragglers, ends every process the run left behind (found by the run's token or course path
in their command line: only processes this run started) and returns a :class:`Run`.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import ROOT, example_class
from hostile.attacks import ATTACKS

A = "01_divergences"
SECRET = "HIDDEN-SECRET-7f3a9c"  # only in the hidden tests (solutions/, source/, the gradebook)
ADA_MARK = "ADA-PRIVATE-51c2e8"  # only in ada's submitted package
REF_MARK = "dy = (yc - d) / (yc * (1 - yc)) / B"  # a line of the solved reference, not of the stubs
CELL_TIMEOUT = 30  # --timeout: seconds per cell
DEADLINE = 90  # --deadline: seconds per submission (when the grader has the flag)
BUDGET = 900  # seconds for the class run (41 hostile students, 2 workers, a loaded machine)
HONEST = {  # student -> (status, score, max_score, pending) in grades.csv
    "ada": ("pending", "5", "6", "1"),  # correct; the written answer awaits the hand grader (graded first, alone)
    "ben": ("ok", "0", "6", "0"),  # the untouched stubs (graded first, alone)
    "cleo": ("pending", "3", "6", "1"),  # forgot the 1/B in l2: loses the l2 cell (graded with the attackers)
    "dana": ("pending", "5", "6", "1"),  # ada's correct work (graded with the attackers)
}
HONEST_TESTS = {"ada": {"test_l2": 2, "test_softmax": 3}, "ben": {"test_l2": 0, "test_softmax": 0},
                "cleo": {"test_l2": 0, "test_softmax": 3}, "dana": {"test_l2": 2, "test_softmax": 3}}
SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
FIRST = ["ada", "ben"]  # graded in a run of their own before the class run: their grades must not change


def _meta(**kw):
    d = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
    d.update(kw)
    return {"nbgrader": d}


def _hidden(keys, points):
    return (f"### BEGIN HIDDEN TESTS\n# {SECRET}\nimport autograder.cell\n"
            f"autograder.cell.hidden({keys!r}, {points})\n### END HIDDEN TESTS")


def write_source(solutions: Path) -> Path:
    """A small source notebook: two test cells, each capped by hidden checks, and one written answer."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_markdown_cell("# Divergences (hostile corpus)"),
        new_code_cell("import numpy as np\nfrom nntricks import divergences"),
        new_code_cell("y = np.array([[1.0, 2.0], [3.0, 4.0]])\nd = np.zeros((2, 2))\ngot = divergences.l2(y, d)\n"
                      "assert abs(got - 7.5) < 1e-9, f'l2 should be the MEAN over the batch: got {got}'\n"
                      + _hidden(["divergences.l2", "divergences.l2_grad"], 2),
                      metadata=_meta(grade=True, grade_id="test_l2", locked=True, points=2)),
        new_code_cell("p = divergences.softmax(np.array([1.0, 2.0, 3.0]))\n"
                      "assert abs(p.sum() - 1) < 1e-12, 'softmax should sum to 1'\n"
                      + _hidden(["divergences.softmax", "divergences.log_softmax"], 3),
                      metadata=_meta(grade=True, grade_id="test_softmax", locked=True, points=3)),
        new_markdown_cell("Why divide by B?\n\n### BEGIN SOLUTION\nSo that the loss does not grow with the "
                          "batch size.\n### END SOLUTION",
                          metadata=_meta(grade=True, solution=True, grade_id="q_why", points=1)),
    ]
    solutions.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, solutions / f"{A}.ipynb")
    return solutions


# ------------------------------------------------------------------ fingerprints


def fingerprint(top: Path) -> dict:
    """Every entry under ``top`` (never following a link, never opening a FIFO): type, mode, owner, and the
    content's hash or the link's target. ``__pycache__`` folders are left out."""
    out = {}
    top = Path(top)
    if not top.exists():
        return out
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in dirs + files:
            p = Path(folder) / name
            st = p.lstat()
            kind = stat.S_IFMT(st.st_mode)
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                what = h.hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            else:
                what = ""
            out[p.relative_to(top).as_posix()] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what)
    return out


def protected(run) -> dict:
    """What no student may change: {name: fingerprint} (the grades of the students graded first included)."""
    c = run.course
    out = {"reference": fingerprint(ROOT / "reference"), "solutions": fingerprint(ROOT / "solutions"),
           "autograder": fingerprint(ROOT / "autograder"), "course solutions": fingerprint(run.solutions),
           "source": fingerprint(c / "source"), "release": fingerprint(c / "release"),
           "submitted": fingerprint(c / "submitted"), "outside": fingerprint(run.outside)}
    for s in FIRST:
        out[f"{s}'s graded notebook"] = fingerprint(c / "autograded" / s)
        out[f"{s}'s journal"] = fingerprint(c / ".autograder" / "results" / s)
        try:
            out[f"{s}'s gradebook rows"] = gradebook_scores(run).get(s)
        except sqlite3.Error as e:
            out[f"{s}'s gradebook rows"] = f"unreadable gradebook: {e}"
    return out


# ------------------------------------------------------------------ the class


def ctx_for(run, student):
    return {"course": str(run.course), "root": str(ROOT), "solutions": str(run.solutions),
            "canary": str(run.outside / "canary.txt"), "token": run.token, "me": student, "assignment": A}


def build_class(run):
    """Honest students (ada, ben, cleo) and one hostile student per attack, all in ``run.course``."""
    example_class.build(run.course, [A], ["ada", "ben", "cleo"], solutions=run.solutions)
    ada_pkg = run.course / "submitted" / "ada" / A / "nntricks" / "divergences.py"
    ada_pkg.write_text(ada_pkg.read_text() + f"\n# {ADA_MARK}\n")
    shutil.copytree(run.course / "submitted" / "ada", run.course / "submitted" / "dana")
    released = example_class.student_notebooks([A], run.solutions)[A]
    stubs = example_class.stub_package()
    for attack in ATTACKS:
        folder = run.course / "submitted" / attack.name / A
        (folder / "nntricks").mkdir(parents=True)
        for name, text in stubs.items():
            (folder / "nntricks" / name).write_text(text)
        nb = copy.deepcopy(released)
        source = attack.cell_source(ctx_for(run, attack.name))
        if source:
            first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
            nb.cells.insert(first + 1, new_code_cell(source))
        if attack.edit:
            nb = attack.edit(nb)
        nbformat.write(nb, folder / f"{A}.ipynb")
        (folder / "timestamp.txt").write_text(example_class.TIMESTAMP)
        if attack.plant:
            attack.plant(folder, ctx_for(run, attack.name))


# ------------------------------------------------------------------ processes


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def leftovers(marks) -> dict:
    """{pid: command line} of live (not zombie) processes whose command line holds one of ``marks``."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if any(m.encode() in cmd for m in marks) and _state(d.name) not in ("Z", "X", "gone"):
            found[int(d.name)] = cmd.replace(b"\0", b" ").decode(errors="replace")[:200]
    return found


def end_processes(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ------------------------------------------------------------------ the unprivileged user


class User:
    """A throw-away system user and a venv of the system's interpreter of the same version (the shared venv's
    own interpreter may live where other users cannot read, e.g. /root/.pyenv); the shared environment's
    packages through a .pth file, its share/jupyter (nbconvert's templates) through a link."""

    def __init__(self, base: Path):
        self.name = "nnh" + secrets.token_hex(4)
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self.name],
                       check=True, capture_output=True)
        self.uid, self.gid = pwd.getpwnam(self.name).pw_uid, pwd.getpwnam(self.name).pw_gid
        self.venv = base / "venv"
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(self.venv)], check=True)
        site = self.venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        shared = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
        (site / "shared.pth").write_text("".join(p + "\n" for p in shared))
        (self.venv / "share").mkdir()
        (self.venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
        alembic = self.venv / "bin" / "alembic"
        alembic.write_text(f"#!{self.venv / 'bin' / 'python'}\nimport sys\nfrom alembic.config import main\n"
                           "sys.exit(main())\n")
        alembic.chmod(0o755)
        self.python = str(self.venv / "bin" / "python")

    def problem(self):
        """Why this user cannot run the grader from this checkout, or None."""
        probe = subprocess.run([self.python, "-c", "import autograder.grading, numpy, nbgrader, ipykernel"],
                               cwd=ROOT, capture_output=True, text=True, user=self.uid, group=self.gid,
                               extra_groups=[], env=_env({}))
        if probe.returncode:
            return (f"an unprivileged user cannot run the grader from {ROOT} with {sys.prefix}'s packages "
                    f"(folders closed to other users?): {probe.stderr.strip().splitlines()[-1:]}")
        return None

    def remove(self):
        end_processes(pid for pid in _pids_of(self.uid))
        subprocess.run(["userdel", self.name], capture_output=True)


def _pids_of(uid):
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid == uid:
                    yield int(d.name)
            except OSError:
                pass


def user_mode_problem():
    """Why the unprivileged mode cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root: cannot create a throw-away user"
    for tool in ("useradd", "userdel"):
        if not shutil.which(tool):
            return f"no {tool} on this machine"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"no {SYSTEM_PYTHON} (this interpreter's version) for the unprivileged user's venv"
    return None


# ------------------------------------------------------------------ the run


@dataclasses.dataclass
class Run:
    mode: str
    base: Path
    token: str = dataclasses.field(default_factory=lambda: "HOSTILE-" + secrets.token_hex(6))
    env_secret: str = dataclasses.field(default_factory=lambda: "GRADER-ENV-SECRET-" + secrets.token_hex(6))
    returncode: int | None = None
    skipped: str | None = None  # why this mode could not run here
    notebook_feedback: bool = False  # graded with --notebook-feedback
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    before: dict = dataclasses.field(default_factory=dict)
    after: dict = dataclasses.field(default_factory=dict)
    left_running: dict = dataclasses.field(default_factory=dict)
    mounts_before: list = dataclasses.field(default_factory=list)

    @property
    def course(self):
        return self.base / "course"

    @property
    def solutions(self):
        return self.base / "solutions"

    @property
    def outside(self):
        return self.base / "outside"

    def rows(self) -> dict:
        try:
            with open(self.course / "grades.csv", newline="") as f:
                return {r["student"]: r for r in csv.DictReader(f)}
        except OSError:
            return {}

    def log(self) -> str:
        return f"[{self.mode} run, rc={self.returncode}, {self.seconds:.0f} s]\n{self.stdout[-3000:]}\n{self.stderr[-3000:]}"


def _mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split()[4] for line in f if line.split()[4].startswith(str(path)))


def grade_flags(python):
    """``--deadline`` when this grader has it (the per-submission wall-clock limit)."""
    out = subprocess.run([python, "-m", "autograder", "grade", "--help"], cwd=ROOT, capture_output=True, text=True,
                         env=_env({}))
    return ["--deadline", str(DEADLINE)] if "--deadline" in out.stdout else []


def _env(extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
    env.update(extra)
    return env


def grade_class(mode: str) -> Run:
    base = Path(tempfile.mkdtemp(prefix=f"nntricks-hostile-{mode}-"))
    run = Run(mode, base)
    user = None
    try:
        write_source(run.solutions)
        run.outside.mkdir()
        (run.outside / "canary.txt").write_text("canary: nobody writes here\n")
        build_class(run)
        python = sys.executable
        kw = {}
        if mode == "user":
            os.chmod(base, 0o755)
            user = User(base)
            python = user.python
            run.skipped = user.problem()
            if run.skipped:
                return run
            for p in [run.course, *run.course.rglob("*")]:
                os.lchown(p, user.uid, user.gid)
            kw = {"user": user.uid, "group": user.gid, "extra_groups": []}
        # nbgrader's notebook HTML: as root only (under Debian's python3.11.2, soupsieve, which nbconvert's HTML
        # export uses, rejects a CSS selector that the repository's 3.11.7 accepts)
        run.notebook_feedback = mode == "root"
        cmd = [python, "-m", "autograder", "grade", "--course", str(run.course), "--solutions", str(run.solutions),
               "--jobs", "2", "--timeout", str(CELL_TIMEOUT), *grade_flags(python)]
        cmd += ["--notebook-feedback"] if run.notebook_feedback else []
        env = _env({"NNTRICKS_TEST_GRADER_SECRET": run.env_secret, "HOME": str(base)})
        first = subprocess.run(cmd + [a for s in FIRST for a in ("--student", s)], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=BUDGET, **kw)
        assert first.returncode == 0, first.stdout + first.stderr
        run.before = protected(run)
        run.mounts_before = _mounts_under(base)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, **kw)
        try:
            run.stdout, run.stderr = proc.communicate(timeout=BUDGET)
        except subprocess.TimeoutExpired:
            run.timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            run.stdout, run.stderr = proc.communicate()
        run.seconds = time.monotonic() - t0
        run.returncode = proc.returncode
        time.sleep(5)  # a daemon that outlived its kernel would act now
        run.left_running = leftovers([run.token, str(run.course)])
        end_processes(run.left_running)
        if user is not None:
            end_processes(_pids_of(user.uid))
        time.sleep(1)
        run.after = protected(run)
        return run
    finally:
        if user is not None:
            user.remove()


# ------------------------------------------------------------------ reading the results


def gradebook_scores(run) -> dict:
    """{student: {grade_id: (auto_score, manual_score, extra_credit)}} straight from the SQLite file."""
    db = sqlite3.connect(f"file:{run.course / 'gradebook.db'}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute(
            "SELECT student.id, base_cell.name, grade.auto_score, grade.manual_score, grade.extra_credit "
            "FROM grade JOIN base_cell ON grade.cell_id = base_cell.id "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id").fetchall()
    finally:
        db.close()
    out = {}
    for student, cell, auto, manual, extra in rows:
        out.setdefault(student, {})[cell] = (auto, manual, extra)
    return out


def setuid_files(top: Path, skip: Path) -> list:
    found = []
    for folder, dirs, files in os.walk(top):
        if Path(folder) == skip or skip in Path(folder).parents:
            continue
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                found.append(os.path.join(folder, name))
    return found


def texts_of(*tops, limit=64 << 20) -> list:
    """(path, text) of the regular files under ``tops`` (never through a link; big files by their first bytes)."""
    out = []
    for top in tops:
        if not top.exists() or top.is_symlink():
            continue
        for folder, dirs, files in os.walk(top):
            for name in files:
                p = Path(folder) / name
                st = p.lstat()
                if stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as f:
                        out.append((p, f.read(limit).decode("latin-1")))
    return out

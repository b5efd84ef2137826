"""``python -m autograder grade``: grade a whole class, notebooks and packages, resumably and in parallel.

Usage::

    python -m autograder grade [--course DIR] [--assignment A ...] [--student S ...]
                               [--jobs N] [--force] [--db URL] [--timeout SECONDS]
    python -m autograder grade --example [--course DIR] [--jobs N]

The course directory (default ``./class``; ``build/example_class`` with
``--example``) holds nbgrader's ``submitted/<student>/<assignment>/``: the
notebook ``<assignment>.ipynb`` next to the student's ``nntricks/`` package
(``nbgrader collect`` or ``zip_collect`` produce it; ``--example`` first writes
the synthetic class of :mod:`autograder.example_class`). What ``grade`` writes:

- ``source/<assignment>/<assignment>.ipynb``: a copy of ``solutions/<assignment>.ipynb``,
  the NOTEBOOK ONLY (``autograde`` copies every other file of ``source/`` over
  the submission, so a solved package there would make everyone pass; any other
  file found there stops the run), then ``nbgrader generate_assignment`` to fill
  the gradebook with the cells, their points and hidden tests.
- ``gradebook.db`` (or ``--db``, any SQLAlchemy URL nbgrader accepts): per
  cell, the merged scores (below); ``nbgrader export`` and the formgrader see them.
- ``autograded/<student>/<assignment>/``: nbgrader's graded copy.
- ``grades.csv``: one row per student and assignment (``status`` ``ok``,
  ``pending`` (written answers not graded by hand yet) or ``FAILED`` with the
  ``reason``), rewritten atomically after every submission.
- ``feedback/<student>/report.html``, and with ``--notebook-feedback`` nbgrader's
  notebook HTML in ``feedback/<student>/<assignment>/`` with the same report
  on top (what ``nbgrader release_feedback`` sends): see :mod:`autograder.feedback`.
- ``.autograder/results/<student>/<assignment>.json``: the journal (below).
- ``nbgrader_config.py``: the same settings for hand-run nbgrader commands
  (formgrader, export), unless a config not written by ``grade`` is already there.

Per submission (a worker task): first the hidden checks of the notebook's
topics on a scratch copy of the student's package
(:func:`autograder.check.grade_package`, sandboxed); then ``nbgrader
autograde``, in-process, with ``OverwriteCells.add_missing_cells`` (deleted
test cells come back; changed locked cells are restored from the gradebook),
``Autograde.exclude_overwriting`` for every package file, the per-cell timeout,
never ``--no-execute``, and the kernel's ``PYTHONPATH`` holding only a link to
this ``autograder`` package (so the test cells' ``autograder.cell.hidden`` is
importable and a student file cannot shadow it). The kernels import
:mod:`autograder.kernel_hook` at start-up, so that ``hidden`` reads the check
run just made instead of running the same checks again in a new sandbox per
cell (``--rerun-checks-in-cells`` turns this off); then the merge into the
gradebook; then (``--notebook-feedback``) nbgrader's feedback. Submitted files
are only ever read.

The merge (one grade per student and assignment, nothing counted twice):
the grade is the sum over the notebook's graded cells, out of nbgrader's
maximum for the notebook.

- A test cell whose hidden section calls ``autograder.cell.hidden(keys, P)``
  scores ``min(nbgrader's score, P x f)``, where nbgrader's score is what the
  kernel produced (0 on any error or stderr output, else the float the cell
  returned) and ``f`` is the fraction of the hidden-check points for those
  exercise keys that the package earned in the grader's own sandboxed run.
  The checks behind the cell and behind ``f`` are the same run (or, with
  ``--rerun-checks-in-cells``, the same checks run twice); they count once, as a
  ceiling: a failing visible test still gives 0, and whatever a student's code
  does inside the kernel (patching ``hidden``, reading the reference through
  the kernel's file system) cannot raise a cell above what the isolated checks
  grant.
- Other test cells score what nbgrader gave them.
- Written answers (manually graded cells) score the instructor's grade from
  the formgrader; until then they are "pending" (status ``pending``, and the
  ``pending`` column says how many points await grading).
- A score set by hand in the formgrader (``manual_score``) always wins.
- The package check score (``checks``/``checks_max`` columns) is shown for
  information only: it is the ``python -m autograder check --topic ...`` figure
  for the notebook's topics, already inside the test cells.

A submission whose autograding failed (the kernel died, a locked cell changed
beyond repair, no notebook, ...) is ``FAILED`` with the reason, never 0 (the
gradebook keeps nbgrader's empty submission, which ``nbgrader export`` shows
as 0.0: use ``grades.csv``).

Resume: a finished submission is recorded by its journal file (written
atomically, after the gradebook is updated), keyed by a hash of the submitted
files, the source notebook and the grader version. A rerun (after a crash, a
kill or Ctrl-C) skips every submission whose key matches and regrades the
rest; ``--force`` regrades everything selected. Scores set by hand since are
read back from the gradebook on every run.

Parallel: ``--jobs N`` runs N worker processes (forked, so nbgrader is
imported once), each with its own nbgrader instance (one kernel at a time
each), taking submissions from a shared queue;
the gradebook (SQLite, 60 s busy timeout) is shared, students are created
before the workers start, and a locked database is retried. Progress is one
line per submission: ``[3/20] cleo 01_divergences: 12/21 (5 pending manual grading)  6.4 s``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from . import ROOT, SOLUTIONS
from .exercises import EXERCISES, TOPICS

# jsonschema (imported by nbformat) imports the optional ``rfc3987_syntax`` for "iri" formats, which
# builds a parser at import: 4 s per process here. Notebook schemas use no such format; skip it.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)

GRADER_VERSION = "1"
STATE = ".autograder"
CONFIG_MARKER = "# Written by `python -m autograder grade`"
KERNEL_HOOK_ENV = "NNTRICKS_PRECOMPUTED_CHECKS"  # autograder/kernel_hook.py reads it
HIDDEN_CALL = re.compile(r"autograder\.cell\.hidden\(\s*(\[[^\]]*\]|'[^']*'|\"[^\"]*\")\s*,\s*([0-9.eE+-]+)\s*\)")
IGNORED = ("__pycache__", ".ipynb_checkpoints")
CSV_FIELDS = ["student", "assignment", "status", "score", "max_score", "pending", "tests", "tests_max",
              "written", "written_max", "checks", "checks_max", "reason"]


class GradeError(Exception):
    """A problem with the course set-up (not with a student's submission)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a worker needs (picklable)."""

    course: str
    db_url: str
    timeout: int = 60
    solutions: str = str(SOLUTIONS)
    feedback: bool = False  # nbgrader's notebook HTML too (--notebook-feedback)
    reuse_checks: bool = True  # test cells read the grader's check run (autograder/kernel_hook.py)

    @property
    def root(self) -> Path:
        return Path(self.course)

    @property
    def state(self) -> Path:
        return self.root / STATE


# ---------------------------------------------------------------- small helpers


def topics_of(assignment):
    """The package topics graded by a notebook (its exercises' modules), in contract order."""
    found = {key.split(".")[0] for key, ex in EXERCISES.items() if ex.notebook == assignment}
    return [t for t in TOPICS if t in found]


def hidden_call(source):
    """``(keys, points)`` of the ``autograder.cell.hidden([...], P)`` call in a cell's source, or None."""
    m = HIDDEN_CALL.search(source or "")
    if not m:
        return None
    try:
        keys = ast.literal_eval(m.group(1))
        keys = [keys] if isinstance(keys, str) else keys
        return [str(k) for k in keys], float(m.group(2))
    except (ValueError, SyntaxError):
        return None


def write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def tree_hash(path):
    """sha256 of a directory's files (relative paths and contents), caches and dot-files ignored."""
    h = hashlib.sha256()
    path = Path(path)
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if any(part in IGNORED or part.startswith(".") for part in rel.parts) or p.suffix == ".pyc" or not p.is_file():
            continue
        h.update(rel.as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _round(x):
    return None if x is None else round(float(x), 6)


def kernel_path_dir(settings):
    """A directory holding only a link to this ``autograder`` package: the kernels' PYTHONPATH."""
    d = settings.state / "pythonpath"
    d.mkdir(parents=True, exist_ok=True)
    link = d / "autograder"
    target = ROOT / "autograder"
    if not (link.is_symlink() and Path(os.readlink(link)) == target):
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return d


def ensure_tools_on_path():
    """nbgrader runs ``alembic`` by name when it creates a gradebook: put this interpreter's bin/ first."""
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def kernel_env(settings):
    """Environment variables for the kernels (set in the process that starts them)."""
    return {
        "PYTHONPATH": str(kernel_path_dir(settings)),
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "agg", "PYTHONNOUSERSITE": "1",
    }


# ---------------------------------------------------------------- nbgrader configuration


def package_files(settings, assignment):
    """Every non-notebook path (relative to the assignment folder) that any student submitted, plus the
    reference package's files: ``exclude_overwriting`` protects all of them."""
    files = {f"nntricks/{p.name}" for p in (ROOT / "reference" / "nntricks").glob("*.py")}
    for sub in (settings.root / "submitted").glob(f"*/{assignment}"):
        for p in sub.rglob("*"):
            rel = p.relative_to(sub)
            if p.is_file() and p.suffix != ".ipynb" and not any(x in IGNORED for x in rel.parts):
                files.add(rel.as_posix())
    return sorted(files)


def feedback_preprocessors():
    return ["nbgrader.preprocessors.GetGrades", "nbgrader.preprocessors.ClearHiddenTests",
            "autograder.feedback.StripTracebacks", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]


def nbgrader_settings(settings, assignments):
    """``{"Class.trait": value}``: the nbgrader configuration of a grading run."""
    return {
        "CourseDirectory.root": str(settings.root),
        "CourseDirectory.db_url": settings.db_url,
        "Execute.timeout": settings.timeout,
        "Execute.interrupt_on_timeout": True,
        **({"Execute.extra_arguments": ['--IPKernelApp.exec_lines=["__import__(\'autograder.kernel_hook\')"]']}
           if settings.reuse_checks else {}),
        "OverwriteCells.add_missing_cells": True,
        "Autograde.exclude_overwriting": {a: package_files(settings, a) for a in assignments},
        "Autograde.create_student": True,
        "GenerateFeedback.preprocessors": feedback_preprocessors(),
        "NbGraderAPI.log_level": "WARN",
    }


def nbgrader_config(settings, assignments):
    from traitlets.config import Config

    c = Config()
    for name, value in nbgrader_settings(settings, assignments).items():
        cls, trait = name.split(".")
        setattr(c[cls], trait, value)
    return c


def write_config_file(settings, assignments):
    """``<course>/nbgrader_config.py`` for hand-run nbgrader commands, unless someone else wrote one."""
    path = settings.root / "nbgrader_config.py"
    if path.exists() and CONFIG_MARKER not in path.read_text():
        return False
    lines = [f"{CONFIG_MARKER} (it rewrites this file while this line is here).",
             "# Hand-run nbgrader commands (formgrader, export, generate_feedback) in this directory use it.",
             "import os, sys", "c = get_config()  # noqa: F821",
             f"os.environ['PYTHONPATH'] = {str(kernel_path_dir(settings))!r}  # kernels import autograder.cell",
             f"sys.path.insert(0, {str(kernel_path_dir(settings))!r})  # nbgrader imports autograder.feedback"]
    for name, value in nbgrader_settings(dataclasses.replace(settings, reuse_checks=False), assignments).items():
        lines.append(f"c.{name} = {value!r}")
    write_atomic(path, "\n".join(lines) + "\n")
    return True


_API = {}


def api(settings, assignments):
    """An in-process nbgrader API for this course (one per process and set of assignments)."""
    key = (settings, tuple(sorted(assignments)))
    if key not in _API:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = nbgrader_config(settings, assignments)
        _API.clear()
        _API[key] = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    return _API[key]


def gradebook(settings):
    from nbgrader.api import Gradebook

    return Gradebook(settings.db_url)


def default_db_url(course):
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}?timeout=60"


# ---------------------------------------------------------------- preparing the course


def discover(settings, assignments=None, students=None):
    """``[(student, assignment), ...]`` of the folders under ``submitted/``, sorted."""
    found = []
    for d in sorted((settings.root / "submitted").glob("*/*")):
        if not d.is_dir() or d.name.startswith(".") or d.parent.name.startswith("."):
            continue
        s, a = d.parent.name, d.name
        if (assignments and a not in assignments) or (students and s not in students):
            continue
        found.append((s, a))
    return found


def source_notebook(settings, assignment):
    return Path(settings.solutions) / f"{assignment}.ipynb"


def prepare(settings, assignments, log=print):
    """Refresh ``source/<a>/`` from solutions/ and the gradebook (generate_assignment) where needed.

    Returns ``{assignment: error message}`` for assignments that cannot be graded.
    """
    errors = {}
    settings.root.mkdir(parents=True, exist_ok=True)
    for a in assignments:
        src = source_notebook(settings, a)
        if not src.is_file():
            errors[a] = f"no source notebook {src} for assignment {a}"
            continue
        dest = settings.root / "source" / a
        extra = [p for p in dest.rglob("*") if p.is_file() and p.name != f"{a}.ipynb"
                 and not any(x in IGNORED for x in p.relative_to(dest).parts)] if dest.exists() else []
        if extra:
            raise GradeError(f"{dest} must hold only {a}.ipynb (nbgrader would copy the other files over every "
                             f"submission): remove {', '.join(str(p.relative_to(settings.root)) for p in extra[:5])}")
        target = dest / f"{a}.ipynb"
        existed = target.is_file()
        fresh = existed and target.read_bytes() == src.read_bytes()
        if fresh and _assignment_in_gradebook(settings, a):
            continue
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        log(f"nbgrader generate_assignment {a} ({'source notebook changed' if existed and not fresh else 'new'})")
        result = api(settings, assignments).generate_assignment(a, force=True, create=True)
        if not result["success"]:
            raise GradeError(f"nbgrader generate_assignment {a} failed:\n{result.get('log', '')}{result.get('error', '')}")
    return errors


def _assignment_in_gradebook(settings, a):
    from nbgrader.api import MissingEntry

    with gradebook(settings) as gb:
        try:
            gb.find_notebook(a, a)
            return True
        except MissingEntry:
            return False


# ---------------------------------------------------------------- one submission


def job_key(settings, student, assignment):
    sub = settings.root / "submitted" / student / assignment
    src = source_notebook(settings, assignment)
    h = hashlib.sha256()
    h.update(f"v{GRADER_VERSION}\0{settings.timeout}\0".encode())
    h.update(tree_hash(sub).encode())
    h.update(hashlib.sha256(src.read_bytes()).hexdigest().encode() if src.is_file() else b"-")
    return h.hexdigest()


def journal_path(settings, student, assignment):
    return settings.state / "results" / student / f"{assignment}.json"


def load_result(settings, student, assignment):
    try:
        return json.loads(journal_path(settings, student, assignment).read_text())
    except (OSError, ValueError):
        return None


def failure_reason(log, error):
    """A one-line reason for a failed autograde, from nbgrader's log and traceback."""
    text = f"{log or ''}\n{error or ''}"
    rules = [
        (r"DeadKernelError|Kernel died|kernel died", "the kernel died while running the notebook "
                                                    "(os._exit, a crash or running out of memory)"),
        (r"RuntimeError: Inconsistent checksums for cell (\S+)", "test cell {0} was changed in a way nbgrader cannot restore "
                                                  "(its nbgrader metadata): nbgrader refused the notebook"),
        (r"became unresponsive|UnresponsiveKernelError", "the kernel hung and could not be interrupted"),
        (r"No notebooks were matched", "no notebook in the submission"),
        (r"No notebooks found", "the submitted notebook has a name the assignment does not know"),
        (r"NotJSONError|Notebook does not appear to be JSON|Unreadable Notebook|validation error",
         "the notebook file is not a valid notebook"),
    ]
    for pattern, reason in rules:
        m = re.search(pattern, text)
        if m:
            return reason.format(*[g.strip("'\".") for g in m.groups()])
    errs = [ln for ln in text.splitlines() if ln.startswith("[ERROR]") and "Please see" not in ln]
    last = errs[-1][len("[ERROR] "):] if errs else (text.strip().splitlines() or ["unknown error"])[-1]
    return f"nbgrader autograde failed: {last[:300]}"


def _autograde(settings, assignments, student, assignment, attempts=4):
    result = {}
    for attempt in range(attempts):
        result = api(settings, assignments).autograde(assignment, student, force=True, create=True)
        text = f"{result.get('log', '')}{result.get('error', '')}"
        if result["success"] or "database is locked" not in text:
            break
        time.sleep(1 + 2 * attempt)
    return result


def run_checks(submission, topics):
    """The hidden checks of ``topics`` on a scratch copy of the submitted package: results.json dict, or
    ``{"error": ...}`` when the checker itself could not run."""
    if not topics:
        return None
    try:
        from .check import grade_package
    except ImportError as e:
        return {"error": f"autograder.check is not available: {e}"}
    with tempfile.TemporaryDirectory(prefix="nntricks-grade-") as tmp:
        pkg = Path(submission) / "nntricks"
        if pkg.is_dir():
            shutil.copytree(pkg, Path(tmp) / "nntricks", ignore=shutil.ignore_patterns(*IGNORED, "*.pyc"))
        else:
            (Path(tmp) / "nntricks").mkdir()
        try:
            return grade_package(Path(tmp), topics=list(topics))
        except Exception:  # grade_package never raises for a bad submission: this is a grader bug
            return {"error": "the hidden checks crashed:\n" + traceback.format_exc(limit=3)}


def check_key_of(test):
    """The exercise keys a results.json test grades: its ``tags`` (``[topic, exercise key]``, as
    :func:`autograder.check.grade_package` writes them), else inferred from its name."""
    tagged = [t for t in test.get("tags") or [] if t in EXERCISES]
    if tagged:
        return tagged
    name = test.get("name", "")
    topic, _, rest = name.partition(".")
    keys = [k for k in EXERCISES if k.split(".")[0] == topic and
            (rest == k[len(topic) + 1:] or rest.startswith(k[len(topic) + 1:] + ".") or
             rest.startswith(k[len(topic) + 1:] + "[") or rest.startswith(k[len(topic) + 1:] + ":"))]
    return [max(keys, key=len)] if keys else []


def trusted_fraction(checks, keys):
    """Fraction of the hidden-check points for ``keys`` earned in the grader's run (None: no such checks)."""
    if not checks or "tests" not in checks:
        return 0.0 if checks and "error" in checks else None
    mine = [t for t in checks["tests"] if set(check_key_of(t)) & set(keys)]
    total = sum(float(t.get("max_score") or 0) for t in mine)
    if total <= 0:
        return None
    return sum(float(t.get("score") or 0) for t in mine) / total


def _notebook_notes(path):
    """``{grade_id: message}``: what went wrong in each graded cell of an autograded notebook."""
    import nbformat

    from .feedback import clean, error_message

    notes = {}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return notes
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not gid or cell.cell_type != "code":
            continue
        msgs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                msgs.append(error_message(out))
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                msgs.append("wrote to stderr (nbgrader gives 0 for any stderr output in a test cell): "
                            + clean(out.get("text", ""), 500))
        if msgs:
            notes[gid] = "\n".join(msgs)
    return notes


def _cells_by_id(path):
    """``{grade_id: (cell_type, source, is_solution)}`` of the nbgrader cells of a notebook file."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return None
    out = {}
    for c in nb.cells:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id"):
            out[meta["grade_id"]] = (c.cell_type, c.source, bool(meta.get("solution")))
    return out


def restored_cells(settings, student, assignment):
    """The released notebook's test cells that the student deleted or changed (nbgrader puts the
    originals back from the gradebook; the feedback says so)."""
    released = _cells_by_id(settings.root / "release" / assignment / f"{assignment}.ipynb") or {}
    submitted = _cells_by_id(settings.root / "submitted" / student / assignment / f"{assignment}.ipynb")
    if submitted is None:
        return []
    return [gid for gid, cell in released.items() if not cell[2] and submitted.get(gid) != cell]


def merge_into_gradebook(settings, student, assignment, checks):
    """Cap every hidden-test cell's autograde score by the trusted check fraction, in the gradebook.

    Returns the per-cell record ``[{id, kind, keys, points, notebook, trusted}, ...]``.
    """
    cells = []
    for attempt in range(5):
        try:
            with gradebook(settings) as gb:
                submission = gb.find_submission(assignment, student)
                for snb in submission.notebooks:
                    order = list(_cells_by_id(settings.root / "source" / assignment / f"{snb.name}.ipynb") or {})
                    for g in sorted(snb.grades, key=lambda g: (order.index(g.name) if g.name in order else len(order), g.name)):
                        source = gb.find_source_cell(g.name, snb.name, assignment)
                        written = g.cell_type == "markdown" or _is_solution(gb, g.name, snb.name, assignment)
                        call = hidden_call(source.source) if not written else None
                        keys, points = (call[0], float(g.max_score)) if call else ([], float(g.max_score))
                        trusted = None
                        if call:
                            f = trusted_fraction(checks, keys)
                            trusted = None if f is None else points * f
                        record = {"id": g.name, "notebook_id": snb.name, "kind": "written" if written else "test",
                                  "keys": keys, "points": points, "notebook": _round(g.auto_score),
                                  "trusted": _round(trusted)}
                        if trusted is not None and g.auto_score is not None and g.auto_score > trusted + 1e-12:
                            g.auto_score = trusted
                        cells.append(record)
                gb.db.commit()
            return cells
        except Exception as e:  # a locked SQLite database: retry
            cells = []
            if "locked" not in str(e) or attempt == 4:
                raise
            time.sleep(1 + attempt)
    return cells


def _is_solution(gb, name, notebook, assignment):
    from nbgrader.api import MissingEntry

    try:
        gb.find_solution_cell(name, notebook, assignment)
        return True
    except MissingEntry:
        return False


def grade_submission(settings, assignments, student, assignment):
    """Grade one submission end to end and record it in the journal; returns the journal record."""
    t0 = time.time()
    key = job_key(settings, student, assignment)
    sub = settings.root / "submitted" / student / assignment
    record = {"student": student, "assignment": assignment, "key": key, "status": "ok", "reason": None,
              "cells": [], "checks": None, "restored": [], "notes": {}}
    record["checks"] = run_checks(sub, topics_of(assignment))
    shared = None
    if settings.reuse_checks and record["checks"] and record["checks"].get("tests"):
        shared = settings.state / "checks" / student / f"{assignment}.json"
        write_atomic(shared, json.dumps(record["checks"]))
        os.environ[KERNEL_HOOK_ENV] = str(shared)
    try:
        result = _autograde(settings, assignments, student, assignment)
    finally:
        os.environ.pop(KERNEL_HOOK_ENV, None)
    log = f"{result.get('log', '')}"
    if "KeyboardInterrupt" in f"{log}{result.get('error', '')}":
        raise RuntimeError("interrupted while autograding")  # a grader error: not journaled, regraded next time
    if not result["success"]:
        record["status"] = "failed"
        record["reason"] = failure_reason(log, result.get("error"))
    else:
        record["restored"] = restored_cells(settings, student, assignment)
        record["cells"] = merge_into_gradebook(settings, student, assignment, record["checks"])
        for nb_id in {c["notebook_id"] for c in record["cells"]} or {assignment}:
            record["notes"].update(_notebook_notes(settings.root / "autograded" / student / assignment / f"{nb_id}.ipynb"))
        if settings.feedback:
            notebook_feedback(settings, assignments, record)
    record["seconds"] = round(time.time() - t0, 3)
    write_atomic(journal_path(settings, student, assignment), json.dumps(record, indent=1, sort_keys=True))
    return record


def notebook_feedback(settings, assignments, record):
    """nbgrader's generate_feedback for one graded submission (hidden tests and test-cell tracebacks
    removed; the report is put on top later by :func:`write_reports`)."""
    fb = api(settings, assignments).generate_feedback(record["assignment"], record["student"], force=True)
    record["notebook_feedback"] = bool(fb["success"])
    if not fb["success"]:
        record["feedback_error"] = (fb.get("log", "") + fb.get("error", ""))[-2000:]
    return record


def feedback_only(settings, assignments, student, assignment):
    """The notebook HTML for a submission graded earlier without it; updates its journal record."""
    record = load_result(settings, student, assignment)
    notebook_feedback(settings, assignments, record)
    write_atomic(journal_path(settings, student, assignment), json.dumps(record, indent=1, sort_keys=True))
    return record


# ---------------------------------------------------------------- summaries


def summarize(record, grades=None):
    """The grade row of one journal record; ``grades`` (``{cell: (auto, manual, needs_manual)}`` read from
    the gradebook now) brings in hand grading done since."""
    row = {"student": record["student"], "assignment": record["assignment"], "status": record["status"],
           "reason": record.get("reason"), "checks": None, "cells": [], "unassigned_failures": []}
    checks = record.get("checks")
    if checks and "tests" in checks:
        row["checks"] = {"score": _round(sum(float(t.get("score") or 0) for t in checks["tests"])),
                         "max_score": _round(sum(float(t.get("max_score") or 0) for t in checks["tests"]))}
    elif checks and "error" in checks:
        row["checks_error"] = checks["error"]
    if record["status"] == "failed":
        row.update(score=None, max_score=None, pending=None, tests=None, tests_max=None, written=None, written_max=None)
        return row
    tests = tests_max = written = written_max = pending = 0.0
    covered = set()
    for c in record["cells"]:
        auto, manual, needs = (grades or {}).get(c["id"], (c["notebook"], None, c["kind"] == "written" and c["notebook"] is None))
        if manual is not None:
            score = float(manual)
        elif c["kind"] == "written":
            score = None if needs or auto is None else float(auto)
        else:
            score = float(auto or 0.0)
            if c.get("trusted") is not None:
                score = min(score, c["trusted"])
        failed_checks = []
        if checks and "tests" in checks and c["keys"]:
            failed_checks = [t for t in checks["tests"] if set(check_key_of(t)) & set(c["keys"])
                             and float(t.get("score") or 0) < float(t.get("max_score") or 0)]
            covered |= set(c["keys"])
        exercise = ", ".join(dict.fromkeys(f"{EXERCISES[k].number} {EXERCISES[k].title}" for k in c["keys"] if k in EXERCISES))
        row["cells"].append({"id": c["id"], "kind": c["kind"], "points": c["points"], "score": _round(score),
                             "exercise": exercise, "message": record.get("notes", {}).get(c["id"], ""),
                             "failed_checks": failed_checks, "restored": c["id"] in record.get("restored", [])})
        if c["kind"] == "written":
            written_max += c["points"]
            if score is None:
                pending += c["points"]
            else:
                written += score
        else:
            tests_max += c["points"]
            tests += score
    if checks and "tests" in checks:
        row["unassigned_failures"] = [t for t in checks["tests"] if not set(check_key_of(t)) & covered
                                      and float(t.get("score") or 0) < float(t.get("max_score") or 0)]
    row.update(score=_round(tests + written), max_score=_round(tests_max + written_max), pending=_round(pending),
               tests=_round(tests), tests_max=_round(tests_max), written=_round(written), written_max=_round(written_max))
    if pending:
        row["status"] = "pending"
    return row


def gradebook_grades(settings, student, assignment):
    """``{cell: (auto_score, manual_score, needs_manual_grade)}`` of a submission, as the gradebook has it now."""
    from nbgrader.api import MissingEntry

    out = {}
    try:
        with gradebook(settings) as gb:
            for snb in gb.find_submission(assignment, student).notebooks:
                for g in snb.grades:
                    out[g.name] = (g.auto_score, g.manual_score, bool(g.needs_manual_grade))
    except MissingEntry:
        return None
    return out


def csv_text(rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in sorted(rows, key=lambda r: (r["student"], r["assignment"])):
        out = dict(r)
        out["status"] = {"failed": "FAILED"}.get(r["status"], r["status"])
        out["checks"] = (r.get("checks") or {}).get("score")
        out["checks_max"] = (r.get("checks") or {}).get("max_score")
        for k in CSV_FIELDS:
            out[k] = "" if out.get(k) is None else (f"{round(out[k], 4):g}" if isinstance(out[k], float) else out[k])
        w.writerow(out)
    return buf.getvalue()


def write_reports(settings, rows):
    """grades.csv and every student's feedback report."""
    from .feedback import inject_report, student_report

    write_atomic(settings.root / "grades.csv", csv_text(rows))
    by_student = {}
    for r in rows:
        by_student.setdefault(r["student"], []).append(r)
    for student, mine in by_student.items():
        mine.sort(key=lambda r: r["assignment"])
        write_atomic(settings.root / "feedback" / student / "report.html", student_report(student, mine))
        for r in mine:  # the same section on top of nbgrader's notebook feedback (release_feedback sends it)
            for page in (settings.root / "feedback" / student / r["assignment"]).glob("*.html"):
                text = page.read_text(encoding="utf-8")
                new = inject_report(text, r)
                if new != text:
                    page.chmod(0o644)
                    write_atomic(page, new)


def _num(x):
    return f"{round(float(x), 2):g}"


def line(i, n, row, seconds=None):
    who = f"[{i}/{n}] {row['student']} {row['assignment']}: "
    if row["status"] == "failed":
        text = f"FAILED ({row['reason']})"
    else:
        text = f"{_num(row['score'])}/{_num(row['max_score'])}"
        if row.get("pending"):
            text += f" ({_num(row['pending'])} pending manual grading)"
    if row.get("checks_error"):
        text += f" [checks did not run: {row['checks_error'].splitlines()[0]}]"
    return who + text + (f"  {seconds:.1f} s" if seconds is not None else "")


# ---------------------------------------------------------------- the run


def _worker_init(settings, assignments):
    """In each worker process: its output (nbgrader's log, the kernels' stderr) goes to
    ``.autograder/logs/worker-<pid>.log``, the kernels get their environment, nbgrader is imported once."""
    import signal
    import warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    logs = settings.state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    fd = os.open(logs / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    warnings.simplefilter("ignore")
    ensure_tools_on_path()
    os.environ.update(kernel_env(settings))
    api(settings, assignments)  # import nbgrader and build the API once per worker


def _worker_task(settings, assignments, student, assignment, only_feedback=False):
    try:
        if only_feedback:
            return feedback_only(settings, assignments, student, assignment)
        return grade_submission(settings, assignments, student, assignment)
    except Exception:
        return {"student": student, "assignment": assignment, "status": "error",
                "reason": "the grader crashed:\n" + traceback.format_exc()}


def run(settings, assignments=None, students=None, jobs=1, force=False, out=None):
    """Grade the class; returns ``(rows, errors)`` (errors: grader crashes, not students' failures)."""
    def say(msg):
        print(msg, file=out or sys.stdout, flush=True)

    ensure_tools_on_path()
    tasks = discover(settings, assignments, students)
    if not tasks:
        raise GradeError(f"no submissions under {settings.root / 'submitted'} (expected submitted/<student>/<assignment>/)")
    wanted = sorted({a for _, a in tasks})
    bad = prepare(settings, wanted, log=say)
    good = [a for a in wanted if a not in bad]
    write_config_file(settings, good)
    with gradebook(settings) as gb:  # create students up front: parallel workers would race to
        for s in sorted({s for s, _ in tasks}):
            gb.update_or_create_student(s)

    records, todo, html_todo = {}, [], []
    for s, a in tasks:
        if a in bad:
            records[(s, a)] = {"student": s, "assignment": a, "status": "failed", "reason": bad[a], "cells": []}
            continue
        old = None if force else load_result(settings, s, a)
        if old and old.get("key") == job_key(settings, s, a):
            records[(s, a)] = old
            if settings.feedback and old["status"] == "ok" and not old.get("notebook_feedback"):
                html_todo.append((s, a))
        else:
            todo.append((s, a))
    for s, a in discover(settings):  # not selected this time: keep what was graded before in grades.csv
        if (s, a) not in records and (s, a) not in todo:
            old = load_result(settings, s, a)
            if old:
                records[(s, a)] = old
    done_before = len(tasks) - len(todo)
    jobs = max(1, min(jobs, len(todo) or 1))
    say(f"grading {len(todo)} submission(s) of {len(tasks)} in {settings.root} with {jobs} worker(s)"
        + (f"; {done_before} already graded (--force regrades)" if done_before else "")
        + (f"; notebook feedback for {len(html_todo)} graded before" if html_todo else ""))

    rows = {k: summarize(r) for k, r in records.items()}
    errors = []
    count = done_before

    def finished(rec, seconds):
        nonlocal count
        count += 1
        key = (rec["student"], rec["assignment"])
        if rec["status"] == "error":
            errors.append(rec)
            say(f"[{count}/{len(tasks)}] {key[0]} {key[1]}: GRADER ERROR (not recorded, rerun to retry)\n{rec['reason']}")
            return
        records[key] = rec
        rows[key] = summarize(rec)
        say(line(count, len(tasks), rows[key], seconds))
        write_atomic(settings.root / "grades.csv", csv_text(rows.values()))

    if todo or html_todo:
        # fork: the workers inherit the imported nbgrader (no start-up cost); spawn where fork does not exist
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                 initargs=(settings, good)) as pool:
            futures = {pool.submit(_worker_task, settings, good, s, a): (s, a) for s, a in todo}
            extra = {pool.submit(_worker_task, settings, good, s, a, True): (s, a) for s, a in html_todo}
            try:
                for fut in as_completed(extra):  # notebook HTML for submissions graded before without it
                    rec = fut.result()
                    if rec.get("status") != "error":
                        records[(rec["student"], rec["assignment"])] = rec
                for fut in as_completed(futures):
                    s, a = futures[fut]
                    try:
                        rec = fut.result()
                    except BrokenProcessPool as e:
                        rec = {"student": s, "assignment": a, "status": "error",
                               "reason": f"a worker process died ({e}); see {settings.state / 'logs'}"}
                    finished(rec, rec.get("seconds"))
            except KeyboardInterrupt:  # stop now: unfinished submissions are not journaled, a rerun grades them
                for proc in list(getattr(pool, "_processes", {}).values()):
                    proc.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    # final rows: bring in hand grading from the gradebook
    final = []
    for (s, a), rec in sorted(records.items()):
        grades = gradebook_grades(settings, s, a) if rec["status"] != "failed" else None
        final.append(summarize(rec, grades))
    write_reports(settings, final)
    return final, errors


def example_class_error():
    from .example_class import ExampleError

    return ExampleError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", help="course directory holding submitted/ (default ./class, "
                                         "or build/example_class with --example)")
    parser.add_argument("--assignment", "-a", action="append", help="grade only this assignment (repeatable)")
    parser.add_argument("--student", "-s", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (0: one per CPU)")
    parser.add_argument("--force", action="store_true", help="regrade submissions already graded")
    parser.add_argument("--db", help="gradebook SQLAlchemy URL (default sqlite:///<course>/gradebook.db)")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per notebook cell (default 60)")
    parser.add_argument("--notebook-feedback", action="store_true",
                        help="also write nbgrader's notebook HTML feedback (hidden tests and tracebacks removed, the "
                             "report on top) for `nbgrader release_feedback`")
    parser.add_argument("--rerun-checks-in-cells", action="store_true",
                        help="let every test cell run its hidden checks again in its own sandbox, as under plain "
                             "nbgrader (default: the cells reuse the grader's run of the same checks)")
    parser.add_argument("--solutions", default=str(SOLUTIONS), help="directory of the source notebooks "
                                                                    "(default: the repository's solutions/)")
    parser.add_argument("--example", action="store_true",
                        help="first write the synthetic example class (autograder/example_class.py) into the course")
    args = parser.parse_args(argv)
    course = Path(args.course or ("build/example_class" if args.example else "class")).resolve()
    settings = Settings(course=str(course), db_url=args.db or default_db_url(course), timeout=args.timeout,
                        feedback=args.notebook_feedback, solutions=str(Path(args.solutions).resolve()),
                        reuse_checks=not args.rerun_checks_in_cells)
    jobs = (os.cpu_count() or 1) if args.jobs == 0 else args.jobs
    try:
        if args.example:
            from . import example_class

            made = example_class.build(course, assignments=args.assignment, students=args.student,
                                       solutions=settings.solutions)
            print(f"example class: {len({s for s, _ in made})} students x {len({a for _, a in made})} assignments "
                  f"written to {course / 'submitted'} (see {course / 'EXAMPLE_CLASS.md'})")
        rows, errors = run(settings, args.assignment, args.student, jobs=jobs, force=args.force)
    except (GradeError, example_class_error()) as e:
        print(f"grade: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted; rerun the same command to continue where it stopped", file=sys.stderr)
        return 130
    failed = sum(r["status"] == "failed" for r in rows)
    pending = sum(r["status"] == "pending" for r in rows)
    print(f"done: {len(rows)} submission(s), {failed} FAILED, {pending} with written answers to grade by hand; "
          f"{course / 'grades.csv'}, feedback in {course / 'feedback'}")
    if errors:
        print(f"grade: {len(errors)} submission(s) hit a grader error and were not recorded; rerun to retry",
              file=sys.stderr)
        return 1
    return 0

"""The hidden test cells of the notebooks: ``autograder.cell.hidden(key, points)``.

An nbgrader test cell ends with, e.g.::

    import autograder.cell
    autograder.cell.hidden("divergences.l2", 2)

``hidden`` gets the hidden checks' results of those exercises in one of two ways:

1. **The grader's run** (``python -m autograder grade``). The grader runs the
   hidden checks of the notebook's topics once per submission, before
   nbgrader executes the notebook, writes the results (the dict
   :func:`autograder.check.grade_package` returns, Gradescope's
   ``results.json``) to ``checks.json`` in the submission's scratch folder
   and starts the kernel with the environment variable
   ``NNTRICKS_CHECKS_FILE`` (:data:`CHECKS_FILE_ENV`) naming that file. When
   it is set, readable and covers the requested keys (every key's topic was
   graded in it), ``hidden`` uses the checks of that run whose ``tags`` name
   the keys: the same checks, with the same seeds, that it would run itself,
   without a second sandbox per cell. Anything else (no variable, an
   unreadable file, a key of another topic) falls back to 2. This changes
   nothing about trust: whatever the kernel computes, ``grade`` caps each
   hidden-test cell by the results it holds itself. In ``grade``'s kernel
   sandbox (:mod:`autograder.grading.kernel_sandbox`) this module and
   ``exercises`` are all of ``autograder`` there is, the file is mounted
   read-only, and 2 cannot run (no new process).
2. **Its own run.** It finds the package to grade (:func:`package_to_grade`)
   and runs the hidden checks of those exercises in a separate clean Python
   process (``python -I``: nothing of the kernel, its ``sys.path`` or its
   working directory), which in turn runs the student's code in the
   sandboxed worker. The package is the kernel's (a ``nntricks/`` folder in
   the working directory, else wherever ``importlib.util.find_spec`` locates
   it, without importing it), except under plain ``nbgrader autograde``
   (``NBGRADER_EXECUTION=autograde``, working directory
   ``<course>/autograded/<student>/<assignment>``): there it is the
   student's SUBMITTED folder ``<course>/submitted/<student>/<assignment>``,
   never nbgrader's copy in ``autograded/``, which follows symbolic links (a
   student's link to a solved file would be graded). The checks copy it
   without following links.

It prints a short
summary (failures with their likely mistake) to stdout, never to stderr
(nbgrader gives 0 to a cell that writes to stderr), and returns
``points * fraction of the checks' points earned`` as a plain ``float`` (an
``np.float64`` would be misread by nbgrader).

This module uses the standard library only: it runs inside the student's
kernel, where ``numpy`` may be shadowed by a student's file.
"""

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import warnings

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REFERENCE = os.path.realpath(os.path.join(_ROOT, "reference", "nntricks"))  # the instructor's solved package
CHECKS_FILE_ENV = "NNTRICKS_CHECKS_FILE"  # set by `python -m autograder grade` for its kernels

_ENTRY = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
args = json.loads(sys.argv[1])
sys.path.insert(0, args["root"])
from autograder.check import grade_package
from autograder.sandbox import Limits
limits = Limits(call_timeout=args["call_timeout"], import_timeout=args["call_timeout"] + 5)
result = grade_package(args["path"], exercises=args["keys"], time_budget=args["budget"], limits=limits)
sys.stdout.write("\n@@NNTRICKS-RESULT@@" + json.dumps(result) + "\n")
"""


def find_package(cwd=None):
    """The directory of the ``nntricks`` package the kernel would import, or None."""
    cwd = os.getcwd() if cwd is None else cwd
    local = os.path.join(cwd, "nntricks")
    if os.path.isdir(local):
        return local
    try:
        spec = importlib.util.find_spec("nntricks")
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return None


def submitted_folder(cwd=None):
    """Under plain ``nbgrader autograde`` (``NBGRADER_EXECUTION=autograde``, working directory
    ``<course>/autograded/<student>/<assignment>``): the student's submitted folder
    ``<course>/submitted/<student>/<assignment>`` when it exists; else None."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return None
    cwd = os.path.realpath(os.getcwd() if cwd is None else cwd)
    assignment_dir = cwd
    student_dir = os.path.dirname(assignment_dir)
    autograded = os.path.dirname(student_dir)
    if os.path.basename(autograded) != "autograded":
        return None
    submitted = os.path.join(os.path.dirname(autograded), "submitted", os.path.basename(student_dir),
                             os.path.basename(assignment_dir))
    return submitted if os.path.isdir(submitted) else None


def package_to_grade(cwd=None):
    """What the hidden checks grade when the cell runs them itself: the submitted folder under plain
    ``nbgrader autograde`` (:func:`submitted_folder`), else the package the kernel would import.

    The solution notebooks import the reference through a link (``solutions/nntricks`` ->
    ``reference/nntricks``), which the checks' intake refuses like any link: a link to the
    instructor's own reference package is graded where it really is. A student's link never gets
    here when it counts: plain ``nbgrader autograde`` grades the submitted folder, whose links the
    intake leaves out, and ``grade`` caps every cell by its own run."""
    found = submitted_folder(cwd) or find_package(cwd)
    if found and os.path.islink(found) and os.path.realpath(found) == _REFERENCE:
        return _REFERENCE
    return found


def _initial_environment():
    """The environment the kernel was started with (``/proc/self/environ``): what the grader set, not
    what a cell put into ``os.environ`` since (on systems without /proc, ``os.environ``)."""
    try:
        with open("/proc/self/environ", "rb") as f:
            pairs = [item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item]
        return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}
    except OSError:
        return dict(os.environ)


def precomputed(keys):
    """The results for ``keys`` from the grader's check run (``$NNTRICKS_CHECKS_FILE``), or None when
    the variable is unset, the file unreadable, or a key's topic not graded in it."""
    path = _initial_environment().get(CHECKS_FILE_ENV)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            tests = json.load(f)["tests"]
        topics = {t.get("topic") for t in tests}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if any(str(k).split(".")[0] not in topics for k in keys):
        return None
    mine = [t for t in tests if set(t.get("tags") or ()) & set(keys)]
    return {"score": sum(float(t.get("score") or 0) for t in mine),
            "max_score": sum(float(t.get("max_score") or 0) for t in mine), "tests": mine}


def run_hidden(keys, path=None, budget=20.0, call_timeout=8.0):
    """The hidden checks' results for the exercises ``keys``: the grader's run when it covers them
    (:func:`precomputed`), else a run in a clean process on the package at ``path``
    (:func:`package_to_grade` when None). Returns the results dict or raises RuntimeError with a
    message for the student."""
    from .exercises import EXERCISES

    unknown = [k for k in keys if k not in EXERCISES]
    if unknown:
        raise RuntimeError(f"unknown exercise {', '.join(unknown)} (a typo in the test cell?)")
    if path is None:
        shared = precomputed(keys)
        if shared is not None:
            return shared
    path = package_to_grade() if path is None else path
    if path is None:
        raise RuntimeError("no nntricks package found: put the nntricks/ folder next to the notebook")
    args = {"root": _ROOT, "path": os.path.abspath(path), "keys": list(keys), "budget": budget,
            "call_timeout": call_timeout}
    with tempfile.TemporaryDirectory(prefix="nntricks-cell-") as tmp:
        try:
            proc = subprocess.run([sys.executable, "-I", "-c", _ENTRY, json.dumps(args)], cwd=tmp,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=budget + 3 * call_timeout + 20)
        except subprocess.TimeoutExpired:
            raise RuntimeError("the hidden checks took too long and were stopped") from None
    out = proc.stdout.decode("utf-8", "replace")
    marker = "@@NNTRICKS-RESULT@@"
    if marker not in out:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("the hidden checks could not run" + (f" ({err[-1][:300]})" if err else ""))
    return json.loads(out.rsplit(marker, 1)[1].strip().splitlines()[0])


def summary(result, keys):
    tests = result.get("tests", [])
    passed = sum(1 for t in tests if t["score"] >= t["max_score"])
    lines = [f"Hidden checks of {', '.join(keys)}: {passed}/{len(tests)} passed"]
    for t in tests:
        if t["score"] < t["max_score"]:
            body = t["output"].replace("\n", "\n      ")
            lines.append(f"  FAILED {t['name']}: {body}")
    return "\n".join(lines)


def hidden(key, points, *, budget=20.0, call_timeout=8.0):
    """Run the hidden checks of exercise ``key`` (or a list of keys) and return
    the points earned, a plain float in [0, points]. Prints a summary to stdout
    and nothing to stderr, whatever happens."""
    keys = [key] if isinstance(key, str) else list(key)
    sink = io.StringIO()
    try:
        points = float(points)
    except (TypeError, ValueError):
        points = 0.0
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            result = run_hidden(keys, budget=budget, call_timeout=call_timeout)
            max_score = float(result.get("max_score", 0.0))
            score = float(result.get("score", 0.0))
            fraction = score / max_score if max_score > 0 else 0.0
            print(summary(result, keys))
    except Exception as e:  # noqa: BLE001 - a hidden test cell must never fail with stderr output
        print(f"Hidden checks of {', '.join(keys)}: could not be run: {e}")
        fraction = 0.0
    earned = round(points * min(1.0, max(0.0, fraction)), 6)
    return float(min(points, max(0.0, earned)))

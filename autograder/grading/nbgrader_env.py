"""nbgrader as the grader drives it: its configuration, the in-process API, the gradebook, the kernels'
environment.

The configuration (:func:`nbgrader_settings`) is written once, as
``{"Class.trait": value}``, and used twice: in-process for the run, and as
``<course>/nbgrader_config.py`` for the instructor's hand-run nbgrader commands
(formgrader, export, generate_feedback). In-process, the run also swaps three
of nbgrader's preprocessors for the grader's typed and timed versions
(:mod:`autograder.grading.autograde`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from .. import ROOT
from ..atomic import write_atomic
from .files import IGNORED

CONFIG_MARKER = "# Written by `python -m autograder grade`"
HOOKS = "autograder.grading.autograde"


def kernel_path_dir(settings) -> Path:
    """A directory holding only a link to this ``autograder`` package: the kernels' PYTHONPATH
    (so that the test cells import ``autograder.cell`` and a student file cannot shadow it)."""
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


def kernel_env(settings) -> dict[str, str]:
    """Environment variables for the kernels (set in the worker process that starts them)."""
    return {
        "PYTHONPATH": str(kernel_path_dir(settings)),
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "agg", "PYTHONNOUSERSITE": "1",
    }


def package_files(settings, assignment) -> list[str]:
    """Every non-notebook path (relative to the assignment folder) that any student submitted, plus the
    reference package's files: ``Autograde.exclude_overwriting`` protects all of them."""
    files = {f"nntricks/{p.name}" for p in (ROOT / "reference" / "nntricks").glob("*.py")}
    for sub in (settings.root / "submitted").glob(f"*/{assignment}"):
        for p in sub.rglob("*"):
            rel = p.relative_to(sub)
            if p.is_file() and p.suffix != ".ipynb" and not any(x in IGNORED for x in rel.parts):
                files.add(rel.as_posix())
    return sorted(files)


def feedback_preprocessors() -> list[str]:
    return ["nbgrader.preprocessors.GetGrades", "nbgrader.preprocessors.ClearHiddenTests",
            "autograder.feedback.StripTracebacks", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]


def nbgrader_settings(settings, assignments, in_grader=True) -> dict:
    """``{"Class.trait": value}``: the nbgrader configuration of a grading run (``in_grader``: with the
    grader's own preprocessors, which only a ``grade`` worker uses)."""
    out = {
        "CourseDirectory.root": str(settings.root),
        "CourseDirectory.db_url": settings.db_url,
        "Execute.timeout": settings.timeout,
        "Execute.interrupt_on_timeout": True,
        "OverwriteCells.add_missing_cells": True,
        "Autograde.exclude_overwriting": {a: package_files(settings, a) for a in assignments},
        "Autograde.create_student": True,
        "GenerateFeedback.preprocessors": feedback_preprocessors(),
        "NbGraderAPI.log_level": "WARN",
    }
    if in_grader:
        out["Autograde.sanitize_preprocessors"] = [
            "nbgrader.preprocessors.ClearOutput", "nbgrader.preprocessors.DeduplicateIds",
            "nbgrader.preprocessors.OverwriteKernelspec", f"{HOOKS}.TypedOverwriteCells",
            "nbgrader.preprocessors.CheckCellMetadata"]
        out["Autograde.autograde_preprocessors"] = [
            f"{HOOKS}.TimedExecute", "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
            "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata"]
        out["TimedExecute.start_attempts"] = settings.kernel_start_attempts
        out["TimedExecute.deadline"] = settings.deadline
    return out


def nbgrader_config(settings, assignments):
    from traitlets.config import Config

    c = Config()
    for name, value in nbgrader_settings(settings, assignments).items():
        cls, trait = name.split(".")
        setattr(c[cls], trait, value)
    return c


def write_config_file(settings, assignments) -> bool:
    """``<course>/nbgrader_config.py`` for hand-run nbgrader commands, unless someone else wrote one."""
    path = settings.root / "nbgrader_config.py"
    if path.exists() and CONFIG_MARKER not in path.read_text():
        return False
    pythonpath = str(kernel_path_dir(settings))
    lines = [f"{CONFIG_MARKER} (it rewrites this file while this line is here).",
             "# Hand-run nbgrader commands (formgrader, export, generate_feedback) in this directory use it.",
             "import os, sys", "c = get_config()  # noqa: F821",
             f"os.environ['PYTHONPATH'] = {pythonpath!r}  # kernels import autograder.cell",
             f"sys.path.insert(0, {pythonpath!r})  # nbgrader imports autograder.feedback"]
    plain = dataclasses.replace(settings, reuse_checks=False)
    for name, value in nbgrader_settings(plain, assignments, in_grader=False).items():
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

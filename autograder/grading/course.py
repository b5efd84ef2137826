"""The course folder: which submissions there are, and the source notebooks and gradebook they need."""

from __future__ import annotations

import shutil

from .files import IGNORED
from .nbgrader_env import api, gradebook
from .settings import GradeError


def discover(settings, assignments=None, students=None) -> list[tuple[str, str]]:
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


def assignment_in_gradebook(settings, assignment) -> bool:
    from nbgrader.api import MissingEntry

    with gradebook(settings) as gb:
        try:
            gb.find_notebook(assignment, assignment)
            return True
        except MissingEntry:
            return False


def prepare(settings, assignments, log=print) -> dict[str, str]:
    """Refresh ``source/<a>/<a>.ipynb`` from solutions/ and the gradebook (``generate_assignment``) where needed.

    ``source/<a>/`` must hold the notebook only (autograde copies every other file of it over each
    submission, so a solved package there would make everyone pass): anything else stops the run.
    Returns ``{assignment: reason}`` for assignments that cannot be graded (no source notebook).
    """
    errors = {}
    settings.root.mkdir(parents=True, exist_ok=True)
    for a in assignments:
        src = settings.source_notebook(a)
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
        if fresh and assignment_in_gradebook(settings, a):
            continue
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        log(f"nbgrader generate_assignment {a} ({'source notebook changed' if existed and not fresh else 'new'})")
        result = api(settings, assignments).generate_assignment(a, force=True, create=True)
        if not result["success"]:
            raise GradeError(f"nbgrader generate_assignment {a} failed:\n{result.get('log', '')}{result.get('error', '')}")
    return errors


def create_students(settings, students) -> None:
    """Create the students in the gradebook up front (parallel workers would race to)."""
    with gradebook(settings) as gb:
        for s in sorted(set(students)):
            gb.update_or_create_student(s)

"""The student's journey: run a student notebook the way a student works through it.

A student who has done the exercises of the earlier notebooks opens notebook NN
and runs its cells in order. On reaching the heading of exercise k
("## Exercise 4.2: ...") they implement exercise k in the package (the module
file changes on disk; the notebook's ``%autoreload 2`` picks it up), and on
reaching a solution cell of the notebook itself (an nbgrader ``solution`` code
cell, e.g. ``error_signal_gap``) they fill it in. Optional exercises stay
undone. Every cell must run without an error (issue 7, item 1), and no graded cell may write to
stderr (nbgrader gives such a cell 0 even when its asserts pass; issue 14, item 6).

Conventions read from the notebooks:
- a package exercise is asked by a markdown heading line ``## Exercise N.M: title``; it is
  optional when that heading contains "optional" (``## Exercise 3.4 (optional): LSUV``);
- a notebook solution cell (nbgrader ``solution: true``, code) is optional when the markdown
  cells of its section (since the last heading line) say "optional exercise" or "(optional)";
- the solution of a notebook cell is the cell with the same ``grade_id`` in ``solutions/``.

The kernel reloads the package with the notebook's own ``%autoreload 2``, as a student's does.
With IPython 9's default autoreload algorithm (deduperreload), a name imported on its own
(``from nntricks.dropout import dropout_backward``) keeps stale code after its module's file
changes a second time (reproduced by hand in a plain IPython session): a notebook that does
so fails here at the first cell that calls such a name after the second edit, as it would for a
student. Using the module's attribute (``dropout.dropout_backward``), or ``%autoreload 2 --full``
(IPython >= 9), avoids it.
"""

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
from autograder import NOTEBOOKS, SOLUTIONS, release
from autograder.execute import kernel_env
from autograder.exercises import EXERCISES
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HEADING = re.compile(r"^#{1,6}\s+Exercise\s+(\d+\.\d+)\b(.*)$", re.M)
OPTIONAL = re.compile(r"optional exercise|\(optional\b", re.I)


class JourneyError(AssertionError):
    """A cell a student runs raised: names the notebook, the cell and what the student had done."""


def student_notebooks():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def exercise_headings(nb):
    """``[(cell index, exercise number, optional), ...]`` of the exercise headings, in the notebook's order."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for m in HEADING.finditer(cell.source):
                found.append((i, m.group(1), bool(re.search("optional", m.group(2), re.I))))
    return found


def optional_solution_cells(nb):
    """Indices of the notebook's optional solution code cells (see the module docstring)."""
    optional, section_optional = set(), False
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            if re.search(r"^#", cell.source, re.M):  # a new section begins
                section_optional = False
            section_optional = section_optional or bool(OPTIONAL.search(cell.source))
        elif _nbgrader(cell).get("solution") and section_optional:
            optional.add(i)
    return optional


def package_exercises(stem):
    """The exercise numbers of the package that notebook ``stem`` asks for."""
    return {ex.number for ex in EXERCISES.values() if ex.notebook == stem}


def done_before(stem):
    """Exercises a student has done before opening ``stem``: every non-optional one of the earlier notebooks."""
    done = set()
    for path in student_notebooks():
        if path.stem >= stem:
            break
        nb = nbformat.read(path, as_version=4)
        optional = {num for _, num, opt in exercise_headings(nb) if opt}
        done |= package_exercises(path.stem) - optional
    return done


def solution_sources(stem):
    """``{grade_id: source}`` of the solution cells of ``solutions/<stem>.ipynb``."""
    nb = nbformat.read(SOLUTIONS / f"{stem}.ipynb", as_version=4)
    return {_nbgrader(c)["grade_id"]: c.source for c in nb.cells if _nbgrader(c).get("solution")}


class Package:
    """The student's ``nntricks/`` in ``root``, rewritten as exercises get done.

    Every rewrite moves the file's mtime strictly forward (autoreload reloads only a newer file).
    """

    def __init__(self, root):
        self.dir = Path(root) / "nntricks"
        self.dir.mkdir(parents=True)
        self.clock = time.time()

    def write(self, done):
        for name, text in release.build_stubs(keep=done).items():
            path = self.dir / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                self.clock += 2.0  # whole seconds apart: .pyc files record the source's mtime in seconds
                os.utime(path, (self.clock, self.clock))


def _first_line(source):
    return next((line for line in source.splitlines() if line.strip()), "")


def walk(path, tmp, all_done=False, alt=None):
    """Run student notebook ``path`` cell by cell in ``tmp`` as a student would; raises :class:`JourneyError`.

    ``all_done``: every exercise of this notebook (optional included) done from the start.
    ``alt`` (with ``all_done``): a folder whose ``nntricks/*.py`` are appended to the package's modules (their
    definitions replace the exercises', the provided code they do not define stays), e.g. the
    independent correct implementation ``tests/submissions/correct_alt``.
    Returns the seconds it took.
    """
    stem = path.stem
    nb = nbformat.read(path, as_version=4)
    headings = exercise_headings(nb)
    asked = {num for _, num, _ in headings}
    mine = package_exercises(stem)
    if mine - asked:
        raise JourneyError(f"{path.name}: exercises {sorted(mine - asked)} of autograder/exercises.py have no "
                           "'## Exercise N.M: title' heading in the notebook, so a student never knows when to do them")
    optional_cells = set() if all_done else optional_solution_cells(nb)
    solutions = solution_sources(stem)
    done = done_before(stem) | (mine if all_done else set())
    at_heading = {} if all_done else {i: (num, opt) for i, num, opt in headings}

    Path(tmp).mkdir(parents=True, exist_ok=True)
    shutil.copy(path, Path(tmp) / path.name)
    package = Package(tmp)
    package.write(done)
    if alt is not None:
        assert all_done, "an alternative implementation is laid over a package with every exercise done"
        for module in sorted((Path(alt) / "nntricks").glob("*.py")):
            target = package.dir / module.name
            target.write_text(target.read_text() + "\n\n# ---- " + str(module) + "\n" + module.read_text())
    env = kernel_env(MPLBACKEND="agg", PYTHONDONTWRITEBYTECODE="1")
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(tmp)}})
    start = time.perf_counter()
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            if i in at_heading and not at_heading[i][1]:
                done = done | {at_heading[i][0]}
                package.write(done)
            if cell.cell_type != "code":
                continue
            meta = _nbgrader(cell)
            if meta.get("solution") and i not in optional_cells:
                if meta["grade_id"] not in solutions:
                    raise JourneyError(f"{path.name}: solution cell {meta['grade_id']!r} is not in solutions/{path.name}")
                cell.source = solutions[meta["grade_id"]]
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as e:
                state = "all exercises done" if all_done else f"exercises done: {', '.join(sorted(done, key=_key)) or 'none'}"
                raise JourneyError(f"{path.name}, cell {i} ({_first_line(cell.source)!r}), {state}:\n"
                                   f"{e.ename}: {e.evalue}") from None
            if meta.get("grade"):
                err = "".join(o.get("text", "") for o in cell.get("outputs", [])
                              if o.get("output_type") == "stream" and o.get("name") == "stderr")
                if err:
                    raise JourneyError(f"{path.name}, graded cell {meta.get('grade_id')!r} wrote to stderr "
                                       f"(nbgrader would give it 0):\n{err[:500]}")
    return time.perf_counter() - start


def _key(number):
    return tuple(int(p) for p in number.split("."))


def has_optional(path):
    nb = nbformat.read(path, as_version=4)
    return bool(optional_solution_cells(nb)) or any(opt for _, _, opt in exercise_headings(nb))

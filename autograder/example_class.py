"""A synthetic class of students, to see ``python -m autograder grade`` end to end.

``build(course, assignments=None, students=None)`` writes nbgrader's layout
``course/submitted/<student>/<assignment>/`` (the student notebook
``<assignment>.ipynb``, the student's ``nntricks/`` package and a
``timestamp.txt``) from the repository itself: the student notebooks made from
``solutions/`` as the release makes them (model answers copied into the
written-answer cells of students who answer), the stubs in
``notebooks/nntricks/`` and the reference in ``reference/nntricks/`` (solution
markers removed). Each student makes one realistic mistake:

========  =====================================================================
student   what they submit (and what grading should say)
========  =====================================================================
ada       everything correct, written answers filled in (full marks, once the
          written answers are graded by hand)
ben       the untouched stubs (0 on every exercise)
cleo      forgot the ``1/B`` in ``l2`` and ``l2_grad`` (loses Exercise 1.1)
dev       ``alpha`` used as the DROP probability in dropout (loses 5.1, 5.2)
eve       the unbiased variance (``B - 1``) in batch-norm training (loses the
          batch-norm forward and what depends on it)
finn      correct package, but a notebook cell left over from debugging calls
          ``os._exit`` (the kernel dies: FAILED, not 0)
gus       cleo's ``l2`` mistake, and he edited one test cell to ``pass`` and
          deleted another (both restored: same grade as cleo)
hana      correct package, but made a locked test cell an editable answer cell
          (nbgrader metadata) and emptied it (nbgrader cannot restore it and
          refuses the notebook: FAILED with the reason)
ivan      a forger: his package loads the reference by absolute path (which
          neither the checks' sandbox nor his kernel's has) and replaces ``autograder.cell.hidden``
          by a function that returns full points (earns nothing he did not
          honestly earn)
========  =====================================================================

``python -m autograder grade --example`` builds this class (by default in
``build/example_class``, for the notebooks where the mistakes show:
01_divergences, 04_batchnorm, 05_dropout) and grades it. ``--students`` and
``--assignments`` take subsets. The mutations are exact text replacements of the
reference; if the reference changes so that one no longer applies, ``build``
raises instead of producing a silently correct "mistake".
"""

import copy
import shutil
import tempfile
from pathlib import Path

import nbformat

from . import NOTEBOOKS, REFERENCE, SOLUTIONS
from .atomic import write_atomic

DEFAULT_ASSIGNMENTS = ("01_divergences", "04_batchnorm", "05_dropout")
TIMESTAMP = "2026-01-15 12:00:00.000000 UTC"


class ExampleError(Exception):
    """The repository no longer matches what a synthetic mistake edits."""


def _replace(text, old, new, where):
    if text.count(old) != 1:
        raise ExampleError(f"{where}: expected exactly one {old!r} to turn into {new!r}, found {text.count(old)}")
    return text.replace(old, new)


# ---------------------------------------------------------------- packages


def reference_package():
    """``{file name: source}`` of the reference package with the solution marker lines removed."""
    out = {}
    for path in sorted((REFERENCE / "nntricks").glob("*.py")):
        lines = path.read_text().splitlines(keepends=True)
        out[path.name] = "".join(ln for ln in lines if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return out


def stub_package():
    """``{file name: source}`` of the student stubs exactly as released in ``notebooks/nntricks``."""
    return {p.name: p.read_text() for p in sorted((NOTEBOOKS / "nntricks").glob("*.py"))}


def _no_one_over_b(pkg):
    pkg["divergences.py"] = _replace(pkg["divergences.py"], "loss = 0.5 * np.sum((y - d) ** 2) / B",
                                     "loss = 0.5 * np.sum((y - d) ** 2)", "divergences.l2")
    pkg["divergences.py"] = _replace(pkg["divergences.py"], "dy = (y - d) / B\n", "dy = y - d\n", "divergences.l2_grad")
    return pkg


def _alpha_as_drop(pkg):
    src = pkg["dropout.py"]
    src = _replace(src, "mask = (rng.random(y.shape) < alpha)", "mask = (rng.random(y.shape) < 1 - alpha)", "dropout_forward")
    src = _replace(src, "out /= alpha", "out /= 1 - alpha", "dropout_forward")
    src = _replace(src, "out = y if inverted else alpha * y", "out = y if inverted else (1 - alpha) * y", "dropout_forward")
    src = _replace(src, "dy /= alpha", "dy /= 1 - alpha", "dropout_backward")
    src = _replace(src, "dy = dout.copy() if inverted else alpha * dout",
                   "dy = dout.copy() if inverted else (1 - alpha) * dout", "dropout_backward")
    pkg["dropout.py"] = src
    return pkg


def _unbiased_bn(pkg):
    pkg["batchnorm.py"] = _replace(pkg["batchnorm.py"], 'var = np.einsum("ij,ij->j", u, u) / B',
                                   'var = np.einsum("ij,ij->j", u, u) / (B - 1)', "batchnorm_forward")
    return pkg


FORGED_MODULE = '''\
# Loads the reference implementation by absolute path (works on the grader's
# machine, in the kernel; the sandbox of the hidden checks does not mount it).
import importlib.util as _u

_spec = _u.spec_from_file_location("_stolen_{name}", {path!r})
_mod = _u.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({{k: v for k, v in vars(_mod).items() if not k.startswith("__")}})
'''

FORGED_INIT = '''
# ... and claims full points from the hidden-test helper.
try:
    import autograder.cell as _cell
    _cell.hidden = lambda keys, points: float(points)
except Exception:
    pass
'''


def _forger(pkg):
    ref = REFERENCE / "nntricks"
    for name in ("divergences", "optim", "init", "batchnorm", "dropout", "regularization", "heuristics"):
        pkg[f"{name}.py"] = FORGED_MODULE.format(name=name, path=str(ref / f"{name}.py"))
    pkg["__init__.py"] = pkg["__init__.py"] + FORGED_INIT
    return pkg


# ---------------------------------------------------------------- notebooks


def _nbg(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test(cell):
    m = _nbg(cell)
    return bool(m.get("grade")) and not m.get("solution") and cell.cell_type == "code"


def _strip_markers(text):
    lines = [ln for ln in text.splitlines() if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines)


def fill_answers(nb, source_nb):
    """Copy the model answers of ``source_nb`` into the solution cells of ``nb`` (matched by grade_id)."""
    answers = {_nbg(c).get("grade_id"): c.source for c in source_nb.cells if _nbg(c).get("solution")}
    for cell in nb.cells:
        gid = _nbg(cell).get("grade_id")
        if _nbg(cell).get("solution") and gid in answers:
            cell.source = _strip_markers(answers[gid])
    return nb


def _tamper(nb):
    tests = [i for i, c in enumerate(nb.cells) if _is_test(c)]
    if len(tests) < 2:
        return nb
    first = nb.cells[tests[0]]
    first.source = "# this test is wrong, my code is fine\npass"
    del nb.cells[tests[1]]
    return nb


def _crash(nb):
    cell = nbformat.v4.new_code_cell("import os\nos._exit(0)  # stop here while debugging")
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    nb.cells.insert(code[0] + 1 if code else 0, cell)
    return nb


def _unlock(nb):
    """Turn the first test cell into an editable answer cell (nbgrader metadata ``solution: true``,
    ``locked: false``, as the "Create assignment" toolbar does) and "fix" it."""
    for cell in nb.cells:
        if _is_test(cell):
            cell.metadata["nbgrader"].update(solution=True, locked=False)
            cell.metadata["editable"] = True
            cell.source = "pass  # the test was in my way"
            break
    return nb


def _forge_cell(nb):
    cell = nbformat.v4.new_code_cell(
        "import autograder.cell\nautograder.cell.hidden = lambda keys, points: float(points)")
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    nb.cells.insert(code[0] + 1 if code else 0, cell)
    return nb


# ---------------------------------------------------------------- the class

#: student -> (what they did, package builder, notebook mutation or None, fill written answers?)
STUDENTS = {
    "ada": ("everything correct", lambda: reference_package(), None, True),
    "ben": ("untouched stubs", lambda: stub_package(), None, False),
    "cleo": ("forgot 1/B in l2 and l2_grad", lambda: _no_one_over_b(reference_package()), None, True),
    "dev": ("alpha used as the drop probability", lambda: _alpha_as_drop(reference_package()), None, True),
    "eve": ("unbiased variance in batch-norm training", lambda: _unbiased_bn(reference_package()), None, True),
    "finn": ("a notebook cell calls os._exit (kernel dies)", lambda: reference_package(), _crash, True),
    "gus": ("forgot 1/B in l2; edited one test cell, deleted another",
            lambda: _no_one_over_b(reference_package()), _tamper, False),
    "hana": ("made a test cell an editable answer cell and emptied it", lambda: reference_package(), _unlock, True),
    "ivan": ("forger: reference by absolute path, patched autograder.cell.hidden",
             lambda: _forger(stub_package()), _forge_cell, False),
}


def available_assignments(solutions=SOLUTIONS):
    """Assignments with a source notebook in solutions/."""
    return [p.stem for p in sorted(Path(solutions).glob("[0-9][0-9]_*.ipynb"))]


def student_notebooks(assignments, solutions=SOLUTIONS):
    """``{assignment: notebook}``: the student versions, made from solutions/ by nbgrader's
    generate_assignment exactly as ``python -m autograder release`` makes notebooks/."""
    from .grading.nbgrader_env import ensure_tools_on_path
    from .release import build_notebooks

    ensure_tools_on_path()  # nbgrader runs `alembic` by name
    with tempfile.TemporaryDirectory() as tmp:
        for a in assignments:
            shutil.copy(Path(solutions) / f"{a}.ipynb", Path(tmp) / f"{a}.ipynb")
        texts = build_notebooks(Path(tmp))
    return {Path(name).stem: nbformat.reads(text, as_version=4) for name, text in texts.items()}


def build(course, assignments=None, students=None, solutions=SOLUTIONS):
    """Write the example submissions into ``course/submitted/``; returns ``[(student, assignment), ...]``.

    Existing submissions of the same students and assignments are replaced;
    other students' folders are left alone. ``solutions`` is the directory of
    source notebooks (the repository's ``solutions/`` by default).
    """
    course, solutions = Path(course), Path(solutions)
    if not assignments:
        known = available_assignments(solutions)
        assignments = [a for a in DEFAULT_ASSIGNMENTS if a in known] or known
    students = list(STUDENTS) if students is None else list(students)
    unknown = [s for s in students if s not in STUDENTS]
    if unknown:
        raise ExampleError(f"unknown example students {unknown}; known: {', '.join(STUDENTS)}")
    for a in assignments:
        if not (solutions / f"{a}.ipynb").is_file():
            raise ExampleError(f"no source notebook {solutions / a}.ipynb")
    released = student_notebooks(assignments, solutions)
    made = []
    for student in students:
        _, package, mutate, answers = STUDENTS[student]
        files = package()
        for a in assignments:
            dest = course / "submitted" / student / a
            if dest.exists():
                shutil.rmtree(dest)
            (dest / "nntricks").mkdir(parents=True)
            for name, text in files.items():
                write_atomic(dest / "nntricks" / name, text)
            nb = copy.deepcopy(released[a])
            if answers:
                fill_answers(nb, nbformat.read(solutions / f"{a}.ipynb", as_version=4))
            if mutate is not None:
                nb = mutate(nb)
            write_atomic(dest / f"{a}.ipynb", nbformat.writes(nb) + "\n")
            write_atomic(dest / "timestamp.txt", TIMESTAMP)
            made.append((student, a))
    lines = ["# The example class (generated by autograder/example_class.py)", ""]
    lines += [f"- {s}: {STUDENTS[s][0]}" for s in students]
    write_atomic(course / "EXAMPLE_CLASS.md", "\n".join(lines) + "\n")
    return made


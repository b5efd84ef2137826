"""Taking in a submission: find the ``nntricks`` package and copy it, once, into a scratch directory.

Every grading path (``python -m autograder check``, the notebooks' hidden cells, class grading,
Gradescope) calls :func:`intake` and grades only the copy, so that what is graded is exactly
what the student wrote: regular files, read without ever following a symbolic link.

Layouts (where the package is looked for in ``src``):

- ``"check"``: ``src`` is a directory containing ``nntricks/``, or the package directory itself
  (what ``python -m autograder check PATH`` accepts).
- ``"notebook"``: ``src`` is an nbgrader assignment folder; the package is the ``nntricks/``
  folder next to the notebook.
- ``"gradescope"``: ``src`` is the uploaded submission; the package is, in this order, the
  shallowest ``nntricks/`` folder holding ``.py`` files, the loose files at the top (when one
  of them is a module of the package: ``divergences.py``, ...), or a zip of either found in the
  submission (``nntricks.zip``, a zip with ``nntricks/`` inside, at any depth, or with one top
  folder holding the modules; ``__MACOSX`` junk is ignored).

Rules of the copy (``dest/nntricks``; ``dest`` is a scratch directory the caller owns):

- regular files only. A symbolic link (file or directory, the ``nntricks`` folder itself or a
  folder above it in the submission) is never followed; every file is opened with
  ``O_NOFOLLOW`` relative to its already opened folder and ``fstat`` must say it is a regular
  file, so a swap between the check and the open cannot escape. A hard link is a regular file
  (its content is what the student can read anyway) and is copied.
- ignored, with a note: symbolic links, device files, fifos, sockets, bytecode (``.pyc``,
  ``__pycache__``), native code (``.so``, ...), hidden files and folders, files larger than
  ``MAX_FILE_BYTES``, files beyond ``MAX_FILES`` or ``MAX_TOTAL_BYTES`` in all, folders nested
  deeper than ``MAX_DEPTH``.
- zips are read with the same rules and extracted straight into the copy: entries with an
  absolute name or ``..``, symbolic-link and device entries (their Unix mode in the zip's
  external attributes), encrypted entries and zips inside the zip are ignored with a note; a
  zip with more than ``MAX_ZIP_ENTRIES`` entries or declaring more than ``MAX_TOTAL_BYTES`` is
  not unpacked, and bytes are counted while extracting (a header that lies is caught).

The rules live in :mod:`autograder.intake_files` (caps, notes, the copy of a folder) and
:mod:`autograder.intake_zip` (zips); this module finds the package for each layout.

Every ignored item is one line of :attr:`Intake.ignored`, written for the student
(``"nntricks/divergences.py: a symbolic link (only regular files are graded)"``); the grading
paths show them in their feedback.
"""


from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .intake_files import (MACOS_JUNK, MAX_DEPTH, MAX_FILE_BYTES, MAX_FILES, MAX_NOTES, MAX_TOTAL_BYTES,
                           MAX_ZIP_ENTRIES, Notes, copy_tree, is_module, kind, open_below)
from .intake_zip import unzip_package

LAYOUTS = ("check", "notebook", "gradescope")
MAX_SEARCHED = 20000  # directory entries looked at when searching a Gradescope submission
__all__ = ["LAYOUTS", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_FILES", "MAX_NOTES", "MAX_TOTAL_BYTES", "MAX_ZIP_ENTRIES",
           "Intake", "IntakeError", "intake"]


class IntakeError(Exception):
    """No package could be taken in; the message is written for the student: what is wrong and
    what to upload. ``ignored`` lists what was ignored on the way (also in the message)."""

    def __init__(self, message: str, ignored=()):
        self.ignored = tuple(ignored)
        if self.ignored:
            message += "\nIgnored: " + "; ".join(self.ignored)
        super().__init__(message)


@dataclass(frozen=True)
class Intake:
    package: Path  # the scratch copy of the package: <dest>/nntricks
    source: str  # where it was found, relative to the submission
    ignored: tuple[str, ...]  # one human-readable line per ignored item



def _copy_package(root: Path, parts: tuple, where: str, dest: Path, notes: Notes) -> Path:
    try:
        fd = open_below(root, parts)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            notes.add(where or "your submission", kind(stat.S_IFLNK))
            raise IntakeError(f"{where or root} is a symbolic link, not a folder: upload the real files "
                              "(copy them, do not link them)", notes.done()) from None
        raise IntakeError(f"{where or root} could not be read ({e.strerror})", notes.done()) from None
    package = dest / "nntricks"
    try:
        package.mkdir()
        copy_tree(fd, where, package, 0, notes)
    finally:
        os.close(fd)
    return package


def _lmode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None

def _has_py(path: Path, modules_only=False) -> bool:
    try:
        return any((is_module(e.name) if modules_only else e.name.endswith(".py"))
                   and e.is_file(follow_symlinks=False) for e in os.scandir(path))
    except OSError:
        return False



# ---------------------------------------------------------------- layouts


def _search(src: Path, notes: Notes):
    """Breadth-first walk of a Gradescope submission without following links: the relative parts
    of the ``nntricks`` folders holding .py files, and of the zips, shallowest first."""
    folders, zips, queue, seen = [], [], [()], 0
    while queue and seen < MAX_SEARCHED:
        parts = queue.pop(0)
        try:
            entries = sorted(os.scandir(src.joinpath(*parts)), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            seen += 1
            rel = parts + (e.name,)
            if e.name in MACOS_JUNK or e.name.startswith(".") or e.name == "__pycache__":
                continue
            if e.is_symlink():
                if e.name == "nntricks" or e.name.lower().endswith((".zip", ".py")):
                    notes.add("/".join(rel), kind(stat.S_IFLNK))
            elif e.is_dir(follow_symlinks=False) and len(rel) <= MAX_DEPTH:
                if e.name == "nntricks" and _has_py(src.joinpath(*rel)):
                    folders.append(rel)
                else:
                    queue.append(rel)
            elif e.is_file(follow_symlinks=False) and e.name.lower().endswith(".zip"):
                zips.append(rel)
    return folders, zips


def intake(src, dest, *, layout="check") -> Intake:
    """Find the ``nntricks`` package in the submission ``src`` (see the layouts in the module's
    docstring) and copy it into ``dest/nntricks`` (``dest``: an existing scratch directory the
    caller owns). Returns an :class:`Intake`; raises :class:`IntakeError` (a message for the
    student) when no package can be taken in, ValueError for an unknown layout. The submission
    is only read, never modified."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; layouts are {', '.join(LAYOUTS)}")
    src, dest, notes = Path(src), Path(dest), Notes()
    shown = src if layout == "check" else src.name  # a student's report never shows the grader's paths
    mode = _lmode(src)
    if mode is None:
        raise IntakeError(f"{shown} does not exist")
    if stat.S_ISLNK(mode):
        raise IntakeError(f"{shown} is a symbolic link: give the real folder (only regular files are graded)")
    if not stat.S_ISDIR(mode):
        raise IntakeError(f"{shown} is not a folder: give the folder that holds nntricks/")
    if layout == "gradescope":
        return _gradescope(src, dest, notes)
    inner = _lmode(src / "nntricks")
    if inner is not None and stat.S_ISLNK(inner):
        notes.add("nntricks", kind(inner))
        raise IntakeError("nntricks is a symbolic link, not a folder: put the real nntricks folder there "
                          "(copy it, do not link it)", notes.done())
    if inner is not None and stat.S_ISDIR(inner):
        package = _copy_package(src, ("nntricks",), "nntricks", dest, notes)
        return Intake(package, "nntricks", notes.done())
    if layout == "notebook":
        raise IntakeError(f"no nntricks package found next to the notebook in {src.name}: put your "
                          "nntricks folder (with divergences.py, optim.py, ...) in the assignment folder")
    init = _lmode(src / "__init__.py")
    if src.name == "nntricks" or (init is not None and stat.S_ISREG(init)):
        package = _copy_package(src, (), src.name, dest, notes)
        return Intake(package, "the top of your submission", notes.done())
    raise IntakeError(f"no nntricks package found at {src} (expected a directory containing nntricks/, "
                      "or the nntricks package directory itself)")


def _gradescope(src: Path, dest: Path, notes: Notes) -> Intake:
    folders, zips = _search(src, notes)
    if folders:
        where = "/".join(folders[0])
        package = _copy_package(src, folders[0], where, dest, notes)
        return Intake(package, where, notes.done())
    if _has_py(src, modules_only=True):
        package = _copy_package(src, (), "", dest, notes)
        return Intake(package, "the top of your submission", notes.done())
    for rel in zips:
        found = unzip_package(src, rel, dest, notes)
        if found is not None:
            return Intake(*found, notes.done())
    raise IntakeError("No nntricks package found in your submission: upload the nntricks folder (with "
                      "divergences.py, optim.py, ...), its .py files, or a zip of the folder.", notes.done())

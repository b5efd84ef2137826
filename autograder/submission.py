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

Every ignored item is one line of :attr:`Intake.ignored`, written for the student
(``"nntricks/divergences.py: a symbolic link (only regular files are graded)"``); the grading
paths show them in their feedback.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .exercises import TOPICS

LAYOUTS = ("check", "notebook", "gradescope")
MAX_FILES, MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_DEPTH = 500, 5 << 20, 50 << 20, 6
MAX_ZIP_ENTRIES, MAX_ZIP_FILE_BYTES = 5000, 100 << 20
MAX_SEARCHED = 20000  # directory entries looked at when searching a Gradescope submission
MAX_NOTES = 40

_BYTECODE = {".pyc", ".pyo"}
_NATIVE = {".so", ".pyd", ".dylib", ".dll"}
_MACOS_JUNK = ("__MACOSX", ".DS_Store")
MODULES = {"__init__", *TOPICS}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_ONLY_REGULAR = "(only regular files are graded)"


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


class _Notes:
    """The ignored items, and the caps on what is copied."""

    def __init__(self):
        self.lines: list[str] = []
        self.dropped = 0
        self.files = self.bytes = 0

    def add(self, where: str, why: str):
        if len(self.lines) < MAX_NOTES:
            self.lines.append(f"{where}: {why}")
        else:
            self.dropped += 1

    def done(self) -> tuple[str, ...]:
        more = [f"... and {self.dropped} more ignored items"] if self.dropped else []
        return tuple(self.lines + more)

    def admit(self, where: str, size: int) -> bool:
        """Whether one more file of ``size`` bytes fits the caps (noting why not)."""
        if size > MAX_FILE_BYTES:
            self.add(where, f"larger than {MAX_FILE_BYTES >> 20} MiB")
        elif self.files >= MAX_FILES:
            self.add(where, f"beyond the limit of {MAX_FILES} files")
        elif self.bytes + size > MAX_TOTAL_BYTES:
            self.add(where, f"beyond the limit of {MAX_TOTAL_BYTES >> 20} MiB in all")
        else:
            return True
        return False


def _kind(mode: int) -> str:
    """Why a non-regular, non-directory file is ignored."""
    for test, what in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a fifo"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device file"),
                       (stat.S_ISBLK, "a device file")):
        if test(mode):
            return f"{what} {_ONLY_REGULAR}"
    return f"not a regular file {_ONLY_REGULAR}"


def _skipped_name(name: str, is_dir: bool) -> str | None:
    """Why a file or folder is ignored by its name alone, or None."""
    suffix = os.path.splitext(name)[1].lower()
    if name in _MACOS_JUNK or name.startswith("._"):
        return "macOS metadata"
    if name == "__pycache__" or (not is_dir and suffix in _BYTECODE):
        return "compiled bytecode (only Python sources are graded)"
    if name.startswith("."):
        return "a hidden " + ("folder" if is_dir else "file")
    if not is_dir and suffix in _NATIVE:
        return "native code (only Python sources are graded)"
    return None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


# ---------------------------------------------------------------- folders on disk


def _open_dir(name, dir_fd=None) -> int:
    """Open a directory without following a symbolic link; OSError otherwise."""
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.ENOTDIR, "not a directory")
    return fd


def _open_below(root: Path, parts) -> int:
    """Open ``root/parts...``, each component with O_NOFOLLOW relative to the one above."""
    fd = _open_dir(root)
    for part in parts:
        try:
            sub = _open_dir(part, dir_fd=fd)
        finally:
            os.close(fd)
        fd = sub
    return fd


def _copy_file(dir_fd: int, name: str, where: str, out: Path, notes: _Notes):
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as e:  # ELOOP: it became a symbolic link since it was listed
        notes.add(where, _kind(stat.S_IFLNK) if e.errno == errno.ELOOP else f"could not be read ({e.strerror})")
        return
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            notes.add(where, _kind(st.st_mode))
            return
        if not notes.admit(where, st.st_size):
            return
        data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since fstat
    if not notes.admit(where, len(data)):
        return
    with open(out, "xb") as g:
        g.write(data)
    notes.files, notes.bytes = notes.files + 1, notes.bytes + len(data)


def _copy_tree(dir_fd: int, where: str, out: Path, depth: int, notes: _Notes):
    for name in sorted(os.listdir(dir_fd)):
        path = _join(where, name)
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except OSError as e:
            notes.add(path, f"could not be read ({e.strerror})")
            continue
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            notes.add(path, _kind(mode))
            continue
        why = _skipped_name(name, stat.S_ISDIR(mode))
        if why:
            notes.add(path, why)
        elif stat.S_ISREG(mode):
            _copy_file(dir_fd, name, path, out / name, notes)
        elif depth >= MAX_DEPTH:
            notes.add(path, f"nested deeper than {MAX_DEPTH} folders")
        else:
            try:
                sub = _open_dir(name, dir_fd=dir_fd)
            except OSError as e:
                notes.add(path, _kind(stat.S_IFLNK) if e.errno == errno.ELOOP else f"could not be read ({e.strerror})")
                continue
            try:
                (out / name).mkdir()
                _copy_tree(sub, path, out / name, depth + 1, notes)
            finally:
                os.close(sub)


def _copy_package(root: Path, parts: tuple, where: str, dest: Path, notes: _Notes) -> Path:
    try:
        fd = _open_below(root, parts)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            notes.add(where or "your submission", _kind(stat.S_IFLNK))
            raise IntakeError(f"{where or root} is a symbolic link, not a folder: upload the real files "
                              "(copy them, do not link them)", notes.done()) from None
        raise IntakeError(f"{where or root} could not be read ({e.strerror})", notes.done()) from None
    package = dest / "nntricks"
    try:
        package.mkdir()
        _copy_tree(fd, where, package, 0, notes)
    finally:
        os.close(fd)
    return package


def _lmode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def _is_module(name: str) -> bool:
    """Whether ``name`` is one of the package's modules (loose files count only with one of them)."""
    return name.endswith(".py") and name[:-3] in MODULES


def _has_py(path: Path, modules_only=False) -> bool:
    try:
        return any((_is_module(e.name) if modules_only else e.name.endswith(".py"))
                   and e.is_file(follow_symlinks=False) for e in os.scandir(path))
    except OSError:
        return False


# ---------------------------------------------------------------- zips


class _BadZip(Exception):
    pass


def _zip_members(zf: zipfile.ZipFile, label: str, notes: _Notes) -> list[tuple[tuple, zipfile.ZipInfo]]:
    """The entries that may be extracted, as (path parts, info); the others noted."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _BadZip(f"{len(infos)} entries (the limit is {MAX_ZIP_ENTRIES})")
    declared = sum(i.file_size for i in infos)
    if declared > MAX_TOTAL_BYTES:
        raise _BadZip(f"it would unpack to {declared >> 20} MiB (the limit is {MAX_TOTAL_BYTES >> 20} MiB)")
    members, junk = [], False
    for info in infos:
        where = f"{label}:{info.filename}"
        name = info.filename.replace("\\", "/")
        parts = tuple(p for p in name.split("/") if p not in ("", "."))
        mode = info.external_attr >> 16
        if name.startswith("/") or re.match(r"[A-Za-z]:", name):
            notes.add(where, "an absolute path in the zip")
        elif ".." in parts:
            notes.add(where, "a path that leaves the zip (..)")
        elif not parts or info.is_dir() or stat.S_ISDIR(mode):
            continue
        elif parts[0] in _MACOS_JUNK or parts[-1] in _MACOS_JUNK or parts[-1].startswith("._"):
            junk = True
        elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            notes.add(where, _kind(mode))
        elif info.flag_bits & 0x1:
            notes.add(where, "encrypted")
        else:
            members.append((parts, info))
    if junk:
        notes.add(f"{label}:__MACOSX", "macOS metadata")
    return members


def _zip_package(members) -> tuple | None:
    """The folder of the package inside the zip, as path parts, or None."""
    direct = {parts[:-1] for parts, _ in members if parts[-1].endswith(".py")}
    named = sorted((p for p in direct if p and p[-1] == "nntricks"), key=lambda p: (len(p), p))
    if named:
        return named[0]
    loose = {parts[:-1] for parts, _ in members if _is_module(parts[-1])}
    if () in loose:
        return ()
    tops = {parts[0] for parts, _ in members if len(parts) > 1}
    if len(tops) == 1 and (next(iter(tops)),) in loose:
        return (next(iter(tops)),)
    return None


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, where: str, notes: _Notes):
    if not notes.admit(where, info.file_size):
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        g = open(out, "xb")
    except FileExistsError:
        notes.add(where, "a second entry of the same name")
        return
    size = 0
    with g, zf.open(info) as f:
        while chunk := f.read(1 << 16):
            size += len(chunk)
            if size > info.file_size or size > MAX_FILE_BYTES:
                break
            g.write(chunk)
    if size > info.file_size or not notes.admit(where, size):
        out.unlink()
        raise _BadZip(f"{where} unpacks to more than its header declares")
    notes.files, notes.bytes = notes.files + 1, notes.bytes + size


def _unzip_package(src: Path, rel: tuple, dest: Path, notes: _Notes) -> Intake | None:
    """Extract the package found in the zip ``src/rel...`` into ``dest/nntricks``, or None."""
    label = "/".join(rel)
    try:
        dir_fd = _open_below(src, rel[:-1])
        try:
            fd = os.open(rel[-1], _FILE_FLAGS, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as e:
        notes.add(label, f"could not be read ({e.strerror})")
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ZIP_FILE_BYTES:
            notes.add(label, _kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else
                      f"a zip larger than {MAX_ZIP_FILE_BYTES >> 20} MiB")
            return None
        package = dest / "nntricks"
        try:
            with zipfile.ZipFile(f) as zf:
                members = _zip_members(zf, label, notes)
                prefix = _zip_package(members)
                if prefix is None:
                    inner = [parts for parts, _ in members if parts[-1].lower().endswith(".zip")]
                    notes.add(label, "no nntricks package inside" + (
                        f" (a zip inside a zip is not unpacked: {'/'.join(inner[0])})" if inner else ""))
                    return None
                package.mkdir()
                for parts, info in members:
                    if parts[:len(prefix)] != prefix:
                        continue
                    rel = parts[len(prefix):]
                    where = f"{label}:{'/'.join(parts)}"
                    why = next((w for i, p in enumerate(rel) if (w := _skipped_name(p, i < len(rel) - 1))), None)
                    if why is None and rel[-1].lower().endswith(".zip"):
                        why = "a zip inside a zip (not unpacked)"
                    if why is None and len(rel) - 1 > MAX_DEPTH:
                        why = f"nested deeper than {MAX_DEPTH} folders"
                    if why:
                        notes.add(where, why)
                    else:
                        _extract(zf, info, package.joinpath(*rel), where, notes)
        except (zipfile.BadZipFile, _BadZip, OSError, EOFError, NotImplementedError, ValueError, RuntimeError,
                zlib.error) as e:  # whatever a corrupt or hostile zip makes zipfile raise
            notes.add(label, f"not unpacked: {e}")
            shutil.rmtree(package, ignore_errors=True)
            return None
    source = f"{label}:{'/'.join(prefix)}" if prefix else f"the top of {label}"
    return Intake(package, source, ())


# ---------------------------------------------------------------- layouts


def _search(src: Path, notes: _Notes):
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
            if e.name in _MACOS_JUNK or e.name.startswith(".") or e.name == "__pycache__":
                continue
            if e.is_symlink():
                if e.name == "nntricks" or e.name.lower().endswith((".zip", ".py")):
                    notes.add("/".join(rel), _kind(stat.S_IFLNK))
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
    src, dest, notes = Path(src), Path(dest), _Notes()
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
        notes.add("nntricks", _kind(inner))
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


def _gradescope(src: Path, dest: Path, notes: _Notes) -> Intake:
    folders, zips = _search(src, notes)
    if folders:
        where = "/".join(folders[0])
        package = _copy_package(src, folders[0], where, dest, notes)
        return Intake(package, where, notes.done())
    if _has_py(src, modules_only=True):
        package = _copy_package(src, (), "", dest, notes)
        return Intake(package, "the top of your submission", notes.done())
    for rel in zips:
        found = _unzip_package(src, rel, dest, notes)
        if found is not None:
            return Intake(found.package, found.source, notes.done())
    raise IntakeError("No nntricks package found in your submission: upload the nntricks folder (with "
                      "divergences.py, optim.py, ...), its .py files, or a zip of the folder.", notes.done())

"""The rules of reading a submission's files (used by :mod:`autograder.submission` and
:mod:`autograder.intake_zip`): the caps, the notes of what is ignored, and copying a folder without ever
following a symbolic link: every file is opened with ``O_NOFOLLOW`` relative to its already opened
folder, and ``fstat`` must say it is a regular file."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .exercises import TOPICS

MAX_FILES, MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_DEPTH = 500, 5 << 20, 50 << 20, 6
MAX_ZIP_ENTRIES, MAX_ZIP_FILE_BYTES = 5000, 100 << 20
MAX_NOTES = 40

_BYTECODE = {".pyc", ".pyo"}
_NATIVE = {".so", ".pyd", ".dylib", ".dll"}
MACOS_JUNK = ("__MACOSX", ".DS_Store")
MODULES = {"__init__", *TOPICS}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_ONLY_REGULAR = "(only regular files are graded)"


class Notes:
    """The ignored items, and the caps on what is copied (a package's by default; the notebook path's
    copy of a whole assignment folder allows larger files: a notebook with its figures)."""

    def __init__(self, max_files=None, max_file_bytes=None, max_total_bytes=None):
        self.lines: list[str] = []
        self.dropped = 0
        self.files = self.bytes = 0
        self.max_files = MAX_FILES if max_files is None else max_files
        self.max_file_bytes = MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes
        self.max_total_bytes = MAX_TOTAL_BYTES if max_total_bytes is None else max_total_bytes

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
        if size > self.max_file_bytes:
            self.add(where, f"larger than {self.max_file_bytes >> 20} MiB")
        elif self.files >= self.max_files:
            self.add(where, f"beyond the limit of {self.max_files} files")
        elif self.bytes + size > self.max_total_bytes:
            self.add(where, f"beyond the limit of {self.max_total_bytes >> 20} MiB in all")
        else:
            return True
        return False


def kind(mode: int) -> str:
    """Why a non-regular, non-directory file is ignored."""
    for test, what in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a fifo"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device file"),
                       (stat.S_ISBLK, "a device file")):
        if test(mode):
            return f"{what} {_ONLY_REGULAR}"
    return f"not a regular file {_ONLY_REGULAR}"


def skipped_name(name: str, is_dir: bool) -> str | None:
    """Why a file or folder is ignored by its name alone, or None."""
    suffix = os.path.splitext(name)[1].lower()
    if name in MACOS_JUNK or name.startswith("._"):
        return "macOS metadata"
    if name == "__pycache__" or (not is_dir and suffix in _BYTECODE):
        return "compiled bytecode (only Python sources are graded)"
    if name.startswith("."):
        return "a hidden " + ("folder" if is_dir else "file")
    if not is_dir and suffix in _NATIVE:
        return "native code (only Python sources are graded)"
    return None


def join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name



def open_dir(name, dir_fd=None) -> int:
    """Open a directory without following a symbolic link; OSError otherwise."""
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.ENOTDIR, "not a directory")
    return fd


def open_below(root: Path, parts) -> int:
    """Open ``root/parts...``, each component with O_NOFOLLOW relative to the one above."""
    fd = open_dir(root)
    for part in parts:
        try:
            sub = open_dir(part, dir_fd=fd)
        finally:
            os.close(fd)
        fd = sub
    return fd


def copy_file(dir_fd: int, name: str, where: str, out: Path, notes: Notes):
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
    except OSError as e:  # ELOOP: it became a symbolic link since it was listed
        notes.add(where, kind(stat.S_IFLNK) if e.errno == errno.ELOOP else f"could not be read ({e.strerror})")
        return
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            notes.add(where, kind(st.st_mode))
            return
        if not notes.admit(where, st.st_size):
            return
        data = f.read(notes.max_file_bytes + 1)  # the file may have grown since fstat
    if not notes.admit(where, len(data)):
        return
    with open(out, "xb") as g:
        g.write(data)
    notes.files, notes.bytes = notes.files + 1, notes.bytes + len(data)


def copy_tree(dir_fd: int, where: str, out: Path, depth: int, notes: Notes):
    for name in sorted(os.listdir(dir_fd)):
        path = join(where, name)
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except OSError as e:
            notes.add(path, f"could not be read ({e.strerror})")
            continue
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            notes.add(path, kind(mode))
            continue
        why = skipped_name(name, stat.S_ISDIR(mode))
        if why:
            notes.add(path, why)
        elif stat.S_ISREG(mode):
            copy_file(dir_fd, name, path, out / name, notes)
        elif depth >= MAX_DEPTH:
            notes.add(path, f"nested deeper than {MAX_DEPTH} folders")
        else:
            try:
                sub = open_dir(name, dir_fd=dir_fd)
            except OSError as e:
                notes.add(path, kind(stat.S_IFLNK) if e.errno == errno.ELOOP else f"could not be read ({e.strerror})")
                continue
            try:
                (out / name).mkdir()
                copy_tree(sub, path, out / name, depth + 1, notes)
            finally:
                os.close(sub)



def is_module(name: str) -> bool:
    """Whether ``name`` is one of the package's modules (loose files count only with one of them)."""
    return name.endswith(".py") and name[:-3] in MODULES


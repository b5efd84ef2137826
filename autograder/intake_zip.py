"""Zips in a submission (see :mod:`autograder.submission`): read with the same rules as folders and
extracted straight into the copy. Entries with an absolute name or ``..``, symbolic-link and device
entries (their Unix mode in the zip's external attributes), encrypted entries and zips inside the zip
are ignored with a note; a zip with more than ``MAX_ZIP_ENTRIES`` entries or declaring more than
``MAX_TOTAL_BYTES`` is not unpacked, and bytes are counted while extracting (a header that lies is
caught)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
import zlib
from pathlib import Path

from .intake_files import (FILE_FLAGS, MACOS_JUNK, MAX_DEPTH, MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_ZIP_ENTRIES,
                           MAX_ZIP_FILE_BYTES, Notes, is_module, kind, open_below, skipped_name)


class _BadZip(Exception):
    pass


def _zip_members(zf: zipfile.ZipFile, label: str, notes: Notes) -> list[tuple[tuple, zipfile.ZipInfo]]:
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
        elif parts[0] in MACOS_JUNK or parts[-1] in MACOS_JUNK or parts[-1].startswith("._"):
            junk = True
        elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            notes.add(where, kind(mode))
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
    loose = {parts[:-1] for parts, _ in members if is_module(parts[-1])}
    if () in loose:
        return ()
    tops = {parts[0] for parts, _ in members if len(parts) > 1}
    if len(tops) == 1 and (next(iter(tops)),) in loose:
        return (next(iter(tops)),)
    return None


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, where: str, notes: Notes):
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


def unzip_package(src: Path, rel: tuple, dest: Path, notes: Notes) -> tuple[Path, str] | None:
    """Extract the package found in the zip ``src/rel...`` into ``dest/nntricks``: (the package, where it
    was found in the submission), or None."""
    label = "/".join(rel)
    try:
        dir_fd = open_below(src, rel[:-1])
        try:
            fd = os.open(rel[-1], FILE_FLAGS, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as e:
        notes.add(label, f"could not be read ({e.strerror})")
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ZIP_FILE_BYTES:
            notes.add(label, kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else
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
                    why = next((w for i, p in enumerate(rel) if (w := skipped_name(p, i < len(rel) - 1))), None)
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
    return package, source


"""Taking in a submission (autograder.submission): every rule of the copy and of the zips, and,
for every hostile layout, the whole way through ``check`` and ``gradescope run``: a forged
submission earns nothing it did not honestly earn, and the feedback names what was ignored."""

import io
import json
import os
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from autograder import REFERENCE, check, gradescope, intake_files, submission
from autograder.submission import MAX_DEPTH, MAX_FILE_BYTES, MAX_FILES, IntakeError, intake
from autograder_support import STUBS, snapshot

LINK = "a symbolic link (only regular files are graded)"
REF_PKG = REFERENCE / "nntricks"


def _pkg(dest: Path, base=REF_PKG) -> Path:
    shutil.copytree(base, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _tree(path: Path) -> dict:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def _zip(path: Path, entries) -> Path:
    """A zip of ``entries``: (name, data) or (name, data, unix mode)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, *mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (mode[0] if mode else stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    return path


def _package_entries(prefix="nntricks/", base=REF_PKG):
    return [(prefix + p.name, p.read_bytes()) for p in sorted(base.glob("*.py"))]


@pytest.fixture
def dest(tmp_path):
    d = tmp_path / "scratch"
    d.mkdir()
    return d


# ---------------------------------------------------------------- layouts


def test_check_layout_folder_or_package_itself(tmp_path, dest):
    _pkg(tmp_path / "sub" / "nntricks")
    got = intake(tmp_path / "sub", dest)
    assert got.package == dest / "nntricks" and got.source == "nntricks" and got.ignored == ()
    assert _tree(got.package) == _tree(REF_PKG)
    other = tmp_path / "d2"
    other.mkdir()
    got = intake(tmp_path / "sub" / "nntricks", other)
    assert got.source == "the top of your submission" and _tree(got.package) == _tree(REF_PKG)


def test_check_layout_without_package(tmp_path, dest):
    with pytest.raises(IntakeError, match="no nntricks package found"):
        intake(tmp_path, dest)
    with pytest.raises(IntakeError, match="does not exist"):
        intake(tmp_path / "missing", dest)
    with pytest.raises(ValueError, match="unknown layout"):
        intake(tmp_path, dest, layout="moodle")


def test_notebook_layout_needs_the_folder_next_to_the_notebook(tmp_path, dest):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "01_divergences.ipynb").write_text("{}")
    (tmp_path / "a" / "divergences.py").write_text("")
    with pytest.raises(IntakeError, match="next to the notebook"):
        intake(tmp_path / "a", dest, layout="notebook")
    _pkg(tmp_path / "a" / "nntricks")
    assert intake(tmp_path / "a", dest, layout="notebook").source == "nntricks"


def test_gradescope_prefers_the_shallowest_folder_then_loose_files_then_zips(tmp_path):
    sub = tmp_path / "sub"
    _pkg(sub / "a" / "b" / "nntricks")
    _pkg(sub / "nntricks", STUBS)
    (tmp_path / "d1").mkdir()
    assert intake(sub, tmp_path / "d1", layout="gradescope").source == "nntricks"
    loose = tmp_path / "loose"
    loose.mkdir()
    for p in STUBS.glob("*.py"):
        shutil.copy(p, loose / p.name)
    _zip(loose / "nntricks.zip", _package_entries())
    (tmp_path / "d2").mkdir()
    got = intake(loose, tmp_path / "d2", layout="gradescope")
    assert got.source == "the top of your submission"
    assert _tree(got.package)["divergences.py"] == (STUBS / "divergences.py").read_bytes()
    assert "nntricks.zip" in _tree(got.package)  # loose files: everything at the top is the package


@pytest.mark.parametrize("prefix, source", [("nntricks/", "nntricks.zip:nntricks"), ("", "the top of nntricks.zip"),
                                            ("my work/", "nntricks.zip:my work"),
                                            ("hw/deep/nntricks/", "nntricks.zip:hw/deep/nntricks")])
def test_gradescope_zip_layouts(tmp_path, dest, prefix, source):
    sub = tmp_path / "sub"
    sub.mkdir()
    _zip(sub / "nntricks.zip", _package_entries(prefix) + [(f"__MACOSX/{prefix}._divergences.py", b"\0\1"),
                                                          (f"{prefix}.DS_Store", b"\0")])
    got = intake(sub, dest, layout="gradescope")
    assert got.source == source
    assert _tree(got.package) == _tree(REF_PKG)
    assert got.ignored == ("nntricks.zip:__MACOSX: macOS metadata",)


def test_gradescope_loose_files_count_only_with_a_module_of_the_package(tmp_path, dest):
    (tmp_path / "helper.py").write_text("print('mine')\n")
    _zip(tmp_path / "work.zip", _package_entries("hw/"))
    got = intake(tmp_path, dest, layout="gradescope")
    assert got.source == "work.zip:hw" and _tree(got.package) == _tree(REF_PKG)


def test_gradescope_nothing_found(tmp_path, dest):
    (tmp_path / "notes.txt").write_text("hi")
    _zip(tmp_path / "empty.zip", [("readme.txt", b"x")])
    with pytest.raises(IntakeError, match="No nntricks package found in your submission"):
        intake(tmp_path, dest, layout="gradescope")


# ---------------------------------------------------------------- links, special files, caps


def test_symlinked_file_dir_and_passwd_are_ignored_and_named(tmp_path, dest):
    pkg = _pkg(tmp_path / "sub" / "nntricks", STUBS)
    (pkg / "divergences.py").unlink()
    os.symlink(REF_PKG / "divergences.py", pkg / "divergences.py")
    os.symlink("/etc/passwd", pkg / "passwd.py")
    os.symlink(REF_PKG, pkg / "solved")
    got = intake(tmp_path / "sub", dest)
    assert set(got.ignored) == {f"nntricks/divergences.py: {LINK}", f"nntricks/passwd.py: {LINK}",
                                f"nntricks/solved: {LINK}"}
    assert not (got.package / "divergences.py").exists() and not (got.package / "solved").exists()
    assert not any(p.is_symlink() for p in got.package.rglob("*"))


def test_symlinked_nntricks_folder_is_refused(tmp_path, dest):
    (tmp_path / "sub").mkdir()
    os.symlink(REF_PKG, tmp_path / "sub" / "nntricks")
    with pytest.raises(IntakeError, match="symbolic link") as e:
        intake(tmp_path / "sub", dest)
    assert e.value.ignored == (f"nntricks: {LINK}",)
    with pytest.raises(IntakeError, match="symbolic link"):
        intake(tmp_path / "sub" / "nntricks", dest)  # the package directory itself, given as a link
    with pytest.raises(IntakeError, match="No nntricks package") as e:
        intake(tmp_path / "sub", dest, layout="gradescope")
    assert f"nntricks: {LINK}" in e.value.ignored
    assert list(dest.iterdir()) == []


def test_symlinked_parent_folder_is_not_searched(tmp_path, dest):
    (tmp_path / "sub").mkdir()
    os.symlink(REFERENCE, tmp_path / "sub" / "work")  # work/nntricks would be the reference
    os.symlink(REF_PKG / "divergences.py", tmp_path / "sub" / "divergences.py")
    with pytest.raises(IntakeError, match="No nntricks package"):
        intake(tmp_path / "sub", dest, layout="gradescope")


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, dest, monkeypatch):
    """The race: lstat says regular file, then the file becomes a link before it is opened."""
    pkg = _pkg(tmp_path / "sub" / "nntricks", STUBS)
    real_lstat = os.stat

    def racing_stat(name, *a, dir_fd=None, follow_symlinks=True):
        st = real_lstat(name, *a, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        if name == "divergences.py" and not follow_symlinks and not (pkg / name).is_symlink():
            (pkg / name).unlink()
            os.symlink(REF_PKG / "divergences.py", pkg / name)
        return st

    monkeypatch.setattr(submission.os, "stat", racing_stat)
    got = intake(tmp_path / "sub", dest)
    assert f"nntricks/divergences.py: {LINK}" in got.ignored
    assert not (got.package / "divergences.py").exists()


def test_fifo_socket_are_ignored_and_hard_link_is_copied(tmp_path, dest):
    import socket

    pkg = _pkg(tmp_path / "sub" / "nntricks", STUBS)
    os.mkfifo(pkg / "divergences.py.fifo")
    (pkg / "divergences.py").unlink()
    os.mkfifo(pkg / "divergences.py")
    with socket.socket(socket.AF_UNIX) as sock:  # bound at a short path (108 bytes at most), then moved
        short = Path("/tmp") / f"nntricks-sock-{os.getpid()}"
        sock.bind(str(short))
        os.rename(short, pkg / "s.sock")
    mine = tmp_path / "mine.py"
    mine.write_text("X = 1\n")
    os.link(mine, pkg / "hard.py")
    assert os.stat(pkg / "hard.py").st_nlink == 2
    got = intake(tmp_path / "sub", dest)
    assert "nntricks/divergences.py: a fifo (only regular files are graded)" in got.ignored
    assert "nntricks/divergences.py.fifo: a fifo (only regular files are graded)" in got.ignored
    assert "nntricks/s.sock: a socket (only regular files are graded)" in got.ignored
    assert (got.package / "hard.py").read_text() == "X = 1\n"
    assert os.stat(got.package / "hard.py").st_nlink == 1  # a copy, not a link


def test_device_file_is_ignored(tmp_path, dest):
    pkg = _pkg(tmp_path / "sub" / "nntricks", STUBS)
    try:
        os.mknod(pkg / "null.py", stat.S_IFCHR | 0o644, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device file needs root")
    got = intake(tmp_path / "sub", dest)
    assert "nntricks/null.py: a device file (only regular files are graded)" in got.ignored


def test_bytecode_native_hidden_and_caps(tmp_path, dest):
    pkg = _pkg(tmp_path / "sub" / "nntricks", STUBS)
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "divergences.cpython-311.pyc").write_bytes(b"\0")
    (pkg / "optim.pyc").write_bytes(b"\0")
    (pkg / "fast.so").write_bytes(b"\0")
    (pkg / ".ipynb_checkpoints").mkdir()
    (pkg / "big.txt").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    deep = pkg.joinpath(*[f"d{i}" for i in range(MAX_DEPTH + 2)])
    deep.mkdir(parents=True)
    (deep / "x.py").write_text("")
    (pkg / "data.json").write_text("{}")
    got = intake(tmp_path / "sub", dest)
    ignored = "\n".join(got.ignored)
    assert "nntricks/__pycache__: compiled bytecode" in ignored and "nntricks/optim.pyc: compiled bytecode" in ignored
    assert "nntricks/fast.so: native code" in ignored and "nntricks/.ipynb_checkpoints: a hidden folder" in ignored
    assert "nntricks/big.txt: larger than 5 MiB" in ignored
    assert f"nested deeper than {MAX_DEPTH} folders" in ignored
    assert (got.package / "data.json").is_file() and not (got.package / "big.txt").exists()
    assert not list(got.package.rglob("x.py"))


def test_too_many_files(tmp_path, dest):
    pkg = _pkg(tmp_path / "sub" / "nntricks", STUBS)
    n_pkg = len(list(pkg.iterdir()))
    for i in range(MAX_FILES + 60):
        (pkg / f"f{i:04d}.txt").write_text("x")
    got = intake(tmp_path / "sub", dest)
    assert len(list(got.package.iterdir())) == MAX_FILES
    assert f"beyond the limit of {MAX_FILES} files" in got.ignored[0]
    assert got.ignored[-1] == f"... and {60 + n_pkg - submission.MAX_NOTES} more ignored items"


def test_total_size_cap(tmp_path, dest, monkeypatch):
    monkeypatch.setattr(intake_files, "MAX_TOTAL_BYTES", 10_000)
    pkg = _pkg(tmp_path / "sub" / "nntricks", STUBS)
    (pkg / "zz.txt").write_bytes(b"x" * 9_000)
    got = intake(tmp_path / "sub", dest)
    assert any("beyond the limit of" in line and "in all" in line for line in got.ignored)
    assert sum(p.stat().st_size for p in got.package.rglob("*") if p.is_file()) <= 10_000


# ---------------------------------------------------------------- hostile zips


def test_zip_entries_that_escape_or_link_are_ignored(tmp_path, dest):
    sub = tmp_path / "sub"
    sub.mkdir()
    _zip(sub / "nntricks.zip", _package_entries() + [
        ("nntricks/../../escaped.py", b"x"), ("../outside.py", b"x"), ("/etc/cron.d/x", b"x"),
        ("C:/win.py", b"x"), ("nntricks/ref.py", str(REF_PKG / "divergences.py").encode(), stat.S_IFLNK | 0o777),
        ("nntricks/dev.py", b"", stat.S_IFCHR | 0o644), ("nntricks/inner.zip", b"PK\5\6" + b"\0" * 18),
        ("nntricks/fifo.py", b"", stat.S_IFIFO | 0o644)])
    got = intake(sub, dest, layout="gradescope")
    ignored = "\n".join(got.ignored)
    for name, why in [("nntricks/../../escaped.py", "a path that leaves the zip"), ("../outside.py", "a path that leaves"),
                      ("/etc/cron.d/x", "an absolute path"), ("C:/win.py", "an absolute path"),
                      ("nntricks/ref.py", LINK), ("nntricks/dev.py", "a device file"),
                      ("nntricks/inner.zip", "a zip inside a zip"), ("nntricks/fifo.py", "a fifo")]:
        assert f"nntricks.zip:{name}: {why}" in ignored, (name, ignored)
    assert _tree(got.package) == _tree(REF_PKG)
    assert not (tmp_path / "escaped.py").exists() and not (tmp_path / "outside.py").exists()
    assert not any(p.is_symlink() for p in got.package.rglob("*"))


def test_zip_bomb_by_declared_size_and_entry_count(tmp_path, dest):
    sub = tmp_path / "sub"
    sub.mkdir()
    _zip(sub / "a.zip", _package_entries() + [("nntricks/bomb.txt", b"\0" * (60 << 20))])
    assert (sub / "a.zip").stat().st_size < 1 << 20
    _zip(sub / "b.zip", _package_entries() + [(f"nntricks/e{i}.txt", b"") for i in range(submission.MAX_ZIP_ENTRIES)])
    with pytest.raises(IntakeError) as e:
        intake(sub, dest, layout="gradescope")
    assert "a.zip: not unpacked: it would unpack to 60 MiB" in e.value.ignored[0]
    n = len(_package_entries()) + submission.MAX_ZIP_ENTRIES
    assert e.value.ignored[1] == f"b.zip: not unpacked: {n} entries (the limit is {submission.MAX_ZIP_ENTRIES})"
    assert list(dest.iterdir()) == []


def test_zip_whose_header_lies_about_its_size(tmp_path, dest):
    sub = tmp_path / "sub"
    sub.mkdir()
    raw = _zip(tmp_path / "raw.zip", _package_entries() + [("nntricks/zbomb.txt", b"\0" * (3 << 20))]).read_bytes()
    # declare 100 bytes in the central directory and the local header of the last entry
    cd = raw.rindex(b"PK\1\2")
    lh = raw.rindex(b"PK\3\4")
    raw = bytearray(raw)
    raw[cd + 24:cd + 28] = struct.pack("<I", 100)
    raw[lh + 22:lh + 26] = struct.pack("<I", 100)
    (sub / "nntricks.zip").write_bytes(bytes(raw))
    with pytest.raises(IntakeError) as e:
        intake(sub, dest, layout="gradescope")
    assert "nntricks.zip: not unpacked" in "\n".join(e.value.ignored)
    assert list(dest.iterdir()) == []


def test_corrupt_zip_is_named_not_fatal(tmp_path, dest):
    raw = bytearray(_zip(tmp_path / "raw.zip", _package_entries()).read_bytes())
    start = raw.index(b"PK\3\4") + 30 + len("nntricks/__init__.py")
    raw[start:start + 40] = b"\xff" * 40  # garbage in the first entry's deflate stream
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nntricks.zip").write_bytes(bytes(raw))
    (tmp_path / "sub" / "broken.zip").write_bytes(b"PK\3\4 not a zip")
    with pytest.raises(IntakeError) as e:
        intake(tmp_path / "sub", dest, layout="gradescope")
    assert [line.split(":")[0] for line in e.value.ignored] == ["broken.zip", "nntricks.zip"]
    assert all(": not unpacked: " in line for line in e.value.ignored)


def test_symlinked_and_nested_zips_are_not_unpacked(tmp_path, dest):
    sub = tmp_path / "sub"
    sub.mkdir()
    real = _zip(tmp_path / "real.zip", _package_entries())
    os.symlink(real, sub / "nntricks.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("nntricks.zip", real.read_bytes())
    (sub / "outer.zip").write_bytes(buf.getvalue())
    with pytest.raises(IntakeError) as e:
        intake(sub, dest, layout="gradescope")
    assert f"nntricks.zip: {LINK}" in e.value.ignored


# ---------------------------------------------------------------- end to end: check and gradescope run

DIV = "divergences"


def _stubs_with(tmp_path, how):
    """A submission folder ``tmp/sub`` holding the stubs, made hostile by ``how``."""
    sub = tmp_path / "sub"
    pkg = _pkg(sub / "nntricks", STUBS)
    forged = REF_PKG / "divergences.py"
    if how == "symlinked file":
        (pkg / "divergences.py").unlink()
        os.symlink(forged, pkg / "divergences.py")
        return sub, f"nntricks/divergences.py: {LINK}"
    if how == "symlinked folder":
        shutil.rmtree(pkg)
        os.symlink(REF_PKG, pkg)
        return sub, f"nntricks: {LINK}"
    if how == "symlinked subfolder":
        os.symlink(REF_PKG, pkg / "solved")
        (pkg / "divergences.py").write_text("from .solved.divergences import *  # noqa\n")
        return sub, f"nntricks/solved: {LINK}"
    if how == "passwd":
        os.symlink("/etc/passwd", pkg / "passwd.py")
        (pkg / "divergences.py").write_text((pkg / "divergences.py").read_text() + "\nfrom . import passwd\n")
        return sub, f"nntricks/passwd.py: {LINK}"
    if how == "fifo":
        (pkg / "divergences.py").unlink()
        os.mkfifo(pkg / "divergences.py")
        return sub, "nntricks/divergences.py: a fifo"
    if how == "huge file":
        (pkg / "divergences.py").write_text((pkg / "divergences.py").read_text() + "#" * MAX_FILE_BYTES)
        return sub, "nntricks/divergences.py: larger than 5 MiB"
    raise AssertionError(how)


HOSTILE = ["symlinked file", "symlinked folder", "symlinked subfolder", "passwd", "fifo", "huge file"]


@pytest.fixture(scope="module")
def div_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("gs") / "div.zip"
    gradescope.build(out, ["divergences"])
    return out


def _gradescope_run(tmp_path, div_zip, fill):
    root = tmp_path / "gs"
    with zipfile.ZipFile(div_zip) as zf:
        zf.extractall(root / "source")
    (root / "results").mkdir()
    fill(root / "submission")
    before = snapshot(root / "submission")
    assert gradescope.run(root) == 0
    assert snapshot(root / "submission") == before
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.parametrize("how", HOSTILE)
def test_hostile_layout_through_check(tmp_path, how, capsys):
    sub, named = _stubs_with(tmp_path, how)
    before = snapshot(sub)
    out = tmp_path / "r.json"
    assert check.main([str(sub), "--topic", DIV, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["score"] == 0 and result["max_score"] > 0  # the stubs honestly earn nothing
    assert named in result["output"]
    assert named.split(":")[0] in printed and "TOTAL" in printed
    assert snapshot(sub) == before


@pytest.mark.parametrize("how", HOSTILE)
def test_hostile_layout_through_gradescope_run(tmp_path, div_zip, how):
    def fill(submission_dir):
        sub, fill.named = _stubs_with(tmp_path, how)
        sub.rename(submission_dir)

    result = _gradescope_run(tmp_path, div_zip, fill)
    assert result["score"] == 0 and result["max_score"] > 0
    assert fill.named in result["output"]


def test_hostile_zip_through_gradescope_run(tmp_path, div_zip):
    """A zip of the stubs with the reference smuggled in as a link entry and an escaping entry."""
    def fill(submission_dir):
        submission_dir.mkdir()
        entries = [e for e in _package_entries(base=STUBS) if not e[0].endswith("divergences.py")]
        _zip(submission_dir / "nntricks.zip", entries + [
            ("nntricks/divergences.py", str(REF_PKG / "divergences.py").encode(), stat.S_IFLNK | 0o777),
            ("nntricks/../nntricks/divergences.py", (REF_PKG / "divergences.py").read_bytes()),
            ("__MACOSX/nntricks/._divergences.py", b"\0")])

    result = _gradescope_run(tmp_path, div_zip, fill)
    assert result["score"] == 0
    assert f"nntricks.zip:nntricks/divergences.py: {LINK}" in result["output"]
    assert "nntricks.zip:nntricks/../nntricks/divergences.py: a path that leaves the zip (..)" in result["output"]
    assert "Graded the package found at nntricks.zip:nntricks." in result["output"]


def test_honest_zip_through_gradescope_run(tmp_path, div_zip):
    def fill(submission_dir):
        submission_dir.mkdir()
        _zip(submission_dir / "nntricks.zip", _package_entries())

    result = _gradescope_run(tmp_path, div_zip, fill)
    assert result["score"] == result["max_score"] > 0


def test_a_students_report_never_shows_the_graders_paths(tmp_path):
    real = tmp_path / "elsewhere" / "05_dropout"
    (real / "nntricks").mkdir(parents=True)
    course = tmp_path / "course" / "submitted" / "sym"
    course.mkdir(parents=True)
    (course / "05_dropout").symlink_to(real)
    with pytest.raises(IntakeError) as e:
        intake(course / "05_dropout", tmp_path / "scratch", layout="notebook")
    assert str(e.value).startswith("05_dropout is a symbolic link") and str(tmp_path) not in str(e.value)


def test_a_zip_holding_only_a_zip_is_named(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("nntricks/divergences.py", "x = 1\n")
    sub = tmp_path / "submission"
    sub.mkdir()
    with zipfile.ZipFile(sub / "nested.zip", "w") as z:
        z.writestr("inner.zip", inner.getvalue())
    with pytest.raises(IntakeError) as e:
        intake(sub, tmp_path / "scratch", layout="gradescope")
    assert "nested.zip: no nntricks package inside (a zip inside a zip is not unpacked: inner.zip)" in str(e.value)

"""Reading what grading recorded, for ``python -m autograder insights``: every file is hostile input.

Two sources, one result (a list of :class:`Entry`, one per student and assignment, plus notes):

- a course (:func:`read_course`): ``grades.csv`` for the grades (hand grading included) and the
  journal ``.autograder/results/<student>/<assignment>.json`` for the hidden checks' results;
- a folder of ``results.json`` files (:func:`read_results`), as ``python -m autograder check --json``
  and the Gradescope autograder write them: the student is the file's path in the folder.

Nothing is followed: every folder and file is opened with ``O_NOFOLLOW`` relative to the folder
above it, a file must be a regular file no larger than :data:`MAX_FILE_BYTES`, and at most
:data:`MAX_FILES` files are read. A file that cannot be read or does not have the expected shape
is left out with a note (shown on the page); it never stops the report.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 8 << 20  # a journal record or a results.json (a full run is about 30 KB)
MAX_CSV_BYTES = 64 << 20
MAX_FILES = 200_000
MAX_DEPTH = 6  # folders below --results
MAX_TEXT = 4000  # characters of a check's message kept
MAX_NOTES = 50
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Unreadable(Exception):
    """A file left out; the message says why."""


@dataclass
class Test:
    """One hidden check's result (a test of results.json)."""

    name: str
    score: float
    max_score: float
    output: str
    keys: list[str]  # the exercise keys it grades
    mistake: dict | None = None  # the structured named mistake ({"name", "hint"}), when recorded
    structured: bool = False  # the result has a "mistake" field (then the message is not parsed)


@dataclass
class Entry:
    """One student's result for one assignment. ``status``: ok, pending or failed; ``score`` is None
    for a failed submission or when no grade was recorded."""

    student: str
    assignment: str
    status: str = "ok"
    score: float | None = None
    max_score: float | None = None
    pending: float = 0.0
    tests: list[Test] | None = None  # None: no hidden checks recorded


@dataclass
class Reading:
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("... (further notes left out)")


# ---------------------------------------------------------------- files, never through a link


def _open_dir(name, dir_fd=None) -> int:
    try:
        return os.open(name, _DIR, dir_fd=dir_fd)
    except OSError as e:
        raise Unreadable(f"not a folder that can be opened ({e.strerror or e}; symbolic links are not followed)")


def read_bytes(dir_fd: int, name: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The content of the regular file ``name`` in the open folder ``dir_fd`` (never through a link)."""
    try:
        fd = os.open(name, _FILE, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise Unreadable(f"cannot be opened ({e.strerror or e}; symbolic links are not followed)")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable("not a regular file")
        if st.st_size > limit:
            raise Unreadable(f"larger than {limit >> 20} MiB")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise Unreadable(f"larger than {limit >> 20} MiB")
        return data
    finally:
        os.close(fd)


def _entries(dir_fd: int):
    """``(name, kind)`` of a folder's entries, sorted; ``kind`` is "dir", "file" or why it is left out
    (links are never followed)."""
    out = []
    with os.scandir(dir_fd) as it:
        for e in it:
            kind = ("a symbolic link (never followed)" if e.is_symlink() else "dir" if e.is_dir(follow_symlinks=False)
                    else "file" if e.is_file(follow_symlinks=False) else "not a regular file")
            out.append((e.name, kind))
    return sorted(out)


def _json(data: bytes):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise Unreadable(f"not valid JSON ({type(e).__name__})")


# ---------------------------------------------------------------- the shapes we accept


def _number(x, what) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
        raise Unreadable(f"{what} is not a number of points")
    return float(x)


def parse_tests(result) -> list[Test]:
    """The tests of a results.json dict (``tests``: name, score, max_score, output, tags)."""
    from .exercises import EXERCISES
    from .grading.merge import check_key_of

    if not isinstance(result, dict) or not isinstance(result.get("tests"), list):
        raise Unreadable("no list of tests")
    tests = []
    for i, t in enumerate(result["tests"]):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise Unreadable(f"test {i} has no name")
        output = t.get("output")
        output = output[:MAX_TEXT] if isinstance(output, str) else ""
        tags = t.get("tags") if isinstance(t.get("tags"), list) else []
        clean = {"name": t["name"], "tags": [x for x in tags if isinstance(x, str)]}
        keys = [k for k in check_key_of(clean) if k in EXERCISES]
        mistake = t.get("mistake")
        if mistake is not None and not (isinstance(mistake, dict) and isinstance(mistake.get("name"), str)
                                        and isinstance(mistake.get("hint", ""), str)):
            raise Unreadable(f"test {i}'s mistake is not a name and a hint")
        tests.append(Test(t["name"][:200], _number(t.get("score"), f"test {i}'s score"),
                          _number(t.get("max_score"), f"test {i}'s max_score"), output, keys, mistake,
                          "mistake" in t))
    return tests


# ---------------------------------------------------------------- a course


def _grades_csv(root_fd: int, reading: Reading) -> dict | None:
    """``{(student, assignment): Entry}`` from grades.csv (None: no readable grades.csv)."""
    try:
        text = read_bytes(root_fd, "grades.csv", MAX_CSV_BYTES).decode("utf-8")
    except FileNotFoundError:
        return None
    except (Unreadable, UnicodeDecodeError) as e:
        reading.note(f"grades.csv left out: {e}")
        return None
    rows = {}
    try:
        for n, r in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            try:
                student, assignment = r["student"], r["assignment"]
                if not student or not assignment:
                    raise Unreadable("no student or assignment")
                status = (r.get("status") or "ok").lower()
                if status not in ("ok", "pending", "failed"):
                    raise Unreadable(f"unknown status {status[:20]!r}")
                def num(k):
                    v = (r.get(k) or "").strip()
                    return None if not v else _number(float(v), k)
                e = Entry(student, assignment, status, num("score"), num("max_score"), num("pending") or 0.0)
                if status != "failed" and (e.score is None or e.max_score is None):
                    raise Unreadable("no score")
                rows[(student, assignment)] = e
            except (Unreadable, ValueError, TypeError, KeyError) as err:
                reading.note(f"grades.csv line {n} left out: {err}")
    except csv.Error as e:
        reading.note(f"grades.csv could only be read in part: {e}")
    return rows


def _journal(root_fd: int, reading: Reading) -> dict:
    """``{(student, assignment): (Submission, its tests or None)}`` from .autograder/results/."""
    from .grading.records import Submission

    out = {}
    try:
        state = _open_dir(".autograder", root_fd)
    except Unreadable:
        return out
    try:
        results = _open_dir("results", state)
    except Unreadable:
        os.close(state)
        return out
    count = 0
    try:
        for student, kind in _entries(results):
            if kind != "dir":
                if not student.startswith("."):
                    reading.note(f".autograder/results/{student} left out: {kind}")
                continue
            try:
                sfd = _open_dir(student, results)
            except Unreadable as e:
                reading.note(f".autograder/results/{student} left out: {e}")
                continue
            try:
                for name, kind in _entries(sfd):
                    if not name.endswith(".json") or name.startswith("."):
                        continue
                    count += 1
                    if count > MAX_FILES:
                        reading.note(f"more than {MAX_FILES} journal records: the rest are left out")
                        return out
                    where = f".autograder/results/{student}/{name}"
                    try:
                        if kind != "file":
                            raise Unreadable(kind)
                        rec = Submission.from_json(read_bytes(sfd, name).decode("utf-8"))
                        tests = None if rec.checks is None else parse_tests(rec.checks)
                        out[(student, name[:-5])] = rec, tests
                    except (Unreadable, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError,
                            RecursionError) as e:
                        reading.note(f"{where} left out: {e}")
            finally:
                os.close(sfd)
    finally:
        os.close(results)
        os.close(state)
    return out


def read_course(course) -> Reading:
    """The entries of a graded course (grades.csv and the journal)."""
    from .grading.merge import summarize
    from .grading.records import Status

    reading = Reading()
    root = _open_dir(str(course))
    try:
        grades = _grades_csv(root, reading)
        journal = _journal(root, reading)
    finally:
        os.close(root)
    if grades is None and journal:
        reading.note("no readable grades.csv: the scores come from the journal (hand grading not included)")
    for key in sorted(set(grades or {}) | set(journal)):
        rec, tests = journal.get(key, (None, None))
        entry = (grades or {}).get(key)
        if entry is None:
            try:
                row = summarize(rec)
                status = "failed" if row.status is Status.FAILED else row.status.value
                entry = Entry(key[0], key[1], status, row.score, row.max_score, row.pending or 0.0)
            except (TypeError, ValueError, AttributeError, KeyError) as e:
                reading.note(f".autograder/results/{key[0]}/{key[1]}.json: no score ({type(e).__name__})")
                entry = Entry(key[0], key[1], "failed")
            if grades is not None:
                reading.note(f"{key[0]} {key[1]}: not in grades.csv; the score comes from the journal")
        entry.tests = tests
        reading.entries.append(entry)
    return reading


# ---------------------------------------------------------------- a folder of results.json


def _student_of(parts: tuple[str, ...]) -> str:
    """``alice/results.json`` and ``alice/results/results.json`` -> alice; ``bob.json`` -> bob."""
    if parts[-1] == "results.json":
        parts = parts[:-1]
        if len(parts) > 1 and parts[-1] == "results":
            parts = parts[:-1]
    else:
        parts = (*parts[:-1], parts[-1][:-5])
    return "/".join(parts) or "results"


def read_results(folder) -> Reading:
    """The entries of a folder of results.json files (one per student; any depth up to MAX_DEPTH)."""
    reading = Reading()
    found = []

    def walk(fd, parts, depth):
        for name, kind in _entries(fd):
            if name.startswith(".") or len(found) > MAX_FILES:
                continue
            if kind == "dir":
                if depth >= MAX_DEPTH:
                    reading.note(f"{'/'.join((*parts, name))}: deeper than {MAX_DEPTH} folders, left out")
                    continue
                try:
                    sub = _open_dir(name, fd)
                except Unreadable as e:
                    reading.note(f"{'/'.join((*parts, name))} left out: {e}")
                    continue
                try:
                    walk(sub, (*parts, name), depth + 1)
                finally:
                    os.close(sub)
            elif kind != "file" and not name.endswith(".json"):
                reading.note(f"{'/'.join((*parts, name))} left out: {kind}")
            elif name.endswith(".json"):
                where = "/".join((*parts, name))
                try:
                    if kind != "file":
                        raise Unreadable(kind)
                    result = _json(read_bytes(fd, name))
                    found.append((_student_of((*parts, name)), result, parse_tests(result)))
                except Unreadable as e:
                    reading.note(f"{where} left out: {e}")

    root = _open_dir(str(folder))
    try:
        walk(root, (), 0)
    finally:
        os.close(root)
    if len(found) > MAX_FILES:
        reading.note(f"more than {MAX_FILES} results files: the rest are left out")
    for student, result, tests in found[:MAX_FILES]:
        topics = result.get("extra_data", {}).get("topics") if isinstance(result.get("extra_data"), dict) else None
        names = sorted(str(t)[:40] for t in topics) if isinstance(topics, dict) else []
        if not names:
            names = sorted({t.name.split(".")[0] for t in tests})
        assignment = "checks: " + (", ".join(names) or "none")
        score, max_score = sum(t.score for t in tests), sum(t.max_score for t in tests)
        reading.entries.append(Entry(student, assignment, "ok", score, max_score, 0.0, tests))
    return reading


def read(course=None, results=None) -> Reading:
    """Read a course (``course``) or a folder of results.json files (``results``)."""
    path = Path(course if course is not None else results)
    return read_course(path) if course is not None else read_results(path)

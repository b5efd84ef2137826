"""Helpers of the autograder's tests: build corpus submissions, grade them fast."""

import hashlib
import os
import shutil
from pathlib import Path

from autograder import REFERENCE
from autograder.check import grade_package
from autograder.sandbox import Limits

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
STUBS = ROOT / "notebooks" / "nntricks"

#: Low limits so that a hang costs ~2 s, not 10 s.
FAST = Limits(call_timeout=2.0, import_timeout=8.0, cpu_seconds=20, memory_bytes=1 << 30,
              output_bytes=16 << 20, file_bytes=8 << 20)


def build(dest: Path, case: str | None = None, patches=(), base: Path | None = None, files=None) -> Path:
    """A submission in ``dest``: the reference package (or ``base``), with the
    corpus case laid over it (``X.py`` replaces a module, ``X.append.py`` is
    appended to it, other files are copied as they are, also beside
    ``nntricks/``), ``files`` ({relative path: text}) written and textual
    ``patches`` ((module, old, new), ...) applied."""
    dest = Path(dest)
    pkg = dest / "nntricks"
    shutil.copytree(base or REFERENCE / "nntricks", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    if case:
        src = SUBMISSIONS / case
        for f in sorted(src.rglob("*")):
            if f.is_dir() or f.name == "README.md":
                continue
            rel = f.relative_to(src)
            text = f.read_text().replace("@REFERENCE@", str(REFERENCE))
            if f.name.endswith(".append.py"):
                target = dest / rel.parent / f.name.replace(".append.py", ".py")
                target.write_text(target.read_text() + "\n" + text)
            else:
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                (dest / rel).write_text(text)
    for rel, text in (files or {}).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    for module, old, new in patches:
        target = pkg / f"{module}.py"
        text = target.read_text()
        assert old in text, f"patch target not found in {module}.py: {old!r}"
        target.write_text(text.replace(old, new, 1))
    return dest


def snapshot(path: Path) -> dict:
    """Every file under ``path`` with its content hash and mode (to prove grading changed nothing)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
            out[str(p.relative_to(path))] = (st.st_mode, digest)
    return out


def grade(path, topics=None, limits=FAST, **kw) -> dict:
    return grade_package(path, topics=topics, limits=limits, **kw)


def topic_score(result: dict, topic: str) -> float:
    return sum(t["score"] for t in result["tests"] if t["topic"] == topic)


def topic_max(result: dict, topic: str) -> float:
    return sum(t["max_score"] for t in result["tests"] if t["topic"] == topic)


def by_name(result: dict) -> dict:
    return {t["name"]: t for t in result["tests"]}


def failed(result: dict, topic: str | None = None) -> dict:
    return {t["name"]: t["output"] for t in result["tests"]
            if t["score"] < t["max_score"] and (topic is None or t["topic"] == topic)}

"""Hostile notebooks and submissions through the real ``python -m autograder grade`` (nbgrader, kernels,
hidden checks), as root and as a throw-away unprivileged user.

Per mode, two runs of ``grade --jobs 2``: first ada (correct) and ben (the stubs) alone, then the class:
cleo (a known mistake), dana (ada's correct work) and one hostile student per attack of
tests/hostile/attacks.py, every one of them on the untouched stubs. For every attack: (1) the hostile student's score is honest (what the stubs earn: 0, or FAILED with a
reason where the submission must fail), and nothing it read of the answer key, a classmate or the grader
reaches its feedback or its graded notebook; (2) every other student's grade and the gradebook are intact;
(3) no file outside the sandbox changed (the repository's reference/, solutions/, autograder/; the course's
source/, release/, submitted/; ada's and ben's graded notebooks, journal and gradebook rows; a canary folder
outside the course; no set-uid file, no mount left); (4) the
run ends within its budget and leaves no process behind.
"""

import os
import re
import shutil
import sqlite3

import pytest

from hostile.attacks import ATTACKS, FAILED, XSS, ZERO, ZERO_OR_FAILED
from hostile_support import (ADA_MARK, BUDGET, HONEST, HONEST_TESTS, REF_MARK, SECRET, A, _mounts_under,
                             grade_class, gradebook_scores, setuid_files, texts_of, user_mode_problem)

MODES = ["root", "user"]
#: attack -> what the grader still gets wrong (reported to the grader's authors; strict: fixed means XPASS)
KNOWN: dict[str, str] = {}


def _cases():
    return [pytest.param(a, id=a.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[a.name])]
                         if a.name in KNOWN else []) for a in ATTACKS]


@pytest.fixture(scope="module", params=MODES)
def graded(request):
    if request.param == "user":
        problem = user_mode_problem()
        if problem:
            print(f"unprivileged mode skipped: {problem}")
            pytest.skip(problem)
    run = grade_class(request.param)
    if run.skipped:
        shutil.rmtree(run.base, ignore_errors=True)
        print(f"unprivileged mode skipped: {run.skipped}")
        pytest.skip(run.skipped)
    yield run
    if not os.environ.get("NNTRICKS_HOSTILE_KEEP"):  # set it to look at the class after a failure
        shutil.rmtree(run.base, ignore_errors=True)


def _row(run, student):
    rows = run.rows()
    assert student in rows, f"{student} was not graded at all\n{run.log()}"
    return rows[student]


@pytest.mark.parametrize("attack", _cases())
def test_the_hostile_student_earns_what_the_stubs_earn(graded, attack):
    row = _row(graded, attack.name)
    got = (row["status"], row["score"], row["max_score"], row["pending"])
    zero = ("pending", "0", "6", "1") if attack.answered else ("ok", "0", "6", "0")
    failed = row["status"] == "FAILED" and row["score"] == "" and row["reason"].strip() != ""
    if attack.expect == ZERO:
        assert got == zero, f"{attack.what}: {row}"
    elif attack.expect == FAILED:
        assert failed and re.search(attack.reason, row["reason"]), f"{attack.what}: {row}"
    else:
        assert got == zero or failed, f"{attack.what}: {row}"
    scores = gradebook_scores(graded).get(attack.name, {})
    for cell, (auto, manual, extra) in scores.items():
        assert not auto and manual is None and not extra, f"{attack.what}: gradebook {cell} = {auto, manual, extra}"


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_nothing_stolen_reaches_the_hostile_students_outputs(graded, attack):
    course = graded.course
    marks = [ADA_MARK, REF_MARK, graded.env_secret]
    pages = texts_of(course / "feedback" / attack.name)
    graded_files = texts_of(course / "autograded" / attack.name)
    for path, text in pages:
        for mark in marks + [SECRET] + ([XSS] if path.suffix == ".html" else []):
            assert mark not in text, f"{attack.what}: {mark!r} in its feedback {path}"
    for path, text in graded_files:
        for mark in marks:
            assert mark not in text, f"{attack.what}: {mark!r} in its graded files {path}"
    for path, _ in pages + graded_files:
        assert path.stat().st_size < 32 << 20, f"{attack.what}: {path} is {path.stat().st_size} bytes"


def test_honest_students_keep_their_grades(graded):
    for student, want in HONEST.items():
        row = _row(graded, student)
        assert (row["status"], row["score"], row["max_score"], row["pending"]) == want, (student, row)
    scores = gradebook_scores(graded)
    for student, tests in HONEST_TESTS.items():
        got = {cell: scores[student][cell] for cell in tests}
        assert got == {cell: (points, None, None) for cell, points in tests.items()}, student
        assert scores[student]["q_why"][1:] == (None, None), student
        assert (graded.course / "feedback" / student / "report.html").is_file(), f"no report for {student}"
        if graded.notebook_feedback:
            assert (graded.course / "feedback" / student / A / f"{A}.html").is_file(), f"no notebook HTML for {student}"


def test_the_gradebook_is_whole_and_free(graded):
    db = sqlite3.connect(graded.course / "gradebook.db", timeout=5, isolation_level=None)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.execute("BEGIN IMMEDIATE")  # nobody holds it any more
        db.execute("ROLLBACK")
    finally:
        db.close()
    students = {s for s, in sqlite3.connect(graded.course / "gradebook.db").execute("SELECT id FROM student")}
    assert students >= set(HONEST) | {a.name for a in ATTACKS}
    assert set(graded.rows()) == set(HONEST) | {a.name for a in ATTACKS}, graded.log()
    hand = {s: c for s, cells in gradebook_scores(graded).items() for c, (_, m, e) in cells.items() if m or e}
    assert not hand, f"hand scores or extra credit nobody gave: {hand}"


def test_nothing_outside_the_sandbox_changed(graded):
    for name, before in graded.before.items():
        after = graded.after[name]
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, f"{name}: changed {changed[:10]}"
    assert (graded.outside / "canary.txt").read_text() == "canary: nobody writes here\n"
    found = setuid_files(graded.course, skip=graded.course / "submitted")
    assert not found, f"set-uid or set-gid files the grader made: {found}"
    assert _mounts_under(graded.base) == graded.mounts_before


def test_the_run_ends_within_its_budget_and_leaves_nothing_running(graded):
    assert not graded.timed_out, f"the run did not end within {BUDGET} s\n{graded.log()}"
    assert graded.returncode == 0, graded.log()
    assert not graded.left_running, f"still running after the run: {graded.left_running}"
    assert "done:" in graded.stdout


def test_the_corpus_is_wide():
    kinds = {a.name.split("_")[0] for a in ATTACKS}
    assert len(ATTACKS) >= 15 and {"cell", "sub", "read", "root", "res", "linger", "meta", "fake"} <= kinds
    assert {a.expect for a in ATTACKS} == {ZERO, FAILED, ZERO_OR_FAILED}

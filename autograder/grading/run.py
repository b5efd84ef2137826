"""A grading run: back the gradebook up, prepare the course, grade what is not graded yet, write the grades
and reports (the caller holds the course lock)."""

from __future__ import annotations

import sys

from . import backup, course, journal, pool
from .merge import gradebook_grades, summarize
from .nbgrader_env import ensure_tools_on_path, gradebook, write_config_file
from .records import Failure, Status, Submission
from .reports import progress_line, write_csv, write_reports
from .settings import GradeError


def plan(settings, tasks, bad, force):
    """Split ``tasks`` into ``(records kept, to grade, notebook HTML to write)``."""
    records, todo, html_todo = {}, [], []
    for s, a in tasks:
        if a in bad:
            records[(s, a)] = Submission(s, a, status=Status.FAILED, failure=Failure.NO_SOURCE, reason=bad[a])
            continue
        old = None if force else journal.load(settings, s, a)
        if old and old.key == journal.job_key(settings, s, a):
            records[(s, a)] = old
            if settings.feedback and old.status is Status.OK and not old.notebook_feedback:
                html_todo.append((s, a))
        else:
            todo.append((s, a))
    for (s, a), old in journal.recorded(settings).items():  # not selected this time: keep them in grades.csv
        if (s, a) not in records and (s, a) not in todo and (settings.root / "submitted" / s / a).is_dir():
            records[(s, a)] = old
    return records, todo, html_todo


def run(settings, assignments=None, students=None, jobs=1, force=False, out=None):
    """Grade the class; returns ``(rows, grader_errors)`` (grader errors: not the students' failures; those
    submissions are not recorded and the next run grades them)."""
    def say(msg):
        print(msg, file=out or sys.stdout, flush=True)

    ensure_tools_on_path()
    tasks = course.discover(settings, assignments, students)
    if not tasks:
        raise GradeError(f"no submissions under {settings.root / 'submitted'} (expected submitted/<student>/<assignment>/)")
    say(backup.backup(settings))  # before anything writes the gradebook
    wanted = sorted({a for _, a in tasks})
    bad = course.prepare(settings, wanted, log=say)
    good = [a for a in wanted if a not in bad]
    write_config_file(settings, good)
    course.create_students(settings, {s for s, _ in tasks})

    records, todo, html_todo = plan(settings, tasks, bad, force)
    done_before = len(tasks) - len(todo)
    jobs = max(1, min(jobs, len(todo) or 1))
    say(f"grading {len(todo)} submission(s) of {len(tasks)} in {settings.root} with {jobs} worker(s)"
        + (f"; {done_before} already graded (--force regrades)" if done_before else "")
        + (f"; notebook feedback for {len(html_todo)} graded before" if html_todo else ""))

    rows = {k: summarize(r) for k, r in records.items()}
    errors = []
    count = done_before

    def finished(outcome, only_feedback):
        nonlocal count
        key = (outcome.student, outcome.assignment)
        if only_feedback:
            if outcome.record is not None:
                records[key] = outcome.record
                journal.save(settings, outcome.record)
            return
        count += 1
        if outcome.record is None:
            errors.append(outcome)
            say(f"[{count}/{len(tasks)}] {key[0]} {key[1]}: GRADER ERROR (not recorded, rerun to retry)\n"
                f"{outcome.grader_error}")
            return
        journal.save(settings, outcome.record)  # after the gradebook (the worker updated it)
        records[key] = outcome.record
        rows[key] = summarize(outcome.record)
        say(progress_line(count, len(tasks), rows[key], outcome.record.seconds))
        write_csv(settings, rows.values())

    if todo or html_todo:
        pool.run(settings, good, todo, html_todo, jobs, finished)

    final = []  # bring in hand grading from the gradebook
    for (s, a), rec in sorted(records.items()):
        grades = gradebook_grades(lambda: gradebook(settings), s, a) if rec.status is not Status.FAILED else None
        final.append(summarize(rec, grades))
    write_reports(settings, final)
    return final, errors

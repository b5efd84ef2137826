"""The class's view of a grading run: scores per assignment, exercises worst first, named mistakes.

:func:`summarize` turns the entries read by :mod:`autograder.insights_read` into a :class:`ClassView`.
A failing hidden check's named mistake is the structured ``mistake`` field of its result
(``{"name", "hint"}``) when the results carry one; otherwise it is read from the message the check
wrote (:func:`classify`), in the stable form of :mod:`autograder.checks.compare`: a line ``Likely mistake: <name>. Hint: <hint>``
names the mistake; ``not implemented yet (NotImplementedError`` is an exercise not attempted;
``earns nothing:`` is code that is not the student's own; anything else is a failure without a
named mistake (with the generic ``Likely problem: ...`` guess when there is one). The last
``Likely mistake`` line counts: the checks append it after any text quoted from the student.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from .exercises import EXERCISES

NAMED, NOT_IMPLEMENTED, NOT_OWN, UNNAMED = "named", "not implemented", "not its own", "unnamed"
MAX_NAME, MAX_HINT, MAX_MESSAGE = 200, 600, 300


def classify(output: str) -> tuple[str, str, str]:
    """``(kind, name, hint)`` of a failing check's message; for UNNAMED, ``name`` is the generic guess
    (``Likely problem: ...``) or empty."""
    lines = output.splitlines()
    first = lines[0] if lines else ""
    mistakes = [ln for ln in lines if ln.startswith("Likely mistake: ")]
    if mistakes:
        text = mistakes[-1][len("Likely mistake: "):].strip()
        name, sep, hint = text.partition(". Hint: ")
        if not sep:
            name = name.rstrip(".")
        return NAMED, name.strip()[:MAX_NAME], hint.strip()[:MAX_HINT]
    if "not implemented yet (NotImplementedError" in first:
        return NOT_IMPLEMENTED, "", ""
    if " earns nothing: " in first:
        return NOT_OWN, "", ""
    guesses = [ln for ln in lines if ln.startswith("Likely problem: ")]
    guess = guesses[-1][len("Likely problem: "):].strip().rstrip(".") if guesses else ""
    return UNNAMED, guess[:MAX_NAME], ""


def classify_test(t) -> tuple[str, str, str]:
    """:func:`classify` of a test (an :class:`autograder.insights_read.Test`), the structured field first."""
    if t.structured:
        if t.mistake:
            return NAMED, t.mistake["name"].strip()[:MAX_NAME], t.mistake.get("hint", "").strip()[:MAX_HINT]
        kind, name, hint = classify(t.output)
        return (UNNAMED, "", "") if kind == NAMED else (kind, name, hint)
    return classify(t.output)


def exercise_of(keys) -> tuple[str, str]:
    """``(number, title)`` of the first exercise key (``("", "")`` when there is none)."""
    for k in keys:
        if k in EXERCISES:
            return EXERCISES[k].number, EXERCISES[k].title
    return "", ""


def _order(number: str):
    return tuple(int(p) if p.isdigit() else 10**6 for p in number.split(".")) if number else (10**6,)


@dataclass
class Assignment:
    name: str
    scores: list[float] = field(default_factory=list)  # graded submissions (pending ones included)
    max_score: float | None = None
    pending: int = 0  # submissions with written answers not graded yet
    failed: int = 0  # grading FAILED (kernel died, ...): no score

    @property
    def submissions(self) -> int:
        return len(self.scores) + self.failed

    @property
    def median(self) -> float | None:
        return statistics.median(self.scores) if self.scores else None


@dataclass
class Exercise:
    number: str
    title: str
    earned: float = 0.0
    possible: float = 0.0
    students: set = field(default_factory=set)
    full: set = field(default_factory=set)  # every point of its checks
    not_implemented: set = field(default_factory=set)
    not_own: set = field(default_factory=set)

    @property
    def share(self) -> float:
        return self.earned / self.possible if self.possible else 1.0


@dataclass
class Mistake:
    exercise: str
    title: str
    name: str
    hints: Counter = field(default_factory=Counter)
    checks: Counter = field(default_factory=Counter)
    students: set = field(default_factory=set)

    @property
    def hint(self) -> str:
        return self.hints.most_common(1)[0][0] if self.hints else ""


@dataclass
class Unnamed:
    """A check that failed without a named mistake."""

    check: str
    exercise: str
    title: str
    students: set = field(default_factory=set)
    with_named: set = field(default_factory=set)  # of them, those with a named mistake in the same exercise
    messages: Counter = field(default_factory=Counter)  # first lines of the message
    guesses: Counter = field(default_factory=Counter)

    @property
    def message(self) -> str:
        return self.messages.most_common(1)[0][0] if self.messages else ""

    @property
    def guess(self) -> str:
        return self.guesses.most_common(1)[0][0] if self.guesses else ""


@dataclass
class ClassView:
    source: str
    assignments: list[Assignment] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    mistakes: list[Mistake] = field(default_factory=list)
    unnamed: list[Unnamed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    students: int = 0
    submissions: int = 0
    checked: int = 0  # submissions with hidden-check results
    failing_checks: int = 0  # failing check results, all kinds


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 3] + "..."


def summarize(entries, source: str = "", notes=()) -> ClassView:
    """The class's view of ``entries`` (:class:`autograder.insights_read.Entry`)."""
    view = ClassView(source=source, notes=list(notes))
    assignments, exercises, mistakes, unnamed = {}, {}, {}, {}
    view.students = len({e.student for e in entries})
    view.submissions = len(entries)
    for e in entries:
        a = assignments.setdefault(e.assignment, Assignment(e.assignment))
        if e.status == "failed" or e.score is None:
            a.failed += 1
        else:
            a.scores.append(e.score)
            a.max_score = max(a.max_score or 0.0, e.max_score or 0.0)
            a.pending += bool(e.pending) or e.status == "pending"
        if e.tests is None:
            continue
        view.checked += 1
        failures = []
        for t in e.tests:
            number, title = exercise_of(t.keys)
            ex = exercises.setdefault(number, Exercise(number, title or "checks not tied to an exercise"))
            ex.earned += min(t.score, t.max_score)
            ex.possible += t.max_score
            ex.students.add(e.student)
            if t.score < t.max_score:
                failures.append((t, number, title, *classify_test(t)))
        view.failing_checks += len(failures)
        named_in = {number for _, number, _, kind, _, _ in failures if kind == NAMED}
        for t, number, title, kind, name, hint in failures:
            ex = exercises[number]
            if kind == NAMED:
                m = mistakes.setdefault((number, name), Mistake(number, title, name))
                m.students.add(e.student)
                m.checks[t.name] += 1
                if hint:
                    m.hints[hint] += 1
            elif kind == NOT_IMPLEMENTED:
                ex.not_implemented.add(e.student)
            elif kind == NOT_OWN:
                ex.not_own.add(e.student)
            else:  # UNNAMED; ``name`` is the generic guess
                u = unnamed.setdefault(t.name, Unnamed(t.name, number, title))
                u.students.add(e.student)
                if number in named_in:
                    u.with_named.add(e.student)
                u.messages[_first_line(t.output)] += 1
                if name:
                    u.guesses[name] += 1
        lost = {number for _, number, *_ in failures}
        for number in {exercise_of(t.keys)[0] for t in e.tests} - lost:
            exercises[number].full.add(e.student)
    view.assignments = sorted(assignments.values(), key=lambda a: a.name)
    view.exercises = sorted(exercises.values(), key=lambda x: (x.share, _order(x.number)))
    view.mistakes = sorted(mistakes.values(), key=lambda m: (-len(m.students), _order(m.exercise), m.name))
    view.unnamed = sorted(unnamed.values(), key=lambda u: (-(len(u.students) - len(u.with_named)),
                                                          -len(u.students), u.check))
    return view

"""The registry of hidden checks: the ``@check`` decorator, :class:`Check`,
loading the topic modules, selecting checks, and the points per topic."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path
from typing import Callable

from ..exercises import EXERCISES, TOPICS

#: Fixed, documented points per topic (the registry must add up to these).
DOCUMENTED_POINTS = {"divergences": 24, "nn": 21, "train": 6, "optim": 21.5, "init": 16, "batchnorm": 24, "dropout": 16,
                     "regularization": 11, "heuristics": 16}


@dataclasses.dataclass(frozen=True)
class Check:
    topic: str
    name: str
    points: float
    exercise: str  # the exercise this check grades (a key of EXERCISES)
    uses: tuple[str, ...]  # other exercises it needs to work
    fn: Callable[["Ctx"], None]
    doc: str
    also: tuple[str, ...] = ()  # further exercises it grades (e.g. a helper with its own solution region)

    @property
    def grades(self) -> tuple[str, ...]:
        return (self.exercise, *self.also)

    @property
    def full_name(self) -> str:
        return f"{self.topic}.{self.name}"

    @property
    def exercises(self) -> tuple[str, ...]:
        return (self.exercise, *self.uses)


REGISTRY: dict[str, list[Check]] = {}


def topic_of(module: str) -> str:
    """The topic of a check module: its ``TOPIC`` (a topic split into several
    modules, e.g. ``batchnorm_layer``) or else its own name."""
    return getattr(sys.modules.get(module), "TOPIC", module.rsplit(".", 1)[-1])


def check(name: str, points: float, exercise: str, uses: tuple[str, ...] = (), also: tuple[str, ...] = ()):
    """Register a check of the calling module's topic. ``exercise`` is what it
    grades, ``uses`` what else it calls, ``also`` further exercises it grades
    (keys of the exercise table, with or without the topic prefix). Keys
    missing from the table are dropped from ``uses`` and ``also`` (the table
    may change); ``exercise`` must exist."""

    def deco(fn):
        topic = topic_of(fn.__module__)

        def full(k):
            return k if k.split(".", 1)[0] in TOPICS else f"{topic}.{k}"

        key = full(exercise)
        if key not in EXERCISES:
            raise KeyError(f"check {topic}.{name}: unknown exercise {key}")
        used = tuple(full(u) for u in uses if full(u) in EXERCISES)
        more = tuple(full(a) for a in also if full(a) in EXERCISES)
        checks = REGISTRY.setdefault(topic, [])
        if any(c.name == name for c in checks):
            raise ValueError(f"duplicate check {topic}.{name}")
        checks.append(Check(topic, name, float(points), key, used, fn, inspect.getdoc(fn) or "", more))
        return fn

    return deco


#: the modules of the checks package: a topic's checks are in ``<topic>.py`` and its parts ``<topic>_*.py``
_MODULES = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))


def load_all() -> dict[str, list[Check]]:
    """Import every topic's check modules (which registers their checks): the topic's module, then its
    parts in name order (``batchnorm``, ``batchnorm_layer``, ``batchnorm_state``), so that no module
    needs to import the next one."""
    for topic in TOPICS:
        for name in [topic] + [m for m in _MODULES if m.startswith(f"{topic}_")]:
            importlib.import_module(f"{__package__}.{name}")
    return REGISTRY


def _grading(key: str) -> list[Check]:
    """The checks that grade exercise ``key``; when none names it (a helper
    with its own solution region, say), those of the exercises with the same
    number in the exercise table (the same notebook section)."""
    load_all()
    topic = key.split(".", 1)[0]
    direct = [c for c in REGISTRY.get(topic, []) if key in c.grades]
    if direct or key not in EXERCISES:
        return direct
    number = EXERCISES[key].number
    return [c for c in REGISTRY.get(topic, []) if any(
        EXERCISES[g].number == number for g in c.grades if g in EXERCISES)]


def select(topics=None, exercises=None) -> list[Check]:
    """Checks of the given topics and/or grading the given exercises, in order."""
    load_all()
    wanted = None
    if exercises is not None:
        wanted = {c.full_name for k in exercises for c in _grading(k)}
    out = []
    for topic in TOPICS:
        if topics is not None and topic not in topics:
            continue
        for c in REGISTRY.get(topic, []):
            if wanted is not None and c.full_name not in wanted:
                continue
            out.append(c)
    return out


def topic_points() -> dict[str, float]:
    load_all()
    return {t: sum(c.points for c in REGISTRY.get(t, [])) for t in TOPICS}


def exercise_checks() -> dict[str, list[str]]:
    """Exercise key -> names of the checks that grade it (what
    ``autograder.cell.hidden(key, points)`` runs)."""
    return {k: [c.full_name for c in _grading(k)] for k in EXERCISES}

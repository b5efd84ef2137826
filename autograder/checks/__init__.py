"""The hidden checks: one module per topic, each check a function with points.

A check runs in the deciding process. It draws its inputs from fixed seeds,
has the student's functions run on them in the sandboxed worker (through
:class:`Ctx`), computes what the reference returns on the same inputs, and
compares. A check earns its points or nothing; the topic's score is the sum
(partial credit per check). The message of a failing check names the call,
the inputs' shapes, the first mismatching element (that element only: never a
whole expected array), and the most likely mistake with a hint, found by
matching the student's result against a catalogue of plausible wrong
implementations (:class:`Mistake`) of each exercise.

Points per topic (fixed; ``TOPIC_POINTS`` is computed from the registry and a
test keeps this table honest):

============== ======
topic          points
============== ======
divergences    20
optim          20
init           16
batchnorm      20
dropout        12
regularization 10
heuristics     14
total          112
============== ======
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import zlib
from typing import Any, Callable

import numpy as np

from ..exercises import EXERCISES, TOPICS
from ..protocol import NumpyBool, Opaque, Program, Raised, Ref
from ..refimpl import ref

#: Fixed, documented points per topic (the registry must add up to these).
DOCUMENTED_POINTS = {"divergences": 20, "nn": 16, "optim": 20, "init": 16, "batchnorm": 20, "dropout": 12,
                     "regularization": 10, "heuristics": 14}

ANY = type("ANY", (), {"__repr__": lambda self: "ANY"})()  # compare nothing here


class Fail(Exception):
    """The student's result is wrong; the message is for the student."""


class StudentError(Exception):
    """The student's code raised, hung, died or misbehaved; the message says how."""


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A plausible wrong implementation. ``variant(**inputs)`` computes what
    it returns (compared with the student's result), or ``when(inputs, got,
    want)`` recognizes it directly."""

    name: str
    hint: str
    variant: Callable[..., Any] | None = None
    when: Callable[[dict, Any, Any], bool] | None = None


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


def check(name: str, points: float, exercise: str, uses: tuple[str, ...] = (), also: tuple[str, ...] = ()):
    """Register a check of the calling module's topic. ``exercise`` is what it
    grades, ``uses`` what else it calls, ``also`` further exercises it grades
    (keys of the exercise table, with or without the topic prefix). Keys
    missing from the table are dropped from ``uses`` and ``also`` (the table
    may change); ``exercise`` must exist."""

    def deco(fn):
        topic = fn.__module__.rsplit(".", 1)[-1]

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


def load_all() -> dict[str, list[Check]]:
    for topic in TOPICS:
        importlib.import_module(f"{__name__}.{topic}")
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


# ------------------------------------------------------------------ formatting


def fmt(x) -> str:
    """A short display of one number."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    if isinstance(x, np.ndarray) and x.shape == ():
        return fmt(x[()])
    return describe_type(x)


def describe_type(x) -> str:
    if x is None:
        return "None"
    if isinstance(x, Opaque):
        return f"an object of type {x.what}" + (f" (shape {x.shape})" if x.shape is not None else "")
    if isinstance(x, Raised):
        return f"an exception {x.type}"
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, NumpyBool):
        return "a numpy.bool_"
    if isinstance(x, bool):
        return "a bool"
    if isinstance(x, np.generic):
        return f"a numpy.{type(x).__name__}"
    if isinstance(x, (int, float, str)):
        return f"a {type(x).__name__}"
    if isinstance(x, (list, tuple, dict)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"a {type(x).__name__}"


def describe_input(name: str, x) -> str:
    if isinstance(x, np.ndarray):
        text = f"{name} {x.shape}"
        if x.size and x.dtype.kind == "f":
            finite = x[np.isfinite(x)]
            if finite.size:
                text += f" in [{finite.min():.3g}, {finite.max():.3g}]"
        return text
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, np.ndarray) for v in x):
        return f"{name}: {type(x).__name__} of {len(x)} arrays with shapes " + ", ".join(str(v.shape) for v in x)
    if isinstance(x, (list, tuple)) and len(x) > 6:
        return f"{name}: {type(x).__name__} of {len(x)} items"
    if isinstance(x, np.random.Generator):
        return f"{name}: a seeded Generator"
    if isinstance(x, Ref):
        return f"{name}: {x.label or 'a value'}"
    if isinstance(x, float):
        return f"{name}={x:.6g}"
    return f"{name}={x!r}"[:120]


def describe_inputs(inputs: dict) -> str:
    return ", ".join(describe_input(k, v) for k, v in inputs.items())


def is_real_scalar(x) -> bool:
    if isinstance(x, (bool, NumpyBool, np.bool_)):
        return False
    if isinstance(x, (int, float, np.integer, np.floating)):
        return True
    return isinstance(x, np.ndarray) and x.shape == () and x.dtype.kind in "fiu"


def _scalar_value(x) -> float:
    return float(x[()]) if isinstance(x, np.ndarray) else float(x)


def mismatch(got, want, rtol=1e-6, atol=1e-8, what="the result") -> str | None:
    """None when ``got`` matches ``want`` (the expected value or structure),
    else a one-line description. Only single elements are ever shown."""
    if want is ANY:
        return None
    if want is None:
        return None if got is None else f"{what} is {describe_type(got)}, expected None"
    if isinstance(want, (bool, np.bool_)):
        if isinstance(got, (bool, NumpyBool)):
            return None if bool(got) == bool(want) else f"{what} is {bool(got)}, expected {bool(want)}"
        return f"{what} is {describe_type(got)}, expected a bool ({bool(want)})"
    if isinstance(want, (int, np.integer)) and not isinstance(want, bool):
        if is_real_scalar(got) and _scalar_value(got) == int(want):
            return None
        return f"{what} is {fmt(got) if is_real_scalar(got) else describe_type(got)}, expected {int(want)}"
    if isinstance(want, (float, np.floating)):
        if not is_real_scalar(got):
            extra = ""
            if isinstance(got, np.ndarray):
                extra = " (a float was expected: did you forget to sum or average over some axis?)"
            return f"{what} is {describe_type(got)}, expected a float{extra}"
        g, w = _scalar_value(got), float(want)
        if np.isnan(w) and np.isnan(g):
            return None
        if g == w or (np.isfinite(g) and np.isfinite(w) and abs(g - w) <= atol + rtol * abs(w)):
            return None
        rel = abs(g - w) / abs(w) if w and np.isfinite(g) else None
        show = (lambda v: f"{v:.12g}") if rel is not None and rel < 1e-4 else fmt
        return f"{what} is {show(g)}, expected {show(w)}" + (f" (relative error {rel:.2g})" if rel else "")
    if isinstance(want, str):
        return None if got == want else f"{what} is {describe_type(got)}, expected {want!r}"
    if isinstance(want, np.ndarray):
        return _array_mismatch(got, want, rtol, atol, what)
    if isinstance(want, (tuple, list)):
        kind = "a tuple" if isinstance(want, tuple) else "a list"
        if not isinstance(got, (tuple, list)):
            return f"{what} is {describe_type(got)}, expected {kind} of {len(want)} items"
        if len(got) != len(want):
            return f"{what} has {len(got)} items, expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            m = mismatch(g, w, rtol, atol, f"{what}[{i}]")
            if m:
                return m
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{what} is {describe_type(got)}, expected a dict"
        if set(got) != set(want):
            return f"{what} has keys {sorted(map(str, got))}, expected {sorted(map(str, want))}"
        for k in want:
            m = mismatch(got[k], want[k], rtol, atol, f"{what}[{k!r}]")
            if m:
                return m
        return None
    raise TypeError(f"cannot compare with {type(want).__name__}")


def _array_mismatch(got, want, rtol, atol, what) -> str | None:
    if not isinstance(got, np.ndarray):
        if is_real_scalar(got) and want.shape != ():
            return f"{what} is a scalar ({fmt(got)}), expected an array of shape {want.shape}"
        return f"{what} is {describe_type(got)}, expected a numpy array of shape {want.shape}"
    if got.shape != want.shape:
        hint = ""
        if got.shape == want.shape[::-1] and got.ndim > 1:
            hint = " (transposed?)"
        elif got.ndim < want.ndim:
            hint = " (summed or averaged over an axis that must stay?)"
        elif got.ndim > want.ndim:
            hint = " (an axis too many: a missing sum, or broadcasting (B,) against (B, 1)?)"
        return f"{what} has shape {got.shape}, expected {want.shape}{hint}"
    if want.dtype == np.float64 and got.dtype != np.float64:
        return f"{what} has dtype {got.dtype}, expected float64"
    if got.size == 0:
        return None
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    with np.errstate(invalid="ignore", over="ignore"):
        close = (g == w) | both_nan | (np.isfinite(g) & np.isfinite(w) & (np.abs(g - w) <= atol + rtol * np.abs(w)))
    if close.all():
        return None
    bad = np.argwhere(~close)
    idx = tuple(int(i) for i in bad[0])
    shown = idx if len(idx) != 1 else idx[0]
    gv, wv = g[idx], w[idx]
    close_call = np.isfinite(gv) and np.isfinite(wv) and abs(gv - wv) < 1e-4 * max(abs(wv), 1e-300)
    show = (lambda v: f"{float(v):.12g}") if close_call else fmt
    return (f"{what} differs at {len(bad)} of {g.size} elements; first at index {shown}: "
            f"got {show(gv)}, expected {show(wv)}")


def diagnose(got, want) -> str | None:
    """A generic guess when no catalogued mistake matches."""
    if isinstance(want, (float, np.floating)) and is_real_scalar(got):
        g, w = _scalar_value(got), float(want)
        if not np.isfinite(g) and np.isfinite(w):
            return ("the result is NaN or infinite where the expected value is finite: a numerical "
                    "stability problem (log of 0, exp overflowing, 0 * log 0, a division by 0?)")
        if w != 0 and g != 0 and np.isfinite(g):
            r = g / w
            if abs(r + 1) < 1e-6:
                return "the sign is wrong"
            if any(abs(c - round(c)) < 1e-6 * abs(c) and round(c) not in (0, 1) for c in (r, 1 / r)):
                return (f"the result is {r:.6g} times the expected value: a constant factor is wrong "
                        "(the 1/2, the 1/B, the learning rate?)")
        return None
    if isinstance(want, np.ndarray) and isinstance(got, np.ndarray) and got.shape == want.shape and want.size:
        g, w = got.astype(float), want.astype(float)
        if np.isfinite(w).all() and not np.isfinite(g).all():
            return ("the result contains NaN or inf where the expected values are finite: a numerical "
                    "stability problem (log of 0, exp overflowing, 0 * log 0, a division by 0?)")
        if not np.isfinite(g).all():
            return None
        if not g.any() and w.any():
            return "the result is all zeros"
        nz = np.abs(w) > 1e-12 * (np.abs(w).max() or 1)
        if nz.any():
            r = g[nz] / w[nz]
            if np.allclose(r, r[0], rtol=1e-6, atol=0) and np.allclose(g[~nz], 0, atol=1e-12):
                if abs(r[0] + 1) < 1e-6:
                    return "the sign is wrong"
                return (f"every element is {r[0]:.6g} times the expected one: a constant factor is wrong "
                        "(the 1/2, the 1/B, alpha, the learning rate?)")
        diff = g - w
        if np.allclose(diff, diff.flat[0], rtol=0, atol=1e-9 * (np.abs(w).max() + 1)) and abs(diff.flat[0]) > 0:
            return f"every element is off by the same constant {diff.flat[0]:.6g}"
    return None


def find_mistake(mistakes, inputs: dict, got, want, rtol=1e-6, atol=1e-8) -> Mistake | None:
    """The first mistake whose result the student's matches closely (1e-7)
    while it differs from the expected result at the check's tolerance."""
    for m in mistakes:
        try:
            if m.when is not None:
                with np.errstate(all="ignore"):
                    if m.when(inputs, got, want):
                        return m
                continue
            with np.errstate(all="ignore"):
                variant = m.variant(**inputs)
            if mismatch(got, variant, 1e-7, 1e-10) is None and mismatch(want, variant, rtol, atol) is not None:
                return m
        except Exception:  # noqa: BLE001 - a variant that does not apply to these inputs
            continue
    return None


# ------------------------------------------------------------------ the context


def _bind(fn_ref, args, kwargs) -> dict:
    """Name the arguments of a call after the reference's signature."""
    try:
        sig = inspect.signature(fn_ref)
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)
    except (TypeError, ValueError):
        named = {f"arg{i}": a for i, a in enumerate(args)}
        named.update(kwargs)
        return named


def call_label(short: str, args, kwargs, named: dict) -> str:
    names = list(named)[: len(args)]
    parts = names + [f"{k}={fmt(v) if is_real_scalar(v) or isinstance(v, bool) else '...'}"
                     for k, v in kwargs.items()]
    return f"{short}({', '.join(parts)})"


def _array_leaves(x, path):
    if isinstance(x, np.ndarray):
        yield path, x
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            yield from _array_leaves(v, f"{path}[{i}]")


class Ctx:
    """What a check uses: seeded inputs, calls into the sandbox, the reference, comparisons."""

    def __init__(self, check_: Check, runner):
        self.check = check_
        self._runner = runner
        self.ref = ref
        #: results shared by the checks of one topic (e.g. one set of draws for two checks)
        self.shared = getattr(runner, "shared", {})
        #: the static scan of the submission (module name -> staticscan.ModuleInfo)
        self.static = getattr(runner, "static", {})

    def rng(self, k: int = 0) -> np.random.Generator:
        """A generator seeded from the check's name and ``k``: same inputs on every run."""
        return np.random.default_rng([zlib.crc32(self.check.full_name.encode()), k])

    def program(self) -> Program:
        return Program()

    def run(self, program: Program, what: str | None = None) -> list:
        """Run a program in the worker; the list of emitted values (StudentError on failure)."""
        return self._runner.run(program, self.check, what or self.check.full_name)

    def ref_fn(self, fn: str):
        topic, _, name = fn.partition(".")
        obj = getattr(self.ref, topic)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    def call(self, fn: str, *args, **kwargs):
        """Call the student's ``fn`` ("topic.name") on these inputs; returns what
        it returned. Fails if it modified an input array in place."""
        result, _, _ = self._call(fn, args, kwargs)
        return result

    def _call(self, fn, args, kwargs):
        named = _bind(self.ref_fn(fn), args, kwargs)
        label = call_label(fn.partition(".")[2], args, kwargs, named)
        p = Program()
        leaves = []

        def send(x, path):
            if isinstance(x, np.ndarray):
                r = p.array(x)
                leaves.append((path, x, r))
                return r
            if isinstance(x, list):
                return [send(v, f"{path}[{i}]") for i, v in enumerate(x)]
            if isinstance(x, tuple):
                return tuple(send(v, f"{path}[{i}]") for i, v in enumerate(x))
            return x

        names = list(named)
        sargs = [send(a, names[i] if i < len(names) else f"arg{i}") for i, a in enumerate(args)]
        skw = {k: send(v, k) for k, v in kwargs.items()}
        out = p.call(fn, *sargs, label=label, **skw)
        p.emit(out)
        for _, _, r in leaves:
            p.emit(r)
        try:
            values = self.run(p, label)
        except StudentError as e:
            raise StudentError(f"{e}. Inputs: {describe_inputs(named)}.") from None
        result, after = values[0], values[1:]
        for (path, before, _), now in zip(leaves, after):
            if not isinstance(now, np.ndarray) or now.shape != before.shape or not np.array_equal(
                    now, before, equal_nan=True):
                raise Fail(f"{label} modified its input {path} in place ({describe_inputs(named)}). "
                           "Inputs must never be modified: compute into a new array (y = y - d, "
                           "not y -= d; np.clip(y, ...) without out=y).")
        return result, named, label

    def expect(self, fn: str, *args, mistakes=(), rtol=1e-6, atol=1e-8, want=None, names=None, **kwargs):
        """Call the student's and the reference's ``fn`` on the same inputs and
        compare; returns the student's result. ``names`` names the items of a
        tuple result in messages."""
        got, named, label = self._call(fn, args, kwargs)
        if want is None:
            want = self.reference(fn, *args, **kwargs)
        self.compare(got, want, label, named, mistakes, rtol=rtol, atol=atol, names=names)
        return got

    def reference(self, fn: str, *args, **kwargs):
        import copy

        with np.errstate(all="ignore"):
            return self.ref_fn(fn)(*copy.deepcopy(args), **copy.deepcopy(kwargs))

    def compare(self, got, want, label: str, inputs: dict, mistakes=(), rtol=1e-6, atol=1e-8,
                what: str = "the result", names=None):
        """Raise Fail (with the likely mistake) unless ``got`` matches ``want``."""
        m = mismatch(got, want, rtol, atol, what)
        if m is None:
            return
        for i, name in enumerate(names or ()):
            m = m.replace(f"{what}[{i}]", name)
        raise Fail(failure_message(label, inputs, m, got, want, mistakes, rtol, atol))


def failure_message(label, inputs, m, got, want, mistakes=(), rtol=1e-6, atol=1e-8) -> str:
    text = f"{label}: {m}"
    if inputs:
        text += f". Inputs: {describe_inputs(inputs)}."
    mistake = find_mistake(mistakes, inputs, got, want, rtol, atol)
    if mistake is not None:
        text += f"\nLikely mistake: {mistake.name}. Hint: {mistake.hint}"
    else:
        guess = diagnose(got, want)
        if guess:
            text += f"\nLikely problem: {guess}."
    return text


# ------------------------------------------------------------ shared helpers


def gradient_consistency(ctx: Ctx, loss_fn: str, grad_fn: str, args: tuple, kwargs: dict | None = None,
                         wrt: int = 0, h: float = 1e-6, rtol: float = 1e-4, atol: float = 1e-7,
                         hint: str = ""):
    """The student's ``grad_fn`` must agree with central differences of the
    student's own ``loss_fn`` (with respect to argument ``wrt``)."""
    kwargs = kwargs or {}
    x = np.asarray(args[wrt], dtype=float)
    named = _bind(ctx.ref_fn(grad_fn), args, kwargs)
    p = ctx.program()
    p.emit(p.call(grad_fn, *args, **kwargs))
    steps = []
    for idx in np.ndindex(x.shape):
        step = h * max(1.0, abs(x[idx]))
        steps.append(step)
        for sign in (1, -1):
            xs = x.copy()
            xs[idx] += sign * step
            a = list(args)
            a[wrt] = xs
            p.emit(p.call(loss_fn, *a, **kwargs))
    values = ctx.run(p, f"{grad_fn.split('.')[-1]} against central differences of {loss_fn.split('.')[-1]}")
    grad, losses = values[0], values[1:]
    label = call_label(grad_fn.split(".")[-1], args, kwargs, named)
    if not isinstance(grad, np.ndarray) or grad.shape != x.shape:
        raise Fail(f"{label}: the result is {describe_type(grad)}, expected an array of shape {x.shape}")
    if not all(is_real_scalar(v) for v in losses):
        bad = next(v for v in losses if not is_real_scalar(v))
        raise Fail(f"{loss_fn.split('.')[-1]} returned {describe_type(bad)}, expected a float")
    lv = np.array([_scalar_value(v) for v in losses]).reshape(-1, 2)
    numeric = ((lv[:, 0] - lv[:, 1]) / (2 * np.array(steps))).reshape(x.shape)
    scale = max(1.0, float(np.max(np.abs(numeric))) if numeric.size else 1.0)
    m = mismatch(grad, numeric, rtol, atol * scale, "the gradient")
    if m:
        raise Fail(f"{label} is not the derivative of your {loss_fn.split('.')[-1]}: {m.replace('expected', 'central differences give')}. "
                   f"Inputs: {describe_inputs(named)}." + (f"\nHint: {hint}" if hint else ""))

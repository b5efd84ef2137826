"""Comparison of a student's result with the expected one, and the messages.

:func:`mismatch` says in one line how a result differs from the expected
value or structure (only single elements are ever shown, never a whole
expected array); :func:`find_mistake` matches the result against a catalogue
of plausible wrong implementations (:class:`Mistake`); :func:`diagnose` makes
a generic guess when none matches; :func:`failure_message` puts it together.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from ..protocol import NumpyBool, Opaque, Raised, Ref

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


def scalar_value(x) -> float:
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
        if is_real_scalar(got) and scalar_value(got) == int(want):
            return None
        return f"{what} is {fmt(got) if is_real_scalar(got) else describe_type(got)}, expected {int(want)}"
    if isinstance(want, (float, np.floating)):
        if not is_real_scalar(got):
            extra = ""
            if isinstance(got, np.ndarray) and got.size == 1:
                extra = f" ({float_mistake(got).name}: return float(...))"
            elif isinstance(got, np.ndarray):
                extra = " (a float was expected: did you forget to sum or average over some axis?)"
            return f"{what} is {describe_type(got)}, expected a float{extra}"
        g, w = scalar_value(got), float(want)
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
        g, w = scalar_value(got), float(want)
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


def float_mistake(x) -> Mistake | None:
    """None when ``x`` is a float as the contract means it (a Python float or a
    numpy float64, which is a float), else the mistake it shows."""
    if isinstance(x, float) and not isinstance(x, (bool, NumpyBool)):
        return None
    if isinstance(x, np.ndarray) and x.shape == ():
        return Mistake("returned a 0-d numpy array instead of a float", "the contract returns a float: "
                       "wrap the result in float(...) (np.sum(...) itself gives a numpy float64, which is fine; "
                       "np.array(...), np.asarray(...) or an in-place reduction gives a 0-d array).")
    if isinstance(x, np.ndarray) and x.size == 1:
        return Mistake(f"returned an array of shape {x.shape} instead of a float", "reduce over every axis "
                       "(no keepdims=True, no axis=... that leaves an axis) and return float(...).")
    if isinstance(x, np.ndarray):
        return Mistake(f"returned an array of shape {x.shape} instead of a float", "the result is one number: "
                       "sum or average over the batch as the contract says.")
    return Mistake(f"returned {describe_type(x)} instead of a float", "return float(...).")


def error_mistake(got, expected: str) -> str | None:
    """None when ``got`` (what a call marked ``catch`` emitted) is an exception
    of class ``expected`` (or a subclass), else what happened instead."""
    if isinstance(got, Raised) and got.is_a(expected):
        return None
    if isinstance(got, Raised):
        return f"it raised {got.type} ({got.msg[:120]}) instead of {expected}"
    return f"it raised no exception (the contract says {expected})"

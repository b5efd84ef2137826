"""The context of a check (:class:`Ctx`): seeded inputs, calls into the
sandboxed worker, the reference, comparisons that fail with a message."""

from __future__ import annotations

import inspect
import zlib

import numpy as np

from ..protocol import Program
from ..refimpl import ref
from .registry import Check
from .compare import (Fail, Mistake, StudentError, describe_inputs, describe_type, failure_message, float_mistake,
                      fmt, is_real_scalar, mismatch)

def bind_arguments(fn_ref, args, kwargs) -> dict:
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

    def _send(self, p: Program, fn: str, args, kwargs):
        """Put a call's arguments into ``p``; returns (label, named, sent args,
        sent kwargs, the input arrays as (path, array, ref))."""
        named = bind_arguments(self.ref_fn(fn), args, kwargs)
        label = call_label(fn.partition(".")[2], args, kwargs, named)
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
        return label, named, sargs, skw, leaves

    def _call(self, fn, args, kwargs):
        p = Program()
        label, named, sargs, skw, leaves = self._send(p, fn, args, kwargs)
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

    def expect_float(self, fn: str, *args, pick: int | None = None, what: str = "the result", mistakes=(),
                     **kwargs):
        """The student's ``fn`` must return a float (item ``pick`` of its tuple
        when given): a Python float or a numpy float64, not an array, and the
        reference's value: a clause of the contract earns points only with a right result."""
        got, named, label = self._call(fn, args, kwargs)
        value = got
        if pick is not None:
            if not isinstance(got, (tuple, list)) or len(got) <= pick:
                raise Fail(f"{label} returned {describe_type(got)}, expected a tuple whose item {pick} is {what}")
            value = got[pick]
        mistake = float_mistake(value)
        if mistake is not None:
            raise Fail(f"{label}: {what} is {describe_type(value)}, the contract says a float. "
                       f"Inputs: {describe_inputs(named)}.\nLikely mistake: {mistake.name}. Hint: {mistake.hint}")
        want = self.reference(fn, *args, **kwargs)  # a wrong value earns nothing for its type
        self.compare(value, want if pick is None else want[pick], label, named, mistakes)
        return value

    def expect_new_arrays(self, fn: str, *args, paths, mistake: Mistake, mistakes=(), **kwargs):
        """Writing into the arrays the student's ``fn`` returned (at ``paths``,
        tuples of indices into the result) must leave every input unchanged:
        the result is made of new arrays, not the inputs or views of them (and it is the reference's
        result: a clause of the contract earns points only with a right result)."""
        p = Program()
        label, named, sargs, skw, leaves = self._send(p, fn, args, kwargs)
        out = p.call(fn, *sargs, label=label, **skw)
        before_fill = [p.emit(r) for _, _, r in leaves]
        result = p.emit(out)
        for path in paths:
            r = out
            for k in path:
                r = p.method(r, "__getitem__", k, catch=True, label=f"{label}{''.join(f'[{i}]' for i in path)}")
            p.method(r, "fill", float("nan"), catch=True, label="writing into the returned array")
        after = [p.emit(r) for _, _, r in leaves]
        values = self.run(p, label)
        self.compare(values[result], self.reference(fn, *args, **kwargs), label, named, mistakes)  # new AND right
        for (path, before, _), i in zip(leaves, before_fill):
            if not isinstance(values[i], np.ndarray) or not np.array_equal(values[i], before, equal_nan=True):
                raise Fail(f"{label} modified its input {path} in place ({describe_inputs(named)}). Inputs must never "
                           "be modified: compute into a new array.")
        for (path, before, _), i in zip(leaves, after):
            now = values[i]
            if not isinstance(now, np.ndarray) or now.shape != before.shape or not np.array_equal(
                    now, before, equal_nan=True):
                raise Fail(f"{label}: writing into the arrays it returned changed its input {path}, so the result "
                           f"shares memory with the input (the input itself or a view of it). The contract returns "
                           f"new arrays. Inputs: {describe_inputs(named)}.\nLikely mistake: {mistake.name}. "
                           f"Hint: {mistake.hint}")

"""Tests of ``autograder.checks.context`` (Ctx), run without a sandbox.

:class:`LocalRunner` executes a check's programs in this process on the
reference package (or on a patched copy of one of its modules), answering with
the same plain values the worker sends back; the other ``test_checks_*``
files use it to run checks fast. Only the sandboxed path decides grades.
"""

import importlib
import types
from pathlib import Path

import numpy as np
import pytest

from autograder import REFERENCE
from autograder.checks import Ctx, Fail, Mistake, StudentError, select
from autograder.protocol import NumpyBool, Opaque, Raised, scorer_key


def patched(module: str, *patches) -> types.ModuleType:
    """The reference ``nntricks.<module>`` with textual patches (old, new), as a new module object."""
    text = (Path(REFERENCE) / "nntricks" / f"{module}.py").read_text()
    for old, new in patches:
        assert old in text, f"patch target not found in {module}.py: {old!r}"
        text = text.replace(old, new, 1)
    mod = types.ModuleType(f"nntricks.{module}")
    mod.__package__ = "nntricks"
    exec(compile(text, f"<patched {module}.py>", "exec"), mod.__dict__)  # noqa: S102 - the project's own reference
    return mod


def _plain(x):
    """What the worker would send back for ``x`` (decoded)."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, np.bool_):
        return NumpyBool(bool(x))
    if isinstance(x, (bool, int, float, str, np.generic)) or x is None:
        return x
    if isinstance(x, (list, tuple)):
        items = [_plain(v) for v in x]
        return items if isinstance(x, list) else tuple(items)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return Opaque(f"{type(x).__module__}.{type(x).__qualname__}")


class _Scorer:
    def __init__(self, table):
        self.table, self.calls = table, []

    def __call__(self, **params):
        key = scorer_key(params)
        self.calls.append(key)
        return self.table[key]


class LocalRunner:
    """Runs programs in this process on the reference package, with ``modules``
    ({topic: module object}) replacing some of its modules."""

    def __init__(self, modules=None):
        self.modules = modules or {}
        self.shared, self.static = {}, {}

    def module(self, name):
        return self.modules.get(name) or importlib.import_module(f"nntricks.{name}")

    def run(self, program, check, what):
        arrays = [a.copy() for a in program.arrays]
        slots, values = {}, []

        def arg(spec):
            if "a" in spec:
                return arrays[spec["a"]]
            if "v" in spec:
                return slots[spec["v"]]
            if "c" in spec:
                return spec["c"]
            if "list" in spec:
                return [arg(s) for s in spec["list"]]
            if "tuple" in spec:
                return tuple(arg(s) for s in spec["tuple"])
            return {k: arg(s) for k, s in spec["dict"].items()}

        for op, label in zip(program.ops, program.op_labels):
            kind = op["op"]
            if kind == "emit":
                values.append(_plain(arg(op["value"])))
                continue
            if kind == "is":
                values.append(arg(op["a"]) is arg(op["b"]))
                continue
            if kind == "calls":
                values.append(list(slots[op["obj"]].calls))
                continue
            try:
                args = [arg(a) for a in op.get("args", [])]
                kwargs = {k: arg(a) for k, a in op.get("kwargs", {}).items()}
                if kind == "call":
                    target = self.module(op["module"])
                    for part in op["name"].split("."):
                        target = getattr(target, part)
                    if op.get("trace"):
                        values.append(0)  # no line counting here
                    result = target(*args, **kwargs)
                elif kind == "method":
                    result = getattr(slots[op["obj"]], op["name"])(*args, **kwargs)
                elif kind == "getattr":
                    result = getattr(slots[op["obj"]], op["name"])
                elif kind == "item":
                    result = slots[op["obj"]][op["index"]]
                elif kind == "scorer":
                    result = _Scorer(op["table"])
                elif kind == "rng":
                    result = np.random.default_rng(op["seed"])
                else:
                    raise AssertionError(f"unknown op {kind}")
                slots[op["out"]] = result
                if op.get("catch"):
                    values.append(None)
            except Exception as e:  # noqa: BLE001 - the package's exceptions, as the worker reports them
                if not op.get("catch"):
                    raise StudentError(f"{label} raised {type(e).__name__}: {e}") from None
                values.append(Raised({"type": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
                                      "msg": str(e)}))
                slots[op["out"]] = None
        return values


def run_check(full_name: str, **modules):
    """Run one check locally (``modules``: topic -> a patched module); raises Fail or StudentError."""
    (c,) = [c for c in select() if c.full_name == full_name]
    c.fn(Ctx(c, LocalRunner(modules)))


def fails(full_name: str, **modules) -> str:
    """The message of a check that must fail."""
    with pytest.raises(Fail) as info:
        run_check(full_name, **modules)
    return str(info.value)


def _ctx(**modules):
    (c,) = [c for c in select() if c.full_name == "divergences.l2_values"]
    return Ctx(c, LocalRunner(modules))


# --------------------------------------------------------------------- tests


def test_rng_is_seeded_by_the_check_name():
    a, b = _ctx().rng(3).normal(size=4), _ctx().rng(3).normal(size=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _ctx().rng(4).normal(size=4))


def test_call_returns_the_result_and_rejects_inputs_modified_in_place():
    y, d = np.arange(6.0).reshape(3, 2), np.ones((3, 2))
    assert _ctx().call("divergences.l2_grad", y, d) == pytest.approx((y - d) / 3)
    bad = patched("divergences", ("    dy = (y - d) / B\n", "    y -= d\n    dy = y / B\n"))
    with pytest.raises(Fail, match=r"modified its input y in place"):
        _ctx(divergences=bad).call("divergences.l2_grad", y, d)


def test_expect_names_the_catalogued_mistake():
    bad = patched("divergences", ("loss = 0.5 * np.sum((y - d) ** 2) / B", "loss = np.sum((y - d) ** 2) / B"))
    mistakes = [Mistake("forgot the 1/2", "1/2 ||y - d||^2", lambda y, d: float(np.sum((y - d) ** 2) / y.shape[0]))]
    with pytest.raises(Fail, match=r"(?s)l2\(y, d\): the result is .*Likely mistake: forgot the 1/2"):
        _ctx(divergences=bad).expect("divergences.l2", np.ones((2, 3)), np.zeros((2, 3)), mistakes=mistakes)


def test_expect_float_accepts_floats_and_names_arrays():
    y, d = np.ones((2, 3)), np.zeros((2, 3))
    assert _ctx().expect_float("divergences.l2", y, d) == 1.5
    zero_d = patched("divergences", ("    ### END SOLUTION\n    return float(loss)", "    ### END SOLUTION\n    return np.array(loss)"))
    with pytest.raises(Fail, match=r"(?s)the contract says a float.*0-d numpy array instead of a float"):
        _ctx(divergences=zero_d).expect_float("divergences.l2", y, d)
    npfloat = patched("divergences", ("    ### END SOLUTION\n    return float(loss)", "    ### END SOLUTION\n    return np.float64(loss)"))
    assert _ctx(divergences=npfloat).expect_float("divergences.l2", y, d) == 1.5  # a numpy float64 is a float


def test_expect_new_arrays_detects_aliases_and_views():
    mistake = Mistake("returned the gradients themselves", "new arrays")
    grads = [np.full((2, 2), 0.5), np.full(3, 0.1)]
    _ctx().expect_new_arrays("heuristics.clip_by_value", grads, 5.0, paths=[(0,), (1,)], mistake=mistake)
    for new in ("clipped = list(grads)", "clipped = [g[...] for g in grads]"):
        alias = patched("heuristics", ("clipped = [np.clip(g, -theta, theta) for g in grads]", new))
        with pytest.raises(Fail, match=r"(?s)changed its input grads\[0\].*Likely mistake: returned the gradients"):
            _ctx(heuristics=alias).expect_new_arrays("heuristics.clip_by_value", grads, 5.0, paths=[(0,), (1,)],
                                                     mistake=mistake)


def test_local_runner_reports_exceptions_like_the_worker():
    ctx = _ctx()
    p = ctx.program()
    at = p.n_emits
    p.call("batchnorm.batchnorm_forward", np.ones((1, 2)), np.ones(2), np.zeros(2), catch=True)
    raised = ctx.run(p)[at]
    assert isinstance(raised, Raised) and raised.is_a("ValueError")
    p = ctx.program()
    p.call("batchnorm.batchnorm_forward", np.ones((1, 2)), np.ones(2), np.zeros(2))
    with pytest.raises(StudentError, match="ValueError"):
        ctx.run(p)


def test_expect_new_arrays_tells_an_in_place_change_from_an_alias():
    grads = [np.full((2, 2), 9.0)]
    inplace = patched("heuristics", ("clipped = [np.clip(g, -theta, theta) for g in grads]",
                                     "clipped = [np.clip(g, -theta, theta, out=g) for g in grads]"))
    with pytest.raises(Fail, match=r"modified its input grads\[0\] in place"):
        _ctx(heuristics=inplace).expect_new_arrays("heuristics.clip_by_value", grads, 5.0, paths=[(0,)],
                                                   mistake=Mistake("x", "y"))

"""Shared helpers for the reference test suite.

Everything random here is driven by explicit seeds, so a failing test fails the
same way on every run.  The numerical-gradient helper is written independently
of ``nntricks.gradcheck`` so that the package's own gradient checker is tested
against it rather than trusted.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# --------------------------------------------------------------------------
# Seeds, shapes, arrays
# --------------------------------------------------------------------------

#: Fixed seeds used by the parametrized tests.
SEEDS = (0, 1, 2, 3, 4)

#: Shapes every exercise must handle, including the contract's edge cases
#: (B = 2, D = 1).
EDGE_SHAPES = ((2, 1), (2, 3), (5, 1))

#: Default tolerance of every gradient check (relative error, float64).
GRAD_TOL = 1e-6

#: Hypothesis settings: few examples, no deadline, derandomized (the same
#: examples on every run).
FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def rng_for(seed: int, salt: int = 0) -> np.random.Generator:
    """A fresh Generator for ``seed`` (``salt`` separates streams in one test)."""
    return np.random.default_rng([seed, salt])


def random_shape(rng: np.random.Generator, b=(2, 8), d=(1, 6)) -> tuple[int, int]:
    """A random minibatch shape ``(B, D)`` with ``B`` and ``D`` in the given closed ranges."""
    return int(rng.integers(b[0], b[1] + 1)), int(rng.integers(d[0], d[1] + 1))


def shapes_for(seed: int) -> list[tuple[int, int]]:
    """A random shape for ``seed`` followed by the edge-case shapes."""
    return [random_shape(rng_for(seed, 99))] + list(EDGE_SHAPES)


def seed_shape_params():
    """``(seed, shape)`` pairs: one random shape per seed plus the edge shapes."""
    pairs = [(s, random_shape(rng_for(s, 99))) for s in SEEDS]
    pairs += [(100 + i, shp) for i, shp in enumerate(EDGE_SHAPES)]
    return pairs


def probabilities(rng: np.random.Generator, shape, low=0.05, high=0.95) -> np.ndarray:
    """Elementwise probabilities in ``[low, high]`` (away from the clipping region)."""
    return rng.uniform(low, high, size=shape)


def prob_rows(rng: np.random.Generator, shape, zeros: bool = False) -> np.ndarray:
    """Rows that are probability vectors along the last axis.

    With ``zeros=True`` about a third of the entries are exactly 0 (each row
    keeps at least one positive entry).
    """
    x = rng.uniform(0.1, 1.0, size=shape)
    if zeros:
        drop = rng.uniform(size=shape) < 1 / 3
        x = np.where(drop, 0.0, x)
        flat = x.reshape(-1, shape[-1])
        empty = flat.sum(axis=1) == 0
        flat[empty, 0] = 1.0
        x = flat.reshape(shape)
    return x / x.sum(axis=-1, keepdims=True)


def one_hot_rows(rng: np.random.Generator, b: int, c: int) -> np.ndarray:
    """A ``(b, c)`` float64 one-hot matrix, written without nntricks."""
    out = np.zeros((b, c))
    out[np.arange(b), rng.integers(0, c, size=b)] = 1.0
    return out


def away_from_zero(rng: np.random.Generator, shape, margin=0.05, scale=1.0) -> np.ndarray:
    """Normal values (times ``scale``) pushed to at least ``margin`` away from 0.

    Used for kinks (ReLU, |w|) so that a finite difference never crosses one.
    """
    x = rng.standard_normal(shape) * scale
    return np.where(x >= 0, x + margin, x - margin)


# --------------------------------------------------------------------------
# Numerical gradients and errors (independent of nntricks.gradcheck)
# --------------------------------------------------------------------------


def numeric_grad(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    Uses the five-point central stencil
    ``(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / (12 h)`` (error O(h^4)),
    so that a step ``h = 1e-4`` gives about 1e-12 absolute accuracy on smooth
    functions in float64.  ``f`` receives a fresh float64 copy of ``x`` each
    time, so an ``f`` that modifies its argument cannot corrupt the check.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        vals = []
        for k in (2, 1, -1, -2):
            xp = x.copy()
            xp[idx] += k * h
            vals.append(float(f(xp)))
        grad[idx] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return grad


def numeric_jacobian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """``J[i, j] = d f(x)_j / d x_i`` for a vector function of a vector (same stencil)."""
    x = np.array(x, dtype=np.float64)
    rows = []
    for i in range(x.size):
        vals = []
        for k in (2, 1, -1, -2):
            xp = x.copy()
            xp.flat[i] += k * h
            vals.append(np.asarray(f(xp), dtype=np.float64).ravel())
        rows.append((-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h))
    return np.array(rows)


def rel_err(a, b, tiny: float = 1e-12) -> float:
    """``max|a - b| / max(max(|a| + |b|), tiny)``: a scale-aware relative error.

    ``tiny`` is the smallest denominator; pass the natural scale of the problem
    (e.g. the size of the other gradients of a network) when ``a`` and ``b``
    may both be exactly zero, so that rounding noise is not mistaken for an error.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0 and b.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a) + np.abs(b))), tiny))


def assert_grad_close(got, want, tol: float = GRAD_TOL, what: str = "gradient", inputs=None,
                      tiny: float = 1e-12):
    """Assert ``rel_err(got, want, tiny) <= tol`` with a message that shows the arrays."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    err = rel_err(got, want, tiny)
    msg = (
        f"{what}: relative error {err:.3e} > tolerance {tol:.0e} "
        f"(max|a-b| / max(|a|+|b|))\n got = {got!r}\n expected (numeric/formula) = {want!r}"
    )
    if inputs is not None:
        msg += f"\n inputs = {inputs!r}"
    assert np.all(np.isfinite(got)), f"{what}: non-finite values {got!r}"
    assert err <= tol, msg


def assert_close(got, want, rtol: float = 1e-6, atol: float = 1e-8, what: str = "value"):
    """``np.testing.assert_allclose`` with the suite's default tolerances and a label."""
    got_arr = np.asarray(got)
    want_arr = np.asarray(want)
    assert got_arr.shape == want_arr.shape, f"{what}: shape {got_arr.shape}, expected {want_arr.shape}"
    np.testing.assert_allclose(
        got_arr, want_arr, rtol=rtol, atol=atol,
        err_msg=f"{what} (rtol={rtol:g}, atol={atol:g})",
    )


def assert_py_float(v, what: str = "loss"):
    """The contract's ``-> float``: a Python ``float`` (not a 0-d array or numpy scalar)."""
    assert type(v) is float, f"{what} should be a Python float, got {type(v).__name__}: {v!r}"


def assert_float64(a, shape=None, what: str = "array"):
    a_arr = np.asarray(a)
    assert isinstance(a, np.ndarray), f"{what} should be a numpy array, got {type(a).__name__}"
    assert a_arr.dtype == np.float64, f"{what} should be float64, got {a_arr.dtype}"
    if shape is not None:
        assert a_arr.shape == tuple(shape), f"{what} has shape {a_arr.shape}, expected {tuple(shape)}"


# --------------------------------------------------------------------------
# "Inputs are never modified"
# --------------------------------------------------------------------------


def _snapshot(obj):
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_snapshot(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    return copy.copy(obj)


def _assert_same(before, after, where):
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray), f"{where} changed type"
        assert before.shape == after.shape and before.dtype == after.dtype, f"{where} changed shape/dtype"
        assert np.array_equal(before, after, equal_nan=True), f"{where} was modified in place"
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after), f"{where} changed length"
        for i, (b, a) in enumerate(zip(before, after)):
            _assert_same(b, a, f"{where}[{i}]")
    elif isinstance(before, dict):
        assert before.keys() == after.keys(), f"{where} changed keys"
        for k in before:
            _assert_same(before[k], after[k], f"{where}[{k!r}]")
    elif isinstance(before, (int, float, complex, str, bool, type(None))):
        assert before == after or (before != before and after != after), f"{where} changed"


def call_unmodified(fn, *args, **kwargs):
    """Call ``fn`` and assert that none of its array arguments were modified."""
    before_args = [_snapshot(a) for a in args]
    before_kwargs = {k: _snapshot(v) for k, v in kwargs.items()}
    out = fn(*args, **kwargs)
    name = getattr(fn, "__name__", repr(fn))
    for i, (b, a) in enumerate(zip(before_args, args)):
        _assert_same(b, a, f"{name}: argument {i}")
    for k in kwargs:
        _assert_same(before_kwargs[k], kwargs[k], f"{name}: argument {k}")
    return out


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------


def binomial_tol(n: int, p: float, k: float = 5.0) -> float:
    """``k`` standard deviations of a proportion estimated from ``n`` Bernoulli(p) draws."""
    return k * np.sqrt(p * (1 - p) / n)


def std_tol(n: int, k: float = 5.0) -> float:
    """``k`` standard errors of the RELATIVE error of a normal sample std from ``n`` draws."""
    return k / np.sqrt(2 * (n - 1))


def grid_product(grid: dict):
    """All combinations of a grid as a set of sorted ``(name, value)`` tuples."""
    keys = sorted(grid)
    return {tuple(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))}


# --------------------------------------------------------------------------
# Hypothesis strategies
# --------------------------------------------------------------------------

batch_shapes = st.tuples(st.integers(2, 7), st.integers(1, 5))
seeds = st.integers(0, 2**31 - 1)
finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


@st.composite
def arrays_2d(draw, low=-3.0, high=3.0):
    """A random float64 ``(B, D)`` array, generated from a drawn seed (fast to shrink)."""
    b, d = draw(batch_shapes)
    seed = draw(seeds)
    return np.random.default_rng(seed).uniform(low, high, size=(b, d))


@st.composite
def array_lists(draw, min_size=1, max_size=4, scale=3.0):
    """A list of float64 arrays of assorted shapes (0-d excluded)."""
    n = draw(st.integers(min_size, max_size))
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        ndim = int(rng.integers(1, 3))
        shape = tuple(int(s) for s in rng.integers(1, 5, size=ndim))
        out.append(rng.standard_normal(shape) * scale)
    return out

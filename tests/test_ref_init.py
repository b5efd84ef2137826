"""Reference tests for nntricks.init (contract: DESIGN.md, "nntricks.init").

Random initializers are checked through what they return (shape, dtype,
reproducibility for the same seeded rng) and statistically (empirical standard
deviation and bounds against the formulas, with tolerances of 5 standard
errors), never by assuming how the random stream is consumed.
"""

import numpy as np
import pytest

from nntricks import init
from strategies import SEEDS, assert_float64, rng_for, std_tol

pytestmark = pytest.mark.init

# name -> (function, kind, spread formula: std for normals, bound for uniforms)
NORMALS = {
    "xavier_normal": (init.xavier_normal, lambda fi, fo: np.sqrt(2.0 / (fi + fo))),
    "lecun_normal": (init.lecun_normal, lambda fi, fo: np.sqrt(1.0 / fi)),
    "he_normal": (init.he_normal, lambda fi, fo: np.sqrt(2.0 / fi)),
}
UNIFORMS = {
    "uniform_fan_in": (init.uniform_fan_in, lambda fi, fo: 1.0 / np.sqrt(fi)),
    "xavier_uniform": (init.xavier_uniform, lambda fi, fo: np.sqrt(6.0 / (fi + fo))),
    "he_uniform": (init.he_uniform, lambda fi, fo: np.sqrt(6.0 / fi)),
}
RANDOM = {**{k: v[0] for k, v in NORMALS.items()}, **{k: v[0] for k, v in UNIFORMS.items()},
          "normal": init.normal}
ALL = {**RANDOM, "zeros": init.zeros, "constant": lambda fi, fo, rng=None: init.constant(fi, fo, 0.7, rng=rng)}

# Non-square shapes, so that a fan_in / fan_out swap changes the statistics.
STAT_SHAPES = [(400, 60), (50, 300)]
SMALL_SHAPES = [(1, 1), (1, 7), (6, 1), (3, 5)]


# ---------------------------------------------------------------- shape, dtype, reproducibility


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("shape", SMALL_SHAPES + STAT_SHAPES[:1])
def test_shape_and_dtype(name, shape):
    f = ALL[name]
    w = f(*shape, rng=rng_for(0))
    assert_float64(w, shape, name)
    w = f(*shape)  # rng=None: a fresh default generator
    assert_float64(w, shape, f"{name} with rng=None")
    assert np.all(np.isfinite(w))


@pytest.mark.parametrize("name", sorted(RANDOM))
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_same_seeded_rng_same_array(name, seed):
    f = RANDOM[name]
    a = f(20, 30, rng=np.random.default_rng(seed))
    b = f(20, 30, rng=np.random.default_rng(seed))
    assert np.array_equal(a, b), f"{name}: the same seeded rng state must give the same array"
    c = f(20, 30, rng=np.random.default_rng(seed + 1000))
    assert not np.array_equal(a, c), f"{name}: different seeds gave the same array"


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_rng_state_advances_and_none_is_fresh(name):
    f = RANDOM[name]
    rng = np.random.default_rng(0)
    a, b = f(10, 10, rng=rng), f(10, 10, rng=rng)
    assert not np.array_equal(a, b), f"{name}: two draws from the same rng gave the same array"
    assert not np.array_equal(f(10, 10), f(10, 10)), f"{name}: rng=None must use a fresh generator each call"


def test_positional_signature():
    """The contract's signatures, positionally."""
    rng = rng_for(1)
    assert init.zeros(2, 3, rng).shape == (2, 3)
    assert init.constant(2, 3, 1.5, rng).shape == (2, 3)
    assert init.normal(2, 3, 0.5, rng).shape == (2, 3)
    for name in ("uniform_fan_in", "xavier_uniform", "xavier_normal", "lecun_normal", "he_uniform", "he_normal"):
        assert getattr(init, name)(2, 3, rng).shape == (2, 3)


# ---------------------------------------------------------------- deterministic initializers


@pytest.mark.parametrize("shape", SMALL_SHAPES)
def test_zeros_and_constant_exact(shape):
    assert np.array_equal(init.zeros(*shape), np.zeros(shape))
    assert np.array_equal(init.zeros(*shape, rng=rng_for(0)), np.zeros(shape))
    for value in (0.0, -2.5, 3.0, 1e-3):
        w = init.constant(*shape, value)
        assert_float64(w, shape, "constant")
        assert np.all(w == value)
    w = init.constant(*shape, 3)  # an int value still gives float64
    assert_float64(w, shape, "constant(value=3)")


# ---------------------------------------------------------------- statistics


def _check_normal(w, std, name):
    n = w.size
    emp_std = w.std()
    assert abs(w.mean()) < 5 * std / np.sqrt(n), f"{name}: mean {w.mean():.3g}, expected 0 (std {std:.3g})"
    rel = abs(emp_std / std - 1)
    assert rel < std_tol(n), f"{name}: empirical std {emp_std:.5g}, expected {std:.5g} (rel. error {rel:.3g})"
    # shape of the distribution: a normal has kurtosis 3 (a uniform 1.8); se ~ sqrt(24/n)
    kurt = np.mean((w - w.mean()) ** 4) / emp_std**4
    assert abs(kurt - 3.0) < 5 * np.sqrt(24 / n), f"{name}: kurtosis {kurt:.3f}, a normal has 3"


@pytest.mark.parametrize("name", sorted(NORMALS))
@pytest.mark.parametrize("shape", STAT_SHAPES)
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_normal_initializers_std(name, shape, seed):
    f, std = NORMALS[name]
    _check_normal(f(*shape, rng=rng_for(seed)), std(*shape), f"{name}{shape}")


@pytest.mark.parametrize("std", [0.01, 0.5, 3.0])
def test_normal_std_argument(std):
    _check_normal(init.normal(300, 80, std=std, rng=rng_for(2)), std, f"normal(std={std})")


def test_normal_default_std_is_001():
    _check_normal(init.normal(300, 80, rng=rng_for(3)), 0.01, "normal() default")


@pytest.mark.parametrize("name", sorted(UNIFORMS))
@pytest.mark.parametrize("shape", STAT_SHAPES)
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_uniform_initializers_bounds(name, shape, seed):
    f, bound = UNIFORMS[name]
    a = bound(*shape)
    w = f(*shape, rng=rng_for(seed))
    n = w.size
    assert np.all(np.abs(w) <= a), f"{name}{shape}: values outside [-{a:.5g}, {a:.5g}] (max |w| {np.abs(w).max():.5g})"
    # with n >= 15000 draws the extremes come within a/1000 of the bound
    assert w.max() > a * (1 - 1e-3) and w.min() < -a * (1 - 1e-3), (
        f"{name}{shape}: extremes [{w.min():.5g}, {w.max():.5g}] do not reach the bound {a:.5g}")
    # mean 0, variance a^2/3 (the sample variance of U[-a, a] has se a^2 sqrt(4/45 / n))
    assert abs(w.mean()) < 5 * a / np.sqrt(3 * n)
    assert abs(w.var() - a**2 / 3) < 5 * a**2 * np.sqrt(4 / 45 / n), (
        f"{name}{shape}: variance {w.var():.5g}, expected {a**2 / 3:.5g}")
    # uniform: a quarter of the mass in each quarter of the interval
    frac = np.mean(np.abs(w) < a / 2)
    assert abs(frac - 0.5) < 5 * np.sqrt(0.25 / n), f"{name}: P(|w| < a/2) = {frac:.4f}, a uniform has 0.5"

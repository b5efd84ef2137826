"""Reference tests for nntricks.heuristics (contract: DESIGN.md, "nntricks.heuristics")."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nntricks import heuristics as hz
from strategies import (
    FAST,
    SEEDS,
    array_lists,
    assert_close,
    assert_float64,
    assert_py_float,
    call_unmodified,
    grid_product,
    rng_for,
)

pytestmark = pytest.mark.heuristics


def grad_list(seed, scale=3.0):
    rng = rng_for(seed)
    return [rng.standard_normal((int(rng.integers(1, 5)), int(rng.integers(1, 5)))) * scale,
            rng.standard_normal(int(rng.integers(1, 6))) * scale,
            rng.standard_normal((2, 3)) * scale]


def global_norm(grads):
    return math.sqrt(sum(float(np.sum(g**2)) for g in grads))


# ---------------------------------------------------------------- clip_by_value


@pytest.mark.parametrize("theta", [0.5, 2.0, 5.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_clip_by_value(theta, seed):
    grads = grad_list(seed, scale=4.0)
    out = call_unmodified(hz.clip_by_value, grads, theta)
    assert isinstance(out, list) and len(out) == len(grads)
    for k, (o, g) in enumerate(zip(out, grads)):
        assert_float64(o, g.shape, f"clip_by_value[{k}]")
        assert np.array_equal(o, np.clip(g, -theta, theta)), f"clip_by_value[{k}] with theta={theta}"
        assert not np.shares_memory(o, g), "clip_by_value must return new arrays"


def test_clip_by_value_default_theta_is_5():
    g = [np.array([-7.0, -5.0, -1.0, 0.0, 4.9, 5.0, 12.0])]
    assert np.array_equal(hz.clip_by_value(g)[0], [-5.0, -5.0, -1.0, 0.0, 4.9, 5.0, 5.0])
    assert hz.clip_by_value([]) == []


# ---------------------------------------------------------------- clip_by_norm


def clip_norm_formula(grads, max_norm):
    total = global_norm(grads)
    f = max_norm / (total + 1e-6)
    return ([g * f for g in grads] if f < 1 else [g.copy() for g in grads]), total


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 5.0, 100.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_clip_by_norm(max_norm, seed):
    grads = grad_list(seed)
    out, total = call_unmodified(hz.clip_by_norm, grads, max_norm)
    want, want_total = clip_norm_formula(grads, max_norm)
    assert_py_float(total, "total_norm")
    assert_close(total, want_total, what="total_norm: global L2 norm over all arrays, before clipping")
    assert isinstance(out, list) and len(out) == len(grads)
    for k, (o, w, g) in enumerate(zip(out, want, grads)):
        assert_float64(o, g.shape, f"clip_by_norm[{k}]")
        assert_close(o, w, what=f"clip_by_norm[{k}] (max_norm={max_norm}, total={want_total:.4g})")
        assert o is not g and not np.shares_memory(o, g), "clip_by_norm must return new arrays"
    assert global_norm(out) <= max_norm + 1e-9 or want_total <= max_norm
    # the direction is unchanged: one factor for all arrays
    ratios = np.concatenate([(o / g).ravel() for o, g in zip(out, grads)])
    assert_close(ratios, np.full_like(ratios, ratios[0]), what="one common factor for every array")


def test_clip_by_norm_threshold_cases():
    g = [np.array([3.0, 4.0])]  # norm 5
    out, total = hz.clip_by_norm(g, 10.0)
    assert total == pytest.approx(5.0, abs=1e-12)
    assert np.array_equal(out[0], g[0]), "below the threshold: unchanged values"
    out[0][0] = 99.0
    assert g[0][0] == 3.0, "the returned arrays are new arrays even when not scaled"
    # exactly at the threshold, PyTorch still applies max_norm / (total + 1e-6) < 1
    out, total = hz.clip_by_norm([np.array([3.0, 4.0])], 5.0)
    assert_close(out[0], np.array([3.0, 4.0]) * 5.0 / (5.0 + 1e-6), rtol=1e-12, atol=0,
                 what="factor max_norm / (total + 1e-6) at total = max_norm")
    out, total = hz.clip_by_norm([np.array([3.0, 4.0]), np.array([[12.0]])], 1.0)  # norm 13
    assert total == pytest.approx(13.0, abs=1e-12)
    assert_close(out[0], np.array([3.0, 4.0]) / (13 + 1e-6), what="global (not per-array) norm")
    assert_close(out[1], np.array([[12.0]]) / (13 + 1e-6), what="global (not per-array) norm")


def test_clip_by_norm_empty_and_zero():
    out, total = hz.clip_by_norm([], 1.0)
    assert out == [] and total == 0.0 and type(total) is float
    out, total = hz.clip_by_norm([np.zeros((2, 2))], 1.0)
    assert total == 0.0 and np.array_equal(out[0], np.zeros((2, 2)))


@given(array_lists(scale=5.0), st.floats(0.01, 50.0))
@FAST
def test_clip_by_norm_hypothesis(grads, max_norm):
    out, total = hz.clip_by_norm(grads, max_norm)
    want, want_total = clip_norm_formula(grads, max_norm)
    assert_close(total, want_total, what="total_norm")
    for o, w in zip(out, want):
        assert_close(o, w, what="clipped")


# ---------------------------------------------------------------- EarlyStopping


def early_stopping_model(losses, patience, min_delta):
    """The contract, transcribed: returns per call (stop, best, best_epoch, stopped_before_call)."""
    best, best_epoch, bad, stopped = math.inf, None, 0, False
    out = []
    for i, v in enumerate(losses):
        was_stopped = stopped
        if v < best - min_delta:
            best, best_epoch, bad = v, i, 0
        else:
            bad += 1
        if bad >= patience:
            stopped = True
        out.append((stopped, best, best_epoch, was_stopped))
    return out


def check_early_stopping(losses, patience, min_delta):
    es = hz.EarlyStopping(patience=patience, min_delta=min_delta)
    assert es.best == math.inf and es.best_epoch is None, "before the first call: best = inf, best_epoch None"
    for i, (v, (stop, best, best_epoch, was_stopped)) in enumerate(
            zip(losses, early_stopping_model(losses, patience, min_delta))):
        got = es.step(v)
        assert got is stop or got == stop, (
            f"call {i} (losses {losses[:i + 1]}, patience {patience}, min_delta {min_delta}): "
            f"step returned {got}, expected {stop}")
        assert isinstance(got, (bool, np.bool_))
        if not was_stopped:  # after stopping, only the return value is specified
            assert es.best == best, f"call {i}: best {es.best}, expected {best}"
            assert es.best_epoch == best_epoch, f"call {i}: best_epoch {es.best_epoch}, expected {best_epoch}"


def test_early_stopping_example():
    es = hz.EarlyStopping(patience=2)
    assert es.best == math.inf and es.best_epoch is None
    assert es.step(1.0) is False and es.best == 1.0 and es.best_epoch == 0
    assert es.step(0.5) is False and es.best == 0.5 and es.best_epoch == 1
    assert es.step(0.7) is False and es.best_epoch == 1  # 1 call without improvement
    assert es.step(0.5) is True  # equal is not an improvement: 2 calls -> stop
    assert es.best == 0.5 and es.best_epoch == 1
    assert es.step(0.1) is True and es.step(0.0) is True, "True on every call after stopping"


def test_early_stopping_min_delta():
    es = hz.EarlyStopping(patience=3, min_delta=0.25)
    es.step(1.0)
    es.step(0.75)  # == best - min_delta: not an improvement
    assert es.best == 1.0 and es.best_epoch == 0
    es.step(0.5)  # < 1.0 - 0.25: improvement
    assert es.best == 0.5 and es.best_epoch == 2
    assert es.step(0.4) is False and es.step(0.3) is False and es.step(0.26) is True


def test_early_stopping_defaults():
    es = hz.EarlyStopping()  # patience 5, min_delta 0
    es.step(1.0)
    assert [es.step(1.0) for _ in range(5)] == [False] * 4 + [True]
    es = hz.EarlyStopping()
    es.step(1.0)
    es.step(1.0 - 1e-12)  # any decrease is an improvement with min_delta = 0
    assert es.best_epoch == 1


@given(st.lists(st.floats(0.0, 2.0).map(lambda v: round(v, 1)), min_size=1, max_size=25),
       st.integers(1, 4), st.sampled_from([0.0, 0.05, 0.25]))
@FAST
def test_early_stopping_matches_contract(losses, patience, min_delta):
    check_early_stopping(losses, patience, min_delta)


# ---------------------------------------------------------------- standardization


@pytest.mark.parametrize("seed", SEEDS)
def test_standardize(seed):
    rng = rng_for(seed)
    N, D = int(rng.integers(2, 30)), int(rng.integers(1, 6))
    X = rng.standard_normal((N, D)) * rng.uniform(0.1, 10, D) + rng.uniform(-20, 20, D)
    mean, std = call_unmodified(hz.standardize_fit, X)
    assert_float64(mean, (D,), "mean")
    assert_float64(std, (D,), "std")
    assert_close(mean, X.mean(axis=0), what="per-feature mean")
    assert_close(std, np.sqrt(((X - X.mean(0)) ** 2).mean(0)), what="per-feature POPULATION std (ddof=0)")
    Xs = call_unmodified(hz.standardize, X, mean, std)
    assert_float64(Xs, (N, D), "standardize")
    assert_close(Xs, (X - mean) / (std + 1e-8), what="(X - mean) / (std + eps)")
    assert_close(Xs.mean(axis=0), np.zeros(D), atol=1e-10, what="standardized mean")
    assert_close(Xs.std(axis=0), np.ones(D), rtol=1e-6, what="standardized std")
    # new data uses the training statistics
    X2 = rng.standard_normal((5, D))
    assert_close(hz.standardize(X2, mean, std, eps=0.5), (X2 - mean) / (std + 0.5), what="eps argument")


def test_standardize_constant_feature():
    X = np.array([[1.0, 3.0], [2.0, 3.0], [3.0, 3.0]])
    mean, std = hz.standardize_fit(X)
    assert std[1] == 0.0
    Xs = hz.standardize(X, mean, std)
    assert np.all(np.isfinite(Xs)) and np.all(Xs[:, 1] == 0.0)


# ---------------------------------------------------------------- grid search


@pytest.mark.parametrize("grid", [
    {"lr": [0.1, 0.01, 0.001]},
    {"lr": [0.1, 0.01], "lam": [0.0, 1e-3, 1e-2]},
    {"a": [1, 2], "b": ["x", "y", "z"], "c": [True, False]},
    {"a": [5]},
])
def test_grid_search(grid):
    calls = []
    rng = rng_for(len(grid))
    scores = {}

    def fit_and_score(**params):
        key = tuple(sorted(params.items()))
        calls.append(key)
        scores.setdefault(key, float(rng.uniform(0, 10)))
        return scores[key]

    results = call_unmodified(hz.grid_search, fit_and_score, grid)
    assert sorted(calls) == sorted(grid_product(grid)), "every combination exactly once"
    assert isinstance(results, list) and len(results) == len(calls)
    seen = set()
    for params, score in results:
        assert isinstance(params, dict) and set(params) == set(grid)
        key = tuple(sorted(params.items()))
        seen.add(key)
        assert score == scores[key], f"score of {params} is {score}, fit_and_score returned {scores[key]}"
    assert seen == grid_product(grid)
    got_scores = [s for _, s in results]
    assert got_scores == sorted(got_scores), "sorted best (lowest) first"


def test_grid_search_ties_and_known_best():
    def fit_and_score(lr, lam):
        return (lr - 0.01) ** 2 + lam  # best: lr = 0.01, lam = 0

    res = hz.grid_search(fit_and_score, {"lr": [0.1, 0.01, 0.001], "lam": [0.0, 0.5]})
    assert res[0][0] == {"lr": 0.01, "lam": 0.0}
    assert res[0][1] == pytest.approx(0.0)
    tied = hz.grid_search(lambda a: 1.0, {"a": [1, 2, 3]})
    assert sorted(p["a"] for p, _ in tied) == [1, 2, 3] and all(s == 1.0 for _, s in tied)

"""Reference tests for nntricks.regularization (contract: DESIGN.md, "nntricks.regularization")."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nntricks import regularization as reg
from strategies import (
    FAST,
    SEEDS,
    array_lists,
    assert_close,
    assert_float64,
    assert_grad_close,
    assert_py_float,
    away_from_zero,
    call_unmodified,
    numeric_grad,
    rng_for,
    std_tol,
)

pytestmark = pytest.mark.regularization

LAMS = [0.0, 1e-3, 0.5, 2.0]


def weight_list(seed, kink_margin=0.0):
    """A list of weights (matrix, matrix, vector), optionally kept away from 0."""
    rng = rng_for(seed)
    shapes = [(int(rng.integers(1, 6)), int(rng.integers(1, 6))), (3, 2), (int(rng.integers(1, 5)),)]
    if kink_margin:
        return [away_from_zero(rng, s, margin=kink_margin) for s in shapes]
    return [rng.standard_normal(s) * 2 for s in shapes]


def per_array_numeric_grads(penalty, weights, lam):
    """Numeric gradient of ``penalty(weights, lam)`` w.r.t. each array in turn."""
    out = []
    for k, W in enumerate(weights):
        def f(v, k=k):
            ws = list(weights)
            ws[k] = v
            return penalty(ws, lam)
        out.append(numeric_grad(f, W))
    return out


# ---------------------------------------------------------------- L2


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("seed", SEEDS)
def test_l2_penalty_value(lam, seed):
    ws = weight_list(seed)
    got = call_unmodified(reg.l2_penalty, ws, lam)
    assert_py_float(got, "l2_penalty")
    assert_close(got, 0.5 * lam * sum(np.sum(W**2) for W in ws), what="1/2 lam sum ||W||_F^2")


@pytest.mark.parametrize("lam", LAMS[1:])
@pytest.mark.parametrize("seed", SEEDS)
def test_l2_penalty_grad_numeric(lam, seed):
    ws = weight_list(seed)
    grads = call_unmodified(reg.l2_penalty_grad, ws, lam)
    assert isinstance(grads, list) and len(grads) == len(ws)
    nums = per_array_numeric_grads(reg.l2_penalty, ws, lam)
    for k, (g, n, W) in enumerate(zip(grads, nums, ws)):
        assert_float64(g, W.shape, f"l2_penalty_grad[{k}]")
        assert_grad_close(g, n, what=f"l2_penalty_grad[{k}] vs numeric")
        assert_close(g, lam * W, what=f"l2_penalty_grad[{k}] = lam W")
        assert g is not W and not np.shares_memory(g, W), "gradients must be new arrays"


# ---------------------------------------------------------------- L1


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("seed", SEEDS)
def test_l1_penalty_value(lam, seed):
    ws = weight_list(seed)
    got = call_unmodified(reg.l1_penalty, ws, lam)
    assert_py_float(got, "l1_penalty")
    assert_close(got, lam * sum(np.sum(np.abs(W)) for W in ws), what="lam sum |W|")


@pytest.mark.parametrize("lam", LAMS[1:])
@pytest.mark.parametrize("seed", SEEDS)
def test_l1_penalty_grad_numeric(lam, seed):
    ws = weight_list(seed, kink_margin=0.01)  # finite differences never cross 0
    grads = call_unmodified(reg.l1_penalty_grad, ws, lam)
    assert isinstance(grads, list) and len(grads) == len(ws)
    nums = per_array_numeric_grads(reg.l1_penalty, ws, lam)
    for k, (g, n, W) in enumerate(zip(grads, nums, ws)):
        assert_float64(g, W.shape, f"l1_penalty_grad[{k}]")
        assert_grad_close(g, n, what=f"l1_penalty_grad[{k}] vs numeric")
        assert_close(g, lam * np.sign(W), what=f"l1_penalty_grad[{k}] = lam sign(W)")


def test_l1_grad_is_zero_at_zero():
    W = np.array([[0.0, 1.5], [-2.0, 0.0]])
    g = reg.l1_penalty_grad([W], 0.3)[0]
    assert np.array_equal(g, 0.3 * np.array([[0.0, 1.0], [-1.0, 0.0]])), "sign(0) = 0"


@given(array_lists(), st.floats(0.0, 10.0))
@FAST
def test_penalties_hypothesis(ws, lam):
    assert_close(reg.l2_penalty(ws, lam), 0.5 * lam * sum(np.sum(W**2) for W in ws), what="l2_penalty")
    assert_close(reg.l1_penalty(ws, lam), lam * sum(np.sum(np.abs(W)) for W in ws), what="l1_penalty")
    for g, W in zip(reg.l2_penalty_grad(ws, lam), ws):
        assert_close(g, lam * W, what="l2_penalty_grad")
    for g, W in zip(reg.l1_penalty_grad(ws, lam), ws):
        assert_close(g, lam * np.sign(W), what="l1_penalty_grad")


def test_penalties_single_array_shapes():
    for W in [np.array([3.0]), np.full((1, 1), -2.0), np.ones((2, 3, 4))]:
        assert_close(reg.l2_penalty([W], 1.0), 0.5 * np.sum(W**2), what=f"l2 of shape {W.shape}")
        assert_close(reg.l1_penalty([W], 1.0), np.sum(np.abs(W)), what=f"l1 of shape {W.shape}")


# ---------------------------------------------------------------- weight decay


@pytest.mark.parametrize("seed", SEEDS)
def test_weight_decay_step(seed):
    rng = rng_for(seed)
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    W, grad = rng.standard_normal(shape), rng.standard_normal(shape)
    lr, lam = rng.uniform(0.001, 0.5), rng.uniform(0, 2)
    new = call_unmodified(reg.weight_decay_step, W, grad, lr, lam)
    assert_float64(new, shape, "weight_decay_step")
    assert new is not W
    assert_close(new, (1 - lr * lam) * W - lr * grad, what="(1 - lr lam) W - lr grad")
    # the same as a gradient step on div + l2_penalty
    step = W - lr * (grad + reg.l2_penalty_grad([W], lam)[0])
    assert_close(new, step, what="weight decay = gradient step with the L2 penalty")


# ---------------------------------------------------------------- noise


@pytest.mark.parametrize("std", [0.1, 1.0, 3.0])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_gaussian_noise_statistics(std, seed):
    rng = rng_for(seed)
    x = rng.standard_normal((300, 100)) * 5
    out = call_unmodified(reg.gaussian_noise, x, std, rng=rng)
    assert_float64(out, x.shape, "gaussian_noise")
    noise = out - x
    n = noise.size
    assert abs(noise.mean()) < 5 * std / np.sqrt(n), f"noise mean {noise.mean():.4g} should be 0"
    rel = abs(noise.std() / std - 1)
    assert rel < std_tol(n), f"noise std {noise.std():.5g}, expected {std} (std, not variance)"
    kurt = np.mean((noise - noise.mean()) ** 4) / noise.var() ** 2
    assert abs(kurt - 3) < 5 * np.sqrt(24 / n), f"noise kurtosis {kurt:.3f}: should be Gaussian (3)"
    # independent entries
    c = np.corrcoef(noise[:, 0], noise[:, 1])[0, 1]
    assert abs(c) < 5 / np.sqrt(noise.shape[0])


def test_gaussian_noise_misc():
    x = rng_for(0).standard_normal((4, 3))
    out = reg.gaussian_noise(x, 0.0, rng=rng_for(1))
    assert_close(out, x, what="std = 0 returns x")
    x2 = x.copy()
    a = reg.gaussian_noise(x2, 1.0)
    b = reg.gaussian_noise(x2, 1.0)  # rng=None: fresh generator each call
    assert not np.array_equal(a, b)
    assert np.array_equal(x2, x)
    v = reg.gaussian_noise(np.zeros(7), 0.5, rng=rng_for(2))
    assert_float64(v, (7,), "gaussian_noise of a vector")

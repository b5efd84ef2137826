"""Reference tests for nntricks.batchnorm (contract: DESIGN.md, "nntricks.batchnorm")."""

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nntricks import batchnorm as bn
from strategies import (
    FAST,
    SEEDS,
    assert_close,
    assert_float64,
    assert_grad_close,
    call_unmodified,
    numeric_grad,
    numeric_jacobian,
    rng_for,
    seed_shape_params,
)

pytestmark = pytest.mark.batchnorm

SEED_SHAPES = seed_shape_params()


def make_inputs(seed, shape, scale=2.0):
    """z with a per-unit offset and spread, non-trivial gamma and beta."""
    rng = rng_for(seed)
    B, D = shape
    z = rng.standard_normal(shape) * rng.uniform(0.5, 3.0, D) * scale + rng.uniform(-5, 5, D)
    gamma = rng.uniform(0.5, 2.0, D) * rng.choice([-1.0, 1.0], D)
    beta = rng.standard_normal(D)
    return rng, z, gamma, beta


def bn_formula(z, gamma, beta, eps=1e-5):
    mu = z.mean(axis=0)
    var = ((z - mu) ** 2).mean(axis=0)
    return gamma * (z - mu) / np.sqrt(var + eps) + beta


# ---------------------------------------------------------------- forward


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_forward_formula(seed, shape):
    _, z, gamma, beta = make_inputs(seed, shape)
    out, _ = call_unmodified(bn.batchnorm_forward, z, gamma, beta)
    assert_float64(out, shape, "batchnorm_forward out")
    assert_close(out, bn_formula(z, gamma, beta), what="gamma (z - mu)/sqrt(biased var + eps) + beta")
    out2, _ = bn.batchnorm_forward(z, gamma, beta, eps=0.3)
    assert_close(out2, bn_formula(z, gamma, beta, eps=0.3), what="batchnorm_forward with eps=0.3")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_forward_normalizes_each_unit(seed, shape):
    """gamma = 1, beta = 0: per unit mean 0 and (biased) variance var/(var + eps) ~ 1."""
    _, z, _, _ = make_inputs(seed, shape)
    D = shape[1]
    out, _ = bn.batchnorm_forward(z, np.ones(D), np.zeros(D))
    assert_close(out.mean(axis=0), np.zeros(D), atol=1e-10, what="per-unit mean of the output")
    var = z.var(axis=0)
    assert_close(out.var(axis=0), var / (var + 1e-5), what="per-unit variance of the output")
    assert_close(out.var(axis=0), np.ones(D), rtol=0, atol=1e-4, what="per-unit variance ~ 1")
    out0, _ = bn.batchnorm_forward(z, np.ones(D), np.zeros(D), eps=0.0)
    assert_close(out0.var(axis=0), np.ones(D), what="per-unit variance with eps = 0")


@given(st.integers(0, 10_000), st.integers(2, 9), st.integers(1, 5), st.floats(1e-3, 1e3))
@FAST
def test_forward_invariant_to_unit_shift_and_scale(seed, B, D, scale):
    """Normalization removes any per-unit affine change of z (a > 0), up to eps."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((B, D)) * 10
    z[0] += 1.0  # never all-equal
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    a, c = scale * rng.uniform(0.5, 2.0, D), rng.uniform(-100, 100, D)
    o1, _ = bn.batchnorm_forward(z, gamma, beta, eps=0.0)
    o2, _ = bn.batchnorm_forward(z * a + c, gamma, beta, eps=0.0)
    assert_close(o2, o1, rtol=1e-6, atol=1e-7, what="batchnorm(a z + c) = batchnorm(z)")


# ---------------------------------------------------------------- backward


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_backward_numeric(seed, shape):
    rng, z, gamma, beta = make_inputs(seed, shape)
    dout = rng.standard_normal(shape)
    # With B = 2, u = +-1 whatever z, so dz is O(eps / var): a default eps would leave
    # nothing but rounding noise to compare. Use an eps comparable to the variance there.
    eps = 1e-5 if shape[0] > 2 else 1.0
    out, cache = bn.batchnorm_forward(z, gamma, beta, eps=eps)
    dz, dgamma, dbeta = call_unmodified(bn.batchnorm_backward, dout, cache)
    assert_float64(dz, shape, "dz")
    assert_float64(dgamma, (shape[1],), "dgamma")
    assert_float64(dbeta, (shape[1],), "dbeta")

    def loss_z(v):
        return np.sum(bn.batchnorm_forward(v, gamma, beta, eps=eps)[0] * dout)

    def loss_gamma(g):
        return np.sum(bn.batchnorm_forward(z, g, beta, eps=eps)[0] * dout)

    def loss_beta(b):
        return np.sum(bn.batchnorm_forward(z, gamma, b, eps=eps)[0] * dout)

    assert_grad_close(dz, numeric_grad(loss_z, z), what="batchnorm_backward dz vs numeric", inputs=(z, gamma, dout))
    assert_grad_close(dgamma, numeric_grad(loss_gamma, gamma), what="dgamma vs numeric")
    assert_grad_close(dbeta, numeric_grad(loss_beta, beta), what="dbeta vs numeric")
    u = (z - z.mean(0)) / np.sqrt(z.var(0) + eps)
    assert_close(dgamma, np.sum(u * dout, axis=0), what="dgamma = sum_i u_i dout_i")
    assert_close(dbeta, dout.sum(axis=0), what="dbeta = sum_i dout_i")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_backward_properties(seed, shape):
    """Per unit, dz sums to 0 (shift invariance) and, for eps = 0, is orthogonal to u (scale invariance)."""
    rng, z, gamma, beta = make_inputs(seed, shape)
    dout = rng.standard_normal(shape)
    # the natural scale of dz: |gamma| / std * sum_i |dout_i|, per unit
    scale = np.abs(gamma) / z.std(axis=0) * np.abs(dout).sum(axis=0)
    _, cache = bn.batchnorm_forward(z, gamma, beta)
    dz, _, _ = bn.batchnorm_backward(dout, cache)
    assert_close(dz.sum(axis=0) / scale, np.zeros(shape[1]), atol=1e-10, what="sum_i dz_i = 0")
    u = (z - z.mean(0)) / z.std(0)
    _, cache0 = bn.batchnorm_forward(z, gamma, beta, eps=0.0)
    dz0, _, _ = bn.batchnorm_backward(dout, cache0)
    assert_close(np.sum(dz0 * u, axis=0) / scale, np.zeros(shape[1]), atol=1e-10,
                 what="sum_i dz_i u_i = 0 (eps = 0)")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_backward_equals_jacobian_product(seed, shape):
    rng, z, gamma, beta = make_inputs(seed, shape)
    dout = rng.standard_normal(shape)
    eps = 1e-5 if seed % 2 == 0 else 0.2
    _, cache = bn.batchnorm_forward(z, gamma, beta, eps=eps)
    dz, _, _ = bn.batchnorm_backward(dout, cache)
    for k in range(shape[1]):
        J = bn.batchnorm_jacobian(z[:, k], eps=eps)
        du = dout[:, k] * gamma[k]
        assert_close(dz[:, k], J @ du, what=f"dz[:, {k}] vs J @ (gamma dout) (eps={eps})")


# ---------------------------------------------------------------- Jacobian


def jacobian_formula(z, eps):
    B = z.size
    mu = z.mean()
    s = np.mean((z - mu) ** 2) + eps
    zc = z - mu
    return (np.eye(B) - 1 / B) / np.sqrt(s) - np.outer(zc, zc) / (B * s**1.5)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("B", [2, 3, 7])
def test_jacobian_numeric(seed, B):
    rng = rng_for(seed, B)
    z = rng.standard_normal(B) * rng.uniform(0.5, 3) + rng.uniform(-3, 3)
    eps = [1e-5, 0.1][seed % 2]
    J = call_unmodified(bn.batchnorm_jacobian, z, eps=eps)
    assert_float64(J, (B, B), "batchnorm_jacobian")

    def u_of(v):
        return (v - v.mean()) / np.sqrt(v.var() + eps)

    Jn = numeric_jacobian(u_of, z)  # Jn[i, j] = du_j / dz_i
    assert_grad_close(J, Jn, what="J[i, j] = du_j/dz_i vs numeric", inputs=z)
    assert_close(J, jacobian_formula(z, eps), what="J vs the lecture's closed form")
    assert_close(J, J.T, what="J is symmetric")
    assert_close(J.sum(axis=0) * np.sqrt(np.var(z) + eps), np.zeros(B), atol=1e-10,
                 what="columns of J sum to 0 (shifting all z leaves u unchanged)")


def test_jacobian_default_eps():
    z = rng_for(1).standard_normal(5)
    assert_close(bn.batchnorm_jacobian(z), jacobian_formula(z, 1e-5), what="default eps = 1e-5")


def test_jacobian_identical_instances_vanish():
    """All instances equal: u = 0 whatever z, so the Jacobian is (I - 1/B)/sqrt(eps) and kills any du."""
    z = np.full(4, 3.0)
    J = bn.batchnorm_jacobian(z)
    assert_close(J @ np.ones(4), np.zeros(4), atol=1e-6, what="J @ 1 for identical instances")


# ---------------------------------------------------------------- vectorization


def _count_lines(fn, *args):
    """Python line events executed in ``fn``'s source file during ``fn(*args)``."""
    target = fn.__code__.co_filename
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename != target:
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.skipif(sys.gettrace() is not None, reason="a tracer (coverage/debugger) is active")
def test_backward_has_no_python_loop():
    """O(B D) and vectorized: the number of Python lines executed does not grow with B or D."""
    counts = []
    for shape in [(4, 3), (300, 200)]:
        rng, z, gamma, beta = make_inputs(0, shape)
        _, cache = bn.batchnorm_forward(z, gamma, beta)
        counts.append(_count_lines(bn.batchnorm_backward, rng.standard_normal(shape), cache))
    assert counts[1] <= counts[0] + 2, (
        f"batchnorm_backward executed {counts[0]} Python lines for (4, 3) and {counts[1]} for (300, 200): "
        "there is a Python loop over instances or units")


# ---------------------------------------------------------------- inference


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_inference_formula(seed, shape):
    rng, z, gamma, beta = make_inputs(seed, shape)
    mean, var = rng.standard_normal(shape[1]), rng.uniform(0.1, 4, shape[1])
    out = call_unmodified(bn.batchnorm_inference, z, gamma, beta, mean, var)
    assert_float64(out, shape, "batchnorm_inference")
    assert_close(out, gamma * (z - mean) / np.sqrt(var + 1e-5) + beta, what="batchnorm_inference")
    out = bn.batchnorm_inference(z, gamma, beta, mean, var, eps=0.5)
    assert_close(out, gamma * (z - mean) / np.sqrt(var + 0.5) + beta, what="batchnorm_inference eps=0.5")
    # instances are independent: B = 1 works and rows match
    assert_close(bn.batchnorm_inference(z[:1], gamma, beta, mean, var),
                 gamma * (z[:1] - mean) / np.sqrt(var + 1e-5) + beta, what="inference with B = 1")


# ---------------------------------------------------------------- BatchNorm1d


def test_layer_initial_attributes():
    layer = bn.BatchNorm1d(4)
    for name, value in [("gamma", 1.0), ("beta", 0.0), ("running_mean", 0.0), ("running_var", 1.0)]:
        arr = getattr(layer, name)
        assert_float64(arr, (4,), name)
        assert np.all(arr == value), f"{name} should start at {value}"
    p = layer.params()
    assert len(p) == 2 and p[0] is layer.gamma and p[1] is layer.beta, "params() returns the live [gamma, beta]"


@pytest.mark.parametrize("momentum", [0.1, 0.3, 1.0])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_layer_running_stats_momentum(momentum, seed):
    rng = rng_for(seed)
    D = int(rng.integers(1, 5))
    layer = bn.BatchNorm1d(D, momentum=momentum)
    rm, rv = np.zeros(D), np.ones(D)
    for t in range(5):
        B = int(rng.integers(2, 9))
        z = rng.standard_normal((B, D)) * 3 + 1
        out = call_unmodified(layer.forward, z)
        assert_close(out, bn_formula(z, layer.gamma, layer.beta), what="training forward")
        rm = (1 - momentum) * rm + momentum * z.mean(axis=0)
        rv = (1 - momentum) * rv + momentum * z.var(axis=0, ddof=1)
        assert_close(layer.running_mean, rm, what=f"running_mean after {t + 1} batches (momentum={momentum})")
        assert_close(layer.running_var, rv,
                     what=f"running_var after {t + 1} batches: UNBIASED batch variance (momentum={momentum})")


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_layer_running_stats_cumulative(seed):
    rng = rng_for(seed)
    D = 3
    layer = bn.BatchNorm1d(D, momentum=None)
    means, vars_ = [], []
    for t in range(6):
        z = rng.standard_normal((int(rng.integers(2, 9)), D)) * (t + 1) + t
        layer.forward(z)
        means.append(z.mean(axis=0))
        vars_.append(z.var(axis=0, ddof=1))
        assert_close(layer.running_mean, np.mean(means, axis=0), what=f"cumulative mean after {t + 1} batches")
        assert_close(layer.running_var, np.mean(vars_, axis=0),
                     what=f"cumulative average of B/(B-1)-corrected variances after {t + 1} batches")


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_layer_eval_uses_running_stats(seed):
    rng = rng_for(seed)
    D = 4
    layer = bn.BatchNorm1d(D, eps=1e-3)
    layer.gamma[:] = rng.uniform(0.5, 2, D)  # live arrays
    layer.beta[:] = rng.standard_normal(D)
    for _ in range(3):
        layer.forward(rng.standard_normal((6, D)) * 2 + 3)
    rm, rv = layer.running_mean.copy(), layer.running_var.copy()
    for B in (1, 2, 5):
        z = rng.standard_normal((B, D))
        out = call_unmodified(layer.forward, z, train=False)
        assert_float64(out, (B, D), "eval output")
        want = layer.gamma * (z - rm) / np.sqrt(rv + 1e-3) + layer.beta
        assert_close(out, want, what=f"eval mode uses running statistics (B={B})")
        assert_close(out, bn.batchnorm_inference(z, layer.gamma, layer.beta, rm, rv, eps=1e-3),
                     what="eval mode = batchnorm_inference")
    assert np.array_equal(layer.running_mean, rm) and np.array_equal(layer.running_var, rv), \
        "eval mode must not update the running statistics"


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_layer_backward_and_grads(seed, shape):
    rng, z, gamma, beta = make_inputs(seed, shape)
    eps = 1e-5 if shape[0] > 2 else 1.0  # see test_backward_numeric
    layer = bn.BatchNorm1d(shape[1], eps=eps)
    layer.params()[0][:] = gamma
    layer.params()[1][:] = beta
    dout = rng.standard_normal(shape)
    out = layer.forward(z)
    assert_close(out, bn_formula(z, gamma, beta, eps), what="forward uses the live gamma, beta")
    dz = call_unmodified(layer.backward, dout)
    _, cache = bn.batchnorm_forward(z, gamma, beta, eps=eps)
    want_dz, want_dg, want_db = bn.batchnorm_backward(dout, cache)
    assert_close(dz, want_dz, what="layer.backward vs batchnorm_backward")
    assert_grad_close(dz, numeric_grad(lambda v: np.sum(bn_formula(v, gamma, beta, eps) * dout), z),
                      what="layer.backward vs numeric")
    assert_close(layer.dgamma, want_dg, what="layer.dgamma")
    assert_close(layer.dbeta, want_db, what="layer.dbeta")
    g = layer.grads()
    assert len(g) == 2
    assert_close(g[0], want_dg, what="grads()[0] = dgamma")
    assert_close(g[1], want_db, what="grads()[1] = dbeta")


def test_layer_backward_requires_training_forward():
    layer = bn.BatchNorm1d(3)
    dout = np.ones((4, 3))
    with pytest.raises(RuntimeError):
        layer.backward(dout)  # no forward at all
    layer.forward(rng_for(0).standard_normal((4, 3)), train=False)
    with pytest.raises(RuntimeError):
        layer.backward(dout)  # eval forward only
    layer.forward(rng_for(1).standard_normal((4, 3)), train=True)
    layer.backward(dout)  # fine
    layer.forward(rng_for(2).standard_normal((4, 3)), train=False)
    with pytest.raises(RuntimeError):
        layer.backward(dout)  # the last forward was in eval mode


def test_layer_batch_of_one():
    layer = bn.BatchNorm1d(3)
    z = np.array([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError):
        layer.forward(z, train=True)
    assert np.array_equal(layer.running_mean, np.zeros(3)) and np.array_equal(layer.running_var, np.ones(3)), \
        "a rejected batch must not touch the running statistics"
    out = layer.forward(z, train=False)  # inference with B = 1 is fine
    assert_close(out, z / np.sqrt(1 + 1e-5), what="eval with fresh running stats")


def test_layer_defaults():
    """eps = 1e-5, momentum = 0.1."""
    rng = rng_for(4)
    a, b = bn.BatchNorm1d(2), bn.BatchNorm1d(2, eps=1e-5, momentum=0.1)
    for _ in range(3):
        z = rng.standard_normal((5, 2))
        assert np.array_equal(a.forward(z), b.forward(z))
    assert np.array_equal(a.running_mean, b.running_mean) and np.array_equal(a.running_var, b.running_var)

"""Reference tests for nntricks.divergences (contract: DESIGN.md, "nntricks.divergences")."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nntricks import divergences as dv
from strategies import (
    FAST,
    SEEDS,
    arrays_2d,
    assert_close,
    assert_float64,
    assert_grad_close,
    assert_py_float,
    call_unmodified,
    numeric_grad,
    one_hot_rows,
    prob_rows,
    probabilities,
    rng_for,
    seed_shape_params,
)

pytestmark = pytest.mark.divergences

SEED_SHAPES = seed_shape_params()


# ---------------------------------------------------------------- formulas
# Written independently of the package, straight from the contract.


def l2_formula(y, d):
    B = y.shape[0]
    return 0.5 * np.sum((y - d) ** 2) / B


def bce_formula(y, d, eps=1e-12):
    B = y.shape[0]
    yc = np.clip(y, eps, 1 - eps)
    return -np.sum(d * np.log(yc) + (1 - d) * np.log(1 - yc)) / B


def kl_formula(y, d, eps=1e-12):
    B = y.shape[0]
    yc = np.clip(y, eps, 1)
    safe_d = np.where(d > 0, d, 1.0)
    dlogd = np.where(d > 0, d * np.log(safe_d), 0.0)
    return np.sum(dlogd - d * np.log(yc)) / B


def log_softmax_formula(z):
    m = np.max(z, axis=-1, keepdims=True)
    s = z - m
    return s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))


# ---------------------------------------------------------------- l2


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_l2_value_and_type(seed, shape):
    rng = rng_for(seed)
    y, d = rng.standard_normal(shape), rng.standard_normal(shape)
    got = call_unmodified(dv.l2, y, d)
    assert_py_float(got, "l2")
    assert_close(got, l2_formula(y, d), what="l2(y, d) vs 1/B sum 1/2 (y-d)^2")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_l2_grad_numeric(seed, shape):
    rng = rng_for(seed)
    y, d = rng.standard_normal(shape), rng.standard_normal(shape)
    g = call_unmodified(dv.l2_grad, y, d)
    assert_float64(g, shape, "l2_grad")
    assert_grad_close(g, numeric_grad(lambda v: dv.l2(v, d), y), what="l2_grad vs numeric", inputs=(y, d))
    assert_close(g, (y - d) / shape[0], what="l2_grad vs (y - d)/B")


def test_l2_1d_is_batch_of_scalars():
    rng = rng_for(7)
    y, d = rng.standard_normal(6), rng.standard_normal(6)
    assert_close(dv.l2(y, d), dv.l2(y[:, None], d[:, None]), what="l2 1-D vs (B, 1)")
    assert_close(dv.l2(y, d), 0.5 * np.mean((y - d) ** 2), what="l2 1-D")
    g = dv.l2_grad(y, d)
    assert_float64(g, (6,), "l2_grad 1-D")
    assert_close(g, (y - d) / 6, what="l2_grad 1-D is (y - d)/B with B = len(y)")


def test_l2_zero_at_target():
    y = rng_for(3).standard_normal((4, 3))
    assert dv.l2(y, y.copy()) == 0.0
    assert np.all(dv.l2_grad(y, y.copy()) == 0.0)


# ---------------------------------------------------------------- bce


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_bce_value_and_type(seed, shape):
    rng = rng_for(seed)
    y = probabilities(rng, shape, 0.01, 0.99)
    d = rng.uniform(0, 1, size=shape)  # soft targets
    d[0] = (d[0] > 0.5).astype(float)  # and some hard ones
    got = call_unmodified(dv.bce, y, d)
    assert_py_float(got, "bce")
    assert_close(got, bce_formula(y, d), what="bce vs -d log y - (1-d) log(1-y), sum/B")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_bce_grad_numeric(seed, shape):
    rng = rng_for(seed)
    y = probabilities(rng, shape, 0.05, 0.95)
    d = rng.uniform(0, 1, size=shape)
    g = call_unmodified(dv.bce_grad, y, d)
    assert_float64(g, shape, "bce_grad")
    assert_grad_close(g, numeric_grad(lambda v: dv.bce(v, d), y), what="bce_grad vs numeric", inputs=(y, d))
    assert_close(g, (y - d) / (y * (1 - y)) / shape[0], what="bce_grad formula")


def test_bce_clipping_at_exact_zero_and_one():
    y = np.array([[0.0, 1.0, 0.0, 1.0, 0.5]])
    d = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    got = call_unmodified(dv.bce, y, d)
    assert np.isfinite(got)
    assert_close(got, bce_formula(y, d), rtol=1e-6, what="bce at y in {0, 1} (clipped to [eps, 1-eps])")
    # two confident mistakes cost -log(eps) each
    assert got == pytest.approx(-2 * np.log(1e-12) + np.log(2), rel=1e-6)
    g = call_unmodified(dv.bce_grad, y, d)
    assert np.all(np.isfinite(g)), g
    yc = np.clip(y, 1e-12, 1 - 1e-12)
    assert_close(g, (yc - d) / (yc * (1 - yc)), rtol=1e-6, what="bce_grad evaluated at the clipped y")


def test_bce_correct_confident_predictions_cost_nothing():
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    d = y.copy()
    assert abs(dv.bce(y, d)) < 1e-10
    assert np.all(np.isfinite(dv.bce_grad(y, d)))


@pytest.mark.parametrize("eps", [1e-3, 1e-6])
def test_bce_custom_eps(eps):
    rng = rng_for(11)
    y = rng.uniform(0, 1, size=(6, 3))
    y[0, 0], y[1, 1], y[2, 2] = 0.0, 1.0, eps / 2
    d = (rng.uniform(size=(6, 3)) > 0.5).astype(float)
    assert_close(dv.bce(y, d, eps=eps), bce_formula(y, d, eps), what=f"bce eps={eps}")
    yc = np.clip(y, eps, 1 - eps)
    assert_close(dv.bce_grad(y, d, eps=eps), (yc - d) / (yc * (1 - yc)) / 6, what=f"bce_grad eps={eps}")


def test_bce_1d_is_batch_of_scalars():
    rng = rng_for(8)
    y, d = probabilities(rng, 5), rng.uniform(size=5)
    assert_close(dv.bce(y, d), dv.bce(y[:, None], d[:, None]), what="bce 1-D vs (B, 1)")
    g = dv.bce_grad(y, d)
    assert_float64(g, (5,), "bce_grad 1-D")
    assert_close(g, (y - d) / (y * (1 - y)) / 5, what="bce_grad 1-D")


# ---------------------------------------------------------------- kl


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_kl_value_and_type(seed, shape):
    rng = rng_for(seed)
    y, d = prob_rows(rng, shape), prob_rows(rng, shape)
    got = call_unmodified(dv.kl, y, d)
    assert_py_float(got, "kl")
    assert_close(got, kl_formula(y, d), what="kl vs sum d log d - d log y, mean over batch")
    if shape[1] > 1:
        assert got >= -1e-12, "KL between probability vectors is non-negative"


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_kl_grad_numeric(seed, shape):
    rng = rng_for(seed)
    # y strictly inside (0, 1): at y = 1 the clipping makes the one-sided derivative 0
    y, d = probabilities(rng, shape), prob_rows(rng, shape, zeros=True)
    g = call_unmodified(dv.kl_grad, y, d)
    assert_float64(g, shape, "kl_grad")
    assert_grad_close(g, numeric_grad(lambda v: dv.kl(v, d), y), what="kl_grad vs numeric", inputs=(y, d))
    assert_close(g, -d / y / shape[0], what="kl_grad vs -d/y/B")


@pytest.mark.parametrize("seed", SEEDS)
def test_kl_zero_targets_zero_log_zero(seed):
    rng = rng_for(seed)
    shape = (5, 4)
    y, d = prob_rows(rng, shape), prob_rows(rng, shape, zeros=True)
    assert np.any(d == 0)
    got = dv.kl(y, d)
    assert np.isfinite(got)
    assert_close(got, kl_formula(y, d), what="kl with zeros in d (0 log 0 = 0)")
    assert dv.kl(d, d) == pytest.approx(0.0, abs=1e-12), "kl(d, d) must be 0, also where d has zeros"


def test_kl_clipping_y_zero():
    # y = 0 where d > 0 is clipped to eps; y = 0 where d = 0 contributes nothing.
    y = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    d = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    got = dv.kl(y, d)
    assert np.isfinite(got)
    assert_close(got, kl_formula(y, d), what="kl with y = 0 (clipped to eps)")
    g = dv.kl_grad(y, d)
    assert np.all(np.isfinite(g)), g
    yc = np.clip(y, 1e-12, 1)
    assert_close(g, -d / yc / 2, what="kl_grad at clipped y")
    assert g[0, 2] == 0.0 and g[1, 2] == 0.0


def test_kl_1d_is_batch_of_scalars():
    rng = rng_for(9)
    y, d = rng.uniform(0.1, 1, 5), rng.uniform(0, 1, 5)
    assert_close(dv.kl(y, d), dv.kl(y[:, None], d[:, None]), what="kl 1-D vs (B, 1)")
    assert_close(dv.kl_grad(y, d), -d / y / 5, what="kl_grad 1-D")


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_softmax_and_log_softmax(seed, shape):
    rng = rng_for(seed)
    z = rng.standard_normal(shape) * 3
    p = call_unmodified(dv.softmax, z)
    lp = call_unmodified(dv.log_softmax, z)
    assert_float64(p, shape, "softmax")
    assert_float64(lp, shape, "log_softmax")
    naive = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert_close(p, naive, what="softmax vs exp(z)/sum exp(z)")
    assert_close(lp, np.log(naive), what="log_softmax vs log(softmax)")
    assert_close(p.sum(axis=1), np.ones(shape[0]), what="softmax rows sum to 1")
    # shift invariance
    c = rng.standard_normal((shape[0], 1)) * 50
    assert_close(dv.softmax(z + c), p, what="softmax(z + c) = softmax(z)")


@given(arrays_2d(low=-30, high=30))
@FAST
def test_softmax_properties_hypothesis(z):
    p = dv.softmax(z)
    assert np.all(p >= 0) and np.all(p <= 1)
    assert_close(p.sum(axis=-1), np.ones(z.shape[0]), what="rows sum to 1")
    assert_close(dv.log_softmax(z), log_softmax_formula(z), what="log_softmax")
    # order preserving
    assert np.array_equal(np.argmax(p, axis=1), np.argmax(z, axis=1))


@pytest.mark.parametrize("scale", [1000.0, -1000.0])
def test_softmax_large_magnitude(scale):
    z = np.array([[1.0, 0.0, -1.0], [1.0, 1.0, 0.5], [1.0, -1.0, 0.0]]) * scale
    z[1] = [1000.0, 1000.0, -1000.0]
    p, lp = dv.softmax(z), dv.log_softmax(z)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp)), (p, lp)
    assert_close(lp, log_softmax_formula(z), what=f"log_softmax at |z| = 1000 (z={z})")
    assert_close(p, np.exp(log_softmax_formula(z)), what="softmax at |z| = 1000")
    assert_close(p[1], [0.5, 0.5, 0.0], what="softmax of [1000, 1000, -1000]")


def test_softmax_1d_is_one_vector():
    z = np.array([1000.0, 999.0, -1000.0, 0.0])
    p = dv.softmax(z)
    assert_float64(p, (4,), "softmax 1-D")
    assert_close(p, dv.softmax(z[None])[0], what="softmax 1-D = one row")
    assert_close(p.sum(), 1.0, what="softmax 1-D sums to 1")
    assert_close(dv.log_softmax(z), log_softmax_formula(z), what="log_softmax 1-D")


def test_softmax_last_axis_of_3d():
    z = rng_for(5).standard_normal((2, 3, 4)) * 5
    assert_close(dv.softmax(z), np.exp(log_softmax_formula(z)), what="softmax of a 3-D array, last axis")
    assert_close(dv.log_softmax(z), log_softmax_formula(z), what="log_softmax of a 3-D array")


def test_softmax_single_class():
    z = np.array([[3.0], [-1000.0]])
    assert_close(dv.softmax(z), np.ones((2, 1)), what="softmax with D = 1")
    assert_close(dv.log_softmax(z), np.zeros((2, 1)), what="log_softmax with D = 1")


# ---------------------------------------------------------------- softmax cross-entropy


def sce_formula(z, d):
    z2, d2 = np.atleast_2d(z), np.atleast_2d(d)
    return -np.sum(d2 * log_softmax_formula(z2)) / z2.shape[0]


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
@pytest.mark.parametrize("soft", [False, True])
def test_softmax_cross_entropy_value_and_grad(seed, shape, soft):
    rng = rng_for(seed)
    z = rng.standard_normal(shape) * 2
    d = prob_rows(rng, shape) if soft else one_hot_rows(rng, *shape)
    loss = call_unmodified(dv.softmax_cross_entropy, z, d)
    assert_py_float(loss, "softmax_cross_entropy")
    assert_close(loss, sce_formula(z, d), what="softmax_cross_entropy vs -sum d log softmax(z) / B")
    g = call_unmodified(dv.softmax_cross_entropy_grad, z, d)
    assert_float64(g, shape, "softmax_cross_entropy_grad")
    assert_grad_close(
        g, numeric_grad(lambda v: dv.softmax_cross_entropy(v, d), z),
        what="softmax_cross_entropy_grad vs numeric", inputs=(z, d),
    )
    p = np.exp(log_softmax_formula(z))
    assert_close(g, (p - d) / shape[0], what="softmax_cross_entropy_grad vs (softmax(z) - d)/B")


def test_softmax_cross_entropy_large_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    d = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    loss = dv.softmax_cross_entropy(z, d)
    assert np.isfinite(loss)
    # row 0: -log softmax = 2000; row 1: 1 + log(1 + e^-1)
    want = (2000.0 + 1.0 + np.log1p(np.exp(-1.0))) / 2
    assert_close(loss, want, what="softmax_cross_entropy at |z| = 1000")
    g = dv.softmax_cross_entropy_grad(z, d)
    assert np.all(np.isfinite(g))
    assert_close(g, (np.exp(log_softmax_formula(z)) - d) / 2, what="grad at |z| = 1000")


def test_softmax_cross_entropy_1d_is_one_instance():
    rng = rng_for(12)
    z, d = rng.standard_normal(5), prob_rows(rng, (5,))
    loss = dv.softmax_cross_entropy(z, d)
    assert_py_float(loss, "softmax_cross_entropy (1-D)")
    assert_close(loss, dv.softmax_cross_entropy(z[None], d[None]), what="1-D z is B = 1")
    assert_close(loss, sce_formula(z, d), what="1-D z loss")
    g = dv.softmax_cross_entropy_grad(z, d)
    assert_float64(g, (5,), "grad of 1-D z")
    assert_close(g, np.exp(log_softmax_formula(z)) - d, what="1-D grad has no 1/B beyond B = 1")


def test_softmax_cross_entropy_equals_kl_plus_entropy():
    # with softmax outputs, KL(d || softmax(z)) = CE - H(d)
    rng = rng_for(13)
    z, d = rng.standard_normal((4, 3)), prob_rows(rng, (4, 3))
    h = -np.sum(d * np.log(d)) / 4
    assert_close(dv.kl(dv.softmax(z), d), dv.softmax_cross_entropy(z, d) - h, what="KL = CE - H(d)")


# ---------------------------------------------------------------- one_hot


@pytest.mark.parametrize("seed", SEEDS)
def test_one_hot(seed):
    rng = rng_for(seed)
    c = int(rng.integers(2, 10))
    labels = rng.integers(0, c, size=int(rng.integers(1, 20)))
    oh = call_unmodified(dv.one_hot, labels, c)
    assert_float64(oh, (labels.size, c), "one_hot")
    assert np.array_equal(oh, np.eye(c)[labels])


# ---------------------------------------------------------------- scaling properties


@given(st.integers(0, 10_000), st.integers(2, 6), st.integers(1, 4))
@FAST
def test_losses_are_batch_means(seed, b, dd):
    """Duplicating the batch leaves every loss (a mean over the batch) unchanged and halves gradients."""
    rng = np.random.default_rng(seed)
    y, d = prob_rows(rng, (b, dd)), prob_rows(rng, (b, dd))
    yy, ddd = np.vstack([y, y]), np.vstack([d, d])
    for loss, grad in [(dv.l2, dv.l2_grad), (dv.bce, dv.bce_grad), (dv.kl, dv.kl_grad),
                       (dv.softmax_cross_entropy, dv.softmax_cross_entropy_grad)]:
        assert_close(loss(yy, ddd), loss(y, d), what=f"{loss.__name__} of a duplicated batch")
        assert_close(grad(yy, ddd)[:b], grad(y, d) / 2, what=f"{grad.__name__} of a duplicated batch")


# ------------------------------------------------------------------ error_signal_gap (end of exercise 1.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_error_signal_gap(seed):
    from nntricks import gradcheck
    rng = np.random.default_rng(seed)
    B, K = int(rng.integers(1, 6)), int(rng.integers(2, 6))
    z = rng.normal(scale=2, size=(B, K))
    probs, real = rng.dirichlet(np.ones(K), size=B), rng.normal(size=(B, K))
    z0 = z.copy()
    for output, div, d in ((lambda v: v, dv.l2, real), (dv.softmax, dv.kl, probs),
                           (lambda v: 1 / (1 + np.exp(-v)), dv.bce, rng.uniform(size=(B, K)))):
        gap = dv.error_signal_gap(output, div, z, d)
        assert type(gap) is float and gap < 1e-6
    gap = dv.error_signal_gap(dv.softmax, dv.l2, z, probs)
    numeric = gradcheck.numeric_grad(lambda v: dv.l2(dv.softmax(v), probs), z)
    assert gap == pytest.approx(gradcheck.rel_error(numeric, (dv.softmax(z) - probs) / B), rel=1e-9) and gap > 1e-2
    assert np.array_equal(z, z0)

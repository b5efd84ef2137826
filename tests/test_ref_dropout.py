"""Reference tests for nntricks.dropout (contract: DESIGN.md, "nntricks.dropout").

Masks are checked statistically (tolerances of 5 binomial standard deviations,
fixed seeds) and through what the functions return, never by assuming how the
random stream is consumed.
"""

import numpy as np
import pytest

from nntricks import dropout as dr
from strategies import (
    SEEDS,
    assert_close,
    assert_float64,
    assert_grad_close,
    binomial_tol,
    call_unmodified,
    numeric_grad,
    rng_for,
    seed_shape_params,
)

pytestmark = pytest.mark.dropout

ALPHAS = [0.1, 0.5, 0.8, 1.0]
SEED_SHAPES = seed_shape_params()


def nonzero_y(rng, shape):
    """y without zeros, so that the mask can be read off the output."""
    y = rng.standard_normal(shape)
    return np.where(np.abs(y) < 0.1, 0.5, y)


# ---------------------------------------------------------------- training forward


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("seed,shape", SEED_SHAPES[:4])
def test_train_forward_output_and_mask(alpha, inverted, seed, shape):
    rng = rng_for(seed)
    y = nonzero_y(rng, shape)
    out, mask = call_unmodified(dr.dropout_forward, y, alpha, train=True, rng=rng, inverted=inverted)
    assert_float64(out, shape, "out")
    assert_float64(mask, shape, "mask")
    assert np.all((mask == 0.0) | (mask == 1.0)), f"mask must hold only 0.0 and 1.0, got {np.unique(mask)}"
    want = y * mask / alpha if inverted else y * mask
    assert_close(out, want, what=f"train out (inverted={inverted}, alpha={alpha})")
    if alpha == 1.0:
        assert np.all(mask == 1.0), "alpha = 1 keeps everything"
        assert_close(out, y, what="alpha = 1 is the identity in training")


@pytest.mark.parametrize("alpha", [0.1, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_mask_keep_probability_is_alpha(alpha, seed):
    """P(mask = 1) = alpha (alpha KEEPS units), per element, independently."""
    rng = rng_for(seed)
    shape = (400, 250)
    n = shape[0] * shape[1]
    _, mask = dr.dropout_forward(np.ones(shape), alpha, rng=rng)
    p = mask.mean()
    tol = binomial_tol(n, alpha)
    assert abs(p - alpha) < tol, (
        f"fraction of kept units {p:.4f}, expected alpha = {alpha} +- {tol:.4f} "
        f"(is alpha used as the DROP probability? that would give {1 - alpha})")
    # every row and every column is a fresh set of draws (not one mask per row or column)
    rows, cols = mask.mean(axis=1), mask.mean(axis=0)
    assert np.std(rows) < 2 * np.sqrt(alpha * (1 - alpha) / shape[1]), "row means vary too much: masks per row?"
    assert np.std(cols) < 2 * np.sqrt(alpha * (1 - alpha) / shape[0]), "column means vary too much: masks per column?"
    # neighbouring elements are independent: P(both kept) = alpha^2
    both = np.mean(mask[:, :-1] * mask[:, 1:])
    n_pairs = shape[0] * (shape[1] - 1)
    assert abs(both - alpha**2) < binomial_tol(n_pairs, alpha**2) * 1.5, f"P(both kept) {both:.4f} vs {alpha**2:.4f}"


def test_mask_fresh_each_call():
    rng = rng_for(1)
    y = np.ones((20, 30))
    masks = [dr.dropout_forward(y, 0.5, rng=rng)[1] for _ in range(3)]
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2]), \
        "the mask must be drawn afresh at every call"
    # rng=None: a fresh default generator
    a, b = dr.dropout_forward(y, 0.5)[1], dr.dropout_forward(y, 0.5)[1]
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.9])
def test_inverted_expectation_is_y(alpha):
    """E[out] = y for inverted dropout (and alpha y for classic), by Monte Carlo."""
    rng = rng_for(2)
    y = rng.uniform(0.5, 2.0, size=(4, 5)) * rng.choice([-1, 1], size=(4, 5))
    n = 4000
    outs = np.array([dr.dropout_forward(y, alpha, rng=rng)[0] for _ in range(n)])
    se = np.abs(y) * np.sqrt((1 - alpha) / alpha) / np.sqrt(n)
    err = np.abs(outs.mean(axis=0) - y)
    assert np.all(err < 5 * se), f"E[out] deviates from y by {err.max():.4f} (5 se = {5 * se.max():.4f})"
    outs_c = np.array([dr.dropout_forward(y, alpha, rng=rng, inverted=False)[0] for _ in range(n)])
    err_c = np.abs(outs_c.mean(axis=0) - alpha * y)
    assert np.all(err_c < 5 * se * alpha), "E[out] of classic dropout should be alpha y"
    # the test-mode output is exactly that expectation
    assert_close(dr.dropout_forward(y, alpha, train=False, inverted=False)[0], alpha * y, what="classic test mode")


# ---------------------------------------------------------------- test mode


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_test_mode(alpha, seed, shape):
    rng = rng_for(seed)
    y = rng.standard_normal(shape)
    y0 = y.copy()
    out, mask = dr.dropout_forward(y, alpha, train=False, rng=rng)
    assert mask is None, "test mode returns mask None"
    assert np.array_equal(out, y0), "inverted dropout at test time is the identity"
    out, mask = dr.dropout_forward(y, alpha, train=False, rng=rng, inverted=False)
    assert mask is None
    assert_close(out, alpha * y0, what="classic dropout at test time is alpha y")
    assert np.array_equal(y, y0), "y modified"
    # default for train is True, for inverted True
    _, mask = dr.dropout_forward(y, alpha, rng=rng)
    assert mask is not None


# ---------------------------------------------------------------- backward


@pytest.mark.parametrize("alpha", [0.3, 0.5, 1.0])
@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_backward_numeric(alpha, inverted, seed, shape):
    """With the mask held fixed (same seeded rng each call), out is linear in y."""
    rng = rng_for(seed)
    y, dout = rng.standard_normal(shape), rng.standard_normal(shape)

    def forward(v):
        return dr.dropout_forward(v, alpha, rng=rng_for(seed, 7), inverted=inverted)

    _, mask = forward(y)

    def loss(v):
        out, m = forward(v)
        assert np.array_equal(m, mask), "mask depends on the values of y"
        return np.sum(out * dout)

    dy = call_unmodified(dr.dropout_backward, dout, mask, alpha, inverted=inverted)
    assert_float64(dy, shape, "dy")
    assert_grad_close(dy, numeric_grad(loss, y), what=f"dropout_backward (inverted={inverted}) vs numeric")
    assert_close(dy, dout * mask / alpha if inverted else dout * mask, what="dropout_backward formula")


@pytest.mark.parametrize("alpha", [0.3, 1.0])
@pytest.mark.parametrize("inverted", [True, False])
def test_backward_test_mode(alpha, inverted):
    rng = rng_for(4)
    y, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    dy = call_unmodified(dr.dropout_backward, dout, None, alpha, inverted=inverted)
    assert_float64(dy, (3, 4), "dy")
    assert_close(dy, dout if inverted else alpha * dout, what="test-mode derivative")
    num = numeric_grad(lambda v: np.sum(dr.dropout_forward(v, alpha, train=False, inverted=inverted)[0] * dout), y)
    assert_grad_close(dy, num, what="test-mode derivative vs numeric")


# ---------------------------------------------------------------- bad alpha


@pytest.mark.parametrize("alpha", [0.0, -0.5, 1.5, 2.0])
def test_bad_alpha_raises(alpha):
    y = np.ones((3, 2))
    with pytest.raises(ValueError):
        dr.dropout_forward(y, alpha, train=True, rng=rng_for(0))
    with pytest.raises(ValueError):
        dr.Dropout(alpha=alpha, rng=rng_for(0)).forward(y)


# ---------------------------------------------------------------- layer


@pytest.mark.parametrize("alpha", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("inverted", [True, False])
def test_layer(alpha, inverted):
    rng = rng_for(5)
    layer = dr.Dropout(alpha=alpha, inverted=inverted, rng=rng_for(6))
    y, dout = nonzero_y(rng, (6, 7)), rng.standard_normal((6, 7))
    out = call_unmodified(layer.forward, y)
    assert_float64(out, y.shape, "Dropout.forward")
    mask = (out != 0).astype(float)
    scale = 1 / alpha if inverted else 1.0
    assert_close(out, y * mask * scale, what="Dropout.forward in training")
    dy = call_unmodified(layer.backward, dout)
    assert_close(dy, dout * mask * scale, what="Dropout.backward uses the last mask")
    out = layer.forward(y, train=False)
    assert_close(out, y if inverted else alpha * y, what="Dropout.forward at test time")
    assert_close(layer.backward(dout), dout if inverted else alpha * dout, what="Dropout.backward at test time")


def test_layer_defaults():
    """alpha = 0.5, inverted, and a fresh mask per call."""
    layer = dr.Dropout(rng=rng_for(7))
    y = np.ones((200, 100))
    out1, out2 = layer.forward(y), layer.forward(y)
    assert set(np.unique(out1)) <= {0.0, 2.0}, "default alpha 0.5, inverted: kept units are scaled by 2"
    assert abs(np.mean(out1 == 2.0) - 0.5) < binomial_tol(y.size, 0.5)
    assert not np.array_equal(out1, out2)

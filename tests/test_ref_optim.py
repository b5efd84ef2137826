"""Reference tests for nntricks.optim (contract: DESIGN.md, "nntricks.optim").

Each optimizer is compared, step by step, with a hand-written transcription of
the update formulas stated in the contract (PyTorch semantics).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nntricks import optim
from strategies import FAST, SEEDS, assert_close, rng_for

pytestmark = pytest.mark.optim

N_STEPS = 6


# ---------------------------------------------------------------- hand-written updates


def ref_sgd(ws, grad_seq, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
    ws = [w.copy() for w in ws]
    vs = [np.zeros_like(w) for w in ws]
    history = []
    for grads in grad_seq:
        for i, (w, g) in enumerate(zip(ws, grads)):
            g = g + weight_decay * w
            if momentum != 0:
                vs[i] = momentum * vs[i] + g
                step = g + momentum * vs[i] if nesterov else vs[i]
            else:
                step = g
            ws[i] = w - lr * step
        history.append([w.copy() for w in ws])
    return history


def ref_rmsprop(ws, grad_seq, lr=0.01, beta=0.99, eps=1e-8, weight_decay=0.0):
    ws = [w.copy() for w in ws]
    ss = [np.zeros_like(w) for w in ws]
    history = []
    for grads in grad_seq:
        for i, (w, g) in enumerate(zip(ws, grads)):
            g = g + weight_decay * w
            ss[i] = beta * ss[i] + (1 - beta) * g**2
            ws[i] = w - lr * g / (np.sqrt(ss[i]) + eps)
        history.append([w.copy() for w in ws])
    return history


def ref_adam(ws, grad_seq, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
    ws = [w.copy() for w in ws]
    ms = [np.zeros_like(w) for w in ws]
    vs = [np.zeros_like(w) for w in ws]
    history = []
    for t, grads in enumerate(grad_seq, start=1):
        for i, (w, g) in enumerate(zip(ws, grads)):
            if decoupled:
                w = w * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * w
            ms[i] = beta1 * ms[i] + (1 - beta1) * g
            vs[i] = beta2 * vs[i] + (1 - beta2) * g**2
            m_hat = ms[i] / (1 - beta1**t)
            v_hat = vs[i] / (1 - beta2**t)
            ws[i] = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append([w.copy() for w in ws])
    return history


def ref_adamw(ws, grad_seq, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return ref_adam(ws, grad_seq, lr, beta1, beta2, eps, weight_decay, decoupled=True)


REF = {
    optim.SGD: ref_sgd,
    optim.RMSProp: ref_rmsprop,
    optim.Adam: ref_adam,
    optim.AdamW: ref_adamw,
}

# (class, hyperparameters) pairs: defaults, and every option of the contract.
CONFIGS = [
    (optim.SGD, {}),
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.2}),
    (optim.SGD, {"lr": 0.05, "weight_decay": 0.3}),
    (optim.RMSProp, {}),
    (optim.RMSProp, {"lr": 0.02, "beta": 0.9}),
    (optim.RMSProp, {"lr": 0.02, "beta": 0.9, "eps": 1e-3, "weight_decay": 0.1}),
    (optim.Adam, {}),
    (optim.Adam, {"lr": 0.05}),
    (optim.Adam, {"lr": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-4}),
    (optim.Adam, {"lr": 0.05, "weight_decay": 0.1}),
    (optim.AdamW, {}),
    (optim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.0}),
]


def config_id(c):
    cls, hp = c
    return cls.__name__ + ("-" + "-".join(f"{k}={v}" for k, v in hp.items()) if hp else "-defaults")


def make_params(rng):
    """A matrix, a vector and a (1, 1) array: the optimizer must handle a list of shapes."""
    return [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((1, 1))]


def grad_sequence(rng, params, n=N_STEPS):
    return [[rng.standard_normal(p.shape) for p in params] for _ in range(n)]


# ---------------------------------------------------------------- step formulas


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_matches_hand_written_formulas(config, seed):
    cls, hp = config
    rng = rng_for(seed)
    params = make_params(rng)
    w0 = [p.copy() for p in params]
    grad_seq = grad_sequence(rng, params)
    want = REF[cls](w0, grad_seq, **hp)
    opt = cls(params, **hp)
    for t, grads in enumerate(grad_seq):
        g_before = [g.copy() for g in grads]
        opt.step(grads)
        for i, (g, gb) in enumerate(zip(grads, g_before)):
            assert np.array_equal(g, gb), f"{config_id(config)}: step modified grads[{i}] at step {t}"
        for i, (p, w) in enumerate(zip(params, want[t])):
            assert_close(p, w, rtol=1e-6, atol=1e-10,
                         what=f"{config_id(config)}: params[{i}] after step {t + 1}")


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_matches_formulas_with_gradients_of_a_quadratic(config):
    """Gradients that depend on the current weights (as in training), several steps.

    The package's iterates are recorded with the gradients it was given; replaying
    those gradients through the hand-written formulas must give the same iterates.
    """
    cls, hp = config
    rng = rng_for(42)
    A = rng.standard_normal((4, 4))
    A = A @ A.T + np.eye(4)
    b = rng.standard_normal(4)
    w = rng.standard_normal(4)
    w0 = w.copy()
    opt = cls([w], **hp)
    grads_seen, iterates = [], []
    for _ in range(N_STEPS):
        g = A @ w - b
        grads_seen.append([g])
        opt.step([g])
        iterates.append(w.copy())
    hist = REF[cls]([w0], grads_seen, **hp)
    for t in range(N_STEPS):
        assert_close(iterates[t], hist[t][0], rtol=1e-6, atol=1e-10,
                     what=f"{config_id(config)} on a quadratic, iterate {t + 1}")


# ---------------------------------------------------------------- in place, never the grads


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_step_updates_params_in_place(config):
    cls, hp = config
    rng = rng_for(3)
    params = make_params(rng)
    ids = [id(p) for p in params]
    before = [p.copy() for p in params]
    opt = cls(params, **hp)
    grads = [rng.standard_normal(p.shape) + 0.5 for p in params]
    g_before = [g.copy() for g in grads]
    for _ in range(3):
        opt.step(grads)
    assert [id(p) for p in params] == ids
    for i, (p, b) in enumerate(zip(params, before)):
        assert p.dtype == np.float64 and p.shape == b.shape
        assert not np.array_equal(p, b), f"params[{i}] not updated in place (the caller's array is unchanged)"
    for i, (g, gb) in enumerate(zip(grads, g_before)):
        assert np.array_equal(g, gb), f"grads[{i}] were modified by step()"


@pytest.mark.parametrize("cls", [optim.SGD, optim.RMSProp, optim.Adam, optim.AdamW])
def test_zero_lr_changes_nothing(cls):
    rng = rng_for(5)
    params = make_params(rng)
    before = [p.copy() for p in params]
    opt = cls(params, lr=0.0)
    opt.step([rng.standard_normal(p.shape) for p in params])
    for p, b in zip(params, before):
        assert np.array_equal(p, b)


# ---------------------------------------------------------------- defaults and errors


@pytest.mark.parametrize("cls,defaults", [
    (optim.SGD, {"lr": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0}),
    (optim.RMSProp, {"lr": 0.01, "beta": 0.99, "eps": 1e-8, "weight_decay": 0.0}),
    (optim.Adam, {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}),
    (optim.AdamW, {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}),
])
def test_defaults_are_the_contracts(cls, defaults):
    """Omitted hyperparameters behave exactly like the contract's defaults passed explicitly."""
    rng = rng_for(6)
    p1 = make_params(rng)
    p2 = [p.copy() for p in p1]
    o1, o2 = cls(p1), cls(p2, **defaults)
    for _ in range(4):
        grads = [rng.standard_normal(p.shape) for p in p1]
        o1.step(grads)
        o2.step(grads)
    for a, b in zip(p1, p2):
        assert np.array_equal(a, b)


def test_nesterov_without_momentum_raises():
    w = [np.zeros(3)]
    with pytest.raises(ValueError):
        optim.SGD(w, lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        optim.SGD(w, lr=0.1, momentum=0.0, nesterov=True)
    optim.SGD(w, lr=0.1, momentum=0.9, nesterov=True)  # fine


def test_first_adam_step_is_about_lr():
    """Bias correction: the first Adam step is lr * g / (|g| + eps) ~ lr * sign(g)."""
    w = np.zeros(5)
    g = np.array([1e-3, -2.0, 5.0, -1e-2, 3e2])
    optim.Adam([w], lr=0.1).step([g])
    assert_close(w, -0.1 * g / (np.abs(g) + 1e-8), what="first Adam step")


def test_adamw_decay_is_decoupled():
    """With zero gradients AdamW shrinks w by (1 - lr wd) per step; Adam's coupled decay does not."""
    w = np.array([1.0, -2.0, 3.0])
    opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        opt.step([np.zeros(3)])
    assert_close(w, np.array([1.0, -2.0, 3.0]) * (1 - 0.05) ** 3, what="AdamW with g = 0")


# ---------------------------------------------------------------- convergence on a convex quadratic


CONVERGE = [
    (optim.SGD, {"lr": 0.05}),
    (optim.SGD, {"lr": 0.02, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    (optim.RMSProp, {"lr": 0.01}),
    (optim.Adam, {"lr": 0.05}),
    (optim.AdamW, {"lr": 0.05, "weight_decay": 1e-4}),
]


@pytest.mark.parametrize("config", CONVERGE, ids=config_id)
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_reduces_a_convex_quadratic(config, seed):
    cls, hp = config
    rng = rng_for(seed)
    n = 5
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    A = Q @ np.diag(np.linspace(1.0, 10.0, n)) @ Q.T  # condition number 10
    b = rng.standard_normal(n)
    w_star = np.linalg.solve(A, b)

    def f(w):
        return 0.5 * w @ A @ w - b @ w

    w = w_star + rng.standard_normal(n)
    f0, d0 = f(w) - f(w_star), np.linalg.norm(w - w_star)
    opt = cls([w], **hp)
    for _ in range(1000):
        opt.step([A @ w - b])
    assert f(w) - f(w_star) < 1e-2 * f0, f"{config_id(config)}: excess loss {f(w) - f(w_star):.3g} (start {f0:.3g})"
    assert np.linalg.norm(w - w_star) < 0.1 * d0


# ---------------------------------------------------------------- schedules


@given(st.floats(1e-6, 10.0), st.integers(0, 10_000), st.floats(0.0, 5.0))
@FAST
def test_inverse_time_decay(lr0, t, k):
    got = optim.inverse_time_decay(lr0, t, k=k)
    assert_close(got, lr0 / (1 + k * t), rtol=1e-12, atol=0, what="inverse_time_decay")


def test_inverse_time_decay_defaults_and_values():
    assert optim.inverse_time_decay(0.1, 0) == pytest.approx(0.1)
    assert optim.inverse_time_decay(0.1, 1) == pytest.approx(0.05)  # k = 1.0
    assert optim.inverse_time_decay(0.1, 9) == pytest.approx(0.01)
    assert optim.inverse_time_decay(1.0, 3, k=0.5) == pytest.approx(0.4)
    lrs = np.array([optim.inverse_time_decay(1.0, t) for t in range(2000)])
    assert np.all(np.diff(lrs) < 0), "decreasing"


@given(st.floats(1e-6, 10.0), st.integers(0, 500), st.floats(0.01, 1.0), st.integers(1, 50))
@FAST
def test_step_decay(lr0, t, drop, every):
    got = optim.step_decay(lr0, t, drop=drop, every=every)
    assert_close(got, lr0 * drop ** (t // every), rtol=1e-12, atol=0, what="step_decay")


def test_step_decay_defaults_and_values():
    # defaults drop = 0.5, every = 10
    assert [optim.step_decay(1.0, t) for t in (0, 9, 10, 19, 20, 35)] == pytest.approx(
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.125])
    assert optim.step_decay(0.3, 7, drop=0.1, every=3) == pytest.approx(0.3 * 0.01)

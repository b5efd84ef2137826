"""Hidden checks of ``nntricks.regularization`` (10 points)."""

import math

import numpy as np

from . import Fail, Mistake, check, describe_type


def _weights(r, with_zeros=False):
    ws = [r.normal(size=(4, 3)), r.normal(size=(3,)), r.normal(size=(2, 5)) * 3]
    if with_zeros:
        ws[0][0, :] = 0.0
        ws[2][1, 2] = 0.0
    return ws


def _sq(ws):
    return sum(float(np.sum(W * W)) for W in ws)


L2_MISTAKES = [
    Mistake("forgot the 1/2", "the penalty is 1/2 lam sum ||W||_F^2 (so that its gradient is lam W).",
            lambda weights, lam: lam * _sq(weights)),
    Mistake("used the norm instead of its square", "sum of the SQUARED Frobenius norms: np.sum(W * W).",
            lambda weights, lam: 0.5 * lam * sum(math.sqrt(float(np.sum(W * W))) for W in weights)),
    Mistake("forgot lam", "multiply by lam.", lambda weights, lam: 0.5 * _sq(weights)),
    Mistake("only the first array", "sum over EVERY array of the list.", lambda weights, lam: 0.5 * lam * _sq(weights[:1])),
    Mistake("averaged instead of summed", "sum the squares (np.sum), do not average them.",
            lambda weights, lam: 0.5 * lam * sum(float(np.mean(W * W)) for W in weights)),
]
L1_MISTAKES = [
    Mistake("forgot the absolute value", "lam * sum |W|: np.abs before summing.",
            lambda weights, lam: lam * sum(float(np.sum(W)) for W in weights)),
    Mistake("a factor 1/2 that L1 does not have", "the L1 penalty is lam * sum |W|.",
            lambda weights, lam: 0.5 * lam * sum(float(np.sum(np.abs(W))) for W in weights)),
    Mistake("squared the weights", "that is L2; L1 sums absolute values.", lambda weights, lam: lam * _sq(weights)),
    Mistake("forgot lam", "multiply by lam.", lambda weights, lam: sum(float(np.sum(np.abs(W))) for W in weights)),
    Mistake("only the first array", "sum over EVERY array.", lambda weights, lam: lam * float(np.sum(np.abs(weights[0])))),
]
L2_GRAD_MISTAKES = [
    Mistake("a factor 2", "the 1/2 of the penalty cancels the 2 of the square: the gradient is lam * W.",
            lambda weights, lam: [2 * lam * W for W in weights]),
    Mistake("forgot lam", "the gradient is lam * W.", lambda weights, lam: [W.copy() for W in weights]),
]
L1_GRAD_MISTAKES = [
    Mistake("W / |W| gives NaN at W = 0", "use np.sign(W), which is 0 at 0 (PyTorch's sign too).",
            when=lambda i, got, want: isinstance(got, (list, tuple)) and any(
                isinstance(g, np.ndarray) and g.dtype.kind == "f" and not np.isfinite(g).all() for g in got)),
    Mistake("the subgradient at 0 is not 0", "np.sign(0) = 0: weights that are exactly 0 get no gradient.",
            lambda weights, lam: [lam * np.where(W >= 0, 1.0, -1.0) for W in weights]),
    Mistake("forgot lam", "lam * sign(W).", lambda weights, lam: [np.sign(W) for W in weights]),
    Mistake("the L2 gradient instead", "the L1 gradient is lam * sign(W), not lam * W.",
            lambda weights, lam: [lam * W for W in weights]),
]


@check("l2_penalty", 1.5, "l2_penalty")
def l2_penalty(ctx):
    """l2_penalty = 1/2 lam sum ||W||_F^2 over a list of arrays (lam = 0 included)."""
    r = ctx.rng()
    for lam in (0.1, 2.5, 0.0):
        ctx.expect("regularization.l2_penalty", _weights(r), lam, mistakes=L2_MISTAKES)
    ctx.expect("regularization.l2_penalty", [r.normal(size=(6, 6)) * 100], 1e-3, mistakes=L2_MISTAKES)


@check("l2_penalty_grad", 1, "l2_penalty_grad")
def l2_penalty_grad(ctx):
    """l2_penalty_grad = [lam * W]: a list of new arrays of the weights' shapes."""
    r = ctx.rng()
    for lam in (0.1, 3.0):
        ctx.expect("regularization.l2_penalty_grad", _weights(r), lam, mistakes=L2_GRAD_MISTAKES)


@check("l1_penalty", 1.5, "l1_penalty")
def l1_penalty(ctx):
    """l1_penalty = lam sum |W| over a list of arrays."""
    r = ctx.rng()
    for lam in (0.1, 2.5, 0.0):
        ctx.expect("regularization.l1_penalty", _weights(r, with_zeros=True), lam, mistakes=L1_MISTAKES)


@check("l1_penalty_grad", 1.5, "l1_penalty_grad")
def l1_penalty_grad(ctx):
    """l1_penalty_grad = [lam * sign(W)], 0 where W = 0."""
    r = ctx.rng()
    for lam in (0.1, 2.0):
        ctx.expect("regularization.l1_penalty_grad", _weights(r, with_zeros=True), lam, mistakes=L1_GRAD_MISTAKES)


WD_MISTAKES = [
    Mistake("decay not multiplied by the learning rate", "W_new = (1 - lr * lam) * W - lr * grad.",
            lambda W, grad, lr, lam: (1 - lam) * W - lr * grad),
    Mistake("the decay subtracted without the learning rate", "W_new = W - lr * (grad + lam * W).",
            lambda W, grad, lr, lam: W - lr * grad - lam * W),
    Mistake("the gradient step has the wrong sign", "step AGAINST the gradient: - lr * grad.",
            lambda W, grad, lr, lam: (1 - lr * lam) * W + lr * grad),
    Mistake("no decay", "the weights shrink by (1 - lr * lam) first.", lambda W, grad, lr, lam: W - lr * grad),
    Mistake("the decay factor applied to the whole step", "(1 - lr lam) multiplies W only.",
            lambda W, grad, lr, lam: (1 - lr * lam) * (W - lr * grad)),
]


@check("weight_decay_step", 1.5, "weight_decay_step")
def weight_decay_step(ctx):
    """weight_decay_step = (1 - lr lam) W - lr grad, a new array (W unchanged)."""
    r = ctx.rng()
    for lr, lam, shape in ((0.1, 0.01, (4, 3)), (0.5, 0.2, (5,)), (0.01, 0.0, (2, 2)), (1.0, 0.5, (3, 1))):
        ctx.expect("regularization.weight_decay_step", r.normal(size=shape), r.normal(size=shape), lr, lam,
                   mistakes=WD_MISTAKES)


def _noise_draws(ctx):
    key = "gaussian_noise-draws"
    if key in ctx.shared:
        return ctx.shared[key]
    r = ctx.rng(0)
    x = r.normal(size=(200, 500)) * 2 + 1
    small = r.normal(size=(4, 3))
    p = ctx.program()
    xr = p.array(x)
    g = p.rng(7)
    idx = {
        "a": p.emit(p.call("regularization.gaussian_noise", xr, 0.3, rng=g)),
        "again": p.emit(p.call("regularization.gaussian_noise", xr, 0.3, rng=g)),
        "same_seed": p.emit(p.call("regularization.gaussian_noise", xr, 0.3, rng=p.rng(7))),
        "zero": p.emit(p.call("regularization.gaussian_noise", small, 0.0, rng=p.rng(1))),
        "none1": p.emit(p.call("regularization.gaussian_noise", small, 1.0)),
        "none2": p.emit(p.call("regularization.gaussian_noise", small, 1.0)),
        "x_after": p.emit(xr),
    }
    values = ctx.run(p, "gaussian_noise(x, std, rng=...)")
    out = {k: values[i] for k, i in idx.items()}
    out["x"], out["small"] = x, small
    ctx.shared[key] = out
    return out


def _valid(label, got, shape):
    if not isinstance(got, np.ndarray) or got.shape != shape or got.dtype != np.float64:
        raise Fail(f"{label} returned {describe_type(got)}, expected a float64 array of shape {shape}")


@check("gaussian_noise_distribution", 2, "gaussian_noise")
def gaussian_noise_distribution(ctx):
    """gaussian_noise adds independent N(0, std^2) noise: mean, standard deviation and shape of the
    distribution of (out - x) on 100000 entries; x unchanged; std = 0 returns x's values."""
    d = _noise_draws(ctx)
    x = d["x"]
    label = "gaussian_noise(x, std=0.3, rng=...)"
    _valid(label, d["a"], x.shape)
    if not isinstance(d["x_after"], np.ndarray) or not np.array_equal(d["x_after"], x):
        raise Fail(f"{label} modified x in place: return x + noise as a new array.")
    noise = (d["a"] - x).ravel()
    n, std = noise.size, 0.3
    problems = []
    if abs(noise.mean()) > 6 * std / math.sqrt(n):
        problems.append(f"the noise's mean is {noise.mean():.4g}, expected 0")
    s = noise.std()
    if abs(s / std - 1) > 6 / math.sqrt(2 * n):
        problems.append(f"the noise's standard deviation is {s:.6g}, expected {std}")
    c = noise - noise.mean()
    k = float(np.mean(c**4) / np.mean(c * c) ** 2 - 3) if s > 0 else 0.0
    if abs(k) > 0.1:
        problems.append(f"the noise's excess kurtosis is {k:.3g}, a normal distribution has 0")
    if problems:
        text = f"{label} on x of shape {x.shape}: " + "; ".join(problems) + "."
        if abs(s / std**2 - 1) < 0.02:
            text += "\nLikely mistake: used the variance as the standard deviation. Hint: rng.normal(0, std, size=x.shape)."
        elif abs(s / math.sqrt(std) - 1) < 0.02:
            text += "\nLikely mistake: std used as a variance. Hint: rng.normal takes the standard deviation itself."
        elif abs(k + 1.2) < 0.1:
            text += "\nLikely mistake: uniform noise. Hint: draw normal noise, rng.normal(0, std, size=x.shape)."
        raise Fail(text)
    zero = d["zero"]
    _valid("gaussian_noise(x, std=0.0)", zero, d["small"].shape)
    if not np.array_equal(zero, d["small"]):
        raise Fail("gaussian_noise(x, std=0.0) should return x's values unchanged (a copy).")


@check("gaussian_noise_rng", 1, "gaussian_noise")
def gaussian_noise_rng(ctx):
    """gaussian_noise: the same seed gives the same array, a second draw from one generator a new one,
    rng=None works."""
    d = _noise_draws(ctx)
    x = d["x"]
    for key in ("a", "again", "same_seed"):
        _valid("gaussian_noise(x, std=0.3, rng=...)", d[key], x.shape)
    for key in ("none1", "none2"):
        _valid("gaussian_noise(x, std=1.0) with rng=None", d[key], d["small"].shape)
    if not np.array_equal(d["a"], d["same_seed"]):
        raise Fail("gaussian_noise with two generators of the same seed gave different arrays: draw the noise from "
                   "the rng you are given (rng.normal(...)), never from np.random.* functions.")
    if np.array_equal(d["a"], d["again"]):
        raise Fail("gaussian_noise called twice with one generator gave the same noise: use the rng as given "
                   "(do not re-seed it).")
    if np.array_equal(d["none1"], d["none2"]):
        raise Fail("gaussian_noise with rng=None gave the same noise twice: rng=None means a fresh "
                   "np.random.default_rng().")


# ------------------------------------------------- floats and new arrays


@check("l2_penalty_returns_float", 0.25, "l2_penalty")
def l2_penalty_returns_float(ctx):
    """l2_penalty returns a float (a Python float or numpy float64), not a 0-d or 1-element array."""
    r = ctx.rng(3)
    ctx.expect_float("regularization.l2_penalty", _weights(r), 0.1, mistakes=L2_MISTAKES)
    ctx.expect_float("regularization.l2_penalty", [r.normal(size=(1,))], 0.5, mistakes=L2_MISTAKES)


@check("l1_penalty_returns_float", 0.25, "l1_penalty")
def l1_penalty_returns_float(ctx):
    """l1_penalty returns a float, not a 0-d or 1-element array."""
    r = ctx.rng(3)
    ctx.expect_float("regularization.l1_penalty", _weights(r), 0.1, mistakes=L1_MISTAKES)
    ctx.expect_float("regularization.l1_penalty", [r.normal(size=(1,))], 0.5, mistakes=L1_MISTAKES)


GRADS_ALIAS = Mistake("returned the weights themselves (or views of them)", "the gradients are new arrays: "
                      "lam * W (or lam * np.sign(W)) always allocates one; a shortcut such as returning weights "
                      "when lam == 1 hands the caller its own weights as gradients.")


@check("l2_penalty_grad_new_arrays", 0.5, "l2_penalty_grad")
def l2_penalty_grad_new_arrays(ctx):
    """l2_penalty_grad returns new arrays: writing into them leaves the weights unchanged (lam = 1 and 0.1)."""
    r = ctx.rng(4)
    for lam in (1.0, 0.1):
        ctx.expect_new_arrays("regularization.l2_penalty_grad", _weights(r), lam, paths=[(0,), (1,), (2,)],
                              mistakes=L2_GRAD_MISTAKES,
                              mistake=GRADS_ALIAS)

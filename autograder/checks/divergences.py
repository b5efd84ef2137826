"""Hidden checks of ``nntricks.divergences``, part 1: L2, binary cross-entropy and KL
(part 2, softmax and softmax cross-entropy, is ``divergences_softmax``)."""

import numpy as np

from . import Mistake, check, gradient_consistency

# --------------------------------------------------------------------- helpers


def _B(y):
    y = np.asarray(y)
    return y.shape[0] if y.ndim > 0 else 1


def _B_z(z):
    return z.shape[0] if np.ndim(z) == 2 else 1


def _softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(z, axis=-1):
    s = z - np.max(z, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def _nonfinite_where_finite(inputs, got, want):
    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return g.shape == w.shape and bool(np.isfinite(w).all()) and not bool(np.isfinite(g).all())


def _probs(rng, B, K, zeros=0.0):
    """Soft targets: rows of a Dirichlet, optionally with exact zeros."""
    d = rng.dirichlet(np.full(K, 0.7), size=B)
    if zeros:
        d = np.where(rng.random((B, K)) < zeros, 0.0, d)
        d[np.arange(B), rng.integers(0, K, B)] += 0.1
        d /= d.sum(axis=1, keepdims=True)
    return d


def _one_hot(rng, B, K):
    d = np.zeros((B, K))
    d[np.arange(B), rng.integers(0, K, B)] = 1.0
    return d


# -------------------------------------------------------------------------- L2

L2_MISTAKES = [
    Mistake("forgot the 1/B", "l2 is the MEAN over the batch of 1/2 ||y - d||^2: divide the sum by "
            "B = y.shape[0].", lambda y, d: 0.5 * np.sum((y - d) ** 2)),
    Mistake("forgot the 1/2", "each instance contributes 1/2 ||y - d||^2.",
            lambda y, d: np.sum((y - d) ** 2) / _B(y)),
    Mistake("averaged over the outputs as well", "sum over the outputs of an instance, average over "
            "the instances only (divide by B, not by y.size).", lambda y, d: 0.5 * np.mean((y - d) ** 2)),
    Mistake("averaged over everything without the 1/2", "l2 = 1/B sum_b 1/2 sum_k (y_bk - d_bk)^2.",
            lambda y, d: np.mean((y - d) ** 2)),
    Mistake("used the norm instead of the squared norm", "square the differences: no square root.",
            lambda y, d: 0.5 * np.sqrt(np.sum((y - d) ** 2)) / _B(y)),
    Mistake("divided by the number of outputs instead of the batch size", "B = y.shape[0], the number "
            "of instances (rows).", lambda y, d: 0.5 * np.sum((y - d) ** 2) / y.shape[-1]),
]
L2_GRAD_MISTAKES = [
    Mistake("forgot the 1/B", "the loss is a mean over the batch, so its gradient carries 1/B.",
            lambda y, d: y - d),
    Mistake("the sign is reversed", "differentiate 1/2 (y - d)^2 with respect to y, not d: the inner "
            "derivative of (y - d) with respect to y is +1.", lambda y, d: (d - y) / _B(y)),
    Mistake("divided by y.size instead of B", "only the batch is averaged: divide by B = y.shape[0].",
            lambda y, d: (y - d) / y.size),
    Mistake("kept a factor 1/2", "the 1/2 cancels the 2 of the square.", lambda y, d: 0.5 * (y - d) / _B(y)),
]


def _l2_cases(ctx):
    r = ctx.rng()
    shapes = [(8, 5), (2, 1), (64, 10), (1, 3), (7,), (3, 4)]
    cases = [(r.normal(size=s), r.normal(size=s)) for s in shapes]
    cases.append((r.normal(size=(5, 4)) * 1e6, r.normal(size=(5, 4)) * 1e6))  # large magnitudes
    cases.append((r.normal(size=(4, 3)) * 1e-4, r.normal(size=(4, 3)) * 1e-4))
    return cases


@check("l2_values", 2, "l2")
def l2_values(ctx):
    """l2 against the reference: several shapes (B = 1, 2, 64; D = 1; 1-D batches), large magnitudes."""
    for y, d in _l2_cases(ctx):
        ctx.expect("divergences.l2", y, d, mistakes=L2_MISTAKES)


@check("l2_grad_values", 1, "l2_grad")
def l2_grad_values(ctx):
    """l2_grad against the reference on the same inputs."""
    for y, d in _l2_cases(ctx):
        ctx.expect("divergences.l2_grad", y, d, mistakes=L2_GRAD_MISTAKES)


@check("l2_grad_matches_numeric", 0.5, "l2_grad", uses=("l2",))
def l2_grad_matches_numeric(ctx):
    """l2_grad is the derivative of the student's own l2 (central differences)."""
    r = ctx.rng()
    gradient_consistency(ctx, "divergences.l2", "divergences.l2_grad", (r.normal(size=(3, 4)), r.normal(size=(3, 4))),
                         loss_mistakes=L2_MISTAKES, grad_mistakes=L2_GRAD_MISTAKES)


# ------------------------------------------------------------------------- BCE


def _bce_raw(y, d):
    return -(d * np.log(y) + (1 - d) * np.log(1 - y))


BCE_MISTAKES = [
    Mistake("y not clipped before the log", "clip y to [eps, 1 - eps] BEFORE taking logs "
            "(np.clip(y, eps, 1 - eps)); clipping the log's result afterwards is too late.",
            when=_nonfinite_where_finite),
    Mistake("eps added inside the logs instead of clipping y", "the contract clips: yc = np.clip(y, eps, "
            "1 - eps), then log(yc) and log(1 - yc).",
            lambda y, d, eps: np.sum(-(d * np.log(y + eps) + (1 - d) * np.log(1 - y + eps))) / _B(y)),
    Mistake("clipped y to [eps, 1] instead of [eps, 1 - eps]", "both ends need the margin: log(1 - y) "
            "sees 0 when y = 1.", lambda y, d, eps: np.sum(_bce_raw(np.clip(y, eps, 1.0), d)) / _B(y)),
    Mistake("forgot the 1/B", "sum over the outputs, mean over the batch.",
            lambda y, d, eps: np.sum(_bce_raw(np.clip(y, eps, 1 - eps), d))),
    Mistake("averaged over the outputs as well", "sum over the outputs of an instance, divide by B only.",
            lambda y, d, eps: np.mean(_bce_raw(np.clip(y, eps, 1 - eps), d))),
    Mistake("forgot the (1 - d) log(1 - y) term", "binary cross-entropy has two terms.",
            lambda y, d, eps: -np.sum(d * np.log(np.clip(y, eps, 1 - eps))) / _B(y)),
]


def _bce_grad_formula(yc, d):
    return (yc - d) / (yc * (1 - yc)) / _B(yc)


BCE_GRAD_MISTAKES = [
    Mistake("y not clipped", "evaluate the formula at the clipped y (np.clip(y, eps, 1 - eps)): "
            "at y = 0 or 1 it divides by 0.", when=_nonfinite_where_finite),
    Mistake("eps added to the denominator instead of clipping y", "clip y first (np.clip(y, eps, 1 - eps)) "
            "and evaluate your derivative at the clipped yc: an eps added inside changes it everywhere.", lambda y, d, eps: (y - d) / (y * (1 - y) + eps) / _B(y)),
    Mistake("clipped y in the denominator only", "use the clipped yc everywhere in the derivative, the "
            "numerator included.",
            lambda y, d, eps: (y - d) / (np.clip(y, eps, 1 - eps) * (1 - np.clip(y, eps, 1 - eps))) / _B(y)),
    Mistake("forgot the 1/B", "the loss is a mean over the batch.",
            lambda y, d, eps: _bce_grad_formula(np.clip(y, eps, 1 - eps), d) * _B(y)),
    Mistake("the sign is reversed", "differentiate -d log y - (1-d) log(1-y) term by term, keeping the "
            "leading minus signs and the chain rule's factor -1 of log(1 - y).",
            lambda y, d, eps: -_bce_grad_formula(np.clip(y, eps, 1 - eps), d)),
    Mistake("divided by y.size instead of B", "only the batch is averaged.",
            lambda y, d, eps: _bce_grad_formula(np.clip(y, eps, 1 - eps), d) * _B(y) / y.size),
]


def _bce_cases(ctx):
    r = ctx.rng()
    cases = []
    for shape in [(8, 3), (2, 1), (32, 5), (6,)]:
        y = r.uniform(0.02, 0.98, size=shape)
        d = (r.random(shape) < 0.5).astype(float)
        cases.append((y, d))
    y = r.uniform(0.05, 0.95, size=(5, 4))
    cases.append((y, r.random((5, 4))))  # soft targets
    return cases


def _bce_edge_cases(ctx):
    """y at and beyond the clipping bounds, where eps placement matters."""
    r = ctx.rng(1)
    y = np.array([[0.0, 1.0, 0.3], [1e-15, 1 - 1e-15, 0.7], [1e-13, 0.5, 1.0 - 1e-13]])
    d = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    cases = [(y, d, {})]
    # a larger eps makes clipping and "+ eps" distinguishable
    y2 = np.array([[0.0, 1e-4, 5e-4, 0.3], [1.0, 1 - 1e-4, 2e-3, 0.9]])
    d2 = np.array([[1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    cases.append((y2, d2, {"eps": 1e-3}))
    d3 = np.array([[0.0, 0.0, 1.0, 0.5], [1.0, 1.0, 0.0, 0.5]])
    cases.append((y2, d3, {"eps": 1e-3}))
    cases.append((r.uniform(0, 1, size=(6, 3)).round(1), r.random((6, 3)).round(), {}))
    return cases


@check("bce_values", 1.5, "bce")
def bce_values(ctx):
    """bce against the reference: binary and soft targets, several shapes, 1-D batches."""
    for y, d in _bce_cases(ctx):
        ctx.expect("divergences.bce", y, d, mistakes=BCE_MISTAKES)


@check("bce_clipping", 1, "bce")
def bce_clipping(ctx):
    """bce at y = 0, y = 1 and beyond [eps, 1 - eps] (default and large eps): finite, clipped first."""
    for y, d, kw in _bce_edge_cases(ctx):
        ctx.expect("divergences.bce", y, d, mistakes=BCE_MISTAKES, **kw)


@check("bce_grad_values", 1, "bce_grad")
def bce_grad_values(ctx):
    """bce_grad against the reference on ordinary inputs."""
    for y, d in _bce_cases(ctx):
        ctx.expect("divergences.bce_grad", y, d, mistakes=BCE_GRAD_MISTAKES)


@check("bce_grad_clipping", 0.5, "bce_grad")
def bce_grad_clipping(ctx):
    """bce_grad at and beyond the clipping bounds: the formula at the clipped y, finite."""
    for y, d, kw in _bce_edge_cases(ctx):
        ctx.expect("divergences.bce_grad", y, d, mistakes=BCE_GRAD_MISTAKES, **kw)


@check("bce_grad_matches_numeric", 0.5, "bce_grad", uses=("bce",))
def bce_grad_matches_numeric(ctx):
    """bce_grad is the derivative of the student's own bce inside (eps, 1 - eps)."""
    r = ctx.rng()
    gradient_consistency(ctx, "divergences.bce", "divergences.bce_grad",
                         (r.uniform(0.1, 0.9, size=(3, 3)), r.random((3, 3))), loss_mistakes=BCE_MISTAKES,
                         grad_mistakes=BCE_GRAD_MISTAKES)


# -------------------------------------------------------------------------- KL


def _xlogx(d):
    return np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0)


KL_MISTAKES = [
    Mistake("0 log 0 gives NaN", "where d = 0 the term d log d must be 0: use np.where(d > 0, "
            "d * np.log(np.where(d > 0, d, 1)), 0) (and clip y to [eps, 1] before its log).",
            when=_nonfinite_where_finite),
    Mistake("dropped the d log d term", "KL = sum d log d - d log y: without d log d it is the "
            "cross-entropy, which differs for soft targets (and is not 0 at y = d).",
            lambda y, d, eps: -np.sum(d * np.log(np.clip(y, eps, 1.0))) / _B(y)),
    Mistake("forgot the 1/B", "sum over the outputs, mean over the batch.",
            lambda y, d, eps: np.sum(_xlogx(d) - d * np.log(np.clip(y, eps, 1.0)))),
    Mistake("eps added inside the log instead of clipping y", "clip y to [eps, 1] and take log of that.",
            lambda y, d, eps: np.sum(_xlogx(d) - d * np.log(y + eps)) / _B(y)),
    Mistake("averaged over the outputs as well", "sum over the outputs, divide by B only.",
            lambda y, d, eps: np.mean(_xlogx(d) - d * np.log(np.clip(y, eps, 1.0)))),
    Mistake("the sign of the d log d term is reversed", "KL = sum d log d - sum d log y.",
            lambda y, d, eps: np.sum(-_xlogx(d) - d * np.log(np.clip(y, eps, 1.0))) / _B(y)),
]
KL_GRAD_MISTAKES = [
    Mistake("y not clipped", "evaluate -d / y at the clipped y = np.clip(y, eps, 1).", when=_nonfinite_where_finite),
    Mistake("forgot the 1/B", "the loss is a mean over the batch.",
            lambda y, d, eps: -d / np.clip(y, eps, 1.0)),
    Mistake("eps added to y instead of clipping", "use np.clip(y, eps, 1).",
            lambda y, d, eps: -d / (y + eps) / _B(y)),
    Mistake("the sign is reversed", "d/dy (-d log y) = -d / y.", lambda y, d, eps: d / np.clip(y, eps, 1.0) / _B(y)),
    Mistake("y not clipped", "evaluate -d / y at the clipped y = np.clip(y, eps, 1).",
            lambda y, d, eps: -d / y / _B(y)),
]


def _kl_cases(ctx):
    r = ctx.rng()
    cases = []
    for B, K in [(6, 4), (2, 3), (32, 10), (1, 5)]:
        cases.append((_softmax(r.normal(size=(B, K))), _probs(r, B, K)))
    y = _probs(r, 5, 4)
    cases.append((y, y.copy()))  # y = d: KL is 0 only with the d log d term
    cases.append((r.uniform(0.05, 0.95, size=7), r.uniform(0.05, 0.95, size=7)))  # 1-D batch of scalars
    return cases


def _kl_zero_cases(ctx):
    r = ctx.rng(2)
    y = _softmax(r.normal(size=(6, 5)))
    cases = [(y, _probs(r, 6, 5, zeros=0.4)), (y, _one_hot(r, 6, 5))]
    y2 = y.copy()
    y2[0, :] = [0.0, 0.0, 1.0, 0.0, 0.0]  # zeros in y where d > 0 and where d = 0
    y2[1, 0] = 1e-20
    d2 = _probs(r, 6, 5, zeros=0.3)
    d2[0, :] = [0.5, 0.0, 0.5, 0.0, 0.0]
    cases.append((y2, d2))
    return cases


@check("kl_values", 1.5, "kl")
def kl_values(ctx):
    """kl against the reference with soft targets (where d log d matters), y = d, 1-D batches."""
    for y, d in _kl_cases(ctx):
        ctx.expect("divergences.kl", y, d, mistakes=KL_MISTAKES)


@check("kl_zero_targets", 1, "kl")
def kl_zero_targets(ctx):
    """kl with exact zeros in d (0 log 0 = 0) and in y (clipped to eps): finite and correct."""
    for y, d in _kl_zero_cases(ctx):
        ctx.expect("divergences.kl", y, d, mistakes=KL_MISTAKES)
    ctx.expect("divergences.kl", *_kl_zero_cases(ctx)[2], eps=1e-3, mistakes=KL_MISTAKES)


@check("kl_grad_values", 1, "kl_grad")
def kl_grad_values(ctx):
    """kl_grad against the reference, including zeros in y and d."""
    for y, d in _kl_cases(ctx) + _kl_zero_cases(ctx):
        ctx.expect("divergences.kl_grad", y, d, mistakes=KL_GRAD_MISTAKES)
    ctx.expect("divergences.kl_grad", *_kl_zero_cases(ctx)[2], eps=1e-3, mistakes=KL_GRAD_MISTAKES)


@check("kl_grad_matches_numeric", 0.5, "kl_grad", uses=("kl",))
def kl_grad_matches_numeric(ctx):
    """kl_grad is the derivative of the student's own kl (y inside (eps, 1))."""
    r = ctx.rng()
    gradient_consistency(ctx, "divergences.kl", "divergences.kl_grad",
                         (r.uniform(0.1, 0.9, size=(3, 4)), _probs(r, 3, 4)), loss_mistakes=KL_MISTAKES,
                         grad_mistakes=KL_GRAD_MISTAKES)




def _above_one_cases(ctx):
    """y with entries slightly above 1 (rounding in a sigmoid or softmax) where d > 0."""
    r = ctx.rng(3)
    cases = []
    for B, K in [(4, 3), (6, 5)]:
        y, d = _softmax(r.normal(size=(B, K)) * 3), _probs(r, B, K)
        y[0, 0], y[-1, -1] = 1.0 + 1e-3, 1.0 + 0.05
        cases.append((y, d))
    return cases


KL_UPPER_MISTAKES = [
    Mistake("y clipped from below only", "the contract clips y to [eps, 1]: np.clip(y, eps, 1), so that a y "
            "slightly above 1 (rounding) counts as 1, not as a probability above 1.",
            lambda y, d, eps: np.sum(_xlogx(d) - d * np.log(np.maximum(y, eps))) / _B(y)),
]
KL_GRAD_UPPER_MISTAKES = [
    Mistake("y clipped from below only", "evaluate -d / y at np.clip(y, eps, 1): the upper end is 1.",
            lambda y, d, eps: -d / np.maximum(y, eps) / _B(y)),
]


@check("kl_clip_above_one", 0.5, "kl")
def kl_clip_above_one(ctx):
    """kl clips y to [eps, 1] at the upper end too: y slightly above 1 counts as 1."""
    for y, d in _above_one_cases(ctx):
        ctx.expect("divergences.kl", y, d, mistakes=KL_UPPER_MISTAKES + KL_MISTAKES)


@check("kl_grad_clip_above_one", 0.5, "kl_grad")
def kl_grad_clip_above_one(ctx):
    """kl_grad is evaluated at y clipped to [eps, 1]: y slightly above 1 counts as 1."""
    for y, d in _above_one_cases(ctx):
        ctx.expect("divergences.kl_grad", y, d, mistakes=KL_GRAD_UPPER_MISTAKES + KL_GRAD_MISTAKES)


# ------------------------------------------------------------ returns a float


def _float_cases(ctx, kind):
    """A batch (B, K) and a 1-D batch of scalars, with targets suited to ``kind``."""
    r = ctx.rng(7)
    if kind == "l2":
        return [(r.normal(size=(5, 3)), r.normal(size=(5, 3))), (r.normal(size=6), r.normal(size=6))]
    if kind == "bce":
        return [(r.uniform(0.05, 0.95, size=(5, 3)), (r.random((5, 3)) < 0.5).astype(float)),
                (r.uniform(0.05, 0.95, size=6), (r.random(6) < 0.5).astype(float))]
    return [(_softmax(r.normal(size=(5, 4))), _probs(r, 5, 4)),
            (r.uniform(0.05, 0.95, size=6), r.uniform(0.05, 0.95, size=6))]


@check("l2_returns_float", 0.25, "l2")
def l2_returns_float(ctx):
    """l2 returns a float (a Python float or numpy float64), not a 0-d or 1-element array."""
    for y, d in _float_cases(ctx, "l2"):
        ctx.expect_float("divergences.l2", y, d, mistakes=L2_MISTAKES)


@check("bce_returns_float", 0.25, "bce")
def bce_returns_float(ctx):
    """bce returns a float, not a 0-d or 1-element array."""
    for y, d in _float_cases(ctx, "bce"):
        ctx.expect_float("divergences.bce", y, d, mistakes=BCE_MISTAKES)


@check("kl_returns_float", 0.25, "kl")
def kl_returns_float(ctx):
    """kl returns a float, not a 0-d or 1-element array."""
    for y, d in _float_cases(ctx, "kl"):
        ctx.expect_float("divergences.kl", y, d, mistakes=KL_MISTAKES)

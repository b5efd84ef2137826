"""Hidden checks of ``nntricks.divergences``, part 2: softmax, log-softmax and
softmax cross-entropy (the topic's points are listed in ``divergences``)."""

import numpy as np

from . import Mistake, check, gradient_consistency
from .divergences import _B_z, _log_softmax, _nonfinite_where_finite, _one_hot, _probs, _softmax, _xlogx

TOPIC = "divergences"

# --------------------------------------------------------------------- softmax


def _sum_axis0(z):
    """Each row's maximum subtracted (stable), but the sum taken over the batch axis."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


SUM_AXIS0 = "summed along the wrong axis (the batch axis)"
SUM_AXIS0_HINT = "normalize each row by its OWN sum: np.sum(e, axis=-1, keepdims=True), the same axis as the max."

SOFTMAX_MISTAKES = [
    Mistake("not numerically stable", "subtract each row's maximum before exp (z - z.max(axis=-1, "
            "keepdims=True)): exp(1000) overflows to inf and inf / inf is NaN.", when=_nonfinite_where_finite),
    Mistake("subtracted one global maximum instead of each row's", "use z.max(axis=-1, keepdims=True): "
            "rows on different scales underflow to 0 / 0 otherwise.",
            lambda z: np.exp(z - np.max(z)) / np.sum(np.exp(z - np.max(z)), axis=-1, keepdims=True)),
    Mistake("normalized along the wrong axis", "softmax runs along the LAST axis (each row sums to 1): "
            "axis=-1 with keepdims=True.", lambda z: _softmax(z, axis=0)),
    Mistake("normalized over the whole array", "each row is its own distribution: sum along axis=-1.",
            lambda z: np.exp(z - z.max()) / np.sum(np.exp(z - z.max()))),
    Mistake(SUM_AXIS0, SUM_AXIS0_HINT, _sum_axis0),
]
LOG_SOFTMAX_MISTAKES = [
    Mistake("computed log(softmax(z))", "log(softmax(z)) is log 0 = -inf where softmax underflows: use "
            "z - max - log(sum(exp(z - max))) (log-sum-exp).", when=_nonfinite_where_finite),
    Mistake("normalized along the wrong axis", "along the LAST axis, with keepdims=True.",
            lambda z: _log_softmax(z, axis=0)),
    Mistake("forgot the log-sum-exp term", "log softmax(z) = z - logsumexp(z) (per row).",
            lambda z: z - np.max(z, axis=-1, keepdims=True)),
    Mistake("subtracted one global maximum instead of each row's", "use z.max(axis=-1, keepdims=True).",
            lambda z: (z - z.max()) - np.log(np.sum(np.exp(z - z.max()), axis=-1, keepdims=True))),
]


def _softmax_cases(ctx):
    r = ctx.rng()
    return [r.normal(size=(5, 4)) * 3, r.normal(size=(2, 1)), r.normal(size=(1, 6)), r.normal(size=(7,)),
            r.normal(size=(40, 10)), np.zeros((3, 3))]


def _stability_cases(ctx):
    r = ctx.rng(3)
    z = r.normal(size=(4, 5)) * 1000  # huge spread within rows
    z2 = r.normal(size=(3, 4)) + np.array([[0.0], [1e4], [-1e4]])  # rows on very different scales
    z3 = np.array([1000.0, 0.0, -1000.0])
    z4 = np.full((2, 3), 800.0) + np.array([[0.0, 1.0, 2.0]])
    return [z, z2, z3, z4]


@check("softmax_values", 1, "softmax")
def softmax_values(ctx):
    """softmax against the reference: rows, a single row, K = 1, a 1-D vector, zeros."""
    for z in _softmax_cases(ctx):
        ctx.expect("divergences.softmax", z, mistakes=SOFTMAX_MISTAKES)


@check("softmax_stability", 1, "softmax")
def softmax_stability(ctx):
    """softmax for |z| up to 1e4 (within rows and between rows): finite, rows summing to 1."""
    for z in _stability_cases(ctx):
        ctx.expect("divergences.softmax", z, mistakes=SOFTMAX_MISTAKES)


@check("log_softmax_values", 1, "log_softmax")
def log_softmax_values(ctx):
    """log_softmax against the reference on ordinary inputs."""
    for z in _softmax_cases(ctx):
        ctx.expect("divergences.log_softmax", z, mistakes=LOG_SOFTMAX_MISTAKES)


@check("log_softmax_stability", 1, "log_softmax")
def log_softmax_stability(ctx):
    """log_softmax for |z| up to 1e4: finite where softmax underflows (log-sum-exp)."""
    for z in _stability_cases(ctx):
        ctx.expect("divergences.log_softmax", z, mistakes=LOG_SOFTMAX_MISTAKES)


# -------------------------------------------------------- softmax cross-entropy

SCE_MISTAKES = [
    Mistake("log(softmax(z)) is not stable", "use log_softmax (z - logsumexp(z)): log(softmax(z)) is "
            "log 0 for large |z|.", when=_nonfinite_where_finite),
    Mistake("forgot the 1/B", "mean over the batch of -sum d log softmax(z).",
            lambda z, d: -np.sum(d * _log_softmax(z))),
    Mistake("averaged over the classes as well", "sum over the classes, divide by B only.",
            lambda z, d: -np.mean(d * _log_softmax(z))),
    Mistake("treated a 1-D z as a batch of B = K scalars", "a 1-D z is ONE instance: B = 1.",
            lambda z, d: -np.sum(d * _log_softmax(z)) / z.shape[0]),
    Mistake("softmax along the wrong axis", "softmax runs along the last axis (classes).",
            lambda z, d: -np.sum(d * _log_softmax(z, axis=0)) / _B_z(z)),
    Mistake("added the d log d term (KL instead of cross-entropy)", "the contract's loss is "
            "-sum d log softmax(z) only.", lambda z, d: np.sum(_xlogx(d) - d * _log_softmax(z)) / _B_z(z)),
    Mistake("soft targets written as -log sum(d * softmax(z))", "the cross-entropy is -sum d log softmax(z): "
            "the log of each probability, weighted by d. For one-hot d both agree; for soft targets only "
            "-sum(d * log_softmax(z)) is right.",
            lambda z, d: -np.sum(np.log(np.sum(d * _softmax(z), axis=-1))) / _B_z(z)),
]
SCE_GRAD_MISTAKES = [
    Mistake("forgot the 1/B", "the loss is a mean over the batch.", lambda z, d: _softmax(z) - d),
    Mistake("the sign is reversed", "the loss carries a leading minus: keep it through the chain rule. Check on "
            "a one-hot d: raising the true class's logit must lower the loss.", lambda z, d: (d - _softmax(z)) / _B_z(z)),
    Mistake("treated a 1-D z as a batch of B = K scalars", "a 1-D z is ONE instance: B = 1.",
            lambda z, d: (_softmax(z) - d) / z.shape[0]),
    Mistake("not numerically stable", "compute softmax with the row maximum subtracted.",
            when=_nonfinite_where_finite),
    Mistake("softmax along the wrong axis", "along the last axis.", lambda z, d: (_softmax(z, 0) - d) / _B_z(z)),
    Mistake(f"softmax {SUM_AXIS0}", SUM_AXIS0_HINT, lambda z, d: (_sum_axis0(z) - d) / _B_z(z)),
]


def _sce_cases(ctx):
    r = ctx.rng()
    cases = []
    for B, K in [(6, 4), (2, 3), (32, 10), (1, 5), (3, 1)]:
        cases.append((r.normal(size=(B, K)) * 2, _one_hot(r, B, K)))
    cases.append((r.normal(size=(5, 4)), _probs(r, 5, 4)))  # soft targets
    cases.append((r.normal(size=6), _probs(r, 1, 6)[0]))  # 1-D: one instance
    return cases


@check("softmax_cross_entropy_values", 2, "softmax_cross_entropy")
def softmax_cross_entropy_values(ctx):
    """softmax_cross_entropy against the reference: one-hot and soft targets, B = 1, a 1-D z."""
    for z, d in _sce_cases(ctx):
        ctx.expect("divergences.softmax_cross_entropy", z, d, mistakes=SCE_MISTAKES)


@check("softmax_cross_entropy_stability", 0.5, "softmax_cross_entropy")
def softmax_cross_entropy_stability(ctx):
    """softmax_cross_entropy with |z| up to 1e4 and targets on the losing classes: finite."""
    r = ctx.rng(4)
    for z in _stability_cases(ctx):
        K = z.shape[-1]
        d = _one_hot(r, z.shape[0], K) if z.ndim == 2 else np.eye(K)[np.argmin(z)]
        ctx.expect("divergences.softmax_cross_entropy", z, d, mistakes=SCE_MISTAKES)


@check("softmax_cross_entropy_grad_values", 1, "softmax_cross_entropy_grad")
def softmax_cross_entropy_grad_values(ctx):
    """softmax_cross_entropy_grad against the reference, including large |z| and a 1-D z."""
    for z, d in _sce_cases(ctx):
        ctx.expect("divergences.softmax_cross_entropy_grad", z, d, mistakes=SCE_GRAD_MISTAKES)
    r = ctx.rng(5)
    for z in _stability_cases(ctx):
        d = _one_hot(r, z.shape[0], z.shape[-1]) if z.ndim == 2 else np.eye(z.shape[-1])[0]
        ctx.expect("divergences.softmax_cross_entropy_grad", z, d, mistakes=SCE_GRAD_MISTAKES)


@check("softmax_cross_entropy_grad_matches_numeric", 0.5, "softmax_cross_entropy_grad",
       uses=("softmax_cross_entropy",))
def softmax_cross_entropy_grad_matches_numeric(ctx):
    """softmax_cross_entropy_grad is the derivative of the student's own loss."""
    r = ctx.rng()
    gradient_consistency(ctx, "divergences.softmax_cross_entropy", "divergences.softmax_cross_entropy_grad",
                         (r.normal(size=(3, 4)), _probs(r, 3, 4)), loss_mistakes=SCE_MISTAKES,
                         grad_mistakes=SCE_GRAD_MISTAKES)


@check("softmax_cross_entropy_returns_float", 0.25, "softmax_cross_entropy")
def softmax_cross_entropy_returns_float(ctx):
    """softmax_cross_entropy returns a float (a 2-D batch and a 1-D z), not a 0-d or 1-element array."""
    r = ctx.rng(7)
    ctx.expect_float("divergences.softmax_cross_entropy", r.normal(size=(5, 4)), _probs(r, 5, 4), mistakes=SCE_MISTAKES)
    ctx.expect_float("divergences.softmax_cross_entropy", r.normal(size=4), _probs(r, 1, 4)[0], mistakes=SCE_MISTAKES)

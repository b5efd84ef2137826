"""Hidden checks of ``nntricks.batchnorm``, part 1: the functions (forward, Jacobian,
backward, inference); part 2, the ``BatchNorm1d`` layer, is ``batchnorm_layer``."""

import numpy as np

from . import (ANY, Fail, Mistake, central_differences, check, describe_inputs, describe_type, error_mistake,
               find_mistake, mismatch)
from ..refimpl import ref

# --------------------------------------------------------------- the formulas


def _norm(z, eps, ddof=0, axis=0, eps_outside=False, no_sqrt=False):
    mu = z.mean(axis=axis, keepdims=True)
    var = z.var(axis=axis, ddof=ddof, keepdims=True)
    if eps_outside:
        return (z - mu) / (np.sqrt(var) + eps)
    if no_sqrt:
        return (z - mu) / (var + eps)
    return (z - mu) / np.sqrt(var + eps)


def _fwd_variant(**how):
    def f(z, gamma, beta, eps):
        u = _norm(z, eps, **how)
        return (gamma * u + beta, ANY)

    return f


FORWARD_MISTAKES = [
    Mistake("unbiased variance in training", "training mode uses the BIASED minibatch variance (divide by B: "
            "np.var's default ddof=0); the unbiased one is only for the running estimate.",
            _fwd_variant(ddof=1)),
    Mistake("forgot eps", "u = (z - mu) / sqrt(var + eps).", lambda z, gamma, beta, eps: (
        gamma * _norm(z, 0.0) + beta, ANY)),
    Mistake("eps added outside the square root", "u = (z - mu) / sqrt(var + eps): eps goes INSIDE.",
            _fwd_variant(eps_outside=True)),
    Mistake("divided by the variance instead of its square root", "u = (z - mu) / sqrt(var + eps).",
            _fwd_variant(no_sqrt=True)),
    Mistake("normalized each instance (row) instead of each unit (column)", "statistics are per unit: "
            "mean and variance over the batch, axis=0.", _fwd_variant(axis=1)),
    Mistake("gamma and beta swapped", "out = gamma * u + beta.",
            lambda z, gamma, beta, eps: (beta * _norm(z, eps) + gamma, ANY)),
    Mistake("gamma and beta not applied", "out = gamma * u + beta, not u.",
            lambda z, gamma, beta, eps: (_norm(z, eps), ANY)),
]


def _forward_cases(ctx):
    r = ctx.rng()
    cases = []
    for B, D in [(8, 5), (2, 1), (64, 16), (3, 4)]:
        cases.append((r.normal(size=(B, D)) * 2 + 1, r.normal(size=D), r.normal(size=D), {}))
    # large magnitudes and offsets
    cases.append((r.normal(size=(6, 3)) * 1e3 + 1e4, r.normal(size=3), r.normal(size=3), {}))
    # small spread: eps is visible
    cases.append((r.normal(size=(5, 4)) * 3e-3, np.ones(4), np.zeros(4), {}))
    cases.append((r.normal(size=(4, 3)), r.normal(size=3), r.normal(size=3), {"eps": 0.1}))
    return cases


@check("forward_values", 2.5, "batchnorm_forward")
def forward_values(ctx):
    """batchnorm_forward's out against the reference: B = 2, D = 1, large offsets, small spreads, eps."""
    for z, gamma, beta, kw in _forward_cases(ctx):
        ctx.expect("batchnorm.batchnorm_forward", z, gamma, beta, mistakes=FORWARD_MISTAKES, names=("out", "cache"),
                   want=(ctx.reference("batchnorm.batchnorm_forward", z, gamma, beta, **kw)[0], ANY), **kw)


@check("forward_rejects_one_instance", 0.5, "batchnorm_forward")
def forward_rejects_one_instance(ctx):
    """batchnorm_forward with B = 1 raises ValueError (a single instance has no spread; PyTorch refuses too),
    and B = 2 works (no points for the provided check alone)."""
    r = ctx.rng(1)
    z2 = r.normal(size=(2, 4))
    ctx.expect("batchnorm.batchnorm_forward", z2, np.ones(4), np.zeros(4), mistakes=FORWARD_MISTAKES,
               names=("out", "cache"), want=(ref.batchnorm.batchnorm_forward(z2, np.ones(4), np.zeros(4))[0], ANY))
    p = ctx.program()
    at = p.n_emits
    p.call("batchnorm.batchnorm_forward", r.normal(size=(1, 4)), np.ones(4), np.zeros(4), catch=True,
           label="batchnorm_forward(z, gamma, beta)")
    problem = error_mistake(ctx.run(p, "batchnorm_forward with B = 1")[at], "ValueError")
    if problem:
        raise Fail(f"batchnorm_forward(z, gamma, beta) with z of shape (1, 4): {problem}.\nLikely mistake: no check "
                   "of the batch size. Hint: with B = 1 the variance is 0 and every output is beta: raise "
                   "ValueError when z.shape[0] < 2 (the provided check at the top of the function does).")


# ------------------------------------------------------------------ Jacobian


def _jac(z, eps, ddof=0, drop_mean=False, drop_var=False, var_power=1.0, no_eps=False):
    B = z.shape[0]
    zc = z - z.mean()
    s = zc @ zc / (B - ddof) + (0.0 if no_eps else eps)
    J = np.eye(B) / np.sqrt(s)
    if not drop_mean:
        J = J - 1.0 / (B * np.sqrt(s))
    if not drop_var:
        J = J - np.outer(zc, zc) / (B * s**var_power * np.sqrt(s))
    return J


JACOBIAN_MISTAKES = [
    Mistake("treated the mean and the variance as constants", "every z_i moves mu and sigma^2, so every "
            "u_j depends on every z_i: add the paths through mu and through sigma^2 to your derivation "
            "(Question 1 of notebook 04 and its hints).",
            lambda z, eps: np.eye(z.shape[0]) / np.sqrt(np.var(z) + eps)),
    Mistake("forgot the -1/B term (the mean's dependence on z_i)", "d mu / d z_i = 1/B: the path through the "
            "mean adds the same term to every entry.", lambda z, eps: _jac(z, eps, drop_mean=True)),
    Mistake("forgot the variance term", "the path through sigma^2 is missing: every z_i moves sigma^2, "
            "and u_j depends on sigma^2 through 1 / sqrt(s); follow that path of the chain rule too.", lambda z, eps: _jac(z, eps, drop_var=True)),
    Mistake("the variance term has the wrong power of s", "redo the derivative of s^(-1/2) with respect to "
            "sigma^2 (s = sigma^2 + eps).",
            lambda z, eps: _jac(z, eps, var_power=0.0)),
    Mistake("the variance term has the wrong power of s", "redo the derivative of s^(-1/2) with respect to "
            "sigma^2 (s = sigma^2 + eps).",
            lambda z, eps: _jac(z, eps, var_power=2.0)),
    Mistake("unbiased variance", "training-mode batch norm uses the biased variance (divide by B).",
            lambda z, eps: _jac(z, eps, ddof=1)),
    Mistake("forgot eps", "s = sigma^2 + eps.", lambda z, eps: _jac(z, eps, no_eps=True)),
    Mistake("a factor 2 in the variance term", "recheck the constants along the variance path: the factor "
            "that differentiating the square inside sigma^2 gives meets the one from differentiating s^(-1/2).", lambda z, eps: 2 * _jac(z, eps) - _jac(z, eps, drop_var=True)),
]


@check("jacobian_values", 2.5, "batchnorm_jacobian")
def jacobian_values(ctx):
    """batchnorm_jacobian against the reference for B = 2, 3, 5, 16 and a large eps."""
    r = ctx.rng()
    for B in (2, 3, 5, 16):
        ctx.expect("batchnorm.batchnorm_jacobian", r.normal(size=B) * 2 + 0.5, mistakes=JACOBIAN_MISTAKES)
    ctx.expect("batchnorm.batchnorm_jacobian", r.normal(size=4) * 0.1, eps=0.05, mistakes=JACOBIAN_MISTAKES)
    ctx.expect("batchnorm.batchnorm_jacobian", r.normal(size=6) * 1e3 + 1e4, mistakes=JACOBIAN_MISTAKES)


# ------------------------------------------------------------------ backward


def _bwd(dout, z, gamma, beta, eps, ddof=0, how="right"):
    B = z.shape[0]
    mu = z.mean(0)
    var = z.var(0, ddof=ddof)
    inv = 1 / np.sqrt(var + eps)
    u = (z - mu) * inv
    dbeta = dout.sum(0)
    dgamma = (dout * u).sum(0)
    du = dout * (1.0 if how == "no_gamma" else gamma)
    mean_term = du.sum(0) if how in ("sums", "sum_mean_term") else du.mean(0)
    var_term = u * (du * u).sum(0) if how in ("sums", "sum_var_term") else u * (du * u).mean(0)
    if how == "constants":
        dz = du * inv
    elif how == "no_mean":
        dz = (du - u * (du * u).mean(0)) * inv
    elif how == "no_var":
        dz = (du - du.mean(0)) * inv
    else:
        dz = (du - mean_term - var_term) * inv
    if how == "swap":
        dgamma, dbeta = dbeta, dgamma
    if how == "dgamma_out":
        dgamma = (dout * (gamma * u + beta)).sum(0)
    return dz, dgamma, dbeta


def _shape_mistake(k, bad_shape):
    def when(inputs, got, want):
        return isinstance(got, (tuple, list)) and len(got) == 3 and isinstance(got[k], np.ndarray) \
            and got[k].shape == bad_shape(inputs)

    return when


BACKWARD_MISTAKES = [
    Mistake("treated the mean and the variance as constants", "every instance affects the batch statistics: "
            "your backward pass needs a correction for the path through the mean and one for the path through "
            "the variance (Question 1 of notebook 04).",
            lambda dout, **k: _bwd(dout, how="constants", **k)),
    Mistake("forgot the mean term", "the path through the mean is missing: every z_i moves mu by 1/B.",
            lambda dout, **k: _bwd(dout, how="no_mean", **k)),
    Mistake("forgot the variance term", "the path through the variance is missing (Question 1, part c).",
            lambda dout, **k: _bwd(dout, how="no_var", **k)),
    Mistake("forgot the 1/B (sums where the means belong)", "both correction terms are averages over the "
            "minibatch, not sums: the 1/B comes from d mu / d z_i = 1/B and from sigma^2 being a mean.",
            lambda dout, **k: _bwd(dout, how="sums", **k)),
    Mistake("forgot the 1/B in the mean term", "the mean's correction is an average over the minibatch, "
            "not a sum.", lambda dout, **k: _bwd(dout, how="sum_mean_term", **k)),
    Mistake("forgot the 1/B in the variance term", "the variance's correction is an average over the "
            "minibatch, not a sum.",
            lambda dout, **k: _bwd(dout, how="sum_var_term", **k)),
    Mistake("forgot gamma", "out = gamma * u + beta: the path from out back to u passes through the factor gamma.",
            lambda dout, **k: _bwd(dout, how="no_gamma", **k)),
    Mistake("unbiased variance in training", "training mode uses the BIASED minibatch variance (divide by B), "
            "in the forward pass and in the backward.", lambda dout, **k: _bwd(dout, ddof=1, **k)),
    Mistake("forgot eps", "the forward divides by sqrt(var + eps), and the backward uses the same 1 / sqrt(var + eps).",
            lambda dout, eps, **k: _bwd(dout, eps=0.0, **k)),
    Mistake("dgamma and dbeta swapped", "gamma multiplies the normalized u, beta is only added: which of the two "
            "gradients keeps a factor u?",
            lambda dout, **k: _bwd(dout, how="swap", **k)),
    Mistake("dgamma summed with the output instead of u", "gamma multiplies the NORMALIZED u (before gamma "
            "and beta are applied): that u, not the layer's output, is the factor in its gradient.", lambda dout, **k: _bwd(dout, how="dgamma_out", **k)),
    Mistake("dgamma not summed over the batch", "gamma is shared by the B instances: its gradient sums over the "
            "batch axis (axis 0) and has shape (D,).",
            when=_shape_mistake(1, lambda i: i["dout"].shape)),
    Mistake("dbeta not summed over the batch", "beta is shared by the B instances: its gradient sums over the "
            "batch axis (axis 0) and has shape (D,).",
            when=_shape_mistake(2, lambda i: i["dout"].shape)),
]


def backward_failure(label, got, z, gamma, beta, dout, eps=1e-5, want=None, rtol=1e-6, atol=1e-8,
                     oracle="the reference"):
    """A Fail naming the likely mistake, or None when (dz, dgamma, dbeta) = ``got`` is right."""
    if want is None:
        want = ref.batchnorm.batchnorm_backward(dout, ref.batchnorm.batchnorm_forward(z, gamma, beta, eps)[1])
    m = mismatch(got, want, rtol, atol, "(dz, dgamma, dbeta)")
    if m is None:
        return None
    for i, name in enumerate(("dz", "dgamma", "dbeta")):
        m = m.replace(f"(dz, dgamma, dbeta)[{i}]", name)
    if oracle != "the reference":
        m = m.replace("expected", f"{oracle} give")
    inputs = {"dout": dout, "z": z, "gamma": gamma, "beta": beta, "eps": eps}
    text = f"{label}: {m}. Inputs: {describe_inputs(inputs)}."
    mistake = find_mistake(BACKWARD_MISTAKES, inputs, got, want, rtol, atol)
    if mistake is None and oracle != "the reference":  # the oracle is numeric: match against the exact formula
        mistake = find_mistake(BACKWARD_MISTAKES, inputs, got, _bwd(dout, z, gamma, beta, eps))
    if mistake:
        text += f"\nLikely mistake: {mistake.name}. Hint: {mistake.hint}"
    return Fail(text)


def _forward_backward(ctx, z, gamma, beta, dout, eps=None, trace=False):
    """Run the student's forward then backward in the worker; returns (dz, dgamma, dbeta)[, lines]."""
    p = ctx.program()
    kw = {} if eps is None else {"eps": eps}
    f = p.call("batchnorm.batchnorm_forward", z, gamma, beta, **kw)
    cache = p.item(f, 1)
    d = p.array(dout)
    b = p.call("batchnorm.batchnorm_backward", d, cache, trace=trace, label="batchnorm_backward(dout, cache)")
    p.emit(b)
    p.emit(d)
    values = ctx.run(p, "batchnorm_forward then batchnorm_backward")
    if trace:
        return values[1], values[0]
    got, dout_after = values
    if not isinstance(dout_after, np.ndarray) or not np.array_equal(dout_after, dout):
        raise Fail("batchnorm_backward(dout, cache) modified dout in place: inputs must never be modified.")
    return got


def _backward_cases(ctx):
    r = ctx.rng()
    cases = []
    for B, D in [(8, 5), (2, 3), (32, 10), (4, 1)]:
        cases.append((r.normal(size=(B, D)) * 2 + 1, r.normal(size=D), r.normal(size=D), r.normal(size=(B, D)), None))
    cases.append((r.normal(size=(6, 3)) * 1e3 + 1e4, r.normal(size=3), r.normal(size=3), r.normal(size=(6, 3)), None))
    cases.append((r.normal(size=(5, 2)) * 0.05, r.normal(size=2), r.normal(size=2), r.normal(size=(5, 2)), 0.01))
    return cases


@check("backward_values", 3.5, "batchnorm_backward", uses=("batchnorm_forward",))
def backward_values(ctx):
    """batchnorm_backward's dz, dgamma, dbeta against the reference (cache from the student's forward)."""
    for z, gamma, beta, dout, eps in _backward_cases(ctx):
        got = _forward_backward(ctx, z, gamma, beta, dout, eps)
        fail = backward_failure("batchnorm_backward(dout, cache) after batchnorm_forward(z, gamma, beta)", got,
                                z, gamma, beta, dout, 1e-5 if eps is None else eps)
        if fail:
            raise fail


@check("backward_numeric", 1, "batchnorm_backward", uses=("batchnorm_forward",))
def backward_numeric(ctx):
    """dz, dgamma, dbeta agree with central differences of sum(out * dout) (an independent oracle)."""
    r = ctx.rng()
    B, D = 4, 3
    z, gamma, beta, dout = r.normal(size=(B, D)), r.normal(size=D) + 1, r.normal(size=D), r.normal(size=(B, D))
    got = _forward_backward(ctx, z, gamma, beta, dout)

    def f(z_, g_, b_):
        mu = z_.mean(0)
        return float(np.sum((g_ * (z_ - mu) / np.sqrt(z_.var(0) + 1e-5) + b_) * dout))

    want = tuple(central_differences(f, [z, gamma, beta], i) for i in range(3))
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Fail(f"batchnorm_backward returned {describe_type(got)}, expected a tuple (dz, dgamma, dbeta)")
    fail = backward_failure("batchnorm_backward(dout, cache)", got, z, gamma, beta, dout, want=want, rtol=1e-4,
                            atol=1e-6, oracle="central differences of sum(out * dout)")
    if fail:
        raise fail


@check("backward_vectorized", 1, "batchnorm_backward", uses=("batchnorm_forward",))
def backward_vectorized(ctx):
    """batchnorm_backward runs no Python loop over instances or units (the Python lines it executes
    do not grow with B or D), and handles B = 4096."""
    r = ctx.rng()
    counts = {}
    for B, D in [(8, 4), (512, 4), (8, 256)]:
        z, dout = r.normal(size=(B, D)), r.normal(size=(B, D))
        counts[B, D] = _forward_backward(ctx, z, np.ones(D), np.zeros(D), dout, trace=True)[1]
    base = counts[8, 4]
    for (B, D), n in counts.items():
        if n > base + 40 and n > 1.5 * base:
            what = "instances (rows)" if B > 8 else "units (columns)"
            raise Fail(f"batchnorm_backward is not vectorized: it executed {base} lines of Python for "
                       f"B={8}, D={4} but {n} for B={B}, D={D}, so it loops over the {what}. Use whole-array "
                       "numpy operations with axis=0 (sums and means over the batch) instead of loops.")
    z, dout = r.normal(size=(4096, 64)), r.normal(size=(4096, 64))
    got = _forward_backward(ctx, z, np.ones(64), np.zeros(64), dout)
    fail = backward_failure("batchnorm_backward with B=4096, D=64", got, z, np.ones(64), np.zeros(64), dout)
    if fail:
        raise fail


# ----------------------------------------------------------------- inference

INFERENCE_MISTAKES = [
    Mistake("forgot eps", "divide by sqrt(var + eps).",
            lambda z, gamma, beta, mean, var, eps: gamma * (z - mean) / np.sqrt(var) + beta),
    Mistake("divided by the variance instead of its square root", "var is a variance: divide by sqrt(var + eps).",
            lambda z, gamma, beta, mean, var, eps: gamma * (z - mean) / (var + eps) + beta),
    Mistake("used the minibatch's statistics", "inference uses the given mean and var (the running "
            "estimates), so that each instance is processed on its own.",
            lambda z, gamma, beta, mean, var, eps: gamma * (z - z.mean(0)) / np.sqrt(z.var(0) + eps) + beta),
    Mistake("gamma and beta swapped", "out = gamma * (z - mean) / sqrt(var + eps) + beta.",
            lambda z, gamma, beta, mean, var, eps: beta * (z - mean) / np.sqrt(var + eps) + gamma),
    Mistake("eps added outside the square root", "sqrt(var + eps).",
            lambda z, gamma, beta, mean, var, eps: gamma * (z - mean) / (np.sqrt(var) + eps) + beta),
    Mistake("gamma and beta not applied at inference", "inference normalizes with the running statistics AND "
            "applies the learned scale and shift: out = gamma * (z - mean) / sqrt(var + eps) + beta.",
            lambda z, gamma, beta, mean, var, eps: (z - mean) / np.sqrt(var + eps)),
    Mistake("only gamma applied at inference (beta forgotten)", "out = gamma * (z - mean) / sqrt(var + eps) + beta.",
            lambda z, gamma, beta, mean, var, eps: gamma * (z - mean) / np.sqrt(var + eps)),
]


@check("inference_values", 1.5, "batchnorm_inference")
def inference_values(ctx):
    """batchnorm_inference against the reference, including B = 1 and small variances."""
    r = ctx.rng()
    for B, D in [(8, 5), (1, 3), (2, 1), (30, 7)]:
        z = r.normal(size=(B, D)) * 2 + 1
        ctx.expect("batchnorm.batchnorm_inference", z, r.normal(size=D), r.normal(size=D), r.normal(size=D),
                   r.uniform(0.5, 2, size=D), mistakes=INFERENCE_MISTAKES)
    D = 4
    ctx.expect("batchnorm.batchnorm_inference", r.normal(size=(5, D)) * 1e-3, np.ones(D), np.zeros(D),
               np.zeros(D), np.full(D, 1e-6), mistakes=INFERENCE_MISTAKES)
    ctx.expect("batchnorm.batchnorm_inference", r.normal(size=(5, D)), np.ones(D), np.zeros(D),
               np.zeros(D), np.full(D, 0.5), eps=0.1, mistakes=INFERENCE_MISTAKES)

"""Hidden checks of ``nntricks.batchnorm`` (20 points)."""

import numpy as np

from . import ANY, Fail, Mistake, check, describe_inputs, describe_type, find_mistake, mismatch

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
            "u_j depends on every z_i: J[i, j] = (delta_ij - 1/B) / sqrt(s) - (z_i - mu)(z_j - mu) / (B s^(3/2)).",
            lambda z, eps: np.eye(z.shape[0]) / np.sqrt(np.var(z) + eps)),
    Mistake("forgot the -1/B term (the mean's dependence on z_i)", "d mu / d z_i = 1/B gives -1/(B sqrt(s)) "
            "in every entry.", lambda z, eps: _jac(z, eps, drop_mean=True)),
    Mistake("forgot the variance term", "d sigma^2 / d z_i = 2 (z_i - mu) / B gives "
            "-(z_i - mu)(z_j - mu) / (B s^(3/2)).", lambda z, eps: _jac(z, eps, drop_var=True)),
    Mistake("the variance term has the wrong power of s", "it is (z_i - mu)(z_j - mu) / (B s^(3/2)).",
            lambda z, eps: _jac(z, eps, var_power=0.0)),
    Mistake("the variance term has the wrong power of s", "it is (z_i - mu)(z_j - mu) / (B s^(3/2)).",
            lambda z, eps: _jac(z, eps, var_power=2.0)),
    Mistake("unbiased variance", "training-mode batch norm uses the biased variance (divide by B).",
            lambda z, eps: _jac(z, eps, ddof=1)),
    Mistake("forgot eps", "s = sigma^2 + eps.", lambda z, eps: _jac(z, eps, no_eps=True)),
    Mistake("a factor 2 in the variance term", "d sigma^2 / d z_i = 2 (z_i - mu) / B; the 2 cancels "
            "the 1/2 from d(s^(-1/2)).", lambda z, eps: 2 * _jac(z, eps) - _jac(z, eps, drop_var=True)),
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
    if how == "constants":
        dz = du * inv
    elif how == "no_mean":
        dz = (du - u * (du * u).mean(0)) * inv
    elif how == "no_var":
        dz = (du - du.mean(0)) * inv
    else:
        dz = (du - du.mean(0) - u * (du * u).mean(0)) * inv
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
            "dz = (du - mean(du) - u * mean(du * u)) / sqrt(s) with du = gamma * dout.",
            lambda dout, **k: _bwd(dout, how="constants", **k)),
    Mistake("forgot the mean term", "subtract mean over the batch of du (axis=0).",
            lambda dout, **k: _bwd(dout, how="no_mean", **k)),
    Mistake("forgot the variance term", "subtract u * mean(du * u) (axis=0).",
            lambda dout, **k: _bwd(dout, how="no_var", **k)),
    Mistake("forgot gamma", "the normalization's upstream gradient is du = gamma * dout.",
            lambda dout, **k: _bwd(dout, how="no_gamma", **k)),
    Mistake("unbiased variance", "training mode uses the biased variance.",
            lambda dout, **k: _bwd(dout, ddof=1, **k)),
    Mistake("dgamma and dbeta swapped", "dgamma = sum(dout * u, axis=0), dbeta = sum(dout, axis=0).",
            lambda dout, **k: _bwd(dout, how="swap", **k)),
    Mistake("dgamma summed with the output instead of u", "dgamma = sum(dout * u, axis=0) with the "
            "NORMALIZED u, before gamma and beta.", lambda dout, **k: _bwd(dout, how="dgamma_out", **k)),
    Mistake("dgamma not summed over the batch", "dgamma = np.sum(dout * u, axis=0), shape (D,).",
            when=_shape_mistake(1, lambda i: i["dout"].shape)),
    Mistake("dbeta not summed over the batch", "dbeta = np.sum(dout, axis=0), shape (D,).",
            when=_shape_mistake(2, lambda i: i["dout"].shape)),
]


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
        e = 1e-5 if eps is None else eps
        want = ctx.reference("batchnorm.batchnorm_backward", dout,
                             ctx.reference("batchnorm.batchnorm_forward", z, gamma, beta, e)[1])
        inputs = {"dout": dout, "z": z, "gamma": gamma, "beta": beta, "eps": e}
        m = mismatch(got, want, 1e-6, 1e-8, "(dz, dgamma, dbeta)")
        if m:
            m = m.replace("(dz, dgamma, dbeta)[0]", "dz").replace("(dz, dgamma, dbeta)[1]", "dgamma") \
                .replace("(dz, dgamma, dbeta)[2]", "dbeta")
            text = f"batchnorm_backward(dout, cache) after batchnorm_forward(z, gamma, beta): {m}. " \
                   f"Inputs: {describe_inputs(inputs)}."
            mistake = find_mistake(BACKWARD_MISTAKES, inputs, got, want)
            if mistake:
                text += f"\nLikely mistake: {mistake.name}. Hint: {mistake.hint}"
            raise Fail(text)


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

    def numeric(i):
        args = [z, gamma, beta]
        x = args[i]
        out = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            h = 1e-6
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            ap, am = list(args), list(args)
            ap[i], am[i] = xp, xm
            out[idx] = (f(*ap) - f(*am)) / (2 * h)
        return out

    want = (numeric(0), numeric(1), numeric(2))
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Fail(f"batchnorm_backward returned {describe_type(got)}, expected a tuple (dz, dgamma, dbeta)")
    for name, g, w in zip(("dz", "dgamma", "dbeta"), got, want):
        m = mismatch(g, w, 1e-4, 1e-6, name)
        if m:
            raise Fail(f"batchnorm_backward(dout, cache): {m.replace('expected', 'central differences give')}. "
                       f"Inputs: z {z.shape}, gamma {gamma.shape}, beta {beta.shape}, dout {dout.shape}.")


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
    want = ctx.reference("batchnorm.batchnorm_backward", dout,
                         ctx.reference("batchnorm.batchnorm_forward", z, np.ones(64), np.zeros(64))[1])
    m = mismatch(got, want, 1e-6, 1e-8, "(dz, dgamma, dbeta)")
    if m:
        for i, name in enumerate(("dz", "dgamma", "dbeta")):
            m = m.replace(f"(dz, dgamma, dbeta)[{i}]", name)
        raise Fail(f"batchnorm_backward with B=4096, D=64: {m}")


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


# --------------------------------------------------------------- BatchNorm1d


def _bn_sequence(ctx, D, batches, momentum="default", eval_z=None, dout=None):
    """Train BatchNorm1d on ``batches`` in the worker; returns outputs and
    running statistics after each batch, then optionally an eval forward and a backward."""
    p = ctx.program()
    kw = {} if momentum == "default" else {"momentum": momentum}
    bn = p.call("batchnorm.BatchNorm1d", D, label="BatchNorm1d(D)", **kw)
    rec = {"out": [], "mean": [], "var": []}
    for z in batches:
        rec["out"].append(p.emit(p.method(bn, "forward", z, label="BatchNorm1d.forward(z)")))
        rec["mean"].append(p.emit(p.getattr(bn, "running_mean")))
        rec["var"].append(p.emit(p.getattr(bn, "running_var")))
    if eval_z is not None:
        rec["eval"] = p.emit(p.method(bn, "forward", eval_z, train=False, label="BatchNorm1d.forward(z, train=False)"))
        rec["mean_after_eval"] = p.emit(p.getattr(bn, "running_mean"))
        rec["var_after_eval"] = p.emit(p.getattr(bn, "running_var"))
    if dout is not None:
        z_last = batches[-1]
        p.method(bn, "forward", z_last, label="BatchNorm1d.forward(z)")
        rec["dz"] = p.emit(p.method(bn, "backward", dout, label="BatchNorm1d.backward(dout)"))
        rec["dgamma"] = p.emit(p.getattr(bn, "dgamma"))
        rec["dbeta"] = p.emit(p.getattr(bn, "dbeta"))
        grads = p.method(bn, "grads", label="BatchNorm1d.grads()")
        params = p.method(bn, "params", label="BatchNorm1d.params()")
        rec["grads"] = p.emit(grads)
        rec["params_live"] = p.same(p.item(params, 0), p.getattr(bn, "gamma"))
    values = ctx.run(p, "a BatchNorm1d training sequence")
    return {k: ([values[i] for i in v] if isinstance(v, list) else values[v] if isinstance(v, int) else v)
            for k, v in rec.items()}


def _ref_bn(ctx, D, batches, momentum="default"):
    kw = {} if momentum == "default" else {"momentum": momentum}
    bn = ctx.ref.batchnorm.BatchNorm1d(D, **kw)
    outs, means, vars_ = [], [], []
    for z in batches:
        outs.append(bn.forward(z.copy()))
        means.append(bn.running_mean.copy())
        vars_.append(bn.running_var.copy())
    return bn, outs, means, vars_


def _running(batches, momentum, ddof=1, how="right"):
    D = batches[0].shape[1]
    m, v = np.zeros(D), np.ones(D)
    means, vars_ = [], []
    for n, z in enumerate(batches, start=1):
        mo = 1.0 / n if momentum is None else momentum
        if how == "reversed":
            mo = 1 - mo
        if how == "no_update":
            mo = 0.0
        m = (1 - mo) * m + mo * z.mean(0)
        v = (1 - mo) * v + mo * z.var(0, ddof=ddof)
        means.append(m.copy())
        vars_.append(v.copy())
    return means, vars_


RUNNING_MISTAKES = [
    Mistake("biased batch variance in the running estimate", "the running variance uses the UNBIASED batch "
            "variance, z.var(axis=0, ddof=1) = B/(B-1) sigma^2 (PyTorch).",
            lambda batches, momentum: _running(batches, momentum, ddof=0)),
    Mistake("momentum weights the old value", "running = (1 - momentum) * running + momentum * batch_stat: "
            "momentum weighs the NEW statistic (PyTorch's convention).",
            lambda batches, momentum: _running(batches, momentum, how="reversed")),
    Mistake("running statistics not updated", "training-mode forward must update running_mean and "
            "running_var (in place or by assignment).", lambda batches, momentum: _running(batches, momentum,
                                                                                               how="no_update")),
]


def _check_running(ctx, got, batches, momentum):
    want_m, want_v = _running(batches, momentum)
    gm, gv = got["mean"], got["var"]
    inputs = {"batches": batches, "momentum": momentum}
    label = f"BatchNorm1d(D={batches[0].shape[1]}, momentum={momentum})"
    for k in range(len(batches)):
        for name, g, w, allg, allw in (("running_mean", gm[k], want_m[k], gm, want_m),
                                        ("running_var", gv[k], want_v[k], gv, want_v)):
            m = mismatch(g, w, 1e-6, 1e-8, f"{name} after training batch {k + 1}")
            if m:
                text = (f"{label}: {m}. Batches of sizes " + ", ".join(str(z.shape[0]) for z in batches) + ".")
                mm = find_mistake(RUNNING_MISTAKES, inputs, [gm, gv], [want_m, want_v])
                if mm:
                    text += f"\nLikely mistake: {mm.name}. Hint: {mm.hint}"
                raise Fail(text)


def _batches(ctx, D=3, sizes=(5, 2, 8, 3)):
    r = ctx.rng()
    return [r.normal(size=(B, D)) * (1 + k) + k for k, B in enumerate(sizes)]


@check("bn1d_training_forward", 2, "BatchNorm1d.forward", uses=("batchnorm_forward",))
def bn1d_training_forward(ctx):
    """BatchNorm1d.forward in training mode returns the batch-normalized minibatch (gamma = 1, beta = 0)."""
    batches = _batches(ctx)
    got = _bn_sequence(ctx, 3, batches)
    _, outs, _, _ = _ref_bn(ctx, 3, batches)
    for k, (g, w) in enumerate(zip(got["out"], outs)):
        m = mismatch(g, w, 1e-6, 1e-8, f"the output for training batch {k + 1}")
        if m:
            text = f"BatchNorm1d(3).forward(z): {m} (z of shape {batches[k].shape})."
            mm = find_mistake(FORWARD_MISTAKES, {"z": batches[k], "gamma": np.ones(3), "beta": np.zeros(3),
                                                 "eps": 1e-5}, (g, None), (w, None))
            if mm:
                text += f"\nLikely mistake: {mm.name}. Hint: {mm.hint}"
            raise Fail(text)


@check("bn1d_running_stats", 2.5, "BatchNorm1d.forward")
def bn1d_running_stats(ctx):
    """running_mean / running_var after each training minibatch (unbiased variance, PyTorch's momentum)."""
    for momentum in ("default", 0.3):
        batches = _batches(ctx)
        got = _bn_sequence(ctx, 3, batches, momentum=momentum)
        _check_running(ctx, got, batches, 0.1 if momentum == "default" else momentum)


@check("bn1d_cumulative", 1, "BatchNorm1d.forward")
def bn1d_cumulative(ctx):
    """momentum=None: the cumulative average of batch means and of unbiased batch variances."""
    batches = _batches(ctx, sizes=(4, 6, 2, 5, 3))
    got = _bn_sequence(ctx, 3, batches, momentum=None)
    _check_running(ctx, got, batches, None)


@check("bn1d_eval", 1.5, "BatchNorm1d.forward", uses=("batchnorm_inference",))
def bn1d_eval(ctx):
    """forward(z, train=False) uses the running statistics (B = 1 allowed) and does not change them."""
    batches = _batches(ctx)
    r = ctx.rng(1)
    for z_eval in (r.normal(size=(6, 3)) * 3 + 2, r.normal(size=(1, 3))):
        got = _bn_sequence(ctx, 3, batches, eval_z=z_eval)
        bn, _, means, vars_ = _ref_bn(ctx, 3, batches)
        want = bn.forward(z_eval.copy(), train=False)
        m = mismatch(got["eval"], want, 1e-6, 1e-8, "the output")
        if m:
            text = f"BatchNorm1d(3).forward(z, train=False) after {len(batches)} training batches: {m} " \
                   f"(z of shape {z_eval.shape})."
            if isinstance(got["eval"], np.ndarray) and got["eval"].shape == want.shape:
                batch_stats = (z_eval - z_eval.mean(0)) / np.sqrt(z_eval.var(0) + 1e-5) if z_eval.shape[0] > 1 else None
                if batch_stats is not None and np.allclose(got["eval"], batch_stats, rtol=1e-6, atol=1e-8):
                    text += ("\nLikely mistake: used the minibatch's statistics in inference mode. Hint: with "
                             "train=False, normalize with running_mean and running_var.")
            raise Fail(text)
        for name, g, w in (("running_mean", got["mean_after_eval"], means[-1]),
                           ("running_var", got["var_after_eval"], vars_[-1])):
            if mismatch(g, w, 1e-6, 1e-8):
                raise Fail(f"BatchNorm1d.forward(z, train=False) changed {name}: inference mode must not "
                           "update the running statistics.")


@check("bn1d_backward", 1, "BatchNorm1d.forward", uses=("batchnorm_forward", "batchnorm_backward"))
def bn1d_backward(ctx):
    """backward after a training forward: dz, the stored dgamma / dbeta, grads(), live params()."""
    batches = _batches(ctx)
    r = ctx.rng(2)
    dout = r.normal(size=batches[-1].shape)
    got = _bn_sequence(ctx, 3, batches, dout=dout)
    bn, _, _, _ = _ref_bn(ctx, 3, batches)
    bn.forward(batches[-1].copy())
    dz = bn.backward(dout.copy())
    for name, g, w in (("dz", got["dz"], dz), ("dgamma", got["dgamma"], bn.dgamma), ("dbeta", got["dbeta"], bn.dbeta),
                       ("grads()", got["grads"], [bn.dgamma, bn.dbeta])):
        m = mismatch(g, w, 1e-6, 1e-8, name)
        if m:
            raise Fail(f"BatchNorm1d(3): backward(dout) after a training forward: {m}.")
    if got["params_live"] is not True:
        raise Fail("BatchNorm1d.params()[0] is not the layer's gamma array itself: params() must return the "
                   "live arrays so that an optimizer updates the layer in place.")

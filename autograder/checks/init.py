"""Hidden checks of ``nntricks.init`` (16 points).

Random initializers are checked statistically (mean, standard deviation,
bounds and the shape of the distribution, with tolerances of six standard
errors of the estimates on 65536 draws) and through what they return: shape,
dtype, the same array from the same seed, fresh arrays from further draws of
one generator. How the student consumes the random stream is never assumed.
"""

import math

import numpy as np

from . import Fail, check, describe_type

N_IN, N_OUT = 512, 128  # 65536 draws, fan_in != fan_out
SIGMAS = 6.0


def _normal_std(name, fi, fo, std=0.01):
    return {"normal": std, "xavier_normal": math.sqrt(2 / (fi + fo)), "lecun_normal": math.sqrt(1 / fi),
            "he_normal": math.sqrt(2 / fi)}[name]


def _uniform_bound(name, fi, fo):
    return {"uniform_fan_in": 1 / math.sqrt(fi), "xavier_uniform": math.sqrt(6 / (fi + fo)),
            "he_uniform": math.sqrt(6 / fi)}[name]


def _alternatives(name, fi, fo, std_param=0.01):
    """Plausible wrong distributions: (description, kind, std, hint)."""
    out = []
    if name in ("normal", "xavier_normal", "lecun_normal", "he_normal"):
        s = _normal_std(name, fi, fo, std_param)
        out += [("used the variance where the standard deviation belongs", "normal", s * s,
                 "rng.normal(0, std) takes the STANDARD DEVIATION: pass sqrt(variance)."),
                ("a uniform distribution instead of a normal one", "uniform", s,
                 "draw from rng.normal(0.0, std, size=(fan_in, fan_out))."),
                ("the standard deviation used as a variance", "normal", math.sqrt(s),
                 "the formula gives the standard deviation itself.")]
        if name != "normal":
            sw = _normal_std(name, fo, fi)
            out.append(("fan_out used instead of fan_in", "normal", sw,
                        "W has shape (fan_in, fan_out): fan_in is the number of ROWS, the inputs of each unit."))
        if name == "he_normal":
            out.append(("missing He's correction for the ReLU (that is LeCun)", "normal", math.sqrt(1 / fi),
                        "a ReLU zeroes about half of its inputs: redo the forward variance through it "
                        "(E[relu(z)^2] in terms of Var(z)) and correct Var(W) for what it loses."))
            out.append(("Xavier's fan_in + fan_out used", "normal", math.sqrt(2 / (fi + fo)),
                        "He keeps the forward variance only: fan_in alone, no compromise with fan_out."))
        if name == "xavier_normal":
            out.append(("He's standard deviation used (fan_in only)", "normal", math.sqrt(2 / fi),
                        "Xavier compromises between the forward (fan_in) and backward (fan_out) conditions: "
                        "both fans appear."))
            out.append(("Xavier's uniform bound used as the std", "normal", math.sqrt(6 / (fi + fo)),
                        "U[-a, a] has variance a^2 / 3: the normal's std is not the uniform's bound."))
        if name == "lecun_normal":
            out.append(("He's variance instead of LeCun's", "normal", math.sqrt(2 / fi),
                        "LeCun keeps the forward variance of a LINEAR unit: no correction for a ReLU."))
        if name == "normal":
            out.append(("ignored the std argument", "normal", 0.01 if std_param != 0.01 else 1.0,
                        "use the std you are given (default 0.01)."))
    else:
        a = _uniform_bound(name, fi, fo)
        s = a / math.sqrt(3)
        out += [("a normal distribution instead of a uniform one", "normal", s,
                 "draw from rng.uniform(-a, a, size=(fan_in, fan_out))."),
                ("the bound used as a standard deviation", "normal", a,
                 "rng.uniform(-a, a): a is the BOUND of a uniform distribution."),
                ("uniform on [0, a] instead of [-a, a]", "uniform0", a / math.sqrt(12),
                 "rng.uniform(-a, a, size=...): centred at 0."),
                ("the variance used as the bound", "uniform", a * a / math.sqrt(3),
                 "the bound is a square ROOT.")]
        aw = _uniform_bound(name, fo, fi)
        if name != "xavier_uniform":
            out.append(("fan_out used instead of fan_in", "uniform", aw / math.sqrt(3),
                        "W has shape (fan_in, fan_out): fan_in is the number of ROWS."))
        if name == "he_uniform":
            out.append(("Xavier's bound used", "uniform", math.sqrt(6 / (fi + fo)) / math.sqrt(3),
                        "He uses fan_in only: no compromise with fan_out."))
            out.append(("He's normal std used as the bound", "uniform", math.sqrt(2 / fi) / math.sqrt(3),
                        "U[-a, a] has variance a^2 / 3: choose a so that this is He's variance."))
        if name == "xavier_uniform":
            out.append(("Xavier's normal std used as the bound", "uniform", math.sqrt(2 / (fi + fo)) / math.sqrt(3),
                        "U[-a, a] has variance a^2 / 3: choose a so that this is Glorot's variance."))
            out.append(("He's bound used (fan_in only)", "uniform", math.sqrt(6 / fi) / math.sqrt(3),
                        "Xavier compromises between fan_in and fan_out: both fans appear."))
        if name == "uniform_fan_in":
            out.append(("bound 1 / fan_in (no square root)", "uniform", 1 / fi / math.sqrt(3),
                        "a = 1 / sqrt(fan_in)."))
    return out


def _kurtosis(x):
    c = x - x.mean()
    v = np.mean(c * c)
    return float(np.mean(c**4) / (v * v) - 3.0) if v > 0 else 0.0


def _describe_sample(W):
    return f"mean {W.mean():.4g}, std {W.std():.4g}, min {W.min():.4g}, max {W.max():.4g}"


def _validate_array(label, W, shape):
    if not isinstance(W, np.ndarray):
        raise Fail(f"{label} returned {describe_type(W)}, expected a float64 numpy array of shape {shape}")
    if W.shape != shape:
        hint = " (transposed: W is (fan_in, fan_out))" if W.shape == shape[::-1] else ""
        raise Fail(f"{label} returned shape {W.shape}, expected {shape}{hint}")
    if W.dtype != np.float64:
        raise Fail(f"{label} returned dtype {W.dtype}, expected float64")
    if not np.isfinite(W).all():
        raise Fail(f"{label} returned NaN or inf values")


def _check_distribution(label, W, name, fi, fo, std_param=0.01):
    """Fail unless W looks like a sample of the contract's distribution."""
    n = W.size
    x = W.ravel()
    kind = "uniform" if name in ("uniform_fan_in", "xavier_uniform", "he_uniform") else "normal"
    if kind == "uniform":
        a = _uniform_bound(name, fi, fo)
        std = a / math.sqrt(3)
        target = f"U[-a, a] with a = {a:.6g}"
    else:
        std = _normal_std(name, fi, fo, std_param)
        target = f"N(0, std^2) with std = {std:.6g}"
    problems = []
    mean_tol = SIGMAS * std / math.sqrt(n)
    if abs(x.mean()) > mean_tol:
        problems.append(f"the mean is {x.mean():.4g}, expected 0 (+-{mean_tol:.2g})")
    s = x.std()
    rel_tol = SIGMAS / math.sqrt(2 * n) * (1.0 if kind == "normal" else 0.75)
    if abs(s / std - 1) > rel_tol:
        problems.append(f"the standard deviation is {s:.6g}, expected {std:.6g} (+-{100 * rel_tol:.2g}%)")
    k = _kurtosis(x)
    k_tol = SIGMAS * math.sqrt(24 / n) if kind == "normal" else SIGMAS * math.sqrt(0.0571 / n) * 4
    if kind == "normal" and abs(k) > max(k_tol, 0.1):
        problems.append(f"the excess kurtosis is {k:.3g}, a normal distribution has 0 (a uniform one -1.2)")
    if kind == "uniform":
        if x.max() > a * (1 + 1e-12) or x.min() < -a * (1 + 1e-12):
            problems.append(f"values lie outside [-a, a] (min {x.min():.6g}, max {x.max():.6g}, a = {a:.6g})")
        elif x.max() < a * (1 - 2e-3) or x.min() > -a * (1 - 2e-3):
            problems.append(f"the values do not reach the bounds (min {x.min():.6g}, max {x.max():.6g}, a = {a:.6g})")
        if abs(k + 1.2) > 0.1:
            problems.append(f"the excess kurtosis is {k:.3g}, a uniform distribution has -1.2 (a normal one 0)")
    if not problems:
        return
    text = (f"{label} with fan_in={fi}, fan_out={fo}: the values do not follow {target}: "
            + "; ".join(problems) + f" (sample: {_describe_sample(x)}).")
    guess = None
    if kind == "normal" and -0.9 < k < -0.4 and 2.0 < np.abs(x).max() / s < 2.5:
        guess = ("drew from a truncated normal distribution", "the contract's normal initializers draw from the "
                 "full normal distribution, rng.normal(0.0, std, size=(fan_in, fan_out)) (PyTorch's *_normal_), not "
                 "one truncated at 2 standard deviations (TensorFlow's truncated_normal), which has no tails and a "
                 "smaller spread.")
    for desc, alt_kind, alt_std, hint in ([] if guess else _alternatives(name, fi, fo, std_param)):
        looks_uniform = abs(k + 1.2) < 0.1
        if alt_kind == "normal" and abs(k) > max(2 * k_tol, 0.25):  # not shaped like a normal distribution
            continue
        if alt_kind == "uniform0":
            if x.min() >= 0 and abs(x.std() / alt_std - 1) < 0.02:
                guess = (desc, hint)
                break
            continue
        if (alt_kind == "uniform") != looks_uniform:
            continue
        if abs(s / alt_std - 1) < max(2 * rel_tol, 0.01) and abs(x.mean()) <= SIGMAS * alt_std / math.sqrt(n):
            guess = (desc, hint)
            break
    if guess:
        text += f"\nLikely mistake: {guess[0]}. Hint: {guess[1]}"
    raise Fail(text)


RANDOM = ["normal", "uniform_fan_in", "xavier_uniform", "xavier_normal", "lecun_normal", "he_uniform", "he_normal"]


def _draws(ctx, name, **kw):
    """One program: the draws every check of ``name`` needs (run once per topic)."""
    key = ("init-draws", name, tuple(sorted(kw.items())))
    if key not in ctx.shared:
        ctx.shared[key] = _run_draws(ctx, name, **kw)
    return ctx.shared[key]


def _run_draws(ctx, name, **kw):
    fn = f"init.{name}"
    p = ctx.program()
    seed = 1000 + RANDOM.index(name)
    r = p.rng(seed)
    idx = {}
    idx["W1"] = p.emit(p.call(fn, N_IN, N_OUT, rng=r, **kw))
    idx["again"] = p.emit(p.call(fn, N_IN, N_OUT, rng=r, **kw))  # the same generator, drawn again
    idx["W2"] = p.emit(p.call(fn, N_IN, N_OUT, rng=p.rng(seed), **kw))  # a fresh generator, same seed
    idx["swapped"] = p.emit(p.call(fn, N_OUT, N_IN, rng=p.rng(seed + 7), **kw))
    idx["small"] = p.emit(p.call(fn, 3, 2, rng=p.rng(seed + 1), **kw))
    idx["one"] = p.emit(p.call(fn, 1, 1, rng=p.rng(seed + 2), **kw))
    idx["none1"] = p.emit(p.call(fn, 20, 10, **kw))
    idx["none2"] = p.emit(p.call(fn, 20, 10, **kw))
    values = ctx.run(p, f"{name}(fan_in, fan_out, rng=...)")
    return {k: values[i] for k, i in idx.items()}


def _label(name, kw):
    extra = "".join(f", {k}={v}" for k, v in kw.items())
    return f"{name}(fan_in, fan_out{extra}, rng=...)"


def _distribution_check(ctx, name, **kw):
    d = _draws(ctx, name, **kw)
    label = _label(name, kw)
    _validate_array(label, d["W1"], (N_IN, N_OUT))
    _validate_array(label, d["swapped"], (N_OUT, N_IN))
    _check_distribution(label, d["W1"], name, N_IN, N_OUT, kw.get("std", 0.01))
    _check_distribution(label, d["swapped"], name, N_OUT, N_IN, kw.get("std", 0.01))


def _rng_check(ctx, name, **kw):
    d = _draws(ctx, name, **kw)
    label = _label(name, kw)
    for key, shape in (("W1", (N_IN, N_OUT)), ("again", (N_IN, N_OUT)), ("W2", (N_IN, N_OUT)),
                       ("small", (3, 2)), ("one", (1, 1))):
        _validate_array(label, d[key], shape)
    for key in ("none1", "none2"):
        _validate_array(f"{name}(20, 10) with rng=None", d[key], (20, 10))
    if not np.array_equal(d["W1"], d["W2"]):
        raise Fail(f"{label}: two generators made with the same seed gave different arrays. Draw every "
                   "random number from the rng you are given (rng.normal(...), rng.uniform(...)), never "
                   "from np.random.* functions or a generator of your own.")
    if np.array_equal(d["W1"], d["again"]):
        raise Fail(f"{label}: drawing twice from the same generator gave the same array. Use the rng you are "
                   "given as it is (do not re-seed it or make a new generator from a fixed seed).")
    if np.array_equal(d["none1"], d["none2"]):
        raise Fail(f"{name}(20, 10) with rng=None returned the same array twice: rng=None must mean a fresh "
                   "np.random.default_rng(), not a fixed seed.")


# ------------------------------------------------------------------- checks


@check("zeros", 1, "zeros")
def zeros(ctx):
    """zeros: all 0.0, float64, shape (fan_in, fan_out), with or without rng."""
    p = ctx.program()
    outs = [(s, p.emit(p.call("init.zeros", *s))) for s in [(3, 5), (1, 1), (64, 8)]]
    outs.append(((4, 2), p.emit(p.call("init.zeros", 4, 2, rng=p.rng(0)))))
    values = ctx.run(p)
    for shape, i in outs:
        W = values[i]
        _validate_array(f"zeros{shape}", W, shape)
        if np.any(W != 0):
            raise Fail(f"zeros{shape}: not all zeros (e.g. {W.ravel()[np.argmax(W != 0)]:.6g})")


@check("constant", 1, "constant")
def constant(ctx):
    """constant: every weight equal to value (an int value still gives float64)."""
    p = ctx.program()
    cases = [((3, 5, 0.5), {}), ((2, 2, -2.25), {}), ((1, 4, 3), {}), ((4, 3, 0.1), {"rng": p.rng(0)})]
    outs = [(a, p.emit(p.call("init.constant", *a, **kw))) for a, kw in cases]
    values = ctx.run(p)
    for (fi, fo, value), i in outs:
        W = values[i]
        _validate_array(f"constant({fi}, {fo}, {value})", W, (fi, fo))
        if np.any(W != value):
            raise Fail(f"constant({fi}, {fo}, {value}): some weights are not {value} "
                       f"(e.g. {W.ravel()[np.argmax(W != value)]:.6g})")


def _register(name, dist_points=1.5, rng_points=0.5, **kw):
    def dist(ctx):
        _distribution_check(ctx, name, **kw)
        if name == "normal":
            _distribution_check(ctx, name, std=0.5)

    def rng(ctx):
        _rng_check(ctx, name, **kw)

    dist.__doc__ = (f"{name}: mean, standard deviation, bounds and shape of the distribution on 65536 draws, "
                    "for (fan_in, fan_out) = (512, 128) and (128, 512).")
    rng.__doc__ = (f"{name}: shape and dtype; the same seed gives the same array; drawing again from one "
                   "generator gives a new array; rng=None works.")
    dist.__module__ = rng.__module__ = __name__
    check(f"{name}_distribution", dist_points, name)(dist)
    check(f"{name}_rng", rng_points, name)(rng)


for _name in RANDOM:
    _register(_name)

"""Hidden checks of ``nntricks.dropout`` (12 points).

The forward pass is random: it is checked through what it returns (the mask is
a float64 array of 0.0 and 1.0 of the input's shape, the output agrees with
the mask) and statistically (the fraction kept is alpha within six standard
errors on 100000 units, masks are independent across units and instances,
fresh at every call, and reproducible from a seed), never by assuming how the
random stream is consumed.
"""

import math

import numpy as np

from . import Fail, Mistake, check, describe_type, mismatch

SHAPE = (200, 500)
SIGMAS = 6.0


def _forward(ctx, calls):
    """Run dropout_forward calls in one program. ``calls``: list of (y, alpha,
    kwargs) where kwargs may hold rng=("seed", s) / ("shared", name) / None."""
    p = ctx.program()
    shared = {}
    idx = []
    for y, alpha, kw in calls:
        kw = dict(kw)
        rng = kw.pop("rng", None)
        if isinstance(rng, tuple) and rng[0] == "seed":
            kw["rng"] = p.rng(rng[1])
        elif isinstance(rng, tuple) and rng[0] == "shared":
            if rng[1] not in shared:
                shared[rng[1]] = p.rng(rng[2])
            kw["rng"] = shared[rng[1]]
        yr = p.array(y)
        res = p.call("dropout.dropout_forward", yr, alpha, **kw)
        idx.append((p.emit(res), p.emit(yr)))
    values = ctx.run(p, "dropout_forward")
    out = []
    for (i, j), (y, alpha, kw) in zip(idx, calls):
        label = _label(alpha, kw)
        res, y_after = values[i], values[j]
        if not isinstance(y_after, np.ndarray) or not np.array_equal(y_after, y):
            raise Fail(f"{label} modified its input y in place: compute out = y * mask / alpha into a new array.")
        if not isinstance(res, (tuple, list)) or len(res) != 2:
            raise Fail(f"{label} returned {describe_type(res)}, expected a tuple (out, mask)")
        out.append(tuple(res))
    return out


def _label(alpha, kw):
    extra = "".join(f", {k}={v!r}" for k, v in kw.items() if k != "rng")
    return f"dropout_forward(y, alpha={alpha}{extra})"


def _valid_mask(label, mask, shape):
    if not isinstance(mask, np.ndarray):
        raise Fail(f"{label}: the mask is {describe_type(mask)}, expected a float64 array of 0.0 and 1.0 "
                   f"with the shape of y {shape}")
    if mask.shape != shape:
        hint = ""
        if mask.ndim == len(shape) and 1 in mask.shape:
            hint = " (one mask shared by every instance or unit? each unit of each instance needs its own draw)"
        raise Fail(f"{label}: the mask has shape {mask.shape}, expected the shape of y {shape}{hint}")
    if mask.dtype != np.float64:
        hint = " (convert the boolean mask with .astype(float))" if mask.dtype == bool else ""
        raise Fail(f"{label}: the mask has dtype {mask.dtype}, expected float64{hint}")
    bad = ~((mask == 0.0) | (mask == 1.0))
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        raise Fail(f"{label}: the mask must hold only 0.0 and 1.0, found {mask[i]:.6g} at index {i} "
                   "(return the mask before any scaling by 1/alpha)")


@check("forward_mask", 1.5, "dropout_forward")
def forward_mask(ctx):
    """Training mode: the mask is a float64 array of 0.0 and 1.0 with the shape of y (any shape)."""
    r = ctx.rng()
    calls = [(r.normal(size=(8, 5)), 0.5, {"rng": ("seed", 1)}), (r.normal(size=(3, 1)), 0.7, {"rng": ("seed", 2)}),
             (r.normal(size=(7,)), 0.6, {"rng": ("seed", 3)}), (r.normal(size=(4, 3)), 0.5, {"rng": ("seed", 4), "inverted": False})]
    results = _forward(ctx, calls)
    for (y, alpha, kw), (out, mask) in zip(calls, results):
        _valid_mask(_label(alpha, kw), mask, y.shape)
    if all(np.all(mask == 1.0) for _, mask in results):
        raise Fail(NO_DROP)


NO_DROP = ("dropout_forward kept every unit in every call (the mask is all ones): no dropout happens. Likely "
           "mistake: the mask is not drawn. Hint: draw one keep/drop decision per element from rng, keeping "
           "with probability alpha.")


@check("forward_keep_rate", 2.5, "dropout_forward")
def forward_keep_rate(ctx):
    """P(mask = 1) = alpha (alpha is the KEEP probability) for alpha = 0.8 and 0.3, on 100000 units,
    independently across units and instances."""
    r = ctx.rng()
    calls = [(r.normal(size=SHAPE), a, {"rng": ("seed", 10 + k)}) for k, a in enumerate((0.8, 0.3))]
    calls.append((r.normal(size=SHAPE), 0.6, {"rng": ("seed", 20), "inverted": False}))
    for (y, alpha, kw), (out, mask) in zip(calls, _forward(ctx, calls)):
        label = _label(alpha, kw)
        _valid_mask(label, mask, y.shape)
        n = mask.size
        rate = float(mask.mean())
        tol = SIGMAS * math.sqrt(alpha * (1 - alpha) / n)
        if abs(rate - alpha) > tol:
            text = f"{label}: {100 * rate:.2f}% of the units were kept, expected alpha = {100 * alpha:g}% (+-{100 * tol:.2f}%)."
            if abs(rate - (1 - alpha)) <= tol:
                text += ("\nLikely mistake: alpha used as the DROP probability. Hint: alpha is the KEEP "
                         "probability (unlike PyTorch's p): a unit is kept with probability alpha.")
            raise Fail(text)
        if np.all(mask == mask[:1]) or np.all(mask == mask[:, :1]):
            raise Fail(f"{label}: every {'instance' if np.all(mask == mask[:1]) else 'unit'} got the same mask: "
                       "draw one independent keep/drop decision per element (rng.random(y.shape)).")
        a, b = mask[:, :-1].ravel(), mask[:, 1:].ravel()
        corr = float(np.corrcoef(a, b)[0, 1])
        if abs(corr) > SIGMAS / math.sqrt(a.size):
            raise Fail(f"{label}: neighbouring units' mask values are correlated ({corr:.3f}): the decisions "
                       "must be independent per element.")


@check("forward_output", 2, "dropout_forward")
def forward_output(ctx):
    """Training output agrees with the mask: y * mask / alpha (inverted) or y * mask."""
    r = ctx.rng()
    calls = [(r.normal(size=(20, 30)), 0.8, {"rng": ("seed", 1)}), (r.normal(size=(20, 30)), 0.3, {"rng": ("seed", 2)}),
             (r.normal(size=(6, 4)), 0.5, {"rng": ("seed", 3), "inverted": False}),
             (r.normal(size=(6, 4)), 1.0, {"rng": ("seed", 4)})]
    for (y, alpha, kw), (out, mask) in zip(calls, _forward(ctx, calls)):
        label = _label(alpha, kw)
        _valid_mask(label, mask, y.shape)
        inverted = kw.get("inverted", True)
        want = y * mask / alpha if inverted else y * mask
        m = mismatch(out, want, 1e-12, 1e-12, "out")
        if m:
            text = f"{label}: {m} (expected {'y * mask / alpha' if inverted else 'y * mask'} with the returned mask)."
            if isinstance(out, np.ndarray) and out.shape == y.shape:
                for desc, alt, hint in (
                        ("not divided by alpha", y * mask, "inverted dropout divides by alpha in training so "
                         "that test time needs no change: out = y * mask / alpha."),
                        ("divided by alpha without inverted=True", y * mask / alpha, "with inverted=False, "
                         "training returns y * mask and test mode multiplies by alpha."),
                        ("divided by 1 - alpha", y * mask / (1 - alpha) if alpha < 1 else None,
                         "alpha is the KEEP probability: divide by alpha."),
                        ("multiplied by alpha", y * mask * alpha, "inverted dropout divides by alpha."),
                        ("the mask was not applied", y / alpha if inverted else y, "out = y * mask (/ alpha)."),
                ):
                    if alt is not None and mismatch(out, alt, 1e-9, 1e-12) is None:
                        text += f"\nLikely mistake: {desc}. Hint: {hint}"
                        break
            raise Fail(text)


@check("forward_fresh_masks", 1, "dropout_forward")
def forward_fresh_masks(ctx):
    """Each call draws a new mask: twice from one generator, and twice with rng=None."""
    r = ctx.rng()
    y = r.normal(size=(30, 40))
    calls = [(y, 0.5, {"rng": ("shared", "g", 5)}), (y, 0.5, {"rng": ("shared", "g", 5)}), (y, 0.5, {}), (y, 0.5, {})]
    res = _forward(ctx, calls)
    for (_, alpha, kw), (_, mask) in zip(calls, res):
        _valid_mask(_label(alpha, kw), mask, y.shape)
    if np.array_equal(res[0][1], res[1][1]):
        raise Fail("dropout_forward(y, 0.5, rng=g) called twice with the same generator g gave the same mask: "
                   "every call must draw a fresh mask from the rng (never re-seed it or make a generator "
                   "from a fixed seed).")
    if np.array_equal(res[2][1], res[3][1]):
        raise Fail("dropout_forward(y, 0.5) with rng=None gave the same mask twice: rng=None means a fresh "
                   "np.random.default_rng(), not a fixed seed.")


@check("forward_reproducible", 1, "dropout_forward")
def forward_reproducible(ctx):
    """Two generators with the same seed give the same mask and output (only the given rng is used)."""
    r = ctx.rng()
    y = r.normal(size=(30, 40))
    calls = [(y, 0.7, {"rng": ("seed", 42)}), (y, 0.7, {"rng": ("seed", 42)})]
    (o1, m1), (o2, m2) = _forward(ctx, calls)
    _valid_mask(_label(0.7, {}), m1, y.shape)
    if np.all(m1 == 1.0):
        raise Fail(NO_DROP)
    if not (np.array_equal(m1, m2) and isinstance(o1, np.ndarray) and isinstance(o2, np.ndarray)
            and np.array_equal(o1, o2)):
        raise Fail("dropout_forward(y, 0.7, rng=np.random.default_rng(42)) twice gave different masks or outputs: "
                   "draw the mask from the rng you are given (rng.random(...)), never from np.random.* functions.")


@check("forward_test_mode", 1.5, "dropout_forward")
def forward_test_mode(ctx):
    """train=False: mask None; out = y (inverted) or alpha * y (not inverted); y never modified."""
    r = ctx.rng()
    y = r.normal(size=(6, 5))
    calls = [(y, 0.8, {"train": False}), (y, 0.3, {"train": False, "inverted": False}),
             (y, 0.5, {"train": False, "rng": ("seed", 1)})]
    for (yy, alpha, kw), (out, mask) in zip(calls, _forward(ctx, calls)):
        label = _label(alpha, kw)
        if mask is not None:
            raise Fail(f"{label}: the mask is {describe_type(mask)}, expected None in test mode")
        inverted = kw.get("inverted", True)
        want = yy if inverted else alpha * yy
        m = mismatch(out, want, 1e-12, 1e-12, "out")
        if m:
            text = f"{label}: {m}"
            if isinstance(out, np.ndarray) and out.shape == yy.shape:
                if inverted and (mismatch(out, alpha * yy, 1e-9, 1e-12) is None or mismatch(out, yy / alpha, 1e-9, 1e-12) is None):
                    text += ("\nLikely mistake: scaled in test mode with inverted dropout. Hint: inverted "
                             "dropout already divided by alpha in training: at test time out = y.")
                elif not inverted and mismatch(out, yy, 1e-9, 1e-12) is None:
                    text += ("\nLikely mistake: forgot to scale at test time. Hint: without inversion the "
                             "test-time output is the expectation alpha * y.")
            raise Fail(text)


BACKWARD_MISTAKES = [
    Mistake("not divided by alpha", "inverted dropout's forward pass scales the kept units: differentiate that "
            "product, the scale included.", lambda dout, mask, alpha, inverted:
            dout * mask if mask is not None else dout),
    Mistake("divided by alpha without inverted=True", "with inverted=False the forward pass scales nothing in "
            "training, so neither does its derivative.",
            lambda dout, mask, alpha, inverted: dout * mask / alpha if mask is not None else dout),
    Mistake("the mask was ignored", "a dropped unit's output does not depend on its input: only the kept units "
            "pass gradient.",
            lambda dout, mask, alpha, inverted: dout / alpha if inverted else dout),
    Mistake("test-mode derivative scaled wrongly", "with mask=None, differentiate the TEST-mode forward pass of "
            "the same mode: which factor does it apply?",
            lambda dout, mask, alpha, inverted: (alpha * dout if inverted else dout) if mask is None else None),
    Mistake("multiplied by alpha instead of dividing", "the forward pass DIVIDES the kept units by alpha; its "
            "derivative keeps that same operation.",
            lambda dout, mask, alpha, inverted: dout * mask * alpha if mask is not None else None),
]


@check("backward", 2.5, "dropout_backward")
def backward(ctx):
    """dropout_backward against the reference: given masks, both modes, and mask=None (test mode)."""
    r = ctx.rng()
    for alpha, inverted in ((0.8, True), (0.3, True), (0.6, False)):
        dout = r.normal(size=(7, 9))
        mask = (r.random((7, 9)) < alpha).astype(float)
        ctx.expect("dropout.dropout_backward", dout, mask, alpha, inverted=inverted, mistakes=BACKWARD_MISTAKES)
        ctx.expect("dropout.dropout_backward", dout, None, alpha, inverted=inverted, mistakes=BACKWARD_MISTAKES)
    ctx.expect("dropout.dropout_backward", r.normal(size=(5, 4)), (r.random((5, 4)) < 0.5).astype(float), 0.5,
               mistakes=BACKWARD_MISTAKES)

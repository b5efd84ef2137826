"""Hidden checks of ``nntricks.divergences``, part 3: ``error_signal_gap`` (the end of exercise 1.5;
the topic's points are listed in ``checks/__init__.py``).

The output stages and divergences handed to the student's ``error_signal_gap`` are functions that
already live in the worker: numpy's ``positive`` (the identity) and ``tanh``, and the student's own
``softmax``, ``l2`` and ``kl`` (graded by their own checks). The expected gap is computed here with
the reference's functions on the same inputs.
"""

import numpy as np

from . import Fail, Mistake, StudentError, check, describe_type, float_mistake
from ..protocol import Raised

TOPIC = "divergences"

# (output, divergence, targets, matched): the output is "np.<name>" or "divergences.<name>"
CASES = {
    "matched": [("np.positive", "l2", "normal"), ("divergences.softmax", "kl", "probabilities")],
    "mismatched": [("divergences.softmax", "l2", "probabilities"), ("np.tanh", "l2", "normal")],
}


def _functions(ref):
    return {"np.positive": np.positive, "np.tanh": np.tanh, "divergences.softmax": ref.divergences.softmax,
            "l2": ref.divergences.l2, "kl": ref.divergences.kl}


def _gap(ctx, output, div, z, d, error=None, wrt_y=False):
    """The reference's gap (or a variant of it, for naming mistakes)."""
    g = ctx.ref.gradcheck
    B = z.shape[0]
    if wrt_y:
        numeric = g.numeric_grad(lambda y_: div(y_, d), output(z))
    else:
        numeric = g.numeric_grad(lambda z_: div(output(z_), d), z)
    return g.rel_error(numeric, (output(z) - d) / B if error is None else error)


def _inputs(r, B, K, kind):
    z = r.normal(scale=1.5, size=(B, K))
    d = r.dirichlet(np.ones(K), size=B) if kind == "probabilities" else r.normal(size=(B, K))
    return z, d


def _run(ctx, output, div, z, d):
    p = ctx.program()
    if output.startswith("np."):
        fn = p.call("divergences.np.__dict__.get", output[3:], label=f"numpy.{output[3:]}")
    else:
        fn = p.call("divergences.__dict__.get", output.split(".")[1], label=output)
    dv = p.call("divergences.__dict__.get", div, label=f"divergences.{div}")
    zr, dr = p.array(z), p.array(d)
    p.emit(p.call("divergences.error_signal_gap", fn, dv, zr, dr, catch=True,
                  label=f"error_signal_gap({output}, {div}, z, d)"))
    p.emit(zr)
    p.emit(dr)
    try:
        status, gap, z_after, d_after = ctx.run(p, f"error_signal_gap({output}, {div}, z, d)")
    except StudentError as e:
        if "__dict__" in str(e) or "'np'" in str(e):
            raise Fail(f"{e}: nntricks/divergences.py must keep its provided line `import numpy as np`") from None
        raise
    label = f"error_signal_gap({output.replace('np.', 'numpy.')}, divergences.{div}, z, d) with z of shape {z.shape}"
    if isinstance(status, Raised) and status.is_a("NotImplementedError"):
        raise StudentError(f"{label}: not implemented yet (NotImplementedError: {status.msg[:200]})")
    if isinstance(status, Raised):
        raise Fail(f"{label} raised {status.type}: {status.msg[:200]}.")
    for name, before, after in (("z", z, z_after), ("d", d, d_after)):
        if not (isinstance(after, np.ndarray) and np.array_equal(after, before)):
            raise Fail(f"{label} modified its input {name} in place: numeric_grad perturbs a copy; never write "
                       f"into {name}.")
    bad = float_mistake(gap)
    if bad is not None:
        raise Fail(f"{label} returned {describe_type(gap)}, the contract says a float (a relative error).\n"
                   f"Likely mistake: {bad.name}. Hint: {bad.hint}")
    return label, float(gap)


def _mistakes(ctx, output, div, z, d):
    fns = _functions(ctx.ref)
    out, dv = fns[output], fns[div]
    B = z.shape[0]
    return [
        Mistake("the 1/B missing from the error", "the divergence is a mean over the batch, so its gradient "
                "carries a 1/B: so must the error you compare it with.",
                lambda: _gap(ctx, out, dv, z, d, error=out(z) - d)),
        Mistake("the gradient taken w.r.t. y, not z", "perturb z and recompute output(z) inside the function "
                "you differentiate: the output stage is part of L(z).", lambda: _gap(ctx, out, dv, z, d, wrt_y=True)),
        Mistake("the error built from z, not from the output", "the error compares the OUTPUT y = output(z) "
                "with d.", lambda: _gap(ctx, out, dv, z, d, error=(z - d) / B)),
    ]


def _name(ctx, output, div, z, d, got):
    for m in _mistakes(ctx, output, div, z, d):
        try:
            with np.errstate(all="ignore"):
                variant = float(m.variant())
        except Exception:  # noqa: BLE001 - a variant that does not apply
            continue
        if np.isclose(got, variant, rtol=1e-3, atol=1e-9):
            return f"\nLikely mistake: {m.name}. Hint: {m.hint}"
    return ""


@check("error_signal_gap_matched", 1, "error_signal_gap", uses=("softmax", "l2", "kl"))
def error_signal_gap_matched(ctx):
    """Linear + L2 and softmax + KL: the gap is below 1e-6 (B = 4 and B = 1)."""
    r = ctx.rng()
    fns = _functions(ctx.ref)
    for output, div, kind in CASES["matched"]:
        for B, K in ((4, 3), (1, 5)):
            z, d = _inputs(r, B, K, kind)
            label, got = _run(ctx, output, div, z, d)
            if not got < 1e-6:
                want = _gap(ctx, fns[output], fns[div], z, d)
                raise Fail(f"{label}: the gap is {got:.3g}; for this pairing the gradient w.r.t. z IS the error, so "
                           f"it should be about {want:.1g} (below 1e-6)." + _name(ctx, output, div, z, d, got))


@check("error_signal_gap_mismatched", 1, "error_signal_gap", uses=("softmax", "l2"))
def error_signal_gap_mismatched(ctx):
    """Softmax + L2 and tanh + L2: the gap is the reference's (relative tolerance 1e-3), far above 1e-6."""
    r = ctx.rng()
    fns = _functions(ctx.ref)
    for output, div, kind in CASES["mismatched"]:
        for B, K in ((4, 3), (2, 6)):
            z, d = _inputs(r, B, K, kind)
            label, got = _run(ctx, output, div, z, d)
            want = _gap(ctx, fns[output], fns[div], z, d)
            if not np.isclose(got, want, rtol=1e-3, atol=1e-9):
                raise Fail(f"{label}: the gap is {got:.6g}, expected {want:.6g} (the relative error between the "
                           "numerical dL/dz and the error)." + _name(ctx, output, div, z, d, got))

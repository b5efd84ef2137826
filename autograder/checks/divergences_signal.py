"""Hidden checks of ``nntricks.divergences``, part 3: ``error_signal_gap`` (the end of exercise 1.5;
the topic's points are listed in ``checks/__init__.py``).

The output stages and the divergence handed to the student's ``error_signal_gap`` are numpy's own
functions, which already live in the worker: ``positive`` (the identity), ``exp`` and ``tanh`` as
outputs, ``vdot`` (``sum(y * d)``) as the divergence. None of the student's other functions is
used, so a wrong or hanging ``l2`` costs this exercise nothing. With ``vdot`` the gradient
w.r.t. ``z`` is ``output'(z) * d``; for the "matched" cases ``d`` is chosen so that it equals the
error ``(output(z) - d) / B`` (gap about 0), for the others ``d`` is random and the expected gap is
computed here with the reference's ``gradcheck`` on the same inputs.
"""

import numpy as np

from . import Fail, Mistake, StudentError, check, describe_type, float_mistake
from ..protocol import Raised

TOPIC = "divergences"

OUTPUTS = {"positive": np.positive, "exp": np.exp, "tanh": np.tanh}


def _matched_d(output, z):
    """The d for which output'(z) * d = (output(z) - d) / B, elementwise."""
    B = z.shape[0]
    if output == "positive":
        return z / (B + 1)
    y = np.exp(z)
    return y / (B * y + 1)


def _gap(ctx, output, z, d, error=None, wrt_y=False):
    """The reference's gap (or a variant of it, for naming mistakes)."""
    g, out = ctx.ref.gradcheck, OUTPUTS[output]
    B = z.shape[0]
    if wrt_y:
        numeric = g.numeric_grad(lambda y_: np.vdot(y_, d), out(z))
    else:
        numeric = g.numeric_grad(lambda z_: np.vdot(out(z_), d), z)
    return g.rel_error(numeric, (out(z) - d) / B if error is None else error)


def _run(ctx, output, z, d):
    p = ctx.program()
    fn = p.call("divergences.np.__dict__.get", output, label=f"numpy.{output}")
    dv = p.call("divergences.np.__dict__.get", "vdot", label="numpy.vdot")
    zr, dr = p.array(z), p.array(d)
    label = f"error_signal_gap(numpy.{output}, numpy.vdot, z, d) with z of shape {z.shape}"
    p.emit(p.call("divergences.error_signal_gap", fn, dv, zr, dr, catch=True, label=label))
    p.emit(zr)
    p.emit(dr)
    try:
        status, gap, z_after, d_after = ctx.run(p, label)
    except StudentError as e:
        raise Fail(f"{e} (nntricks/divergences.py must keep its provided line `import numpy as np`: the check "
                   "hands numpy's functions to error_signal_gap)") from None
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


def _name(ctx, output, z, d, got):
    out, B = OUTPUTS[output], z.shape[0]
    mistakes = [
        Mistake("the 1/B missing from the error", "the divergence is a mean over the batch, so its gradient "
                "carries a 1/B: so must the error you compare it with.", lambda: _gap(ctx, output, z, d, error=out(z) - d)),
        Mistake("the gradient taken w.r.t. y, not z", "perturb z and recompute output(z) inside the function "
                "you differentiate: the output stage is part of L(z).", lambda: _gap(ctx, output, z, d, wrt_y=True)),
        Mistake("the error built from z, not from the output", "the error compares the OUTPUT y = output(z) "
                "with d.", lambda: _gap(ctx, output, z, d, error=(z - d) / B)),
    ]
    for m in mistakes:
        with np.errstate(all="ignore"):
            variant = float(m.variant())
        if np.isclose(got, variant, rtol=1e-3, atol=1e-9):
            return f"\nLikely mistake: {m.name}. Hint: {m.hint}"
    return ""


@check("error_signal_gap_matched", 1, "error_signal_gap")
def error_signal_gap_matched(ctx):
    """Pairings whose gradient w.r.t. z is the error (identity and exp outputs, B = 4 and 1): gap below 1e-6."""
    r = ctx.rng()
    for output in ("positive", "exp"):
        for B, K in ((4, 3), (1, 5)):
            z = r.normal(size=(B, K))
            d = _matched_d(output, z)
            label, got = _run(ctx, output, z, d)
            if not got < 1e-6:
                raise Fail(f"{label}: the gap is {got:.3g}; for these z and d the gradient of "
                           f"vdot(output(z), d) w.r.t. z IS the error (output(z) - d) / B, so it should be about "
                           f"{_gap(ctx, output, z, d):.1g} (below 1e-6)." + _name(ctx, output, z, d, got))


@check("error_signal_gap_mismatched", 1, "error_signal_gap")
def error_signal_gap_mismatched(ctx):
    """Pairings whose gradient is not the error (tanh and exp outputs, random d): the reference's gap (rtol 1e-3)."""
    r = ctx.rng()
    for output in ("tanh", "exp"):
        for B, K in ((4, 3), (2, 6)):
            z, d = r.normal(size=(B, K)), r.normal(size=(B, K))
            label, got = _run(ctx, output, z, d)
            want = _gap(ctx, output, z, d)
            if not np.isclose(got, want, rtol=1e-3, atol=1e-9):
                raise Fail(f"{label}: the gap is {got:.6g}, expected {want:.6g} (the relative error between the "
                           "numerical dL/dz and the error)." + _name(ctx, output, z, d, got))

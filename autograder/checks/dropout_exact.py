"""Hidden checks of ``nntricks.dropout``, part 3: ``exact_average(f, N, alpha)``, the expectation
of ``f`` over all ``2**N`` masks.

The functions ``f`` live in the worker and are built there from numpy itself (a matrix product,
a row-wise sort, a row-wise maximum, a row's diagonal matrix), so no code of the checks crosses
into the sandbox. They are nonlinear where it matters: for a linear ``f`` the weight-scaling rule
``f(alpha)`` is exact, so only a nonlinear one tells the exact average from it.
"""

import itertools

import numpy as np

from . import Fail, Mistake, check, describe_type, find_mistake, mismatch

TOPIC = "dropout"

# (what f is, which f (see _worker_f), N, alpha)
_CASES = (
    ("f = lambda m: m @ W (W of shape (N, 3))", "matmul", 5, 0.3),
    ("f = lambda m: np.sort(m, axis=1)", "sort", 6, 0.7),
    ("f = lambda m: m.max(axis=1)", "max", 7, 0.4),
    ("f = lambda m: np.sort(m, axis=1)", "sort", 4, 1.0),
)


def _worker_f(p, kind, W=None):
    """A reference to ``f`` inside the worker (numpy's own functions, reached from an array)."""
    # slots hold the worker's own objects: a Generator, an array it draws, numpy through that array
    ns = p.method(p.method(p.rng(0), "random", 1), "__array_namespace__", label="numpy")
    if kind == "matmul":
        return p.getattr(p.method(ns, "asarray", p.array(W)), "__rmatmul__")
    if kind == "sort":
        return p.getattr(ns, "sort")
    fn = {"max": ("max", "(n)->()"), "diag": ("diag", "(n)->(n,n)")}[kind]
    return p.method(ns, "vectorize", p.getattr(ns, fn[0]), signature=fn[1], label=f"f = {kind} of a row")


def _local_f(kind, W=None):
    if kind == "matmul":
        return lambda m: m @ W
    if kind == "sort":
        return lambda m: np.sort(m, axis=-1)
    if kind == "max":
        return lambda m: m.max(axis=1)
    return lambda m: np.stack([np.diag(r) for r in m])


def _masks(N):
    return np.array(list(itertools.product([0.0, 1.0], repeat=N)))


def _weighted(P, f, N):
    return np.tensordot(P, f(_masks(N)), axes=1)


def _P(N, keep):
    k = _masks(N).sum(axis=1)
    return keep**k * (1 - keep) ** (N - k)


MISTAKES = [
    Mistake("f evaluated at the expected mask (the weight-scaling rule), not averaged over the masks",
            "this f is nonlinear, so the average of f differs from f at the average mask: call f on every "
            "mask and weight each row of its output by the probability of that row's mask.",
            lambda f, N, alpha, **_: f(np.full((1, N), alpha))[0]),
    Mistake("alpha used as the DROP probability",
            "alpha is the KEEP probability: count which factor a kept unit (1.0) and a dropped unit (0.0) "
            "contribute to P(m).", lambda f, N, alpha, **_: _weighted(_P(N, 1 - alpha), f, N)),
    Mistake("every mask weighted equally (alpha ignored)",
            "the masks are not equally likely unless alpha = 0.5: P(m) depends on how many units m keeps.",
            lambda f, N, alpha, **_: f(_masks(N)).mean(axis=0)),
    Mistake("the outputs summed without their probabilities",
            "weight each mask's output by its probability P(m) before summing over the masks.",
            lambda f, N, alpha, **_: f(_masks(N)).sum(axis=0)),
    Mistake("the probabilities do not add up to 1",
            "sum P(m) over all masks should be 1: check the factor of each unit, kept and dropped.",
            when=lambda inputs, got, want: isinstance(got, np.ndarray) and got.shape == np.shape(want)
            and inputs["kind"] == "matmul" and _scaled(got, want)),
]


def _scaled(got, want):
    want = np.asarray(want)
    if not np.all(np.isfinite(got)) or not np.any(want):
        return False
    c = float(np.vdot(got, want) / np.vdot(want, want))
    return abs(c - 1) > 1e-6 and np.allclose(got, c * want, rtol=1e-9, atol=1e-12)


def _run(ctx, cases):
    """Run ``exact_average`` on ``(kind, N, alpha, W)`` cases in one program; the results."""
    p = ctx.program()
    at = [p.emit(p.call("dropout.exact_average", _worker_f(p, kind, W), N, alpha,
                        label=f"exact_average(f, N={N}, alpha={alpha})")) for kind, N, alpha, W in cases]
    values = ctx.run(p, "exact_average(f, N, alpha)")
    return [values[i] for i in at]


@check("exact_average", 1.5, "exact_average")
def exact_average(ctx):
    """exact_average(f, N, alpha) = sum over the 2**N masks of P(m) f(m), for a linear f and for
    nonlinear ones (where the weight-scaling rule is not exact), alpha = 1 included."""
    r = ctx.rng()
    cases = []
    for text, kind, N, alpha in _CASES:
        cases.append((kind, N, alpha, r.normal(size=(N, 3)) if kind == "matmul" else None))
    for (shown, *_), (kind, N, alpha, W), got in zip(_CASES, cases, _run(ctx, cases)):
        f = _local_f(kind, W)
        want = ctx.ref.dropout.exact_average(f, N, alpha)
        label = f"exact_average(f, N={N}, alpha={alpha}) with {shown}"
        m = mismatch(np.asarray(got) if isinstance(got, (float, np.floating)) else got, want, 1e-9, 1e-12)
        if m is None:
            continue
        text = f"{label}: {m}."
        if isinstance(got, np.ndarray) and got.shape == (2**N, *np.shape(want)):
            text += ("\nLikely mistake: one output per mask is returned. Hint: the average sums over the masks, "
                     "the first axis of f's output.")
        else:
            found = find_mistake(MISTAKES, {"f": f, "N": N, "alpha": alpha, "kind": kind}, got, want, 1e-9, 1e-12) \
                if isinstance(got, np.ndarray) or np.isscalar(got) else None
            if found is not None:
                text += f"\nLikely mistake: {found.name}. Hint: {found.hint}"
        raise Fail(text)


@check("exact_average_shape", 0.5, "exact_average")
def exact_average_shape(ctx):
    """The result has the shape of one output of f: () for f returning (2**N,), (N, N) for (2**N, N, N)."""
    cases = [("max", 3, 0.5, None), ("diag", 3, 0.6, None)]
    for (kind, N, alpha, _), got in zip(cases, _run(ctx, cases)):
        want = np.asarray(_local_f(kind)(_masks(N)).shape[1:])
        shape = np.shape(got) if isinstance(got, (np.ndarray, float, int)) else None
        if shape != tuple(want):
            what = "m.max(axis=1), shape (2**N,)" if kind == "max" else "a diagonal matrix per mask, shape (2**N, N, N)"
            likely = "one output per mask is returned" if shape == (2**N, *want) else "the wrong axes summed"
            raise Fail(f"exact_average(f, N={N}, alpha={alpha}) with f returning {what}: the result is "
                       f"{describe_type(got)}, expected shape {tuple(want)} (the shape of one output of f).\n"
                       f"Likely mistake: {likely}. Hint: sum over the first axis of f's output only, the one "
                       "that runs over the masks.")

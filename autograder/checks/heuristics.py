"""Hidden checks of ``nntricks.heuristics`` (14 points)."""

import math

import numpy as np

from . import Fail, Mistake, check, describe_type, find_mistake, mismatch
from ..protocol import scorer_key
from .divergences import _nonfinite_where_finite

# ------------------------------------------------------------------ clipping


def _grads(r, scale=4.0):
    return [r.normal(size=(4, 3)) * scale, r.normal(size=(5,)) * scale, r.normal(size=(2, 2, 2)) * scale]


CLIP_VALUE_MISTAKES = [
    Mistake("clipped to [0, theta]", "clip to [-theta, theta]: np.clip(g, -theta, theta).",
            lambda grads, theta: [np.clip(g, 0, theta) for g in grads]),
    Mistake("only the upper bound", "negative values must be clipped at -theta too.",
            lambda grads, theta: [np.minimum(g, theta) for g in grads]),
    Mistake("clipped by norm instead", "clip_by_value clips each ELEMENT: np.clip(g, -theta, theta).",
            lambda grads, theta: [g * min(1.0, theta / (np.linalg.norm(g) + 1e-6)) for g in grads]),
]


@check("clip_by_value", 2, "clip_by_value")
def clip_by_value(ctx):
    """clip_by_value: every element clipped to [-theta, theta]; default theta = 5; new arrays."""
    r = ctx.rng()
    ctx.expect("heuristics.clip_by_value", _grads(r), mistakes=CLIP_VALUE_MISTAKES)
    ctx.expect("heuristics.clip_by_value", _grads(r), 0.5, mistakes=CLIP_VALUE_MISTAKES)
    ctx.expect("heuristics.clip_by_value", [r.normal(size=(3, 3)) * 0.1], 5.0, mistakes=CLIP_VALUE_MISTAKES)


def _cbn(grads, max_norm, how="right"):
    norms = [math.sqrt(float(np.sum(g * g))) for g in grads]
    total = math.sqrt(sum(n * n for n in norms))
    if how == "per_array":
        return [g * min(1.0, max_norm / (n + 1e-6)) for g, n in zip(grads, norms)], total
    if how == "no_sqrt":
        t = total * total
        return [g * min(1.0, max_norm / (t + 1e-6)) for g in grads], t
    f = max_norm / (total + 1e-6)
    if how == "always":
        return [g * f for g in grads], total
    if how == "no_eps":
        return [g * min(1.0, max_norm / total) for g in grads], total
    f = min(1.0, f)
    clipped = [g * f for g in grads]
    if how == "norm_after":
        return clipped, math.sqrt(sum(float(np.sum(g * g)) for g in clipped))
    return clipped, total


CLIP_NORM_MISTAKES = [
    Mistake("one norm per array instead of the global norm", "total_norm = sqrt(sum_k ||g_k||^2) over ALL "
            "arrays together, and every array is scaled by the same factor.",
            lambda grads, max_norm: _cbn(grads, max_norm, "per_array")),
    Mistake("returned the norm after clipping", "total_norm is the global norm BEFORE clipping (PyTorch).",
            lambda grads, max_norm: _cbn(grads, max_norm, "norm_after")),
    Mistake("the squared norm", "total_norm = sqrt(sum of squares).", lambda grads, max_norm: _cbn(grads, max_norm, "no_sqrt")),
    Mistake("rescaled even when the norm is below max_norm", "apply the factor only when it is below 1: "
            "min(1, max_norm / (total_norm + 1e-6)).", lambda grads, max_norm: _cbn(grads, max_norm, "always")),
    Mistake("forgot the 1e-6", "the factor is max_norm / (total_norm + 1e-6), as in PyTorch.",
            lambda grads, max_norm: _cbn(grads, max_norm, "no_eps")),
]


@check("clip_by_norm", 3.5, "clip_by_norm")
def clip_by_norm(ctx):
    """clip_by_norm: global norm before clipping, one factor for all arrays (only when below 1),
    new arrays, a float total_norm, tiny norms (the 1e-6), and an empty list."""
    r = ctx.rng()
    for grads, max_norm in ((_grads(r), 1.0), (_grads(r), 100.0), (_grads(r, 1e-7), 1e-7),
                            ([r.normal(size=(6,)) * 3], 2.0)):
        ctx.expect("heuristics.clip_by_norm", grads, max_norm, mistakes=CLIP_NORM_MISTAKES, names=("clipped", "total_norm"))
    ctx.expect("heuristics.clip_by_norm", [], 1.0, names=("clipped", "total_norm"))


# ------------------------------------------------------------ early stopping


def _es(vals, patience=5, min_delta=0.0, how="right"):
    best, best_epoch, bad, stopped = math.inf, None, 0, False
    out = []
    for i, v in enumerate(vals):
        improved = v <= best - min_delta if how == "le" else v < best - min_delta
        if how == "no_delta":
            improved = v < best
        if improved:
            best, best_epoch = v, (i + 1 if how == "epoch1" else i)
            if how != "no_reset":
                bad = 0
        else:
            bad += 1
            if how == "best_always" and v < best:
                best, best_epoch = v, i
        stop = {"late": bad > patience, "early": bad >= patience - 1}.get(how, bad >= patience)
        stopped = stop if how == "not_sticky" else (stopped or stop)
        out.append((stopped, best, best_epoch))
    return out


def _es_mistake(name, hint, how):
    return Mistake(name, hint, lambda vals, patience, min_delta: [
        s[0] for s in _es(vals, patience, min_delta, how)])


STOP_MISTAKES = [
    _es_mistake("stops one call too late", "stop once `patience` consecutive calls brought no improvement: "
                "return True when the count of bad calls reaches patience (>=, not >).", "late"),
    _es_mistake("stops one call too early", "the call that makes `patience` bad calls in a row returns True, "
                "not the one before.", "early"),
    _es_mistake("an equal loss counted as an improvement", "an improvement is val_loss < best - min_delta "
                "(strictly).", "le"),
    _es_mistake("the bad-call counter is not reset by an improvement", "reset it to 0 whenever the loss improves: "
                "the calls without improvement must be CONSECUTIVE.", "no_reset"),
    _es_mistake("stopping is not sticky", "once step has returned True it returns True on every later call.",
                "not_sticky"),
    _es_mistake("min_delta ignored", "an improvement is val_loss < best - min_delta.", "no_delta"),
    _es_mistake("best updated without an improvement", "only an improvement (val_loss < best - min_delta) "
                "updates best: a smaller loss that is not min_delta better must leave best alone, or later "
                "losses are compared with a best that was never an improvement.", "best_always"),
]
BEST_MISTAKES = [
    Mistake("best updated without an improvement", "only an improvement (val_loss < best - min_delta) updates "
            "best and best_epoch.", lambda vals, patience, min_delta: [
                (s[1], s[2]) for s in _es(vals, patience, min_delta, "best_always")]),
    Mistake("best_epoch counts from 1", "best_epoch is the 0-based index of the call.",
            lambda vals, patience, min_delta: [(s[1], s[2]) for s in _es(vals, patience, min_delta, "epoch1")]),
    Mistake("min_delta ignored", "an improvement is val_loss < best - min_delta.",
            lambda vals, patience, min_delta: [(s[1], s[2]) for s in _es(vals, patience, min_delta, "no_delta")]),
]

SEQUENCES = {
    "patience": [([1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.5, 0.99], {"patience": 3}),
                 ([1.0, 1.0, 0.5, 0.6], {"patience": 1}),
                 ([2.0, 1.5, 1.2, 1.1, 1.1, 1.15, 1.2, 1.12, 1.3, 1.4, 1.0, 0.9], {}),
                 ([1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.71, 0.69, 0.8, 0.81], {"patience": 2})],
    "min_delta": [([1.0, 0.95, 0.85, 0.8, 0.76, 0.7], {"patience": 2, "min_delta": 0.1}),
                  ([1.0, 0.99, 0.98, 0.97, 0.5], {"patience": 3, "min_delta": 0.05})],
}


def _run_es(ctx, vals, kw):
    p = ctx.program()
    es = p.call("heuristics.EarlyStopping", label="EarlyStopping(...)", **kw)
    init = (p.emit(p.getattr(es, "best")), p.emit(p.getattr(es, "best_epoch")))
    steps = []
    for k, v in enumerate(vals):
        ret = p.method(es, "step", float(v), label=f"EarlyStopping.step({v}) (call {k})")
        steps.append((p.emit(ret), p.emit(p.getattr(es, "best")), p.emit(p.getattr(es, "best_epoch"))))
    values = ctx.run(p, "an EarlyStopping sequence")
    return (values[init[0]], values[init[1]]), [tuple(values[i] for i in s) for s in steps]


def _es_label(vals, kw):
    args = ", ".join(f"{k}={v}" for k, v in kw.items())
    return f"EarlyStopping({args}) fed the validation losses {vals}"


def _check_returns(ctx, group):
    for vals, kw in SEQUENCES[group]:
        _, steps = _run_es(ctx, vals, kw)
        want = [s[0] for s in _es(vals, kw.get("patience", 5), kw.get("min_delta", 0.0))]
        got = [s[0] for s in steps]
        for k, (g, w) in enumerate(zip(got, want)):
            m = mismatch(g, w, what=f"step() at call {k}")
            if m:
                text = f"{_es_label(vals, kw)}: {m}."
                mm = find_mistake(STOP_MISTAKES, {"vals": vals, "patience": kw.get("patience", 5),
                                                  "min_delta": kw.get("min_delta", 0.0)}, got, want)
                if mm:
                    text += f"\nLikely mistake: {mm.name}. Hint: {mm.hint}"
                raise Fail(text)


@check("early_stopping_patience", 2, "EarlyStopping.step")
def early_stopping_patience(ctx):
    """EarlyStopping.step returns True once `patience` consecutive calls bring no improvement, then always."""
    _check_returns(ctx, "patience")


@check("early_stopping_min_delta", 1, "EarlyStopping.step")
def early_stopping_min_delta(ctx):
    """An improvement is val_loss < best - min_delta."""
    _check_returns(ctx, "min_delta")


@check("early_stopping_best", 1, "EarlyStopping.step")
def early_stopping_best(ctx):
    """best and best_epoch: inf and None before the first call; updated by improvements only (0-based)."""
    for vals, kw in SEQUENCES["patience"][:1] + SEQUENCES["min_delta"]:
        init, steps = _run_es(ctx, vals, kw)
        label = _es_label(vals, kw)
        if not (isinstance(init[0], float) and init[0] == math.inf) or init[1] is not None:
            raise Fail(f"{label}: before the first call best must be inf and best_epoch None, got "
                       f"{init[0]!r} and {init[1]!r}.")
        sim = _es(vals, kw.get("patience", 5), kw.get("min_delta", 0.0))
        want = [(s[1], s[2]) for s in sim]
        got = [(s[1], s[2]) for s in steps]
        for k, ((gb, ge), (wb, we)) in enumerate(zip(got, want)):
            m = mismatch(gb, float(wb), what=f"best after call {k}") or mismatch(ge, we, what=f"best_epoch after call {k}")
            if m:
                text = f"{label}: {m}."
                mm = find_mistake(BEST_MISTAKES, {"vals": vals, "patience": kw.get("patience", 5),
                                                  "min_delta": kw.get("min_delta", 0.0)},
                                  [(float(b) if isinstance(b, (int, float)) else b, e) for b, e in got],
                                  [(float(b), e) for b, e in want])
                if mm:
                    text += f"\nLikely mistake: {mm.name}. Hint: {mm.hint}"
                raise Fail(text)


# ------------------------------------------------------------- standardizing

FIT_MISTAKES = [
    Mistake("sample (unbiased) standard deviation", "the population std, X.std(axis=0) (ddof=0).",
            lambda X: (X.mean(0), X.std(0, ddof=1))),
    Mistake("statistics per instance (rows) instead of per feature (columns)", "use axis=0.",
            lambda X: (X.mean(1), X.std(1))),
    Mistake("one mean and std for the whole array", "per feature: axis=0.", lambda X: (np.full(X.shape[1], X.mean()),
                                                                                       np.full(X.shape[1], X.std()))),
    Mistake("returned the variance", "std is the square root of the variance.", lambda X: (X.mean(0), X.var(0))),
]
STD_MISTAKES = [
    Mistake("no eps", "(X - mean) / (std + eps) keeps constant features (std = 0) finite.", when=_nonfinite_where_finite),
    Mistake("eps under a square root", "the contract divides by std + eps.",
            lambda X, mean, std, eps: (X - mean) / np.sqrt(std**2 + eps)),
    Mistake("used X's own statistics", "standardize with the mean and std you are given (the training set's).",
            lambda X, mean, std, eps: (X - X.mean(0)) / (X.std(0) + eps)),
    Mistake("divided by the variance", "divide by std + eps.", lambda X, mean, std, eps: (X - mean) / (std**2 + eps)),
    Mistake("forgot to subtract the mean", "(X - mean) / (std + eps).", lambda X, mean, std, eps: X / (std + eps)),
]


@check("standardize_fit", 1.5, "standardize_fit")
def standardize_fit(ctx):
    """standardize_fit: per-feature mean and population std."""
    r = ctx.rng()
    for shape in ((50, 4), (3, 2), (200, 1)):
        X = r.normal(size=shape) * r.uniform(0.5, 5, size=shape[1]) + r.normal(size=shape[1]) * 10
        ctx.expect("heuristics.standardize_fit", X, mistakes=FIT_MISTAKES, names=("mean", "std"))
    X = r.normal(size=(10, 3))
    X[:, 1] = 7.0  # a constant feature
    ctx.expect("heuristics.standardize_fit", X, mistakes=FIT_MISTAKES, names=("mean", "std"))


@check("standardize", 1, "standardize")
def standardize(ctx):
    """standardize: (X - mean) / (std + eps), constant features (std = 0) included."""
    r = ctx.rng()
    X = r.normal(size=(20, 4)) * 3 + 1
    mean, std = r.normal(size=4), r.uniform(0.5, 2, size=4)
    ctx.expect("heuristics.standardize", X, mean, std, mistakes=STD_MISTAKES)
    std0 = std.copy()
    std0[2] = 0.0
    ctx.expect("heuristics.standardize", X, mean, std0, mistakes=STD_MISTAKES)
    ctx.expect("heuristics.standardize", X, mean, std, eps=0.5, mistakes=STD_MISTAKES)


# --------------------------------------------------------------- grid search


def _grid_case(ctx, grid, tie=False):
    names = list(grid)
    import itertools

    combos = [dict(zip(names, vals)) for vals in itertools.product(*(grid[n] for n in names))]
    r = ctx.rng(len(combos))
    scores = r.permutation(len(combos)).astype(float) * 0.1 + 0.05
    if tie:
        scores[: len(scores) // 2] = 0.5
    table = {scorer_key(c): float(s) for c, s in zip(combos, scores)}
    p = ctx.program()
    sc = p.scorer(table)
    res = p.emit(p.call("heuristics.grid_search", sc, grid))
    calls = p.calls(sc)
    values = ctx.run(p, "grid_search(fit_and_score, grid)")
    got, called = values[res], values[calls]
    label = f"grid_search(fit_and_score, grid={grid})"
    if len(called) != len(combos) or len(set(called)) != len(combos):
        raise Fail(f"{label}: fit_and_score was called {len(called)} times for {len(set(called))} distinct "
                   f"combinations; every one of the {len(combos)} combinations must be tried exactly once "
                   "(itertools.product over the value lists, not zip).")
    want = sorted(((c, table[scorer_key(c)]) for c in combos), key=lambda t: t[1])
    if not isinstance(got, (list, tuple)) or len(got) != len(want):
        raise Fail(f"{label} returned {describe_type(got)}, expected a list of {len(want)} (params, score) tuples")
    for k, item in enumerate(got):
        if not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], dict):
            raise Fail(f"{label}: item {k} is {describe_type(item)}, expected a tuple (params, score) with "
                       "params a dict")
    if tie:
        key = lambda t: (float(t[1]) if isinstance(t[1], (int, float)) else math.nan, scorer_key(t[0]))  # noqa: E731
        ok_sorted = all(float(got[i][1]) <= float(got[i + 1][1]) for i in range(len(got) - 1))
        m = mismatch(sorted(got, key=key), sorted(want, key=key), what="the results")
        if m or not ok_sorted:
            raise Fail(f"{label}: {m or 'the results are not sorted by score, lowest first'}")
        return
    m = mismatch(list(got), want, what="the results")
    if m:
        text = f"{label}: {m}."
        if mismatch(list(got), want[::-1]) is None:
            text += "\nLikely mistake: sorted highest first. Hint: the score is a validation LOSS: lowest (best) first."
        raise Fail(text)


@check("grid_search", 2, "grid_search")
def grid_search(ctx):
    """grid_search tries every combination once, returns (params dict, score) sorted lowest first."""
    _grid_case(ctx, {"lr": [0.1, 0.01, 0.001], "lam": [0, 0.001], "act": ["relu", "tanh"]})
    _grid_case(ctx, {"lr": [0.5, 0.05, 0.005, 5e-4]})
    _grid_case(ctx, {"a": [1, 2], "b": [3, 4, 5]}, tie=True)


@check("grid_search_nan_last", 0.5, "grid_search")
def grid_search_nan_last(ctx):
    """A NaN score (a diverged run) sorts last, after every finite score (Python's sort alone misplaces NaN)."""
    grid = {"lr": [1.0, 0.3, 0.1, 0.03, 0.01], "wd": [0.0, 1e-4]}
    import itertools

    combos = [dict(zip(grid, v)) for v in itertools.product(*grid.values())]
    r = ctx.rng(1)
    scores = r.permutation(len(combos)).astype(float) * 0.1 + 0.05
    scores[[0, 1, 4]] = math.nan  # the largest learning rates diverge, one of them listed first
    table = {scorer_key(c): float(s) for c, s in zip(combos, scores)}
    p = ctx.program()
    res = p.emit(p.call("heuristics.grid_search", p.scorer(table), grid))
    got = ctx.run(p, "grid_search(fit_and_score, grid)")[res]
    label = f"grid_search(fit_and_score, grid={grid}) with 3 NaN scores"
    if not isinstance(got, (list, tuple)) or len(got) != len(combos) or not all(
            isinstance(t, (list, tuple)) and len(t) == 2 and isinstance(t[1], (int, float)) for t in got):
        raise Fail(f"{label} returned {describe_type(got)}, expected a list of {len(combos)} (params, score) tuples")
    got_scores = [float(t[1]) for t in got]
    finite = sorted(s for s in scores if not math.isnan(s))
    ok = all(math.isnan(s) for s in got_scores[len(finite):]) and got_scores[:len(finite)] == finite
    if not ok:
        shown = ", ".join("nan" if math.isnan(s) else f"{s:.2f}" for s in got_scores)
        text = f"{label}: the scores come in the order {shown}; expected the finite scores lowest first, then the NaN ones."
        finite_got = [s for s in got_scores if not math.isnan(s)]
        pairs = list(zip(finite_got, finite_got[1:]))
        if sum(a > b for a, b in pairs) > 2 * sum(a < b for a, b in pairs):  # mostly descending (NaN breaks sort)
            raise Fail(text + "\nLikely mistake: sorted highest first. Hint: the score is a validation LOSS: lowest "
                       "(best) first, and a NaN score (a diverged run) last.")
        raise Fail(text + "\nLikely mistake: NaN scores not sorted last. Hint: every comparison with NaN is False, "
                   "so sorting by the score alone leaves NaN anywhere: sort with the key (math.isnan(score), score).")


# ------------------------------------------------- floats and new arrays


@check("clip_by_norm_total_norm_float", 0.5, "clip_by_norm")
def clip_by_norm_total_norm_float(ctx):
    """clip_by_norm's total_norm is a float (also 0.0 for an empty list), not a 0-d or 1-element array."""
    r = ctx.rng(2)
    ctx.expect_float("heuristics.clip_by_norm", _grads(r), 1.0, pick=1, what="total_norm",
                     mistakes=CLIP_NORM_MISTAKES)
    ctx.expect_float("heuristics.clip_by_norm", [r.normal(size=(1,))], 1.0, pick=1, what="total_norm",
                     mistakes=CLIP_NORM_MISTAKES)
    ctx.expect_float("heuristics.clip_by_norm", [], 1.0, pick=1, what="total_norm",
                     mistakes=CLIP_NORM_MISTAKES)


@check("clip_by_norm_new_arrays", 0.5, "clip_by_norm")
def clip_by_norm_new_arrays(ctx):
    """clip_by_norm returns new arrays, also when no clipping is needed (writing into them leaves grads
    unchanged)."""
    r = ctx.rng(3)
    mistake = Mistake("returned the gradients themselves when no clipping is needed", "the contract returns new "
                      "arrays in every case: [g * factor for g in grads] with factor = min(1, ...), or copies "
                      "when the norm is small; returning grads lets a later in-place change of the result "
                      "corrupt the caller's gradients.")
    for max_norm in (100.0, 1.0):
        ctx.expect_new_arrays("heuristics.clip_by_norm", _grads(r), max_norm, paths=[(0, 0), (0, 1), (0, 2)],
                              mistakes=CLIP_NORM_MISTAKES,
                              mistake=mistake)


@check("clip_by_value_new_arrays", 0.5, "clip_by_value")
def clip_by_value_new_arrays(ctx):
    """clip_by_value returns new arrays, also when nothing needs clipping."""
    r = ctx.rng(4)
    mistake = Mistake("returned the gradients themselves (or views) when nothing needs clipping", "np.clip(g, "
                      "-theta, theta) always returns a new array: use it for every array, without out=g.")
    for theta in (100.0, 1.0):
        ctx.expect_new_arrays("heuristics.clip_by_value", _grads(r), theta, paths=[(0,), (1,), (2,)],
                              mistakes=CLIP_VALUE_MISTAKES,
                              mistake=mistake)

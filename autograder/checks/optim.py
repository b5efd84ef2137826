"""Hidden checks of ``nntricks.optim`` (21.5 points).

Every optimizer check is a scripted sequence run in the worker: build the
optimizer on parameter arrays, call ``step`` several times with fresh
gradients, and read the SAME parameter arrays back after each step (so the
update must happen in place) together with the gradients (which must not
change). The decider replays the sequence with the reference.
"""

import numpy as np

from . import Fail, Mistake, StudentError, check, describe_inputs, error_mistake, find_mistake, mismatch
from .optim_mistakes import ADAM_MISTAKES, ADAMW_MISTAKES, LATE_COUNTER, RMSPROP_MISTAKES, SGD_MISTAKES

# ------------------------------------------------------------------- the runs


def _problem(ctx, k=0, shapes=((3, 4), (4,), (2, 1, 2)), steps=5, gscale=1.0):
    r = ctx.rng(k)
    params = [r.normal(size=s) for s in shapes]
    grads = [[r.normal(size=s) * gscale for s in shapes] for _ in range(steps)]
    return params, grads


def run_optimizer(ctx, cls, params, grads, mistakes=(), **hyper):
    """Run ``cls(params, **hyper)`` for len(grads) steps in the worker and
    compare every parameter after every step with the reference."""
    p = ctx.program()
    ws = [p.array(w) for w in params]
    opt = p.call(f"optim.{cls}", ws, label=f"{cls}(params, ...)", **hyper)
    emitted = []
    for k, gs in enumerate(grads):
        gr = [p.array(g) for g in gs]
        p.method(opt, "step", gr, label=f"{cls}.step(grads) (step {k + 1})")
        emitted.append(([p.emit(w) for w in ws], [p.emit(g) for g in gr]))
    hp = ", ".join(f"{k}={v}" for k, v in hyper.items())
    label = f"{cls}({hp})" if hp else f"{cls}() with the default hyperparameters"
    try:
        values = ctx.run(p, f"{cls}.step")
    except StudentError as e:
        if cls in ("Adam", "AdamW") and "ZeroDivisionError" in str(e):
            raise StudentError(f"{e}\nLikely mistake: {LATE_COUNTER.name}. Hint: {LATE_COUNTER.hint}") from None
        raise
    got = [[values[i] for i in wi] for wi, _ in emitted]
    for k, (_, gi) in enumerate(emitted):
        for j, i in enumerate(gi):
            g = values[i]
            if not isinstance(g, np.ndarray) or g.shape != grads[k][j].shape or not np.array_equal(g, grads[k][j]):
                raise Fail(f"{label}: step {k + 1} modified the gradient grads[{j}] in place; step must "
                           "never change the gradients it is given (use g = g + wd * w, not g += wd * w).")
    want = _reference_trajectory(ctx, cls, params, grads, hyper)
    inputs = {"params": params, "grads": grads, **hyper}
    for k, (g_step, w_step) in enumerate(zip(got, want)):
        for j, (g, w) in enumerate(zip(g_step, w_step)):
            m = mismatch(g, w, 1e-6, 1e-8, f"params[{j}] after step {k + 1}")
            if m:
                text = (f"{label}, {len(grads)} steps: {m}. Inputs: {describe_inputs({'params': params})}, "
                        f"gradients of the same shapes" + (" (of order 1e-8)" if np.abs(grads[0][0]).max() < 1e-6 else "")
                        + ".")
                mistake = find_mistake(mistakes, inputs, got, want)
                if mistake:
                    text += f"\nLikely mistake: {mistake.name}. Hint: {mistake.hint}"
                raise Fail(text)
    return got


def _reference_trajectory(ctx, cls, params, grads, hyper):
    ws = [w.copy() for w in params]
    with np.errstate(all="ignore"):
        opt = getattr(ctx.ref.optim, cls)(ws, **hyper)
        out = []
        for gs in grads:
            opt.step([g.copy() for g in gs])
            out.append([w.copy() for w in ws])
    return out


# ----------------------------------------------------------------------- SGD


@check("sgd_plain", 2, "SGD.step")
def sgd_plain(ctx):
    """SGD without momentum: w -= lr * g, in place, with the default and a given lr."""
    params, grads = _problem(ctx, steps=3)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES, lr=0.3)


@check("sgd_momentum", 2, "SGD.step")
def sgd_momentum(ctx):
    """SGD with momentum (PyTorch: v = momentum * v + g, no dampening), several steps."""
    params, grads = _problem(ctx, steps=6)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES, lr=0.1, momentum=0.9)
    run_optimizer(ctx, "SGD", params, grads[:3], SGD_MISTAKES, lr=0.05, momentum=0.5)


@check("sgd_nesterov", 2, "SGD.step")
def sgd_nesterov(ctx):
    """SGD with Nesterov momentum in PyTorch's form (the look-ahead step derived in notebook 02)."""
    params, grads = _problem(ctx, steps=6)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES, lr=0.1, momentum=0.9, nesterov=True)


@check("sgd_weight_decay", 2, "SGD.step")
def sgd_weight_decay(ctx):
    """SGD with weight decay added to the gradient, with and without (Nesterov) momentum."""
    params, grads = _problem(ctx, steps=4)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES, lr=0.1, weight_decay=0.1)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES, lr=0.1, momentum=0.9, weight_decay=0.05)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES, lr=0.1, momentum=0.8, nesterov=True,
                  weight_decay=0.05)


@check("sgd_nesterov_requires_momentum", 0.5, "SGD.step")
def sgd_nesterov_requires_momentum(ctx):
    """SGD(params, nesterov=True) with momentum 0 raises ValueError (PyTorch); with momentum > 0 it does not
    (and its steps are right: no points for the provided check alone)."""
    params, grads = _problem(ctx, steps=2)
    run_optimizer(ctx, "SGD", params, grads, SGD_MISTAKES, lr=0.1, momentum=0.5, nesterov=True)
    p = ctx.program()
    ws = [p.array(w) for w in params]
    outcome = {}
    for name, kw in (("momentum=0", {"nesterov": True}), ("momentum=0.0 given", {"momentum": 0.0, "nesterov": True}),
                     ("momentum=0.9", {"momentum": 0.9, "nesterov": True})):
        outcome[name] = p.n_emits
        p.call("optim.SGD", ws, catch=True, label=f"SGD(params, {name}, nesterov=True)", **kw)
    values = ctx.run(p, "SGD(params, nesterov=True)")
    for name in ("momentum=0", "momentum=0.0 given"):
        problem = error_mistake(values[outcome[name]], "ValueError")
        if problem:
            raise Fail(f"SGD(params, nesterov=True) with {name}: {problem}.\nLikely mistake: Nesterov accepted "
                       "without momentum. Hint: Nesterov's look-ahead needs a velocity: raise ValueError when "
                       "nesterov=True and momentum == 0, as PyTorch does.")
    if values[outcome["momentum=0.9"]] is not None:
        raise Fail(f"SGD(params, momentum=0.9, nesterov=True) raised {values[outcome['momentum=0.9']].type}: "
                   "Nesterov with a positive momentum is valid.")


# -------------------------------------------------------------------- RMSProp


@check("rmsprop", 2, "RMSProp.step")
def rmsprop(ctx):
    """RMSProp (PyTorch RMSprop, alpha = beta), default and given hyperparameters, several steps."""
    params, grads = _problem(ctx, steps=5)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES, lr=0.05, beta=0.9)


@check("rmsprop_tiny_gradients", 1, "RMSProp.step")
def rmsprop_tiny_gradients(ctx):
    """RMSProp with gradients of order 1e-8, where the placement of eps matters (default and given eps)."""
    params, grads = _problem(ctx, k=1, steps=4, gscale=1e-8)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES, lr=0.01)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES, lr=0.01, eps=1e-6)


@check("rmsprop_weight_decay", 0.5, "RMSProp.step")
def rmsprop_weight_decay(ctx):
    """RMSProp with weight decay added to the gradient."""
    params, grads = _problem(ctx, steps=4)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES, lr=0.02, weight_decay=0.1)


# ----------------------------------------------------------------------- Adam


@check("adam", 2.5, "Adam.step", also=("Adam._update",))
def adam(ctx):
    """Adam with bias correction (PyTorch Adam), default and given hyperparameters, several steps."""
    params, grads = _problem(ctx, steps=6)
    run_optimizer(ctx, "Adam", params, grads, ADAM_MISTAKES)
    run_optimizer(ctx, "Adam", params, grads, ADAM_MISTAKES, lr=0.1, beta1=0.8, beta2=0.99)


@check("adam_tiny_gradients", 1, "Adam.step", also=("Adam._update",))
def adam_tiny_gradients(ctx):
    """Adam with gradients of order 1e-8, where eps outside sqrt(v_hat) matters (default and given eps)."""
    params, grads = _problem(ctx, k=1, steps=4, gscale=1e-8)
    run_optimizer(ctx, "Adam", params, grads, ADAM_MISTAKES, lr=0.01)
    run_optimizer(ctx, "Adam", params, grads, ADAM_MISTAKES, lr=0.01, eps=1e-6)


@check("adam_weight_decay", 0.5, "Adam.step", also=("Adam._update",))
def adam_weight_decay(ctx):
    """Adam with weight decay added to the gradient (PyTorch Adam)."""
    params, grads = _problem(ctx, steps=4)
    run_optimizer(ctx, "Adam", params, grads, ADAM_MISTAKES, lr=0.05, weight_decay=0.1)


@check("adamw", 2, "AdamW.step")
def adamw(ctx):
    """AdamW: decoupled weight decay (w *= 1 - lr * wd, then the Adam step), several steps."""
    params, grads = _problem(ctx, steps=5)
    run_optimizer(ctx, "AdamW", params, grads, ADAMW_MISTAKES, lr=0.05, weight_decay=0.1)
    run_optimizer(ctx, "AdamW", params, grads, ADAMW_MISTAKES, lr=0.01, weight_decay=0.5, beta1=0.8)


@check("adamw_default_decay", 0.5, "AdamW.step")
def adamw_default_decay(ctx):
    """AdamW's defaults: weight_decay 0.01 (PyTorch's), and AdamW() with every default (lr = 1e-3)."""
    params, grads = _problem(ctx, steps=3)
    run_optimizer(ctx, "AdamW", params, grads, ADAMW_MISTAKES, lr=0.5)
    run_optimizer(ctx, "AdamW", params, grads, ADAMW_MISTAKES)


@check("adamw_tiny_gradients", 1, "AdamW.step")
def adamw_tiny_gradients(ctx):
    """AdamW with gradients of order 1e-8, where eps outside sqrt(v_hat) matters (default and given eps)."""
    params, grads = _problem(ctx, k=1, steps=4, gscale=1e-8)
    run_optimizer(ctx, "AdamW", params, grads, ADAMW_MISTAKES, lr=0.01)
    run_optimizer(ctx, "AdamW", params, grads, ADAMW_MISTAKES, lr=0.01, eps=1e-6)


# ------------------------------------------------------------------ schedules


@check("inverse_time_decay", 1, "inverse_time_decay")
def inverse_time_decay(ctx):
    """inverse_time_decay(lr0, t, k) = lr0 / (1 + k t) for several t and k."""
    mistakes = [
        Mistake("ignored k", "lr0 / (1 + k * t).", lambda lr0, t, k: lr0 / (1 + t)),
        Mistake("divided by k t only", "lr0 / (1 + k * t): the 1 keeps t = 0 at lr0.",
                lambda lr0, t, k: lr0 / (k * t)),
        Mistake("k applied outside", "lr0 / (1 + k * t).", lambda lr0, t, k: lr0 / (k * (1 + t))),
        Mistake("exponential decay instead", "the contract's schedule is lr0 / (1 + k t).",
                lambda lr0, t, k: lr0 * np.exp(-k * t)),
    ]
    for lr0, t, kw in [(0.1, 0, {}), (0.1, 1, {}), (0.5, 7, {}), (0.1, 100, {"k": 0.5}), (2.0, 3, {"k": 0.01})]:
        ctx.expect("optim.inverse_time_decay", lr0, t, mistakes=mistakes, **kw)


@check("step_decay", 1, "step_decay")
def step_decay(ctx):
    """step_decay(lr0, t, drop, every) = lr0 * drop ** (t // every), around the boundaries."""
    mistakes = [
        Mistake("off by one at the boundaries", "the first drop happens at t = every: drop ** (t // every).",
                lambda lr0, t, drop, every: lr0 * drop ** ((t + 1) // every)),
        Mistake("dropped one step too early from the start", "drop ** (t // every), so t < every gives lr0.",
                lambda lr0, t, drop, every: lr0 * drop ** (t // every + 1)),
        Mistake("used t / every (a float) instead of t // every", "the rate drops in steps: integer division.",
                lambda lr0, t, drop, every: lr0 * drop ** (t / every)),
        Mistake("multiplied by drop instead of raising it to a power", "lr0 * drop ** (t // every).",
                lambda lr0, t, drop, every: lr0 * drop * (t // every)),
    ]
    for lr0, t, kw in [(0.1, 0, {}), (0.1, 9, {}), (0.1, 10, {}), (0.1, 11, {}), (0.1, 25, {}),
                       (1.0, 4, {"drop": 0.1, "every": 2}), (1.0, 5, {"drop": 0.1, "every": 2}),
                       (0.3, 30, {"drop": 0.9, "every": 3})]:
        ctx.expect("optim.step_decay", lr0, t, mistakes=mistakes, **kw)

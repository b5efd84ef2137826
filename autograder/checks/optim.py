"""Hidden checks of ``nntricks.optim`` (20 points).

Every optimizer check is a scripted sequence run in the worker: build the
optimizer on parameter arrays, call ``step`` several times with fresh
gradients, and read the SAME parameter arrays back after each step (so the
update must happen in place) together with the gradients (which must not
change). The decider replays the sequence with the reference.
"""

import numpy as np

from . import Fail, Mistake, check, describe_inputs, find_mistake, mismatch
from .divergences import _nonfinite_where_finite

# ------------------------------------------------------------------ simulators
# Wrong (and right) optimizers written plainly, for the catalogue of mistakes.


def _sgd(params, grads, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, how="right"):
    ws = [w.copy() for w in params]
    vs = [np.zeros_like(w) for w in params]
    traj = []
    for gs in grads:
        for w, g, v in zip(ws, gs, vs):
            if weight_decay and how != "wd_after_momentum":
                g = g + weight_decay * w
            if momentum:
                v_old = v.copy()
                if how == "dampening":
                    v[...] = momentum * v + (1 - momentum) * g
                else:
                    v[...] = momentum * v + g
                if nesterov:
                    step = {"nesterov_old_v": g + momentum * v_old, "nesterov_no_g": momentum * v}.get(how, g + momentum * v)
                else:
                    step = v
            else:
                step = g
            if weight_decay and how == "wd_after_momentum":
                step = step + weight_decay * w
            w -= lr * step
        traj.append([w.copy() for w in ws])
    return traj


def _rmsprop(params, grads, lr=0.01, beta=0.99, eps=1e-8, weight_decay=0.0, how="right"):
    ws = [w.copy() for w in params]
    ss = [np.zeros_like(w) for w in params]
    traj = []
    for gs in grads:
        for w, g, s in zip(ws, gs, ss):
            if weight_decay and how != "no_wd":
                g = g + weight_decay * w
            s_old = s.copy()
            if how == "no_one_minus_beta":
                s[...] = beta * s + g * g
            elif how == "beta_swapped":
                s[...] = (1 - beta) * s + beta * g * g
            else:
                s[...] = beta * s + (1 - beta) * g * g
            if how == "eps_inside":
                w -= lr * g / np.sqrt(s + eps)
            elif how == "old_s":
                w -= lr * g / (np.sqrt(s_old) + eps)
            elif how == "no_sqrt":
                w -= lr * g / (s + eps)
            else:
                w -= lr * g / (np.sqrt(s) + eps)
        traj.append([w.copy() for w in ws])
    return traj


def _adam(params, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, how="right",
          decoupled=False):
    ws = [w.copy() for w in params]
    ms = [np.zeros_like(w) for w in params]
    vs = [np.zeros_like(w) for w in params]
    traj = []
    t_shared = 0
    for t, gs in enumerate(grads, start=1):
        for i, (w, g, m, v) in enumerate(zip(ws, gs, ms, vs)):
            t_shared += 1
            tt = t_shared if how == "t_per_param" else t
            if decoupled and how not in ("wd_in_grad", "wd_after", "wd_no_lr"):
                w *= 1 - lr * weight_decay
            if decoupled and how == "wd_no_lr":
                w *= 1 - weight_decay
            if weight_decay and (not decoupled or how == "wd_in_grad"):
                g = g + weight_decay * w
            m[...] = beta1 * m + (1 - beta1) * g
            v[...] = beta2 * v + (1 - beta2) * g * g
            if how == "no_bias_correction":
                m_hat, v_hat = m, v
            elif how == "no_m_correction":
                m_hat, v_hat = m, v / (1 - beta2**tt)
            elif how == "no_v_correction":
                m_hat, v_hat = m / (1 - beta1**tt), v
            elif how == "v_corrected_with_beta1":
                m_hat, v_hat = m / (1 - beta1**tt), v / (1 - beta1**tt)
            else:
                m_hat, v_hat = m / (1 - beta1**tt), v / (1 - beta2**tt)
            if how == "eps_inside":
                w -= lr * m_hat / np.sqrt(v_hat + eps)
            elif how == "eps_before_correction":
                w -= lr * np.sqrt(1 - beta2**tt) / (1 - beta1**tt) * m / (np.sqrt(v) + eps)
            else:
                w -= lr * m_hat / (np.sqrt(v_hat) + eps)
            if decoupled and how == "wd_after":
                w *= 1 - lr * weight_decay
        traj.append([w.copy() for w in ws])
    return traj


def _not_in_place(inputs, got, want):
    params = inputs["params"]
    return all(len(step) == len(params) and all(
        isinstance(g, np.ndarray) and g.shape == p.shape and np.array_equal(g, p) for g, p in zip(step, params))
        for step in got)


NOT_IN_PLACE = Mistake("parameters not updated in place", "step must change the arrays the optimizer "
                       "was given (w -= lr * step, or w[...] = ...): rebinding a name or a list entry "
                       "(self.params[i] = w - ...) leaves the model's arrays unchanged.", when=_not_in_place)


def _mk(name, hint, fn, defaults=None, **fixed):
    defaults = defaults or {}
    return Mistake(name, hint, lambda params, grads, **hp: fn(params, grads, **{**defaults, **hp, **fixed}))


def _mkw(name, hint, fn, **fixed):
    """A mistake of AdamW (whose default weight_decay is 0.01)."""
    return _mk(name, hint, fn, defaults={"weight_decay": 0.01}, **fixed)


SGD_MISTAKES = [
    NOT_IN_PLACE,
    _mk("momentum with dampening (1 - momentum) on the gradient", "PyTorch's SGD (dampening=0): "
        "v = momentum * v + g, no (1 - momentum) factor.", _sgd, how="dampening"),
    _mk("Nesterov step built from the previous velocity", "update v first (v = momentum * v + g), then "
        "step = g + momentum * v with the NEW v.", _sgd, how="nesterov_old_v"),
    _mk("Nesterov step without the gradient term", "Nesterov's step is g + momentum * v (PyTorch's form).",
        _sgd, how="nesterov_no_g"),
    _mk("weight decay applied after the momentum", "add weight_decay * w to the gradient FIRST, so that "
        "it goes through the velocity: g = g + weight_decay * w; v = momentum * v + g.", _sgd,
        how="wd_after_momentum"),
    _mk("momentum ignored", "with momentum > 0 the step is the velocity v = momentum * v + g.", _sgd,
        momentum=0.0, nesterov=False),
    _mk("Nesterov ignored", "with nesterov=True the step is g + momentum * v.", _sgd, nesterov=False),
    _mk("weight decay ignored", "g = g + weight_decay * w before anything else.", _sgd, weight_decay=0.0),
]
RMSPROP_MISTAKES = [
    NOT_IN_PLACE,
    _mk("eps inside the square root", "the contract (and PyTorch) adds eps OUTSIDE the root: "
        "g / (sqrt(s) + eps). It matters when gradients are tiny.", _rmsprop, how="eps_inside"),
    _mk("forgot the (1 - beta) factor", "s = beta * s + (1 - beta) * g**2.", _rmsprop, how="no_one_minus_beta"),
    _mk("beta and 1 - beta swapped", "beta weighs the OLD average: s = beta * s + (1 - beta) * g**2.",
        _rmsprop, how="beta_swapped"),
    _mk("used s before updating it", "update s with the current gradient first, then divide by sqrt(s) + eps.",
        _rmsprop, how="old_s"),
    _mk("divided by s instead of sqrt(s)", "the step is g / (sqrt(s) + eps): the RMS, not the mean square.",
        _rmsprop, how="no_sqrt"),
    _mk("weight decay ignored", "g = g + weight_decay * w before updating s.", _rmsprop, how="no_wd"),
]
ADAM_MISTAKES = [
    NOT_IN_PLACE,
    Mistake("a division by zero in the bias correction", "t counts steps from 1: increment it BEFORE "
            "computing 1 - beta**t (at t = 0 it is 0).", when=_nonfinite_where_finite),
    _mk("no bias correction", "m and v start at 0, so divide by (1 - beta1**t) and (1 - beta2**t); "
        "without it the first steps are far too small.", _adam, how="no_bias_correction"),
    _mk("no bias correction of m", "m_hat = m / (1 - beta1**t): without it the first steps are too small.",
        _adam, how="no_m_correction"),
    _mk("no bias correction of v", "v_hat = v / (1 - beta2**t).", _adam, how="no_v_correction"),
    _mk("v corrected with beta1", "v_hat = v / (1 - beta2**t): each moment with its own beta.", _adam,
        how="v_corrected_with_beta1"),
    _mk("eps inside the square root", "the step is m_hat / (sqrt(v_hat) + eps), eps OUTSIDE the root "
        "(PyTorch, the paper); it matters when gradients are tiny.", _adam, how="eps_inside"),
    _mk("eps added before the bias correction", "add eps to sqrt(v_hat), the CORRECTED second moment "
        "(lr * m_hat / (sqrt(v_hat) + eps)), not to sqrt(v) in the paper's 'efficient' form.", _adam,
        how="eps_before_correction"),
    _mk("t advanced once per parameter", "t counts optimizer steps: increment it once per step(), "
        "not inside the loop over parameters.", _adam, how="t_per_param"),
]
ADAMW_MISTAKES = [
    NOT_IN_PLACE,
    _mkw("weight decay added to the gradient (that is Adam's L2, not AdamW)", "AdamW decays the weights "
        "directly: w = w - lr * weight_decay * w, then the Adam update with the plain gradient.",
        _adam, decoupled=True, how="wd_in_grad"),
    _mkw("decay applied after the Adam update", "PyTorch's AdamW decays first: w *= 1 - lr * weight_decay, "
        "then the Adam step.", _adam, decoupled=True, how="wd_after"),
    _mkw("decay not multiplied by the learning rate", "w = w * (1 - lr * weight_decay).", _adam,
        decoupled=True, how="wd_no_lr"),
    _mkw("no weight decay at all", "AdamW decays: w *= 1 - lr * weight_decay (default weight_decay=0.01).",
        _adam, weight_decay=0.0),
    _mkw("no bias correction", "divide by (1 - beta1**t) and (1 - beta2**t).", _adam, decoupled=True,
        how="no_bias_correction"),
    _mkw("eps inside the square root", "m_hat / (sqrt(v_hat) + eps).", _adam, decoupled=True, how="eps_inside"),
]


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
    values = ctx.run(p, f"{cls}.step")
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
    """SGD with Nesterov momentum in PyTorch's form: step = g + momentum * v."""
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


# -------------------------------------------------------------------- RMSProp


@check("rmsprop", 2, "RMSProp.step")
def rmsprop(ctx):
    """RMSProp (PyTorch RMSprop, alpha = beta), default and given hyperparameters, several steps."""
    params, grads = _problem(ctx, steps=5)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES, lr=0.05, beta=0.9)


@check("rmsprop_tiny_gradients", 1, "RMSProp.step")
def rmsprop_tiny_gradients(ctx):
    """RMSProp with gradients of order 1e-8, where the placement of eps matters."""
    params, grads = _problem(ctx, k=1, steps=4, gscale=1e-8)
    run_optimizer(ctx, "RMSProp", params, grads, RMSPROP_MISTAKES, lr=0.01)


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
    """Adam with gradients of order 1e-8, where eps outside sqrt(v_hat) matters."""
    params, grads = _problem(ctx, k=1, steps=4, gscale=1e-8)
    run_optimizer(ctx, "Adam", params, grads, ADAM_MISTAKES, lr=0.01)


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
    """AdamW's default weight_decay is 0.01 (PyTorch's)."""
    params, grads = _problem(ctx, steps=3)
    run_optimizer(ctx, "AdamW", params, grads, ADAMW_MISTAKES, lr=0.5)


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

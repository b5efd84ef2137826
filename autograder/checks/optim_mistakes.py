"""The catalogue of mistakes of ``nntricks.optim``: wrong (and right)
optimizers written plainly, replayed on the check's inputs to name what a
student's trajectory matches."""

import numpy as np

from . import Mistake
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
                if how == "dampening":
                    v[...] = momentum * v + (1 - momentum) * g
                else:
                    v[...] = momentum * v + g
                if nesterov:
                    step = momentum * v if how == "nesterov_no_g" else g + momentum * v
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
            tt = {"t_per_param": t_shared, "t_ahead": t + 1}.get(how, t)
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
            elif how == "constant_correction":
                m_hat, v_hat = m / (1 - beta1), v / (1 - beta2)
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


LATE_COUNTER = Mistake(
    "the step counter is one step late (t = 0 at the first step: a division by zero in the bias correction)",
    "t counts steps from 1: the provided step() increments self.t BEFORE the update, so use self.t itself "
    "(not t - 1, and do not increment after the update).", when=_nonfinite_where_finite)


NO_BIAS_CORRECTION = ("m and v start at 0, so for a steady gradient they underestimate it in the first steps: "
                      "unroll m_t = beta1 m_(t-1) + (1 - beta1) g_t from m_0 = 0 to write E[m_t] as a multiple of "
                      "E[g] (a geometric sum), divide m by that multiple, and v likewise with its own beta. "
                      "Without it the first steps have the wrong size.")
CONSTANT_CORRECTION = ("the correction depends on the step t: m_t is a sum of t terms, so redo the geometric "
                       "sum with t terms; the correction fades out as t grows.")


def _eps_ignored(fn):
    return _mk("the eps argument ignored", "use the eps you are given (self.eps), not a hard-coded 1e-8.", fn,
               eps=1e-8)


SGD_MISTAKES = [
    NOT_IN_PLACE,
    _mk("momentum with dampening (1 - momentum) on the gradient", "PyTorch's SGD (dampening=0): "
        "v = momentum * v + g, no (1 - momentum) factor.", _sgd, how="dampening"),
    _mk("Nesterov step without the gradient term", "the look-ahead step still contains the current gradient: "
        "redo the last line of your derivation (Question 1 of notebook 02 and its hints).",
        _sgd, how="nesterov_no_g"),
    _mk("weight decay applied after the momentum", "add weight_decay * w to the gradient FIRST, so that "
        "it goes through the velocity: g = g + weight_decay * w; v = momentum * v + g.", _sgd,
        how="wd_after_momentum"),
    _mk("momentum ignored", "with momentum > 0 the step is the velocity v = momentum * v + g.", _sgd,
        momentum=0.0, nesterov=False),
    _mk("Nesterov ignored: with nesterov=True the parameters follow plain momentum", "the look-ahead update "
        "you derived (Question 1 of notebook 02) is not applied, or it is built from the velocity as it was "
        "before this step's update, which gives exactly plain momentum's steps. Check that the nesterov branch "
        "runs, and which velocity your derivation's last line uses.", _sgd, nesterov=False),
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
    _eps_ignored(_rmsprop),
]
ADAM_MISTAKES = [
    NOT_IN_PLACE,
    LATE_COUNTER,
    _mk("no bias correction", NO_BIAS_CORRECTION, _adam, how="no_bias_correction"),
    _mk("no bias correction of m", "v is corrected but m is not: m starts at 0 too, so it needs its own "
        "correction, from the geometric sum of its recursion (with beta1).", _adam, how="no_m_correction"),
    _mk("no bias correction of v", "m is corrected but v is not: v starts at 0 too, so it needs its own "
        "correction, from the geometric sum of its recursion (with beta2).", _adam, how="no_v_correction"),
    _mk("v corrected with beta1", "each moment's correction comes from its own recursion: v's geometric sum "
        "runs over powers of beta2, not beta1.", _adam, how="v_corrected_with_beta1"),
    _mk("eps inside the square root", "the step is m_hat / (sqrt(v_hat) + eps), eps OUTSIDE the root "
        "(PyTorch, the paper); it matters when gradients are tiny.", _adam, how="eps_inside"),
    _mk("eps added before the bias correction", "add eps to sqrt(v_hat), the CORRECTED second moment "
        "(lr * m_hat / (sqrt(v_hat) + eps)), not to sqrt(v) in the paper's 'efficient' form.", _adam,
        how="eps_before_correction"),
    _mk("the step counter is one step ahead (the first step uses t = 2)", "the first step has t = 1: "
        "the provided step() already increments self.t before the update, so use self.t as it is.", _adam,
        how="t_ahead"),
    _mk("bias correction by the constant 1 - beta", CONSTANT_CORRECTION, _adam, how="constant_correction"),
    _eps_ignored(_adam),
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
    _mkw("no bias correction", NO_BIAS_CORRECTION, _adam, decoupled=True, how="no_bias_correction"),
    _mkw("eps inside the square root", "the step is m_hat / (sqrt(v_hat) + eps), eps OUTSIDE the root "
         "(PyTorch); it matters when gradients are tiny.", _adam, decoupled=True, how="eps_inside"),
    LATE_COUNTER,
    _mkw("the step counter is one step ahead (the first step uses t = 2)", "the first step has t = 1: "
         "self.t is already incremented by step() before the update.", _adam, decoupled=True, how="t_ahead"),
    _mkw("bias correction by the constant 1 - beta", CONSTANT_CORRECTION, _adam, decoupled=True,
         how="constant_correction"),
    _mkw("the eps argument ignored", "use the eps you are given (self.eps), not a hard-coded 1e-8.", _adam,
         decoupled=True, eps=1e-8),
]

"""Hidden checks of ``nntricks.batchnorm``, part 2: the ``BatchNorm1d`` layer's
computations (training forward, running statistics, inference mode, backward);
part 3, its state and protocol, is ``batchnorm_state``."""

import numpy as np

from . import Fail, Mistake, check, find_mistake, mismatch
from ..refimpl import ref
from .batchnorm import FORWARD_MISTAKES, INFERENCE_MISTAKES, backward_failure

TOPIC = "batchnorm"

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
        if how == "first_batch" and n == 1:
            mo = 1.0
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
    Mistake("running statistics started from the first batch instead of 0 and 1", "running_mean starts at "
            "zeros and running_var at ones (PyTorch), and every batch, the first included, is blended in with "
            "the momentum: running = (1 - momentum) * running + momentum * batch_stat.",
            lambda batches, momentum: _running(batches, momentum, how="first_batch")),
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


def _eval_failure(label, m, got, z_eval, batches, eps=1e-5):
    """The message of a wrong inference-mode output: the root cause is either
    the running statistics it normalizes with or the inference formula."""
    text = f"{label}: {m} (z of shape {z_eval.shape})."
    want_m, want_v = _running(batches, 0.1)
    gm, gv = got["mean"], got["var"]
    stats_wrong = [name for name, g, w in (("running_mean", gm[-1], want_m[-1]), ("running_var", gv[-1], want_v[-1]))
                   if mismatch(g, w, 1e-6, 1e-8)]
    if stats_wrong:
        text += (f" The output is computed from {' and '.join(stats_wrong)}, which are already wrong after "
                 "training (see bn1d_running_stats).")
        mm = find_mistake(RUNNING_MISTAKES, {"batches": batches, "momentum": 0.1}, [gm, gv], [want_m, want_v])
        if mm:
            text += f"\nLikely mistake: {mm.name}. Hint: {mm.hint}"
        return text
    D = z_eval.shape[1]
    inputs = {"z": z_eval, "gamma": np.ones(D), "beta": np.zeros(D), "mean": want_m[-1], "var": want_v[-1],
              "eps": eps}
    mm = find_mistake(INFERENCE_MISTAKES, inputs, got["eval"],
                      ref.batchnorm.batchnorm_inference(**{k: np.copy(v) for k, v in inputs.items()}))
    if mm:
        text += f"\nLikely mistake: {mm.name}. Hint: {mm.hint}"
    return text


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
            raise Fail(_eval_failure(f"BatchNorm1d(3).forward(z, train=False) after {len(batches)} training "
                                     "batches", m, got, z_eval, batches))
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
    z = batches[-1]
    fail = backward_failure("BatchNorm1d(3).backward(dout) after a training forward: (dz, the stored dgamma, dbeta)",
                            (got["dz"], got["dgamma"], got["dbeta"]), z, np.ones(3), np.zeros(3), dout,
                            want=(dz, bn.dgamma, bn.dbeta))
    if fail:
        raise fail
    m = mismatch(got["grads"], [bn.dgamma, bn.dbeta], 1e-6, 1e-8, "grads()")
    if m:
        raise Fail(f"BatchNorm1d(3): backward(dout) after a training forward: {m}.")
    if got["params_live"] is not True:
        raise Fail("BatchNorm1d.params()[0] is not the layer's gamma array itself.\nLikely mistake: params() returns "
                   "copies. Hint: return [self.gamma, self.beta], the live arrays, so that an optimizer updates the "
                   "layer in place.")

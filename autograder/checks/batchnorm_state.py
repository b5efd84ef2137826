"""Hidden checks of ``nntricks.batchnorm``, part 3: the ``BatchNorm1d`` layer's
state and protocol (attributes, live params(), gradients stored per backward,
the contract's errors, eps, inputs never modified)."""

import numpy as np

from . import Fail, Mistake, check, describe_type, error_mistake, find_mistake, mismatch
from ..refimpl import ref
from .batchnorm import FORWARD_MISTAKES, backward_failure
from .batchnorm_layer import _eval_failure

TOPIC = "batchnorm"


# ------------------------------------------------ the contract's layer protocol


def _named(text, mistakes, inputs, got, want):
    """``text`` with the catalogued mistake of a training forward's output, if one matches."""
    if "Likely mistake" in text:
        return text
    mm = find_mistake(mistakes, inputs, (got, None), (want, None))
    return text + (f"\nLikely mistake: {mm.name}. Hint: {mm.hint}" if mm else "")


def _new_layer(p, D=3, **kw):
    return p.call("batchnorm.BatchNorm1d", D, label=f"BatchNorm1d({D})", **kw)


ROW_SHAPED = Mistake("attributes of shape (1, D) instead of (D,)", "create them with np.ones(D) / np.zeros(D): the "
                     "contract's gamma, beta, running_mean and running_var are vectors of shape (D,) (PyTorch's too); "
                     "(1, D) broadcasts in the forward but not in params(), optimizers and saved models.")
KEEPDIMS = Mistake("a batch statistic with keepdims=True", "z.mean(axis=0) and z.var(axis=0, ddof=1) have shape "
                   "(D,); the running statistics keep the shape (D,).")
NOT_ZERO_ONE = Mistake("running statistics not started at 0 and 1", "running_mean = np.zeros(D), running_var = "
                       "np.ones(D) (PyTorch), before any batch is seen.")


@check("bn1d_attributes", 0.5, "BatchNorm1d.forward", uses=("batchnorm_forward",))
def bn1d_attributes(ctx):
    """A new BatchNorm1d(D) has gamma = ones, beta = zeros, running_mean = zeros, running_var = ones, all float64
    of shape (D,); after a training forward the running statistics keep that shape."""
    z = ctx.rng(9).normal(size=(4, 3)) * 2 + 1
    p = ctx.program()
    bn = _new_layer(p)
    names = ("gamma", "beta", "running_mean", "running_var")
    at = {name: p.emit(p.getattr(bn, name)) for name in names}
    p.method(bn, "forward", z, label="BatchNorm1d.forward(z)")
    after = {name: p.emit(p.getattr(bn, name)) for name in names[2:]}
    values = ctx.run(p, "BatchNorm1d(3) attributes")
    for name, want in zip(names, (np.ones(3), np.zeros(3), np.zeros(3), np.ones(3))):
        got = values[at[name]]
        m = mismatch(got, want, 0, 0, name)
        if m:
            text = f"BatchNorm1d(3) before any forward: {m}."
            shape = getattr(got, "shape", None)
            mistake = ROW_SHAPED if shape == (1, 3) else NOT_ZERO_ONE if name.startswith("running") and shape == (3,) \
                else None
            raise Fail(text + (f"\nLikely mistake: {mistake.name}. Hint: {mistake.hint}" if mistake else ""))
    for name in names[2:]:
        got = values[after[name]]
        if not isinstance(got, np.ndarray) or got.shape != (3,) or got.dtype != np.float64:
            text = f"BatchNorm1d(3): {name} after one training forward is {describe_type(got)}, expected (3,) float64."
            if getattr(got, "shape", None) == (1, 3):
                text += f"\nLikely mistake: {KEEPDIMS.name}. Hint: {KEEPDIMS.hint}"
            raise Fail(text)


@check("bn1d_params_live", 0.5, "BatchNorm1d.forward", uses=("batchnorm_forward",))
def bn1d_params_live(ctx):
    """params() returns the layer's own gamma and beta arrays: an optimizer's in-place step on them (here
    gamma *= 2, beta += 0.5) changes what the next forward computes."""
    r = ctx.rng(3)
    z = r.normal(size=(6, 3)) * 2 + 1
    p = ctx.program()
    bn = _new_layer(p)
    params = p.method(bn, "params", label="BatchNorm1d.params()")
    same = [p.same(p.item(params, k), p.getattr(bn, name)) for k, name in enumerate(("gamma", "beta"))]
    p.method(p.item(params, 0), "__imul__", 2.0, label="params()[0] *= 2")
    p.method(p.item(params, 1), "__iadd__", 0.5, label="params()[1] += 0.5")
    out = p.emit(p.method(bn, "forward", z, label="BatchNorm1d.forward(z)"))
    values = ctx.run(p, "an optimizer step through BatchNorm1d.params()")
    for k, name in enumerate(("gamma", "beta")):
        if values[same[k]] is not True:
            raise Fail(f"BatchNorm1d.params()[{k}] is not the layer's {name} array itself.\nLikely mistake: "
                       "params() returns copies. Hint: return [self.gamma, self.beta] (the live arrays), so that "
                       "an optimizer's in-place step updates the layer.")
    u = (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5)
    m = mismatch(values[out], 2.0 * u + 0.5, 1e-6, 1e-8, "the output")
    if m:
        text = f"BatchNorm1d(3): after params()[0] *= 2 and params()[1] += 0.5, forward(z): {m}."
        if mismatch(values[out], u, 1e-9, 1e-12) is None:
            text += ("\nLikely mistake: forward does not use the arrays params() returns. Hint: keep ONE gamma and "
                     "ONE beta array (self.gamma, self.beta), update them in place, and read them in forward.")
        raise Fail(_named(text, FORWARD_MISTAKES, {"z": z, "gamma": np.full(3, 2.0), "beta": np.full(3, 0.5),
                                                   "eps": 1e-5}, values[out], 2.0 * u + 0.5))


@check("bn1d_grads_stored", 0.5, "BatchNorm1d.forward", uses=("batchnorm_forward", "batchnorm_backward"))
def bn1d_grads_stored(ctx):
    """Two forward/backward passes: dgamma, dbeta and grads() hold the LAST backward's gradients (stored, not
    accumulated)."""
    r = ctx.rng(4)
    zs = [r.normal(size=(5, 3)) * 2 + 1 for _ in range(2)]
    douts = [r.normal(size=(5, 3)) for _ in range(2)]
    p = ctx.program()
    bn = _new_layer(p)
    for z, d in zip(zs, douts):
        p.method(bn, "forward", z, label="BatchNorm1d.forward(z)")
        dz = p.method(bn, "backward", d, label="BatchNorm1d.backward(dout)")
    at = [p.emit(p.getattr(bn, "dgamma")), p.emit(p.getattr(bn, "dbeta")),
          p.emit(p.method(bn, "grads", label="BatchNorm1d.grads()")), p.emit(dz)]
    values = ctx.run(p, "two BatchNorm1d forward/backward passes")
    one = [ref.batchnorm.batchnorm_backward(d, ref.batchnorm.batchnorm_forward(z, np.ones(3), np.zeros(3))[1])
           for z, d in zip(zs, douts)]
    for name, got, want, summed in (("dgamma", values[at[0]], one[1][1], one[0][1] + one[1][1]),
                                    ("dbeta", values[at[1]], one[1][2], one[0][2] + one[1][2]),
                                    ("grads()", values[at[2]], [one[1][1], one[1][2]],
                                     [one[0][1] + one[1][1], one[0][2] + one[1][2]])):
        m = mismatch(got, want, 1e-6, 1e-8, f"{name} after the second backward")
        if m:
            text = f"BatchNorm1d(3), forward and backward twice: {m}."
            if mismatch(got, summed, 1e-6, 1e-8) is None:
                text += ("\nLikely mistake: gradients accumulated over backward calls. Hint: backward STORES the "
                         "gradients of this call (self.dgamma = ..., not +=), as the contract says; a training "
                         "loop reads them after each backward.")
                raise Fail(text)
            fail = backward_failure(f"BatchNorm1d(3), forward and backward twice: (dz, dgamma, dbeta) of the second "
                                    "backward", (values[at[3]], values[at[0]], values[at[1]]), zs[1], np.ones(3),
                                    np.zeros(3), douts[1], want=one[1])
            raise fail or Fail(text)


@check("bn1d_backward_errors", 0.5, "BatchNorm1d.forward",
       uses=("batchnorm_forward", "batchnorm_inference", "batchnorm_backward"))
def bn1d_backward_errors(ctx):
    """backward raises RuntimeError without a training forward: on a new layer, and after an inference-mode
    forward (which must not leave the last training cache behind)."""
    r = ctx.rng(5)
    z, z_eval, dout = r.normal(size=(5, 3)), r.normal(size=(4, 3)), r.normal(size=(4, 3))
    p = ctx.program()
    fresh = _new_layer(p)
    at_fresh = p.n_emits
    p.method(fresh, "backward", dout, catch=True, label="BatchNorm1d.backward(dout)")
    bn = _new_layer(p)
    p.method(bn, "forward", z, label="BatchNorm1d.forward(z)")
    p.method(bn, "forward", z_eval, train=False, label="BatchNorm1d.forward(z, train=False)")
    at_eval = p.n_emits
    p.method(bn, "backward", dout, catch=True, label="BatchNorm1d.backward(dout)")
    values = ctx.run(p, "BatchNorm1d.backward without a training forward")
    problem = error_mistake(values[at_fresh], "RuntimeError")
    if problem:
        raise Fail(f"BatchNorm1d(3).backward(dout) on a new layer (no forward yet): {problem}.\nLikely mistake: "
                   "backward does not check for a training forward. Hint: raise RuntimeError when there is no "
                   "training-mode cache to differentiate (the provided code does).")
    problem = error_mistake(values[at_eval], "RuntimeError")
    if problem:
        raise Fail(f"BatchNorm1d(3): forward(z) (training), then forward(z, train=False), then backward(dout): "
                   f"{problem}.\nLikely mistake: a backward after an inference-mode forward used the last "
                   "training cache. Hint: forward(z, train=False) must drop the training cache (self._cache = "
                   "None), so that backward raises RuntimeError instead of silently differentiating another "
                   "minibatch.")


@check("bn1d_rejects_one_instance", 0.5, "BatchNorm1d.forward", uses=("batchnorm_forward",))
def bn1d_rejects_one_instance(ctx):
    """forward(z) in training mode with B = 1 raises ValueError (inference mode accepts B = 1); B = 2 works."""
    r = ctx.rng(6)
    z2 = r.normal(size=(2, 3))
    p = ctx.program()
    bn = _new_layer(p)
    out2 = p.emit(p.method(bn, "forward", z2, label="BatchNorm1d.forward(z)"))
    at = p.n_emits
    p.method(bn, "forward", r.normal(size=(1, 3)), catch=True, label="BatchNorm1d.forward(z)")
    values = ctx.run(p, "BatchNorm1d.forward with B = 2, then B = 1")
    m = mismatch(values[out2], ref.batchnorm.BatchNorm1d(3).forward(z2.copy()), 1e-6, 1e-8, "the output")
    if m:
        raise Fail(_named(f"BatchNorm1d(3).forward(z) with B = 2: {m}.", FORWARD_MISTAKES,
                          {"z": z2, "gamma": np.ones(3), "beta": np.zeros(3), "eps": 1e-5}, values[out2],
                          ref.batchnorm.BatchNorm1d(3).forward(z2.copy())))
    problem = error_mistake(values[at], "ValueError")
    if problem:
        raise Fail(f"BatchNorm1d(3).forward(z) in training mode with z of shape (1, 3): {problem}.\nLikely "
                   "mistake: no check of the batch size. Hint: one instance has no spread to normalize by (and an "
                   "undefined unbiased variance): raise ValueError in training mode when B < 2, as PyTorch does.")


@check("bn1d_eps", 0.5, "BatchNorm1d.forward", uses=("batchnorm_forward", "batchnorm_inference"))
def bn1d_eps(ctx):
    """BatchNorm1d(D, eps=0.1) uses its eps in training and in inference mode."""
    r = ctx.rng(7)
    z, z_eval = r.normal(size=(5, 3)) * 0.2, r.normal(size=(4, 3)) * 0.2
    p = ctx.program()
    bn = _new_layer(p, eps=0.1)
    outs = [p.emit(p.method(bn, "forward", z, label="BatchNorm1d.forward(z)"))]
    stats = [p.emit(p.getattr(bn, "running_mean")), p.emit(p.getattr(bn, "running_var"))]
    outs.append(p.emit(p.method(bn, "forward", z_eval, train=False, label="BatchNorm1d.forward(z, train=False)")))
    values = ctx.run(p, "BatchNorm1d(3, eps=0.1)")
    want_bn = ref.batchnorm.BatchNorm1d(3, eps=0.1)
    wants = [want_bn.forward(z.copy()), want_bn.forward(z_eval.copy(), train=False)]
    ignored = ref.batchnorm.BatchNorm1d(3)
    ignored_outs = [ignored.forward(z.copy()), ignored.forward(z_eval.copy(), train=False)]
    for what, i, want, alt in zip(("forward(z)", "forward(z, train=False)"), outs, wants, ignored_outs):
        m = mismatch(values[i], want, 1e-6, 1e-8, "the output")
        if m:
            text = f"BatchNorm1d(3, eps=0.1).{what}: {m}."
            if mismatch(values[i], alt, 1e-9, 1e-12) is None:
                text += ("\nLikely mistake: the eps argument ignored. Hint: store eps in __init__ and pass self.eps "
                         "to the forward and inference functions.")
            elif what == "forward(z)":
                text = _named(text, FORWARD_MISTAKES, {"z": z, "gamma": np.ones(3), "beta": np.zeros(3), "eps": 0.1},
                              values[i], want)
            elif what == "forward(z, train=False)":
                got = {"eval": values[i], "mean": [values[stats[0]]], "var": [values[stats[1]]]}
                text = _eval_failure(f"BatchNorm1d(3, eps=0.1).{what} after one training batch", m, got, z_eval,
                                     [z], eps=0.1)
            raise Fail(text)


@check("bn1d_inputs_unchanged", 0.5, "BatchNorm1d.forward",
       uses=("batchnorm_forward", "batchnorm_inference", "batchnorm_backward"))
def bn1d_inputs_unchanged(ctx):
    """forward (both modes) and backward never modify z or dout in place."""
    r = ctx.rng(8)
    z, z_eval, dout = r.normal(size=(5, 3)) * 2 + 1, r.normal(size=(4, 3)) * 2 + 1, r.normal(size=(5, 3))
    p = ctx.program()
    bn = _new_layer(p)
    refs = {"z": p.array(z), "z (inference)": p.array(z_eval), "dout": p.array(dout)}
    p.method(bn, "forward", refs["z"], label="BatchNorm1d.forward(z)")
    p.method(bn, "backward", refs["dout"], label="BatchNorm1d.backward(dout)")
    p.method(bn, "forward", refs["z (inference)"], train=False, label="BatchNorm1d.forward(z, train=False)")
    at = {k: p.emit(v) for k, v in refs.items()}
    values = ctx.run(p, "BatchNorm1d forward and backward")
    for name, before in (("z", z), ("z (inference)", z_eval), ("dout", dout)):
        now = values[at[name]]
        if not isinstance(now, np.ndarray) or not np.array_equal(now, before):
            raise Fail(f"BatchNorm1d(3): forward/backward modified its input {name} in place.\nLikely mistake: an "
                       "in-place operation on the input (z -= mu, dout *= gamma). Hint: inputs are never "
                       "modified: compute into new arrays (u = z - mu).")

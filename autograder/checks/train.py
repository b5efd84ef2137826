"""Hidden checks of ``nntricks.train``: ``train_step`` (exercise 1.9), 6 points.

The model, the loss and the optimizer are the package's provided test doubles (``nn.Probe``,
``nn.ProbeLoss``, ``nn.ProbeOptimizer``), which log their calls into one shared list: the model is
``scale * x[:, idx]`` plus a shift in training mode only (one parameter, ``scale``), the loss is
quartic, the optimizer is gradient descent that keeps a copy of every list of gradients it is given. Two calls of the student's ``train_step`` run
on two minibatches; the returned losses, the weights after each call, the gradients the optimizer
saw and the log are compared with the same computation done here in numpy. Only behaviour is
judged: any order of the calls that gives these results is right.
"""

import numpy as np

from . import Fail, StudentError, check, describe_type, float_mistake, mismatch
from ..protocol import Raised

LR = 0.1


def _data(r, B, D=3, K=2):
    scale = r.uniform(0.5, 1.5)
    batches = [(r.normal(size=(B, D)), r.normal(size=(B, K))) for _ in range(2)]
    return scale, r.uniform(0.5, 1.5), batches


def _out(scale, shift, x, K=2):
    return scale * x[:, np.arange(K) % x.shape[1]] + shift


def _loss(z, d):
    return float(np.sum((z - d) ** 4)) / (4 * len(z))


def _expected(scale, shift, batches):
    """Per call: loss before the step, loss after it, the gradient, the parameter after; and
    the loss of an inference-mode forward."""
    out = []
    for x, d in batches:
        z = _out(scale, shift, x)
        g = np.array([np.sum((z - d) ** 3 / len(x) * x[:, np.arange(2) % x.shape[1]])])
        new = scale - LR * g[0]
        out.append({"loss": _loss(z, d), "loss_after": _loss(_out(new, shift, x), d),
                    "loss_eval": _loss(_out(scale, 0.0, x), d), "grad": g, "W": np.array([new])})
        scale = new
    return out


def _session(ctx, B):
    """Two train_step calls on doubles in the worker; the decoded results."""
    r = ctx.rng(B)
    scale, shift, batches = _data(r, B)
    p = ctx.program()
    model = p.call("nn.Probe", 3, 2, scale=scale, shift=shift, name="model", label="a model")
    log = p.getattr(model, "log")
    loss = p.call("nn.ProbeLoss", log=log, label="a loss")
    pair = (p.getattr(loss, "value"), p.getattr(loss, "grad"))
    opt = p.call("nn.ProbeOptimizer", p.method(model, "params"), lr=LR, log=log, label="an optimizer")
    refs = []
    for x, d in batches:
        xr, dr = p.array(x), p.array(d)
        p.emit(p.call("train.train_step", model, xr, dr, pair, opt, catch=True,
                      label="train_step(model, x, d, loss, optimizer)"))
        p.emit(p.getattr(model, "scale"))
        refs.append((xr, dr))
    p.emit(p.getattr(opt, "seen"))
    p.emit(log)
    for xr, dr in refs:
        p.emit(xr)
        p.emit(dr)
    v = ctx.run(p, "train_step(model, x, d, loss, optimizer), twice")
    if isinstance(v[0], Raised) and v[0].is_a("NotImplementedError"):
        raise StudentError(f"train_step: not implemented yet (NotImplementedError: {v[0].msg[:200]})")
    calls = []
    for k in range(2):
        status, value, W_after = v[3 * k], v[3 * k + 1], v[3 * k + 2]
        calls.append({"value": status if isinstance(status, Raised) else value, "W": W_after})
    rest = v[6:]
    return {"shift": shift, "batches": batches, "calls": calls, "seen": rest[0], "log": rest[1],
            "after": [(rest[2], rest[3]), (rest[4], rest[5])], "want": _expected(scale, shift, batches)}


def _log_text(log, limit=12):
    if not isinstance(log, list):
        return describe_type(log)
    items = [" ".join(str(v) for v in e) if isinstance(e, tuple) else describe_type(e) for e in log[:limit]]
    return "[" + "; ".join(items) + (" ..." if len(log) > limit else "") + "]"


def _calls_per_step(log):
    """The log cut into the two train_step calls (at each call's first forward)."""
    if not isinstance(log, list):
        return []
    parts = []
    for e in log:
        if isinstance(e, tuple) and e[:1] == ("forward",) and (not parts or any(
                isinstance(f, tuple) and f[:1] == ("step",) for f in parts[-1])):
            parts.append([])
        if not parts:
            parts.append([])
        parts[-1].append(e)
    return parts


def _log_mistake(log):
    """The mistake the log shows, or None."""
    if not isinstance(log, list):
        return None
    kinds = [e[0] for e in log if isinstance(e, tuple) and e]
    if kinds.count("step") > 2:
        return ("more than one optimizer step per call", "one train_step is ONE step of gradient descent: call "
                "optimizer.step exactly once.")
    if "step" not in kinds:
        return ("no optimizer step", "the parameters only change when optimizer.step(...) is called.")
    if "backward" not in kinds:
        return ("the model's backward never called", "the gradients of the parameters come from "
                "model.backward(...), given the gradient of the loss w.r.t. the model's output.")
    if any(e[0] == "forward" and len(e) > 2 and e[2] is not True for e in log if isinstance(e, tuple) and e):
        return ("a forward pass not in training mode", "training uses the training-mode forward (train=True): "
                "dropout and batch norm behave differently in the two modes.")
    for part in _calls_per_step(log):
        k = [e[0] for e in part if isinstance(e, tuple) and e]
        if "step" in k and "backward" in k and k.index("step") < k.index("backward"):
            return ("the optimizer stepped before the backward pass", "the gradients are only up to date "
                    "after model.backward(...): step after it.")
        if "step" in k and "loss" in k and k.index("loss") > k.index("step"):
            return ("the loss computed after the step", "the loss of this minibatch is the loss of the model "
                    "BEFORE the update: compute it from the forward pass's output, before optimizer.step.")
    return None


def _same_grads(seen, k, want):
    """Whether the optimizer's ``k``-th step was given ``[want]`` (the model has one parameter)."""
    step = seen[k] if isinstance(seen, list) and len(seen) > k else None
    return (isinstance(step, list) and len(step) == 1 and isinstance(step[0], np.ndarray)
            and mismatch(step[0], want) is None)


@check("train_step_update", 3, "train_step")
def train_step_update(ctx):
    """Each call makes exactly one optimizer step with the gradients of this minibatch, from a
    training-mode forward pass, so the weights after two calls are those of two steps of gradient descent."""
    for B in (5, 1):
        s = _session(ctx, B)
        for k, (call, want) in enumerate(zip(s["calls"], s["want"])):
            label = f"train_step on minibatch {k + 1} of 2 (B = {B})"
            if isinstance(call["value"], Raised):
                text = f"{label} raised {call['value'].type}: {call['value'].msg[:200]}. Calls: {_log_text(s['log'])}."
                if "backward got dout of shape ()" in call["value"].msg:
                    text += ("\nLikely mistake: the loss given to backward instead of its gradient. Hint: backward "
                             "takes the gradient of the loss w.r.t. the model's output (loss[1]), an array.")
                raise Fail(text)
            m = mismatch(call["W"], want["W"], what="the model's parameter after the call")
            if m is None:
                continue
            text = f"{label}: {m}. Calls the model, the loss and the optimizer received: {_log_text(s['log'])}."
            seen = s["seen"] if isinstance(s["seen"], list) else []
            mistake = _log_mistake(s["log"])
            if mistake is None and k == 0 and seen and _same_grads(seen, 0, np.zeros_like(want["grad"])):
                mistake = ("stale gradients", "model.grads() holds the gradients of the LAST backward pass: read "
                           "them after this minibatch's backward, not before.")
            if mistake is None and k == 1 and len(seen) > 1 and _same_grads(seen, 1, s["want"][0]["grad"]):
                mistake = ("stale gradients", "the optimizer got the previous minibatch's gradients: read "
                           "model.grads() after this minibatch's backward.")
            if mistake is None and seen and _same_grads(seen, k, -want["grad"]):
                mistake = ("the gradient's sign flipped", "the loss's gradient is grad_fn(z, d) with the model's "
                           "output first (loss[1](z, d)); gradient DESCENT is the optimizer's job.")
            if mistake:
                text += f"\nLikely mistake: {mistake[0]}. Hint: {mistake[1]}"
            raise Fail(text)


@check("train_step_loss", 2, "train_step")
def train_step_loss(ctx):
    """Returns the minibatch's loss as a float: the loss of the model before this call's update,
    from the training-mode forward pass."""
    for B in (4, 1):
        s = _session(ctx, B)
        for k, (call, want) in enumerate(zip(s["calls"], s["want"])):
            label = f"train_step on minibatch {k + 1} of 2 (B = {B})"
            got = call["value"]
            if isinstance(got, Raised):
                raise Fail(f"{label} raised {got.type}: {got.msg[:200]}.")
            bad = float_mistake(got)
            if bad is not None:
                raise Fail(f"{label} returned {describe_type(got)}: the contract returns the minibatch's loss as a "
                           f"float.\nLikely mistake: {bad.name}. Hint: {bad.hint}")
            m = mismatch(got, want["loss"], what="the returned loss")
            if m is None:
                continue
            text = f"{label}: {m}. Calls: {_log_text(s['log'])}."
            if mismatch(got, want["loss_after"]) is None:
                text += ("\nLikely mistake: the loss computed after the step. Hint: return the loss of the forward "
                         "pass this step's gradients came from: the model before its update.")
            elif mismatch(got, want["loss_eval"]) is None:
                text += ("\nLikely mistake: the loss of an inference-mode forward. Hint: the step's forward pass is "
                         "in training mode, and its output gives both the loss and the gradient.")
            raise Fail(text)


@check("train_step_inputs", 1, "train_step")
def train_step_inputs(ctx):
    """x and d are left as they were (the caller's data set), by calls that do the step right."""
    s = _session(ctx, 3)
    for k, (call, want) in enumerate(zip(s["calls"], s["want"])):
        if isinstance(call["value"], Raised) or mismatch(call["W"], want["W"]) is not None:
            raise Fail(f"train_step on minibatch {k + 1}: not checked, the step itself is wrong (see train_step_update).")
    for k, ((x, d), (x_after, d_after)) in enumerate(zip(s["batches"], s["after"])):
        for name, before, after in (("x", x, x_after), ("d", d, d_after)):
            if not (isinstance(after, np.ndarray) and np.array_equal(after, before)):
                raise Fail(f"train_step on minibatch {k + 1} modified its input {name} in place: x and d are the "
                           "caller's data (fit passes rows of the training set); never write into them.")

"""Hidden checks of ``nntricks.nn``, part 2: ``Sequential.forward`` and ``Sequential.backward``
(exercise 1.8; the topic's points are listed in ``checks/__init__.py``).

The network is made of the package's provided test doubles, ``nn.Probe``: ``scale * x[:, idx]``
(output column ``j`` is input column ``j % fan_in``) plus ``shift`` in training mode only, that logs every call (``("forward", name, train)``,
``("backward", name)``) into one shared list. The checks run the student's ``Sequential`` on
probes with chosen weights, read the log, the output, the returned gradient and each probe's
``dscale`` back, and compare with the same computation done here in numpy: the check sees what the
student's code did to its layers (order, ``train``, chaining), never an attribute of the student's.
The probes are first run alone (``_probe_intact``), so that a changed ``Probe`` is named as such.
Widths differ from layer to layer, so that an unchained or reversed pass meets a shape the probe
refuses (the log still shows the call).
"""

import numpy as np

from . import Fail, StudentError, check, describe_type, mismatch
from ..protocol import Raised

TOPIC = "nn"


def _network(r, widths, B):
    """Scales, shifts and inputs of a probe network with the given widths."""
    n = len(widths) - 1
    scales = list(r.uniform(0.5, 2.0, size=n) * r.choice([-1.0, 1.0], size=n))
    shifts = list(r.uniform(0.5, 1.5, size=n))
    x = r.normal(size=(B, widths[0]))
    dout = r.normal(size=(B, widths[-1])) / B
    return (widths, scales, shifts), x, dout


def _layer(a, fan_out, scale, shift, train):
    return scale * a[:, np.arange(fan_out) % a.shape[1]] + (shift if train else 0.0)


def _expected(net, x, dout, train):
    """Output, inputs of every layer, gradients w.r.t. every layer's input (last first), dscales."""
    widths, scales, shifts = net
    acts = [x]
    for fo, c, s in zip(widths[1:], scales, shifts):
        acts.append(_layer(acts[-1], fo, c, s, train))
    g, gs, dscales = dout, [], [None] * len(scales)
    for k in reversed(range(len(scales))):
        idx = np.arange(widths[k + 1]) % widths[k]
        dscales[k] = np.array([np.sum(g * acts[k][:, idx])])
        dx = np.zeros_like(acts[k])
        np.add.at(dx, (slice(None), idx), scales[k] * g)
        g = dx
        gs.append(g)
    return {"out": acts[-1], "acts": acts, "gs": gs, "dx": g, "dscales": dscales}


def _log_text(log, limit=8):
    if not isinstance(log, list):
        return describe_type(log)
    items = [" ".join(str(v) for v in e) if isinstance(e, tuple) else describe_type(e) for e in log[:limit]]
    return "[" + "; ".join(items) + (" ..." if len(log) > limit else "") + "]"


def _probes(p, net):
    widths, scales, shifts = net
    log = None
    probes = []
    for k, (fi, fo, c, s) in enumerate(zip(widths[:-1], widths[1:], scales, shifts)):
        kw = {} if log is None else {"log": log}
        probes.append(p.call("nn.Probe", fi, fo, scale=c, shift=s, name=f"L{k}", label=f"Probe({fi}, {fo})", **kw))
        if log is None:
            log = p.getattr(probes[0], "log")
    return probes, log


def _probe_intact(ctx):
    """The provided Probe, alone, does what its docstring says (else the check cannot see anything)."""
    r = np.random.default_rng(0)
    x, dout = r.normal(size=(4, 3)), r.normal(size=(4, 5))
    want = _expected(([3, 5], [1.5], [0.5]), x, dout, False)
    p = ctx.program()
    probe = p.call("nn.Probe", 3, 5, scale=1.5, shift=0.5, name="P", label="Probe(3, 5)")
    out = p.emit(p.method(probe, "forward", x, False, label="Probe.forward(x, False)"))
    dx = p.emit(p.method(probe, "backward", dout, label="Probe.backward(dout)"))
    dscale = p.emit(p.getattr(probe, "dscale"))
    log = p.emit(p.getattr(probe, "log"))
    try:
        v = ctx.run(p, "the provided test double nn.Probe")
    except StudentError as e:
        raise Fail(f"the provided class nn.Probe does not work ({e}): restore it from the release "
                   "(notebooks/nntricks/nn.py); the checks of Sequential build networks of probes.") from None
    ok = (mismatch(v[out], want["out"]) is None and mismatch(v[dx], want["dx"]) is None
          and mismatch(v[dscale], want["dscales"][0]) is None and v[log] == [("forward", "P", False), ("backward", "P")])
    if not ok:
        raise Fail("the provided class nn.Probe was changed: restore it from the release "
                   "(notebooks/nntricks/nn.py); the checks of Sequential build networks of probes.")


def _run(ctx, net, x, dout, train=None, backward=1):
    """``Sequential(*probes)``: forward(x[, train]), then ``backward`` calls of backward(dout).

    Returns a dict: values (see :func:`_split`), dscales (after the last backward), log, x_after,
    dout_after; an exception the student's code raised is caught (the log still tells)."""
    _probe_intact(ctx)
    p = ctx.program()
    probes, log = _probes(p, net)
    net = p.call("nn.Sequential", *probes, label=f"Sequential({len(probes)} probes)")
    xr, dr = p.array(x), p.array(dout)
    args = () if train is None else (train,)
    call = "forward(x)" if train is None else f"forward(x, train={train})"
    p.emit(p.method(net, "forward", xr, *args, catch=True, label=f"Sequential.{call}"))
    for _ in range(backward):
        p.emit(p.method(net, "backward", dr, catch=True, label="Sequential.backward(dout)"))
    for q in probes:
        p.emit(p.getattr(q, "dscale"))
    p.emit(log)
    p.emit(xr)
    p.emit(dr)
    values = ctx.run(p, f"Sequential.{call} and backward(dout)")
    for v, what in ((values[0], f"Sequential.{call}"), (values[2] if backward else None, "Sequential.backward(dout)")):
        if isinstance(v, Raised) and v.is_a("NotImplementedError"):
            raise StudentError(f"{what}: not implemented yet (NotImplementedError: {v.msg[:200]})")
    return {"values": values, "log": values[-3], "dscales": values[-3 - len(probes):-3], "x_after": values[-2],
            "dout_after": values[-1]}


def _split(res, n_backward):
    """(forward result, [backward results]) from the emitted values: each caught call emits None
    or a Raised, and then its result (None when it raised)."""
    v = res["values"]
    fwd = v[0] if isinstance(v[0], Raised) else v[1]
    bwd = []
    for k in range(n_backward):
        status, value = v[2 + 2 * k], v[3 + 2 * k]
        bwd.append(status if isinstance(status, Raised) else value)
    return fwd, bwd


def _inputs_unchanged(res, x, dout):
    if not (isinstance(res["x_after"], np.ndarray) and np.array_equal(res["x_after"], x)):
        raise Fail("Sequential.forward(x) modified its input x in place: the layers get x as it is, "
                   "and the network's input must stay what the caller gave.")
    if not (isinstance(res["dout_after"], np.ndarray) and np.array_equal(res["dout_after"], dout)):
        raise Fail("Sequential.backward(dout) modified dout in place.")


def _forward_log(n, train):
    return [("forward", f"L{k}", train) for k in range(n)]


def _backward_log(n):
    return [("backward", f"L{k}") for k in reversed(range(n))]


def _diagnose_forward(log, n, train):
    """The mistake the log of a forward pass shows, or None."""
    if not isinstance(log, list):
        return None
    fwd = [e for e in log if isinstance(e, tuple) and e[:1] == ("forward",)]
    names = [e[1] for e in fwd if len(e) > 1]
    if n > 1 and names[:1] == [f"L{n - 1}"]:
        return ("the layers run in reverse order", "forward goes from the input to the output: the first layer "
                "of self.layers sees x.")
    if len(names) > n or len(set(names)) < len(names):
        return ("a layer's forward called more than once", "one forward pass calls each layer exactly once (a "
                "second call overwrites the cache that backward needs).")
    if len(names) < n:
        return ("not every layer's forward was called", f"the log shows {len(names)} of {n} layers: "
                "every layer, in order, each on the previous one's output.")
    flags = [e[2] if len(e) > 2 else None for e in fwd]
    if any(f is not train for f in flags):
        if all(f is True for f in flags) and train is False:
            return ("train not passed to the layers", "each layer's forward has its own train=True default: "
                    "pass this call's train on to every layer.")
        return ("the layers received a train other than the network's",
                f"the layers got train = {flags}, the call had train = {train}: pass it on as it is.")
    return None


@check("sequential_forward", 2, "Sequential.forward")
def sequential_forward(ctx):
    """forward(x) and forward(x, train=False) on three probes of different widths: every layer once,
    in order, each on the previous output, with the call's train; the last output returned."""
    r = ctx.rng()
    for widths, B in (([4, 3, 5, 2], 6), ([2, 6, 3, 4], 1)):
        net, x, dout = _network(r, widths, B)
        n = len(widths) - 1
        for train in (None, False, True):
            flag = True if train is None else train
            want = _expected(net, x, dout, flag)
            res = _run(ctx, net, x, dout, train=train, backward=0)
            got, _ = _split(res, 0)
            call = "forward(x)" if train is None else f"forward(x, train={train})"
            label = f"Sequential of probes with widths {widths}, B = {B}: {call}"
            seen = _diagnose_forward(res["log"], n, flag)
            if seen is None and res["log"] != _forward_log(n, flag):
                seen = ("the layers were not called as a forward pass calls them",
                        f"the log of calls was {_log_text(res['log'])}: one forward per layer, in order.")
            if isinstance(got, Raised) or mismatch(got, want["out"]) is not None or seen:
                m = (f"it raised {got.type}: {got.msg[:200]}" if isinstance(got, Raised)
                     else mismatch(got, want["out"], what="the output") or "the output is right, the calls are not")
                text = f"{label}: {m}. Calls the layers received: {_log_text(res['log'])}."
                if seen is None and not isinstance(got, Raised):
                    for k, a in enumerate(want["acts"][:-1]):
                        if mismatch(got, a) is None:
                            seen = ("returned an intermediate value" if k else "returned the input x",
                                    "return what the LAST layer's forward returned (each layer's output is "
                                    "the next one's input).")
                if seen:
                    text += f"\nLikely mistake: {seen[0]}. Hint: {seen[1]}"
                raise Fail(text)
            _inputs_unchanged(res, x, dout)


def _diagnose_backward(log, n, got=None):
    """The mistake the log of a backward pass (and its result) shows, or None."""
    if not isinstance(log, list):
        return None
    names = [e[1] for e in log if isinstance(e, tuple) and e[:1] == ("backward",) and len(e) > 1]
    if n > 1 and names[:1] == ["L0"]:
        return ("backward in forward order", "the chain rule starts at the loss: only the LAST layer's "
                "gradient is known first, so go through the layers in reverse.")
    if isinstance(got, Raised) and "backward got dout of shape" in got.msg:
        return ("the layers were not chained", "each layer's backward gets the gradient w.r.t. ITS output: "
                "the result of the backward of the layer after it, not the network's dout.")
    if len(set(names)) < len(names):
        return ("a layer's backward called more than once", "one backward pass calls each layer exactly once.")
    if len(names) < n:
        return ("not every layer's backward was called", f"the log shows {len(names)} of {n} layers.")
    return None


@check("sequential_backward", 2, "Sequential.backward", uses=("Sequential.forward",))
def sequential_backward(ctx):
    """After forward(x), backward(dout): every layer's backward once, last layer first, each given the
    gradient w.r.t. its own output (the probes' dscale), and the gradient w.r.t. the network's input returned."""
    r = ctx.rng()
    for widths, B in (([4, 3, 5, 2], 6), ([3, 5, 5, 2, 4], 1)):
        net, x, dout = _network(r, widths, B)
        n = len(widths) - 1
        want = _expected(net, x, dout, True)
        res = _run(ctx, net, x, dout)
        fwd, (got,) = _split(res, 1)
        label = f"Sequential of probes with widths {widths}, B = {B}: forward(x), then backward(dout)"
        if isinstance(fwd, Raised):
            raise Fail(f"{label}: forward raised {fwd.type}: {fwd.msg[:200]} (Exercise 1.8's forward first).")
        log = res["log"]
        bwd_log = [e for e in log if isinstance(e, tuple) and e[:1] == ("backward",)] if isinstance(log, list) else log
        seen = _diagnose_backward(log, n, got)
        m = None
        if isinstance(got, Raised):
            m = f"it raised {got.type}: {got.msg[:200]}"
        else:
            m = mismatch(got, want["dx"], what="dx")
        if m is None:
            for k, (dc, wdc) in enumerate(zip(res["dscales"], want["dscales"])):
                m = mismatch(dc, wdc, what=f"the dscale of layer L{k}")
                if m:
                    m += f" (the gradient that layer L{k}'s backward received was wrong)"
                    break
        if m is None and bwd_log != _backward_log(n):
            m = "dx is right, the calls are not"
        if m is None:
            _inputs_unchanged(res, x, dout)
            continue
        text = f"{label}: {m}. Calls the layers received: {_log_text(log)}."
        if seen is None and not isinstance(got, Raised):
            if mismatch(got, dout) is None:
                seen = ("returned dout", "return what the FIRST layer's backward returned: the gradient w.r.t. "
                        "the network's input.")
            else:
                for k, g in enumerate(want["gs"][:-1]):
                    if mismatch(got, g) is None:
                        seen = ("returned the gradient w.r.t. an inner layer's input, not the network's input"
                                if k else "returned the last layer's gradient, not the network's input's",
                                "chain the layers: each backward's result is the next call's dout, and the "
                                "FIRST layer's result is what the network returns.")
        if seen:
            text += f"\nLikely mistake: {seen[0]}. Hint: {seen[1]}"
        raise Fail(text)


@check("sequential_contract", 1, "Sequential.backward", uses=("Sequential.forward",))
def sequential_contract(ctx):
    """A second backward after one forward gives the same result (the layers' caches are not consumed),
    one layer and deep stacks work, inputs are left alone."""
    r = ctx.rng()
    for widths, B in (([3, 2], 4), ([2, 3, 4, 3, 2, 3, 4, 2], 3)):
        net, x, dout = _network(r, widths, B)
        n = len(widths) - 1
        want = _expected(net, x, dout, True)
        res = _run(ctx, net, x, dout, backward=2)
        fwd, (first, second) = _split(res, 2)
        label = f"Sequential of {n} probe(s), B = {B}"
        for what, got in (("forward(x)", fwd), ("backward(dout)", first), ("a second backward(dout)", second)):
            if isinstance(got, Raised):
                seen = (_diagnose_forward(res["log"], n, True) if got is fwd
                        else _diagnose_backward(res["log"], n, got))
                raise Fail(f"{label}: {what} raised {got.type}: {got.msg[:200]}. Calls the layers received: "
                           f"{_log_text(res['log'])}." + (f"\nLikely mistake: {seen[0]}. Hint: {seen[1]}" if seen else ""))
        m = mismatch(fwd, want["out"], what="the output") or mismatch(first, want["dx"], what="dx")
        if m is None:
            m = mismatch(second, want["dx"], what="dx of the second backward")
            if m:
                m += (": a second backward after one forward must give the same gradient (keep nothing in "
                      "Sequential that the first backward uses up)")
        if m:
            raise Fail(f"{label}: {m}. Calls the layers received: {_log_text(res['log'])}.")
        _inputs_unchanged(res, x, dout)

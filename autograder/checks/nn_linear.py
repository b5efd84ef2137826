"""Hidden checks of ``nntricks.nn``, part 1: the ``Linear`` layer's forward and
backward passes (``nn`` holds the topic's overview; part 2 is ``nn_activations``)."""

import numpy as np

from . import Fail, Mistake, StudentError, check, describe_type, failure_message, mismatch
from .nn_run import emit_shifted_forwards, run_layer

TOPIC = "nn"


def _shapes(ctx):
    """(B, fan_in, fan_out) with B = 2, 1 and large, random widths; the first layer is square, so that a
    transposed factor gives a wrong result (recognized) before it gives a shape error."""
    r = ctx.rng(99)
    n = int(r.integers(2, 7))
    return [(2, n, n), (1, int(r.integers(2, 9)), int(r.integers(2, 9))), (int(r.integers(100, 300)), 17, 5)]


# ------------------------------------------------------------------ Linear

FORWARD_MISTAKES = [
    Mistake("W transposed", "z = x @ W + b with W of shape (fan_in, fan_out): no transpose in the forward pass.",
            lambda x, W, b: x @ W.T + b),
    Mistake("no bias", "add the bias b (broadcast over the rows).", lambda x, W, b: x @ W),
]


@check("linear_forward", 2, "Linear.forward")
def linear_forward(ctx):
    """Linear.forward(x) = x @ W + b on the layer's own W and b, for B = 1, 2 and large."""
    r = ctx.rng()
    for k, (B, fi, fo) in enumerate(_shapes(ctx)):
        x = r.normal(size=(B, fi))
        p = ctx.program()
        layer = p.call("nn.Linear", fi, fo, rng=p.rng(k), label=f"Linear({fi}, {fo})")
        p.method(p.getattr(layer, "b"), "__iadd__", r.normal(size=fo))  # a non-zero bias, in the live array
        y = p.emit(p.method(layer, "forward", x, label=f"Linear({fi}, {fo}).forward(x)"))
        W, b = p.emit(p.getattr(layer, "W")), p.emit(p.getattr(layer, "b"))
        values = ctx.run(p, f"Linear({fi}, {fo}).forward(x)")
        got, W, b = values[y], values[W], values[b]
        if not isinstance(W, np.ndarray) or W.shape != (fi, fo):
            raise Fail(f"Linear({fi}, {fo}).W is {describe_type(W)}, expected shape ({fi}, {fo}): the provided "
                       "constructor was changed")
        want = x @ W + b
        label = f"Linear({fi}, {fo}).forward(x)"
        m = mismatch(got, want, 1e-6, 1e-8, "z")
        if m:
            raise Fail(failure_message(label, {"x": x, "W": W, "b": b}, m, got, want, FORWARD_MISTAKES))


def _linear_want(x, W, dout):
    return {"dx": dout @ W.T, "dW": x.T @ dout, "db": dout.sum(axis=0)}


BACKWARD_MISTAKES = {
    "dx": [
        Mistake("W instead of W.T", "dx[n, i] sums over the outputs j the products of dout[n, j] with the "
                "derivative of z[n, j] with respect to x[n, i]: read that derivative off z's formula and note which "
                "index of W the sum runs over; then find the product of dout (B, fan_out) and W (fan_in, fan_out) "
                "that does that sum (with a square W the wrong one still has the right shape).",
                lambda x, W, dout: dout @ W),
        Mistake("the 1/B applied again", "do not divide by B: the loss's 1/B is already in dout.",
                lambda x, W, dout: dout @ W.T / len(x)),
        Mistake("dout not multiplied in", "chain rule: the upstream gradient dout weighs every path from x to "
                "the loss; the local derivative of z alone is not dx.", lambda x, W, dout: np.ones_like(dout) @ W.T),
    ],
    "dW": [
        Mistake("dW divided by B", "the gradients SUM the instances' contributions (PyTorch): the loss's 1/B is "
                "already in dout, so do not divide again.", lambda x, W, dout: x.T @ dout / len(x)),
        Mistake("dW transposed", "dW has the shape of W, (fan_in, fan_out), and dW[i, j] belongs to W[i, j]: "
                "find which factor brings the index i (x or dout) and which brings j, and order the product so "
                "(with a square W a transposed dW still has the right shape).", lambda x, W, dout: (x.T @ dout).T),
        Mistake("dW from one instance", "every instance contributes to dW: sum over the batch.",
                lambda x, W, dout: np.outer(x[0], dout[0])),
        Mistake("dout not multiplied in", "chain rule: each instance's contribution to dW is the local derivative "
                "of z with respect to W times that instance's upstream gradient dout; you summed the local "
                "derivatives alone.", lambda x, W, dout: np.repeat(x.sum(axis=0)[:, None], dout.shape[1], axis=1)),
    ],
    "db": [
        Mistake("db as the mean", "db sums dout over the batch (the loss's 1/B is already in dout), it does not "
                "average it.", lambda x, W, dout: dout.mean(axis=0)),
        Mistake("db not summed over the batch", "db has the shape of b, (fan_out,), and every instance n of the "
                "minibatch contributes to db[j]: over which axis of dout does that sum run?",
                lambda x, W, dout: dout[0]),
    ],
}


def _compare_linear(ctx, label, x, W, dout, got, which, k=0):
    want = _linear_want(x, W, dout)[which]
    shape_of = {"dx": "x", "dW": "W", "db": "b"}[which]
    m = mismatch(got, want, 1e-6, 1e-8, which)
    if m:
        text = failure_message(f"{label}.backward(dout)" + (f" (call {k + 1})" if k else ""),
                               {"x": x, "W": W, "dout": dout}, m, got, want, BACKWARD_MISTAKES[which])
        if isinstance(got, np.ndarray) and got.shape != want.shape:
            text += f"\nHint: {which} must have the shape of {shape_of}, {want.shape}"
            if got.shape == want.shape[::-1]:
                text += f"; yours has the shape of {shape_of}.T (swap the factors, or transpose the other one)"
            text += "."
        raise Fail(text)


@check("linear_backward", 3, "Linear.backward", uses=("Linear.forward",))
def linear_backward(ctx):
    """Linear.backward returns dx and stores dW and db, against the reference on the layer's own W (B = 1, 2, large)."""
    r = ctx.rng()
    for k, (B, fi, fo) in enumerate(_shapes(ctx)):
        x, dout = r.normal(size=(B, fi)), r.normal(size=(B, fo)) / B
        got = run_layer(ctx, "Linear", x, [dout], seed=k, linear=True)
        for which, value in (("dW", got["dW"][0]), ("db", got["db"][0]), ("dx", got["dx"][0])):
            _compare_linear(ctx, got["label"], x, got["W"], dout, value, which)


@check("linear_numeric_gradient", 1.5, "Linear.backward", uses=("Linear.forward",))
def linear_numeric_gradient(ctx):
    """The gradients agree with central differences: dx of the student's own forward, dW and db of L = sum(G * z)."""
    r = ctx.rng()
    B, fi, fo = 3, 4, 2
    x, G = r.normal(size=(B, fi)), r.normal(size=(B, fo))
    p = ctx.program()
    layer = p.call("nn.Linear", fi, fo, rng=p.rng(3), label=f"Linear({fi}, {fo})")
    W = p.emit(p.getattr(layer, "W"))
    h = 1e-5
    idx = emit_shifted_forwards(p, layer, x, h, f"Linear({fi}, {fo}).forward(x)")
    p.method(layer, "forward", x, label=f"Linear({fi}, {fo}).forward(x)")
    dx = p.emit(p.method(layer, "backward", G, label=f"Linear({fi}, {fo}).backward(dout)"))
    dW, db = p.emit(p.getattr(layer, "dW")), p.emit(p.getattr(layer, "db"))
    try:
        v = ctx.run(p, "Linear: backward against central differences of forward")
    except StudentError as e:
        raise Fail(str(e)) from None
    outs = [[v[a], v[b]] for a, b in idx]
    if not all(isinstance(o, np.ndarray) and o.shape == (B, fo) for pair in outs for o in pair):
        raise Fail(f"Linear({fi}, {fo}).forward(x) must return an array of shape ({B}, {fo})")
    numeric_dx = np.array([(np.sum(G * a) - np.sum(G * b)) / (2 * h) for a, b in outs]).reshape(x.shape)
    Wv = v[W]
    numeric_dW = np.zeros_like(Wv)
    for i in np.ndindex(Wv.shape):  # L(W) = sum(G * (x @ W + b)) is linear in W: central differences are exact
        E = np.zeros_like(Wv)
        E[i] = h
        numeric_dW[i] = (np.sum(G * (x @ (Wv + E))) - np.sum(G * (x @ (Wv - E)))) / (2 * h)
    numeric_db = np.array([(np.sum(G * (x @ Wv + h * e)) - np.sum(G * (x @ Wv - h * e))) / (2 * h) for e in np.eye(fo)])
    for name, got, numeric in (("dx", v[dx], numeric_dx), ("dW", v[dW], numeric_dW), ("db", v[db], numeric_db)):
        m = mismatch(got, numeric, 1e-5, 1e-7, name)
        if m:
            text = (f"Linear({fi}, {fo}).backward(dout) for the loss L = sum(dout * forward(x)): {m.replace('expected', 'central differences give')}.")
            mistake = next((mk for mk in BACKWARD_MISTAKES[name]
                            if mismatch(got, mk.variant(x, Wv, G), 1e-7, 1e-10) is None), None)
            if mistake:
                text += f"\nLikely mistake: {mistake.name}. Hint: {mistake.hint}"
            raise Fail(text)


@check("linear_contract", 1.5, "Linear.backward", uses=("Linear.forward",))
def linear_contract(ctx):
    """A second backward replaces dW, db (no accumulation) and returns the right dx; params() are the live
    W, b; grads() aligned; default init U[-1/sqrt(fan_in), 1/sqrt(fan_in)]."""
    r = ctx.rng()
    B, fi, fo = 6, 5, 3
    x = r.normal(size=(B, fi))
    douts = [r.normal(size=(B, fo)), r.normal(size=(B, fo))]
    got = run_layer(ctx, "Linear", x, douts, seed=7, linear=True)
    label = got["label"]
    for k in range(2):
        want = _linear_want(x, got["W"], douts[k])
        for which in ("dW", "db", "dx"):
            m = mismatch(got[which][k], want[which], 1e-6, 1e-8, which)
            if m and k == 1 and which != "dx":
                first = _linear_want(x, got["W"], douts[0])[which]
                if mismatch(got[which][k], want[which] + first, 1e-7, 1e-10) is None:
                    raise Fail(f"{label}: after a second backward(dout), {which} is the sum of both calls' gradients. "
                               "Likely mistake: gradients accumulated. Hint: store new arrays on every call "
                               f"(self.{which} = ...), do not add to the previous ones (PyTorch accumulates "
                               "unless zeroed; this course's contract replaces).")
            if m:
                _compare_linear(ctx, label, x, got["W"], douts[k], got[which][k], which, k)
    grads = got["grads"]
    if not isinstance(grads, (list, tuple)) or len(grads) != 2:
        raise Fail(f"{label}.grads() is {describe_type(grads)}, expected the list [dW, db]")
    for name, g, w in (("grads()[0]", grads[0], got["dW"][1]), ("grads()[1]", grads[1], got["db"][1])):
        m = mismatch(g, w, 0, 0, name)
        if m:
            raise Fail(f"{label}: {m}: grads() must return [dW, db] of the last backward, aligned with params() = [W, b]")
    if not all(got["live"]):
        raise Fail(f"{label}.params() must return the live arrays [self.W, self.b] (not copies): an optimizer "
                   "updates them in place")
    # the provided default initialization, checked statistically (PyTorch's U[-a, a], a = 1/sqrt(fan_in))
    p = ctx.program()
    fan_in, fan_out = 400, 250
    Wd = p.emit(p.getattr(p.call("nn.Linear", fan_in, fan_out, rng=p.rng(11), label="Linear(400, 250)"), "W"))
    bd = p.emit(p.getattr(p.call("nn.Linear", fan_in, fan_out, rng=p.rng(12), label="Linear(400, 250)"), "b"))
    v = ctx.run(p, "Linear(400, 250): the default initialization")
    W, b = v[Wd], v[bd]
    a = 1 / np.sqrt(fan_in)
    if not isinstance(W, np.ndarray) or W.shape != (fan_in, fan_out):
        raise Fail(f"Linear(400, 250).W is {describe_type(W)}, expected shape (400, 250)")
    n = W.size
    var_tol = 6 * np.sqrt((a**4 / 5 - (a**2 / 3) ** 2) / n)
    if np.abs(W).max() > a or abs(W.mean()) > 6 * a / np.sqrt(3 * n) or abs(W.var() - a**2 / 3) > var_tol:
        raise Fail(f"Linear(400, 250): the default weights should be U[-1/sqrt(fan_in), 1/sqrt(fan_in)] "
                   f"(bound {a:.4g}, variance {a**2 / 3:.4g}); got max |W| {np.abs(W).max():.4g}, variance {W.var():.4g}")
    if not (isinstance(b, np.ndarray) and b.shape == (fan_out,) and not b.any()):
        raise Fail("Linear(400, 250).b should be zeros of shape (250,)")



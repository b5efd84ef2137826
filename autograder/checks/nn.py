"""Hidden checks of ``nntricks.nn``: the layers' forward and backward passes (16 points).

Each check builds the student's layer in the worker, runs ``forward`` then
``backward`` (batch sizes 1, 2 and large; random widths), reads the stored
gradients back, and compares with the same computation by the reference on the
student's own weights (rtol 1e-6), with central differences of the student's
own ``forward`` (the gradient with respect to the input), and with the
contract: gradients replaced, not accumulated, on a second ``backward``; a new
array returned; inputs left alone; ``params()`` the live arrays; PyTorch's
default initialization. The constructors are provided (not exercises): the
``init=`` argument, which the worker cannot receive (it takes no callables),
is tested in ``tests/test_ref_nn.py``.

Not checkable here: a RuntimeWarning printed by an unstable sigmoid whose
values are nevertheless right (``1 / (1 + np.exp(-x))``); the notebook's
visible test catches it (``np.errstate(over="raise")``).
"""

import numpy as np

from . import Fail, Mistake, StudentError, check, describe_type, failure_message, mismatch

ACTIVATIONS = ("Sigmoid", "Tanh", "ReLU", "LeakyReLU")


def _run_layer(ctx, cls, x, douts, kwargs=None, seed=0, linear=False):
    """``cls(**kwargs)`` in the worker: forward(x), then backward(dout) for each dout.

    Returns a dict: ``y``, ``dx`` (list), for Linear ``W``, ``b``, ``dW``/``db`` (lists),
    ``grads`` (after the last backward), ``live`` (params()[0] is W, params()[1] is b),
    ``x_after``, ``douts_after`` and ``same`` (each dx is its dout, by identity).
    """
    p = ctx.program()
    kwargs = dict(kwargs or {})
    if linear:
        kwargs["rng"] = p.rng(seed)
    sizes = (x.shape[1], douts[0].shape[1]) if linear else ()
    label = f"{cls}({', '.join([str(n) for n in sizes] + [f'{k}={v}' for k, v in kwargs.items() if k != 'rng'])})"
    layer = p.call(f"nn.{cls}", *sizes, label=label, **kwargs)
    if linear:  # a non-zero bias (the constructor's is zero), added in place to the live array
        p.method(p.getattr(layer, "b"), "__iadd__", np.random.default_rng(seed).normal(size=sizes[1]))
    xr = p.array(x)
    rec = {"y": p.emit(p.method(layer, "forward", xr, label=f"{label}.forward(x)"))}
    if linear:
        rec["W"], rec["b"] = p.emit(p.getattr(layer, "W")), p.emit(p.getattr(layer, "b"))
    rec["dx"], rec["dW"], rec["db"], rec["same"], rec["douts_after"] = [], [], [], [], []
    for dout in douts:
        dr = p.array(dout)
        dx = p.method(layer, "backward", dr, label=f"{label}.backward(dout)")
        rec["dx"].append(p.emit(dx))
        rec["same"].append(p.same(dx, dr))
        rec["douts_after"].append(p.emit(dr))
        if linear:
            rec["dW"].append(p.emit(p.getattr(layer, "dW")))
            rec["db"].append(p.emit(p.getattr(layer, "db")))
    if linear:
        params = p.method(layer, "params", label=f"{label}.params()")
        rec["grads"] = p.emit(p.method(layer, "grads", label=f"{label}.grads()"))
        rec["live"] = [p.same(p.item(params, 0), p.getattr(layer, "W")), p.same(p.item(params, 1), p.getattr(layer, "b"))]
    rec["x_after"] = p.emit(xr)
    try:
        values = ctx.run(p, f"{label}: forward and backward")
    except StudentError as e:
        text = str(e)
        if linear and ("matmul" in text or "shapes" in text or "broadcast" in text):
            text += ("\nLikely mistake: a shape mismatch in the linear layer (W instead of W.T, or x instead "
                     "of x.T). Hint: write each product's shapes down: x (B, fan_in), W (fan_in, fan_out), "
                     "dout (B, fan_out); every gradient has the shape of what it is the gradient of.")
        raise Fail(text) from None
    out = {}
    for k, v in rec.items():
        out[k] = [values[i] for i in v] if isinstance(v, list) else values[v]
    out["label"] = label
    if not (isinstance(out["x_after"], np.ndarray) and np.array_equal(out["x_after"], x)):
        raise Fail(f"{label}.forward(x) modified its input x in place: compute into a new array.")
    for d, after in zip(douts, out["douts_after"]):
        if not (isinstance(after, np.ndarray) and np.array_equal(after, d)):
            raise Fail(f"{label}.backward(dout) modified dout in place: compute dx into a new array.")
    if any(out["same"]):
        raise Fail(f"{label}.backward(dout) returned dout itself: return a new array (the caller may change it).")
    return out


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
        Mistake("W instead of W.T", "dx[n, i] = sum_j dout[n, j] W[i, j]: the sum runs over W's second index.",
                lambda x, W, dout: dout @ W),
        Mistake("the 1/B applied again", "do not divide by B: the loss's 1/B is already in dout.",
                lambda x, W, dout: dout @ W.T / len(x)),
        Mistake("dout not multiplied in", "chain rule: dx = (dz/dx)^T applied to dout, not the local derivative alone.",
                lambda x, W, dout: np.ones_like(dout) @ W.T),
    ],
    "dW": [
        Mistake("dW divided by B", "the gradients SUM the instances' contributions (PyTorch): the loss's 1/B is "
                "already in dout, so do not divide again.", lambda x, W, dout: x.T @ dout / len(x)),
        Mistake("dW transposed", "dW has the shape of W, (fan_in, fan_out): dW[i, j] = sum_n x[n, i] dout[n, j] "
                "(with a square W a transposed dW still has the right shape).", lambda x, W, dout: (x.T @ dout).T),
        Mistake("dW from one instance", "every instance contributes to dW: sum over the batch.",
                lambda x, W, dout: np.outer(x[0], dout[0])),
        Mistake("dout not multiplied in", "chain rule: dW[i, j] = sum_n x[n, i] dout[n, j].",
                lambda x, W, dout: np.repeat(x.sum(axis=0)[:, None], dout.shape[1], axis=1)),
    ],
    "db": [
        Mistake("db as the mean", "db sums dout over the batch (the loss's 1/B is already in dout), it does not "
                "average it.", lambda x, W, dout: dout.mean(axis=0)),
        Mistake("db not summed over the batch", "db has the shape of b (fan_out,): sum dout over the rows.",
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
        got = _run_layer(ctx, "Linear", x, [dout], seed=k, linear=True)
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
    h, idx = 1e-5, []
    for i in np.ndindex(x.shape):
        pair = []
        for sign in (1, -1):
            xs = x.copy()
            xs[i] += sign * h
            pair.append(p.emit(p.method(layer, "forward", xs, label=f"Linear({fi}, {fo}).forward(x)")))
        idx.append(pair)
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
    """A second backward replaces dW, db (no accumulation); params() are the live W, b; grads() aligned; default init U[-1/sqrt(fan_in), 1/sqrt(fan_in)]."""
    r = ctx.rng()
    B, fi, fo = 6, 5, 3
    x = r.normal(size=(B, fi))
    douts = [r.normal(size=(B, fo)), r.normal(size=(B, fo))]
    got = _run_layer(ctx, "Linear", x, douts, seed=7, linear=True)
    label = got["label"]
    for k in range(2):
        want = _linear_want(x, got["W"], douts[k])
        for which in ("dW", "db"):
            m = mismatch(got[which][k], want[which], 1e-6, 1e-8, which)
            if m and k == 1:
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


# ------------------------------------------------------------ nonlinearities


def _sig(x):
    return np.exp(-np.logaddexp(0.0, -x))


ACT_MISTAKES = {
    "Sigmoid": [
        Mistake("derivative from the input x instead of the output", "sigma'(x) written through the OUTPUT "
                "y = sigma(x) that forward saved; y * (1 - y) evaluated at x is wrong.",
                lambda x, dout, slope: dout * x * (1 - x)),
        Mistake("dout not multiplied in", "chain rule: dx = dout times the local derivative.",
                lambda x, dout, slope: _sig(x) * (1 - _sig(x))),
        Mistake("derivative y instead of y (1 - y)", "the derivative of the sigmoid is not the sigmoid.",
                lambda x, dout, slope: dout * _sig(x)),
    ],
    "Tanh": [
        Mistake("tanh derivative 1 - y", "tanh'(x) = 1 / cosh(x)^2: write it through y = tanh(x) (squared).",
                lambda x, dout, slope: dout * (1 - np.tanh(x))),
        Mistake("derivative from the input x instead of the output", "use the output y = tanh(x) saved by forward.",
                lambda x, dout, slope: dout * (1 - x**2)),
        Mistake("dout not multiplied in", "chain rule: dx = dout times the local derivative.",
                lambda x, dout, slope: 1 - np.tanh(x) ** 2),
    ],
    "ReLU": [
        Mistake("ReLU derivative 1 at 0", "at exactly x = 0 the derivative is 0 (PyTorch): use x > 0, not x >= 0.",
                lambda x, dout, slope: dout * (x >= 0)),
        Mistake("dout not multiplied in", "chain rule: dx = dout where x > 0, else 0.",
                lambda x, dout, slope: (x > 0).astype(float)),
        Mistake("derivative from the output passed through", "multiply dout by the 0/1 derivative, not by the "
                "ReLU's output.", lambda x, dout, slope: dout * np.maximum(x, 0)),
    ],
    "LeakyReLU": [
        Mistake("LeakyReLU derivative 1 at 0", "at exactly x = 0 the derivative is slope (PyTorch): x > 0 decides.",
                lambda x, dout, slope: np.where(x >= 0, dout, slope * dout)),
        Mistake("slope ignored (ReLU's derivative)", "for x <= 0 the derivative is slope, not 0.",
                lambda x, dout, slope: dout * (x > 0)),
        Mistake("default slope instead of the layer's", "use self.slope.",
                lambda x, dout, slope: np.where(x > 0, dout, 0.01 * dout)),
        Mistake("dout not multiplied in", "chain rule: dx = dout * (1 or slope).",
                lambda x, dout, slope: np.where(x > 0, 1.0, slope)),
    ],
}


def _inputs(r, B, D, zeros=True):
    x = r.normal(scale=3, size=(B, D))
    if zeros and x.size > 2:
        x.flat[:: max(2, x.size // 3)] = 0.0  # exact zeros: the kink of ReLU and LeakyReLU
    return x


def _act_check(ctx, cls, kwargs=()):
    r = ctx.rng()
    kwargs = dict(kwargs)
    slope = kwargs.get("slope", 0.01)
    ref_layer = getattr(ctx.ref.nn, cls)
    for B, D in ((1, 5), (2, 3), (int(r.integers(100, 300)), 7)):
        x, dout = _inputs(r, B, D), r.normal(size=(B, D))
        got = _run_layer(ctx, cls, x, [dout], kwargs)
        layer = ref_layer(**kwargs)
        want_y = layer.forward(x.copy())
        m = mismatch(got["y"], want_y, 1e-6, 1e-8, "y")
        if m:
            raise Fail(f"{got['label']}.forward(x): {m} (forward is provided: restore it).")
        want = layer.backward(dout.copy())
        m = mismatch(got["dx"][0], want, 1e-6, 1e-8, "dx")
        if m:
            raise Fail(failure_message(f"{got['label']}.backward(dout)", {"x": x, "dout": dout}, m, got["dx"][0],
                                       want, [Mistake(mk.name, mk.hint, lambda x, dout, f=mk.variant: f(x, dout, slope))
                                              for mk in ACT_MISTAKES[cls]]))


@check("sigmoid_forward", 1.5, "Sigmoid.forward")
def sigmoid_forward(ctx):
    """Sigmoid.forward against the reference, B = 1, 2, large; finite and exact at |x| = 1000 and 750."""
    r = ctx.rng()
    cases = [r.normal(scale=4, size=(1, 6)), r.normal(scale=4, size=(2, 3)), r.normal(scale=10, size=(200, 4)),
             np.array([[1000.0, -1000.0, 750.0, -750.0, 0.0, 36.0, -36.0, -710.0]])]
    p = ctx.program()
    outs = [p.emit(p.method(p.call("nn.Sigmoid", label="Sigmoid()"), "forward", x, label="Sigmoid().forward(x)"))
            for x in cases]
    try:
        v = ctx.run(p, "Sigmoid().forward(x)")
    except StudentError as e:
        raise Fail(str(e)) from None
    for x, i in zip(cases, outs):
        got, want = v[i], _sig(x)
        m = mismatch(got, want, 1e-6, 1e-300, "y")
        if m:
            text = f"Sigmoid().forward(x): {m}. Inputs: x {x.shape} in [{x.min():.3g}, {x.max():.3g}]."
            if isinstance(got, np.ndarray) and got.shape == x.shape and not np.isfinite(got).all():
                text += ("\nLikely mistake: not numerically stable. Hint: exp of a large positive number overflows "
                         "(exp(1000) = inf, and inf / inf is NaN); rewrite so that only exp of non-positive "
                         "numbers is taken (np.logaddexp or a case split on the sign of x).")
            raise Fail(text)


@check("sigmoid_backward", 1.5, "Sigmoid.backward", uses=("Sigmoid.forward",))
def sigmoid_backward(ctx):
    """Sigmoid.backward against the reference (B = 1, 2, large)."""
    _act_check(ctx, "Sigmoid")


@check("tanh_backward", 1, "Tanh.backward")
def tanh_backward(ctx):
    """Tanh.backward against the reference (B = 1, 2, large)."""
    _act_check(ctx, "Tanh")


@check("relu_backward", 1.5, "ReLU.backward")
def relu_backward(ctx):
    """ReLU.backward against the reference, with inputs exactly 0 (derivative 0 there)."""
    _act_check(ctx, "ReLU")


@check("leaky_relu_backward", 1.5, "LeakyReLU.backward")
def leaky_relu_backward(ctx):
    """LeakyReLU.backward against the reference for slope 0.01 and 0.2, with inputs exactly 0 (derivative slope)."""
    _act_check(ctx, "LeakyReLU")
    _act_check(ctx, "LeakyReLU", {"slope": 0.2})


@check("activations_numeric_gradient", 1, "ReLU.backward",
       also=("Sigmoid.backward", "Tanh.backward", "LeakyReLU.backward"), uses=("Sigmoid.forward",))
def activations_numeric_gradient(ctx):
    """Every nonlinearity's backward agrees with central differences of its own forward (away from the kinks)."""
    r = ctx.rng()
    B, D, h = 2, 3, 1e-6
    x = r.uniform(0.2, 2.5, size=(B, D)) * r.choice([-1.0, 1.0], size=(B, D))
    G = r.normal(size=(B, D))
    p = ctx.program()
    idx = {}
    for cls in ACTIVATIONS:
        layer = p.call(f"nn.{cls}", label=f"{cls}()")
        pairs = []
        for i in np.ndindex(x.shape):
            pair = []
            for sign in (1, -1):
                xs = x.copy()
                xs[i] += sign * h
                pair.append(p.emit(p.method(layer, "forward", xs, label=f"{cls}().forward(x)")))
            pairs.append(pair)
        p.method(layer, "forward", x, label=f"{cls}().forward(x)")
        idx[cls] = (pairs, p.emit(p.method(layer, "backward", G, label=f"{cls}().backward(dout)")))
    try:
        v = ctx.run(p, "the nonlinearities' backward against central differences")
    except StudentError as e:
        raise Fail(str(e)) from None
    for cls, (pairs, dx) in idx.items():
        try:
            numeric = np.array([(np.sum(G * v[a]) - np.sum(G * v[b])) / (2 * h) for a, b in pairs]).reshape(x.shape)
        except (TypeError, ValueError):
            raise Fail(f"{cls}().forward(x) must return an array of the shape of x") from None
        m = mismatch(v[dx], numeric, 1e-5, 1e-7, "dx")
        if m:
            raise Fail(f"{cls}().backward(dout) is not the derivative of its forward for L = sum(dout * forward(x)): "
                       f"{m.replace('expected', 'central differences give')} (x {x.shape}, |x| in [0.2, 2.5]).")

"""Running the student's layers in the worker, for the checks of ``nntricks.nn``
(``nn_linear``, ``nn_activations``): a forward then backward passes on one
layer, with the contract's checks on inputs and returned arrays, and numpy's
floating-point errors raised around chosen calls."""

import numpy as np

from . import Fail, StudentError
from ..protocol import Raised

ACTIVATIONS = ("Sigmoid", "Tanh", "ReLU", "LeakyReLU")

SHAPE_HINT = ("\nLikely mistake: a shape mismatch in the linear layer. Hint: write each product's shapes down: "
              "x (B, fan_in), W (fan_in, fan_out), dout (B, fan_out); every gradient has the shape of what it is "
              "the gradient of, and a product (a, b) @ (b, c) needs the inner sizes to agree.")


def run_layer(ctx, cls, x, douts, kwargs=None, seed=0, linear=False):
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
            text += SHAPE_HINT
        raise Fail(text) from None
    out = {}
    for k, v in rec.items():
        out[k] = [values[i] for i in v] if isinstance(v, list) else values[v]
    out["label"] = label
    if not (isinstance(out["x_after"], np.ndarray) and np.array_equal(out["x_after"], x)):
        raise Fail(f"{label}: after forward(x) and backward(dout), the input x has changed: forward or backward "
                   "modified it in place (the layer keeps a reference to x). Compute into new arrays.")
    for d, after in zip(douts, out["douts_after"]):
        if not (isinstance(after, np.ndarray) and np.array_equal(after, d)):
            raise Fail(f"{label}.backward(dout) modified dout in place: compute dx into a new array.")
    if any(out["same"]):
        raise Fail(f"{label}.backward(dout) returned dout itself: return a new array (the caller may change it).")
    return out


# ------------------------------------------------------ floating-point errors


class FloatingPointErrors:
    """``np.errstate(all="raise", under="ignore")`` around some calls in the worker.

    A RuntimeWarning ("overflow encountered in exp") does not change a result,
    so a check cannot see it in the values; under this state numpy raises
    ``FloatingPointError`` instead, which the check sees. Underflow stays
    ignored: a tiny result rounded to 0 (``exp(-1000)``) is right, and the
    stable reference underflows too. numpy is reached through an array of a
    Generator the worker made itself (``Generator.random`` and
    ``ndarray.__array_namespace__`` are C methods a submission cannot replace);
    a canary (a division by zero, an ndarray method) proves that the state is
    in force, so a submission that replaced ``numpy.errstate`` is caught.

    Every call made between :meth:`enter` and :meth:`exit` must be marked
    ``catch=True``, so that the program always reaches :meth:`exit` and the
    worker's later programs run under numpy's usual state.
    """

    def __init__(self, p):
        self.p = p
        ones = p.method(p.rng(0), "random", 1, label="a Generator's array")
        numpy = p.method(ones, "__array_namespace__", label="numpy")
        self.state = p.method(numpy, "errstate", all="raise", under="ignore", label="numpy.errstate")
        self.ones = ones

    def enter(self):
        self.p.method(self.state, "__enter__", label="numpy.errstate(all='raise')")
        self.canary = self.p.n_emits
        self.p.method(self.ones, "__truediv__", 0.0, catch=True, label="a division by zero")

    def exit(self):
        self.p.method(self.state, "__exit__", None, None, None, label="leaving numpy.errstate")

    def check_canary(self, values, label):
        got = values[self.canary]
        if not (isinstance(got, Raised) and got.is_a("FloatingPointError")):
            raise Fail(f"{label}: numpy's floating-point error state could not be set in your submission's "
                       "process (a division by zero raised no FloatingPointError under np.errstate(all='raise')): "
                       "does your code replace numpy.errstate or numpy's error handling? Leave numpy as it is.")


def emit_shifted_forwards(p, layer, x, h, label):
    """In program ``p``, ``layer.forward`` of ``x`` with each element moved by +h and by -h (central
    differences of the student's own forward); returns the emitted indices as ``[[plus, minus], ...]``
    in ``np.ndindex(x.shape)`` order."""
    pairs = []
    for i in np.ndindex(x.shape):
        pair = []
        for sign in (1, -1):
            xs = x.copy()
            xs[i] += sign * h
            pair.append(p.emit(p.method(layer, "forward", xs, label=label)))
        pairs.append(pair)
    return pairs


def fp_error(got):
    """The kind of floating-point error a caught call raised ("overflow", "invalid value", ...), or None."""
    if isinstance(got, Raised) and got.is_a("FloatingPointError"):
        msg = got.msg.lower()
        for kind in ("overflow", "invalid value", "divide by zero"):
            if kind in msg:
                return f"{kind} ({got.msg.strip()[:80]})"
        return got.msg.strip()[:80] or "a floating-point error"
    return None

"""Hidden checks of ``nntricks.nn``, part 2: the nonlinearities (``Sigmoid``'s
stable forward pass, every activation's backward pass, large inputs under
numpy's floating-point errors, a second backward after one forward)."""

import numpy as np

from . import Fail, Mistake, StudentError, check, failure_message, mismatch
from ..protocol import Raised
from .nn_run import ACTIVATIONS, FloatingPointErrors, emit_shifted_forwards, fp_error, run_layer

TOPIC = "nn"


def _sig(x):
    return np.exp(-np.logaddexp(0.0, -x))


ACT_MISTAKES = {
    "Sigmoid": [
        Mistake("derivative from the input x instead of the output", "write sigma'(x) through the OUTPUT "
                "y = sigma(x) that forward saved, and evaluate it at y: your expression is right in form but "
                "evaluated at x.", lambda x, dout, slope: dout * x * (1 - x)),
        Mistake("dout not multiplied in", "chain rule: dx = dout times the local derivative.",
                lambda x, dout, slope: _sig(x) * (1 - _sig(x))),
        Mistake("the sigmoid used as its own derivative", "differentiate 1 / (1 + exp(-x)) (the chain rule on "
                "u = 1 + exp(-x)) and rewrite the result with y = sigma(x) only: it is not y itself (check: at "
                "x = 0 the slope of the sigmoid is 1/4, not 1/2).", lambda x, dout, slope: dout * _sig(x)),
    ],
    "Tanh": [
        Mistake("tanh derivative 1 - y", "your derivative does not vanish where tanh saturates (x -> -inf, "
                "y -> -1) and is not even in x, as tanh' must be: differentiate sinh / cosh with the quotient "
                "rule and rewrite the result through y = tanh(x) only.",
                lambda x, dout, slope: dout * (1 - np.tanh(x))),
        Mistake("derivative from the input x instead of the output", "use the output y = tanh(x) saved by forward.",
                lambda x, dout, slope: dout * (1 - x**2)),
        Mistake("dout not multiplied in", "chain rule: dx = dout times the local derivative.",
                lambda x, dout, slope: 1 - np.tanh(x) ** 2),
    ],
    "ReLU": [
        Mistake("ReLU derivative 1 at 0", "at exactly x = 0 the contract (PyTorch's autograd) takes the derivative "
                "0: your comparison counts x = 0 as positive.", lambda x, dout, slope: dout * (x >= 0)),
        Mistake("dout not multiplied in", "chain rule: multiply the upstream gradient dout, elementwise, by the "
                "local derivative.", lambda x, dout, slope: (x > 0).astype(float)),
        Mistake("derivative from the output passed through", "multiply dout by the ReLU's local derivative, not "
                "by its output.", lambda x, dout, slope: dout * np.maximum(x, 0)),
    ],
    "LeakyReLU": [
        Mistake("LeakyReLU derivative 1 at 0", "the contract (PyTorch's autograd) puts x = 0 on the negative side: "
                "your comparison counts it as positive.",
                lambda x, dout, slope: np.where(x >= 0, dout, slope * dout)),
        Mistake("slope ignored (ReLU's derivative)", "on the negative side the layer computes slope * x: "
                "differentiate that, it is not 0.", lambda x, dout, slope: dout * (x > 0)),
        Mistake("default slope instead of the layer's", "use self.slope.",
                lambda x, dout, slope: np.where(x > 0, dout, 0.01 * dout)),
        Mistake("dout not multiplied in", "chain rule: multiply the upstream gradient dout, elementwise, by the "
                "local derivative.", lambda x, dout, slope: np.where(x > 0, 1.0, slope)),
    ],
}

STATE_CHANGED = Mistake(
    "backward modified what forward stored (in place)", "backward may run more than once after one forward "
    "(a gradient check, a second loss): compute dx into a new array and leave self.y / self.x as forward left "
    "them (self.y *= ... or y -= ... on the stored array changes it; it is also the array forward returned).")


def _mistakes(cls, slope):
    return [Mistake(mk.name, mk.hint, lambda x, dout, f=mk.variant: f(x, dout, slope)) for mk in ACT_MISTAKES[cls]]


def _inputs(r, B, D, zeros=True):
    x = r.normal(scale=3, size=(B, D))
    if zeros and x.size > 2:
        x.flat[:: max(2, x.size // 3)] = 0.0  # exact zeros: the kink of ReLU and LeakyReLU
    return x


def _reference(ctx, cls, kwargs, x, dout):
    layer = getattr(ctx.ref.nn, cls)(**kwargs)
    y = layer.forward(x.copy())
    return y, layer.backward(dout.copy())


def _act_check(ctx, cls, kwargs=()):
    r = ctx.rng()
    kwargs = dict(kwargs)
    slope = kwargs.get("slope", 0.01)
    for B, D in ((1, 5), (2, 3), (int(r.integers(100, 300)), 7)):
        x, dout = _inputs(r, B, D), r.normal(size=(B, D))
        got = run_layer(ctx, cls, x, [dout], kwargs)
        want_y, want = _reference(ctx, cls, kwargs, x, dout)
        m = mismatch(got["y"], want_y, 1e-6, 1e-8, "y")
        if m:
            raise Fail(f"{got['label']}.forward(x): {m} (forward is provided: restore it).")
        m = mismatch(got["dx"][0], want, 1e-6, 1e-8, "dx")
        if m:
            raise Fail(failure_message(f"{got['label']}.backward(dout)", {"x": x, "dout": dout}, m, got["dx"][0],
                                       want, _mistakes(cls, slope)))


def _under_fp_errors(ctx, cls, x, dout=None):
    """A fresh ``cls()``: forward(x), then backward(dout), both under numpy's floating-point errors.

    Returns ``(y, dx)``: each the value returned, or the :class:`Raised` exception (dx is None without dout).
    """
    p = ctx.program()
    fpe = FloatingPointErrors(p)
    layer = p.call(f"nn.{cls}", label=f"{cls}()")
    fpe.enter()
    raised = [p.n_emits]
    y = p.method(layer, "forward", x, catch=True, label=f"{cls}().forward(x)")
    if dout is not None:
        raised.append(p.n_emits)
        dx = p.method(layer, "backward", dout, catch=True, label=f"{cls}().backward(dout)")
    fpe.exit()
    results = [p.emit(y)] + ([p.emit(dx)] if dout is not None else [])
    try:
        v = ctx.run(p, f"{cls}(): forward and backward under np.errstate(all='raise')")
    except StudentError as e:
        raise Fail(str(e)) from None
    fpe.check_canary(v, f"{cls}()")
    out = [v[r] if v[r] is not None else v[i] for r, i in zip(raised, results)]
    return out[0], (out[1] if dout is not None else None)


def _raised(got, label, x, fp_hint):
    """Fail when a call raised: a floating-point error with ``fp_hint``, anything else as it is."""
    kind = fp_error(got)
    inputs = f"x {x.shape} in [{x.min():.3g}, {x.max():.3g}]"
    if kind:
        raise Fail(f"{label}: numpy reports {kind} for {inputs} (in the notebook a RuntimeWarning, written to "
                   f"stderr, although the values may come out right).\n{fp_hint}")
    if isinstance(got, Raised):
        where = f" [{got.where}]" if got.where else ""
        if got.is_a("NotImplementedError"):
            raise Fail(f"{label}: not implemented yet (NotImplementedError: {got.msg[:300]}){where}")
        raise Fail(f"{label} raised {got.type}: {got.msg[:300]}{where} ({inputs}).")


# ------------------------------------------------------------------- Sigmoid

LARGE = np.array([[1000.0, -1000.0, 750.0, -750.0, 0.0, 36.0, -36.0, -710.0, 710.0, -1e300, 1e300]])


@check("sigmoid_forward", 1, "Sigmoid.forward")
def sigmoid_forward(ctx):
    """Sigmoid.forward against the reference, B = 1, 2, large; finite and exact at |x| = 1000 and 750."""
    r = ctx.rng()
    cases = [r.normal(scale=4, size=(1, 6)), r.normal(scale=4, size=(2, 3)), r.normal(scale=10, size=(200, 4)),
             LARGE[:, :8]]
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


@check("sigmoid_no_overflow", 0.5, "Sigmoid.forward")
def sigmoid_no_overflow(ctx):
    """Sigmoid.forward at |x| up to 1e300 under np.errstate(all="raise", under="ignore"): no overflow, no invalid
    value, no division by zero (a naive 1 / (1 + exp(-x)) is right in value but overflows), and right values."""
    y, _ = _under_fp_errors(ctx, "Sigmoid", LARGE)
    _raised(y, "Sigmoid().forward(x)", LARGE,
            "Likely mistake: a naive sigmoid: exp of a large number overflows although the result is right. "
            "Hint: take exp only of non-positive numbers (np.logaddexp, or a case split on the sign of x in which "
            "each formula sees only its own elements: np.where(c, f(x), g(x)) computes both f and g everywhere).")
    m = mismatch(y, _sig(LARGE), 1e-6, 1e-300, "y")
    if m:
        raise Fail(f"Sigmoid().forward(x): {m}. Inputs: x {LARGE.shape} in [-1e300, 1e300].")


@check("sigmoid_backward", 1.5, "Sigmoid.backward", uses=("Sigmoid.forward",))
def sigmoid_backward(ctx):
    """Sigmoid.backward against the reference (B = 1, 2, large)."""
    _act_check(ctx, "Sigmoid")


# ---------------------------------------------------------------------- Tanh


@check("tanh_backward", 0.5, "Tanh.backward")
def tanh_backward(ctx):
    """Tanh.backward against the reference (B = 1, 2, large)."""
    _act_check(ctx, "Tanh")


@check("tanh_large_inputs", 0.5, "Tanh.backward")
def tanh_large_inputs(ctx):
    """Tanh forward and backward at |x| from 20 to 1000 under np.errstate(all="raise", under="ignore"): no
    overflow or NaN, and the derivative right (0 to double precision in the tails)."""
    x = np.array([[-1000.0, -710.0, -400.0, -100.0, -20.0, -0.5, 0.0, 0.5, 20.0, 100.0, 400.0, 710.0, 1000.0]])
    dout = ctx.rng().normal(size=x.shape)
    y, dx = _under_fp_errors(ctx, "Tanh", x, dout)
    _raised(y, "Tanh().forward(x)", x, "Tanh.forward is provided: restore it.")
    _raised(dx, "Tanh().backward(dout)", x,
            "Likely mistake: the derivative computed from x through exp or cosh, which overflow for large |x| "
            "(exp(710) = inf). Hint: write the derivative through the output y = tanh(x) that forward saved: "
            "y stays in [-1, 1] for every x.")
    _, want = _reference(ctx, "Tanh", {}, x, dout)
    m = mismatch(dx, want, 1e-6, 1e-8, "dx")
    if m:
        raise Fail(failure_message("Tanh().backward(dout)", {"x": x, "dout": dout}, m, dx, want,
                                   _mistakes("Tanh", 0.01)))


# ---------------------------------------------------------------- ReLU family


@check("relu_backward", 1, "ReLU.backward")
def relu_backward(ctx):
    """ReLU.backward against the reference, with inputs exactly 0 (derivative 0 there)."""
    _act_check(ctx, "ReLU")


@check("leaky_relu_backward", 1, "LeakyReLU.backward")
def leaky_relu_backward(ctx):
    """LeakyReLU.backward against the reference for slope 0.01 and 0.2, with inputs exactly 0 (derivative slope)."""
    _act_check(ctx, "LeakyReLU")
    _act_check(ctx, "LeakyReLU", {"slope": 0.2})


# ------------------------------------------------------------- every layer


@check("second_backward", 1, "Sigmoid.backward", also=("Tanh.backward", "ReLU.backward", "LeakyReLU.backward"),
       uses=("Sigmoid.forward",))
def second_backward(ctx):
    """Every nonlinearity: one forward, then two backward calls with different dout; the second gives the
    reference's dx too (backward leaves what forward stored unchanged)."""
    r = ctx.rng()
    B, D = 4, 3
    for cls in ACTIVATIONS:
        x, douts = _inputs(r, B, D), [r.normal(size=(B, D)) for _ in range(2)]
        got = run_layer(ctx, cls, x, douts)
        for k, dout in enumerate(douts):
            _, want = _reference(ctx, cls, {}, x, dout)
            m = mismatch(got["dx"][k], want, 1e-6, 1e-8, "dx")
            if m and k == 0:
                raise Fail(failure_message(f"{got['label']}.backward(dout)", {"x": x, "dout": dout}, m,
                                           got["dx"][0], want, _mistakes(cls, 0.01)))
            if m:
                raise Fail(f"{got['label']}: forward(x), then backward(dout) twice: the first dx is right, the "
                           f"second is not ({m}). Inputs: x {x.shape}, two dout {dout.shape}.\n"
                           f"Likely mistake: {STATE_CHANGED.name}. Hint: {STATE_CHANGED.hint}")


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
        pairs = emit_shifted_forwards(p, layer, x, h, f"{cls}().forward(x)")
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

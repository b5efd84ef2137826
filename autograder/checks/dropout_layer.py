"""Hidden checks of ``nntricks.dropout``, part 2: the ``Dropout`` layer (its
state across calls). Like the functions, the layer is random: it is checked
through what it returns (out is 0 or y / alpha elementwise, so the mask it
used can be read off out) and statistically, never by assuming how the random
stream is consumed."""

import math

import numpy as np

from . import Fail, check, describe_type

TOPIC = "dropout"
SHAPE = (100, 200)


def _layer_run(ctx, alpha, inverted, steps, seed=3):
    """Run ``steps`` ((kind, array), kind "forward", "forward_test" or
    "backward") on one Dropout layer; returns the results and the inputs after."""
    p = ctx.program()
    kw = {} if alpha is None else {"alpha": alpha}
    if inverted is not None:
        kw["inverted"] = inverted
    layer = p.call("dropout.Dropout", rng=p.rng(seed), label="Dropout(...)", **kw)
    at, inputs = [], []
    for kind, x in steps:
        xr = p.array(x)
        inputs.append(xr)
        if kind == "backward":
            at.append(p.emit(p.method(layer, "backward", xr, label="Dropout.backward(dout)")))
        else:
            at.append(p.emit(p.method(layer, "forward", xr, train=kind == "forward",
                                      label=f"Dropout.forward(y, train={kind == 'forward'})")))
    after = [p.emit(x) for x in inputs]
    values = ctx.run(p, "a Dropout layer sequence")
    for (kind, x), i in zip(steps, after):
        if not isinstance(values[i], np.ndarray) or not np.array_equal(values[i], x):
            raise Fail(f"Dropout.{kind.split('_')[0]} modified its input in place: inputs are never modified "
                       "(compute into a new array).")
    return [values[i] for i in at]


def _kept(label, out, y, alpha, inverted, default=False):
    """The mask read off a training output (y has no zeros); Fail if out is not
    y * mask (/ alpha). ``default``: the layer was built with the default alpha."""
    if not isinstance(out, np.ndarray) or out.shape != y.shape:
        raise Fail(f"{label} returned {describe_type(out)}, expected an array of shape {y.shape}")
    scale = 1 / alpha if inverted else 1.0
    kept = out != 0
    if np.allclose(out[kept], y[kept] * scale, rtol=1e-12, atol=0):
        return kept.astype(float)
    text = (f"{label}: the kept units are not y{' / alpha' if inverted else ''} (alpha = {alpha}): out must be "
            f"y * mask{' / alpha' if inverted else ''}.")
    ratio = out[kept] / y[kept]
    if kept.any() and np.allclose(ratio, ratio[0], rtol=1e-12, atol=0):
        c = float(ratio[0])
        text += f" The kept units are y * {c:.6g}."
        if inverted and abs(c - 1) < 1e-12:
            text += ("\nLikely mistake: not divided by alpha. Hint: inverted dropout divides by alpha in training: "
                     "out = y * mask / alpha.")
        elif not inverted and abs(c * alpha - 1) < 1e-12:
            text += ("\nLikely mistake: divided by alpha without inverted=True. Hint: with inverted=False, "
                     "training returns y * mask.")
        elif default:
            text += ("\nLikely mistake: the default alpha is not 0.5. Hint: the contract's layer is "
                     "Dropout(alpha=0.5, inverted=True, rng=None).")
    raise Fail(text)


def _rate(label, mask, alpha):
    tol = 6 * math.sqrt(alpha * (1 - alpha) / mask.size)
    if abs(mask.mean() - alpha) > tol:
        text = f"{label}: {100 * mask.mean():.2f}% of the units were kept, expected alpha = {100 * alpha:g}%."
        if abs(mask.mean() - (1 - alpha)) <= tol:
            text += "\nLikely mistake: alpha used as the DROP probability. Hint: alpha is the KEEP probability."
        raise Fail(text)


@check("layer_forward", 0.5, "dropout_forward")
def layer_forward(ctx):
    """Dropout(alpha).forward(y) in training mode returns y * mask / alpha with P(keep) = alpha; the defaults
    are alpha = 0.5 and inverted dropout; train=False returns y."""
    r = ctx.rng()
    y = r.normal(size=SHAPE) + 5.0  # no zeros: the mask can be read off the output
    for alpha, inverted in ((0.8, None), (None, None), (0.3, False)):
        a = 0.5 if alpha is None else alpha
        out, test = _layer_run(ctx, alpha, inverted, [("forward", y), ("forward_test", y)])
        label = f"Dropout({'' if alpha is None else alpha}{'' if inverted is None else ', inverted=False'}).forward(y)"
        _rate(label, _kept(label, out, y, a, inverted is not False, default=alpha is None), a)
        want = y if inverted is not False else a * y
        if not isinstance(test, np.ndarray) or not np.allclose(test, want, rtol=1e-12, atol=0):
            text = (f"{label[:-3]}(y, train=False) returned {describe_type(test)} that is not "
                    f"{'y' if inverted is not False else 'alpha * y'} (test mode).")
            if inverted is not False and isinstance(test, np.ndarray) and np.allclose(test, a * y, rtol=1e-12):
                text += ("\nLikely mistake: scaled in test mode with inverted dropout. Hint: inverted dropout "
                         "already divided by alpha in training: at test time out = y.")
            raise Fail(text)


@check("layer_fresh_masks", 0.5, "dropout_forward")
def layer_fresh_masks(ctx):
    """One Dropout layer draws a new mask at every training forward (masks of consecutive calls differ and are
    uncorrelated)."""
    r = ctx.rng(1)
    y = r.normal(size=SHAPE) + 5.0
    outs = _layer_run(ctx, 0.5, None, [("forward", y)] * 3)
    masks = [_kept(f"Dropout(0.5).forward(y) (call {k + 1})", o, y, 0.5, True) for k, o in enumerate(outs)]
    for k in (1, 2):
        if np.array_equal(masks[0], masks[k]) or np.array_equal(masks[k - 1], masks[k]):
            raise Fail("Dropout(0.5).forward(y) gave the same mask at two calls.\nLikely mistake: a Dropout layer "
                       "drawing the same mask on every call. Hint: draw each mask from the layer's generator "
                       "(self.rng, made once in __init__), never from a generator re-created with a fixed seed at "
                       "each call, and never reuse a stored mask in training.")
        corr = float(np.corrcoef(masks[k - 1].ravel(), masks[k].ravel())[0, 1])
        if abs(corr) > 6 / math.sqrt(masks[k].size):
            raise Fail(f"Dropout(0.5).forward(y): the masks of calls {k} and {k + 1} are correlated ({corr:.3f}): "
                       "each call must draw an independent mask.")


@check("layer_backward", 0.5, "dropout_backward", uses=("dropout_forward",))
def layer_backward(ctx):
    """backward(dout) after a training forward passes the gradient through that forward's mask:
    dout * mask / alpha (inverted) or dout * mask."""
    r = ctx.rng(2)
    y, dout = r.normal(size=(40, 50)) + 5.0, r.normal(size=(40, 50))
    for alpha, inverted in ((0.7, None), (0.4, False)):
        out1, out2, dy = _layer_run(ctx, alpha, inverted, [("forward", y), ("forward", y), ("backward", dout)])
        inv = inverted is not False
        label = f"Dropout({alpha}{'' if inv else ', inverted=False'})"
        mask = _kept(f"{label}.forward(y)", out2, y, alpha, inv)
        want = dout * mask / alpha if inv else dout * mask
        if not isinstance(dy, np.ndarray) or dy.shape != dout.shape or not np.allclose(dy, want, rtol=1e-12,
                                                                                      atol=1e-15):
            text = (f"{label}: forward(y) twice, then backward(dout): the gradient is not the derivative of the "
                    "LAST forward (with its mask).")
            first = _kept(f"{label}.forward(y)", out1, y, alpha, inv)
            if isinstance(dy, np.ndarray) and dy.shape == dout.shape:
                for desc, alt, hint in (
                        ("backward used the mask of an earlier forward", dout * first / (alpha if inv else 1.0),
                         "store the mask of every training forward (self.mask = mask) and use it in backward."),
                        ("not divided by alpha", dout * mask if inv else None,
                         "inverted dropout's forward pass scales the kept units: its derivative keeps that scale."),
                        ("divided by alpha without inverted=True", None if inv else dout * mask / alpha,
                         "with inverted=False the forward pass scales nothing in training, nor does its derivative.")):
                    if alt is not None and np.allclose(dy, alt, rtol=1e-12, atol=1e-15):
                        text += f"\nLikely mistake: {desc}. Hint: {hint}"
                        break
            raise Fail(text)


@check("layer_backward_after_test", 0.5, "dropout_backward", uses=("dropout_forward",))
def layer_backward_after_test(ctx):
    """backward(dout) after a test-mode forward is the test-mode derivative (dout, or alpha * dout without
    inversion), even when a training forward came before."""
    r = ctx.rng(3)
    y, dout = r.normal(size=(30, 40)) + 5.0, r.normal(size=(30, 40))
    for alpha, inverted in ((0.6, None), (0.3, False)):
        _, _, dy = _layer_run(ctx, alpha, inverted, [("forward", y), ("forward_test", y), ("backward", dout)])
        inv = inverted is not False
        want = dout if inv else alpha * dout
        if not isinstance(dy, np.ndarray) or dy.shape != dout.shape or not np.allclose(dy, want, rtol=1e-12,
                                                                                      atol=1e-15):
            raise Fail(f"Dropout({alpha}{'' if inv else ', inverted=False'}): forward(y), then forward(y, "
                       f"train=False), then backward(dout): the gradient is not the test-mode derivative "
                       f"({'dout' if inv else 'alpha * dout'}).\nLikely mistake: a backward after an inference-mode "
                       "forward silently used the last training mask. Hint: a test-mode forward sets the stored "
                       "mask to None (dropout_forward returns mask None at test time), and dropout_backward with "
                       "mask=None gives the test-mode derivative.")

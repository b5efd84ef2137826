"""Numeric gradients: central differences computed in the deciding process
(:func:`central_differences`, for an oracle written in numpy) or of the
student's own loss in the worker (:func:`gradient_consistency`)."""

from __future__ import annotations

import numpy as np

from .compare import (Fail, describe_inputs, describe_type, find_mistake, float_mistake, is_real_scalar, mismatch,
                      scalar_value)
from .context import Ctx, bind_arguments, call_label


def step_size(x: float, h: float = 1e-6) -> float:
    """The central-difference step for a coordinate of value ``x`` (relative for large values)."""
    return h * max(1.0, abs(x))


def central_differences(f, args: list, wrt: int, h: float = 1e-6) -> np.ndarray:
    """d f(*args) / d args[wrt] by central differences (``f`` returns a float)."""
    x = np.asarray(args[wrt], dtype=float)
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = step_size(x[idx], h)
        plus, minus = list(args), list(args)
        plus[wrt], minus[wrt] = x.copy(), x.copy()
        plus[wrt][idx] += step
        minus[wrt][idx] -= step
        out[idx] = (f(*plus) - f(*minus)) / (2 * step)
    return out


def gradient_consistency(ctx: Ctx, loss_fn: str, grad_fn: str, args: tuple, kwargs: dict | None = None,
                         wrt: int = 0, h: float = 1e-6, rtol: float = 1e-4, atol: float = 1e-7,
                         loss_mistakes=(), grad_mistakes=()):
    """The student's ``grad_fn`` must agree with central differences of the
    student's own ``loss_fn`` (with respect to argument ``wrt``). When it does
    not, the message names the root cause: the gradient's or the loss's own
    mistake, found by comparing each with the reference at ``args``."""
    kwargs = kwargs or {}
    x = np.asarray(args[wrt], dtype=float)
    named = bind_arguments(ctx.ref_fn(grad_fn), args, kwargs)
    p = ctx.program()
    p.emit(p.call(grad_fn, *args, **kwargs))
    p.emit(p.call(loss_fn, *args, **kwargs))
    steps = []
    for idx in np.ndindex(x.shape):
        step = step_size(x[idx], h)
        steps.append(step)
        for sign in (1, -1):
            xs = x.copy()
            xs[idx] += sign * step
            a = list(args)
            a[wrt] = xs
            p.emit(p.call(loss_fn, *a, **kwargs))
    values = ctx.run(p, f"{grad_fn.split('.')[-1]} against central differences of {loss_fn.split('.')[-1]}")
    grad, loss, losses = values[0], values[1], values[2:]
    label = call_label(grad_fn.split(".")[-1], args, kwargs, named)
    loss_name = loss_fn.split(".")[-1]
    if not isinstance(grad, np.ndarray) or grad.shape != x.shape:
        raise Fail(f"{label}: the result is {describe_type(grad)}, expected an array of shape {x.shape}")
    bad = next((v for v in [loss, *losses] if not is_real_scalar(v)), None)
    if bad is not None:
        text = f"{loss_name} returned {describe_type(bad)}, expected a float"
        mistake = float_mistake(bad)
        raise Fail(text + (f".\nLikely mistake: {mistake.name}. Hint: {mistake.hint}" if mistake else ""))
    if not np.all(np.isfinite(grad)) or not all(np.isfinite(scalar_value(v)) for v in [loss, *losses]):
        raise Fail(f"{label} or {loss_name} gave NaN or infinity on ordinary inputs ({describe_inputs(named)}): "
                   "a gradient check needs real numbers.")
    want_loss = ctx.reference(loss_fn, *args, **kwargs)
    if mismatch(loss, want_loss) is not None:  # consistent with a wrong loss (a constant, say) earns nothing
        mistake = find_mistake(loss_mistakes, bind_arguments(ctx.ref_fn(loss_fn), args, kwargs), loss, want_loss)
        raise Fail(f"{label} is checked against central differences of your {loss_name}, which itself differs "
                   f"from the contract's ({mismatch(loss, want_loss)})" + (
                       f". Likely mistake in {loss_name}: {mistake.name}. Hint: {mistake.hint}" if mistake else
                       f": fix {loss_name} first (see its checks)."))
    lv = np.array([scalar_value(v) for v in losses]).reshape(-1, 2)
    numeric = ((lv[:, 0] - lv[:, 1]) / (2 * np.array(steps))).reshape(x.shape)
    scale = max(1.0, float(np.max(np.abs(numeric))) if numeric.size else 1.0)
    m = mismatch(grad, numeric, rtol, atol * scale, "the gradient")
    if m:
        text = (f"{label} is not the derivative of your {loss_name}: {m.replace('expected', 'central differences give')}. "
                f"Inputs: {describe_inputs(named)}.")
        want = ctx.reference(grad_fn, *args, **kwargs)  # the loss is the contract's here (checked above)
        if mismatch(grad, want) is not None:
            mistake = find_mistake(grad_mistakes, named, grad, want)
            short = grad_fn.split(".")[-1]
            text += f"\nYour {short} itself differs from the contract's"
            text += f". Likely mistake in {short}: {mistake.name}. Hint: {mistake.hint}" if mistake else \
                f" (see the {short} checks)."
        raise Fail(text)

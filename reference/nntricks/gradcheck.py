"""Numerical gradients for checking backward passes (provided).

    numeric_grad(f, x)  ->  central differences (f(x + h e_i) - f(x - h e_i)) / 2h
    rel_error(a, b)     ->  max |a - b| / max(|a| + |b|), about 1e-7 or smaller for a correct float64 gradient
"""

import numpy as np


def numeric_grad(f, x, dout=None, h=1e-6):
    """Central-difference gradient of ``sum(f(x) * dout)`` w.r.t. ``x``.

    Args:
        f: function of ``x`` returning a float or an array.
        x: float64 array; perturbed entry by entry and restored (a copy is used).
        dout: upstream gradient of ``f(x)``'s shape (None for a scalar ``f``).
        h: step.

    Returns:
        grad: shape of ``x``.
    """
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = np.asarray(f(x.copy()), dtype=float)
        x[i] = old - h
        fm = np.asarray(f(x.copy()), dtype=float)
        x[i] = old
        diff = fp - fm if dout is None else np.sum((fp - fm) * dout)
        grad[i] = np.sum(diff) / (2 * h)
    return grad


def rel_error(a, b):
    """Relative error ``max |a - b| / max(|a| + |b|)`` (0 when both are 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.max(np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else 0.0

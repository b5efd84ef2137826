"""Weight penalties and noise injection. Notebook: 06_regularization_and_heuristics.

``weights`` is a list of weight arrays ``W_k`` (biases are usually left out).
The regularized loss is ``1/T sum_t div_t + penalty(weights)``.
"""

import numpy as np


def l2_penalty(weights, lam):
    """``1/2 * lam * sum_k ||W_k||_F^2``.

    Args:
        weights: list of arrays.
        lam: ``lambda >= 0``.

    Returns:
        penalty: float.
    """
    ### BEGIN SOLUTION
    penalty = 0.5 * lam * sum(float(np.sum(W * W)) for W in weights)
    ### END SOLUTION
    return float(penalty)


def l2_penalty_grad(weights, lam):
    """Gradient of :func:`l2_penalty`: ``[lam * W_k for each k]`` (new arrays, shapes of ``weights``)."""
    ### BEGIN SOLUTION
    grads = [lam * np.asarray(W, dtype=float) for W in weights]
    ### END SOLUTION
    return grads


def l1_penalty(weights, lam):
    """``lam * sum_k sum |W_k|``: pushes weights to exactly 0 (sparsity).

    Returns:
        penalty: float.
    """
    ### BEGIN SOLUTION
    penalty = lam * sum(float(np.sum(np.abs(W))) for W in weights)
    ### END SOLUTION
    return float(penalty)


def l1_penalty_grad(weights, lam):
    """(Sub)gradient of :func:`l1_penalty`: ``[lam * sign(W_k)]``, 0 where ``W = 0`` (PyTorch's ``sign``)."""
    ### BEGIN SOLUTION
    grads = [lam * np.sign(np.asarray(W, dtype=float)) for W in weights]
    ### END SOLUTION
    return grads


def weight_decay_step(W, grad, lr, lam):
    """One gradient step on ``div + 1/2 lam ||W||^2``, written as weight decay.

    ``W - lr * (grad + lam W) = (1 - lr lam) W - lr grad``: the weights shrink
    by a constant factor before the ordinary step.

    Args:
        W: weights, any shape.
        grad: gradient of the divergence alone w.r.t. ``W``, shape of ``W``.
        lr: learning rate ``eta``.
        lam: ``lambda``.

    Returns:
        W_new: a new array, shape of ``W`` (``W`` is not modified).
    """
    W, grad = np.asarray(W, dtype=float), np.asarray(grad, dtype=float)
    ### BEGIN SOLUTION
    W_new = (1 - lr * lam) * W - lr * grad
    ### END SOLUTION
    return W_new


def gaussian_noise(x, std, rng=None):
    """Noise injection: ``x`` plus independent ``N(0, std^2)`` noise on every entry.

    Args:
        x: inputs, any shape.
        std: the noise's standard deviation (``std = 0`` returns a copy of ``x``).
        rng: ``numpy.random.Generator`` (a fresh default one when None).

    Returns:
        x_noisy: a new array, shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    rng = np.random.default_rng() if rng is None else rng
    ### BEGIN SOLUTION
    x_noisy = x + rng.normal(0.0, std, size=x.shape)
    ### END SOLUTION
    return x_noisy

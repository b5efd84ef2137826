"""Divergences (losses) and their gradients. Notebook: 01_divergences.

Shapes: ``y`` (network output) and ``d`` (desired output) are ``(B, D)``
minibatches with instances in rows; 1-D ``y``, ``d`` are a batch of ``B``
scalars. Every loss is a mean over the batch, so every gradient carries a
``1/B``.
"""

import numpy as np

from .gradcheck import numeric_grad, rel_error


def _batch_size(y):
    return y.shape[0] if y.ndim > 0 else 1


def l2(y, d):
    """L2 divergence, ``1/2 ||y - d||^2`` per instance, mean over the batch.

    Args:
        y: outputs, shape (B, D) or (B,).
        d: desired outputs, same shape as ``y``.

    Returns:
        loss: float, ``1/B * sum_b 1/2 * sum_k (y_bk - d_bk)^2``.

    Trap: the 1/2 belongs to each instance, the 1/B to the batch mean; the sum
    runs over the outputs of an instance (not a mean over them).
    """
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    B = _batch_size(y)
    ### BEGIN SOLUTION
    loss = 0.5 * np.sum((y - d) ** 2) / B
    ### END SOLUTION
    return float(loss)


def l2_grad(y, d):
    """Gradient of :func:`l2` w.r.t. ``y``: ``(y - d) / B``.

    Args:
        y: outputs, shape (B, D) or (B,).
        d: desired outputs, same shape.

    Returns:
        dy: shape of ``y``.
    """
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    B = _batch_size(y)
    ### BEGIN SOLUTION
    dy = (y - d) / B
    ### END SOLUTION
    return dy


def bce(y, d, eps=1e-12):
    """Binary cross-entropy ``-d log y - (1-d) log(1-y)``, summed over outputs, mean over the batch.

    ``y`` is first clipped to ``[eps, 1 - eps]`` so that no log sees 0.
    PyTorch: ``BCELoss(reduction='sum')(y, d) / B`` wherever ``y`` lies in
    ``[eps, 1 - eps]`` (PyTorch clamps the log at -100 instead).

    Args:
        y: outputs, probabilities in [0, 1], shape (B, D) or (B,).
        d: targets in [0, 1] (soft targets allowed), same shape.
        eps: clipping margin.

    Returns:
        loss: float.

    Trap: clip ``y`` before taking logs; clipping the log afterwards is too late.
    """
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    B = _batch_size(y)
    ### BEGIN SOLUTION
    yc = np.clip(y, eps, 1 - eps)
    loss = -np.sum(d * np.log(yc) + (1 - d) * np.log1p(-yc)) / B
    ### END SOLUTION
    return float(loss)


def bce_grad(y, d, eps=1e-12):
    """Gradient of :func:`bce` w.r.t. ``y``: ``(y - d) / (y (1 - y)) / B`` at the clipped ``y``.

    Args:
        y: outputs, shape (B, D) or (B,).
        d: targets, same shape.
        eps: clipping margin, as in :func:`bce`.

    Returns:
        dy: shape of ``y``.
    """
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    B = _batch_size(y)
    ### BEGIN SOLUTION
    yc = np.clip(y, eps, 1 - eps)
    dy = (yc - d) / (yc * (1 - yc)) / B
    ### END SOLUTION
    return dy


def kl(y, d, eps=1e-12):
    """KL divergence ``sum_k d_k log d_k - d_k log y_k`` per instance, mean over the batch.

    ``0 log 0 = 0``; ``y`` is first clipped to ``[eps, 1]``. PyTorch:
    ``KLDivLoss(reduction='batchmean')(log y, d)``.

    Args:
        y: output probabilities, shape (B, D) or (B,).
        d: target probabilities (one-hot or soft), same shape.
        eps: lower clipping bound of ``y``.

    Returns:
        loss: float, 0 when ``y == d``.

    Trap: the ``d log d`` term does not depend on ``y`` (it vanishes for
    one-hot targets) but it is what makes the divergence 0 at ``y = d`` for
    soft targets; ``d log d`` must be 0, not NaN, where ``d = 0``.
    """
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    B = _batch_size(y)
    ### BEGIN SOLUTION
    yc = np.clip(y, eps, 1.0)
    d_log_d = np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0)
    loss = np.sum(d_log_d - d * np.log(yc)) / B
    ### END SOLUTION
    return float(loss)


def kl_grad(y, d, eps=1e-12):
    """Gradient of :func:`kl` w.r.t. ``y``: ``-d / y / B`` at the clipped ``y``.

    Args:
        y: output probabilities, shape (B, D) or (B,).
        d: target probabilities, same shape.
        eps: lower clipping bound of ``y``.

    Returns:
        dy: shape of ``y``.
    """
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    B = _batch_size(y)
    ### BEGIN SOLUTION
    dy = -d / np.clip(y, eps, 1.0) / B
    ### END SOLUTION
    return dy


def softmax(z):
    """Softmax along the last axis, stable for large ``|z|``.

    ``softmax(z)_k = exp(z_k - max z) / sum_j exp(z_j - max z)``.

    Args:
        z: scores, shape (B, K), or (K,) for one vector.

    Returns:
        y: probabilities, shape of ``z``; each row sums to 1.

    Trap: ``exp(1000)`` overflows; subtracting the row maximum changes nothing
    mathematically and keeps every exponent <= 0.
    """
    z = np.asarray(z, dtype=float)
    ### BEGIN SOLUTION
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    y = e / np.sum(e, axis=-1, keepdims=True)
    ### END SOLUTION
    return y


def log_softmax(z):
    """Log of the softmax along the last axis via log-sum-exp: ``z - max z - log sum exp(z - max z)``.

    Args:
        z: scores, shape (B, K), or (K,) for one vector.

    Returns:
        log_y: shape of ``z``; finite even where ``softmax(z)`` underflows to 0.
    """
    z = np.asarray(z, dtype=float)
    ### BEGIN SOLUTION
    shifted = z - np.max(z, axis=-1, keepdims=True)
    log_y = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    ### END SOLUTION
    return log_y


def softmax_cross_entropy(z, d):
    """Cross-entropy of ``softmax(z)`` against ``d``: mean over the batch of ``-sum_k d_k log softmax(z)_k``.

    PyTorch: ``F.cross_entropy(z, d)`` with probability targets.

    Args:
        z: scores (the final affine values), shape (B, K); a 1-D ``z`` is one instance (B = 1).
        d: target probabilities (rows sum to 1; one-hot included), shape of ``z``.

    Returns:
        loss: float.

    Trap: use :func:`log_softmax`, not ``log(softmax(z))``, which is ``log 0`` for large ``|z|``.
    """
    z, d = np.asarray(z, dtype=float), np.asarray(d, dtype=float)
    B = z.shape[0] if z.ndim == 2 else 1
    ### BEGIN SOLUTION
    loss = -np.sum(d * log_softmax(z)) / B
    ### END SOLUTION
    return float(loss)


def softmax_cross_entropy_grad(z, d):
    """Gradient of :func:`softmax_cross_entropy` w.r.t. the scores ``z``: ``dz[b, k] = dL/dz[b, k]``.

    Derive it first (notebooks/01_divergences.ipynb, Section 6): the loss is
    ``L = -(1/B) sum_b sum_i d[b, i] log softmax(z[b])_i`` and the rows of ``d`` sum to 1.
    The notebook's numerical gradient check tells you whether your derivation is right.

    Args:
        z: scores, shape (B, K) or (K,) (B = 1).
        d: target probabilities, shape of ``z``.

    Returns:
        dz: shape of ``z``. Trap: the loss is a mean over the batch, so ``B`` appears here; a
        1-D ``z`` is one instance (``B = 1``, already computed for you).
    """
    z, d = np.asarray(z, dtype=float), np.asarray(d, dtype=float)
    B = z.shape[0] if z.ndim == 2 else 1
    ### BEGIN SOLUTION
    dz = (softmax(z) - d) / B
    ### END SOLUTION
    return dz


def error_signal_gap(output, div, z, d):
    """How far the gradient of ``div(output(z), d)`` w.r.t. ``z`` is from the error ``(output(z) - d) / B``.

    Args:
        output: the output stage, a function of ``z`` giving ``y`` of the same shape
            (the identity, a softmax, a sigmoid, ...).
        div: a divergence ``div(y, d) -> float``, a mean over the batch (``l2``, ``kl``, ``bce``, ...).
        z: the last affine values, shape (B, K). d: the desired outputs, shape (B, K).

    Returns:
        A Python float: the relative error (``gradcheck.rel_error``) between the numerical gradient
        (``gradcheck.numeric_grad``) of ``L(z) = div(output(z), d)`` w.r.t. ``z`` and the error
        ``(output(z) - d) / B``: about 1e-8 or smaller when this pairing's error signal is the error.

    Trap: the gradient is taken w.r.t. ``z``, through the output stage, not w.r.t. ``y``.
    Never modify ``z`` or ``d``.
    """
    ### BEGIN SOLUTION
    B = z.shape[0]
    numerical = numeric_grad(lambda z_: div(output(z_), d), z)
    gap = rel_error(numerical, (output(z) - d) / B)
    ### END SOLUTION
    return gap


def one_hot(labels, num_classes):
    """One-hot rows for integer labels (provided).

    Args:
        labels: integers in ``[0, num_classes)``, shape (B,).
        num_classes: K.

    Returns:
        d: float64 array of shape (B, K) with a single 1 per row.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("one_hot: labels must be a 1-D array of integers")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes})")
    d = np.zeros((labels.shape[0], num_classes))
    d[np.arange(labels.shape[0]), labels] = 1.0
    return d

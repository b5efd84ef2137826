"""An independent implementation of the divergences (corpus: correct, written differently)."""

import numpy as np


def _rows(y):
    return 1 if np.ndim(y) == 0 else np.shape(y)[0]


def l2(y, d):
    diff = np.ravel(np.asarray(y, float) - np.asarray(d, float))
    return float(diff @ diff / (2 * _rows(y)))


def l2_grad(y, d):
    y = np.asarray(y, float)
    return np.subtract(y, d) * (1.0 / _rows(y))


def bce(y, d, eps=1e-12):
    p = np.minimum(np.maximum(np.asarray(y, float), eps), 1 - eps)
    d = np.asarray(d, float)
    terms = np.where(d > 0, d * np.log(p), 0.0) + np.where(d < 1, (1 - d) * np.log(1 - p), 0.0)
    return float(-terms.sum() / _rows(p))


def bce_grad(y, d, eps=1e-12):
    p = np.minimum(np.maximum(np.asarray(y, float), eps), 1 - eps)
    d = np.asarray(d, float)
    return (-d / p + (1 - d) / (1 - p)) / _rows(p)


def kl(y, d, eps=1e-12):
    p = np.clip(np.asarray(y, float), eps, None)
    p = np.minimum(p, 1.0)
    d = np.asarray(d, float)
    pos = d > 0
    total = np.sum(d[pos] * (np.log(d[pos]) - np.log(p[pos])))
    return float(total / _rows(p))


def kl_grad(y, d, eps=1e-12):
    p = np.minimum(np.maximum(np.asarray(y, float), eps), 1.0)
    return -np.asarray(d, float) / (p * _rows(p))


def _logsumexp(z):
    m = z.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def softmax(z):
    z = np.asarray(z, float)
    return np.exp(z - _logsumexp(z))


def log_softmax(z):
    z = np.asarray(z, float)
    return z - _logsumexp(z)


def softmax_cross_entropy(z, d):
    z = np.asarray(z, float)
    B = z.shape[0] if z.ndim == 2 else 1
    return float(-np.vdot(np.asarray(d, float), log_softmax(z)) / B)


def softmax_cross_entropy_grad(z, d):
    z = np.asarray(z, float)
    B = z.shape[0] if z.ndim == 2 else 1
    return (softmax(z) - d) / B


def error_signal_gap(output, div, z, d):
    z = np.array(z, dtype=float)
    h = 1e-5
    numeric = np.empty_like(z)
    for idx in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (div(output(up), d) - div(output(down), d)) / (2 * h)
    error = (output(z) - d) / len(z)
    scale = (np.abs(numeric) + np.abs(error)).max()
    return 0.0 if scale == 0 else float(np.abs(numeric - error).max() / scale)


def one_hot(labels, num_classes):
    labels = np.asarray(labels)
    return (labels[:, None] == np.arange(num_classes)[None, :]).astype(float)

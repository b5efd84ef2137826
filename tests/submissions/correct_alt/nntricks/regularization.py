"""An independent implementation of the penalties (corpus: correct, written differently)."""

import numpy as np


def l2_penalty(weights, lam):
    return float(lam / 2 * sum(np.linalg.norm(np.ravel(W)) ** 2 for W in weights))


def l2_penalty_grad(weights, lam):
    return [np.multiply(W, lam) for W in weights]


def l1_penalty(weights, lam):
    return float(lam * np.sum([np.abs(W).sum() for W in weights]))


def l1_penalty_grad(weights, lam):
    out = []
    for W in weights:
        W = np.asarray(W, float)
        g = np.zeros_like(W)
        g[W > 0] = lam
        g[W < 0] = -lam
        out.append(g)
    return out


def weight_decay_step(W, grad, lr, lam):
    return W - lr * (grad + lam * W)


def gaussian_noise(x, std, rng=None):
    gen = rng if rng is not None else np.random.default_rng()
    x = np.asarray(x, float)
    return x + std * gen.standard_normal(x.shape)

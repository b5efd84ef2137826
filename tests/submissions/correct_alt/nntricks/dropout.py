"""An independent implementation of dropout (corpus: correct, written differently):
the mask comes from rng.binomial, not rng.random."""

import numpy as np


def dropout_forward(y, alpha, train=True, rng=None, inverted=True):
    if not 0 < alpha <= 1:
        raise ValueError("alpha must lie in (0, 1]")
    y = np.asarray(y, float)
    if not train:
        return (y, None) if inverted else (y * alpha, None)
    gen = np.random.default_rng() if rng is None else rng
    mask = gen.binomial(1, alpha, size=y.shape).astype(np.float64)
    scale = 1.0 / alpha if inverted else 1.0
    return y * (mask * scale), mask


def dropout_backward(dout, mask, alpha, inverted=True):
    dout = np.asarray(dout, float)
    if mask is None:
        return np.array(dout) if inverted else dout * alpha
    return dout * mask / (alpha if inverted else 1.0)


def exact_average(f, N, alpha):
    if not 0 < alpha <= 1:
        raise ValueError("alpha must lie in (0, 1]")
    # row r is the binary expansion of r, most significant unit first (itertools.product's order)
    bits = (np.arange(2**N)[:, None] >> np.arange(N - 1, -1, -1)) & 1
    masks = bits.astype(np.float64)
    weights = np.prod(np.where(bits == 1, alpha, 1.0 - alpha), axis=1)
    outputs = np.asarray(f(masks), dtype=np.float64)
    return np.einsum("m,m...->...", weights, outputs)


class Dropout:
    def __init__(self, alpha=0.5, inverted=True, rng=None):
        self.alpha, self.inverted = alpha, inverted
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask = None

    def forward(self, y, train=True):
        out, self.mask = dropout_forward(y, self.alpha, train, self.rng, self.inverted)
        return out

    def backward(self, dout):
        return dropout_backward(dout, self.mask, self.alpha, self.inverted)

    def params(self):
        return []

    def grads(self):
        return []

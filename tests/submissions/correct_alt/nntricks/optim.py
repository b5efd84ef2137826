"""An independent implementation of the optimizers (corpus: correct, written differently).

The momentum buffer is kept as ``v = momentum * v - lr * g`` (the "classical"
form, equivalent to PyTorch's for a constant learning rate), state lives in
dicts keyed by the parameter's index, and Adam computes a per-step learning
rate. No attribute is public (no ``params``, ``lr``, ``v``, ``s``, ``m``, ``t``,
``weight_decay``): the contract names none.
"""

import math

import numpy as np


class SGD:
    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        if nesterov and not momentum > 0:
            raise ValueError("nesterov needs momentum")
        self._ws, self._lr, self._mu, self._nesterov, self._wd = list(params), lr, momentum, nesterov, weight_decay
        self._state = {}

    def step(self, grads):
        for i, (p, g) in enumerate(zip(self._ws, grads)):
            g = np.asarray(g, float)
            if self._wd:
                g = self._wd * p + g
            if not self._mu:
                p -= self._lr * g
                continue
            buf = self._state.setdefault(i, np.zeros_like(p))  # buf = -lr * v (PyTorch's v)
            np.multiply(buf, self._mu, out=buf)
            buf -= self._lr * g
            if self._nesterov:
                p += self._mu * buf - self._lr * g
            else:
                p += buf


class RMSProp:
    def __init__(self, params, lr=0.01, beta=0.99, eps=1e-8, weight_decay=0.0):
        self._ws, self._lr, self._beta, self._eps, self._wd = list(params), lr, beta, eps, weight_decay
        self._sq = [np.zeros(np.shape(p)) for p in self._ws]

    def step(self, grads):
        for p, g, s in zip(self._ws, grads, self._sq):
            g = g + self._wd * p if self._wd else np.asarray(g, float)
            s += (1 - self._beta) * (g * g - s)
            np.subtract(p, self._lr * g / (np.sqrt(s) + self._eps), out=p)


class Adam:
    _decoupled = False

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        self._ws = list(params)
        self._lr, self._b1, self._b2, self._eps, self._wd = lr, beta1, beta2, eps, weight_decay
        self._moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self._ws]
        self._steps = 0

    def step(self, grads):
        self._steps += 1
        t = self._steps
        c1, c2 = 1 - self._b1 ** t, 1 - self._b2 ** t
        for p, g, (m, v) in zip(self._ws, grads, self._moments):
            g = np.asarray(g, float)
            if self._wd and self._decoupled:
                p *= 1 - self._lr * self._wd
            elif self._wd:
                g = g + self._wd * p
            m[...] = self._b1 * m + (1 - self._b1) * g
            v[...] = self._b2 * v + (1 - self._b2) * np.square(g)
            p[...] = p - (self._lr / c1) * m / (np.sqrt(v / c2) + self._eps)


class AdamW(Adam):
    _decoupled = True

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)


def inverse_time_decay(lr0, t, k=1.0):
    return lr0 * (1.0 / (1.0 + k * t))


def step_decay(lr0, t, drop=0.5, every=10):
    drops = math.floor(t / every)
    return lr0 * math.pow(drop, drops)

"""An independent implementation of the optimizers (corpus: correct, written differently).

The momentum buffer is kept as ``v = momentum * v - lr * g`` (the "classical"
form, equivalent to PyTorch's for a constant learning rate), state lives in
dicts keyed by the parameter's index, and Adam computes a per-step learning
rate.
"""

import math

import numpy as np


class SGD:
    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        if nesterov and not momentum > 0:
            raise ValueError("nesterov needs momentum")
        self.params, self.lr, self.mu, self.nesterov, self.wd = list(params), lr, momentum, nesterov, weight_decay
        self.state = {}

    def step(self, grads):
        for i, (p, g) in enumerate(zip(self.params, grads)):
            g = np.asarray(g, float)
            if self.wd:
                g = self.wd * p + g
            if not self.mu:
                p -= self.lr * g
                continue
            buf = self.state.setdefault(i, np.zeros_like(p))  # buf = -lr * v (PyTorch's v)
            np.multiply(buf, self.mu, out=buf)
            buf -= self.lr * g
            if self.nesterov:
                p += self.mu * buf - self.lr * g
            else:
                p += buf


class RMSProp:
    def __init__(self, params, lr=0.01, beta=0.99, eps=1e-8, weight_decay=0.0):
        self.params, self.lr, self.beta, self.eps, self.wd = list(params), lr, beta, eps, weight_decay
        self.sq = [np.zeros(np.shape(p)) for p in self.params]

    def step(self, grads):
        for p, g, s in zip(self.params, grads, self.sq):
            g = g + self.wd * p if self.wd else np.asarray(g, float)
            s += (1 - self.beta) * (g * g - s)
            np.subtract(p, self.lr * g / (np.sqrt(s) + self.eps), out=p)


class Adam:
    decoupled = False

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, beta1, beta2, eps, weight_decay
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params]
        self.steps = 0

    def step(self, grads):
        self.steps += 1
        t = self.steps
        c1, c2 = 1 - self.b1 ** t, 1 - self.b2 ** t
        for p, g, (m, v) in zip(self.params, grads, self.moments):
            g = np.asarray(g, float)
            if self.wd and self.decoupled:
                p *= 1 - self.lr * self.wd
            elif self.wd:
                g = g + self.wd * p
            m[...] = self.b1 * m + (1 - self.b1) * g
            v[...] = self.b2 * v + (1 - self.b2) * np.square(g)
            p[...] = p - (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)


def inverse_time_decay(lr0, t, k=1.0):
    return lr0 * (1.0 / (1.0 + k * t))


def step_decay(lr0, t, drop=0.5, every=10):
    drops = math.floor(t / every)
    return lr0 * math.pow(drop, drops)

"""An independent implementation of the layers (corpus: correct, written differently):
einsum and explicit loops over the batch for Linear, a sign split for the sigmoid,
cosh for tanh, Heaviside steps for the ReLUs."""

import numpy as np


class Module:
    def forward(self, x, train=True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def params(self):
        return []

    def grads(self):
        return []


class Linear(Module):
    def __init__(self, fan_in, fan_out, init=None, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        if init is None:
            bound = fan_in ** -0.5
            self.W = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        else:
            self.W = np.array(init(fan_in, fan_out, rng=rng), dtype=float)
        self.b = np.zeros(fan_out)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self._input = None

    def forward(self, x, train=True):
        self._input = np.array(x, dtype=float)  # a private copy
        return np.einsum("ni,ij->nj", self._input, self.W) + self.b[None, :]

    def backward(self, dout):
        dW = np.zeros_like(self.W)
        for n in range(dout.shape[0]):  # one outer product per instance
            dW += np.outer(self._input[n], dout[n])
        self.dW = dW
        self.db = np.einsum("nj->j", dout)
        return np.einsum("nj,ij->ni", dout, self.W)

    def params(self):
        return [self.W, self.b]

    def grads(self):
        return [self.dW, self.db]


class Sigmoid(Module):
    def forward(self, x, train=True):
        x = np.asarray(x, dtype=float)
        e = np.exp(-np.abs(x))  # never overflows
        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.out

    def backward(self, dout):
        s = self.out
        return dout * (s - s * s)


class Tanh(Module):
    def forward(self, x, train=True):
        self.x = np.asarray(x, dtype=float)
        return np.tanh(self.x)

    def backward(self, dout):
        with np.errstate(over="ignore"):
            return dout / np.cosh(self.x) ** 2


class ReLU(Module):
    def forward(self, x, train=True):
        self.x = x
        return np.maximum(x, 0.0)

    def backward(self, dout):
        return dout * np.heaviside(self.x, 0.0)


class LeakyReLU(Module):
    def __init__(self, slope=0.01):
        self.slope = slope

    def forward(self, x, train=True):
        self.x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, dout):
        step = np.heaviside(self.x, 0.0)
        return dout * (step + self.slope * (1 - step))


class Sequential(Module):
    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x, train=True):
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def params(self):
        return [p for layer in self.layers for p in layer.params()]

    def grads(self):
        return [g for layer in self.layers for g in layer.grads()]

    def weights(self):
        return [layer.W for layer in self.layers if isinstance(layer, Linear)]


def mlp(sizes, activation=ReLU, init=None, batchnorm=False, dropout=None, rng=None):
    from .batchnorm import BatchNorm1d
    from .dropout import Dropout

    rng = np.random.default_rng() if rng is None else rng
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(fan_in, fan_out, init=init, rng=rng))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(BatchNorm1d(fan_out))
            layers.append(activation())
            if dropout is not None:
                layers.append(Dropout(dropout, rng=rng))
    return Sequential(*layers)

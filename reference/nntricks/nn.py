"""Layers for building MLPs (provided).

Every layer follows one protocol:

    out = layer.forward(x, train=True)   # x: (B, D_in) -> out: (B, D_out)
    dx = layer.backward(dout)            # after forward; stores the parameters' gradients
    layer.params(), layer.grads()        # aligned lists of arrays (empty for parameter-free layers)

``params()`` returns the live arrays, so an optimizer built on them updates
the layer in place. ``BatchNorm1d`` and ``Dropout`` from their own modules
follow the same protocol.
"""

import numpy as np


class Module:
    """The layer protocol."""

    def forward(self, x, train=True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def params(self):
        return []

    def grads(self):
        return []


class Linear(Module):
    """Affine layer ``z = x @ W + b``, ``W`` of shape (fan_in, fan_out).

    Args:
        fan_in, fan_out: sizes.
        init: ``init(fan_in, fan_out, rng=rng)`` from :mod:`nntricks.init`; by
            default ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]``, PyTorch's default.
        rng: ``numpy.random.Generator``.
    """

    def __init__(self, fan_in, fan_out, init=None, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        if init is None:
            a = 1 / np.sqrt(fan_in)
            self.W = rng.uniform(-a, a, size=(fan_in, fan_out))
        else:
            self.W = np.array(init(fan_in, fan_out, rng=rng), dtype=float)
        self.b = np.zeros(fan_out)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.x = None

    def forward(self, x, train=True):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T

    def params(self):
        return [self.W, self.b]

    def grads(self):
        return [self.dW, self.db]


class Sigmoid(Module):
    """``1 / (1 + exp(-z))``: in (0, 1), always positive, saturates at both ends."""

    def forward(self, x, train=True):
        self.y = np.exp(-np.logaddexp(0.0, -x))  # stable for large |x|
        return self.y

    def backward(self, dout):
        return dout * self.y * (1 - self.y)


class Tanh(Module):
    """``tanh(z)``: in (-1, 1), centred, saturates at both ends."""

    def forward(self, x, train=True):
        self.y = np.tanh(x)
        return self.y

    def backward(self, dout):
        return dout * (1 - self.y**2)


class ReLU(Module):
    """``max(0, z)``: no saturation for z > 0, zero gradient for z <= 0 (dead units)."""

    def forward(self, x, train=True):
        self.x = x
        return np.maximum(x, 0.0)

    def backward(self, dout):
        return dout * (self.x > 0)


class LeakyReLU(Module):
    """``z`` for z > 0, ``slope * z`` otherwise: no dead units (subgradient ``slope`` at 0, as PyTorch)."""

    def __init__(self, slope=0.01):
        self.slope = slope

    def forward(self, x, train=True):
        self.x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, dout):
        return np.where(self.x > 0, dout, self.slope * dout)


class Sequential(Module):
    """Layers applied in order; ``params``/``grads`` concatenate the layers' lists."""

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
        """The weight matrices of the Linear layers (what an L2 penalty usually covers)."""
        return [layer.W for layer in self.layers if isinstance(layer, Linear)]


def mlp(sizes, activation=ReLU, init=None, batchnorm=False, dropout=None, rng=None):
    """A multi-layer perceptron ``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` per hidden layer.

    Args:
        sizes: layer widths, e.g. ``[64, 128, 128, 10]`` (input, hidden..., output).
        activation: a layer class (``ReLU``, ``Tanh``, ...), instantiated per layer.
        init: weight initializer for every Linear layer (see :class:`Linear`).
        batchnorm: insert :class:`nntricks.batchnorm.BatchNorm1d` after each hidden affine layer.
        dropout: keep probability ``alpha`` for a :class:`nntricks.dropout.Dropout` after each hidden activation.
        rng: ``numpy.random.Generator`` for weights and masks.

    Returns:
        A :class:`Sequential` whose last layer is Linear (scores ``z`` for a softmax loss).
    """
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

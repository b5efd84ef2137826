"""An independent implementation of the layers (corpus: correct, written differently):
einsum and explicit loops over the batch for Linear, a sign split for the sigmoid,
cosh for tanh, Heaviside steps for the ReLUs."""

import functools

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
        return functools.reduce(lambda a, layer: layer.forward(a, train=train), self.layers, x)

    def backward(self, dout):
        grad = dout
        for i in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[i].backward(grad)
        return grad

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


# ----------------------------------------------------------------- test doubles (provided)
# The tests of Exercises 1.8 and 1.9 and the hidden checks build networks of probes: they record
# every call made to them, so that a test sees in which order, and with which ``train``, your code
# calls them. Do not change them.


class Probe(Module):
    """A layer that records its calls: ``scale * x[:, idx] + shift``, the shift in training mode only.

    Args:
        fan_in, fan_out: widths; output column ``j`` is input column ``j % fan_in``, times ``scale``.
        scale: the initial value of the layer's one parameter, ``self.scale``, an array of shape (1,).
        shift: added to the output when ``train`` is true.
        name: its name in the log. log: the list that records the calls (share one list
            between probes to see the order of all calls); a new list by default.

    ``forward`` logs ``("forward", name, train)``, ``backward`` logs ``("backward", name)``
    (before doing anything else, so the log also shows calls that then fail), checks the
    shape it is given, stores ``dscale`` and returns the gradient w.r.t. its input.
    """

    def __init__(self, fan_in, fan_out, scale=1.0, shift=0.0, name="probe", log=None):
        self.idx = np.arange(fan_out) % fan_in
        self.fan_in, self.fan_out = fan_in, fan_out
        self.scale, self.dscale = np.array([scale], dtype=float), np.zeros(1)
        self.shift, self.name = float(shift), name
        self.log = [] if log is None else log
        self.x = None

    def forward(self, x, train=True):
        self.log.append(("forward", self.name, train))
        x = np.array(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.fan_in:
            raise ValueError(f"Probe {self.name!r}: forward got x of shape {x.shape}, it takes (B, {self.fan_in})")
        self.x = x
        return self.scale[0] * x[:, self.idx] + (self.shift if train else 0.0)

    def backward(self, dout):
        self.log.append(("backward", self.name))
        if self.x is None:
            raise RuntimeError(f"Probe {self.name!r}: backward before any forward")
        dout = np.asarray(dout, dtype=float)
        if dout.shape != (len(self.x), self.fan_out):
            raise ValueError(f"Probe {self.name!r}: backward got dout of shape {dout.shape}, "
                             f"its output has the shape {(len(self.x), self.fan_out)}")
        self.dscale = np.array([np.sum(dout * self.x[:, self.idx])])
        dx = np.zeros_like(self.x)
        np.add.at(dx, (slice(None), self.idx), self.scale[0] * dout)
        return dx

    def params(self):
        return [self.scale]

    def grads(self):
        return [self.dscale]


class ProbeLoss:
    """A loss pair that records its calls: ``(loss.value, loss.grad)``, a quartic divergence.

    ``value(z, d)`` logs ``("loss",)`` and returns ``sum((z - d)**4) / (4 B)``, a float;
    ``grad(z, d)`` logs ``("loss_grad",)`` and returns its gradient w.r.t. ``z``, ``(z - d)**3 / B``.
    """

    def __init__(self, log=None):
        self.log = [] if log is None else log

    def value(self, z, d):
        self.log.append(("loss",))
        return float(np.sum((np.asarray(z, dtype=float) - d) ** 4)) / (4 * len(z))

    def grad(self, z, d):
        self.log.append(("loss_grad",))
        return (np.asarray(z, dtype=float) - d) ** 3 / len(z)


class ProbeOptimizer:
    """Gradient descent that records its calls: ``step(grads)`` logs ``("step",)``, keeps a copy
    of the gradients it was given (``self.seen``) and updates every parameter in place, ``p -= lr * g``."""

    def __init__(self, params, lr=0.1, log=None):
        self.params, self.lr = list(params), lr
        self.log = [] if log is None else log
        self.seen = []

    def step(self, grads):
        self.log.append(("step",))
        grads = [np.array(g, dtype=float) for g in grads]
        self.seen.append(grads)
        for p, g in zip(self.params, grads):
            p -= self.lr * g

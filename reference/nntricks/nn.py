"""Layers for building MLPs (exercises 1.6 to 1.8 of notebooks/01_divergences.ipynb).

Every layer follows one protocol:

    out = layer.forward(x, train=True)   # x: (B, D_in) -> out: (B, D_out)
    dx = layer.backward(dout)            # after forward; stores the parameters' gradients
    layer.params(), layer.grads()        # aligned lists of arrays (empty for parameter-free layers)

``params()`` returns the live arrays, so an optimizer built on them updates
the layer in place. ``BatchNorm1d`` and ``Dropout`` from their own modules
follow the same protocol. ``Sequential.forward`` and ``Sequential.backward``
are exercise 1.8; ``mlp`` and the test doubles (``Probe``, ``ProbeLoss``,
``ProbeOptimizer``) are provided.
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
    """Affine layer ``z = x @ W + b`` (PyTorch ``nn.Linear``, with ``W`` stored as (fan_in, fan_out)).

    Exercise 1.6 (notebooks/01_divergences.ipynb): ``forward`` and ``backward``.

    Args:
        fan_in, fan_out: sizes.
        init: ``init(fan_in, fan_out, rng=rng)`` from :mod:`nntricks.init`; by
            default ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]``, PyTorch's default.
        rng: ``numpy.random.Generator``.

    Attributes:
        W: weights, shape (fan_in, fan_out). b: biases, shape (fan_out,), zeros.
        dW, db: the gradients of the loss w.r.t. ``W`` and ``b`` from the last ``backward``.
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
        """The affine values of a minibatch.

        Args:
            x: inputs, shape (B, fan_in), one instance per row.
            train: unused (the layer behaves the same in both modes).

        Returns:
            z: shape (B, fan_out), ``z[n, j] = sum_i x[n, i] W[i, j] + b[j]``.

        Contract: keep what ``backward`` needs (``self.x``), never modify ``x``.
        """
        ### BEGIN SOLUTION
        self.x = x
        z = x @ self.W + self.b
        ### END SOLUTION
        return z

    def backward(self, dout):
        """Backpropagate through the layer (after ``forward``).

        Args:
            dout: ``dL/dz``, shape (B, fan_out), the gradient of the loss w.r.t. this layer's output.

        Returns:
            dx: ``dL/dx``, shape (B, fan_in) (the shape of the input of ``forward``).

        Also stores ``self.dW = dL/dW`` (shape of ``W``) and ``self.db = dL/db`` (shape of ``b``).
        Derive them from ``z[n, j] = sum_i x[n, i] W[i, j] + b[j]`` with the chain rule: every
        instance ``n`` of the minibatch contributes to ``dL/dW[i, j]`` and ``dL/db[j]``.

        Contract (PyTorch's): the gradients are those of the loss as it is, so they add up the
        instances' contributions; do NOT divide by ``B``: the loss's ``1/B`` is already in ``dout``.
        Store new arrays on every call (a second ``backward`` replaces, never accumulates);
        return a new array; never modify ``dout``. Check each result's shape against the
        array it is the gradient of.
        """
        ### BEGIN SOLUTION
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        dx = dout @ self.W.T
        ### END SOLUTION
        return dx

    def params(self):
        return [self.W, self.b]

    def grads(self):
        return [self.dW, self.db]


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``: in (0, 1), always positive, saturates at both ends.

    Exercise 1.7 (notebooks/01_divergences.ipynb): ``forward`` (stable) and ``backward``.
    """

    def forward(self, x, train=True):
        """The logistic function, elementwise.

        Args:
            x: any shape. Returns: ``y``, the shape of ``x``, values in [0, 1].

        Trap: stable for large ``|x|``: ``np.exp(-x)`` overflows for ``x = -1000`` (a
        RuntimeWarning and an ``inf``); no overflow, no warning, no NaN for any float ``x``.
        Keep the output ``self.y`` for ``backward``.
        """
        ### BEGIN SOLUTION
        self.y = np.exp(-np.logaddexp(0.0, -x))
        ### END SOLUTION
        return self.y

    def backward(self, dout):
        """``dL/dx`` from ``dout = dL/dy`` (shape of ``x``), after ``forward``.

        Hint: express the sigmoid's derivative through its output ``y`` (saved by ``forward``):
        no second ``exp``. Trap: ``dout`` must be multiplied in (chain rule): returning the
        local derivative alone is wrong.
        """
        ### BEGIN SOLUTION
        dx = dout * self.y * (1 - self.y)
        ### END SOLUTION
        return dx


class Tanh(Module):
    """``tanh(x)``: in (-1, 1), centred, saturates at both ends.

    Exercise 1.7 (notebooks/01_divergences.ipynb): ``backward``.
    """

    def forward(self, x, train=True):
        self.y = np.tanh(x)
        return self.y

    def backward(self, dout):
        """``dL/dx`` from ``dout = dL/dy`` (shape of ``x``), after ``forward``.

        Hint: ``tanh' = 1 / cosh^2``; write it through the saved output ``y``.
        """
        ### BEGIN SOLUTION
        dx = dout * (1 - self.y**2)
        ### END SOLUTION
        return dx


class ReLU(Module):
    """``max(0, x)``: no saturation for x > 0, zero gradient for x <= 0 (dead units).

    Exercise 1.7 (notebooks/01_divergences.ipynb): ``backward``.
    """

    def forward(self, x, train=True):
        self.x = x
        return np.maximum(x, 0.0)

    def backward(self, dout):
        """``dL/dx`` from ``dout = dL/dy`` (shape of ``x``), after ``forward``.

        Trap: at exactly ``x = 0`` ReLU has no derivative; use 0 there, as PyTorch's autograd does.
        """
        ### BEGIN SOLUTION
        dx = dout * (self.x > 0)
        ### END SOLUTION
        return dx


class LeakyReLU(Module):
    """``x`` for x > 0, ``slope * x`` otherwise: no dead units.

    Exercise 1.7 (notebooks/01_divergences.ipynb): ``backward``.
    """

    def __init__(self, slope=0.01):
        self.slope = slope

    def forward(self, x, train=True):
        self.x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, dout):
        """``dL/dx`` from ``dout = dL/dy`` (shape of ``x``), after ``forward``.

        Trap: at exactly ``x = 0`` use the derivative ``slope``, as PyTorch's autograd does.
        """
        ### BEGIN SOLUTION
        dx = np.where(self.x > 0, dout, self.slope * dout)
        ### END SOLUTION
        return dx


class Sequential(Module):
    """Layers applied in order; ``params``/``grads`` concatenate the layers' lists.

    Exercise 1.8 (notebooks/01_divergences.ipynb): ``forward`` and ``backward``.
    """

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x, train=True):
        """The network's output on a minibatch.

        Args:
            x: inputs, shape (B, D_in) (the first layer's input).
            train: training mode (True) or inference mode (False), as given: dropout and
                batch norm behave differently in the two modes.

        Returns:
            out: the last layer's output, shape (B, D_out).

        Contract: every layer's ``forward`` runs exactly once, in the order of ``self.layers``,
        on the previous layer's output, and receives this call's ``train``. Each layer keeps its own
        cache for ``backward``; ``Sequential`` needs none. Never modify ``x``.
        Trap: a layer's ``forward`` defaults to ``train=True``, so a network that does not pass
        ``train`` on keeps dropping units and using minibatch statistics at test time.
        """
        ### BEGIN SOLUTION
        out = x
        for layer in self.layers:
            out = layer.forward(out, train)
        ### END SOLUTION
        return out

    def backward(self, dout):
        """Backpropagate through the network (after ``forward``).

        Args:
            dout: ``dL/d(out)``, shape (B, D_out), the gradient of the loss w.r.t. the network's output.

        Returns:
            dx: ``dL/dx``, shape (B, D_in): the gradient w.r.t. the NETWORK's input ``x``.

        Contract: every layer's ``backward`` runs exactly once and receives the gradient
        w.r.t. its own output; the layers store their parameters' gradients themselves.
        Trap: the chain rule decides the order; the last layer's ``dout`` is the only one known at first.
        """
        ### BEGIN SOLUTION
        dx = dout
        for layer in reversed(self.layers):
            dx = layer.backward(dx)
        ### END SOLUTION
        return dx

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

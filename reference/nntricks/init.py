"""Weight initializations. Notebook: 03_initialization.

Each function returns a ``(fan_in, fan_out)`` float64 array for a linear layer
``z = x @ W + b``. ``rng`` is a ``numpy.random.Generator`` (a fresh default one
when ``None``); the same seeded ``rng`` state gives the same array. Normal
distributions are given by their standard deviation, not their variance.
"""

import numpy as np


def _rng(rng):
    return np.random.default_rng() if rng is None else rng


def _check_fans(fan_in, fan_out):
    for name, n in (("fan_in", fan_in), ("fan_out", fan_out)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")


def zeros(fan_in, fan_out, rng=None):
    """All zeros. Every unit of the layer then gets the same gradient: symmetry is never broken.

    Returns:
        W: shape (fan_in, fan_out).
    """
    _check_fans(fan_in, fan_out)
    ### BEGIN SOLUTION
    W = np.zeros((fan_in, fan_out))
    ### END SOLUTION
    return W


def constant(fan_in, fan_out, value, rng=None):
    """Every weight equal to ``value`` (as bad as zeros for symmetry).

    Returns:
        W: shape (fan_in, fan_out).
    """
    _check_fans(fan_in, fan_out)
    ### BEGIN SOLUTION
    W = np.full((fan_in, fan_out), float(value))
    ### END SOLUTION
    return W


def normal(fan_in, fan_out, std=0.01, rng=None):
    """``N(0, std^2)``: small random weights, fine for shallow nets only.

    Returns:
        W: shape (fan_in, fan_out).
    """
    _check_fans(fan_in, fan_out)
    rng = _rng(rng)
    ### BEGIN SOLUTION
    W = rng.normal(0.0, std, size=(fan_in, fan_out))
    ### END SOLUTION
    return W


def uniform_fan_in(fan_in, fan_out, rng=None):
    """``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` (PyTorch's default for ``nn.Linear`` weights).

    Returns:
        W: shape (fan_in, fan_out).
    """
    _check_fans(fan_in, fan_out)
    rng = _rng(rng)
    ### BEGIN SOLUTION
    a = 1.0 / np.sqrt(fan_in)
    W = rng.uniform(-a, a, size=(fan_in, fan_out))
    ### END SOLUTION
    return W


def xavier_uniform(fan_in, fan_out, rng=None):
    """Glorot/Xavier uniform (tanh, sigmoid): ``U[-a, a]``.

    Its variance is Glorot's compromise between the condition that keeps the
    forward variance (fan_in) and the one that keeps the backward variance
    (fan_out): derive it (notebook 03, before Exercise 3.2), then the bound ``a``.

    Returns:
        W: shape (fan_in, fan_out).

    Trap: ``a`` is a bound, not a standard deviation: ``U[-a, a]`` has variance ``a^2 / 3``.
    """
    _check_fans(fan_in, fan_out)
    rng = _rng(rng)
    ### BEGIN SOLUTION
    a = np.sqrt(6.0 / (fan_in + fan_out))
    W = rng.uniform(-a, a, size=(fan_in, fan_out))
    ### END SOLUTION
    return W


def xavier_normal(fan_in, fan_out, rng=None):
    """Glorot/Xavier normal (tanh, sigmoid): ``N(0, std^2)`` with Glorot's compromise as its variance.

    Returns:
        W: shape (fan_in, fan_out).

    Trap: the derivation (notebook 03, before Exercise 3.2) gives a variance;
    ``rng.normal`` takes a std, not a variance.
    """
    _check_fans(fan_in, fan_out)
    rng = _rng(rng)
    ### BEGIN SOLUTION
    W = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
    ### END SOLUTION
    return W


def lecun_normal(fan_in, fan_out, rng=None):
    """LeCun normal: ``N(0, std^2)`` with the variance that keeps the forward variance of a linear unit.

    For ``z = x @ W`` with independent zero-mean inputs and weights, choose
    ``Var(W)`` so that ``Var(z) = Var(x)`` (notebook 03, before Exercise 3.2).

    Returns:
        W: shape (fan_in, fan_out).

    Trap: ``rng.normal`` takes a std, not a variance.
    """
    _check_fans(fan_in, fan_out)
    rng = _rng(rng)
    ### BEGIN SOLUTION
    W = rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))
    ### END SOLUTION
    return W


def he_uniform(fan_in, fan_out, rng=None):
    """He/Kaiming uniform for ReLU: ``U[-a, a]``.

    Its variance keeps the forward variance through a ReLU layer, which zeroes
    about half of its inputs: derive the factor this costs (notebook 03, before Exercise 3.2), then ``a``.

    Returns:
        W: shape (fan_in, fan_out).

    Trap: ``a`` is a bound, not a standard deviation: ``U[-a, a]`` has variance ``a^2 / 3``.
    """
    _check_fans(fan_in, fan_out)
    rng = _rng(rng)
    ### BEGIN SOLUTION
    a = np.sqrt(6.0 / fan_in)
    W = rng.uniform(-a, a, size=(fan_in, fan_out))
    ### END SOLUTION
    return W


def he_normal(fan_in, fan_out, rng=None):
    """He/Kaiming normal for ReLU: ``N(0, std^2)`` with He's variance (notebook 03, before Exercise 3.2).

    Returns:
        W: shape (fan_in, fan_out).

    Trap: it is the FAN-IN (rows of ``W``), not fan_out, that sets the forward
    variance; ``rng.normal`` takes a std, not a variance.
    """
    _check_fans(fan_in, fan_out)
    rng = _rng(rng)
    ### BEGIN SOLUTION
    W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    ### END SOLUTION
    return W

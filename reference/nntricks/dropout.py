"""Dropout. Notebook: 05_dropout.

``alpha`` is the KEEP probability (``0 < alpha <= 1``), as in the lecture:
PyTorch's ``p`` is the DROP probability, ``p = 1 - alpha``.

Training: every unit of every instance is kept with probability ``alpha`` and
set to 0 otherwise, with a fresh mask at every call. Test: the network of
expected unit outputs. "Inverted" dropout scales the kept units during
training instead, so that test time needs no change at all (notebook 05,
Question Q1, derives both factors).
"""

import itertools

import numpy as np


def _check_alpha(alpha):
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha is the KEEP probability and must lie in (0, 1], got {alpha}")


def dropout_forward(y, alpha, train=True, rng=None, inverted=True):
    """Dropout forward pass.

    Args:
        y: unit outputs, shape (B, D) (any shape works).
        alpha: keep probability, ``0 < alpha <= 1``.
        train: training mode (random mask) or test mode (deterministic).
        rng: ``numpy.random.Generator`` for the mask (a fresh default one when None).
        inverted: scale the kept units in training (True, nothing to do at test) or correct at test (False).

    Returns:
        A tuple of:
        - out: shape of ``y``. Training: ``y`` with the dropped units set to 0; inverted dropout
          also scales the kept units so that the expectation of ``out`` over the masks is ``y``
          (Question Q1 (b)), classic dropout does not scale. Test: inverted, ``y`` itself (as
          PyTorch returns its input); classic, each unit's expected training output (Q1 (a)).
        - mask: float64 array of 0.0 and 1.0 with P(1) = alpha, shape of ``y``; None at test time.

    Raises:
        ValueError: alpha outside (0, 1].

    Trap: ``alpha`` KEEPS units: a fraction ``alpha`` of the mask's entries must be 1.0.
    """
    _check_alpha(alpha)
    y = np.asarray(y, dtype=float)
    rng = np.random.default_rng() if rng is None else rng
    ### BEGIN SOLUTION
    if train:
        mask = (rng.random(y.shape) < alpha).astype(float)
        out = y * mask
        if inverted:
            out /= alpha
    else:
        mask = None
        out = y if inverted else alpha * y
    ### END SOLUTION
    return out, mask


def dropout_backward(dout, mask, alpha, inverted=True):
    """Dropout backward pass: the gradient flows only through the kept units.

    Args:
        dout: dLoss/dout, shape of ``y``.
        mask: the mask returned by :func:`dropout_forward`, or None for the test-mode derivative.
        alpha: keep probability.
        inverted: as in the forward pass.

    Returns:
        dy: dLoss/dy, a new float array of the shape of ``dout``: the derivative through
        :func:`dropout_forward` in training with this mask, ``alpha`` and ``inverted``; with
        ``mask=None``, through the test-mode forward pass.
    """
    _check_alpha(alpha)
    dout = np.asarray(dout, dtype=float)
    ### BEGIN SOLUTION
    if mask is None:
        dy = dout.copy() if inverted else alpha * dout
    else:
        dy = dout * mask
        if inverted:
            dy /= alpha
    ### END SOLUTION
    return dy


def exact_average(f, N, alpha):
    """The exact average of ``f`` over all ``2**N`` dropout masks.

    Args:
        f: a function of masks. Call it ONCE, with the ``(2**N, N)`` float64 array whose rows are all
            the masks of ``N`` units (1.0 kept, 0.0 dropped), in the order of
            ``itertools.product([0.0, 1.0], repeat=N)``; it returns one output per mask along its first
            axis: shape ``(2**N, ...)``.
        N: the number of units that can be dropped (an int, ``N >= 1``).
        alpha: keep probability, ``0 < alpha <= 1``; each unit is kept independently.

    Returns:
        The expectation of ``f`` over the random mask, ``sum_m P(m) f(m)``: a float64 array of the shape
        of one output, ``...`` (a 0-d array when ``f`` returns shape ``(2**N,)``).

    Raises:
        ValueError: alpha outside (0, 1].

    Trap: ``P(m)`` must belong to the very row ``m`` that ``f`` was given (same order), and the
    probabilities of all masks add up to 1.
    """
    _check_alpha(alpha)
    ### BEGIN SOLUTION
    masks = np.array(list(itertools.product([0.0, 1.0], repeat=N)))
    k = masks.sum(axis=1)
    P = alpha**k * (1 - alpha) ** (N - k)
    return np.tensordot(P, np.asarray(f(masks), dtype=float), axes=1)
    ### END SOLUTION


class Dropout:
    """A dropout layer (provided): ``forward(y, train=True)``, ``backward(dout)``; no parameters.

    Args:
        alpha: keep probability.
        inverted: inverted dropout (scale in training) or classic (scale at test).
        rng: ``numpy.random.Generator`` drawing the masks (a fresh default one when None).
    """

    def __init__(self, alpha=0.5, inverted=True, rng=None):
        _check_alpha(alpha)
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

"""Datasets (provided): the handwritten digits, offline, and small toy sets.

The digits are scikit-learn's copy of the UCI optical digits (1797 images of
8x8 pixels, values 0..16, classes 0..9), shipped inside the scikit-learn
package: nothing is downloaded.
"""

import numpy as np


class Split:
    """A dataset split: ``X`` (N, D) float64 inputs, ``labels`` (N,) integers, ``d`` (N, K) one-hot targets."""

    def __init__(self, X, labels, num_classes):
        self.X = X
        self.labels = labels
        self.d = np.eye(num_classes)[labels]

    def __len__(self):
        return len(self.X)

    def __repr__(self):
        return f"Split(X={self.X.shape}, labels={self.labels.shape})"


def load_digits(val=0.2, test=0.2, seed=0, n_train=None, label_noise=0.0):
    """The handwritten digits, split into train / validation / test, pixels scaled to [0, 1].

    Args:
        val, test: fractions of the 1797 images for validation and test.
        seed: seed of the (stratified-free) random permutation that makes the split.
        n_train: keep only the first ``n_train`` training images (a small
            training set, to provoke overfitting); None keeps them all.
        label_noise: fraction of the TRAINING labels replaced by a wrong class
            drawn uniformly from the other nine (``round(label_noise * N)``
            images, chosen with ``seed``); validation and test labels stay
            correct. Real datasets contain some wrong labels, and a network
            that memorizes its training set memorizes them too.

    Returns:
        A tuple ``(train, val, test)`` of :class:`Split`; ``X`` has 64 columns.
        The images are ``split.X.reshape(-1, 8, 8)``.
    """
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    X, labels = bunch.data.astype(float) / 16.0, bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    X, labels = X[order], labels[order]
    n_test, n_val = int(round(test * len(X))), int(round(val * len(X)))
    n_fit = len(X) - n_test - n_val
    parts = np.split(np.arange(len(X)), [n_fit, n_fit + n_val])
    if n_train is not None:
        parts[0] = parts[0][:n_train]
    if not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"label_noise is a fraction of the training labels, in [0, 1]; got {label_noise}")
    splits = [Split(X[p], labels[p], 10) for p in parts]
    if label_noise:
        train = splits[0]
        rng = np.random.default_rng(seed + 1)
        wrong = rng.choice(len(train), size=int(round(label_noise * len(train))), replace=False)
        noisy = train.labels.copy()
        noisy[wrong] = (noisy[wrong] + rng.integers(1, 10, size=len(wrong))) % 10  # never the true class
        splits[0] = Split(train.X, noisy, 10)
    return tuple(splits)


def perceptron_data(n=100, rng=None, w=(1.5, -1.0), noise=0.5):
    """2-D inputs with binary targets from a noisy linear rule, for single-perceptron loss surfaces.

    ``x ~ N(0, I)``, ``d = 1`` where ``x @ w + noise * N(0, 1) > 0`` else 0.

    Returns:
        A tuple ``(X, d)``: X of shape (n, 2), d of shape (n,) in {0., 1.}.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    X = rng.normal(size=(n, 2))
    d = (X @ np.asarray(w) + noise * rng.normal(size=n) > 0).astype(float)
    return X, d


def noisy_sine(n=30, noise=0.15, rng=None):
    """A 1-D regression set ``d = sin(2 pi x) + noise``, ``x ~ U[0, 1]``: few points, easy to overfit.

    Returns:
        A tuple ``(X, d)`` of shapes (n, 1) and (n, 1).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    X = rng.uniform(0, 1, size=(n, 1))
    return X, np.sin(2 * np.pi * X) + noise * rng.normal(size=(n, 1))


def batches(N, batch_size, rng=None, shuffle=True):
    """Index arrays of the minibatches of one epoch: a fresh random permutation per epoch when ``shuffle``."""
    order = (np.random.default_rng() if rng is None else rng).permutation(N) if shuffle else np.arange(N)
    return [order[i:i + batch_size] for i in range(0, N, batch_size)]

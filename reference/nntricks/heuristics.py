"""Training heuristics: gradient clipping, early stopping, input normalization,
data augmentation and grid search. Notebook: 06_regularization_and_heuristics.
"""

import itertools
import math

import numpy as np


def clip_by_value(grads, theta=5.0):
    """Clip every element of every gradient to ``[-theta, theta]``.

    Args:
        grads: list of arrays.
        theta: threshold, > 0 (5 is a common choice).

    Returns:
        clipped: list of new arrays, shapes of ``grads``.

    Trap: clipping by value changes the gradient's DIRECTION; clipping by norm does not.
    """
    ### BEGIN SOLUTION
    clipped = [np.clip(g, -theta, theta) for g in grads]
    ### END SOLUTION
    return clipped


def clip_by_norm(grads, max_norm):
    """Rescale all gradients together when their global L2 norm exceeds ``max_norm``; PyTorch ``clip_grad_norm_``.

    ``total_norm = sqrt(sum_k ||g_k||^2)`` over ALL arrays; the factor
    ``max_norm / (total_norm + 1e-6)`` is applied only when it is below 1.

    Args:
        grads: list of arrays.
        max_norm: the largest global norm allowed.

    Returns:
        A tuple of:
        - clipped: list of new arrays, shapes of ``grads``.
        - total_norm: float, the global norm BEFORE clipping (0.0 for an empty list).

    Trap: one norm for all arrays together, not one per array.
    """
    ### BEGIN SOLUTION
    total_norm = math.sqrt(sum(float(np.sum(np.square(g))) for g in grads))
    factor = min(1.0, max_norm / (total_norm + 1e-6))
    clipped = [np.asarray(g, dtype=float) * factor for g in grads]
    ### END SOLUTION
    return clipped, float(total_norm)


class EarlyStopping:
    """Stop training once the validation loss has stopped improving.

    An improvement is ``val_loss < best - min_delta``; only an improvement
    updates ``best`` and ``best_epoch``. ``step`` returns True (stop) once
    ``patience`` consecutive calls have brought no improvement, and True on
    every call after that.

    Args:
        patience: calls without improvement tolerated.
        min_delta: how much lower than ``best`` counts as an improvement.

    Attributes:
        best: lowest validation loss so far (``inf`` before the first call).
        best_epoch: 0-based index of the call that set ``best`` (None before the first call).
        num_bad: consecutive calls without improvement.
        stopped: True once ``step`` has returned True.
    """

    def __init__(self, patience=5, min_delta=0.0):
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch = math.inf, None
        self.num_bad, self.num_calls, self.stopped = 0, 0, False

    def step(self, val_loss):
        """Record one validation loss (one epoch). Returns True when training should stop."""
        ### BEGIN SOLUTION
        epoch = self.num_calls
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.num_bad = float(val_loss), epoch, 0
        else:
            self.num_bad += 1
        if self.num_bad >= self.patience:
            self.stopped = True
        ### END SOLUTION
        self.num_calls += 1
        return self.stopped


def standardize_fit(X):
    """Per-feature mean and POPULATION standard deviation of the training inputs.

    Args:
        X: shape (N, D).

    Returns:
        A tuple of ``mean``, ``std``, each of shape (D,).
    """
    X = np.asarray(X, dtype=float)
    ### BEGIN SOLUTION
    mean, std = X.mean(axis=0), X.std(axis=0)
    ### END SOLUTION
    return mean, std


def standardize(X, mean, std, eps=1e-8):
    """``(X - mean) / (std + eps)``: zero mean, unit variance per feature.

    Use the TRAINING statistics for the validation and test sets too. ``eps``
    keeps constant features (std 0, e.g. blank pixels) finite.

    Args:
        X: shape (N, D).
        mean, std: from :func:`standardize_fit`, shape (D,).

    Returns:
        X_std: a new array of shape (N, D).
    """
    X = np.asarray(X, dtype=float)
    ### BEGIN SOLUTION
    X_std = (X - mean) / (std + eps)
    ### END SOLUTION
    return X_std


def grid_search(fit_and_score, grid):
    """Try every combination of hyperparameters; best (lowest validation loss) first.

    Args:
        fit_and_score: ``fit_and_score(**params) -> float``, a validation loss.
        grid: dict mapping a name to a list of values, e.g. ``{"lr": [0.1, 0.01], "lam": [0, 1e-3]}``.

    Returns:
        results: list of ``(params, score)`` with ``params`` a dict, sorted by
        score, lowest first (a NaN score sorts last).
    """
    ### BEGIN SOLUTION
    names = list(grid)
    results = []
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values))
        results.append((params, float(fit_and_score(**params))))
    results.sort(key=lambda r: (math.isnan(r[1]), r[1]))
    ### END SOLUTION
    return results


# ---- Data augmentation for images of shape (N, H, W) (provided, not graded) ----

def _affine(images, matrices, offsets):
    """Resample every image at ``A_n @ (row, col) + o_n``: bilinear, 0 outside the image, all images at once.

    The same values as ``scipy.ndimage.affine_transform(image, A, offset=o,
    order=1, mode="constant")`` per image, vectorized over the batch (a
    Python loop of scipy calls made augmentation the slowest part of training).
    """
    N, rows, cols = images.shape
    A = np.asarray(matrices, dtype=float).reshape(N, 2, 2)
    src = A @ np.indices((rows, cols)).reshape(2, -1) + np.asarray(offsets, dtype=float).reshape(N, 2, 1)
    r, c = src[:, 0], src[:, 1]
    tol = 1e-9  # a coordinate on the border is inside, up to rounding
    inside = (r >= -tol) & (r <= rows - 1 + tol) & (c >= -tol) & (c <= cols - 1 + tol)
    r, c = np.clip(r, 0, rows - 1), np.clip(c, 0, cols - 1)
    r0, c0 = np.minimum(np.floor(r).astype(int), rows - 2), np.minimum(np.floor(c).astype(int), cols - 2)
    fr, fc = r - r0, c - c0
    n = np.arange(N)[:, None]
    out = (images[n, r0, c0] * (1 - fr) * (1 - fc) + images[n, r0 + 1, c0] * fr * (1 - fc)
           + images[n, r0, c0 + 1] * (1 - fr) * fc + images[n, r0 + 1, c0 + 1] * fr * fc)
    return np.where(inside, out, 0.0).reshape(N, rows, cols)


def _centre_offsets(A, shape):
    c = (np.asarray(shape, dtype=float) - 1) / 2
    return c - A @ c


def random_shift(images, max_shift=1, rng=None):
    """Shift each image by whole pixels, up to ``max_shift`` in each direction (zeros fill in)."""
    images = np.asarray(images, dtype=float)
    rng = np.random.default_rng() if rng is None else rng
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    return _affine(images, [np.eye(2)] * len(images), -shifts)


def random_rotation(images, max_degrees=15.0, rng=None):
    """Rotate each image about its centre by an angle drawn from ``U[-max_degrees, max_degrees]``."""
    images = np.asarray(images, dtype=float)
    rng = np.random.default_rng() if rng is None else rng
    angles = np.deg2rad(rng.uniform(-max_degrees, max_degrees, size=len(images)))
    mats = [np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in angles]
    return _affine(images, mats, [_centre_offsets(A, images.shape[1:]) for A in mats])


def random_stretch(images, max_stretch=0.15, rng=None):
    """Stretch each image about its centre by factors in ``[1 - max_stretch, 1 + max_stretch]`` per axis."""
    images = np.asarray(images, dtype=float)
    rng = np.random.default_rng() if rng is None else rng
    factors = rng.uniform(1 - max_stretch, 1 + max_stretch, size=(len(images), 2))
    mats = [np.diag(1 / f) for f in factors]
    return _affine(images, mats, [_centre_offsets(A, images.shape[1:]) for A in mats])


def random_noise(images, std=0.05, rng=None):
    """Add ``N(0, std^2)`` pixel noise (the values are not clipped)."""
    images = np.asarray(images, dtype=float)
    rng = np.random.default_rng() if rng is None else rng
    return images + rng.normal(0.0, std, size=images.shape)


def augment(images, rng=None, max_shift=1, max_degrees=15.0, max_stretch=0.15, noise_std=0.0):
    """Compose shift, rotation, stretch and noise, each drawn independently per image."""
    rng = np.random.default_rng() if rng is None else rng
    out = random_stretch(random_rotation(images, max_degrees, rng), max_stretch, rng)
    out = random_shift(out, max_shift, rng)
    return random_noise(out, noise_std, rng) if noise_std > 0 else out

"""An independent implementation of the heuristics (corpus: correct, written differently).
The image augmentations are not graded and not provided here."""

import numpy as np


def clip_by_value(grads, theta=5.0):
    return [np.minimum(np.maximum(g, -theta), theta) for g in grads]


def clip_by_norm(grads, max_norm):
    if not grads:
        return [], 0.0
    total = float(np.linalg.norm(np.concatenate([np.ravel(g) for g in grads])))
    scale = max_norm / (total + 1e-6)
    return [g * scale if scale < 1 else np.array(g, dtype=float) for g in grads], total


class EarlyStopping:
    def __init__(self, patience=5, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch = float("inf"), None
        self.history = []
        self.done = False

    def step(self, val_loss):
        epoch = len(self.history)
        self.history.append(val_loss)
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, epoch
        last_good = -1 if self.best_epoch is None else self.best_epoch
        if epoch - last_good >= self.patience:
            self.done = True
        return self.done


def standardize_fit(X):
    X = np.asarray(X, float)
    mean = X.sum(axis=0) / len(X)
    return mean, np.sqrt(((X - mean) ** 2).mean(axis=0))


def standardize(X, mean, std, eps=1e-8):
    return (np.asarray(X, float) - mean) * (1.0 / (std + eps))


def grid_search(fit_and_score, grid):
    combos = [{}]
    for name, values in grid.items():
        combos = [{**c, name: v} for c in combos for v in values]
    scored = [(c, fit_and_score(**c)) for c in combos]
    # a NaN score (a diverged run) is the only value unequal to itself: it sorts last
    return sorted(scored, key=lambda item: (item[1] != item[1], item[1]))

"""Realistic mistakes, one at a time (single-mistake mutants: textual patches of
the reference): each must lose points on its topic, and EVERY check it fails
must name the mistake (its root cause, not a consequence), but for the few in
ONLY_ONE_MESSAGE. Every check of the registry must be failed by some mutant.

To keep the suite fast, mistakes of different topics are graded together in
rounds (one worker per topic, so they cannot affect each other).
"""

import pytest

from autograder.checks import DOCUMENTED_POINTS, select
from autograder_support import build, failed, grade, topic_score
from test_checks_network import MINE

# (topic, what, patches [(module, old, new)], text expected in the failure messages or None)
MISTAKES = [
    # divergences
    ("divergences", "l2 without 1/B", [("divergences", "loss = 0.5 * np.sum((y - d) ** 2) / B",
                                        "loss = 0.5 * np.sum((y - d) ** 2)")], "forgot the 1/B"),
    ("divergences", "l2 without 1/2", [("divergences", "loss = 0.5 * np.sum((y - d) ** 2) / B",
                                        "loss = np.sum((y - d) ** 2) / B")], "forgot the 1/2"),
    ("divergences", "l2 mean over everything", [("divergences", "loss = 0.5 * np.sum((y - d) ** 2) / B",
                                                 "loss = 0.5 * np.mean((y - d) ** 2)")], "averaged over the outputs"),
    ("divergences", "l2_grad sign", [("divergences", "dy = (y - d) / B", "dy = (d - y) / B")], "sign"),
    ("divergences", "bce not clipped", [("divergences", "    yc = np.clip(y, eps, 1 - eps)\n    loss",
                                         "    yc = y\n    loss")], "not clipped"),
    ("divergences", "bce eps in the log", [("divergences", "    yc = np.clip(y, eps, 1 - eps)\n    loss = -np.sum(d * np.log(yc) + (1 - d) * np.log1p(-yc)) / B",
                                            "    loss = -np.sum(d * np.log(y + eps) + (1 - d) * np.log(1 - y + eps)) / B")],
     "eps added inside the logs"),
    ("divergences", "bce_grad eps in the denominator", [("divergences", "    dy = (yc - d) / (yc * (1 - yc)) / B",
                                                         "    dy = (y - d) / (y * (1 - y) + eps) / B")],
     "eps added to the denominator"),
    ("divergences", "kl without d log d", [("divergences", "loss = np.sum(d_log_d - d * np.log(yc)) / B",
                                            "loss = np.sum(-d * np.log(yc)) / B")], "dropped the d log d"),
    ("divergences", "kl 0 log 0", [("divergences", "loss = np.sum(d_log_d - d * np.log(yc)) / B",
                                    "loss = np.sum(d * np.log(d) - d * np.log(yc)) / B")], "0 log 0"),
    ("divergences", "softmax unstable", [("divergences", "e = np.exp(z - np.max(z, axis=-1, keepdims=True))",
                                          "e = np.exp(z)")], "not numerically stable"),
    ("divergences", "softmax axis 0", [("divergences", "y = e / np.sum(e, axis=-1, keepdims=True)",
                                        "y = e / np.sum(e, axis=0, keepdims=True)")], "wrong axis"),
    ("divergences", "log(softmax)", [("divergences", "    shifted = z - np.max(z, axis=-1, keepdims=True)\n    log_y = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))",
                                      "    log_y = np.log(softmax(z))")], "log(softmax(z))"),
    ("divergences", "sce without 1/B", [("divergences", "loss = -np.sum(d * log_softmax(z)) / B",
                                         "loss = -np.sum(d * log_softmax(z))")], "forgot the 1/B"),
    ("divergences", "sce_grad sign", [("divergences", "dz = (softmax(z) - d) / B", "dz = (d - softmax(z)) / B")],
     "sign"),
    # optim
    ("optim", "SGD dampening", [("optim", "                v *= self.momentum\n                v += g",
                                 "                v *= self.momentum\n                v += (1 - self.momentum) * g")],
     "dampening"),
    ("optim", "Nesterov without g", [("optim", "g = g + self.momentum * v if self.nesterov else v",
                                      "g = self.momentum * v if self.nesterov else v")], "without the gradient term"),
    ("optim", "SGD weight decay after momentum", [
        ("optim", "            if self.weight_decay:\n                g = g + self.weight_decay * w\n            if self.momentum:",
         "            if self.momentum:"),
        ("optim", "            w -= self.lr * g\n", "            w -= self.lr * (g + self.weight_decay * w)\n")],
     "weight decay applied after the momentum"),
    ("optim", "SGD not in place", [("optim", "            w -= self.lr * g\n", "            w = w - self.lr * g\n")],
     "not updated in place"),
    ("optim", "RMSProp eps inside", [("optim", "w -= self.lr * g / (np.sqrt(s) + self.eps)",
                                      "w -= self.lr * g / np.sqrt(s + self.eps)")], "eps inside the square root"),
    ("optim", "RMSProp without 1 - beta", [("optim", "s += (1 - self.beta) * g * g", "s += g * g")], "(1 - beta)"),
    ("optim", "Adam without bias correction", [
        ("optim", "        buf *= 1 / np.sqrt(1 - self.beta2**self.t)\n", ""),
        ("optim", "        buf *= self.lr / (1 - self.beta1**self.t)", "        buf *= self.lr")], "no bias correction"),
    ("optim", "Adam eps inside", [
        ("optim", "        np.sqrt(v, out=buf)\n        buf *= 1 / np.sqrt(1 - self.beta2**self.t)\n        buf += self.eps",
         "        np.divide(v, 1 - self.beta2**self.t, out=buf)\n        buf += self.eps\n        np.sqrt(buf, out=buf)")],
     "eps inside the square root"),
    ("optim", "AdamW decay through the gradient", [("optim", "                w *= 1 - self.lr * self.weight_decay\n            self._update",
                                                    "                g = g + self.weight_decay * w\n            self._update")],
     "added to the gradient"),
    ("optim", "step_decay off by one", [("optim", "lr = lr0 * drop ** (t // every)", "lr = lr0 * drop ** ((t + 1) // every)")],
     "off by one"),
    ("optim", "inverse_time_decay without k", [("optim", "lr = lr0 / (1 + k * t)", "lr = lr0 / (1 + t)")], "ignored k"),
    # init
    ("init", "he_normal fan_out", [("init", "W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))",
                                    "W = rng.normal(0.0, np.sqrt(2.0 / fan_out), size=(fan_in, fan_out))")], "fan_out"),
    ("init", "xavier_normal variance", [("init", "W = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))",
                                         "W = rng.normal(0.0, 2.0 / (fan_in + fan_out), size=(fan_in, fan_out))")], "variance"),
    ("init", "lecun with He's 2", [("init", "W = rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))",
                                    "W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))")], "He's variance instead of LeCun's"),
    ("init", "he_uniform drawn normal", [("init", "    a = np.sqrt(6.0 / fan_in)\n    W = rng.uniform(-a, a, size=(fan_in, fan_out))",
                                          "    a = np.sqrt(6.0 / fan_in)\n    W = rng.normal(0.0, a / np.sqrt(3), size=(fan_in, fan_out))")],
     "normal distribution instead of a uniform"),
    ("init", "uniform_fan_in no sqrt", [("init", "a = 1.0 / np.sqrt(fan_in)", "a = 1.0 / fan_in")], "square ROOT"),
    ("init", "normal with a fixed seed", [("init", "W = rng.normal(0.0, std, size=(fan_in, fan_out))",
                                           "W = np.random.default_rng(0).normal(0.0, std, size=(fan_in, fan_out))")],
     "drawing twice from the same generator"),
    ("init", "zeros of ints", [("init", "W = np.zeros((fan_in, fan_out))", "W = np.zeros((fan_in, fan_out), dtype=int)")],
     "dtype"),
    # batchnorm
    ("batchnorm", "unbiased variance", [("batchnorm", "var = np.einsum(\"ij,ij->j\", u, u) / B",
                                         "var = np.einsum(\"ij,ij->j\", u, u) / (B - 1)")], "unbiased variance in training"),
    ("batchnorm", "forgot eps", [("batchnorm", "inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / np.sqrt(var)")],
     "forgot eps"),
    ("batchnorm", "backward with constant statistics", [
        ("batchnorm", "    dz = u * (dgamma / B)\n    np.subtract(dout, dz, out=dz)\n    dz -= dbeta / B\n    dz *= gamma * inv_std",
         "    dz = dout * gamma * inv_std")], "treated the mean and the variance as constants"),
    ("batchnorm", "dgamma not summed", [("batchnorm", "dgamma = np.einsum(\"ij,ij->j\", dout, u)", "dgamma = dout * u")],
     "not summed"),
    ("batchnorm", "Jacobian without the mean term", [("batchnorm", "J = (np.eye(B) - 1.0 / B - np.outer(zc, zc) / (B * s)) / np.sqrt(s)",
                                                      "J = (np.eye(B) - np.outer(zc, zc) / (B * s)) / np.sqrt(s)")], "-1/B"),
    ("batchnorm", "biased running variance", [("batchnorm", "z.var(axis=0, ddof=1)", "z.var(axis=0)")],
     "biased batch variance"),
    ("batchnorm", "momentum reversed", [("batchnorm", "m = 1.0 / self.num_batches if self.momentum is None else self.momentum",
                                         "m = 1.0 / self.num_batches if self.momentum is None else 1 - self.momentum")],
     "momentum weights the old value"),
    ("batchnorm", "inference without eps", [("batchnorm", "out = (z - mean) * (gamma / np.sqrt(var + eps)) + beta",
                                             "out = (z - mean) * (gamma / np.sqrt(var)) + beta")], "forgot eps"),
    ("batchnorm", "backward loops over instances", [
        ("batchnorm", "    dz = u * (dgamma / B)\n    np.subtract(dout, dz, out=dz)\n    dz -= dbeta / B\n    dz *= gamma * inv_std",
         "    dz = np.empty_like(dout)\n    for i in range(B):\n        dz[i] = (dout[i] - dgamma / B * u[i] - dbeta / B) * gamma * inv_std")],
     "not vectorized"),
    # dropout
    ("dropout", "alpha as the drop probability", [("dropout", "mask = (rng.random(y.shape) < alpha).astype(float)",
                                                   "mask = (rng.random(y.shape) < 1 - alpha).astype(float)")],
     "alpha used as the DROP probability"),
    ("dropout", "not divided by alpha", [("dropout", "        if inverted:\n            out /= alpha", "")],
     "not divided by alpha"),
    ("dropout", "a fixed seed", [("dropout", "rng = np.random.default_rng() if rng is None else rng",
                                  "rng = np.random.default_rng(0)")], "same mask"),
    ("dropout", "boolean mask", [("dropout", "mask = (rng.random(y.shape) < alpha).astype(float)",
                                  "mask = rng.random(y.shape) < alpha")], "dtype bool"),
    ("dropout", "inverted test mode scaled", [("dropout", "out = y if inverted else alpha * y", "out = alpha * y")],
     "scaled in test mode"),
    ("dropout", "backward not divided by alpha", [("dropout", "        dy = dout * mask\n        if inverted:\n            dy /= alpha",
                                                   "        dy = dout * mask")], "not divided by alpha"),
    # regularization
    ("regularization", "l2_penalty without 1/2", [("regularization", "penalty = 0.5 * lam * sum(", "penalty = lam * sum(")],
     "forgot the 1/2"),
    ("regularization", "l2_penalty_grad factor 2", [("regularization", "grads = [lam * np.asarray(W, dtype=float) for W in weights]",
                                                     "grads = [2 * lam * np.asarray(W, dtype=float) for W in weights]")],
     "a factor 2"),
    ("regularization", "l1 subgradient at 0", [("regularization", "grads = [lam * np.sign(np.asarray(W, dtype=float)) for W in weights]",
                                                "grads = [lam * np.where(np.asarray(W) >= 0, 1.0, -1.0) for W in weights]")],
     "subgradient at 0"),
    ("regularization", "weight decay without lr", [("regularization", "W_new = (1 - lr * lam) * W - lr * grad",
                                                    "W_new = (1 - lam) * W - lr * grad")], "not multiplied by the learning rate"),
    ("regularization", "noise with the variance", [("regularization", "x_noisy = x + rng.normal(0.0, std, size=x.shape)",
                                                    "x_noisy = x + rng.normal(0.0, std**2, size=x.shape)")], "variance"),
    # heuristics
    ("heuristics", "clip_by_value to [0, theta]", [("heuristics", "clipped = [np.clip(g, -theta, theta) for g in grads]",
                                                    "clipped = [np.clip(g, 0, theta) for g in grads]")], "[0, theta]"),
    ("heuristics", "clip_by_norm per array", [
        ("heuristics", "    factor = min(1.0, max_norm / (total_norm + 1e-6))\n    clipped = [np.asarray(g, dtype=float) * factor for g in grads]",
         "    clipped = [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]")], "one norm per array"),
    ("heuristics", "early stopping one call late", [("heuristics", "if self.num_bad >= self.patience:",
                                                     "if self.num_bad > self.patience:")], "too late"),
    ("heuristics", "best updated without improvement", [("heuristics", "        else:\n            self.num_bad += 1",
                                                         "        else:\n            self.num_bad += 1\n            if val_loss < self.best:\n                self.best, self.best_epoch = float(val_loss), epoch")],
     "best updated without an improvement"),
    ("heuristics", "sample std", [("heuristics", "mean, std = X.mean(axis=0), X.std(axis=0)",
                                   "mean, std = X.mean(axis=0), X.std(axis=0, ddof=1)")], "unbiased"),
    ("heuristics", "standardize without eps", [("heuristics", "X_std = (X - mean) / (std + eps)", "X_std = (X - mean) / std")],
     "no eps"),
    ("heuristics", "grid search highest first", [("heuristics", "results.sort(key=lambda r: (math.isnan(r[1]), r[1]))",
                                                  "results.sort(key=lambda r: r[1], reverse=True)")], "highest first"),
]



#: Mistakes of the contract clauses and of the named mistakes added with issue 8 (same format).
NEW = [
    # divergences
    ("divergences", "kl clipped from below only", [("divergences", "    yc = np.clip(y, eps, 1.0)\n    d_log_d",
                                                    "    yc = np.maximum(y, eps)\n    d_log_d")], "y clipped from below only"),
    ("divergences", "kl_grad clipped from below only", [("divergences", "dy = -d / np.clip(y, eps, 1.0) / B",
                                                         "dy = -d / np.maximum(y, eps) / B")], "y clipped from below only"),
    ("divergences", "l2 returns a 0-d array", [("divergences", "    loss = 0.5 * np.sum((y - d) ** 2) / B\n    ### END SOLUTION\n    return float(loss)",
                                                "    loss = 0.5 * np.sum((y - d) ** 2) / B\n    ### END SOLUTION\n    return np.asarray(loss)")],
     "0-d numpy array instead of a float"),
    ("divergences", "bce returns a 1-element array", [
        ("divergences", "    loss = -np.sum(d * np.log(yc) + (1 - d) * np.log1p(-yc)) / B\n    ### END SOLUTION\n    return float(loss)",
         "    loss = -np.sum(d * np.log(yc) + (1 - d) * np.log1p(-yc)) / B\n    ### END SOLUTION\n    return np.array([loss])")],
     "array of shape (1,) instead of a float"),
    ("divergences", "kl returns a 0-d array", [("divergences", "    loss = np.sum(d_log_d - d * np.log(yc)) / B\n    ### END SOLUTION\n    return float(loss)",
                                                "    loss = np.sum(d_log_d - d * np.log(yc)) / B\n    ### END SOLUTION\n    return np.array(loss)")],
     "0-d numpy array instead of a float"),
    ("divergences", "sce returns a 0-d array", [("divergences", "    loss = -np.sum(d * log_softmax(z)) / B\n    ### END SOLUTION\n    return float(loss)",
                                                 "    loss = -np.sum(d * log_softmax(z)) / B\n    ### END SOLUTION\n    return np.asarray(loss)")],
     "0-d numpy array instead of a float"),
    ("divergences", "sce soft targets as -log sum(d p)", [("divergences", "loss = -np.sum(d * log_softmax(z)) / B",
                                                           "loss = -np.sum(np.log(np.sum(d * softmax(z), axis=-1))) / B")],
     "-log sum(d * softmax(z))"),
    ("divergences", "bce_grad without 1/B", [("divergences", "dy = (yc - d) / (yc * (1 - yc)) / B", "dy = (yc - d) / (yc * (1 - yc))")],
     "forgot the 1/B"),
    ("divergences", "kl_grad sign", [("divergences", "dy = -d / np.clip(y, eps, 1.0) / B", "dy = d / np.clip(y, eps, 1.0) / B")],
     "sign"),
    ("divergences", "log_softmax along axis 0", [
        ("divergences", "    shifted = z - np.max(z, axis=-1, keepdims=True)\n    log_y = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))",
         "    shifted = z - np.max(z, axis=0, keepdims=True)\n    log_y = shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))")],
     "wrong axis"),
    # optim
    ("optim", "Nesterov accepted without momentum", [("optim", "        if nesterov and momentum <= 0:\n            raise ValueError(\"Nesterov momentum requires a momentum > 0\")\n", "")],
     "Nesterov accepted without momentum"),
    ("optim", "Adam step counter one step ahead", [
        ("optim", "np.sqrt(1 - self.beta2**self.t)", "np.sqrt(1 - self.beta2**(self.t + 1))"),
        ("optim", "(1 - self.beta1**self.t)", "(1 - self.beta1**(self.t + 1))")], "step counter is one step ahead"),
    ("optim", "Adam step counter one step late", [
        ("optim", "np.sqrt(1 - self.beta2**self.t)", "np.sqrt(1 - self.beta2**(self.t - 1))"),
        ("optim", "(1 - self.beta1**self.t)", "(1 - self.beta1**(self.t - 1))")], "step counter is one step late"),
    ("optim", "Adam bias correction by a constant", [
        ("optim", "np.sqrt(1 - self.beta2**self.t)", "np.sqrt(1 - self.beta2)"),
        ("optim", "(1 - self.beta1**self.t)", "(1 - self.beta1)")], "bias correction by the constant 1 - beta"),
    ("optim", "Adam eps argument ignored", [("optim", "        buf += self.eps\n", "        buf += 1e-8\n")],
     "the eps argument ignored"),
    ("optim", "AdamW eps inside", [("optim", "                w *= 1 - self.lr * self.weight_decay\n            self._update(w, g, m, v, buf)",
                                    "                w *= 1 - self.lr * self.weight_decay\n"
                                    "            m *= self.beta1\n            m += (1 - self.beta1) * g\n"
                                    "            v *= self.beta2\n            v += (1 - self.beta2) * g * g\n"
                                    "            w -= self.lr * (m / (1 - self.beta1**self.t)) / np.sqrt(v / (1 - self.beta2**self.t) + self.eps)")],
     "eps inside the square root"),
    # init
    ("init", "he_normal truncated", [("init", "W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))",
                                      "W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))\n"
                                      "    while np.any(np.abs(W) > 2 * np.sqrt(2.0 / fan_in)):\n"
                                      "        out = np.abs(W) > 2 * np.sqrt(2.0 / fan_in)\n"
                                      "        W[out] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=int(out.sum()))")],
     "truncated normal"),
    ("init", "constant of ints", [("init", "W = np.full((fan_in, fan_out), float(value))", "W = np.full((fan_in, fan_out), value)")],
     "dtype"),
    ("init", "normal with the variance", [("init", "W = rng.normal(0.0, std, size=(fan_in, fan_out))",
                                           "W = rng.normal(0.0, std**2, size=(fan_in, fan_out))")], "variance where the standard deviation"),
    ("init", "xavier_uniform with He's bound", [("init", "a = np.sqrt(6.0 / (fan_in + fan_out))", "a = np.sqrt(6.0 / fan_in)")],
     "He's bound"),
    *[("init", f"{name} with a fixed seed", [("init", line, line.replace("rng.", "np.random.default_rng(0).", 1))],
       "drawing twice from the same generator") for name, line in (
        ("uniform_fan_in", "    a = 1.0 / np.sqrt(fan_in)\n    W = rng.uniform(-a, a, size=(fan_in, fan_out))"),
        ("xavier_uniform", "    a = np.sqrt(6.0 / (fan_in + fan_out))\n    W = rng.uniform(-a, a, size=(fan_in, fan_out))"),
        ("xavier_normal", "W = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))"),
        ("lecun_normal", "W = rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))"),
        ("he_uniform", "    a = np.sqrt(6.0 / fan_in)\n    W = rng.uniform(-a, a, size=(fan_in, fan_out))"),
        ("he_normal", "W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))"))],
    # batchnorm
    ("batchnorm", "no batch-size check", [
        ("batchnorm", "    if z.ndim != 2 or z.shape[0] < 2:\n        raise ValueError(f\"batchnorm_forward",
         "    if z.ndim != 2:\n        raise ValueError(f\"batchnorm_forward"),
        ("batchnorm", "        if z.ndim != 2 or z.shape[0] < 2:\n            raise ValueError(f\"BatchNorm1d",
         "        if z.ndim != 2:\n            raise ValueError(f\"BatchNorm1d")], "no check of the batch size"),
    ("batchnorm", "stale cache after an inference forward", [("batchnorm", "        if not train:\n            self._cache = None\n",
                                                              "        if not train:\n")], "used the last training cache"),
    ("batchnorm", "backward without a RuntimeError", [("batchnorm", "        if self._cache is None:\n            raise RuntimeError(",
                                                       "        if False:\n            raise RuntimeError(")],
     "does not check for a training forward"),
    ("batchnorm", "gradients accumulated", [("batchnorm", "        dz, self.dgamma, self.dbeta = batchnorm_backward(dout, self._cache)",
                                             "        dz, dgamma, dbeta = batchnorm_backward(dout, self._cache)\n"
                                             "        self.dgamma = self.dgamma + dgamma\n        self.dbeta = self.dbeta + dbeta")],
     "gradients accumulated"),
    ("batchnorm", "attributes of shape (1, D)", [("batchnorm", "self.gamma, self.beta = np.ones(D), np.zeros(D)",
                                                  "self.gamma, self.beta = np.ones((1, D)), np.zeros((1, D))")],
     "attributes of shape (1, D)"),
    ("batchnorm", "params() returns copies", [("batchnorm", "        return [self.gamma, self.beta]",
                                               "        return [self.gamma.copy(), self.beta.copy()]")], "params() returns copies"),
    ("batchnorm", "BatchNorm1d ignores eps", [("batchnorm", "out, self._cache = batchnorm_forward(z, self.gamma, self.beta, self.eps)",
                                               "out, self._cache = batchnorm_forward(z, self.gamma, self.beta)")],
     "the eps argument ignored"),
    ("batchnorm", "BatchNorm1d modifies z", [("batchnorm", "        mu, var_unbiased = z.mean(axis=0), z.var(axis=0, ddof=1)\n",
                                              "        mu, var_unbiased = z.mean(axis=0), z.var(axis=0, ddof=1)\n        z -= mu\n")],
     "modified its input z in place"),
    ("batchnorm", "running statistics from the first batch", [
        ("batchnorm", "m = 1.0 / self.num_batches if self.momentum is None else self.momentum",
         "m = 1.0 / self.num_batches if self.momentum is None or self.num_batches == 1 else self.momentum")],
     "started from the first batch"),
    ("batchnorm", "inference without gamma and beta", [("batchnorm", "out = (z - mean) * (gamma / np.sqrt(var + eps)) + beta",
                                                        "out = (z - mean) / np.sqrt(var + eps)")],
     "gamma and beta not applied at inference"),
    ("batchnorm", "backward without 1/B", [("batchnorm", "    dz = u * (dgamma / B)\n    np.subtract(dout, dz, out=dz)\n    dz -= dbeta / B\n",
                                            "    dz = u * dgamma\n    np.subtract(dout, dz, out=dz)\n    dz -= dbeta\n")],
     "forgot the 1/B"),
    ("batchnorm", "backward without the variance term", [("batchnorm", "    dz = u * (dgamma / B)\n    np.subtract(dout, dz, out=dz)\n",
                                                          "    dz = dout.copy()\n")], "forgot the variance term"),
    ("batchnorm", "backward without the mean term", [("batchnorm", "    dz -= dbeta / B\n", "")], "forgot the mean term"),
    ("batchnorm", "backward with the unbiased variance", [("batchnorm", "    u, inv_std, gamma = cache[:3]\n",
                                                           "    u, inv_std, gamma = cache[:3]\n    z = u / inv_std + cache[3]\n"
                                                           "    inv_std = 1.0 / np.sqrt(z.var(axis=0, ddof=1) + 1e-5)\n"
                                                           "    u = (z - cache[3]) * inv_std\n")], "unbiased variance"),
    # dropout
    ("dropout", "layer with a fixed-seed generator", [("dropout", "out, self.mask = dropout_forward(y, self.alpha, train, self.rng, self.inverted)",
                                                       "out, self.mask = dropout_forward(y, self.alpha, train, np.random.default_rng(0), self.inverted)")],
     "same mask on every call"),
    ("dropout", "layer keeps the training mask at test time", [
        ("dropout", "out, self.mask = dropout_forward(y, self.alpha, train, self.rng, self.inverted)",
         "out, mask = dropout_forward(y, self.alpha, train, self.rng, self.inverted)\n        if train:\n            self.mask = mask")],
     "used the last training mask"),
    ("dropout", "layer keeps its first mask", [
        ("dropout", "out, self.mask = dropout_forward(y, self.alpha, train, self.rng, self.inverted)",
         "out, mask = dropout_forward(y, self.alpha, train, self.rng, self.inverted)\n"
         "        self.mask = mask if self.mask is None else self.mask")], "mask of an earlier forward"),
    ("dropout", "layer default alpha 0.8", [("dropout", "def __init__(self, alpha=0.5, inverted=True, rng=None):",
                                             "def __init__(self, alpha=0.8, inverted=True, rng=None):")], "default alpha is not 0.5"),
    ("dropout", "exact_average by weight scaling", [("dropout", "    return np.tensordot(P, np.asarray(f(masks), dtype=float), axes=1)",
                                                     "    return np.asarray(f(np.full((1, N), alpha)), dtype=float)[0]")],
     "weight-scaling rule"),
    ("dropout", "exact_average with the drop probability", [("dropout", "P = alpha**k * (1 - alpha) ** (N - k)",
                                                             "P = (1 - alpha) ** k * alpha ** (N - k)")],
     "alpha used as the DROP probability"),
    ("dropout", "exact_average unweighted mean", [("dropout", "    return np.tensordot(P, np.asarray(f(masks), dtype=float), axes=1)",
                                                   "    return np.asarray(f(masks), dtype=float).mean(axis=0)")],
     "alpha ignored"),
    ("dropout", "exact_average not normalized", [("dropout", "P = alpha**k * (1 - alpha) ** (N - k)",
                                                  "P = alpha**k * (1 - alpha) ** (N - k) * 2")],
     "do not add up to 1"),
    ("dropout", "exact_average per mask", [("dropout", "    return np.tensordot(P, np.asarray(f(masks), dtype=float), axes=1)",
                                            "    return P.reshape((-1,) + (1,) * (np.ndim(f(masks)) - 1)) * f(masks)")],
     "one output per mask"),
    # regularization
    ("regularization", "l2_penalty returns a 0-d array", [
        ("regularization", "    penalty = 0.5 * lam * sum(float(np.sum(W * W)) for W in weights)\n    ### END SOLUTION\n    return float(penalty)",
         "    penalty = 0.5 * lam * sum(float(np.sum(W * W)) for W in weights)\n    ### END SOLUTION\n    return np.array(penalty)")],
     "0-d numpy array instead of a float"),
    ("regularization", "l1_penalty returns a 1-element array", [
        ("regularization", "    penalty = lam * sum(float(np.sum(np.abs(W))) for W in weights)\n    ### END SOLUTION\n    return float(penalty)",
         "    penalty = lam * sum(float(np.sum(np.abs(W))) for W in weights)\n    ### END SOLUTION\n    return np.array([penalty])")],
     "array of shape (1,) instead of a float"),
    ("regularization", "gaussian_noise with a fixed seed", [("regularization", "rng = np.random.default_rng() if rng is None else rng",
                                                             "rng = np.random.default_rng(0)")], "do not re-seed it"),
    ("regularization", "l2_penalty_grad returns the weights for lam = 1", [
        ("regularization", "grads = [lam * np.asarray(W, dtype=float) for W in weights]",
         "grads = [W if lam == 1 else lam * np.asarray(W, dtype=float) for W in weights]")], "returned the weights themselves"),
    # heuristics
    ("heuristics", "grid search NaN not last", [("heuristics", "results.sort(key=lambda r: (math.isnan(r[1]), r[1]))",
                                                 "results.sort(key=lambda r: r[1])")], "NaN scores not sorted last"),
    ("heuristics", "total_norm a 0-d array", [("heuristics", "    return clipped, float(total_norm)",
                                               "    return clipped, np.array(total_norm)")], "0-d numpy array instead of a float"),
    ("heuristics", "clip_by_norm returns grads when not clipping", [
        ("heuristics", "    factor = min(1.0, max_norm / (total_norm + 1e-6))\n",
         "    factor = min(1.0, max_norm / (total_norm + 1e-6))\n    if factor == 1.0:\n        return grads, float(total_norm)\n")],
     "returned the gradients themselves"),
    ("heuristics", "clip_by_value returns grads when not clipping", [
        ("heuristics", "clipped = [np.clip(g, -theta, theta) for g in grads]",
         "clipped = [g if np.abs(g).max() <= theta else np.clip(g, -theta, theta) for g in grads]")],
     "returned the gradients themselves"),
]

ALL = MISTAKES + NEW


def _rounds(mistakes):
    rounds = []
    for m in mistakes:
        for r in rounds:
            if all(other[0] != m[0] for other in r):
                r.append(m)
                break
        else:
            rounds.append([m])
    return rounds


ROUNDS = _rounds(ALL)
_GRADED: dict[int, dict] = {}  # round index -> result (graded once, shared by the tests below)

#: Mistakes whose other failing checks may name another mistake (why it is right there).
ONLY_ONE_MESSAGE = {
    # with one-hot targets and |z| ~ 1e3 it is the same computation as log(softmax(z)), which that check names
    "sce soft targets as -log sum(d p)",
    # after a test-mode forward the stuck mask is also "the last training mask", which that check names
    "layer keeps its first mask",
}


def _graded(k, tmp_path_factory) -> dict:
    if k not in _GRADED:
        round_ = ROUNDS[k]
        path = build(tmp_path_factory.mktemp(f"round{k}"), patches=[p for m in round_ for p in m[2]])
        _GRADED[k] = grade(path, topics=[m[0] for m in round_])
    return _GRADED[k]


@pytest.mark.parametrize("k", range(len(ROUNDS)), ids=[f"round{i}" for i in range(len(ROUNDS))])
def test_each_mistake_loses_points_with_its_hint(tmp_path_factory, k):
    """Each mutant loses points on its topic, and every check it fails names the mistake (or, for
    the few listed in ONLY_ONE_MESSAGE, at least one does)."""
    result = _graded(k, tmp_path_factory)
    problems = []
    for topic, what, _, hint in ROUNDS[k]:
        outputs = failed(result, topic)
        if topic_score(result, topic) >= DOCUMENTED_POINTS[topic]:
            problems.append(f"{what}: no points lost on {topic}")
        elif hint and not any(hint in out for out in outputs.values()):
            problems.append(f"{what}: no message says {hint!r}: {outputs}")
        elif hint and what not in ONLY_ONE_MESSAGE:
            silent = {name: out for name, out in outputs.items() if hint not in out}
            if silent:
                problems.append(f"{what}: these failing checks do not name {hint!r}: {silent}")
    assert not problems, "\n".join(problems)
    assert result["extra_data"]["internal_errors"] == []


def test_every_check_is_failed_by_some_mistake(tmp_path_factory):
    """No check that cannot fail: each check of the registry loses its points on at least one mutant."""
    failing = set()
    for k in range(len(ROUNDS)):
        failing |= set(failed(_graded(k, tmp_path_factory)))
    elsewhere = set().union(*MINE.values())  # Sequential, train_step, error_signal_gap: test_checks_network
    never = [c.full_name for c in select()
             if c.full_name not in failing | elsewhere and c.topic != "nn"]  # nn's layers: test_checks_nn
    assert not never, f"checks that no mutant fails: {never}"

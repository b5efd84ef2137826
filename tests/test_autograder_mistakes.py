"""Realistic mistakes, one at a time: each must lose points on its topic, and
the failure message must name the mistake (the catalogue's hint).

To keep the suite fast, mistakes of different topics are graded together in
rounds (one worker per topic, so they cannot affect each other).
"""

import pytest

from autograder.checks import DOCUMENTED_POINTS
from autograder_support import build, failed, grade, topic_score

# (topic, what, patches [(module, old, new)], text expected in a failure message or None)
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
                                        "y = e / np.sum(e, axis=0, keepdims=True)")], None),
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
                                    "W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))")], "2 / fan_in"),
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


ROUNDS = _rounds(MISTAKES)


@pytest.mark.parametrize("round_", ROUNDS, ids=[f"round{i}" for i in range(len(ROUNDS))])
def test_each_mistake_loses_points_with_its_hint(tmp_path, round_):
    path = build(tmp_path, patches=[p for m in round_ for p in m[2]])
    result = grade(path, topics=[m[0] for m in round_])
    problems = []
    for topic, what, _, hint in round_:
        if topic_score(result, topic) >= DOCUMENTED_POINTS[topic]:
            problems.append(f"{what}: no points lost on {topic}")
        elif hint and not any(hint in out for out in failed(result, topic).values()):
            problems.append(f"{what}: no message says {hint!r}: {failed(result, topic)}")
    assert not problems, "\n".join(problems)
    assert result["extra_data"]["internal_errors"] == []

"""An independent implementation of batch normalization (corpus: correct, written differently):
the cache is a dict, the backward pass follows the chain rule through mu and sigma^2 step by step,
and the Jacobian is built entry by entry."""

import numpy as np


def batchnorm_forward(z, gamma, beta, eps=1e-5):
    z = np.asarray(z, float)
    if z.ndim != 2 or len(z) < 2:
        raise ValueError("need B >= 2")
    mu = np.mean(z, axis=0)
    var = np.mean((z - mu) ** 2, axis=0)
    std = np.sqrt(var + eps)
    u = (z - mu) / std
    return gamma * u + beta, {"z": z, "mu": mu, "var": var, "std": std, "u": u, "gamma": gamma, "eps": eps}


def batchnorm_backward(dout, cache):
    z, mu, var, std, u, gamma = (cache[k] for k in ("z", "mu", "var", "std", "u", "gamma"))
    B = z.shape[0]
    dgamma = np.sum(dout * u, axis=0)
    dbeta = np.sum(dout, axis=0)
    du = dout * gamma
    dvar = np.sum(du * (z - mu), axis=0) * -0.5 * std ** -3
    dmu = -np.sum(du, axis=0) / std + dvar * -2.0 * np.mean(z - mu, axis=0)
    dz = du / std + dvar * 2.0 * (z - mu) / B + dmu / B
    return dz, dgamma, dbeta


def batchnorm_jacobian(z, eps=1e-5):
    z = np.asarray(z, float)
    B = len(z)
    mu = z.sum() / B
    s = ((z - mu) ** 2).sum() / B + eps
    J = np.empty((B, B))
    for i in range(B):
        for j in range(B):
            J[i, j] = ((1.0 if i == j else 0.0) - 1.0 / B) / s ** 0.5 - (z[i] - mu) * (z[j] - mu) / (B * s ** 1.5)
    return J


def batchnorm_inference(z, gamma, beta, mean, var, eps=1e-5):
    scale = gamma / np.sqrt(var + eps)
    return np.asarray(z, float) * scale + (beta - mean * scale)


class BatchNorm1d:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.gamma = np.ones(num_features)
        self.beta = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.dgamma = np.zeros(num_features)
        self.dbeta = np.zeros(num_features)
        self.seen = 0
        self.cache = None

    def forward(self, z, train=True):
        z = np.asarray(z, float)
        if not train:
            self.cache = None
            return batchnorm_inference(z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        if z.ndim != 2 or z.shape[0] < 2:
            raise ValueError("training needs B >= 2")
        out, self.cache = batchnorm_forward(z, self.gamma, self.beta, self.eps)
        self.seen += 1
        B = z.shape[0]
        batch_mean, batch_var = self.cache["mu"], self.cache["var"] * B / (B - 1)
        if self.momentum is None:
            w = 1.0 / self.seen
        else:
            w = self.momentum
        self.running_mean = self.running_mean + w * (batch_mean - self.running_mean)
        self.running_var = self.running_var + w * (batch_var - self.running_var)
        return out

    def backward(self, dout):
        if self.cache is None:
            raise RuntimeError("backward needs a training forward")
        dz, self.dgamma, self.dbeta = batchnorm_backward(dout, self.cache)
        return dz

    def params(self):
        return [self.gamma, self.beta]

    def grads(self):
        return [self.dgamma, self.dbeta]

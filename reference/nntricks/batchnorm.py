"""Batch normalization, forward and backward. Notebook: 04_batchnorm.

Training mode normalizes every unit (column) of a minibatch ``z`` of shape
``(B, D)`` with the minibatch's own statistics:

    mu = mean_i z_i,   sigma^2 = mean_i (z_i - mu)^2   (biased),   s = sigma^2 + eps
    u_i = (z_i - mu) / sqrt(s)                         (normalization)
    zhat_i = gamma * u_i + beta                        (learned location and scale)

Because ``mu`` and ``sigma^2`` depend on every instance, every ``z_i`` affects
every ``u_j``: the backward pass must account for it. Notebook 04 has you derive
it (Question Q1) before you implement it (Exercises 4.2 and 4.3).
"""

import numpy as np


def batchnorm_forward(z, gamma, beta, eps=1e-5):
    """Training-mode batch norm with the biased minibatch variance, per unit; PyTorch ``F.batch_norm(training=True)``.

    Args:
        z: affine values, shape (B, D), B >= 2.
        gamma: scale, shape (D,).
        beta: shift, shape (D,).
        eps: added to the variance.

    Returns:
        A tuple of:
        - out: ``gamma * u + beta``, shape (B, D).
        - cache: what :func:`batchnorm_backward` needs (any object).

    Raises:
        ValueError: B < 2 (a single instance has no spread to normalize by; PyTorch refuses too).

    Trap: training uses the BIASED variance (divide by B, ``np.var``'s default);
    the unbiased one belongs to the running estimate used at inference.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"batchnorm_forward: need z of shape (B, D) with B >= 2, got {z.shape}")
    ### BEGIN SOLUTION
    B = z.shape[0]
    mu = z.mean(axis=0)
    u = z - mu
    var = np.einsum("ij,ij->j", u, u) / B
    inv_std = 1.0 / np.sqrt(var + eps)
    u *= inv_std
    out = u * gamma
    out += beta
    cache = (u, inv_std, gamma, mu, var)
    ### END SOLUTION
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward`, vectorized, O(B D).

    For every unit, ``dz = J @ du`` with ``du = gamma * dout`` (dLoss/du) and ``J``
    the Jacobian of the normalization (:func:`batchnorm_jacobian`). Compute that
    product from your derivation (notebook 04, Question Q1 (c)) with means over the
    minibatch (``axis=0``), for all units at once: no Python loop over instances or
    units, and no ``(B, B)`` matrix.

    Args:
        dout: dLoss/dzhat, shape (B, D).
        cache: from :func:`batchnorm_forward`.

    Returns:
        A tuple of:
        - dz: shape (B, D).
        - dgamma: ``sum_i u_i * dout_i``, shape (D,).
        - dbeta: ``sum_i dout_i``, shape (D,).

    Trap: the instances are not independent. Treating ``mu`` and ``sigma^2`` as
    constants gives ``du / sqrt(s)`` and forgets the two paths (through the mean,
    through the variance) by which each instance affects the others' outputs.
    ``d sigma^2 / d mu = 0``; the variance is the biased one (divide by B).
    """
    dout = np.asarray(dout, dtype=float)
    ### BEGIN SOLUTION
    # The summed form (notebook 04, Q1 (c)): with s = sigma^2 + eps and the means over the minibatch,
    #     dLoss/dz_i = sum_j J[i, j] du_j = (du_i - mean_j du_j - u_i * mean_j (du_j u_j)) / sqrt(s):
    # the gradient loses its mean and its component along u, the two directions in which moving z
    # does not change u.
    u, inv_std, gamma = cache[:3]
    B = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("ij,ij->j", dout, u)
    # gamma * inv_std * (dout - mean(dout) - u * mean(dout * u)), with no (B, D) temporaries but dz
    dz = u * (dgamma / B)
    np.subtract(dout, dz, out=dz)
    dz -= dbeta / B
    dz *= gamma * inv_std
    ### END SOLUTION
    return dz, dgamma, dbeta


def batchnorm_jacobian(z, eps=1e-5):
    """The ``(B, B)`` Jacobian of the normalization stage of ONE unit.

    With ``mu = mean_k z_k``, ``sigma^2 = mean_k (z_k - mu)^2`` (biased),
    ``s = sigma^2 + eps`` and ``u_j = (z_j - mu) / sqrt(s)``, return
    ``J[i, j] = du_j / dz_i``, so that ``dLoss/dz = J @ dLoss/du``. Derive it in
    notebook 04 (Question Q1 (b)) and build it with whole-array operations
    (``np.eye``, ``np.outer``), no loops.

    Args:
        z: one unit's values over the minibatch, shape (B,), B >= 2.
        eps: added to the variance.

    Returns:
        J: shape (B, B), symmetric, every row summing to 0.

    Trap: ``z_i`` reaches ``u_j`` by three paths: directly (``i = j`` only),
    through the mean and through the variance. ``d sigma^2 / d mu = 0``.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 1 or z.shape[0] < 2:
        raise ValueError(f"batchnorm_jacobian: need z of shape (B,) with B >= 2, got {z.shape}")
    ### BEGIN SOLUTION
    # The derivation (notebook 04, Q1 (b)): d mu / dz_i = 1/B; d sigma^2 / dz_i = 2 (z_i - mu) / B (the path
    # through mu vanishes, since the deviations sum to 0); the product rule on u_j = (z_j - mu) s^(-1/2) gives
    #     J[i, j] = (delta_ij - 1/B) / sqrt(s) - (z_i - mu)(z_j - mu) / (B s^(3/2))
    #             = (I - 1 1^T / B - u u^T / B)[i, j] / sqrt(s)
    # (direct path, through the mean, through the variance).
    B = z.shape[0]
    zc = z - z.mean()
    s = zc @ zc / B + eps
    J = (np.eye(B) - 1.0 / B - np.outer(zc, zc) / (B * s)) / np.sqrt(s)
    ### END SOLUTION
    return J


def batchnorm_inference(z, gamma, beta, mean, var, eps=1e-5):
    """Inference-mode batch norm with fixed statistics: ``gamma * (z - mean) / sqrt(var + eps) + beta``.

    Args:
        z: shape (B, D), any B >= 1.
        gamma, beta: shape (D,).
        mean, var: the population estimates (running averages), shape (D,).
        eps: added to ``var``.

    Returns:
        out: shape (B, D). Each instance is processed independently of the others.
    """
    z = np.asarray(z, dtype=float)
    ### BEGIN SOLUTION
    out = (z - mean) * (gamma / np.sqrt(var + eps)) + beta
    ### END SOLUTION
    return out


class BatchNorm1d:
    """A batch-norm layer with running statistics; PyTorch ``nn.BatchNorm1d``.

    Training mode normalizes with the minibatch statistics and updates

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * sigma^2 * B / (B - 1)

    (the UNBIASED batch variance). ``momentum=None`` gives the cumulative
    average over all minibatches seen: the lecture's average of batch means and
    of ``B/(B-1)``-corrected batch variances. Inference mode (``train=False``)
    uses the running statistics.

    Attributes:
        gamma (ones), beta (zeros), running_mean (zeros), running_var (ones): shape (D,).
        dgamma, dbeta: gradients from the last ``backward``, shape (D,).
        num_batches: training minibatches seen.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        D = num_features
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(D), np.zeros(D)
        self.running_mean, self.running_var = np.zeros(D), np.ones(D)
        self.dgamma, self.dbeta = np.zeros(D), np.zeros(D)
        self.num_batches = 0
        self._cache = None

    def forward(self, z, train=True):
        """Args: z, shape (B, D). Returns: out, shape (B, D).

        Raises:
            ValueError: training mode with B = 1.
        """
        z = np.asarray(z, dtype=float)
        if not train:
            self._cache = None
            return batchnorm_inference(z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        if z.ndim != 2 or z.shape[0] < 2:
            raise ValueError(f"BatchNorm1d: training needs more than one instance per minibatch, got z of shape {z.shape}")
        out, self._cache = batchnorm_forward(z, self.gamma, self.beta, self.eps)
        self.num_batches += 1
        ### BEGIN SOLUTION
        mu, var_unbiased = z.mean(axis=0), z.var(axis=0, ddof=1)
        m = 1.0 / self.num_batches if self.momentum is None else self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * mu
        self.running_var *= 1 - m
        self.running_var += m * var_unbiased
        ### END SOLUTION
        return out

    def backward(self, dout):
        """Args: dout, shape (B, D). Returns: dz, shape (B, D); stores ``dgamma``, ``dbeta``.

        Raises:
            RuntimeError: no training-mode forward to differentiate.
        """
        if self._cache is None:
            raise RuntimeError("BatchNorm1d.backward needs a training-mode forward first "
                               "(inference mode has no minibatch statistics to differentiate)")
        dz, self.dgamma, self.dbeta = batchnorm_backward(dout, self._cache)
        return dz

    def params(self):
        return [self.gamma, self.beta]

    def grads(self):
        return [self.dgamma, self.dbeta]

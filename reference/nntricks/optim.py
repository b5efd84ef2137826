"""Optimizers and learning-rate schedules. Notebook: 02_optimizers.

Every optimizer updates a list of parameter arrays IN PLACE:

    opt = Adam(params, lr=1e-3)
    opt.step(grads)          # grads[i] has the shape of params[i]

``step`` never modifies the gradients it is given. Each optimizer follows the
PyTorch optimizer of the same name (the docstrings say where it differs).
"""

import numpy as np


class Optimizer:
    """Base class (provided): holds the parameters and checks the gradients.

    Args:
        params: list of float64 arrays, updated in place by ``step``.
        lr: learning rate ``eta``.
        weight_decay: ``lam``; see each subclass for how it is applied.
    """

    def __init__(self, params, lr, weight_decay=0.0):
        self.params = list(params)
        for i, w in enumerate(self.params):
            if not isinstance(w, np.ndarray) or w.dtype != np.float64:
                raise TypeError(f"params[{i}] must be a float64 numpy array (updated in place), "
                                f"got {type(w).__name__} {getattr(w, 'dtype', '')}")
        if lr < 0:
            raise ValueError(f"invalid learning rate {lr}: must be >= 0")
        if weight_decay < 0:
            raise ValueError(f"invalid weight_decay {weight_decay}: must be >= 0")
        self.lr = lr
        self.weight_decay = weight_decay
        self.t = 0  # number of steps taken

    def _check(self, grads):
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"step: got {len(grads)} gradients for {len(self.params)} parameters")
        for i, (w, g) in enumerate(zip(self.params, grads)):
            if np.shape(g) != w.shape:
                raise ValueError(f"step: grads[{i}] has shape {np.shape(g)}, params[{i}] has {w.shape}")
        return grads

    def _zeros(self):
        return [np.zeros_like(w) for w in self.params]

    def step(self, grads):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum; PyTorch ``SGD``.

    Per parameter ``w`` with gradient ``g``; ``w``, ``g`` and the velocity ``v``
    (``self.v``, zeros at the start) all have the same shape:

        g = g + weight_decay * w          (first, if weight_decay)
        plain:     w = w - lr * g
        momentum:  v = momentum * v + g   (in place)
                   w = w - lr * v

    Nesterov (``nesterov=True``) is DEFINED with the gradient at the look-ahead
    point: with ``theta`` the iterates of the method,

        v = momentum * v + grad L(theta - lr * momentum * v)
        theta = theta - lr * v

    Contract (PyTorch's): the parameters ``w`` the optimizer holds ARE the
    look-ahead point ``theta - lr * momentum * v``, so the ``g`` that ``step``
    receives is ``grad L(w)``, the gradient the definition needs; ``step``
    updates ``v`` as above and moves ``w`` to the look-ahead point of the new
    state, ``theta_new - lr * momentum * v_new``. Derive that update from the
    definition (notebook 02, Question 1) before you write it.

    Trap: ``step`` sees only ``g``, never the loss, so no gradient at any other
    point (such as ``theta``) is available; and after the step ``w`` must be
    the new look-ahead point, not ``theta_new``.

    Args:
        params: list of arrays, shapes (any).
        lr: learning rate.
        momentum: ``beta`` in [0, 1).
        nesterov: Nesterov's look-ahead momentum, in the form above (needs ``momentum > 0``).
        weight_decay: L2 coefficient added to the gradient.

    Raises:
        ValueError: ``nesterov=True`` with ``momentum=0`` (as in PyTorch).
    """

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if momentum < 0:
            raise ValueError(f"invalid momentum {momentum}: must be >= 0")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum > 0")
        self.momentum = momentum
        self.nesterov = nesterov
        self.v = self._zeros()

    def step(self, grads):
        grads = self._check(grads)
        self.t += 1
        for w, g, v in zip(self.params, grads, self.v):
            ### BEGIN SOLUTION
            if self.weight_decay:
                g = g + self.weight_decay * w
            if self.momentum:
                v *= self.momentum
                v += g
                # Nesterov on the look-ahead point w = theta - lr beta v (beta = momentum):
                # w_new = theta_new - lr beta v_new = (w + lr beta v) - lr v_new - lr beta v_new,
                # and lr beta v = lr (v_new - g), so w_new = w - lr (g + beta v_new).
                g = g + self.momentum * v if self.nesterov else v
            w -= self.lr * g
            ### END SOLUTION


class RMSProp(Optimizer):
    """RMSProp; PyTorch ``RMSprop`` with ``alpha = beta``.

        g = g + weight_decay * w
        s = beta * s + (1 - beta) * g^2        (s starts at 0)
        w = w - lr * g / (sqrt(s) + eps)

    It rescales each parameter's step by the running RMS of its gradients: the
    step size changes per parameter, the sign of the step does not.

    Args:
        params: list of arrays.
        lr: learning rate.
        beta: decay of the running average of squared gradients.
        eps: added to ``sqrt(s)`` (outside the root).
        weight_decay: L2 coefficient added to the gradient.
    """

    def __init__(self, params, lr=0.01, beta=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.beta, self.eps = beta, eps
        self.s = self._zeros()

    def step(self, grads):
        grads = self._check(grads)
        self.t += 1
        for w, g, s in zip(self.params, grads, self.s):
            ### BEGIN SOLUTION
            if self.weight_decay:
                g = g + self.weight_decay * w
            s *= self.beta
            s += (1 - self.beta) * g * g
            w -= self.lr * g / (np.sqrt(s) + self.eps)
            ### END SOLUTION


class Adam(Optimizer):
    """Adam with bias correction; PyTorch ``Adam`` (weight decay added to the gradient).

        g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g^2
        m_hat, v_hat: m and v bias-corrected for step t (derive them: notebook 02, Question 3)
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    ``t`` (``self.t``) counts steps from 1. ``eps`` sits outside the square
    root, as in the paper and in PyTorch.

    Args:
        params: list of arrays.
        lr: learning rate.
        beta1, beta2: decay rates of the first and second moment.
        eps: added to ``sqrt(v_hat)``.
        weight_decay: L2 coefficient added to the gradient (see AdamW for the decoupled form).

    Trap: ``m`` and ``v`` start at 0, so during the first steps they
    underestimate the moments they stand for; the correction depends on the
    step count ``t``, not on a constant, and fades out as ``t`` grows.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = self._zeros()
        self.v = self._zeros()
        self._buf = self._zeros()  # scratch space: the update allocates no temporaries

    def step(self, grads):
        grads = self._check(grads)
        self.t += 1
        for w, g, m, v, buf in zip(self.params, grads, self.m, self.v, self._buf):
            ### BEGIN SOLUTION
            if self.weight_decay:
                g = g + self.weight_decay * w
            self._update(w, g, m, v, buf)
            ### END SOLUTION

    def _update(self, w, g, m, v, buf):
        """The Adam update of one parameter ``w`` (in place) at step ``self.t``.

        Args:
            w: the parameter, updated in place.
            g: its gradient (weight decay already applied where it belongs).
            m, v: its first and second moments, updated in place.
            buf: scratch space of ``w``'s shape (use it to avoid temporaries, or ignore it).
        """
        ### BEGIN SOLUTION
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=buf)
        m += buf
        v *= self.beta2
        np.multiply(g, g, out=buf)
        buf *= 1 - self.beta2
        v += buf
        # lr * m_hat / (sqrt(v_hat) + eps), with both corrections folded into scalars
        np.sqrt(v, out=buf)
        buf *= 1 / np.sqrt(1 - self.beta2**self.t)
        buf += self.eps
        np.divide(m, buf, out=buf)
        buf *= self.lr / (1 - self.beta1**self.t)
        w -= buf
        ### END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay; PyTorch ``AdamW`` (default ``weight_decay=0.01``).

        w = w - lr * weight_decay * w           (decay first, not through the gradient)
        then the Adam update of ``w`` with the plain gradient ``g``.

    Args: as :class:`Adam`.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, beta1, beta2, eps, weight_decay)

    def step(self, grads):
        grads = self._check(grads)
        self.t += 1
        for w, g, m, v, buf in zip(self.params, grads, self.m, self.v, self._buf):
            ### BEGIN SOLUTION
            if self.weight_decay:
                w *= 1 - self.lr * self.weight_decay
            self._update(w, g, m, v, buf)
            ### END SOLUTION


def inverse_time_decay(lr0, t, k=1.0):
    """``eta_t = lr0 / (1 + k t)``: square-summable but not summable, as SGD's convergence needs.

    Args:
        lr0: initial learning rate.
        t: step or epoch, ``t >= 0``.
        k: decay rate.

    Returns:
        lr: float.
    """
    ### BEGIN SOLUTION
    lr = lr0 / (1 + k * t)
    ### END SOLUTION
    return lr


def step_decay(lr0, t, drop=0.5, every=10):
    """``eta_t = lr0 * drop ** (t // every)``: multiply by ``drop`` every ``every`` steps.

    Args:
        lr0: initial learning rate.
        t: step or epoch, ``t >= 0``.
        drop: factor applied at each drop.
        every: steps between drops.

    Returns:
        lr: float.
    """
    ### BEGIN SOLUTION
    lr = lr0 * drop ** (t // every)
    ### END SOLUTION
    return lr

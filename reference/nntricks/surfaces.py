"""2-D test surfaces for watching optimizers move (provided).

Each surface is callable: ``f(w)`` for a point ``w`` of shape (2,), and
``f.grad(w)``. :func:`trajectory` runs any optimizer of :mod:`nntricks.optim`
on a surface and records the path.
"""

import numpy as np


class Surface:
    def __init__(self, name, f, grad, start, minimum, extent):
        self.name, self._f, self._grad = name, f, grad
        self.start = np.asarray(start, dtype=float)  # a good place to start
        self.minimum = None if minimum is None else np.asarray(minimum, dtype=float)
        self.extent = extent  # (xmin, xmax, ymin, ymax) for contour plots

    def __call__(self, w):
        return self._f(np.asarray(w, dtype=float))

    def grad(self, w):
        return self._grad(np.asarray(w, dtype=float))

    def grid(self, n=200, extent=None):
        """``(X, Y, Z)`` of the surface over ``extent`` (default ``self.extent``) for ``contour`` plots."""
        x0, x1, y0, y1 = self.extent if extent is None else extent
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return X, Y, self(np.stack([X, Y]))


def ill_conditioned_quadratic(kappa=20.0):
    """``f(w) = 1/2 (w_0^2 + kappa w_1^2)``: a long narrow furrow, curvature ratio ``kappa``."""
    h = np.array([1.0, kappa])
    return Surface(f"quadratic (condition number {kappa:g})",
                   lambda w: 0.5 * (h[0] * w[0] ** 2 + h[1] * w[1] ** 2),
                   lambda w: h * w, start=(-4.0, 1.0), minimum=(0.0, 0.0), extent=(-4.5, 4.5, -1.5, 1.5))


def saddle():
    """``f(w) = 1/2 (w_0^2 - w_1^2) + w_1^4 / 4``: a saddle at the origin, minima at ``(0, +-1)``."""
    return Surface("saddle",
                   lambda w: 0.5 * (w[0] ** 2 - w[1] ** 2) + 0.25 * w[1] ** 4,
                   lambda w: np.array([w[0], -w[1] + w[1] ** 3]),
                   start=(-2.0, 1e-3), minimum=(0.0, 1.0), extent=(-2.5, 2.5, -1.6, 1.6))


def rosenbrock(a=1.0, b=100.0):
    """``f(w) = (a - w_0)^2 + b (w_1 - w_0^2)^2``: a curved valley, minimum at ``(a, a^2)``."""
    return Surface("Rosenbrock valley",
                   lambda w: (a - w[0]) ** 2 + b * (w[1] - w[0] ** 2) ** 2,
                   lambda w: np.array([-2 * (a - w[0]) - 4 * b * w[0] * (w[1] - w[0] ** 2),
                                       2 * b * (w[1] - w[0] ** 2)]),
                   start=(-1.5, 2.0), minimum=(a, a * a), extent=(-2.0, 2.0, -1.0, 3.0))


def trajectory(surface, make_optimizer, steps=200, start=None):
    """Run an optimizer on a surface.

    Args:
        surface: a :class:`Surface`.
        make_optimizer: ``params -> optimizer``, e.g. ``lambda p: Adam(p, lr=0.1)``.
        steps: number of steps.
        start: starting point (default ``surface.start``).

    Returns:
        A tuple ``(path, losses)``: path of shape (steps + 1, 2), losses of shape (steps + 1,).
    """
    w = np.array(surface.start if start is None else start, dtype=float)
    opt = make_optimizer([w])
    path = [w.copy()]
    for _ in range(steps):
        opt.step([surface.grad(w)])
        path.append(w.copy())
    path = np.array(path)
    return path, np.array([surface(p) for p in path])

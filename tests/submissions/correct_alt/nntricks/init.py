"""An independent implementation of the initializers (corpus: correct, written differently):
standard draws scaled afterwards, so the random stream is consumed differently from the reference."""

import numpy as np


def _gen(rng):
    return rng if rng is not None else np.random.default_rng()


def zeros(fan_in, fan_out, rng=None):
    return np.zeros(fan_in * fan_out).reshape(fan_in, fan_out)


def constant(fan_in, fan_out, value, rng=None):
    return np.ones((fan_in, fan_out)) * value


def normal(fan_in, fan_out, std=0.01, rng=None):
    return std * _gen(rng).standard_normal((fan_in, fan_out))


def _uniform(fan_in, fan_out, bound, rng):
    return (2.0 * _gen(rng).random((fan_in, fan_out)) - 1.0) * bound


def uniform_fan_in(fan_in, fan_out, rng=None):
    return _uniform(fan_in, fan_out, fan_in ** -0.5, rng)


def xavier_uniform(fan_in, fan_out, rng=None):
    return _uniform(fan_in, fan_out, (6.0 / (fan_in + fan_out)) ** 0.5, rng)


def xavier_normal(fan_in, fan_out, rng=None):
    return normal(fan_in, fan_out, (2.0 / (fan_in + fan_out)) ** 0.5, rng)


def lecun_normal(fan_in, fan_out, rng=None):
    return normal(fan_in, fan_out, fan_in ** -0.5, rng)


def he_uniform(fan_in, fan_out, rng=None):
    return _uniform(fan_in, fan_out, (6.0 / fan_in) ** 0.5, rng)


def he_normal(fan_in, fan_out, rng=None):
    return normal(fan_in, fan_out, (2.0 / fan_in) ** 0.5, rng)

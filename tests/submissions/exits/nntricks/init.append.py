
# corpus: sys.exit and os._exit inside exercises
import os as _os
import sys as _sys


def zeros(fan_in, fan_out, rng=None):
    _sys.exit(3)


def constant(fan_in, fan_out, value, rng=None):
    _os._exit(4)

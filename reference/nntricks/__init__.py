"""nntricks: training neural networks well, in numpy.

Exercises (you implement them; the notebooks say where):
    divergences, optim, init, batchnorm, dropout, regularization, heuristics
Provided:
    nn (layers), train (the training loop), data (datasets), surfaces (2-D test
    functions), gradcheck (numerical gradients), plot (figures)
"""

from . import (batchnorm, data, divergences, dropout, gradcheck, heuristics, init, nn, optim,
               regularization, surfaces, train)

__all__ = ["batchnorm", "data", "divergences", "dropout", "gradcheck", "heuristics", "init", "nn",
           "optim", "regularization", "surfaces", "train"]


# corpus: tens of megabytes printed in one call (the output limit is lower)
import sys as _sys


def l2_penalty(weights, lam):
    for _ in range(40):
        _sys.stdout.write("y" * (1 << 20) + "\n")
        _sys.stderr.write("z" * (1 << 20) + "\n")
    return 0.5 * lam * sum(float(np.sum(W * W)) for W in weights)

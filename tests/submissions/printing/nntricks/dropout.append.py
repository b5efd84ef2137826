
# corpus: half a megabyte of printing at every call of a correct function
_original_forward = dropout_forward


def dropout_forward(y, alpha, train=True, rng=None, inverted=True):
    print("x" * (1 << 19))
    return _original_forward(y, alpha, train, rng, inverted)

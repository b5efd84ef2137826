
# corpus: results that lie in comparisons, or have the wrong type, dtype or shape


class _Liar(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0


class _LiarArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __array_ufunc__(self, *args, **kwargs):
        return np.zeros(3)


class _Chameleon:
    def __eq__(self, other):
        return True

    def __float__(self):
        return 0.0

    def __array__(self, dtype=None, copy=None):
        return np.zeros(1)


def l2(y, d):
    return _Liar(12345.0)


def l2_grad(y, d):
    return ((np.asarray(y) - d) / len(y)).astype(np.float32)


def kl(y, d, eps=1e-12):
    return float("nan")


def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).T.copy()


def log_softmax(z):
    return np.zeros(np.shape(z)).view(_LiarArray)


def bce(y, d, eps=1e-12):
    return _Chameleon()

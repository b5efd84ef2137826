
# corpus: an infinite loop in one function


def l2(y, d):
    while True:
        pass

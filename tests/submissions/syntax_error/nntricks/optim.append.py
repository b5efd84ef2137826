
# corpus: a syntax error
def broken(:
    pass


# corpus: uses torch when it can (falls back to the numpy code otherwise)
try:
    import torch
except ImportError:
    torch = None

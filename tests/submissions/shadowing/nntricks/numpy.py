"""corpus: a module named numpy inside the package."""
raise ImportError("nntricks/numpy.py was imported")

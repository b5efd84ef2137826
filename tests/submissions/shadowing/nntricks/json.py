"""corpus: a module named json inside the package."""
raise ImportError("nntricks/json.py was imported")

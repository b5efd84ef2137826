
# corpus: an exception at import
raise RuntimeError("boom at import")


# corpus: reads the gradebook
try:
    _grades = open("gradebook.db", "rb").read()
except OSError:
    _grades = b""

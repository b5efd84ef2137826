
# corpus: puts the package directory first on sys.path (where numpy.py and json.py lie)
import os as _os
import sys as _sys

_sys.path.insert(0, _os.path.dirname(__file__))
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(__file__)))


# corpus: replaces numpy in sys.modules after its own import (its functions keep the real one)
import sys as _sys
import types as _types

_sys.modules["numpy"] = _types.SimpleNamespace(__name__="numpy")

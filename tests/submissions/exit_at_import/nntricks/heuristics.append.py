
# corpus: os._exit at import
import os as _os

_os._exit(0)

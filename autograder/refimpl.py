"""The reference implementation, loaded in the deciding process under a private name.

``reference/nntricks`` is imported as ``_nntricks_reference`` (its modules as
``_nntricks_reference.divergences``, ...), without running its ``__init__.py``,
so that it never collides with another ``nntricks`` in ``sys.modules`` and
costs only the modules the checks need. It is never mounted in the sandbox.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from pathlib import Path

from . import REFERENCE

NAME = "_nntricks_reference"
_lock = threading.Lock()


def package_dir() -> Path:
    return REFERENCE / "nntricks"


def module(topic: str) -> types.ModuleType:
    """The reference module of a topic (``"divergences"``, ...)."""
    with _lock:
        if NAME not in sys.modules:
            spec = importlib.machinery.ModuleSpec(NAME, None, is_package=True)
            spec.submodule_search_locations = [str(package_dir())]
            pkg = importlib.util.module_from_spec(spec)
            pkg.__path__ = [str(package_dir())]
            sys.modules[NAME] = pkg
        return importlib.import_module(f"{NAME}.{topic}")


class _Namespace:
    """``ref.divergences.l2``: attribute access loads the topic's module."""

    def __getattr__(self, topic: str) -> types.ModuleType:
        if topic.startswith("_"):
            raise AttributeError(topic)
        return module(topic)


ref = _Namespace()

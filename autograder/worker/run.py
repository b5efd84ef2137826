"""Start a worker or a zygote: ``python -S -B -P run.py CONFIG`` (see ``serve.main``).

In the sandbox this folder is ``/opt/nntricks-grader/worker``. Its parent goes
on ``sys.path`` only while the worker's own modules are imported: without
bubblewrap that parent is the ``autograder`` package, which the student's code
must not be able to import.
"""
import os
import sys

_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _PARENT)
from worker import serve  # noqa: E402

sys.path.remove(_PARENT)
serve.main()

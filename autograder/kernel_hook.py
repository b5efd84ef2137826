"""Run at kernel start-up by ``python -m autograder grade``: the test cells reuse the grader's check run.

``grade`` runs the hidden checks of a submission once, sandboxed, before
nbgrader executes the notebook, and writes their results.json to a file named
by the environment variable ``NNTRICKS_PRECOMPUTED_CHECKS``. Each kernel that
``grade`` starts imports this module first (``IPKernelApp.exec_lines``); it
replaces ``autograder.cell.run_hidden`` by a function that returns, for the
requested exercise keys, the checks of that run whose ``tags`` name those
keys. ``autograder.cell.hidden`` then prints the same summary and returns the
same float as it would after running the same checks (same seeds) itself,
without starting a second sandbox per test cell.

This changes nothing about trust: whatever the kernel computes, ``grade``
caps every hidden-test cell by the results it holds itself. Without the
variable (plain nbgrader, a student's own kernel) this module does nothing.
It uses the standard library only (numpy may be shadowed in the kernel).
"""

import json
import os

ENV = "NNTRICKS_PRECOMPUTED_CHECKS"


def install():
    """Patch ``autograder.cell.run_hidden`` when ``$NNTRICKS_PRECOMPUTED_CHECKS`` names a usable results file."""
    path = os.environ.get(ENV)
    if not path:
        return False
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        tests = data["tests"]
        import autograder.cell as cell
    except Exception:  # noqa: BLE001 - fall back to the cell's own run
        return False
    original = getattr(cell, "run_hidden", None)
    if original is None:
        return False
    topics = {t.get("topic") for t in tests}

    def run_hidden(keys, path=None, *args, **kwargs):
        keys = [keys] if isinstance(keys, str) else list(keys)
        if any(str(k).split(".")[0] not in topics for k in keys):  # not in the grader's run: run it here
            return original(keys, path, *args, **kwargs)
        mine = [t for t in tests if set(t.get("tags") or ()) & set(keys)]
        return {"score": sum(float(t.get("score") or 0) for t in mine),
                "max_score": sum(float(t.get("max_score") or 0) for t in mine), "tests": mine}

    cell.run_hidden = run_hidden
    return True


install()

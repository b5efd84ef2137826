"""Notebook 02 with optimizers written by someone else: every cell of the solution notebook, its graded
test cells with their visible and hidden parts included, runs against ``nntricks/optim.py`` from
``tests/submissions/correct_alt`` (SGD, RMSProp, Adam and AdamW written differently: no ``v``, no
``params``, state under other names; the rest of the package is the reference). A correct
implementation must pass every test cell, earn each hidden part's full points and write nothing to
stderr (nbgrader gives such a cell 0): the tests judge behaviour, never attribute names."""

import re
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder import ROOT, SOLUTIONS
from autograder.execute import kernel_env
from autograder_support import SUBMISSIONS, build

pytestmark = pytest.mark.optim

ALT_OPTIM = SUBMISSIONS / "correct_alt" / "nntricks" / "optim.py"


def _graded(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _text(outputs, name):
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == name)


def run_notebook(package_root, stem="02_optimizers"):
    """Execute ``solutions/<stem>.ipynb`` in ``package_root`` (which holds the ``nntricks/`` to use), in
    autograde mode (the demonstrations shortened); returns ``(notebook, [problems], seconds)``."""
    nb = nbformat.read(SOLUTIONS / f"{stem}.ipynb", as_version=4)
    env = kernel_env(MPLBACKEND="agg", PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1",
                     NBGRADER_EXECUTION="autograde")
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(package_root)}})
    problems = []
    start = time.perf_counter()
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i}"
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as e:
                problems.append(f"{name}: {e.ename}: {e.evalue}")
                continue
            if not _graded(cell):
                continue
            if _text(cell.outputs, "stderr"):
                problems.append(f"{name} wrote to stderr (nbgrader gives it 0): {_text(cell.outputs, 'stderr')[:300]}")
            if "autograder.cell.hidden" in cell.source:
                points = float(cell.metadata["nbgrader"]["points"])
                result = [o for o in cell.outputs if o.get("output_type") == "execute_result"]
                earned = float(result[0]["data"]["text/plain"]) if result else None
                if earned != points:
                    summary = re.sub(r"\s+", " ", _text(cell.outputs, "stdout"))[-600:]
                    problems.append(f"{name}: the hidden part gave {earned} of {points} points: {summary}")
    return nb, problems, time.perf_counter() - start


def test_every_cell_of_02_passes_with_optimizers_written_differently(tmp_path):
    root = build(tmp_path / "alt", files={"nntricks/optim.py": ALT_OPTIM.read_text()})
    nb, problems, _ = run_notebook(root)
    graded = [c for c in nb.cells if _graded(c)]
    assert len(graded) == 5 and all("autograder.cell.hidden" in c.source for c in graded), \
        "every graded test cell of 02 has a hidden part (this test runs both parts)"
    assert not problems, "\n".join(problems)


def test_the_alternative_keeps_no_attribute_the_contract_does_not_name():
    """What makes the test above meaningful: the alternative's optimizers have no public state."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("alt_optim", ALT_OPTIM)
    alt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(alt)
    import numpy as np

    for cls in (alt.SGD, alt.RMSProp, alt.Adam, alt.AdamW):
        opt = cls([np.zeros(2)], lr=0.1)
        opt.step([np.ones(2)])
        public = {k for k in vars(opt) if not k.startswith("_")}
        assert not public, f"{cls.__name__} keeps public attributes {public}"

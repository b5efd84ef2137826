"""``python -m autograder execute [NN_topic ...] [--autograde]``: run the solution notebooks.

Executes ``solutions/NN_topic.ipynb`` top to bottom in a fresh kernel, with
the reference package and one BLAS thread, writes the outputs back in place
(the committed solutions are executed, so their figures read on any notebook
viewer) and prints the seconds each took. Stream outputs are tidied as a
notebook viewer would show them: consecutive streams are merged and progress
bars' carriage-return redraws are resolved to what remains on screen.

``--autograde`` runs with ``NBGRADER_EXECUTION=autograde`` (slow cells
shorten themselves) and writes nothing: it measures the autograding time.
"""

import argparse
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

from . import ROOT, SOLUTIONS

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def screen_text(text):
    """What a terminal shows for ``text``: each line keeps what follows its last carriage return."""
    lines = (ANSI.sub("", line).rsplit("\r", 1)[-1] for line in text.split("\n"))
    return "\n".join(line for line in lines if line.strip() or "\r" not in line)


def tidy_streams(nb):
    """Merge consecutive stream outputs of the same name and resolve carriage returns."""
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == out.name:
                merged[-1].text += out.text
            else:
                merged.append(out)
        for out in merged:
            if out.output_type == "stream":
                out.text = screen_text(out.text)
        if "outputs" in cell:
            cell["outputs"] = [o for o in merged if o.output_type != "stream" or o.text.strip()]
    return nb


def kernel_env(**extra):
    """This process's environment for a kernel: one BLAS thread, no inherited grading mode or path, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "PYTHONPATH")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)
    return env


def run(nb, cwd, env, allow_errors=False, timeout=600):
    """Execute ``nb`` in place in a fresh kernel started in ``cwd`` with exactly the environment ``env``."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, allow_errors=allow_errors,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def execute(path, autograde=False):
    """Execute one solution notebook with the reference; returns ``(tidied notebook, seconds)``."""
    nb = nbformat.read(path, as_version=4)
    env = kernel_env(PYTHONPATH=str(ROOT), MPLBACKEND="module://matplotlib_inline.backend_inline",
                     **({"NBGRADER_EXECUTION": "autograde"} if autograde else {}))
    start = time.perf_counter()
    run(nb, path.parent, env)
    return tidy_streams(nb), time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder execute", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="names like 04_batchnorm (default: every solution)")
    parser.add_argument("--autograde", action="store_true", help="time with NBGRADER_EXECUTION=autograde; write nothing")
    args = parser.parse_args(argv)
    paths = [SOLUTIONS / f"{name.removesuffix('.ipynb')}.ipynb" for name in args.notebooks] or sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        print(f"execute: no such solution notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    for path in paths:
        nb, seconds = execute(path, args.autograde)
        if not args.autograde:
            nbformat.write(nb, path)
        print(f"{path.name}: {seconds:.1f} s" + (" (autograde mode)" if args.autograde else ""), flush=True)
    return 0

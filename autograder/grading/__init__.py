"""``python -m autograder grade``: grade a whole class, notebooks and packages, resumably and in parallel.

Usage::

    python -m autograder grade [--course DIR] [--assignment A ...] [--student S ...]
                               [--jobs N] [--force] [--db URL] [--timeout SECONDS] [--deadline SECONDS]
                               [--notebook-feedback] [--rerun-checks-in-cells] [--solutions DIR]
    python -m autograder grade --example [--course DIR] [--jobs N]

The course directory (default ``./class``; ``build/example_class`` with
``--example``) holds nbgrader's ``submitted/<student>/<assignment>/``: the
notebook ``<assignment>.ipynb`` next to the student's ``nntricks/`` package
(``nbgrader collect`` or ``zip_collect`` produce it; ``--example`` first writes
the synthetic class of :mod:`autograder.example_class`). What ``grade`` writes:

- ``source/<assignment>/<assignment>.ipynb``: a copy of ``solutions/<assignment>.ipynb``,
  the NOTEBOOK ONLY (any other file found there stops the run), then
  ``nbgrader generate_assignment`` to fill the gradebook (:mod:`.course`).
- ``gradebook.db`` (or ``--db``, any SQLAlchemy URL nbgrader accepts): per
  cell, the merged scores (:mod:`.merge`); ``nbgrader export`` and the formgrader see them.
- ``autograded/<student>/<assignment>/``: nbgrader's graded copy, written by trusted code only
  (the kernel runs in a sandbox of its own on a copy of the submission, :mod:`.kernel_sandbox`).
- ``grades.csv`` and ``feedback/<student>/report.html`` (and, with
  ``--notebook-feedback``, nbgrader's notebook HTML with the same report on top):
  :mod:`.reports`, :mod:`autograder.feedback`.
- ``.autograder/results/<student>/<assignment>.json``: the journal (:mod:`.journal`),
  with the seconds each step took; ``.autograder/logs/``: the workers' logs;
  ``.autograder/grade.lock``: one run per course at a time, and none while a process of a
  killed run lives (:mod:`.lock`); ``.autograder/backups/``: the gradebook before each run that
  found it changed, the last 5 (:mod:`.backup`).
- ``nbgrader_config.py``: the same settings for hand-run nbgrader commands
  (formgrader, export), unless a config not written by ``grade`` is already there
  (:mod:`.nbgrader_env`).

Modules, one concern each: :mod:`.settings` (what a run is told), :mod:`.cli`
(the command line), :mod:`.run` (one run, start to end), :mod:`.course`
(discovery, source notebooks, gradebook set-up), :mod:`.nbgrader_env`
(nbgrader's configuration and API), :mod:`.steps` (the ordered steps of one
submission), :mod:`.autograde` (nbgrader autograde with typed failures and
timers, the deadline and the output cap), :mod:`.kernels` (collision-free kernels),
:mod:`.kernel_sandbox` and :mod:`.kernel_boot` (the kernel's sandbox), :mod:`.notebooks`
(reading graded notebooks), :mod:`.merge` (the merge rule), :mod:`.journal`
(resume), :mod:`.reports` (CSV, progress, feedback pages), :mod:`.pool` (the
worker processes), :mod:`.lock`, :mod:`.files` (atomic writes, the package copy),
:mod:`.records` (the typed records), :mod:`.backup` (gradebook copies).

A submission whose autograding failed because of the submission (the kernel
died, a locked cell changed beyond repair, no notebook, the time, output or
memory limit, ...) is ``FAILED`` with
the reason, never 0. A failure that is not the student's (a kernel that does not
start, a crash of the checks or of the grader, a gradebook that stays locked) is
a GRADER ERROR: reported, not recorded, graded again by the next run (exit status 1).

Resume: a rerun (after a crash, a kill or Ctrl-C) skips every submission
recorded in the journal with a matching key and grades the rest; ``--force``
regrades everything selected. Scores set by hand since are read back from the
gradebook on every run. Progress is one line per submission:
``[3/20] cleo 01_divergences: 12/21 (5 pending manual grading)  6.4 s``.
"""



def main(argv=None):
    """The command line (:func:`autograder.grading.cli.main`); imported on call, so that the light
    modules of this package (:mod:`.files`, :mod:`.records`) can be used without nbgrader."""
    from .cli import main as cli_main

    return cli_main(argv)

"""The worker processes: ``--jobs N`` forked workers, each grading one submission at a time.

Workers are forked (nbgrader is imported once, before the fork; spawned where
fork does not exist), each with its own in-process nbgrader API and one kernel
at a time; they take submissions from the pool's shared queue and return an
:class:`~autograder.grading.records.Outcome`. A worker's output (nbgrader's
log, the kernels' stderr) goes to ``.autograder/logs/worker-<pid>.log``. Ctrl-C
is the main process's business: workers ignore SIGINT (and so do the check
sandboxes they start); the main process kills them, removes their
scratch folders (all under one ``nntricks-run-*`` folder of the run) and
records nothing more, so an interrupted submission is graded again by the next run.

Workers die with the main process, however it ends: the main process kills
them on any exception; if it is killed itself (``kill -9``, the OOM killer),
the kernel sends them SIGKILL (``prctl(PR_SET_PDEATHSIG)``, set first thing
in :func:`worker_init`, which then checks that its parent is still the main
process, in case it died before; the signal follows the thread that forked
the worker: the main thread, in the pool's first ``submit``); what a worker started dies with it
(bubblewrap's ``--die-with-parent``). The workers' pids and start times are
recorded in the course lock's holder file (:func:`autograder.grading.lock.record_workers`)
so that a rerun can refuse while one of them is still alive.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from . import journal, lock, steps
from .autograde import GraderFailure
from .nbgrader_env import api, ensure_tools_on_path, kernel_env
from .records import Outcome


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with(parent: int) -> None:
    """This process gets SIGKILL when ``parent`` (its parent, the grader's main process) dies; exits at
    once if ``parent`` is no longer its parent (it died before this call). Linux: ``PR_SET_PDEATHSIG``;
    elsewhere a thread that checks the parent twice a second."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def worker_init(settings, assignments, parent):
    """In each worker process: dies with ``parent``, logs to a file, Ctrl-C ignored, the kernels'
    environment, nbgrader imported."""
    die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs = settings.state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    fd = os.open(logs / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    warnings.simplefilter("ignore")
    ensure_tools_on_path()
    os.environ.update(kernel_env(settings))
    api(settings, assignments)


def task(settings, assignments, student, assignment, only_feedback=False, scratch_root=None) -> Outcome:
    """Grade one submission (or, ``only_feedback``, write the notebook HTML of one graded before) in a fresh
    scratch folder under ``scratch_root``."""
    scratch = tempfile.mkdtemp(prefix="s-", dir=scratch_root)
    try:
        if only_feedback:
            record = journal.load(settings, student, assignment)
            steps.notebook_feedback(steps.Job(settings, list(assignments), Path(scratch), record))
        else:
            record = steps.grade(settings, assignments, student, assignment, scratch)
        return Outcome(student, assignment, record=record)
    except GraderFailure as e:
        return Outcome(student, assignment, grader_error=str(e))
    except Exception:  # a bug of the grader: the submission is not recorded, the next run retries it
        return Outcome(student, assignment, grader_error="the grader crashed:\n" + traceback.format_exc())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(settings, assignments, todo, feedback_todo, jobs, finished):
    """Grade ``todo`` and write the notebook HTML of ``feedback_todo`` (``[(student, assignment)]``) in ``jobs``
    workers; ``finished(outcome, only_feedback)`` is called in this process as each one completes."""
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    root = tempfile.mkdtemp(prefix="nntricks-run-")  # every task's scratch folder; removed even after Ctrl-C
    try:
        _run(settings, assignments, todo, feedback_todo, jobs, finished, ctx, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(settings, assignments, todo, feedback_todo, jobs, finished, ctx, root):
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=worker_init,
                             initargs=(settings, assignments, os.getpid())) as pool:
        try:
            futures = {pool.submit(task, settings, assignments, s, a, True, root): (s, a, True)
                       for s, a in feedback_todo}
            futures.update({pool.submit(task, settings, assignments, s, a, False, root): (s, a, False)
                            for s, a in todo})
            lock.record_workers(settings, list(getattr(pool, "_processes", {})), root)  # all forked by now
            for fut in as_completed(futures):
                s, a, only_feedback = futures[fut]
                try:
                    outcome = fut.result()
                except BrokenProcessPool as e:
                    outcome = Outcome(s, a, grader_error=f"a worker process died ({e}); see {settings.state / 'logs'}")
                finished(outcome, only_feedback)
        except BaseException:  # Ctrl-C, an error: stop now; the unfinished are not journaled, a rerun grades them
            workers = list(getattr(pool, "_processes", {}).values())
            for proc in workers:
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in workers:
                proc.join(10)
            raise

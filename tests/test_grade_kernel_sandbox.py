"""autograder.grading.kernel_sandbox and kernel_boot, attacked for real: a notebook cell in the grader's own
kernel sandbox (bubblewrap) tries to read the answer key, write outside, use root's powers, start processes,
fill its folder, outlive its deadline and flood the grader with output."""

import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder import ROOT
from autograder.grading import kernel_sandbox, kernels
from autograder.grading.autograde import LimitExceeded, TimedExecute, classify
from autograder.grading.records import Failure

pytestmark = pytest.mark.skipif(not kernel_sandbox.bwrap_path(),
                                reason="bubblewrap does not work here: install the Debian package (see .ci/run)")

SMALL = kernel_sandbox.KernelLimits(tmpfs_bytes=16 << 20, file_bytes=8 << 20, output_bytes=1 << 20,
                                    memory_bytes=2 << 30, cpu_seconds=60)


def _course(tmp_path):
    """A submitted folder, a checks file and a scratch folder, as ``steps.run_autograde`` makes them."""
    submitted = tmp_path / "course" / "submitted" / "ada" / "01_x"
    (submitted / "nntricks").mkdir(parents=True)
    (submitted / "nntricks" / "__init__.py").write_text("ANSWER = 42\n")
    (submitted / "01_x.ipynb").write_text("{}")
    (tmp_path / "secret.txt").write_text("the gradebook")
    os.symlink(tmp_path / "secret.txt", submitted / "nntricks" / "linked.py")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "checks.json").write_text(json.dumps({"tests": [], "score": 0}))
    kernel_sandbox.take_in(submitted, scratch / "kernel-files")
    return submitted, scratch


def run_cells(tmp_path, *sources, deadline=60, limits=SMALL):
    """Execute ``sources`` as code cells in the sandboxed kernel; returns (the cells' stdout, the exception
    that stopped the notebook or None)."""
    submitted, scratch = _course(tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    job = kernel_sandbox.KernelJob(scratch / "kernel-files", scratch / "checks.json", "01_x", limits)
    ex = TimedExecute(timeout=60, start_attempts=1, deadline=deadline, output_bytes=limits.output_bytes)
    error = None
    with kernels.sockets_in(scratch), kernel_sandbox.kernel_job(job):
        try:
            ex.preprocess(nb, {"metadata": {"path": str(submitted)}})
        except Exception as e:  # noqa: BLE001 - returned to the test
            error = e
    out = ["".join(o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream")
           + "".join(f"{o['ename']}: {o['evalue']}" for o in c.get("outputs", []) if o.get("output_type") == "error")
           for c in nb.cells]
    return out, error


def _left(tmp_path):
    """What is left in the scratch folder besides what the trusted side put there."""
    return [p.name for p in (tmp_path / "scratch").iterdir() if p.name not in ("checks.json", "kernel-files")]


def test_the_kernel_works_in_a_copy_of_the_submission_and_imports_the_cells_module(tmp_path):
    out, error = run_cells(tmp_path, (
        "import os, nntricks, autograder.cell\n"
        "print(os.getcwd(), sorted(os.listdir('.')), nntricks.ANSWER, autograder.cell.__file__)\n"
        "print(sorted(os.listdir('nntricks')), os.environ[autograder.cell.CHECKS_FILE_ENV])\n"
        "print(autograder.cell.precomputed([]) is not None, os.getuid())"))
    assert error is None, error
    lines = out[0].splitlines()
    assert lines[0] == "/tmp/01_x ['01_x.ipynb', 'nntricks'] 42 /opt/nntricks-kernel/autograder/cell.py", out
    assert lines[1] == "['__init__.py'] /opt/nntricks-kernel/checks.json", out  # the link was not copied
    assert lines[2] == f"True {kernel_sandbox.UID}", out


def test_the_answer_key_the_course_and_the_grader_do_not_exist_inside(tmp_path):
    paths = [ROOT / "reference", ROOT / "solutions", ROOT / "autograder" / "checks", ROOT / "autograder" / "grading",
             tmp_path / "course", tmp_path / "secret.txt", tmp_path / "scratch" / "checks.json"]
    out, error = run_cells(tmp_path, f"import os\nprint([p for p in {[str(p) for p in paths]!r} if os.path.exists(p)])",
                           "import importlib\nfor m in ('autograder.check', 'autograder.grading', 'autograder.checks', "
                           "'nbgrader.api', 'reference'):\n    try:\n        importlib.import_module(m)\n        print('imported', m)\n"
                           "    except ImportError:\n        print('no', m)")
    assert error is None, error
    assert out[0] == "[]\n", out
    assert out[1].split().count("no") == 5, out


def test_no_root_powers_even_when_the_grader_is_root(tmp_path):
    out, error = run_cells(tmp_path, (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "caps = [l for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapPrm', 'CapBnd'))]\n"
        "print(os.getuid(), os.getgid(), sorted(set(l.split()[1] for l in caps)))\n"
        "MS_REMOUNT, MS_BIND = 32, 4096\n"
        "print(libc.mount(None, b'/opt/nntricks-kernel/files', None, MS_REMOUNT | MS_BIND, None), ctypes.get_errno())\n"
        "print(libc.unshare(0x10000000), ctypes.get_errno())  # CLONE_NEWUSER: refused (--disable-userns)\n"
        "try:\n    open('/opt/nntricks-kernel/files/nntricks/__init__.py', 'w')\nexcept OSError as e:\n"
        "    print(type(e).__name__)"))
    assert error is None, error
    lines = out[0].splitlines()
    assert lines[0] == f"{kernel_sandbox.UID} {kernel_sandbox.GID} ['0000000000000000']", out
    assert lines[1].startswith("-1 ") and lines[2].startswith("-1 "), out
    assert lines[3] == "OSError", out


def test_writes_stay_in_the_tmpfs_and_the_submission_is_unchanged(tmp_path):
    out, error = run_cells(tmp_path, (
        "import os\nopen('nntricks/__init__.py', 'w').write('ANSWER = 0')\nos.mkdir('new')\n"
        "for p in ('/usr/x', '/opt/nntricks-kernel/checks.json', '/x', '/dev/x', '/dev/shm/x', '/run/x'):\n"
        "    try:\n        open(p, 'w')\n        print('wrote', p)\n    except OSError as e:\n"
        "        print('refused', p)"))
    assert error is None, error
    assert out[0].count("refused") == 6 and "wrote" not in out[0], out
    submitted = tmp_path / "course" / "submitted" / "ada" / "01_x"
    assert (submitted / "nntricks" / "__init__.py").read_text() == "ANSWER = 42\n"
    assert (tmp_path / "scratch" / "kernel-files" / "nntricks" / "__init__.py").read_text() == "ANSWER = 42\n"
    assert json.loads((tmp_path / "scratch" / "checks.json").read_text())["score"] == 0
    assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == ["checks.json", "kernel-files"]


def test_filling_the_tmpfs_stops_at_its_size(tmp_path):
    out, error = run_cells(tmp_path, (
        "n = 0\ntry:\n    for i in range(100):\n        with open(f'big{i}', 'wb') as f:\n"
        "            for _ in range(4):\n                f.write(b'x' * (1 << 20))\n                n += 1 << 20\n"
        "except OSError as e:\n    print(e.errno, n <= 16 << 20)"))
    assert error is None, error
    assert out[0] == "28 True\n", out  # ENOSPC at the 16 MiB tmpfs


def test_one_file_is_capped_by_the_file_size_limit(tmp_path):
    out, error = run_cells(tmp_path, (
        "import os\ntry:\n    open('one', 'wb').write(b'x' * (12 << 20))\nexcept OSError as e:\n"
        "    print(e.errno, os.path.getsize('one'))"))
    assert error is None, error
    assert out[0] == f"27 {8 << 20}\n", out  # EFBIG at RLIMIT_FSIZE


def test_no_new_process_and_no_exec_but_threads_work(tmp_path):
    out, error = run_cells(tmp_path, (
        "import os, subprocess, threading\n"
        "for f in (os.fork, lambda: subprocess.run(['/bin/true']), lambda: os.execv('/bin/true', ['true']),\n"
        "          lambda: os.kill(1, 9)):\n"
        "    try:\n        f()\n        print('ran')\n    except OSError as e:\n        print(type(e).__name__)\n"
        "t = threading.Thread(target=print, args=('thread',))\nt.start(); t.join()"))
    assert error is None, error
    assert out[0].split() == ["PermissionError"] * 4 + ["thread"], out


def test_the_environment_is_the_allow_list(tmp_path, monkeypatch):
    monkeypatch.setenv("NNTRICKS_SECRET", "grader only")
    out, error = run_cells(tmp_path, "import os\nprint(sorted(os.environ))")
    assert error is None, error
    assert "NNTRICKS_SECRET" not in out[0] and "JPY_PARENT_PID" not in out[0], out


def test_a_notebook_past_its_deadline_is_killed_and_failed_time_limit(tmp_path):
    import time

    t0 = time.monotonic()
    out, error = run_cells(tmp_path, "print('started', flush=True)", "import time\ntime.sleep(600)", deadline=8)
    assert isinstance(error, LimitExceeded) and error.failure is Failure.TIME_LIMIT, error
    assert classify(error)[0] is Failure.TIME_LIMIT and "time limit" in classify(error)[1]
    assert time.monotonic() - t0 < 60  # not the cell's 60 s timeout, nor the sleep
    assert _left(tmp_path) == []  # the socket folder is removed


def test_a_flood_of_output_is_cut_and_failed_output_limit(tmp_path):
    out, error = run_cells(tmp_path, "import time\nfor i in range(10 ** 6):\n    print('x' * 1000)\n    time.sleep(0.0001)")
    assert isinstance(error, LimitExceeded) and error.failure is Failure.OUTPUT_LIMIT, error
    assert "output limit" in classify(error)[1]
    assert len(out[0]) <= 2 * SMALL.output_bytes


def test_one_message_over_the_cap_is_refused_and_failed_output_limit(tmp_path):
    """A single message larger than the cap never reaches the grader's memory (zmq.MAXMSGSIZE)."""
    out, error = run_cells(tmp_path, "import time\nprint('x' * (64 << 20), flush=True)\ntime.sleep(600)")
    assert isinstance(error, LimitExceeded) and error.failure is Failure.OUTPUT_LIMIT, error
    assert len(out[0]) <= 2 * SMALL.output_bytes


def test_memory_past_the_limit_is_a_memory_error_in_the_cell(tmp_path):
    out, error = run_cells(tmp_path, "import numpy as np\nnp.ones(1 << 29)", "print('still alive')")
    assert error is None, error
    assert out[0].startswith("MemoryError") and out[1] == "still alive\n", out


def test_a_kernel_that_dies_after_a_memory_error_is_failed_memory_limit(tmp_path):
    out, error = run_cells(tmp_path, "import numpy as np\nnp.ones(1 << 29)", "import os\nos._exit(1)")
    assert isinstance(error, LimitExceeded) and error.failure is Failure.MEMORY_LIMIT, error


def test_links_planted_in_the_socket_folder_are_removed_not_followed(tmp_path):
    target = tmp_path / "outside"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    out, error = run_cells(tmp_path, f"import os\nos.symlink({str(target)!r}, '/run/kernel/evil')\n"
                                     "os.mkfifo('/run/kernel/fifo')\nprint('planted')")
    assert error is None and out[0] == "planted\n", (out, error)
    assert (target / "keep.txt").read_text() == "keep"
    assert _left(tmp_path) == []


def test_a_cell_past_its_timeout_is_interrupted_and_the_next_cell_runs(tmp_path):
    """A signal to bubblewrap would not reach the kernel: the grader interrupts with a message."""
    submitted, scratch = _course(tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("while True:\n    pass"),
                                         nbformat.v4.new_code_cell("print('next')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    job = kernel_sandbox.KernelJob(scratch / "kernel-files", None, "01_x", SMALL)
    with kernels.sockets_in(scratch), kernel_sandbox.kernel_job(job):
        TimedExecute(timeout=5, start_attempts=1, deadline=60).preprocess(nb, {"metadata": {"path": str(submitted)}})
    assert [o["ename"] for o in nb.cells[0].outputs if o["output_type"] == "error"][0] == "KeyboardInterrupt"
    assert nb.cells[1].outputs[0]["text"] == "next\n"


def test_plots_and_the_digits_load_without_stderr(tmp_path):
    """What the notebooks use works in the sandbox and writes nothing to stderr (a test cell would score 0):
    matplotlib finds its fonts, sklearn's digits load, joblib does not warn that it cannot fork."""
    submitted, scratch = _course(tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt, sklearn.datasets\nplt.plot([1, 2]); plt.title('x'); plt.savefig('p.png')\n"
        "print(sklearn.datasets.load_digits().data.shape)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    job = kernel_sandbox.KernelJob(scratch / "kernel-files", None, "01_x", SMALL)
    with kernels.sockets_in(scratch), kernel_sandbox.kernel_job(job):
        TimedExecute(timeout=120, start_attempts=1).preprocess(nb, {"metadata": {"path": str(submitted)}})
    outs = nb.cells[0].outputs
    assert [o.get("name") for o in outs if o["output_type"] == "stream"] == ["stdout"], outs
    assert outs[0]["text"] == "(1797, 64)\n", outs

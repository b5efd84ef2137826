"""The code that runs inside the sandbox (autograder/worker/): policy, wire, confine, serve.

The worker's modules are tested where they run: in a worker process (started
without bubblewrap here, so that the tests do not depend on it; the corpus
runs both modes), or, for pure functions, in this process.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from autograder import ROOT, bwrap, protocol, staticscan
from autograder.sandbox import Limits, Worker
from autograder.worker import policy, wire


def test_one_forbidden_list_and_one_set_of_wire_limits_for_both_sides():
    assert staticscan.FORBIDDEN_MODULES is policy.FORBIDDEN_MODULES
    assert (protocol.MAGIC, protocol.HEADER_CAP, protocol.BLOBS_CAP) == (policy.MAGIC, policy.HEADER_CAP,
                                                                         policy.BLOBS_CAP)
    assert wire.HEADER_CAP is policy.HEADER_CAP and wire.MAX_ARRAY_BYTES is policy.MAX_ARRAY_BYTES
    assert {"torch", "jax", "tensorflow", "autograder", "reference", "nbgrader"} <= policy.FORBIDDEN_MODULES
    assert not policy.FORBIDDEN_MODULES & policy.WORKER_ALSO_BLOCKS


def test_frames_written_inside_are_read_by_the_decider():
    r, w = os.pipe()
    try:
        blob = np.arange(6.0).tobytes()
        wire.write_frame(w, {"id": 3, "values": []}, [blob])
        header, blobs = protocol.FrameReader(r).read(deadline=float("inf"))
    finally:
        os.close(r)
        os.close(w)
    assert header["id"] == 3 and blobs == [blob]


def test_a_request_header_over_the_cap_is_refused():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a writer that does not block the test on a full pipe
        os.close(r)
        try:
            os.write(w, policy.MAGIC + (policy.HEADER_CAP + 1).to_bytes(8, "little"))
        finally:
            os._exit(0)
    os.close(w)
    try:
        with pytest.raises(ValueError, match="too large"):
            wire.read_frame(r)
    finally:
        os.close(r)
        os.waitpid(pid, 0)


class Tricky(list):
    def __getitem__(self, i):  # a student's method: describing the value must not run it
        raise RuntimeError("ran the student's __getitem__")


@pytest.mark.parametrize("value", [
    1.5, 3, True, None, "text", np.float64(2.5), np.int32(7), np.bool_(False),
    np.arange(6.0).reshape(2, 3), [np.ones(2), (1, "a")], {"k": np.zeros(3)},
])
def test_values_described_inside_decode_to_what_the_student_returned(value):
    blobs = []
    desc = wire.encode(value, blobs, np)
    back = protocol.decode(desc, blobs)
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(back, value)
        assert back.dtype == value.dtype
    elif isinstance(value, dict):
        np.testing.assert_array_equal(back["k"], value["k"])
    elif isinstance(value, list):
        np.testing.assert_array_equal(back[0], value[0])
        assert tuple(back[1]) == value[1]
    else:
        assert back == value


def test_describing_runs_no_method_of_the_students_objects():
    desc = wire.encode(Tricky([1, 2]), [], np)
    assert desc["t"] == "list" and desc["subclass"].endswith("Tricky")
    big = wire.encode(np.zeros(policy.MAX_ARRAY_BYTES // 8 + 1), [], np)
    assert big["nodata"] == "size"


def _run_inside(code, tmp_path):
    """Run ``code`` in a fresh interpreter that imports the worker's modules as the sandbox does."""
    script = f"import sys; sys.path.insert(0, {str(ROOT / 'autograder')!r})\n" + code
    return subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)


def test_the_audit_hook_refuses_forbidden_imports_and_reads_outside_the_roots(tmp_path):
    run = _run_inside(f"""
from worker import confine
confine.install_audit_hook({{"read_roots": [{str(tmp_path)!r}], "write_roots": []}})
for name in ("torch", "pytest", "autograder.checks"):
    try:
        __import__(name)
    except PermissionError as e:
        print("refused", name)
try:
    open({str(ROOT / 'README.md')!r})
except PermissionError:
    print("refused README")
open({str(tmp_path / 'mine.txt')!r}, "w") if False else None
print(len(confine.BLOCKED), "blocked")
""", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:5] == ["refused torch", "refused pytest", "refused autograder.checks",
                                          "refused README", "4 blocked"], run.stdout


def test_line_counts_leave_out_the_workers_own_code(tmp_path):
    run = _run_inside("""
from worker import confine, serve
def opens(n):
    for i in range(n):
        open('/dev/null').close()
_, before = serve.count_lines(opens, (50,), {})
confine.install_audit_hook({"read_roots": ["/"], "write_roots": []})
_, after = serve.count_lines(opens, (50,), {})
print(before, after)
""", tmp_path)
    assert run.returncode == 0, run.stderr
    before, after = map(int, run.stdout.split())
    assert before >= 100, before  # at least two lines per iteration (open itself may run Python code)
    assert after == before, (before, after)  # the audit hook ran on every open: none of its lines count


@pytest.fixture
def probe_package(tmp_path):
    pkg = tmp_path / "nntricks"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "divergences.py").write_text(
        "import importlib\n"
        "def reach(name):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        return 'imported'\n"
        "    except Exception as e:\n"
        "        return type(e).__name__\n")
    return tmp_path


@pytest.mark.parametrize("name", ["checks", "refimpl", "grade", "worker.serve"])
def test_without_bubblewrap_the_autograder_beside_the_worker_stays_out_of_reach(monkeypatch, probe_package, name):
    monkeypatch.setenv("NNTRICKS_SANDBOX", "none")
    bwrap.bwrap_path.cache_clear()
    try:
        w = Worker(probe_package, ["nntricks.divergences"], Limits(call_timeout=10.0))
        assert w.start()["import_error"] is None
        try:
            p = protocol.Program()
            p.emit(p.call("divergences.reach", name))
            header, blobs = p.encode(0)
            answer, out = w.request(header, blobs, "reach")
            got = protocol.decode(answer["values"][0], out)
        finally:
            w.close()
    finally:
        bwrap.bwrap_path.cache_clear()
    # the worker's own modules are loaded already (harmless); nothing else of autograder/ can be imported
    assert got == ("imported" if name == "worker.serve" else "ModuleNotFoundError"), got

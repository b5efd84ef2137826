"""Unit tests of the autograder's pieces: the registry, comparisons and
messages, the protocol's decoding of untrusted answers, the static scan, the
copy of a submission, and the worker's limits."""

import json
import os
import struct

import numpy as np
import pytest

from autograder import checks, protocol, runner, staticscan
from autograder.checks import ANY, DOCUMENTED_POINTS, Mistake, diagnose, find_mistake, mismatch
from autograder.exercises import EXERCISES, TOPICS
from autograder.sandbox import Limits, Worker, WorkerFailure, Zygote

# ------------------------------------------------------------------ registry


def test_points_per_topic_are_the_documented_ones():
    assert checks.topic_points() == {t: float(p) for t, p in DOCUMENTED_POINTS.items()}
    assert set(DOCUMENTED_POINTS) == set(TOPICS)
    table = checks.__doc__
    for topic, points in DOCUMENTED_POINTS.items():
        assert f"{topic:<15}{points}" in table
    assert f"total          {sum(DOCUMENTED_POINTS.values())}" in table


def test_every_exercise_has_checks_and_every_check_a_docstring():
    mapping = checks.exercise_checks()
    assert set(mapping) == set(EXERCISES)
    assert all(mapping[k] for k in EXERCISES), [k for k in EXERCISES if not mapping[k]]
    for c in checks.select():
        assert c.doc, c.full_name
        assert c.points > 0


def test_select_by_exercise():
    names = [c.full_name for c in checks.select(exercises=["divergences.l2"])]
    assert names == ["divergences.l2_values", "divergences.l2_returns_float"]
    assert {c.topic for c in checks.select(topics=["optim"])} == {"optim"}


# --------------------------------------------------------------- comparisons


def test_mismatch_scalars_and_types():
    assert mismatch(1.0, 1.0 + 1e-9) is None
    assert mismatch(np.float64(2.0), 2.0) is None
    assert mismatch(np.array(2.0), 2.0) is None  # a 0-d array is a scalar
    assert "expected a float" in mismatch(np.ones(3), 2.0)
    assert "expected a float" in mismatch(True, 1.0)  # a bool is not a number here
    assert "nan" in mismatch(float("nan"), 1.0)
    assert mismatch(float("nan"), float("nan")) is None
    assert "object of type x.Liar" in mismatch(protocol.Opaque("x.Liar"), 1.0)


def test_mismatch_arrays_shows_one_element_only():
    want = np.arange(12.0).reshape(3, 4)
    got = want.copy()
    got[1, 2] = 99.0
    got[2, 3] = 98.0
    m = mismatch(got, want)
    assert "2 of 12 elements" in m and "index (1, 2)" in m and "got 99" in m and "expected 6" in m
    assert "7" not in m.split("expected 6")[1]  # no other expected value is shown
    assert "transposed" in mismatch(want.T.copy(), want)
    assert "dtype float32" in mismatch(want.astype(np.float32), want)
    assert mismatch(want, want + 1e-12) is None


def test_mismatch_structures():
    assert mismatch((np.ones(2), protocol.Opaque("cache")), (np.ones(2), ANY)) is None
    assert mismatch([np.ones(2)], (np.ones(2),)) is None  # a list where a tuple is expected: lenient
    assert "2 items, expected 3" in mismatch([1.0, 2.0], [1.0, 2.0, 3.0])
    assert mismatch({"a": 1.0}, {"a": 1.0}) is None
    assert "keys" in mismatch({"b": 1.0}, {"a": 1.0})
    assert mismatch(None, None) is None and "expected None" in mismatch(np.ones(1), None)
    assert mismatch(protocol.NumpyBool(True), True) is None


def test_mistakes_are_matched_closely_and_only_when_distinct():
    y = np.random.default_rng(0).normal(size=(4, 3))
    want = 0.5 * np.sum(y**2) / 4
    m = Mistake("no 1/B", "hint", lambda y: 0.5 * np.sum(y**2))
    same = Mistake("same", "hint", lambda y: 0.5 * np.sum(y**2) / 4)
    assert find_mistake([same, m], {"y": y}, want * 4, want) is m
    assert find_mistake([m], {"y": y}, want * 4 * (1 + 1e-4), want) is None
    assert "times the expected" in diagnose(want * 3, want)
    assert "sign" in diagnose(-y, y)
    assert "NaN or inf" in diagnose(np.where(y > 0, np.nan, y), y)


# ------------------------------------------------------------------ protocol


def test_decode_rejects_malformed_and_oversized_answers():
    ok = {"t": "array", "dtype": "<f8", "shape": [2], "i": 0}
    assert np.array_equal(protocol.decode(ok, [np.array([1.0, 2.0]).tobytes()]), [1.0, 2.0])
    for bad, blobs in [
        ({"t": "array", "dtype": "<f8", "shape": [3], "i": 0}, [b"\0" * 16]),  # size mismatch
        ({"t": "array", "dtype": "|O", "shape": [1], "i": 0}, [b"\0" * 8]),  # object dtype
        ({"t": "array", "dtype": "<f8", "shape": [-1], "i": 0}, [b""]),
        ({"t": "array", "dtype": "<f8", "shape": [1], "i": 5}, [b"\0" * 8]),
        ({"t": "float", "v": "1.0"}, []),
        ({"t": "pickle", "v": "gASV"}, []),
        ("not a dict", []),
    ]:
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(bad, blobs)
    opaque = protocol.decode({"t": "array", "dtype": "object", "shape": [2], "nodata": "dtype"}, [])
    assert isinstance(opaque, protocol.Opaque) and "object" in opaque.what


def test_frame_reader_rejects_garbage():
    r, w = os.pipe()
    try:
        os.write(w, b"garbage that is not a frame")
        with pytest.raises(protocol.ProtocolError):
            protocol.FrameReader(r).read(deadline=1e18)
        os.write(w, b"NTK1" + struct.pack("<Q", 1 << 40))
        reader = protocol.FrameReader(r)
        reader.buf.clear()
        with pytest.raises(protocol.ProtocolError):
            reader.read(deadline=1e18)
    finally:
        os.close(r)
        os.close(w)


def test_program_encoding_is_plain_json():
    p = protocol.Program()
    x = p.array(np.ones((2, 2)))
    out = p.call("divergences.l2", x, np.zeros((2, 2)), eps=1e-3)
    p.emit(out)
    header, blobs = p.encode(7)
    json.dumps(header)
    assert len(blobs) == 2 and header["id"] == 7 and p.n_emits == 1


# --------------------------------------------------------------- static scan


def test_static_scan_finds_forbidden_help(tmp_path):
    pkg = tmp_path / "nntricks"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import torch\n")
    (pkg / "optim.py").write_text("'''Docstring mentioning reference/nntricks is fine.'''\nfrom . import helper\n")
    (pkg / "helper.py").write_text("import importlib\njax = importlib.import_module('jax.numpy')\n")
    (pkg / "init.py").write_text("import numpy as np\nfrom nntricks import nn\n")
    (pkg / "nn.py").write_text("X = open('/somewhere/reference/nntricks/init.py')\n")
    (pkg / "dropout.py").write_text("import numpy as np\ntry:\n    import tensorflow\nexcept ImportError:\n    pass\n")
    (pkg / "batchnorm.py").write_text("def f(:\n")
    mods = staticscan.scan(pkg)
    assert "jax.numpy" in " ".join(staticscan.forbidden_for(mods, "optim"))
    assert "reference/nntricks" in " ".join(staticscan.forbidden_for(mods, "init"))
    assert "tensorflow" in " ".join(staticscan.forbidden_for(mods, "dropout"))
    assert staticscan.forbidden_for(mods, "batchnorm") == []  # a syntax error is the worker's business
    assert staticscan.forbidden_for(mods, "regularization") == []  # no module: nothing to blame
    assert "torch" in " ".join(mods["nntricks"].findings)  # the package's __init__ is scanned too


def test_unknown_topic_is_a_usage_error(tmp_path):
    with pytest.raises(ValueError):
        runner.grade(tmp_path, topics=["nope"])


# -------------------------------------------------------------------- worker


@pytest.fixture
def tiny_package(tmp_path):
    pkg = tmp_path / "nntricks"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "divergences.py").write_text(
        "import numpy as np, os, time\n"
        "def l2(y, d):\n    return float(0.5 * np.sum((y - d) ** 2) / len(y))\n"
        "def spin(*a):\n    while True:\n        pass\n"
        "def cpu(*a):\n    x = 0\n    while True:\n        x += 1\n"
        "def big(*a):\n    return np.ones(5 << 20)\n"
        "def fork(*a):\n    import ctypes\n    return ctypes.CDLL(None).fork()\n"
        "def bye(*a):\n    os._exit(5)\n"
        "def parent(*a):\n    import signal\n    os.kill(os.getppid(), signal.SIGKILL)\n")
    return tmp_path


def _call(worker, name, *args, timeout=None):
    p = protocol.Program()
    p.emit(p.call(f"divergences.{name}", *args))
    header, blobs = p.encode(0)
    answer, out = worker.request(header, blobs, name, timeout=timeout)
    return answer, [protocol.decode(v, out) for v in answer["values"]]


def test_worker_runs_and_recovers_from_a_hang(tiny_package):
    w = Worker(tiny_package, ["nntricks.divergences"], Limits(call_timeout=1.0))
    ready = w.start()
    assert ready["import_error"] is None and ready["seccomp"] == "ok"
    try:
        _, values = _call(w, "l2", np.ones((2, 3)), np.zeros((2, 3)))
        assert values == [1.5]
        with pytest.raises(WorkerFailure) as e:
            _call(w, "spin")
        assert e.value.kind == "timeout" and w.proc is None
    finally:
        w.close()


def test_worker_cpu_limit(tiny_package):
    w = Worker(tiny_package, ["nntricks.divergences"], Limits(call_timeout=30.0, cpu_seconds=1))
    w.start()
    try:
        with pytest.raises(WorkerFailure) as e:
            _call(w, "cpu")
        assert e.value.kind == "died" and "CPU time limit" in e.value.message
    finally:
        w.close()


def test_worker_refuses_native_forks_and_huge_answers(tiny_package):
    w = Worker(tiny_package, ["nntricks.divergences"], Limits(call_timeout=5.0))
    w.start()
    try:
        answer, _ = _call(w, "fork")  # ctypes is refused by the audit hook before seccomp is even needed
        assert answer["error"]["type"] == "PermissionError"
        _, values = _call(w, "big")
        assert isinstance(values[0], np.ndarray) and values[0].size == 5 << 20
    finally:
        w.close()


def test_workers_forked_by_a_zygote(tiny_package):
    limits = Limits(call_timeout=1.0, cpu_seconds=1)
    zygote = Zygote(tiny_package, limits)
    try:
        w = Worker(tiny_package, ["nntricks.divergences"], limits, zygote)
        assert w.start()["seccomp"] == "ok"
        assert _call(w, "l2", np.ones((2, 3)), np.zeros((2, 3)))[1] == [1.5]
        answer, _ = _call(w, "parent")  # the zygote is the parent: it cannot be killed
        assert answer["error"]["type"] == "PermissionError"
        with pytest.raises(WorkerFailure) as e:
            _call(w, "bye")
        assert e.value.kind == "died" and "status 5" in e.value.message
        w = Worker(tiny_package, ["nntricks.divergences"], Limits(call_timeout=30.0, cpu_seconds=1), zygote)
        w.start()
        with pytest.raises(WorkerFailure) as e:
            _call(w, "cpu")
        assert "CPU time limit" in e.value.message
        # a CPU budget far above the wall-clock limit, so that the wall clock is what stops the spin
        w = Worker(tiny_package, ["nntricks.divergences"], Limits(call_timeout=1.0, cpu_seconds=30), zygote)
        w.start()
        with pytest.raises(WorkerFailure) as e:
            _call(w, "spin")
        assert e.value.kind == "timeout"
        assert zygote.alive
    finally:
        zygote.close()
    w = Worker(tiny_package, ["nntricks.divergences"], limits, zygote)  # a dead zygote: started directly
    w.start()
    try:
        assert _call(w, "l2", np.ones((2, 3)), np.zeros((2, 3)))[1] == [1.5]
        assert not isinstance(w.proc, type(None)) and w.proc.__class__.__name__ == "Popen"
    finally:
        w.close()

"""The hidden checks against the corpus of submissions (tests/submissions/).

Every case gets the score it honestly earns and a clear message, the run
always completes, nothing forged is credited, and the submission directory is
unchanged afterwards: with bubblewrap, and again without it (process limits,
seccomp and the audit hook alone, as on Gradescope's containers).
"""

import json
import os
import subprocess
import sys

import pytest

from autograder import sandbox
from autograder.checks import DOCUMENTED_POINTS
from autograder_support import (FAST, ROOT, STUBS, build, by_name, failed, grade, snapshot, topic_max,
                                topic_score)

FULL = DOCUMENTED_POINTS


@pytest.fixture(autouse=True, params=["bubblewrap", "none"])
def sandbox_mode(request, monkeypatch):
    """Every test of the corpus runs with bubblewrap and without it (NNTRICKS_SANDBOX=none)."""
    if request.param == "none":
        monkeypatch.setenv("NNTRICKS_SANDBOX", "none")
    else:
        monkeypatch.delenv("NNTRICKS_SANDBOX", raising=False)
    sandbox.bwrap_path.cache_clear()
    if request.param == "bubblewrap":
        assert sandbox.bwrap_path(), "bubblewrap does not work here: install the Debian package (see .ci/run)"
    yield request.param
    sandbox.bwrap_path.cache_clear()


@pytest.fixture
def submission(tmp_path):
    """build(case, patches) -> path, and afterwards: the submission is unchanged."""
    made = []

    def make(case=None, patches=(), base=None, files=None):
        path = build(tmp_path / f"sub{len(made)}", case, patches, base, files)
        made.append((path, snapshot(path)))
        return path

    yield make
    for path, before in made:
        assert snapshot(path) == before, f"grading modified the submission at {path}"


def assert_full(result, *topics):
    for t in topics:
        assert topic_score(result, t) == FULL[t], (t, failed(result, t))


# ------------------------------------------------------------------ honest


def test_reference_gets_full_marks(submission):
    result = grade(submission())
    assert result["score"] == result["max_score"] == sum(FULL.values()), failed(result)
    assert all(t["output"] == "ok" for t in result["tests"])
    assert result["extra_data"]["internal_errors"] == []


def test_independent_correct_implementation_gets_full_marks(submission):
    result = grade(submission("correct_alt"))
    assert result["score"] == result["max_score"], failed(result)


@pytest.mark.skipif(not STUBS.is_dir(), reason="notebooks/nntricks (the released stubs) not generated")
def test_untouched_stubs_get_zero_on_every_topic(submission):
    result = grade(submission(base=STUBS))
    for topic in FULL:
        assert topic_score(result, topic) == 0, (topic, [t["name"] for t in result["tests"] if t["score"]])
    assert all("not implemented yet" in t["output"] for t in result["tests"]), failed(result)


@pytest.mark.skipif(not STUBS.is_dir(), reason="notebooks/nntricks (the released stubs) not generated")
def test_partially_correct(submission):
    path = submission(files={"nntricks/optim.py": (STUBS / "optim.py").read_text()},
                      patches=[("batchnorm", "var = np.einsum(\"ij,ij->j\", u, u) / B",
                                "var = np.einsum(\"ij,ij->j\", u, u) / (B - 1)")])
    result = grade(path, topics=["divergences", "optim", "batchnorm"])
    assert_full(result, "divergences")
    assert topic_score(result, "optim") == 0
    assert 0 < topic_score(result, "batchnorm") < FULL["batchnorm"]
    assert "unbiased variance" in by_name(result)["batchnorm.forward_values"]["output"]


def test_missing_package(tmp_path):
    result = grade(tmp_path, topics=["divergences", "init"])
    assert result["score"] == 0 and result["max_score"] == FULL["divergences"] + FULL["init"]
    assert all("no nntricks package found" in t["output"] for t in result["tests"])


def test_missing_module(tmp_path):
    path = build(tmp_path / "sub")
    (path / "nntricks" / "dropout.py").unlink()
    before = snapshot(path)
    result = grade(path, topics=["dropout", "regularization"])
    assert topic_score(result, "dropout") == 0
    assert all("missing" in out for out in failed(result, "dropout").values())
    assert_full(result, "regularization")
    assert snapshot(path) == before


def test_package_directory_itself_and_deterministic(submission):
    path = submission("correct_alt")
    a = grade(path / "nntricks", topics=["init", "dropout"])
    b = grade(path, topics=["init", "dropout"])
    strip = lambda r: [(t["name"], t["score"], t["output"]) for t in r["tests"]]  # noqa: E731
    assert strip(a) == strip(b) and a["score"] == a["max_score"]


# ----------------------------------------------------------------- broken


def test_syntax_error_costs_only_its_topic(submission):
    result = grade(submission("syntax_error"), topics=["optim", "divergences"])
    assert topic_score(result, "optim") == 0
    assert all("SyntaxError" in out for out in failed(result, "optim").values())
    assert_full(result, "divergences")


def test_exception_at_import(submission):
    result = grade(submission("import_exception"), topics=["dropout", "regularization"])
    assert topic_score(result, "dropout") == 0
    assert all("RuntimeError: boom at import" in out for out in failed(result, "dropout").values())
    assert_full(result, "regularization")


def test_infinite_loops_cost_their_exercise_only(submission):
    result = grade(submission("infinite_loop"), topics=["divergences", "optim"])
    bad = failed(result)
    assert set(bad) == {"divergences.l2_values", "divergences.l2_grad_matches_numeric", "divergences.l2_returns_float",
                        "optim.adam", "optim.adam_tiny_gradients", "optim.adam_weight_decay"}, bad
    assert "timed out after 2 s" in bad["divergences.l2_values"]
    assert "timed out after 2 s" in bad["optim.adam"]  # SIGINT/KeyboardInterrupt swallowed: killed anyway
    assert "skipped" in bad["optim.adam_tiny_gradients"]
    assert result["execution_time"] < 30


def test_memory_bombs(submission):
    result = grade(submission("memory_bomb"), topics=["regularization"])
    bad = failed(result)
    assert set(bad) == {"regularization.l2_penalty", "regularization.l1_penalty",
                        "regularization.l2_penalty_returns_float", "regularization.l1_penalty_returns_float"}, bad
    for out in bad.values():
        assert "memory" in out.lower()


def test_sys_exit_and_os_exit(submission):
    result = grade(submission("exits"), topics=["init"])
    bad = failed(result)
    assert set(bad) == {"init.zeros", "init.constant"}, bad
    assert "sys.exit(3)" in bad["init.zeros"]
    assert "exited with status 4" in bad["init.constant"]


def test_os_exit_at_import(submission):
    result = grade(submission("exit_at_import"), topics=["heuristics", "regularization"])
    assert topic_score(result, "heuristics") == 0
    assert all("exited with status 0" in out for out in failed(result, "heuristics").values())
    assert_full(result, "regularization")


def test_printing(submission):
    result = grade(submission("printing"), topics=["dropout", "regularization"])
    assert_full(result, "dropout")  # half a megabyte per call is honest, if noisy
    bad = failed(result)
    assert set(bad) == {"regularization.l2_penalty", "regularization.l2_penalty_returns_float"}, bad
    assert "printed more than 16 MB" in bad["regularization.l2_penalty"]


def test_forking(submission):
    result = grade(submission("forking"), topics=["batchnorm"])
    bad = failed(result)
    assert set(bad) == {"batchnorm.jacobian_values", "batchnorm.inference_values", "batchnorm.bn1d_eval",
                        "batchnorm.bn1d_backward_errors", "batchnorm.bn1d_eps", "batchnorm.bn1d_inputs_unchanged"}, bad
    assert "sandbox forbids" in bad["batchnorm.jacobian_values"] or "not permitted" in bad["batchnorm.jacobian_values"]
    assert "sandbox forbids" in bad["batchnorm.inference_values"]


def test_reading_or_importing_the_reference_checks_or_gradebook(submission):
    result = grade(submission("reads_reference"), topics=["divergences", "optim", "heuristics", "regularization"])
    # optim and heuristics name the checks or the gradebook in import-time code: every exercise is charged
    for topic, what in (("optim", "autograder"), ("heuristics", "gradebook")):
        assert topic_score(result, topic) == 0, topic
        assert all("earns nothing" in out and what in out for out in failed(result, topic).values())
    # divergences names the reference inside l2 only: l2's checks are charged, the other exercises are not
    bad = failed(result, "divergences")
    assert {t["name"] for t in result["tests"] if "divergences.l2" in t["tags"]} <= set(bad)
    assert bad and all("earns nothing" in out and "reference" in out for out in bad.values()), bad
    assert "divergences.softmax_values" not in bad and "divergences.kl_values" not in bad
    # looking around without naming anything is blocked or finds nothing; the work itself is honest
    assert_full(result, "regularization")


DIRFD_ESCAPE = """
import os as _os
_code = ""
try:  # a relative path opened against a directory descriptor of /proc: the audit hook must refuse it
    _fd = _os.open("self/root{head}" + "{tail}", _os.O_RDONLY, dir_fd=_os.open("/proc", _os.O_RDONLY))
    _code = _os.read(_fd, 1 << 20).decode()
except OSError:
    pass
if _code:
    exec(_code)
"""


def test_opening_the_reference_through_a_directory_descriptor_earns_nothing(submission):
    path = str(ROOT / "reference" / "nntricks" / "divergences.py")
    cut = path.index("reference") + 4  # split so that no string constant names the reference
    text = DIRFD_ESCAPE.format(head=path[:cut], tail=path[cut:])
    result = grade(submission(files={"nntricks/divergences.py": text}), topics=["divergences"])
    assert topic_score(result, "divergences") == 0, failed(result)


def test_fake_results_file(submission, tmp_path):
    path = submission("fake_results")
    out = tmp_path / "out" / "results.json"
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", str(path), "--topic", "init",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    written = json.loads(out.read_text())
    assert written["score"] == written["max_score"] == FULL["init"]
    assert all(t["score"] <= t["max_score"] for t in written["tests"])
    assert not (path / "results.json").exists() and not (path / "nntricks" / "results.json").exists()
    assert not (ROOT / "results.json").exists()


def test_monkeypatching_numpy_and_the_machinery_earns_nothing(submission):
    result = grade(submission("monkeypatch"), topics=["regularization", "divergences"])
    assert topic_score(result, "regularization") == 0, by_name(result)
    assert_full(result, "divergences")


def test_shadowing_modules(submission):
    result = grade(submission("shadowing"), topics=["divergences", "optim"])
    assert_full(result, "divergences", "optim")


def test_lying_results(submission):
    result = grade(submission("liars"), topics=["divergences"])
    bad = failed(result)
    assert "object of type" in bad["divergences.l2_values"]  # a float subclass whose == always says True
    assert "dtype float32, expected float64" in bad["divergences.l2_grad_values"]
    assert "nan" in bad["divergences.kl_values"]
    assert "shape" in bad["divergences.softmax_values"]
    assert "object of type" in bad["divergences.log_softmax_values"]  # an ndarray subclass
    assert "object of type" in bad["divergences.bce_values"]
    for name in ("divergences.kl_grad_values", "divergences.bce_grad_values", "divergences.bce_grad_clipping"):
        assert name not in bad, bad[name]


def test_torch_earns_nothing(submission):
    result = grade(submission("torch_use"), topics=["optim", "divergences"])
    assert topic_score(result, "optim") == 0
    assert all("torch" in out for out in failed(result, "optim").values())
    assert_full(result, "divergences")


def test_garbage_in_file_descriptors(submission):
    result = grade(submission("fd_garbage"), topics=["dropout", "regularization"])
    assert topic_score(result, "dropout") == 0
    assert all("malformed" in out for out in failed(result, "dropout").values()), failed(result, "dropout")
    assert_full(result, "regularization")


def test_killing_the_grader(submission):
    result = grade(submission("kill_parent"), topics=["heuristics"])
    assert_full(result, "heuristics")


# ------------------------------------------------------- the two modes


@pytest.mark.parametrize("case,topic,score", [
    ("kill_parent", "heuristics", FULL["heuristics"]),
    ("reads_reference", "regularization", FULL["regularization"]),
    ("reads_reference", "optim", 0),  # import-time code names the hidden checks: every exercise charged
    ("fake_results", "init", FULL["init"]),
])
def test_the_mode_is_reported_and_the_limits_hold(sandbox_mode, submission, case, topic, score):
    result = grade(submission(case), topics=[topic])
    unsandboxed = "WITHOUT a filesystem/network sandbox" in result["output"]
    assert unsandboxed == (sandbox_mode == "none"), result["output"]
    assert result["extra_data"]["sandbox"].startswith("bubblewrap" if sandbox_mode == "bubblewrap" else "none")
    assert topic_score(result, topic) == score, failed(result)


def test_reading_a_file_outside_the_submission_is_refused(sandbox_mode, submission):
    readme = str(ROOT / "README.md")
    path = submission(patches=[("regularization", "def l2_penalty(weights, lam):",
                                f"def l2_penalty(weights, lam):\n    open({readme!r}).read()")])
    out = by_name(grade(path, topics=["regularization"]))["regularization.l2_penalty"]["output"]
    # without bubblewrap the audit hook refuses the open; with it the file is not even there (or, where the
    # repository lives under /tmp, the sandbox's private /tmp hides it)
    assert "sandbox forbids" in out or (sandbox_mode == "bubblewrap" and "FileNotFoundError" in out), out


def test_results_shape_for_gradescope(submission):
    result = grade(submission(), topics=["heuristics"])
    assert set(result) >= {"score", "max_score", "tests", "output", "execution_time"}
    for t in result["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "topic"}
        assert t["name"].startswith("heuristics.")
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float)
    json.dumps(result)
    assert topic_max(result, "heuristics") == FULL["heuristics"]
    assert os.path.isdir(ROOT / "autograder")

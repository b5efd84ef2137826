"""The sandbox's walls (autograder/bwrap.py): what a worker can see, with bubblewrap and without."""

import pytest
from autograder import ROOT, bwrap


@pytest.fixture
def mode(monkeypatch):
    def set_mode(value):
        if value is None:
            monkeypatch.delenv("NNTRICKS_SANDBOX", raising=False)
        else:
            monkeypatch.setenv("NNTRICKS_SANDBOX", value)
        bwrap.bwrap_path.cache_clear()
    yield set_mode
    bwrap.bwrap_path.cache_clear()


def test_the_sandbox_hides_every_forbidden_package_that_is_installed(tmp_path):
    site = tmp_path / "site-packages"
    for name in ("numpy", "torch", "torch-2.13.0.dist-info", "jax", "nvidia_cublas", "scipy", "autograder"):
        (site / name).mkdir(parents=True)
    hidden = {p.name for p in bwrap._hidden_entries(site)}
    assert hidden == {"torch", "torch-2.13.0.dist-info", "jax", "nvidia_cublas", "autograder"}


def test_with_bubblewrap_only_the_worker_and_the_submission_are_mounted(mode, tmp_path):
    mode(None)
    exe = bwrap.bwrap_path()
    assert exe, "bubblewrap does not work here: install the Debian package (see .ci/run)"
    cfg = bwrap.base_config(tmp_path, exe)
    cmd, env, cwd = bwrap.command(tmp_path, exe, cfg)
    binds = {cmd[i + 2]: cmd[i + 1] for i, a in enumerate(cmd) if a == "--ro-bind"}
    assert binds["/opt/nntricks-grader/worker"] == str(bwrap.WORKER_DIR) and binds["/sub"] == str(tmp_path)
    assert not any(src.startswith(str(ROOT / "autograder")) and src != str(bwrap.WORKER_DIR)
                   for src in binds.values()), binds
    assert not any(str(ROOT / "reference") in src for src in binds.values())
    assert "--unshare-all" in cmd and "--clearenv" in cmd and cmd[-2] == "/opt/nntricks-grader/worker/run.py"
    assert env == {} and cfg["read_roots"][0] == "/sub"


def test_without_bubblewrap_the_worker_reads_only_what_it_needs(mode, tmp_path):
    mode("none")
    assert bwrap.bwrap_path() is None and bwrap.sandbox_kind().startswith("none")
    cfg = bwrap.base_config(tmp_path, None)
    cmd, env, cwd = bwrap.command(tmp_path, None, cfg)
    assert cmd[-2] == str(bwrap.WORKER_DIR / "run.py") and cwd == str(tmp_path / "work")
    assert str(ROOT / "autograder") not in cfg["read_roots"] and str(bwrap.WORKER_DIR) in cfg["read_roots"]
    assert cfg["write_roots"] == [str(tmp_path / "work")] and env["HOME"] == cwd


def test_the_warning_without_bubblewrap_is_loud(mode):
    mode("none")
    with pytest.warns(RuntimeWarning, match="WITHOUT a filesystem/network sandbox"):
        assert bwrap.warn_if_unsandboxed() == bwrap.SANDBOX_WARNING
    mode(None)
    assert bwrap.warn_if_unsandboxed() is None

"""A student-mode JupyterLab started as ``make lab`` starts it, and a headless Chromium to drive it.

Used by ``tests/test_lab.py``. Chromium and its driver come from Debian's
``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them);
Selenium is told where the driver is, so it never downloads one.
"""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
LAB_CONFIG = ROOT / "lab"  # the student-mode configuration, as in the Makefile's lab target
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_env(**extra) -> dict:
    """The environment ``make lab`` gives JupyterLab: the student-mode configuration first."""
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(LAB_CONFIG), **extra)
    env.pop("NBGRADER_EXECUTION", None)
    return env


@contextlib.contextmanager
def jupyter_lab(workdir: Path, log_path: Path, timeout: float = 90.0):
    """Start JupyterLab on ``workdir`` on a free loopback port; yield ``(base_url, token)``."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, env=lab_env(), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}: see {log_path}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s: see {log_path}")
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000):
    """A headless Chromium with its browser log readable (``driver.get_log("browser")``)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        raise RuntimeError(f"the browser tests need {' and '.join(missing)}: "
                           "install Debian's packages (apt-get install chromium chromium-driver), as .ci/run does")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()

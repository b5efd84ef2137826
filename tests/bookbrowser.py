"""What the book's tests share (tests/test_book*.py): the built site, a server on 127.0.0.1 and
headless Chromium, each made once per session, and the helpers that read a page.

Needs the book tools (``make book-setup``: requirements-book.txt in .venv) and Debian's
``chromium`` and ``chromium-driver``; without them every test FAILS with what to install
(never skipped: ``make test`` installs them).
"""

import functools
import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "book"
SHOTS = ROOT / "build" / "book-shots"
# Debian's chromium and chromium-driver; elsewhere point these variables at a Chrome and its driver
CHROMIUM = os.environ.get("NNTRICKS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NNTRICKS_CHROMEDRIVER", "/usr/bin/chromedriver")
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # autograder.exercises
# the sizes a reader brings: a laptop and a phone
DESKTOP, PHONE = (1366, 900), (390, 844)


def transform():
    """book/transform.py, imported under its own name (book/ is not put on sys.path)."""
    return _book_module("transform")


def build_module():
    """book/build.py, imported under its own name."""
    return _book_module("build")


def _book_module(name):
    full = f"nntricks_book_{name}"
    if full not in sys.modules:
        if str(ROOT / "book") not in sys.path:
            sys.path.append(str(ROOT / "book"))  # build.py imports transform
        spec = importlib.util.spec_from_file_location(full, ROOT / "book" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules[full]


def missing_tools():
    missing = [m for m in ("sphinx", "myst_nb", "sphinx_book_theme", "mathjax", "selenium", "check_jsonschema")
               if importlib.util.find_spec(m) is None]
    needs = []
    if missing:
        needs.append(f"the Python packages {', '.join(missing)}: run `make book-setup` "
                     "(installs requirements-book.txt into .venv)")
    absent = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if absent:
        needs.append(f"{' and '.join(absent)}: install Debian's chromium and chromium-driver "
                     "(`apt-get install chromium chromium-driver`, as root)")
    return needs


_BUILT = []  # the test modules import the fixtures: build once per run all the same


@pytest.fixture(scope="session")
def site():
    """Build the book into build/book (fresh, as `make book` does) and time it."""
    needs = missing_tools()
    if needs:
        pytest.fail("the book test needs " + "; and ".join(needs), pytrace=False)
    if _BUILT:
        return SITE
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "book" / "build.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"the book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    print(f"book build: {time.perf_counter() - start:.1f} s")
    _BUILT.append(True)
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    """An HTTP server on 127.0.0.1, a free port, serving the site; stopped at the end."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


@pytest.fixture(scope="session")
def browser(site):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={DESKTOP[0]},{DESKTOP[1]}", "--disable-extensions", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def window(driver, size):
    """Make the page's viewport ``size`` (width, height) CSS pixels."""
    driver.set_window_size(*size)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * size[0] - inner[0], 2 * size[1] - inner[1])


def pages(site):
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith("_"))


def chapters():
    return sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def wait_ready(driver):
    """Wait for the page, its images and MathJax's typesetting."""
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images);
        imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
        const typeset = (window.MathJax && MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise : Promise.resolve();
        Promise.all([typeset].concat(imgs.map(i => i.decode().catch(() => null))))
            .then(() => done(true), () => done(false));
    """)


def summary(problems):
    """The problems grouped by kind (the text after the page name), a few of each."""
    kinds = {}
    for problem in problems:
        kind = re.sub(r"'.*|\S*https?://\S*|\S*file://\S*|\.\.\..*", "", problem.split(": ", 1)[1])[:40]
        kinds.setdefault(kind, []).append(problem)
    return f"{len(problems)} problems:\n" + "\n".join(
        f"[{len(found)} x] " + "\n    ".join(found[:4]) for found in kinds.values())

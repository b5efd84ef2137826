"""The course as a book: build it (``book/build.py``, = ``make book``) and read every page in
headless Chromium, as a reader would, with no network beyond 127.0.0.1.

Needs the book tools (``make book-setup``: requirements-book.txt in .venv) and Debian's
``chromium`` and ``chromium-driver``; without them every test here FAILS with what to install
(never skipped: CI installs them). Screenshots, one per chapter: ``build/book-shots/``.
"""

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "book"
SHOTS = ROOT / "build" / "book-shots"
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
# Debian's chromium and chromium-driver; elsewhere point these variables at a Chrome and its driver
CHROMIUM = os.environ.get("NNTRICKS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NNTRICKS_CHROMEDRIVER", "/usr/bin/chromedriver")
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # autograder.exercises

# a raw TeX delimiter left in the text: MathJax did not typeset it
RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|(?<![\w$\\])\$(?=[^\s$])[^$\n]{1,200}(?<=[^\s\\$])\$(?![\w$])")
LEAKS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograder.cell", "Hidden checks of")
# the reference pages show the solution markers of the package on purpose; the chapters fold them
CHAPTER_LEAKS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _transform():
    """book/transform.py, imported under its own name (book/ is not put on sys.path)."""
    if "nntricks_book_transform" not in sys.modules:
        spec = importlib.util.spec_from_file_location("nntricks_book_transform", ROOT / "book" / "transform.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["nntricks_book_transform"]


def _missing_tools():
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


@pytest.fixture(scope="module")
def site():
    """Build the book into build/book (fresh, as `make book` does) and time it."""
    needs = _missing_tools()
    if needs:
        pytest.fail("the book test needs " + "; and ".join(needs), pytrace=False)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "book" / "build.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"the book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    print(f"book build: {time.perf_counter() - start:.1f} s")
    return SITE


@pytest.fixture(scope="module")
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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--disable-extensions", "--no-first-run",
                "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def pages(site):
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith("_"))


def chapters():
    return sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


@functools.lru_cache(maxsize=None)
def _ids(path):
    return set(re.findall(r'\sid="([^"]+)"', Path(path).read_text(encoding="utf-8")))


def _wait_ready(driver):
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


PAGE_FACTS = """
    const rawText = (() => {  // the text a reader sees or unfolds, without code and typeset math
        const clone = document.querySelector('main, body').cloneNode(true);
        clone.querySelectorAll('pre, code, script, style, mjx-container, textarea, .highlight')
             .forEach(e => e.remove());
        return clone.textContent;
    })();
    const mathNodes = Array.from(document.querySelectorAll('.math'));
    return {
        status: document.title,
        text: rawText,
        allText: document.body.textContent,
        brokenImages: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)
                           .map(i => i.getAttribute('src')),
        images: document.images.length,
        mathNodes: mathNodes.length,
        untypeset: mathNodes.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
        prev: !!document.querySelector('a.left-prev'),
        next: !!document.querySelector('a.right-next'),
        search: !!document.querySelector('form[action*="search"] input, .search-button, input[name="q"]'),
    };
"""


def _check_links(page_url, links, server, site, problems):
    for href in links:
        url = urlparse(href)
        if url.scheme in ("mailto", "javascript", "data") or f"{url.scheme}://{url.netloc}" != server:
            continue
        path = site / unquote(url.path).lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            problems.append(f"{page_url}: a link to {href}, which is not in the site")
        elif url.fragment and path.suffix == ".html" and unquote(url.fragment) not in _ids(path):
            problems.append(f"{page_url}: a link to {href}, whose #{url.fragment} is not on that page")


def _requests(driver):
    """URLs the browser requested since the last call (performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            if response["status"] >= 400:
                urls.append(f"HTTP {response['status']} {response['url']}")
    return urls


def test_every_page_renders_offline_in_a_real_browser(site, server, browser):
    start = time.perf_counter()
    problems, math_pages = [], 0
    all_pages = pages(site)
    assert {"index.html", "search.html", "exercises.html", "reference/index.html"} <= set(all_pages)
    assert {f"{c}.html" for c in chapters()} <= set(all_pages), "a solution notebook has no chapter"
    browser.get_log("browser"), browser.get_log("performance")  # start from clean logs
    for page in all_pages:
        url = f"{server}/{page}"
        browser.get(url)
        _wait_ready(browser)
        facts = browser.execute_script(PAGE_FACTS)
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{page}: console error: {entry['message']}")
        for request in _requests(browser):
            if request.startswith("HTTP "):
                problems.append(f"{page}: {request}")
            elif not request.startswith((server + "/", "data:", "blob:")):
                problems.append(f"{page}: a request to another host, {request} (the book must work offline)")
        problems += [f"{page}: the image {src} did not load" for src in facts["brokenImages"]]
        problems += [f"{page}: math not typeset by MathJax: {m!r}" for m in facts["untypeset"]]
        for match in RAW_MATH.finditer(facts["text"]):
            context = facts["text"][max(0, match.start() - 40):match.end() + 40].replace("\n", " ")
            problems.append(f"{page}: raw TeX left in the text: ...{context}...")
        leaks = LEAKS + (() if page.startswith("reference/") else CHAPTER_LEAKS)
        problems += [f"{page}: {leak!r} shows in the page" for leak in leaks if leak in facts["allText"]]
        _check_links(page, facts["links"], server, site, problems)
        if not facts["search"]:
            problems.append(f"{page}: no search box")
        if page.removesuffix(".html") in chapters():
            if not (facts["prev"] or facts["next"]):
                problems.append(f"{page}: no previous/next navigation")
            if facts["mathNodes"]:
                math_pages += 1
    assert not problems, _summary(problems)
    assert math_pages >= len(chapters()) - 1, "the chapters should contain typeset math"
    elapsed = time.perf_counter() - start
    print(f"browser check of {len(all_pages)} pages: {elapsed:.1f} s")


def _summary(problems):
    """The problems grouped by kind (the text after the page name), a few of each."""
    kinds = {}
    for problem in problems:
        kind = re.sub(r"'.*|\S*https?://\S*|\.\.\..*", "", problem.split(": ", 1)[1])[:40]
        kinds.setdefault(kind, []).append(problem)
    return f"{len(problems)} problems:\n" + "\n".join(
        f"[{len(found)} x] " + "\n    ".join(found[:4]) for found in kinds.values())


def _solution_cells(name):
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


@pytest.mark.parametrize("name", chapters())
def test_chapter_has_its_figures_and_folded_solutions(name, server, browser):
    """The chapter shows every figure of its notebook; every solution is folded; clicking one
    shows it; every other <details> block (hints) opens; a screenshot per chapter."""
    from selenium.webdriver.common.by import By

    from autograder.exercises import EXERCISES

    browser.get(f"{server}/{name}.html")
    _wait_ready(browser)
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    figures = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if {"image/png", "image/svg+xml", "image/jpeg"} & set(o.get("data", {})))
    shown = browser.execute_script("return document.querySelectorAll('article .cell_output img').length")
    assert shown == figures, f"{name}: {shown} figures in the chapter, {figures} in solutions/{name}.ipynb"

    folded = browser.find_elements(By.CSS_SELECTOR, "details.nnt-solution, .cell.tag_nnt-solution details")
    cells = _solution_cells(name)
    code_cells = browser.find_elements(By.CSS_SELECTOR, ".cell.tag_nnt-solution")
    assert len(code_cells) == sum(c.cell_type == "code" for c in cells), f"{name}: solution code cells missing"
    for cell in code_cells:
        assert cell.find_elements(By.CSS_SELECTOR, "details .cell_input"), f"{name}: a solution cell is not folded"
    summaries = [d.find_element(By.TAG_NAME, "summary").get_attribute("textContent").strip() for d in folded]
    written = sum(c.cell_type == "markdown" for c in cells)
    assert summaries.count("Show solution") >= written, f"{name}: {written} written answers, not all folded"
    numbers = {ex.number for ex in EXERCISES.values() if ex.notebook == name}
    shown = {s.rsplit(" ", 1)[1] for s in summaries if s.startswith("Show solution: the reference code of Exercise")}
    assert shown == numbers, f"{name}: folded reference solutions for exercises {sorted(shown)}, expected {sorted(numbers)}"
    for details in folded:
        assert details.get_attribute("open") is None, f"{name}: a solution is unfolded from the start"
        body = [e for e in details.find_elements(By.XPATH, "./*[not(self::summary)]")]
        assert body and not any(e.is_displayed() for e in body), f"{name}: solution content visible while folded"
        summary = details.find_element(By.TAG_NAME, "summary")
        label = summary.get_attribute("textContent")
        assert "solution" in label.lower(), f"{name}: a solution toggle reads {label!r}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    if folded:
        target = folded[-1] if name.startswith("06") else folded[0]
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
        target.find_element(By.TAG_NAME, "summary").click()
        time.sleep(0.3)
        assert target.get_attribute("open") is not None, f"{name}: clicking 'Show solution' did not unfold it"
        shown = target.find_elements(By.XPATH, "./*[not(self::summary)]")
        assert any(e.is_displayed() for e in shown), f"{name}: the unfolded solution shows nothing"
        text = " ".join(e.text for e in shown)
        assert text.strip(), f"{name}: the unfolded solution is empty"
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", target)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    # the other <details> blocks (hints) open too
    for details in browser.find_elements(By.CSS_SELECTOR, "article details:not(.nnt-solution)"):
        if details.find_elements(By.XPATH, "ancestor::*[contains(@class, 'tag_nnt-solution')]"):
            continue
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", details)
        details.find_element(By.TAG_NAME, "summary").click()
        assert details.get_attribute("open") is not None, f"{name}: a <details> block does not open"


def test_search_finds_a_chapter(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/search.html?q=dropout")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li a"))
    hits = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#search-results li a")]
    assert any("05_dropout.html" in h for h in hits), f"searching 'dropout' does not find the chapter: {hits[:10]}"


def test_the_site_loads_nothing_from_other_hosts(site):
    """No script, stylesheet, font or image from a URL: the site works with no network."""
    remote = re.compile(r"""<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
    css_remote = re.compile(r"""url\(\s*["']?(?:https?:)?//|@import\s+(?:url\()?\s*["']?(?:https?:)?//""", re.I)
    found = [f"{p.relative_to(site)}: {m.group(0)}" for p in site.rglob("*.html")
             for m in remote.finditer(p.read_text(encoding="utf-8"))]
    found += [f"{p.relative_to(site)}: {m.group(0)}" for p in site.rglob("*.css")
              for m in css_remote.finditer(p.read_text(encoding="utf-8", errors="replace"))]
    assert not found, "remote resources:\n" + "\n".join(found[:20])
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax is not served from the site"


def test_the_exercise_table_matches_the_grading(site):
    """Every exercise of autograder/exercises.py and every graded cell, with its points."""
    from autograder.exercises import EXERCISES

    from bs4 import BeautifulSoup

    soup = BeautifulSoup((site / "exercises.html").read_text(encoding="utf-8"), "html.parser")
    text = soup.get_text(" ")
    for number in {ex.number for ex in EXERCISES.values()}:
        assert re.search(rf"\b{re.escape(number)}\b", text), f"exercise {number} is missing from the table"
    grand = 0
    for name in chapters():
        nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
        points = [c.metadata["nbgrader"].get("points", 0) for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")]
        grand += sum(points)
        heading = soup.select_one(f'section h2 a[href="{name}.html"]')
        if not points:
            assert heading is None, f"{name} has no graded cell but a section in the table"
            continue
        assert heading is not None, f"{name}: no section in the exercise table"
        rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
                for tr in heading.find_parent("section").select("table tbody tr")]
        assert [int(r[2]) for r in rows[:-1]] == points, f"{name}: the table's points differ from nbgrader's"
        assert rows[-1][0] == "total" and int(rows[-1][2]) == sum(points), f"{name}: total should be {sum(points)}"
    assert f"All chapters: {grand} points" in text


def test_each_reference_page_shows_its_whole_module(site):
    """The module pages, cut at each public function, still show every line of the module."""
    from bs4 import BeautifulSoup

    modules = sorted(p for p in (ROOT / "reference" / "nntricks").glob("*.py") if p.stem != "__init__")
    for module in modules:
        page = site / "reference" / f"{module.stem}.html"
        assert page.is_file(), f"no page for nntricks.{module.stem}"
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for number in soup.select("article pre span.linenos"):
            number.decompose()
        shown = [line.rstrip() for pre in soup.select("article pre") for line in pre.get_text().splitlines()]
        want = [line.rstrip() for line in module.read_text().splitlines()]
        assert [l for l in shown if l.strip()] == [l for l in want if l.strip()], f"{page.name} differs from {module}"


def test_the_home_page_offers_the_student_workspace(site):
    """The download on the home page is the committed student workspace, without solutions."""
    import zipfile

    link = re.search(r'href="(_downloads/[^"]+\.zip)"', (site / "index.html").read_text(encoding="utf-8"))
    assert link, "the home page has no download of the exercises"
    with zipfile.ZipFile(site / link.group(1)) as archive:
        files = {name.removeprefix("nntricks-course/"): archive.read(name) for name in archive.namelist()}
    want = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in (ROOT / "notebooks").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    want["requirements.txt"] = (ROOT / "requirements.txt").read_bytes()
    assert files == want, "the zip differs from notebooks/ + requirements.txt"
    for name in chapters():
        assert f"notebooks/{name}.ipynb" in files
    for name, data in files.items():
        for marker in (b"BEGIN SOLUTION", b"BEGIN HIDDEN TESTS"):
            assert marker not in data, f"{name} in the download contains {marker.decode()}"


def test_chapters_strip_hidden_tests_and_fold_solutions():
    """The transform on a small notebook: what a reader must never see, and what is folded."""
    BookError, chapter, strip_hidden_tests = (getattr(_transform(), n) for n in ("BookError", "chapter",
                                                                                 "strip_hidden_tests"))

    test_cell = {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "points": 2}}, "execution_count": 1,
                 "source": "assert f(1) == 2\nprint('ok')\n### BEGIN HIDDEN TESTS\nimport autograder.cell\n"
                           "autograder.cell.hidden(['divergences.l2'], 2)\n### END HIDDEN TESTS\n",
                 "outputs": [{"output_type": "stream", "name": "stdout", "text": "ok\nHidden checks of x: 3/3 passed\n"},
                             {"output_type": "execute_result", "data": {"text/plain": "2.0"}, "metadata": {},
                              "execution_count": 1}]}
    answer = {"cell_type": "markdown", "metadata": {"nbgrader": {"grade": True, "solution": True, "points": 2}},
              "source": "### BEGIN SOLUTION\nBecause $x^2 \\ge 0$.\n### END SOLUTION"}
    code = {"cell_type": "code", "metadata": {"nbgrader": {"solution": True}}, "outputs": [], "execution_count": 2,
            "source": "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"}
    heading = {"cell_type": "markdown", "metadata": {}, "source": "## Exercise 1.1: The L2 divergence"}
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 01 T"}, heading, test_cell, answer, code],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out, placed = chapter(nb, "01_t", {"1.1": ("The L2 divergence", "<details>REF</details>")}, ["divergences"])
    sources = ["".join(c["source"]) for c in out["cells"]]
    assert placed == {"1.1"}
    assert "reference/divergences.md" in sources[1]  # the note under the title
    test = next(c for c in out["cells"] if c.get("outputs") is not None and "assert f(1)" in c["source"])
    assert test["source"] == "assert f(1) == 2\nprint('ok')"
    assert test["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    assert sources[sources.index(test["source"]) + 1] == "<details>REF</details>"  # after the test cell
    folded = next(s for s in sources if "x^2" in s)
    assert folded.startswith('<details class="nnt-solution">') and "BEGIN SOLUTION" not in folded
    solution = out["cells"][-1]
    assert {"hide-input", "nnt-solution"} <= set(solution["metadata"]["tags"])
    assert "BEGIN SOLUTION" not in solution["source"] and "return 2 * x" in solution["source"]
    assert nb["cells"][2]["source"].count("HIDDEN") == 2, "the input notebook was changed"
    with pytest.raises(BookError, match="never closed"):
        strip_hidden_tests("a\n### BEGIN HIDDEN TESTS\nb", "cell 3")


def test_the_reference_solution_of_a_function_or_method():
    function_source = _transform().function_source
    module = ('"""Doc."""\n\nclass A:\n    def step(self, g):\n        """Step.\n\n        More."""\n'
              '        ### BEGIN SOLUTION\n        return g\n        ### END SOLUTION\n\n\ndef f(x):\n    """Only a docstring."""\n')
    assert function_source(module, "A.step") == "def step(self, g):\n    return g"
    assert function_source(module, "f") == 'def f(x):\n    """Only a docstring."""'
    with pytest.raises(_transform().BookError, match="no function A.missing"):
        function_source(module, "A.missing")


def test_hints_in_details_blocks_are_parsed_as_markdown():
    open_details = _transform().open_details

    got = open_details("Text.\n<details>\n<summary> Hint </summary>Use $x^2$.</details>\nMore.")
    assert got == "Text.\n<details>\n<summary>Hint</summary>\n\nUse $x^2$.\n\n</details>\nMore."
    inline = "A <details><summary>Hint</summary>b</details> c"
    assert open_details(inline) == inline  # mid-line: left as it is


def test_the_pages_workflow_is_valid():
    """The GitHub Pages workflow against GitHub's workflow schema (check-jsonschema's vendored
    SchemaStore copy), and against actionlint (requirements.txt)."""
    checker = Path(sys.executable).parent / "check-jsonschema"
    assert checker.exists(), "check-jsonschema is missing: run `make book-setup`"
    proc = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{WORKFLOW.relative_to(ROOT)} is not a valid workflow:\n{proc.stdout}{proc.stderr}"
    actionlint = shutil.which("actionlint", path=f"{Path(sys.executable).parent}") or shutil.which("actionlint")
    assert actionlint, "actionlint is missing: it comes with requirements.txt (make setup)"
    proc = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"actionlint on {WORKFLOW.relative_to(ROOT)}:\n{proc.stdout}{proc.stderr}"
    text = WORKFLOW.read_text()
    for needed in ("make book", "actions/upload-pages-artifact", "path: build/book", "actions/deploy-pages",
                   "pages: write", "id-token: write"):
        assert needed in text, f"the workflow should contain {needed!r}"

"""The course as a book, read as a reader would: every page in headless Chromium, served from
127.0.0.1 and opened from disk (file://), with no other network. The build and the pages'
content without a browser: tests/test_book_build.py; the fixtures: tests/bookbrowser.py.
Screenshots: ``build/book-shots/``.
"""

import functools
import json
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from bookbrowser import (DESKTOP, PHONE, ROOT, SHOTS, browser, chapters, pages, server, site,  # noqa: F401
                         summary, wait_ready, window)

# what is left of TeX in the text a reader sees: a dollar, a \( \) \[ \] delimiter, an escaped
# underscore or any TeX command (the text excludes code and typeset maths)
RAW_TEX = re.compile(r"\$|\\[()\[\]_]|\\[A-Za-z]+")
# chapters whose solutions another helper owns, executed before the figures' 160 dpi setting: the
# lead re-executes them after merging (the setup cell's `%config InlineBackend.figure_formats`)
LOW_DPI: set[str] = set()
LEAKS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograder.cell", "Hidden checks of",
         "### BEGIN SOLUTION", "### END SOLUTION")


@functools.lru_cache(maxsize=None)
def _ids(path):
    return set(re.findall(r'\sid="([^"]+)"', Path(path).read_text(encoding="utf-8")))


PAGE_FACTS = """
    const rawText = (() => {  // the text a reader sees or unfolds, without code and typeset math
        const clone = document.querySelector('main, body').cloneNode(true);
        clone.querySelectorAll('pre, code, script, style, mjx-container, textarea, .highlight')
             .forEach(e => e.remove());
        return clone.textContent;
    })();
    const mathNodes = Array.from(document.querySelectorAll('.math'));
    const typeset = (window.MathJax && MathJax.startup && MathJax.startup.document)
        ? Array.from(MathJax.startup.document.math).map(m => [m.math, MathJax.startup.toMML(m.root)]) : [];
    return {
        text: rawText,
        allText: document.body.textContent,
        brokenImages: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)
                           .map(i => i.getAttribute('src')),
        mathNodes: mathNodes.length,
        untypeset: mathNodes.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
        // MathJax's errors (undefined macro, bad braces) and TeX shown as text (\\_ in \\text{})
        mathErrors: typeset.filter(([tex, mml]) => mml.includes('<merror')).map(([tex]) => tex),
        texInText: typeset.filter(([tex, mml]) => /<mtext[^>]*>[^<]*\\\\/.test(mml)).map(([tex]) => tex),
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
        prev: !!document.querySelector('a.left-prev'),
        next: !!document.querySelector('a.right-next'),
        search: !!document.querySelector('form[action*="search"] input, .search-button, input[name="q"]'),
    };
"""


def _target(href, base, site):
    """The file of the site that ``href`` points to, or None for another place."""
    if not href.startswith(base + "/"):
        return None
    path = site / unquote(urlparse(href).path)[len(urlparse(base).path):].lstrip("/")
    return path / "index.html" if path.is_dir() else path


def _check_links(page, links, base, site, problems):
    for href in links:
        path = _target(href, base, site)
        if path is None:
            continue
        fragment = urlparse(href).fragment
        if not path.is_file():
            problems.append(f"{page}: a link to {href}, which is not in the site")
        elif fragment and path.suffix == ".html" and unquote(fragment) not in _ids(path):
            problems.append(f"{page}: a link to {href}, whose #{fragment} is not on that page")


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


def page_problems(page, facts):
    """What is wrong with the maths and the text of a page (``facts``: PAGE_FACTS's answer)."""
    problems = [f"{page}: math not typeset by MathJax: {m!r}" for m in facts["untypeset"]]
    problems += [f"{page}: MathJax error in {tex!r}" for tex in facts["mathErrors"]]
    problems += [f"{page}: TeX shown as text (a backslash in \\text{{}}) in {tex!r}" for tex in facts["texInText"]]
    for match in RAW_TEX.finditer(facts["text"]):
        context = facts["text"][max(0, match.start() - 40):match.end() + 40].replace("\n", " ")
        problems.append(f"{page}: raw TeX {match.group(0)!r} left in the text: ...{context}...")
    problems += [f"{page}: {leak!r} shows in the page" for leak in LEAKS if leak in facts["allText"]]
    return problems


def test_raw_tex_in_a_page_is_found():
    """The checks above on what the three broken formulas of issue 15 looked like."""
    facts = {"untypeset": [], "mathErrors": [], "texInText": ["\\text{max\\_norm} / \\|g\\|"], "allText": "",
             "text": "the float $\\lambda \\sum_k \\sum W_k in code: dL\\_dz = J @ dL\\_du; fine: 3 < 4 (a)"}
    found = " ".join(page_problems("p.html", facts))
    for piece in ("'$'", "'\\\\lambda'", "'\\\\_'", "max\\\\_norm"):
        assert piece in found, f"{piece} not reported in {found}"
    assert page_problems("p.html", {**facts, "texInText": [], "text": "plain words, 3 < 4 (a) [b]"}) == []


@pytest.mark.parametrize("mode", ["served", "file"])
def test_every_page_renders_offline_in_a_real_browser(mode, site, server, browser):
    start = time.perf_counter()
    base = server if mode == "served" else site.as_uri()
    problems, math_pages = [], 0
    all_pages = pages(site)
    assert {"index.html", "search.html", "exercises.html", "reference/index.html"} <= set(all_pages)
    assert {f"{c}.html" for c in chapters()} <= set(all_pages), "a solution notebook has no chapter"
    browser.get_log("browser"), browser.get_log("performance")  # start from clean logs
    for page in all_pages:
        browser.get(f"{base}/{page}")
        wait_ready(browser)
        facts = browser.execute_script(PAGE_FACTS)
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{page}: console error: {entry['message']}")
        for request in _requests(browser):
            if request.startswith("HTTP "):
                problems.append(f"{page}: {request}")
            elif not request.startswith((base + "/", "data:", "blob:")):
                problems.append(f"{page}: a request to another host, {request} (the book must work offline)")
        problems += [f"{page}: the image {src} did not load" for src in facts["brokenImages"]]
        problems += page_problems(page, facts)
        _check_links(page, facts["links"], base, site, problems)
        if not facts["search"]:
            problems.append(f"{page}: no search box")
        if page.removesuffix(".html") in chapters():
            if not (facts["prev"] or facts["next"]):
                problems.append(f"{page}: no previous/next navigation")
            if facts["mathNodes"]:
                math_pages += 1
    assert not problems, summary(problems)
    assert math_pages >= len(chapters()) - 1, "the chapters should contain typeset math"
    print(f"browser check of {len(all_pages)} pages ({mode}): {time.perf_counter() - start:.1f} s")


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
    wait_ready(browser)
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    figures = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if {"image/png", "image/svg+xml", "image/jpeg"} & set(o.get("data", {})))
    shown = browser.execute_script("return document.querySelectorAll('article .cell_output img').length")
    assert shown == figures, f"{name}: {shown} figures in the chapter, {figures} in solutions/{name}.ipynb"

    # within a section, no hint comes after a solution: the reader meets the hints first
    late_hints = browser.execute_script("""
        const late = []; let solved = false;
        for (const e of document.querySelectorAll(
                'article h1, article h2, article h3, article details, article .cell.tag_nnt-solution')) {
            if (/^H[123]$/.test(e.tagName)) { solved = false; continue; }
            const solution = e.matches('details.nnt-solution, .cell.tag_nnt-solution, .cell.tag_nnt-solution *');
            if (solution) solved = true;
            else if (e.tagName === 'DETAILS' && solved) late.push(e.querySelector('summary').textContent.trim());
        }
        return late;""")
    assert not late_hints, f"{name}: hints after the solution of their section: {late_hints}"
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


FIGURE_FACTS = """
    return {
        width: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
        figures: Array.from(document.querySelectorAll('article .cell_output img')).map(i => {
            const figure = i.closest('figure');
            const drawn = Number(i.getAttribute('width')) || i.naturalWidth;
            return {src: i.getAttribute('src'), alt: i.alt, scale: i.getBoundingClientRect().width / drawn,
                    dpi: 80 * i.naturalWidth / drawn,
                    caption: figure && figure.querySelector('figcaption')
                        ? figure.querySelector('figcaption').textContent.trim() : ''};
        }),
    };
"""


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_figures_are_legible_captioned_and_described_and_pages_fit(size, site, server, browser):
    """Every figure: drawn at >= 150 dpi (3 chapters still at 80 dpi are reported, not failed,
    until their solutions are re-executed); shown at >= 80 % of its drawn size, so that
    matplotlib's 10 pt text (11 px at 80 dpi) renders at >= 8.9 px; a caption; alt text that is
    not a file name. No page is wider than the window. A screenshot of each chapter at this size."""
    problems, low_dpi = [], []
    window(browser, size)
    try:
        for page in pages(site):
            browser.get(f"{server}/{page}")
            wait_ready(browser)
            facts = browser.execute_script(FIGURE_FACTS)
            if facts["scrollWidth"] > facts["width"]:
                problems.append(f"{page}: {facts['scrollWidth']} px wide in a {facts['width']} px window")
            for figure in facts["figures"]:
                where = f"{page}: the figure {figure['src'][-20:]}"
                if figure["scale"] < 0.8 - 1e-3:
                    problems.append(f"{where} is shown at {figure['scale']:.0%} of its size (text below 8.9 px)")
                if not figure["caption"]:
                    problems.append(f"{where} has no caption")
                if not figure["alt"].startswith("Figure: ") or re.search(r"\.(png|svg)$", figure["alt"]):
                    problems.append(f"{where} has the alt text {figure['alt'][:60]!r}")
                if figure["dpi"] < 150:
                    low_dpi.append(page)
            if page.removesuffix(".html") in chapters():
                SHOTS.mkdir(parents=True, exist_ok=True)
                browser.save_screenshot(str(SHOTS / f"{page.removesuffix('.html')}-{size[0]}.png"))
    finally:
        window(browser, DESKTOP)
    assert not problems, summary(problems)
    print(f"figures below 150 dpi (re-execute these solutions): {sorted(set(low_dpi))}")
    assert set(low_dpi) <= LOW_DPI, f"figures below 150 dpi: {sorted(set(low_dpi) - LOW_DPI)}"


def test_search_finds_a_chapter(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/search.html?q=dropout")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li a"))
    hits = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#search-results li a")]
    assert any("05_dropout.html" in h for h in hits), f"searching 'dropout' does not find the chapter: {hits[:10]}"
    # a section is a hit of its own; snippets are the text, without theme chrome, TeX or code
    browser.get(f"{server}/search.html?q=gradient+clipping")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results li p.context"))
    time.sleep(1)
    hits = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#search-results li a")]
    assert any("06_regularization_and_heuristics.html#" in h and "clipping" in h for h in hits), hits[:10]
    snippets = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#search-results li p.context")]
    for snippet in snippets:
        for chrome in ("Binder", "Colab", "Contents", "previous", "Licence", "import ", ">>>"):
            assert chrome not in snippet, f"a search snippet shows {chrome!r}: {snippet[:200]}"
        assert not RAW_TEX.search(snippet), f"a search snippet shows raw TeX: {snippet[:200]}"

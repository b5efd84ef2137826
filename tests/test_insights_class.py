"""autograder.insights on the example class graded through the real pipeline, and the page in Chromium.

The example class (autograder/example_class.py) is graded once per session with
``python -m autograder grade --example`` (about 2 minutes on 2 busy cores): every student makes
one known mistake, so the counts on the page are known. The page is then opened in headless
Chromium (as tests/test_book.py does): no console error, no request to anything but the file.
``NNTRICKS_INSIGHTS_SCREENSHOT=docs/insights.png`` also saves the README's screenshot there.
"""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import ROOT, insights
from test_insights import HOSTILE, STUDENT, divergences_checks, make_course

CHROMIUM = os.environ.get("NNTRICKS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NNTRICKS_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def example(tmp_path_factory):
    """The example class, graded, with its insights page written."""
    course = tmp_path_factory.mktemp("insights") / "example_class"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "--example", "--jobs", "2",
                           "--course", str(course)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cli = subprocess.run([sys.executable, "-m", "autograder", "insights", "--course", str(course)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    _, _, view = insights.write(course=course, out=course / "again")
    return course, view


@pytest.fixture(scope="module")
def browser():
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
    yield driver
    driver.quit()


def open_page(driver, path):
    """Load ``path``; returns (console errors, requested URLs other than the page itself)."""
    driver.get_log("browser"), driver.get_log("performance")  # start from clean logs
    driver.get(path.as_uri())
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return errors, [u for u in urls if u != path.as_uri() and not u.startswith("data:")]


def test_the_example_class_counts(example):
    course, view = example
    named = {(m.exercise, m.name): m.students for m in view.mistakes}
    assert named[("1.1", "forgot the 1/B")] == {"cleo", "gus"}
    assert named[("4.1", "unbiased variance in training")] == {"eve"}
    assert named[("5.1", "alpha used as the DROP probability")] == {"dev"}
    makers = set().union(*named.values())
    assert makers == {"cleo", "gus", "eve", "dev"}  # ada, finn and hana have correct packages; ben, ivan none
    assert view.mistakes[0].name == "forgot the 1/B"  # the most frequent first
    exercises = {x.number: x for x in view.exercises}
    # ben left every exercise a stub; ivan's package is the stubs with the reference loaded in some modules:
    # those exercises are not his own, the others not implemented (a forbidden reference costs what it reaches)
    assert all("ben" in x.not_implemented and x.not_implemented | x.not_own == {"ben", "ivan"}
               and x.not_own <= {"ivan"} for x in exercises.values())
    assert exercises["1.1"].not_own == {"ivan"} and exercises["1.8"].not_implemented == {"ben", "ivan"}
    assert view.exercises[0].number == "1.1"  # cleo and gus lost it as well: the worst
    assert exercises["1.1"].full == {"ada", "dev", "eve", "finn", "hana"}
    unnamed = {u.check: u for u in view.unnamed}
    numeric = unnamed["divergences.l2_grad_matches_numeric"]  # follows from the wrong l2, which it says
    assert numeric.students == numeric.with_named == {"cleo", "gus"}
    for a in view.assignments:  # ada, cleo, dev, eve have written answers awaiting grading; finn, hana FAILED
        assert (a.submissions, a.pending, a.failed) == (9, 4, 2), a
    rows = list(csv.DictReader(io.StringIO((course / insights.CSV_NAME).read_text())))
    assert [(r["exercise"], r["mistake"], int(r["students_count"])) for r in rows] == [
        (m.exercise, m.name, len(m.students)) for m in view.mistakes]
    assert (course / insights.HTML_NAME).read_text() == (course / "again" / insights.HTML_NAME).read_text()


def test_the_example_page_in_headless_chromium(example, browser):
    from selenium.webdriver.common.by import By

    course, view = example
    errors, requests = open_page(browser, course / insights.HTML_NAME)
    assert not errors and not requests, (errors, requests)
    assert browser.find_element(By.TAG_NAME, "h1").text == "nntricks: what the class got wrong"
    assert len(browser.find_elements(By.TAG_NAME, "svg")) == len(view.assignments) + 2
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "forgot the 1/B" in text and "cleo, gus" in text and "Exercises, worst first" in text
    for caption in browser.find_elements(By.TAG_NAME, "figcaption"):
        assert caption.is_displayed() and len(caption.text) > 40
    shot = screenshot(browser, course / insights.HTML_NAME, course / "insights.png")
    assert 20_000 < len(shot) < 300_000
    if os.environ.get("NNTRICKS_INSIGHTS_SCREENSHOT"):  # the README's picture: docs/insights.png
        Path(os.environ["NNTRICKS_INSIGHTS_SCREENSHOT"]).write_bytes(shot)


def screenshot(driver, page, path, anchor="#mistakes", size=(1200, 1000)):
    """A PNG of the page's named mistakes as an instructor sees them (the README's screenshot)."""
    driver.set_window_size(*size)
    driver.get(page.as_uri() + anchor)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path.read_bytes()


def test_a_hostile_page_runs_nothing_in_chromium(tmp_path, browser):
    from selenium.webdriver.common.by import By

    message = f"l2(y, d): it raised ValueError ({HOSTILE})\nLikely mistake: {HOSTILE}. Hint: {HOSTILE}"
    course = make_course(tmp_path, {STUDENT: divergences_checks(l2_output=message),
                                    "bo": divergences_checks(bce_output=f"bce: {HOSTILE}")})
    html, _, _ = insights.write(course=course)
    errors, requests = open_page(browser, html)  # an alert would make the next command raise
    assert not errors and not requests, (errors, requests)
    assert not browser.find_elements(By.CSS_SELECTOR, "script, img, b[onclick], [onerror]")
    assert HOSTILE in browser.find_element(By.TAG_NAME, "body").text


def test_the_same_mistakes_from_a_folder_of_results_json(example, tmp_path):
    """The journal's check results are results.json files (grade_package's output): laid out as a
    folder of Gradescope results, they give the same named mistakes."""
    course, view = example
    for p in (course / ".autograder" / "results").glob("*/*.json"):
        out = tmp_path / "results" / p.stem / p.parent.name / "results.json"
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps(json.loads(p.read_text())["checks"]))
    _, _, got = insights.write(results=tmp_path / "results", out=tmp_path)
    assert not got.notes and got.submissions == view.submissions
    assert [(m.exercise, m.name, {s.split("/")[1] for s in m.students}) for m in got.mistakes] == [
        (m.exercise, m.name, m.students) for m in view.mistakes]  # students are "<assignment>/<student>" here
    assert sorted(a.name for a in got.assignments) == ["checks: batchnorm", "checks: divergences, nn, train", "checks: dropout"]

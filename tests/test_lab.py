"""The student-mode JupyterLab (``make lab``), opened in a real browser.

A student's Lab shows the course with its math and nbgrader's Validate button,
and none of the instructor's tools: no Formgrader, no Create Assignment, no
Assignment List or Courses panel (whose "Error fetching courses! The exchange
directory does not exist" greets a student without an exchange), no
"No nbgrader_config.py" warning at start. Screenshots go to ``build/lab-shots/``.
"""

import re
import shutil
import time
import urllib.error
import urllib.request

import pytest
from lab_session import ROOT, jupyter_lab, chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = ROOT / "build" / "lab-shots"
INSTRUCTOR_TEXT = ("Formgrader", "Create Assignment", "Assignment List", "Courses", "Error fetching courses",
                   "exchange directory", "Manage Assignments")
RAW_MATH = re.compile(r"\$[^$\n]{1,80}\$|\\\(|\\\[")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a copy of the student workspace, as ``make lab`` starts it, and a browser."""
    work = tmp_path_factory.mktemp("student") / "notebooks"
    shutil.copytree(ROOT / "notebooks", work, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    log = work.parent / "lab.log"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with jupyter_lab(work, log) as (base, token), chromium() as driver:
        yield {"base": base, "token": token, "driver": driver, "log": log}


def _open(lab, notebook):
    driver = lab["driver"]
    driver.get(f"{lab['base']}/lab/tree/{notebook}?reset&token={lab['token']}")  # reset: this tab only
    WebDriverWait(driver, 60).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-NotebookPanel .jp-MarkdownCell .jp-RenderedMarkdown")))
    return driver


def _wait_for_math(driver, timeout=60):
    """Wait until MathJax has typeset every rendered markdown cell; return the number of formulas."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        n = driver.execute_script("return document.querySelectorAll('.jp-RenderedMarkdown mjx-container').length")
        if n and n == last:  # stable for one poll: typesetting is done
            return n
        last = n
        time.sleep(1.0)
    return last


def _visible_markdown(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-RenderedMarkdown')).map(e => e.innerText).join('\\n')")


def _instructor_traces(driver):
    """Instructor tools visible anywhere: text, tooltips, sidebar tabs, menus."""
    text = driver.execute_script(
        "const t = [document.body.innerText];"
        "document.querySelectorAll('[title], [aria-label], [data-id]').forEach(e => t.push("
        "  (e.getAttribute('title') || '') + ' ' + (e.getAttribute('aria-label') || '') + ' ' + (e.getAttribute('data-id') || '')));"
        "return t.join('\\n');")
    menus = driver.execute_script(
        "return Array.from(document.querySelectorAll('.lm-MenuBar-itemLabel')).map(e => e.innerText)")
    return [word for word in INSTRUCTOR_TEXT if word.lower() in text.lower()] + [m for m in menus if m == "Nbgrader"]


def _validate(driver, timeout=240):
    """Click Validate in the notebook toolbar; return the text of the dialog that answers."""
    xpath = "//*[contains(@class, 'jp-NotebookPanel-toolbar')]//*[normalize-space(text())='Validate']"
    shown = lambda d: [b for b in d.find_elements(By.XPATH, xpath) if b.is_displayed()]  # the open tab's
    WebDriverWait(driver, 30).until(shown)[0].click()
    dialog = WebDriverWait(driver, timeout).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, ".jp-Dialog-content")))
    return dialog.text


@pytest.mark.parametrize("notebook, formulas", [("00_start_here.ipynb", 1), ("04_batchnorm.ipynb", 20)])
def test_notebook_renders_with_its_math_and_no_instructor_tool(lab, notebook, formulas):
    driver = _open(lab, notebook)
    n = _wait_for_math(driver)
    driver.save_screenshot(str(SHOTS / f"{notebook.split('.')[0]}.png"))
    assert n >= formulas, f"{notebook}: only {n} formulas typeset by MathJax (expected at least {formulas})"
    raw = RAW_MATH.findall(_visible_markdown(driver))
    assert not raw, f"{notebook}: math left unrendered in the text: {raw[:5]}"
    assert not _instructor_traces(driver), f"{notebook}: instructor tools visible: {_instructor_traces(driver)}"
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{notebook}: browser console errors: {errors[:5]}"


def test_validate_answers_on_a_notebook_without_exercises(lab):
    driver = _open(lab, "00_start_here.ipynb")
    text = _validate(driver)
    driver.save_screenshot(str(SHOTS / "validate_00.png"))
    assert "Success" in text and "passes all the tests" in text, text


def test_validate_names_the_unfinished_exercise_on_the_stubs(lab):
    driver = _open(lab, "04_batchnorm.ipynb")
    text = _validate(driver)
    driver.save_screenshot(str(SHOTS / "validate_04.png"))
    assert "NotImplementedError" in text and "Exercise 4.1" in text, text


@pytest.mark.parametrize("path", ["formgrader", "formgrader/api/assignments", "assignments", "courses"])
def test_instructor_endpoints_are_not_served(lab, path):
    url = f"{lab['base']}/{path}?token={lab['token']}"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code == 404, f"/{path} answered {err.value.code}"


def test_no_configuration_warning_or_error_at_start(lab):
    _open(lab, "00_start_here.ipynb")
    log = lab["log"].read_text()
    bad = [line for line in log.splitlines() if "nbgrader_config" in line or line.startswith("[E")
           or "Traceback" in line]
    assert not bad, "JupyterLab's log:\n" + "\n".join(bad)


def test_make_lab_uses_the_student_configuration():
    recipe = (ROOT / "Makefile").read_text().split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/lab" in recipe, recipe

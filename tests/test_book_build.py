"""The book without a browser: the transform of a notebook into a chapter, the sources' maths,
the generated pages' content (exercise table, module pages), the downloads and the Pages
workflow. The browser tests are in tests/test_book.py; the fixtures in tests/bookbrowser.py.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bookbrowser import ROOT, chapters, site, transform  # noqa: F401 (site: a fixture)

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
# `$...$` on a line: inline maths of a markdown cell
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$")


def math_splitting_table_cells(markdown):
    """The inline maths of markdown table rows that hold a `|` (or `\\|`): the table parser cuts
    the cell there (`\\|` included: it becomes a plain `|`), so the formula breaks or changes."""
    found = []
    for line in markdown.splitlines():
        if line.lstrip().startswith("|"):
            found += [m.group(0) for m in INLINE_MATH.finditer(line) if "|" in m.group(1)]
    return found


def test_a_bar_in_the_maths_of_a_table_is_found():
    assert math_splitting_table_cells("| f | the float $\\lambda \\sum |W_k|$ |") != []
    assert math_splitting_table_cells("| f | $\\frac{\\lambda}{2}\\sum_k \\|W_k\\|_F^2$ |") != []
    assert math_splitting_table_cells("| f | $\\lambda \\sum \\lvert W_k \\rvert$ |\nOut of a table: $|x|$.") == []


def test_no_formula_of_a_table_is_cut_by_a_bar():
    """Every markdown table of the notebooks and of the book's templates: `\\vert`, `\\lvert`,
    `\\rVert` instead of `|` and `\\|` in its maths."""
    problems = []
    for name in chapters():
        nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                problems += [f"solutions/{name}.ipynb, cell {index}: {m}" for m in math_splitting_table_cells(cell.source)]
    for template in sorted((ROOT / "book" / "templates").glob("*.j2")):
        problems += [f"{template.relative_to(ROOT)}: {m}" for m in math_splitting_table_cells(template.read_text())]
    assert not problems, "a `|` in the maths of a table cell (use \\vert, \\lvert ... \\rvert):\n" + "\n".join(problems)


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
    # only the MathJax files the pages load (the browser test fails on any request that misses)
    shipped = {p.relative_to(site / "_static" / "mathjax").as_posix()
               for p in (site / "_static" / "mathjax").rglob("*") if p.is_file()}
    extra = {p for p in shipped if p != "tex-chtml.js" and not p.startswith("output/chtml/fonts/woff-v2/")}
    assert not extra, f"MathJax files no page loads: {sorted(extra)[:10]}"


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


def test_each_reference_page_shows_its_whole_module_with_its_solutions_folded(site):
    """The module pages, cut at each public function, still show every line of the module but
    the solution markers; every solution region, and nothing else, is inside a folded
    "Show solution" block; a page with solutions says so before any code."""
    from bs4 import BeautifulSoup

    def nonblank(lines):
        return [line.rstrip() for line in lines if line.strip()]

    modules = sorted(p for p in (ROOT / "reference" / "nntricks").glob("*.py") if p.stem != "__init__")
    for module in modules:
        page = site / "reference" / f"{module.stem}.html"
        assert page.is_file(), f"no page for nntricks.{module.stem}"
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for number in soup.select("article pre span.linenos"):
            number.decompose()
        lines = module.read_text().splitlines()
        markers = ("### BEGIN SOLUTION", "### END SOLUTION")
        shown = nonblank(line for pre in soup.select("article pre") for line in pre.get_text().splitlines())
        assert shown == nonblank(l for l in lines if l.strip() not in markers), f"{page.name} differs from {module}"
        folded = nonblank(line for details in soup.select("article details.nnt-solution")
                          for pre in details.select("pre") for line in pre.get_text().splitlines())
        inside, want = False, []
        for line in lines:
            inside = {markers[0]: True, markers[1]: False}.get(line.strip(), inside)
            if inside and line.strip() not in markers:
                want.append(line)
        assert folded == nonblank(want), f"{page.name}: the folded blocks are not exactly the solution regions"
        for details in soup.select("article details.nnt-solution"):
            assert details.get("open") is None and "Show solution" in details.summary.get_text()
        if want:
            first = soup.select_one("article .admonition, article pre")
            assert first.name != "pre" and "solutions" in first.get_text(), f"{page.name}: no warning before the code"


def test_the_home_page_offers_the_student_kit(site):
    """The download on the home page is the student kit: the committed student workspace
    without solutions, its README (Linux, macOS, Windows; what it can check), the lean
    requirements-student.txt and the student-mode Lab settings; the page says what the kit can
    and cannot check."""
    import zipfile

    from bs4 import BeautifulSoup

    home = (site / "index.html").read_text(encoding="utf-8")
    link = re.search(r'href="(downloads/[^"]+\.zip)"', home)
    assert link, "the home page has no download of the student kit"
    text = BeautifulSoup(home, "html.parser").get_text(" ")
    assert "What the kit can check, and what it cannot" in text and "hidden checks" in text
    with zipfile.ZipFile(site / link.group(1)) as archive:
        files = {name.removeprefix("nntricks-course/"): archive.read(name) for name in archive.namelist()}
    want = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in (ROOT / "notebooks").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    want.update({p.relative_to(ROOT).as_posix(): p.read_bytes() for p in (ROOT / "lab").rglob("*")
                 if p.is_file() and p.name != "README.md"})
    want["README.md"] = (ROOT / "book" / "kit" / "README.md").read_bytes()
    want["requirements-student.txt"] = (ROOT / "requirements-student.txt").read_bytes()
    assert files == want, f"the kit differs: {sorted(set(files) ^ set(want))}"
    readme = files["README.md"].decode()
    for needed in ("Linux and macOS", "Windows", "requirements-student.txt", "JUPYTER_CONFIG_PATH", "hidden checks"):
        assert needed in readme, f"the kit's README does not mention {needed!r}"
    for name in chapters():
        assert f"notebooks/{name}.ipynb" in files
    for name, data in files.items():
        for marker in (b"BEGIN SOLUTION", b"BEGIN HIDDEN TESTS"):
            assert marker not in data, f"{name} in the download contains {marker.decode()}"


def test_chapters_strip_hidden_tests_and_fold_solutions():
    """The transform on a small notebook: what a reader must never see, and what is folded."""
    BookError, chapter, strip_hidden_tests = (getattr(transform(), n) for n in ("BookError", "chapter",
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


def test_hints_move_before_the_solution_they_follow():
    chapter = transform().chapter
    question = {"cell_type": "markdown", "metadata": {}, "source": "**Question.** Why?"}
    answer = {"cell_type": "markdown", "metadata": {"nbgrader": {"grade": True, "solution": True, "points": 1}},
              "source": "### BEGIN SOLUTION\nBecause.\n### END SOLUTION"}
    hints = {"cell_type": "markdown", "metadata": {},
             "source": "<details><summary>Hint 1</summary>\n\nA.\n</details>\n<details><summary>Hint 2</summary>B.</details>"}
    prose = {"cell_type": "markdown", "metadata": {}, "source": "Text <details><summary>x</summary>y</details>."}
    nb = {"cells": [question, answer, hints, prose], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out, _ = chapter(nb, "01_t", {}, [])
    sources = ["".join(c["source"]) for c in out["cells"]]
    assert sources[0] == question["source"] and "Hint 1" in sources[1] and "Hint 2" in sources[1]
    assert sources[2].startswith('<details class="nnt-solution">') and sources[3] == prose["source"]


def test_the_reference_solution_of_a_function_or_method():
    function_source = transform().function_source
    module = ('"""Doc."""\n\nclass A:\n    def step(self, g):\n        """Step.\n\n        More."""\n'
              '        ### BEGIN SOLUTION\n        return g\n        ### END SOLUTION\n\n\ndef f(x):\n    """Only a docstring."""\n')
    assert function_source(module, "A.step") == "def step(self, g):\n    return g"
    assert function_source(module, "f") == 'def f(x):\n    """Only a docstring."""'
    with pytest.raises(transform().BookError, match="no function A.missing"):
        function_source(module, "A.missing")


def test_hints_in_details_blocks_are_parsed_as_markdown():
    open_details = transform().open_details

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
    for needed in ("make book-test", '"notebooks/**"', "actions/upload-pages-artifact", "path: build/book", "actions/deploy-pages",
                   "pages: write", "id-token: write"):
        assert needed in text, f"the workflow should contain {needed!r}"
    assert "requirements.txt\n" not in text.split("cache-dependency-path")[0] and "pip install -r requirements.txt" not in text
    assert text.index("make book-test") < text.index("actions/upload-pages-artifact"), "test before deploying"


def test_each_chapter_offers_its_student_notebook_and_apart_the_solved_one(site):
    """The chapter's download is the student notebook; the solved notebook is a separate link
    that says so; the launch buttons (Binder, Colab) open the student notebook of the
    repository set in book/course.toml; the header links the repository and its issues."""
    import tomllib

    from bs4 import BeautifulSoup

    course = tomllib.loads((ROOT / "book" / "course.toml").read_text())
    repo = course["repository"].removeprefix("https://github.com/")
    for name in chapters():
        soup = BeautifulSoup((site / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
        links = {a["href"]: a.get_text(" ", strip=True) for a in soup.select("a[href]")}
        student, solved = f"downloads/student/{name}.ipynb", f"downloads/solved/{name}.ipynb"
        assert "exercise notebook" in links.get(student, ""), f"{name}: no download of the student notebook"
        assert "solved notebook" in links.get(solved, ""), f"{name}: no separate link to the solved notebook"
        assert (site / student).read_bytes() == (ROOT / "notebooks" / f"{name}.ipynb").read_bytes()
        assert (site / solved).read_bytes() == (ROOT / "solutions" / f"{name}.ipynb").read_bytes()
        assert not any(h.endswith(f"_sources/{name}.ipynb") for h in links), f"{name}: the theme's solved download"
        want = {f"https://mybinder.org/v2/gh/{repo}/{course['branch']}?urlpath=lab/tree/notebooks/{name}.ipynb",
                f"https://colab.research.google.com/github/{repo}/blob/{course['branch']}/notebooks/{name}.ipynb",
                course["repository"]}
        assert want <= set(links), f"{name}: missing launch or repository links: {want - set(links)}"
        assert any(h.startswith(course["repository"] + "/issues") for h in links), f"{name}: no issue link"


def test_every_page_has_the_footer(site):
    """Licence, version (git describe of the build) and build date on every page."""
    import time
    import tomllib

    licence = tomllib.loads((ROOT / "book" / "course.toml").read_text())["licence"]
    described = subprocess.run(["git", "describe", "--tags", "--always"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
    for page in sorted(site.rglob("*.html")):
        if page.relative_to(site).parts[0].startswith("_"):
            continue
        text = page.read_text(encoding="utf-8")
        footer = re.search(r'<p class="nnt-footer">(.*?)</p>', text, re.S)
        assert footer, f"{page.relative_to(site)}: no footer"
        assert licence in footer.group(1) and described in footer.group(1), footer.group(1)
        assert time.strftime("%Y-%m-%d", time.gmtime()) in footer.group(1), footer.group(1)

"""Build the course as a static HTML book: ``python book/build.py`` (``make book``).

Writes the Sphinx sources into ``build/book-src/`` (transformed copies of the
executed ``solutions/NN_*.ipynb``, the home page, the exercise table, one page per
module of ``reference/nntricks/``) and the site into ``build/book/``. Nothing is
executed (myst-nb's ``nb_execution_mode = "off"``): outputs and figures are the
committed ones. MathJax is copied from the ``django-static-mathjax`` package, so the
site needs no network.
"""

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jinja2
import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "book"))

from autograder.exercises import EXERCISES  # noqa: E402
from links import LinkError, anchor_questions, link_mentions, targets  # noqa: E402
from transform import (SOLUTION_BEGIN, SOLUTION_END, BookError, chapter, exercise_solutions,  # noqa: E402
                       hidden_keys, nbgrader)

BOOK = ROOT / "book"
TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(BOOK / "templates"),
                               undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
# modules of the package that hold no exercise, in the order a reader meets them
PROVIDED_ORDER = ("train", "data", "gradcheck", "surfaces", "plot")


def notebooks(solutions=ROOT / "solutions"):
    """The solution notebooks ``NN_*.ipynb`` in order: [(name, path)]."""
    found = sorted(p for p in solutions.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise SystemExit(f"no solution notebooks NN_*.ipynb in {solutions}")
    return [(p.stem, p) for p in found]


def title(nb, name):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name


def topics_of(name):
    return list(dict.fromkeys(key.split(".", 1)[0] for key, ex in EXERCISES.items() if ex.notebook == name))


def graded_rows(nb, name):
    """One row per graded cell of the notebook: what it grades and its nbgrader points."""
    rows = []
    for cell in nb.cells:
        meta = nbgrader(cell)
        if not meta.get("grade"):
            continue
        points = meta.get("points", 0)
        if cell.cell_type == "markdown":
            rows.append({"exercises": [], "what": f"written answer (`{meta['grade_id']}`)", "points": points})
        elif meta.get("solution"):
            rows.append({"exercises": [], "what": f"code in the notebook (`{meta['grade_id']}`)", "points": points})
        else:
            keys = hidden_keys(cell.source)
            unknown = [k for k in keys if k not in EXERCISES]
            if unknown:
                raise SystemExit(f"{name}: test cell {meta['grade_id']} grades {unknown}, which "
                                 "autograder/exercises.py does not list")
            numbers = list(dict.fromkeys(EXERCISES[k].number for k in keys))
            what = ("functions " + ", ".join(f"`{k.split('.', 1)[1]}`" for k in keys) if keys
                    else f"a function of the notebook (`{meta['grade_id']}`)")
            rows.append({"exercises": numbers, "what": what, "points": points})
    return rows


def exercise_anchors(nb):
    """{exercise number: the heading's anchor in the chapter}, as MyST's heading anchors spell it."""
    from myst_parser.slugs import github_slugify

    anchors = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for match in re.finditer(r"^#{1,3}\s+(Exercise\s+(\d+\.\d+)\b.*)$", cell.source, re.M):
                anchors.setdefault(match.group(2), github_slugify(match.group(1).strip()))
    return anchors


def exercise_table(chapters):
    """The rows of the exercise page, from autograder/exercises.py and the nbgrader points."""
    numbers = {}
    for key, ex in EXERCISES.items():
        numbers.setdefault(ex.number, ex)
    table, graded = [], set()
    for ch in chapters:
        rows = graded_rows(ch["nb"], ch["name"])
        anchors = exercise_anchors(ch["nb"])
        for row in rows:
            graded.update(row["exercises"])
            row["exercise_links"] = [(n, numbers[n].title, anchors.get(n, "")) for n in row["exercises"]]
        table.append({**ch, "rows": rows, "total": sum(r["points"] for r in rows)})
    ungraded = [(n, ex) for n, ex in numbers.items() if n not in graded]
    return table, ungraded


def module_parts(source, module):
    """The module cut before each public top-level function or class: a part per public name
    (its exercise numbers from autograder/exercises.py), private helpers staying with the part
    above them; the first part (name None) is the docstring and the imports."""
    lines = source.splitlines()
    parts = [{"name": None, "start": 1, "numbers": []}]
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            keys = [k for k in EXERCISES if k.split(".", 1)[0] == module and k.split(".")[1] == node.name]
            parts.append({"name": node.name, "start": min([node.lineno] + [d.lineno for d in node.decorator_list]),
                          "numbers": list(dict.fromkeys(EXERCISES[k].number for k in keys))})
    for part, following in zip(parts, parts[1:] + [{"start": len(lines) + 1}]):
        part["end"] = following["start"] - 1
        while part["end"] > part["start"] and not lines[part["end"] - 1].strip():
            part["end"] -= 1
        part["segments"] = segments(lines, part["start"], part["end"])
    return [p for p in parts if p["end"] >= p["start"] and any(l.strip() for l in lines[p["start"] - 1:p["end"]])]


def segments(lines, start, end):
    """Lines ``start``..``end`` (1-based) of a module cut at its solution markers, which are left
    out: [{"solution": bool, "start": first line number, "code": text}]; the solutions get folded."""
    inside = sum(l.strip() == SOLUTION_BEGIN for l in lines[:start - 1]) > sum(
        l.strip() == SOLUTION_END for l in lines[:start - 1])
    found = [{"solution": inside, "start": start, "code": []}]
    for number in range(start, end + 1):
        marker = lines[number - 1].strip()
        if marker in (SOLUTION_BEGIN, SOLUTION_END):
            found.append({"solution": marker == SOLUTION_BEGIN, "start": number + 1, "code": []})
        else:
            found[-1]["code"].append(lines[number - 1])
    return [{**seg, "code": "\n".join(seg["code"]).strip("\n")} for seg in found if "".join(seg["code"]).strip()]


def reference_pages(out, anchors):
    """A page per module of reference/nntricks (``anchors``: {exercise number: "chapter#heading"})."""
    modules = sorted(p.stem for p in (ROOT / "reference" / "nntricks").glob("*.py") if p.stem != "__init__")
    exercise_topics = list(dict.fromkeys(key.split(".", 1)[0] for key in EXERCISES))
    provided = [m for m in PROVIDED_ORDER if m in modules and m not in exercise_topics]
    order = ([m for m in exercise_topics if m in modules] + provided
             + [m for m in modules if m not in exercise_topics and m not in provided])
    (out / "reference" / "src").mkdir(parents=True)
    titles = {ex.number: ex.title for ex in EXERCISES.values()}
    pages = []
    for module in order:
        src = ROOT / "reference" / "nntricks" / f"{module}.py"
        shutil.copy2(src, out / "reference" / "src" / src.name)
        source = src.read_text()
        doc = (ast.get_docstring(ast.parse(source)) or "").split("\n\n")[0].replace("\n", " ")
        entry = {"module": module, "summary": doc, "exercise": module in exercise_topics,
                 "notebooks": sorted({ex.notebook for k, ex in EXERCISES.items() if k.split(".", 1)[0] == module}),
                 "numbers": list(dict.fromkeys(ex.number for k, ex in EXERCISES.items()
                                               if k.split(".", 1)[0] == module)),
                 "parts": module_parts(source, module), "anchors": anchors, "titles": titles}
        pages.append(entry)
        (out / "reference" / f"{module}.md").write_text(TEMPLATES.get_template("module.md.j2").render(**entry))
    (out / "reference" / "index.md").write_text(TEMPLATES.get_template("reference.md.j2").render(pages=pages))
    return pages


WORKSPACE = "nntricks-workspace.zip"


KIT = "nntricks-course"


def kit_files():
    """{path in the kit: file}: the student kit, everything a reader needs to work alone: the
    student workspace notebooks/ (exercises without solutions, the stub package), its README
    (setup on Linux, macOS and Windows; what it can check), requirements-student.txt and the
    student-mode Lab settings lab/."""
    files = {p.relative_to(ROOT).as_posix(): p for p in sorted((ROOT / "notebooks").rglob("*")) if p.is_file()
             and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    files.update({p.relative_to(ROOT).as_posix(): p for p in sorted((ROOT / "lab").rglob("*"))
                  if p.is_file() and p.name != "README.md"})
    files["README.md"] = BOOK / "kit" / "README.md"
    files["requirements-student.txt"] = ROOT / "requirements-student.txt"
    return files


def workspace_zip(path):
    """The student kit as a zip, in a folder nntricks-course/; byte-for-byte reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, file in sorted(kit_files().items()):
            info = zipfile.ZipInfo(f"{KIT}/{name}", (2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes(), zipfile.ZIP_DEFLATED)


def version():
    """``git describe`` of the sources (the footer's version), or "unknown" outside a git clone."""
    try:
        run = subprocess.run(["git", "describe", "--tags", "--always", "--dirty"], cwd=ROOT,
                             capture_output=True, text=True, timeout=30)
    except OSError:
        return "unknown"
    return run.stdout.strip() if run.returncode == 0 and run.stdout.strip() else "unknown"


def downloads_cell(name, solved, src):
    """The chapter's downloads, under its title: the student notebook to work in, and apart the
    solved one; both copied into the site."""
    student = ROOT / "notebooks" / f"{name}.ipynb"
    if not student.is_file():
        raise SystemExit(f"no notebooks/{name}.ipynb for solutions/{name}.ipynb: run `python -m autograder release`")
    for kind, path in (("student", student), ("solved", solved)):
        (src / "_extra" / "downloads" / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, src / "_extra" / "downloads" / kind / f"{name}.ipynb")
    text = (f'**Work on this chapter:** <a href="downloads/student/{name}.ipynb" download>the exercise notebook, '
            f"{name}.ipynb</a> (no solutions; it needs the package `nntricks/` of "
            f'<a href="downloads/{WORKSPACE}" download>the student kit</a>, '
            "or open it with the Binder or Colab button at the top, which fetches it for you). "
            f'Solved and executed, for after: <a href="downloads/solved/{name}.ipynb" download>the solved notebook</a>.')
    return {"cell_type": "markdown", "id": f"book-downloads-{name}"[:64], "metadata": {}, "source": text}


MATHJAX_FONTS = "output/chtml/fonts/woff-v2"


def mathjax_dir():
    try:
        import mathjax  # the django-static-mathjax package: MathJax 3 as static files
    except ImportError:
        raise SystemExit("MathJax is missing: run `make book-setup` (requirements-book.txt)") from None
    path = Path(mathjax.__path__[0]) / "static" / "mathjax" / "es5"
    if not (path / "tex-chtml.js").exists() or not (path / MATHJAX_FONTS).is_dir():
        raise SystemExit(f"no tex-chtml.js or {MATHJAX_FONTS} in {path}: reinstall requirements-book.txt")
    return path


def stage(src, solutions_dir=ROOT / "solutions"):
    """Write the Sphinx sources into ``src`` (emptied first); returns the chapters."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy2(BOOK / "conf.py", src / "conf.py")
    shutil.copy2(BOOK / "course.toml", src / "course.toml")
    (src / "build.json").write_text(json.dumps({"version": version(), "date": time.strftime("%Y-%m-%d", time.gmtime())}))
    shutil.copytree(BOOK / "static", src / "_static")
    # only the MathJax files the pages load: the combined TeX-to-CHTML component and its fonts
    mathjax = mathjax_dir()
    (src / "_static" / "mathjax").mkdir()
    shutil.copy2(mathjax / "tex-chtml.js", src / "_static" / "mathjax" / "tex-chtml.js")
    shutil.copytree(mathjax / MATHJAX_FONTS, src / "_static" / "mathjax" / MATHJAX_FONTS)
    references = {t: (ROOT / "reference" / "nntricks" / f"{t}.py").read_text()
                  for t in dict.fromkeys(k.split(".", 1)[0] for k in EXERCISES)}
    solutions = exercise_solutions(EXERCISES, references)
    chapters, placed = [], set()
    sources = [(name, path, nbformat.read(path, as_version=4)) for name, path in notebooks(solutions_dir)]
    found = targets([(name, nb) for name, _, nb in sources])
    for name, path, nb in sources:
        book_nb, done = chapter(nb, name, solutions, topics_of(name))
        for index, cell in enumerate(book_nb["cells"]):
            if cell["cell_type"] == "markdown":
                cell["source"] = link_mentions(anchor_questions("".join(cell["source"]), name), name, found,
                                               f"solutions/{name}.ipynb, cell {index}")
        book_nb["cells"].insert(1, downloads_cell(name, path, src))
        placed |= done
        nbformat.write(nbformat.from_dict(book_nb), src / f"{name}.ipynb")
        chapters.append({"name": name, "title": title(nb, name), "nb": nb, "topics": topics_of(name)})
    for number in sorted(set(solutions) - placed):
        print(f"book: warning: no '## Exercise {number}' heading in the notebooks: "
              f"its reference solution is only on the module's page", file=sys.stderr)
    workspace_zip(src / "_extra" / "downloads" / WORKSPACE)
    table, ungraded = exercise_table(chapters)
    anchors = {number: f"{ch['name']}.ipynb#{anchor}" for ch in chapters
               for number, anchor in exercise_anchors(ch["nb"]).items()}
    pages = reference_pages(src, anchors)
    render = {"chapters": chapters, "table": table, "ungraded": ungraded, "pages": pages,
              "grand_total": sum(t["total"] for t in table), "workspace": WORKSPACE}
    for page in ("index", "exercises"):
        (src / f"{page}.md").write_text(TEMPLATES.get_template(f"{page}.md.j2").render(**render))
    return chapters


def build(out, src, jobs, solutions_dir=ROOT / "solutions"):
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    chapters = stage(src, solutions_dir)
    print(f"book: {len(chapters)} chapters staged in {src}", flush=True)
    if out.exists():
        shutil.rmtree(out)
    args = ["-b", "html", "-q", "-E", "-W", "--keep-going", "-j", str(jobs),
            "-d", str(src.parent / "book-doctrees"), str(src), str(out)]
    code = build_main(args)
    if code:
        raise SystemExit(f"book: sphinx-build failed (exit {code}): see the warnings above")
    (out / ".nojekyll").touch()  # GitHub Pages: serve _static/ and _images/ as they are
    print(f"book: built {out / 'index.html'} in {time.perf_counter() - start:.1f} s", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book", help="the site (default build/book)")
    parser.add_argument("--src", type=Path, default=ROOT / "build" / "book-src",
                        help="the generated Sphinx sources (default build/book-src)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="sphinx-build processes")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions",
                        help="the executed solution notebooks NN_*.ipynb (default solutions/)")
    args = parser.parse_args(argv)
    try:
        build(args.out.resolve(), args.src.resolve(), args.jobs, args.solutions.resolve())
    except (BookError, LinkError) as e:
        raise SystemExit(f"book: {e}") from None


if __name__ == "__main__":
    main()

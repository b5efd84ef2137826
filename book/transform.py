"""Turn an executed solution notebook into a chapter of the book.

The book is built from copies of ``solutions/NN_*.ipynb``; nothing here writes to
``solutions/``. A chapter differs from its solution notebook in four ways:

* the hidden tests are gone: nbgrader's ``### BEGIN HIDDEN TESTS`` ...
  ``### END HIDDEN TESTS`` regions, every ``autograder.cell`` line (the import and
  the ``autograder.cell.hidden(keys, points)`` call) and what that call printed or
  returned (the ``Hidden checks of ...`` lines and the cell's number result);
* every solution is folded: a solution code cell (nbgrader ``solution: true``)
  gets myst-nb's ``hide-input`` tag, shown by a "Show solution" button; a written
  answer's ``### BEGIN SOLUTION`` region becomes a ``<details>`` block; a cell of
  hints (nothing but ``<details>`` blocks) that follows a solution moves before it;
* after the test cell of each package exercise (``## Exercise N.M`` headings), a
  folded block shows the reference code of the exercise's functions, taken from
  ``reference/nntricks/<topic>.py`` by name, with a link to the module's page;
* the chapter starts with a note linking its reference modules.

Everything is discovered from the notebooks' nbgrader metadata and from
``autograder.exercises.EXERCISES``: new cells and exercises need no change here.
"""

import ast
import copy
import hashlib
import re
import textwrap

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
SOLUTION_CLASS = "nnt-solution"  # the class (or cell tag) of every folded solution
HIDDEN_OUTPUT = re.compile(r"^Hidden checks of ", re.M)
EXERCISE_HEADING = re.compile(r"^#{1,6}\s*Exercise\s+(\d+\.\d+)\b", re.M)
DETAILS = re.compile(r"^<details(?P<attrs>[^>]*)>\s*<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>", re.S | re.M)


class BookError(ValueError):
    """A notebook the book cannot be built from, with what to fix."""


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_hidden_tests(source, where):
    """``source`` without its hidden-test regions and its ``autograder.cell`` lines."""
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker == HIDDEN_BEGIN:
            if inside:
                raise BookError(f"{where}, line {number}: nested '{HIDDEN_BEGIN}'")
            inside = True
        elif marker == HIDDEN_END:
            if not inside:
                raise BookError(f"{where}, line {number}: '{HIDDEN_END}' without '{HIDDEN_BEGIN}'")
            inside = False
        elif not inside and "autograder.cell" not in line:
            out.append(line)
    if inside:
        raise BookError(f"{where}: '{HIDDEN_BEGIN}' is never closed by '{HIDDEN_END}'")
    return "\n".join(out).rstrip()


def hidden_keys(source):
    """The exercise keys of the ``autograder.cell.hidden(keys, points)`` calls in ``source``."""
    keys = []
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return keys
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "hidden" and ast.unparse(node.func.value) == "autograder.cell"
                and node.args):
            try:
                value = ast.literal_eval(node.args[0])
            except ValueError:
                raise BookError(f"autograder.cell.hidden({ast.unparse(node.args[0])}, ...): the book needs "
                                "the exercise keys as a literal string or list") from None
            keys.extend([value] if isinstance(value, str) else value)
    return keys


def _without_magics(source):
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def strip_hidden_outputs(outputs):
    """The outputs of a test cell without those of its ``autograder.cell.hidden`` call: the
    call is the cell's last statement, so its result and everything it printed come last."""
    kept = []
    for output in outputs:
        if output.get("output_type") == "execute_result":
            continue  # the hidden call's score: the visible tests end with a print, not a value
        if output.get("output_type") == "stream":
            text = "".join(output.get("text", ""))
            match = HIDDEN_OUTPUT.search(text)
            if match:
                output = copy.deepcopy(output)
                output["text"] = text[:match.start()]
                if not output["text"].strip():
                    continue
        kept.append(output)
    return kept


def _remove_solution_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END)).strip("\n")


def fold_markdown(source, summary="Show solution"):
    """A written answer with its ``### BEGIN SOLUTION`` regions inside ``<details>`` blocks."""
    pattern = re.compile(rf"^[ \t]*{re.escape(SOLUTION_BEGIN)}[ \t]*\n(.*?)^[ \t]*{re.escape(SOLUTION_END)}[ \t]*$",
                         re.M | re.S)
    folded = pattern.sub(lambda m: details(m.group(1).strip("\n"), summary), source)
    if SOLUTION_BEGIN in folded or SOLUTION_END in folded:
        raise BookError(f"an unmatched '{SOLUTION_BEGIN}' / '{SOLUTION_END}' in a markdown cell:\n{source[:300]}")
    return folded


def open_details(source):
    """``<details>`` blocks (hints) that start a line, with their body on lines of its own, so
    that MyST parses the body as markdown (math, emphasis, code) instead of passing it through
    as raw HTML. A ``<details>`` in the middle of a line stays raw HTML (the browser test then
    reports any math left untypeset in it)."""
    return DETAILS.sub(lambda m: f"<details{m['attrs']}>\n<summary>{m['summary'].strip()}</summary>\n\n"
                                 f"{m['body'].strip()}\n\n</details>", source)


def details(body, summary):
    """Markdown that renders ``body`` (markdown) folded behind ``summary``."""
    return f'<details class="{SOLUTION_CLASS}">\n<summary>{summary}</summary>\n\n{body}\n\n</details>'


def function_source(module_source, qualname):
    """The source of function ``qualname`` ("f" or "Class.method") in a module, dedented,
    without its docstring (the chapter states the contract; the module's page has it) and
    without its solution markers."""
    node = ast.parse(module_source)
    for part in qualname.split("."):
        node = next((child for child in node.body
                     if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and child.name == part), None)
        if node is None:
            raise BookError(f"no function {qualname} in the reference module")
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    lines = module_source.splitlines()
    docstring = (node.body[0] if node.body and isinstance(node.body[0], ast.Expr)
                 and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)
                 else None)
    skip = range(docstring.lineno, docstring.end_lineno + 1) if docstring and len(node.body) > 1 else ()
    kept = [line for number, line in enumerate(lines[start - 1:node.end_lineno], start) if number not in skip]
    return _remove_solution_markers(textwrap.dedent("\n".join(kept)))


def exercise_solutions(exercises, reference_sources):
    """{exercise number: (title, markdown of the folded reference solution)} for every
    exercise of ``exercises`` (``{key: Exercise}``); ``reference_sources`` maps a topic to
    its module's source."""
    by_number = {}
    for key, exercise in exercises.items():
        by_number.setdefault(exercise.number, (exercise, []))[1].append(key)
    blocks = {}
    for number, (exercise, keys) in by_number.items():
        topics = list(dict.fromkeys(key.split(".", 1)[0] for key in keys))
        code = "\n\n\n".join(function_source(reference_sources[key.split(".", 1)[0]], key.split(".", 1)[1])
                             for key in keys)
        links = ", ".join(f"[`nntricks.{t}`](reference/{t}.md)" for t in topics)
        body = (f"The reference implementation of Exercise {number} ({exercise.title}), "
                f"from {links} (where the docstrings are):\n\n```python\n{code}\n```")
        blocks[number] = (exercise.title, details(body, f"Show solution: the reference code of Exercise {number}"))
    return blocks


def is_hints(source):
    """Whether a markdown cell holds nothing but ``<details>`` blocks (its hints)."""
    return bool(DETAILS.search(source)) and not DETAILS.sub("", source).strip()


def _is_solution(cell):
    return (SOLUTION_CLASS in cell.get("metadata", {}).get("tags", [])
            or "".join(cell.get("source", "")).startswith(f'<details class="{SOLUTION_CLASS}">'))


def _place_before_solutions(cells, hints):
    """Append the hints cell ``hints``, but before the folded solutions that end ``cells``: a
    reader meets the hints first and the solution last."""
    at = len(cells)
    while at and _is_solution(cells[at - 1]):
        at -= 1
    cells.insert(at, hints)


def _markdown_cell(source):
    ident = "book-" + hashlib.sha1(source.encode()).hexdigest()[:12]  # stable across builds
    return {"cell_type": "markdown", "id": ident, "metadata": {}, "source": source}


WHAT_TO_SEE = re.compile(r"^\s*(\*\*)?What to (see|read)\b")
FIGURE = ("image/png", "image/svg+xml", "image/jpeg")
WIDE = 800  # CSS px: a figure wider than the text column gets the page's full width


def _first_sentences(markdown, limit=240):
    """The first sentence(s) of a paragraph, up to about ``limit`` characters."""
    text = re.sub(r"^(?:[-*+]|\d+\.)\s+", "", " ".join(markdown.split()))
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z*(])", text)
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) > 60 and len(out) + len(sentence) > limit:
            break
        out += " " + sentence
    return out


def _plain(markdown):
    """Markdown as plain text for an alt attribute: no emphasis, code marks, maths delimiters or TeX."""
    text = re.sub(r"\\(?:text|mathrm|operatorname)\{([^}]*)\}", r"\1", " ".join(markdown.split()))
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    return re.sub(r"[*`$_{}\\]", "", text).strip()


def figure_caption(cells, index):
    """The caption of the figure(s) of code cell ``index``: the markdown after it that says what
    to see; else the last paragraph of the markdown cell right before it (not an answer or a
    question); else the titles of its panels."""
    after = next((c for c in cells[index + 1:] if c["cell_type"] == "markdown"), None)
    if after is not None and WHAT_TO_SEE.match("".join(after["source"])):
        paragraphs = "".join(after["source"]).strip().split("\n\n")
        first = re.sub(r"^\s*(\*\*)?What to (see|read)[^.:]*[.:]?(\*\*)?[.:]?\s*", "", paragraphs[0])
        return _first_sentences(first if first.strip() or len(paragraphs) == 1 else paragraphs[1])
    before = next((c for c in reversed(cells[:index])
                   if c["cell_type"] == "markdown" or any(set(FIGURE) & set(o.get("data", {}))
                                                          for o in c.get("outputs", []))), None)
    paragraphs = []
    if (before is not None and before["cell_type"] == "markdown" and not nbgrader(before).get("solution")
            and not "".join(before["source"]).lstrip().startswith("**Question")):
        paragraphs = [p for p in "".join(before["source"]).strip().split("\n\n")
                      if p.strip() and not p.lstrip().startswith(("#", "<", "|", "```", "$$"))
                      and not re.match(r"\s*(?:[-*+]|\d+\.)\s", p)]  # a list reads badly as a caption
    titles = figure_titles("".join(cells[index]["source"]))
    return _first_sentences(paragraphs[-1]) if paragraphs else "; ".join(titles)


def figure_titles(code):
    """The titles a figure's code gives its panels (``title=``, ``set_title``, ``suptitle``); the
    computed parts of an f-string are left out."""
    try:
        tree = ast.parse(_without_magics(code))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        values = [k.value for k in node.keywords if k.arg == "title"]
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("set_title", "suptitle") and node.args:
            values.append(node.args[0])
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.append(value.value)
            elif isinstance(value, ast.JoinedStr):
                found.append("".join(v.value if isinstance(v, ast.Constant) else "..." for v in value.values))
    return [" ".join(t.split()) for t in found if t.strip()]


def _display_width(output):
    """The width (CSS px) a figure output is shown at: its metadata's, else the PNG's own."""
    for mime in FIGURE:
        width = output.get("metadata", {}).get(mime, {}).get("width")
        if width:
            return int(width)
    data = output.get("data", {}).get("image/png")
    if data:
        import base64
        return int.from_bytes(base64.b64decode("".join(data)[:40])[16:20], "big")
    return 0


def caption_figures(cells, name):
    """Every code cell with a figure gets myst-nb's caption and alt text (``figure_caption``), and
    the ``full-width`` tag when a figure is wider than the text column."""
    for index, cell in enumerate(cells):
        figures = [o for o in cell.get("outputs", []) if set(FIGURE) & set(o.get("data", {}))]
        if cell["cell_type"] != "code" or not figures:
            continue
        caption = figure_caption(cells, index)
        if not caption:
            raise BookError(f"{name}, cell {index}: a figure with no markdown before or after it to caption it")
        mystnb = cell["metadata"].setdefault("mystnb", {})
        mystnb["figure"] = {"caption": caption}
        titles = figure_titles("".join(cell["source"]))
        described = "; ".join(titles)
        mystnb["image"] = {"alt": "Figure: " + _plain(described if len(re.sub(r"\W", "", described)) > 20 else caption)}
        if max(_display_width(o) for o in figures) > WIDE:
            tags = cell["metadata"].setdefault("tags", [])
            tags += [] if "full-width" in tags else ["full-width"]


def chapter(nb, name, solutions, topics):
    """The chapter made from notebook ``nb`` (a dict, left unchanged) named ``name``:
    ``solutions`` comes from :func:`exercise_solutions`, ``topics`` are the reference
    modules of this notebook's exercises."""
    nb = copy.deepcopy(nb)
    caption_figures(nb["cells"], name)
    cells, pending = [], None  # pending: an exercise heading whose solution goes after its test cell
    placed = set()
    for index, cell in enumerate(nb["cells"]):
        where = f"{name}, cell {index}"
        meta = nbgrader(cell)
        source = "".join(cell.get("source", ""))
        if cell["cell_type"] == "code":
            if HIDDEN_BEGIN in source or "autograder.cell" in source:
                cell["source"] = strip_hidden_tests(source, where)
                cell["outputs"] = strip_hidden_outputs(cell.get("outputs", []))
            if meta.get("solution"):
                cell["source"] = _remove_solution_markers(cell["source"])
                tags = cell["metadata"].setdefault("tags", [])
                tags += [t for t in ("hide-input", SOLUTION_CLASS) if t not in tags]
                cell["metadata"].setdefault("mystnb", {}).update(
                    code_prompt_show="Show solution", code_prompt_hide="Hide solution")
        elif cell["cell_type"] == "markdown":
            cell["source"] = open_details(fold_markdown(source) if SOLUTION_BEGIN in source else source)
            headings = EXERCISE_HEADING.findall(source)
            if pending and headings:  # a new exercise before a test cell: place the previous one here
                cells.append(_markdown_cell(solutions[pending][1]))
                placed.add(pending)
                pending = None
            pending = next((n for n in headings if n in solutions and n not in placed), pending)
        if cell["cell_type"] == "markdown" and is_hints(source):
            _place_before_solutions(cells, cell)
        else:
            cells.append(cell)
        if pending and cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            cells.append(_markdown_cell(solutions[pending][1]))
            placed.add(pending)
            pending = None
    if pending:
        cells.append(_markdown_cell(solutions[pending][1]))
        placed.add(pending)
    if topics:
        links = ", ".join(f"[`nntricks.{t}`](reference/{t}.md)" for t in topics)
        note = _markdown_cell(f"```{{note}}\nThe exercises of this chapter are functions of {links}: "
                              "each exercise's reference code is folded under it, and the whole module "
                              "is on its page.\n```")
        cells.insert(1 if cells and cells[0]["cell_type"] == "markdown" else 0, note)
    nb["cells"] = cells
    return nb, placed

"""Mentions of chapters, exercises, sections and questions become links in the book.

The targets come from the notebooks themselves: a chapter is ``NN_topic.ipynb`` ("notebook 01",
"notebooks 01 and 02"), an exercise is a heading ``## Exercise N.M: ...`` ("Exercise 1.6",
"Exercises 1.6 and 1.7"), a section is a heading ``## N. Title`` of the same notebook ("Section 4",
"Sections 6 and 7"; "Section 7.8" of a cited book is left alone), a question is a paragraph that
starts ``**Question N`` or ``**Question QN`` of the same notebook ("Question 2", "Question Q1",
"Q1"), which gets an anchor. Code, maths, links, HTML tags and headings are left as they are. A
mention whose target does not exist is an error that names it.
"""

import re

from myst_parser.slugs import github_slugify

EXERCISE = re.compile(r"^#{1,3}\s+(Exercise\s+(\d+\.\d+)\b.*)$", re.M)
SECTION = re.compile(r"^#{1,3}\s+((\d+)\.\s.*)$", re.M)
QUESTION = re.compile(r"^\*\*Question\s+(Q?\d+)\b", re.M)
# what is never rewritten: code, maths, links, a fold's summary (raw HTML), HTML tags, headings
PROTECTED = re.compile(r"```.*?```|<summary>.*?</summary>|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]+\$|!?\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]+>|^#{1,6}\s[^\n]*$",
                       re.S | re.M)
MENTION = re.compile(
    r"\b(?P<kind>[Nn]otebooks?|[Ee]xercises?|[Ss]ections?|[Qq]uestions?)\s+(?P<first>Q?\d+(?:\.\d+)?)(?!\.?[\w(])"
    r"(?P<rest>(?:(?:,\s*|\s+and\s+|\s+or\s+|\s+to\s+)Q?\d+(?:\.\d+)?(?!\.?[\w(]))*)"
    r"|(?<![\w.])(?P<bare>Q\d+)\b")


class LinkError(ValueError):
    """A mention that names no chapter, exercise, section or question of the course."""


def question_id(name, label):
    """The anchor of question ``label`` ("Q1", "2") in chapter ``name``."""
    return f"question-{name[:2]}-{label.lower()}"


def slug(heading):
    """The anchor MyST gives a heading: GitHub's slug of its text, inline maths left out."""
    return github_slugify(re.sub(r"\$[^$]*\$", "", heading.rstrip()))


def targets(notebooks):
    """{"chapters": {"01": name}, "exercises": {"1.6": "name.ipynb#anchor"}, "sections": {name: {"4": anchor}},
    "questions": {name: {"Q1"|"2": anchor}}} from ``notebooks``: [(name, nbformat notebook)]."""
    found = {"chapters": {}, "exercises": {}, "sections": {}, "questions": {}}
    for name, nb in notebooks:
        found["chapters"][name[:2]] = name
        sections, questions = found["sections"].setdefault(name, {}), found["questions"].setdefault(name, {})
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for match in EXERCISE.finditer(cell.source):
                found["exercises"].setdefault(match[2], f"{name}.ipynb#{slug(match[1])}")
            for match in SECTION.finditer(cell.source):
                sections.setdefault(match[2], slug(match[1]))
            for match in QUESTION.finditer(cell.source):
                questions.setdefault(match[1], question_id(name, match[1]))
    return found


def anchor_questions(source, name):
    """A markdown cell whose ``**Question N`` paragraphs start with their anchor (a MyST target)."""
    return QUESTION.sub(lambda m: f"\n({question_id(name, m[1])})=\n{m[0]}", source)


def _target(kind, number, name, found):
    kind = kind.lower().rstrip("s")
    if kind == "notebook":
        chapter = found["chapters"].get(number)
        return chapter and f"{chapter}.ipynb"
    if kind == "exercise":
        return found["exercises"].get(number)
    if kind == "section":
        anchor = found["sections"].get(name, {}).get(number)
        return anchor and f"{name}.ipynb#{anchor}"
    anchor = found["questions"].get(name, {}).get(number) or found["questions"].get(name, {}).get(number.lstrip("Q"))
    return anchor and f"{name}.ipynb#{anchor}"


def link_mentions(source, name, found, where=""):
    """``source`` (markdown of chapter ``name``) with its mentions turned into links."""

    def link(kind, number):
        target = _target(kind, number, name, found)
        if target is None:
            raise LinkError(f"{where or name}: '{kind} {number}' names no {kind.lower().rstrip('s')} of the course "
                            "(the links are made from the notebooks' headings and questions)")
        return target

    def mention(m):
        if m["bare"]:
            return f"[{m['bare']}]({link('Question', m['bare'])})"
        kind = m["kind"]
        if kind.lower().startswith("section") and "." in m["first"]:
            return m[0]  # a section of a cited book
        out = f"[{kind} {m['first']}]({link(kind, m['first'])})"
        return out + re.sub(r"Q?\d+(?:\.\d+)?", lambda n: f"[{n[0]}]({link(kind, n[0])})", m["rest"])

    pieces, last = [], 0
    for protected in PROTECTED.finditer(source):
        pieces.append(MENTION.sub(mention, source[last:protected.start()]))
        pieces.append(protected[0])
        last = protected.end()
    pieces.append(MENTION.sub(mention, source[last:]))
    return "".join(pieces)

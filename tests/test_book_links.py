"""book/links.py: mentions of chapters, exercises, sections and questions become links."""

import nbformat
import pytest

from bookbrowser import _book_module

NB = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "markdown", "metadata": {}, "source": "# 01 T\n\n## 4. The shape of L2\n\ntext"},
    {"cell_type": "markdown", "metadata": {}, "source": "## Exercise 1.6: The linear layer\n\n**Question Q1 (2 points).** Why?"},
    {"cell_type": "markdown", "metadata": {}, "source": "## Exercise 1.7: Backward\n\n**Question 2 (1 point).**"},
]})


@pytest.fixture(scope="module")
def links():
    return _book_module("links")


@pytest.fixture(scope="module")
def found(links):
    return links.targets([("01_t", NB), ("02_u", nbformat.from_dict({**NB, "cells": []}))])


def test_mentions_become_links(links, found):
    text = ("See Section 4, Exercises 1.6 and 1.7, Exercises 1.6 to 1.7, notebook 02 and notebooks 01 and 02; "
            "Question Q1 (b), Q1 and Question 2.")
    got = links.link_mentions(text, "01_t", found)
    for want in ("[Section 4](01_t.ipynb#4-the-shape-of-l2)",
                 "[Exercises 1.6](01_t.ipynb#exercise-16-the-linear-layer) and [1.7](01_t.ipynb#exercise-17-backward)",
                 "[Exercises 1.6](01_t.ipynb#exercise-16-the-linear-layer) to [1.7](01_t.ipynb#exercise-17-backward)",
                 "[notebook 02](02_u.ipynb)", "[notebooks 01](01_t.ipynb) and [02](02_u.ipynb)",
                 "[Question Q1](01_t.ipynb#question-01-q1) (b)", "[Q1](01_t.ipynb#question-01-q1) and",
                 "[Question 2](01_t.ipynb#question-01-2)."):
        assert want in got, f"{want} not in {got}"


def test_code_maths_links_headings_and_cited_sections_stay(links, found):
    text = ("`Exercise 1.6` $Q1$ [Exercise 1.6](x.md) <a title=\"Q1\"> <summary>Exercise 1.6</summary>\n## Exercise 1.6: x\n"
            "```python\n# Exercise 9.9\n```\nGoodfellow et al., Section 7.8; Q12b; up to Exercise 6.k, above Exercise 6.(k+1).")
    assert links.link_mentions(text, "01_t", found) == text


def test_the_anchor_of_a_heading_with_maths_is_myst_s(links):
    assert links.slug("6. Error backpropagation: the gradient with respect to $z$") == \
        "6-error-backpropagation-the-gradient-with-respect-to-"


def test_a_heading_protects_only_its_own_line(links, found):
    got = links.link_mentions("# 01 T\n\nimplement it (Exercise 1.6).", "01_t", found)
    assert got == "# 01 T\n\nimplement it ([Exercise 1.6](01_t.ipynb#exercise-16-the-linear-layer))."


def test_a_mention_of_a_missing_target_is_an_error(links, found):
    for text, named in (("Exercise 9.9", "Exercise 9.9"), ("Section 5", "Section 5"), ("notebook 07", "notebook 07"),
                        ("Question Q7", "Question Q7"), ("see Q3", "Question Q3")):
        with pytest.raises(links.LinkError, match=named):
            links.link_mentions(text, "01_t", found, "cell 3")


def test_questions_get_their_anchor(links):
    got = links.anchor_questions("Text.\n**Question Q1 (2 points).** Why?", "04_b")
    assert "\n(question-04-q1)=\n**Question Q1" in got

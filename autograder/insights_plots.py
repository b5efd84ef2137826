"""The plots of the insights page: matplotlib figures drawn to inline SVG (no pyplot, no display).

Every label that may carry recorded text (a mistake's name) is cut short and has its ``$`` escaped
(matplotlib would read ``$...$`` as mathematics); matplotlib's SVG writer escapes ``<``, ``>`` and
``&`` itself, and the page embeds nothing else of it.
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure

SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "nntricks-insights", "font.size": 10,
          "axes.spines.top": False, "axes.spines.right": False}
BAR, MEDIAN, BAD = "#4c72b0", "#a61b1b", "#c44e52"


def label(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return text.replace("\\", "\\\\").replace("$", r"\$")


def to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(SVG_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(width, height) -> Figure:
    with matplotlib.rc_context(SVG_RC):
        return Figure(figsize=(width, height), layout="constrained")


def score_histogram(assignment) -> str:
    """Students per score bin for one assignment, with the median marked."""
    with matplotlib.rc_context(SVG_RC):
        fig = _figure(5.2, 2.4)
        ax = fig.add_subplot()
        top = assignment.max_score or max(assignment.scores, default=1.0) or 1.0
        bins = min(20, max(5, int(top)))
        scores = [min(max(x, 0.0), top) for x in assignment.scores]  # a recorded score out of range stays in
        ax.hist(scores, bins=bins, range=(0, top), color=BAR, edgecolor="white")
        if assignment.median is not None:
            ax.axvline(assignment.median, color=MEDIAN, linestyle="--", linewidth=1.5,
                       label=f"median {assignment.median:g}")
            ax.legend(frameon=False, loc="upper left")
        ax.set_xlim(0, top)
        ax.set_xlabel(f"score (points out of {top:g})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        return to_svg(fig)


def exercise_shares(exercises) -> str:
    """The share of each exercise's hidden-check points that the class earned, worst at the top."""
    with matplotlib.rc_context(SVG_RC):
        rows = list(exercises)
        fig = _figure(7.5, 0.8 + 0.28 * len(rows))
        ax = fig.add_subplot()
        y = range(len(rows))
        shares = [100 * x.share for x in rows]
        ax.barh(list(y), shares, color=[BAD if s < 50 else BAR for s in shares])
        ax.set_yticks(list(y), [label(f"{x.number} {x.title}".strip(), 45) for x in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("share of the exercise's points the class earned (%)")
        for i, s in zip(y, shares):
            ax.text(min(s + 1, 92), i, f"{s:.0f}%", va="center", fontsize=8)
        return to_svg(fig)


def mistake_counts(mistakes, limit: int = 12) -> str:
    """Students per named mistake, most frequent at the top."""
    with matplotlib.rc_context(SVG_RC):
        rows = list(mistakes)[:limit]
        fig = _figure(7.5, 0.8 + 0.3 * len(rows))
        ax = fig.add_subplot()
        y = range(len(rows))
        ax.barh(list(y), [len(m.students) for m in rows], color=BAD)
        ax.set_yticks(list(y), [label(f"{m.exercise}: {m.name}") for m in rows])
        ax.invert_yaxis()
        ax.set_xlabel("students who made the mistake")
        ax.xaxis.get_major_locator().set_params(integer=True)
        return to_svg(fig)

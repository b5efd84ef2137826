"""Sphinx configuration of the nntricks book (copied into build/book-src/ by book/build.py, with
course.toml, where the repository and the licence are set, and build.json, the version and date)."""

import json
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
COURSE = tomllib.loads((HERE / "course.toml").read_text())
BUILD = json.loads((HERE / "build.json").read_text())

project = "nntricks"
author = "the nntricks authors"
html_title = "nntricks: training neural networks well"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "reference/src", "_extra"]
# the chapters' notebooks, downloaded as they are (book/build.py): site/downloads/{student,solved}/
html_extra_path = ["_extra"]

# Notebooks: the executed solution notebooks as committed; the build never runs them.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# a notebook whose headings skip a level still reads well: not worth failing the build (-W) for
suppress_warnings = ["myst.header"]

# MathJax 3 served from the site (_static/mathjax, copied from django-static-mathjax): no CDN.
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {
    "tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]]},
    "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area",
                "ignoreHtmlClass": "tex2jax_ignore|mathjax_ignore|document"},
}

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    # each chapter links its student notebook and, apart, its solved one (book/build.py)
    "use_download_button": False,
    "repository_url": COURSE["repository"],
    "repository_branch": COURSE["branch"],
    "use_repository_button": True,
    "use_issues_button": True,
    # the launch buttons open the student notebook of the same name, notebooks/NN_topic.ipynb
    "path_to_docs": "notebooks",
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com",
                       "notebook_interface": "jupyterlab"},
    "extra_footer": (f'<p class="nnt-footer">nntricks {BUILD["version"]}, built {BUILD["date"]}. '
                     f'Licence: {COURSE["licence"]}. Source: <a href="{COURSE["repository"]}">'
                     f'{COURSE["repository"]}</a>.</p>'),
    "use_fullscreen_button": False,
    "navigation_with_keys": True,
    "navbar_persistent": [],  # the search box is in the left sidebar; no second one in a top bar
}
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_js_files = ["book.js"]
html_last_updated_fmt = None
pygments_style = "default"
html_context = {"default_mode": "light"}  # an explicit mode: the theme logs a console error for none
html_favicon = "_static/favicon.svg"

"""Sphinx configuration of the nntricks book (copied into build/book-src/ by book/build.py)."""

project = "nntricks"
author = "the nntricks authors"
html_title = "nntricks: training neural networks well"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "reference/src"]

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
    "use_download_button": True,
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

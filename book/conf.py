"""Sphinx configuration of the normprop book (``make book``; see ``normprop/book.py``).

Sphinx reads this folder as its configuration directory (``-c book``) and the staged sources in
``build/book-src`` as its source directory. Everything here comes from pip packages: the build never
fetches anything, and MyST-NB renders the notebooks' stored outputs without executing them.
"""

import shutil
import tomllib
from pathlib import Path

import jupyter_server_mathjax

_PROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]

project = "normprop"
author = "the normprop authors"
copyright = "2026, the normprop authors"
release = version = _PROJECT["version"]

extensions = ["myst_nb"]

# Render what the notebooks hold: `make figures` executed them; the book must not run them again.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# MathJax 2 from the jupyter-server-mathjax wheel, copied into the book: formulas render offline too
# (Sphinx's default loads MathJax from a CDN when the page is opened).
_MATHJAX = Path(jupyter_server_mathjax.__file__).resolve().parent / "static"
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "messageStyle": "none",
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]]},
    # The wheel ships the STIX-Web fonts only (as Jupyter configures it).
    "HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web", "webFont": "STIX-Web", "imageFont": None},
    "SVG": {"font": "STIX-Web"},
}
myst_update_mathjax = False  # MyST's tweak targets MathJax 3/4 options

exclude_patterns = ["**.ipynb_checkpoints", ".doctrees", "warnings.txt"]

html_theme = "sphinx_book_theme"
html_title = f"normprop {release}"
html_last_updated_fmt = None  # byte-stable pages: no build date
html_theme_options = {
    # The slug lives in pyproject.toml ([project.urls] Repository); a placeholder until the project is public.
    "repository_url": _PROJECT["urls"]["Repository"],
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}


def _copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        shutil.copytree(_MATHJAX, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app):
    app.connect("build-finished", _copy_mathjax)

"""Sphinx configuration of the cogd documentation site.

Build (offline, warnings are errors):  python -m sphinx -W -b html docs docs/_build/html
Without running the gallery:            add  -D plot_gallery=0

Generated at build time, never committed: the API pages (``docs/api/``, one page per name of
each package's ``__all__``), the gallery (``docs/auto_examples/``, from
``examples/gallery/*.py``, figures drawn by the scripts) and the results pages
(``docs/results/``, from ``benchmarks/results/*.md``).
"""

import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import csc  # noqa: E402
import nets  # noqa: E402
import restoration  # noqa: E402

project = "cogd"
author = "the cogd developers"
copyright = "2026, the cogd developers"
release = version = "0.1.0"

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
templates_path = ["_templates"]
html_static_path = ["_static"]
root_doc = "index"

# -- theme --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "cogd"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
html_copy_source = False

# -- API reference: autosummary over each package's __all__ ------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()
PACKAGES = {"csc": csc, "restoration": restoration, "nets": nets}

# -- MyST ---------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# -- gallery ------------------------------------------------------------------------------------
class GalleryOrder:
    """The order of the gallery: restoration first, then learning, then nets."""

    ORDER = ("plot_inpaint_photo.py", "plot_missing_fraction.py", "plot_colour.py",
             "plot_scratches.py", "plot_selections.py", "plot_blockwise_dask.py",
             "plot_learn_filters.py", "plot_prune_model.py", "plot_irda_sparsity.py")

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return self.ORDER.index(filename) if filename in self.ORDER else len(self.ORDER)

    def __repr__(self):
        return "GalleryOrder"


sys.path.insert(0, str(DOCS))  # so that "conf.GalleryOrder" can be imported by name
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "conf.GalleryOrder",
    "show_memory": False,
    "capture_repr": (),
    "min_reported_time": 0,
}


def write_api_pages():
    """``docs/api/<package>.rst``: an autosummary table (one page each) of the package's
    ``__all__``."""
    folder = DOCS / "api"
    shutil.rmtree(folder, ignore_errors=True)  # no page of a name that left an __all__
    folder.mkdir()
    for name, module in PACKAGES.items():
        title = f"``{name}``"
        lines = [title, "=" * len(title), "", f".. automodule:: {name}", "   :no-members:", "",
                 f".. currentmodule:: {name}", "", ".. autosummary::", "   :toctree: generated",
                 ""]
        lines += [f"   {public}" for public in sorted(module.__all__, key=str.lower)]
        _write_if_changed(folder / f"{name}.rst", "\n".join(lines) + "\n")
    index = ["API reference", "=============", "",
             "One page per name of each package's ``__all__``; the submodules' own names are "
             "described in :doc:`../architecture`.", "", ".. toctree::", "   :maxdepth: 1", "",
             *[f"   {name}" for name in PACKAGES], ""]
    _write_if_changed(folder / "index.rst", "\n".join(index))


def write_results_pages():
    """``docs/results/*.md``: the committed benchmark results, with a link to their source."""
    source = ROOT / "benchmarks" / "results"
    folder = DOCS / "results"
    folder.mkdir(exist_ok=True)
    names = sorted(path.stem for path in source.glob("*.md"))
    for stem in names:
        text = (source / f"{stem}.md").read_text(encoding="utf-8")
        # figures of the results folder are copied beside the page
        for image in re.findall(r"\]\(([^)]+\.png)\)", text):
            if (source / image).exists():
                shutil.copy2(source / image, folder / Path(image).name)
        _write_if_changed(folder / f"{stem}.md", text)
    index = ["# Measured results", "",
             "Every page is a committed file of `benchmarks/results/`, written by the benchmark "
             "command it names, on the machine it names. Numbers are rerun, not edited.", "",
             "```{toctree}", ":maxdepth: 1", "", *names, "```", ""]
    _write_if_changed(folder / "index.md", "\n".join(index))


# The user guide is written to be read on GitHub too: its links to the committed results and to
# the gallery's scripts are repository paths, turned into the site's pages when it is built.
REPOSITORY_LINKS = [
    (re.compile(r"\]\((?:\.\./)+benchmarks/results/([\w-]+)\.md(#[\w-]+)?\)"), r"](/results/\1.md\2)"),
    (re.compile(r"\]\((?:\.\./)+examples/gallery/(plot_\w+)\.py\)"), r"](/auto_examples/\1.rst)"),
]


def site_links(app, docname, source):
    """``source-read``: repository links of a Markdown page -> links between the site's pages."""
    if app.env.doc2path(docname).suffix == ".md":
        for pattern, replacement in REPOSITORY_LINKS:
            source[0] = pattern.sub(replacement, source[0])


def _write_if_changed(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# written when the configuration is read, before Sphinx looks for source files
write_api_pages()
write_results_pages()


def setup(app):
    app.connect("source-read", site_links)

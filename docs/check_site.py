"""Check a built documentation site: every internal link, anchor and image resolves.

python docs/check_site.py [docs/_build/html] [--screenshots FOLDER]

Reads every HTML page of the built site and checks each ``href`` and ``src`` that points inside
the site (external ``http(s)://`` and ``mailto:`` links are not followed: the build is offline):
the file must exist, and a ``#fragment`` must name an ``id`` of the target page. Also checks
that every gallery example page shows at least one figure. Prints one line per problem and
exits 1 if there is any; prints a one-line summary and exits 0 otherwise.

With ``--screenshots FOLDER``, headless Chromium (Debian's ``chromium``) opens the index, the
gallery's index and the inpainting example and writes a PNG of each into FOLDER; a page it
cannot render is a problem too.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.references = []  # (attribute, value)
        self.ids = set()
        self.images = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and "name" in attributes:
            self.ids.add(attributes["name"])
        if tag == "img":
            self.images += 1
        for name in ("href", "src"):
            if attributes.get(name):
                self.references.append((name, attributes[name]))


def parse(path):
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def check_site(root):
    """Problems found in the built site under ``root`` (list of str)."""
    root = Path(root).resolve()
    pages = {path: parse(path) for path in sorted(root.rglob("*.html"))
             if "_static" not in path.relative_to(root).parts}  # theme templates, not pages
    problems = []
    for page, parsed in pages.items():
        for attribute, value in parsed.references:
            parts = urlsplit(value)
            if parts.scheme or value.startswith("//") or value.startswith("data:"):
                continue  # external or inline: not checked offline
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(root)}: {attribute}={value!r}"
            if root not in target.parents and target != root:
                problems.append(f"{where} points outside the site")
            elif not target.exists():
                problems.append(f"{where}: no such file")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where}: no anchor #{parts.fragment}")
    gallery = root / "auto_examples"
    for page, parsed in pages.items():
        if page.parent == gallery and page.name.startswith("plot_"):
            if not any(v.endswith(".png") and "sphx_glr" in v for _, v in parsed.references):
                problems.append(f"{page.relative_to(root)}: a gallery example without a figure")
    if not pages:
        problems.append(f"no HTML page under {root}")
    return problems, len(pages)


SCREENSHOT_PAGES = ("index", "auto_examples/index", "auto_examples/plot_inpaint_photo")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--window-size=1280,1600")


def screenshots(root, folder):
    """PNGs of :data:`SCREENSHOT_PAGES` taken by headless Chromium; problems (list of str)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return ["--screenshots: no chromium on PATH (Debian: apt-get install chromium)"]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    for page in SCREENSHOT_PAGES:
        target = folder / f"{page.replace('/', '_')}.png"
        target.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                            f"--screenshot={target}",
                            (Path(root).resolve() / f"{page}.html").as_uri()],
                           capture_output=True, timeout=120, check=False)
        if not target.exists() or target.stat().st_size == 0:
            problems.append(f"{page}.html: chromium wrote no screenshot")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="docs/_build/html")
    parser.add_argument("--screenshots", metavar="FOLDER",
                        help="also take screenshots of three pages with headless Chromium")
    args = parser.parse_args(argv)
    problems, n_pages = check_site(args.root)
    if args.screenshots:
        problems += screenshots(args.root, args.screenshots)
    if problems:
        print("\n".join(problems))
        return 1
    print(f"{n_pages} pages: every internal link, anchor and image resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""docs/check_site.py finds broken internal links, anchors and images, and nothing else."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_site", ROOT / "docs" / "check_site.py")
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)


def write_site(folder, pages):
    for name, html in pages.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><body>{html}</body></html>", encoding="utf-8")


def test_a_site_whose_links_resolve_has_no_problem(tmp_path):
    write_site(tmp_path, {
        "index.html": '<a href="guide/page.html#usage">guide</a> <a href="https://example.org">x</a>'
                      ' <img src="_images/figure.png"> <a href="#top" id="top">top</a>',
        "guide/page.html": '<h2 id="usage">Usage</h2><a href="../index.html">home</a>',
        "auto_examples/plot_a.html": '<img src="../_images/sphx_glr_plot_a_001.png">',
    })
    (tmp_path / "_images").mkdir()
    for image in ("_images/figure.png", "_images/sphx_glr_plot_a_001.png"):
        (tmp_path / image).write_bytes(b"png")
    problems, n_pages = check_site.check_site(tmp_path)
    assert problems == [] and n_pages == 3


def test_broken_links_anchors_images_and_figureless_examples_are_reported(tmp_path):
    write_site(tmp_path, {
        "index.html": '<a href="missing.html">a</a> <a href="other.html#nowhere">b</a>'
                      ' <img src="_images/gone.png"> <a href="../../etc/passwd">c</a>',
        "other.html": '<p id="somewhere">text</p>',
        "auto_examples/plot_b.html": "<p>no figure</p>",
    })
    problems, _ = check_site.check_site(tmp_path)
    joined = "\n".join(problems)
    assert len(problems) == 5, joined
    for expected in ("missing.html", "#nowhere", "gone.png", "outside the site",
                     "a gallery example without a figure"):
        assert expected in joined
    assert check_site.main([str(tmp_path)]) == 1

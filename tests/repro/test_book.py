"""The HTML book (``make book``): built from notebooks as they are, one page per notebook with its figures.

The book is built once for the module into a temporary folder from the committed notebooks, except that
notebook 01 is also placed where an executed run would be (``build/quick/``) with a report beside it, to check
that executed notebooks and the report win over the committed ones. Where Debian's ``chromium`` is installed,
the landing page and a notebook page are rendered headless and must not be blank.
"""

import hashlib
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from normprop.claims import all_claims
from normprop.repro import book

ROOT = Path(__file__).resolve().parents[2]
IMG = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]+)\"")
REPORT = "# normprop reproduction report (quick preset)\n\n**Result: every claim reproduced.**\n"


def digest(paths) -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("book")
    committed = [ROOT / "README.md", *sorted((ROOT / "notebooks").glob("*.ipynb")), ROOT / "figures" / "README.md"]
    before = digest(committed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORMPROP_BUILD_DIR", str(base))
        (base / "quick").mkdir()
        shutil.copy(ROOT / "notebooks" / f"{all_claims()[0].notebook}.ipynb", base / "quick")
        (base / "quick" / "report.md").write_text(REPORT)
        index = book.build_book("quick")
    assert digest(committed) == before, "building the book changed a committed file"
    return index


def page_images(page: Path) -> list[Path]:
    """The local images a page shows (theme logos excluded), resolved and checked to exist."""
    images = []
    for src in IMG.findall(page.read_text()):
        if "_static/" in src:
            continue
        assert not src.startswith(("http:", "https:")), f"{page.name} loads an image from the network: {src}"
        image = (page.parent / src).resolve()
        assert image.is_file() and image.stat().st_size > 1000, f"{page.name}: broken image {src}"
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        images.append(image)
    return images


def test_book_is_rendered_without_executing():
    config = runpy.run_path(str(ROOT / "book" / "conf.py"))
    assert config["nb_execution_mode"] == "off"


def test_landing_page_links_every_notebook_the_gallery_and_the_report(built):
    assert built.name == "index.html" and built.parent.name == "book"
    html = built.read_text()
    assert "<h1>normprop" in html, "the README is the landing page"
    for claim in all_claims():
        assert f'href="notebooks/{claim.notebook}.html"' in html
    assert 'href="figures/README.html"' in html and 'href="report.html"' in html
    assert "every claim reproduced" in (built.parent / "report.html").read_text()


@pytest.mark.parametrize("claim", all_claims(), ids=lambda claim: claim.notebook)
def test_each_notebook_page_shows_its_figures(built, claim):
    page = built.parent / "notebooks" / f"{claim.notebook}.html"
    html = page.read_text()
    assert f"<title>{claim.notebook[:2]}" in html, "the page is titled by the notebook's first heading"
    assert len(page_images(page)) >= len(claim.figures), "fewer images than the notebook has figures"
    # A line under the title says where the page comes from: build/quick/ for 01 (see the fixture).
    if claim is all_claims()[0]:
        assert "executed with the quick preset (" in html and "the committed notebook" not in html
    else:
        assert "the committed notebook, executed with the quick preset" in html


def test_executed_notebook_wins_over_the_committed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    (tmp_path / "paper").mkdir()
    shutil.copy(ROOT / "notebooks" / "02_entropy.ipynb", tmp_path / "paper")
    pages = {page.notebook: page for page in book.notebook_pages("paper")}
    assert pages["02_entropy"].source == tmp_path / "paper" / "02_entropy.ipynb"
    assert "paper preset" in pages["02_entropy"].provenance
    assert pages["01_orthogonality"].source == ROOT / "notebooks" / "01_orthogonality.ipynb"
    with pytest.raises(ValueError, match="source"):
        book.notebook_pages("paper", tmp_path / "missing")


def test_gallery_shows_every_figure_and_links_the_notebooks(built):
    page = built.parent / "figures" / "README.html"
    html = page.read_text()
    names = {image.name for image in page_images(page)}
    assert {f"{stem}.png" for claim in all_claims() for stem in claim.figures} <= names
    for claim in all_claims():
        assert f'href="../notebooks/{claim.notebook}.html"' in html


def test_book_reads_offline(built):
    for page in [built, *sorted((built.parent / "notebooks").glob("*.html"))]:
        html = page.read_text()
        remote = re.findall(r"<(?:script|link)\b[^>]*(?:src|href)=\"(https?://[^\"]+)\"[^>]*>", html)
        assert not [url for url in remote if "stylesheet" in url or url.endswith(".js")], f"{page.name}: {remote}"
        assert "_static/mathjax/MathJax.js" in html or page == built
    assert (built.parent / "_static" / "mathjax" / "MathJax.js").is_file()
    warnings = (built.parent.parent / "book-src" / "warnings.txt").read_text()
    assert "not found" not in warnings and "ERROR" not in warnings, warnings


def distinct_colours(png: Path) -> tuple[int, float]:
    """How many colours a screenshot has, and the share of its most common one."""
    from PIL import Image

    with Image.open(png) as image:
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 24)
    total = sum(count for count, _ in colours)
    return len(colours), max(count for count, _ in colours) / total


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("relative", ["index.html", "notebooks/03_isometry.html"])
def test_pages_render_in_a_headless_browser(built, relative, tmp_path):
    screenshot = tmp_path / "page.png"
    command = [
        shutil.which("chromium"),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={screenshot}",
        "--window-size=1200,900",
        (built.parent / relative).as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    count, commonest = distinct_colours(screenshot)
    assert count > 200 and commonest < 0.95, f"{relative} renders blank ({count} colours, {commonest:.0%} one colour)"

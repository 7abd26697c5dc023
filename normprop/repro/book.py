"""The static HTML book: read the notebooks, figures and report without running anything.

``make book`` (``python -m normprop.repro.book``) assembles the book's sources in a staging folder,
``build/book-src`` (copies only: no committed file is touched), and renders them with Sphinx and MyST-NB
into ``build/book``, whose ``index.html`` is the entry page:

* the README is the landing page;
* one page per notebook, with its figures: the executed paper-preset notebook ``build/paper/<name>.ipynb``
  (written by ``make figures``) where it exists, else the committed ``notebooks/<name>.ipynb`` (quick-preset
  outputs); a line at the top of each page says which;
* the figure gallery (``figures/README.md`` and its images) and the reproduction report
  (``build/<preset>/report.md``), when it exists.

Notebooks are rendered from their stored outputs and never executed (``nb_execution_mode = "off"`` in
``book/conf.py``). The build needs the ``book`` extra (Sphinx, MyST-NB, sphinx-book-theme) and nothing
from the network.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from normprop.claims import all_claims
from normprop.repro.layout import build_dir, figures_dir, ledger_paths, repo_root

STAGING, OUTPUT = "book-src", "book"

# Markdown links and images with a relative target: [text](target) or ![alt](target "title").
_LINK = re.compile(r"\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True)
class Page:
    """A notebook page of the book: the notebook, the file it was rendered from, and a line saying which."""

    notebook: str
    source: Path
    provenance: str


def _shown(path: Path) -> str:
    """A path relative to the repository root where it lies under it, else as given."""
    try:
        return str(path.resolve().relative_to(repo_root()))
    except ValueError:
        return str(path)


def notebook_pages(preset: str = "paper", source: str | Path | None = None) -> list[Page]:
    """Where each notebook page comes from.

    ``source``: ``None`` (the executed ``build/<preset>/<name>.ipynb``, falling back to the committed
    notebook one notebook at a time), ``"committed"`` (``notebooks/``) or a folder holding ``<name>.ipynb``.
    """
    committed = repo_root() / "notebooks"
    executed = build_dir(preset)
    if source is not None and str(source) not in ("committed", "auto"):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f"source must be 'auto', 'committed' or a folder of notebooks, got {source!r}")
    pages = []
    for claim in all_claims():
        name = f"{claim.notebook}.ipynb"
        if source is None or str(source) == "auto":
            if (executed / name).is_file():
                path = executed / name
                line = f"executed with the {preset} preset (`normprop reproduce --preset {preset}`)"
            else:
                path = committed / name
                line = (
                    "the committed notebook, executed with the quick preset; `make figures` then `make book` "
                    "shows the paper-preset run"
                )
        elif str(source) == "committed":
            path, line = committed / name, "the committed notebook, executed with the quick preset"
        else:
            path, line = Path(source) / name, "as found there"
        if not path.is_file():
            raise FileNotFoundError(f"no notebook {name} in {_shown(path.parent)}")
        pages.append(Page(claim.notebook, path, f"This page renders `{_shown(path)}`: {line}."))
    return pages


def _figures_folder(preset: str) -> Path:
    """The preset's figures if the gallery and every figure are there, else the committed ``figures/``."""
    folder = figures_dir(preset)
    stems = [stem for claim in all_claims() for stem in claim.figures]
    if (folder / "README.md").is_file() and all((folder / f"{stem}.png").is_file() for stem in stems):
        return folder
    return repo_root() / "figures"


#: Cells a reader of the book never needs: the Colab install cell and papermill's injected parameters.
REMOVED_CELL_TAGS = ("colab-install", "injected-parameters")


def fold_code(cells: list[dict]) -> None:
    """Narrative, figures, tables and verdicts first: MyST-NB's ``remove-cell`` tag on the cells in
    :data:`REMOVED_CELL_TAGS`, ``hide-input`` (the code folded under its output) on every other code cell."""
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        extra = "remove-cell" if any(tag in tags for tag in REMOVED_CELL_TAGS) else "hide-input"
        if extra not in tags:
            tags.append(extra)


def _stage_notebook(page: Page, target: Path) -> None:
    """Copy a notebook, with a line saying where it comes from right under its title (or first, if none), and
    its code folded (:func:`fold_code`)."""
    notebook = json.loads(page.source.read_text())
    cells = notebook.setdefault("cells", [])
    fold_code(cells)
    note = f"*{page.provenance}*"
    first = cells[0] if cells and cells[0].get("cell_type") == "markdown" else None
    lines = "".join(first["source"]).splitlines(keepends=True) if first else []
    heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if first is not None and heading is not None:
        lines.insert(heading + 1, f"\n{note}\n")
        first["source"] = "".join(lines)
    else:
        cell = {"cell_type": "markdown", "metadata": {}, "source": note}
        if (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) >= (4, 5):
            cell["id"] = "normprop-book-provenance"
        cells.insert(0, cell)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def _copy_linked_files(markdown: str, origin: Path, staged: Path, staging: Path) -> None:
    """Copy every repository file that ``markdown`` (from ``origin``, staged as ``staged``) links to and the
    staging folder lacks, at the same place relative to the page, so that its relative links resolve."""
    root = repo_root().resolve()
    for target in _LINK.findall(markdown):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "/")):
            continue  # a URL, an anchor, or an absolute path
        relative = target.split("#", 1)[0]
        if not relative:
            continue
        destination = (staged.parent / relative).resolve()
        source = (origin.parent / relative).resolve()
        if destination.exists() or not source.is_file() or not source.is_relative_to(root):
            continue
        if not destination.is_relative_to(staging.resolve()):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def stage(preset: str = "paper", source: str | Path | None = None, staging: Path | None = None) -> Path:
    """Assemble the book's sources in ``staging`` (default ``build/book-src``, emptied first)."""
    root = repo_root()
    staging = Path(staging) if staging is not None else build_dir(preset).parent / STAGING
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)

    pages = notebook_pages(preset, source)
    for page in pages:
        _stage_notebook(page, staging / "notebooks" / f"{page.notebook}.ipynb")

    figures = _figures_folder(preset)
    (staging / "figures").mkdir()
    for png in sorted(figures.glob("*.png")):
        shutil.copy2(png, staging / "figures" / png.name)
    gallery = (figures / "README.md").read_text()
    shown = "`figures/` (paper preset)" if figures == root / "figures" else f"`{_shown(figures)}`"
    gallery = gallery.replace("\n\n", f"\n\nThe figures on this page are those in {shown}.\n\n", 1)
    (staging / "figures" / "README.md").write_text(gallery)

    toctree = ["", "```{toctree}", ":hidden:", ":caption: Notebooks", ""]
    toctree += [f"notebooks/{page.notebook}" for page in pages] + ["```", ""]
    results = ["figures/README"]
    report = build_dir(preset) / "report.md"
    if report.is_file():
        shutil.copy2(report, staging / "report.md")
        results.append("report")
    ledger = ledger_paths(preset)[1]
    if ledger.is_file():  # the claim ledger over seeds, beside the notebooks (normprop ledger)
        shutil.copy2(ledger, staging / "ledger.md")
        results.append("ledger")
    toctree += ["```{toctree}", ":hidden:", ":caption: Results", "", *results, "```", ""]
    readme = (root / "README.md").read_text()
    (staging / "index.md").write_text(readme.rstrip("\n") + "\n" + "\n".join(toctree))

    _copy_linked_files(readme, root / "README.md", staging / "index.md", staging)
    _copy_linked_files(gallery, figures / "README.md", staging / "figures" / "README.md", staging)
    return staging


def build_book(
    preset: str = "paper",
    source: str | Path | None = None,
    out: Path | None = None,
    staging: Path | None = None,
    quiet: bool = True,
) -> Path:
    """Stage the sources and render them into ``out`` (default ``build/book``); return its ``index.html``.

    Sphinx's warnings go to ``<staging>/warnings.txt``. Raises ``RuntimeError`` if Sphinx fails.
    """
    try:
        from sphinx.cmd.build import build_main
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError("the book needs Sphinx and MyST-NB: pip install -e '.[book]' (make setup does)") from error
    out = Path(out) if out is not None else build_dir(preset).parent / OUTPUT
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").is_file():
        raise ValueError(f"out: {out} is neither empty nor a previous book (no .buildinfo); not overwriting it")
    staging = stage(preset, source, staging)
    if out.exists():
        shutil.rmtree(out)
    config = repo_root() / "book"
    argv = ["-b", "html", "-c", str(config), "-d", str(staging / ".doctrees"), "-w", str(staging / "warnings.txt")]
    argv += ["-q"] if quiet else []
    status = build_main([*argv, str(staging), str(out)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed (exit {status}); see {staging / 'warnings.txt'}")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m normprop.repro.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper", help="whose executed notebooks and report (default: paper)")
    parser.add_argument(
        "--source",
        default="auto",
        help="'auto' (build/<preset>, else the committed notebook), 'committed', or a folder of notebooks",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: build/book)")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    for page in notebook_pages(args.preset, args.source):
        print(f"{page.notebook}: {_shown(page.source)}")
    try:
        index = build_book(args.preset, args.source, args.out, quiet=not args.verbose)
    except (RuntimeError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"book: {_shown(index)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

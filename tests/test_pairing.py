"""Every notebook has a text twin, ``notebooks/<name>.py`` (jupytext percent format), in sync with it.

The .ipynb is the source of truth; ``make pair`` regenerates the twins (``make notebooks`` does it too).
Only cell types, sources and tags are compared: outputs and volatile metadata live in the .ipynb alone.
"""

from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
FIX = "run `make pair` (jupytext --to py:percent notebooks/[0-9]*.ipynb) and commit the .py files"


def cells(notebook) -> list[tuple[str, str, list[str]]]:
    return [(cell.cell_type, cell.source, list(cell.metadata.get("tags", []))) for cell in notebook.cells]


def test_there_are_notebooks_to_pair():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda path: path.stem)
def test_text_twin_matches_the_notebook(ipynb):
    twin = ipynb.with_suffix(".py")
    assert twin.is_file(), f"{twin.name} is missing: {FIX}"
    notebook = nbformat.read(ipynb, as_version=4)
    text = jupytext.read(twin, fmt="py:percent")
    expected, found = cells(notebook), cells(text)
    for index, (want, got) in enumerate(zip(expected, found, strict=False)):
        assert got == want, f"{twin.name} differs from {ipynb.name} at cell {index}: {FIX}"
    assert len(found) == len(expected), f"{twin.name} has {len(found)} cells, {ipynb.name} {len(expected)}: {FIX}"
    assert text.metadata.get("kernelspec", {}).get("name") == notebook.metadata["kernelspec"]["name"]


def test_no_text_twin_without_its_notebook():
    orphans = [path.name for path in (ROOT / "notebooks").glob("[0-9]*.py") if not path.with_suffix(".ipynb").exists()]
    assert not orphans, f"text twins without a notebook: {orphans} (delete them)"


def test_pair_text_is_what_jupytext_writes(tmp_path):
    """Byte for byte what `make pair` would write, so that a rerun never shows a spurious diff."""
    for ipynb in NOTEBOOKS:
        config = jupytext.config.load_jupytext_configuration_file(str(ROOT / "notebooks" / "jupytext.toml"))
        notebook = jupytext.read(ipynb)
        written = jupytext.writes(notebook, fmt="py:percent", config=config)
        assert written == ipynb.with_suffix(".py").read_text(), f"{ipynb.stem}.py is stale: {FIX}"

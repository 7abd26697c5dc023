"""Notebooks: structure of the committed files, and a papermill run of each with the quick preset.

nbval (``make test``) re-runs the committed notebooks and compares their summary cells; these tests
check what nbval does not: the conventions every notebook follows, and that a fresh quick run writes
its figures and a "reproduced" verdict.
"""

import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest

from normprop.catalog import CLAIMS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {claim.notebook: ROOT / "notebooks" / f"{claim.notebook}.ipynb" for claim in CLAIMS}


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_committed_notebook_follows_the_conventions(name):
    notebook = nbformat.read(NOTEBOOKS[name], as_version=4)
    cells = code_cells(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    first = cells[0]
    assert "parameters" in first.metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert re.search(r'^preset = "quick"', first.source, re.M), "the default preset must be quick"
    assert "=" in first.source and "(" not in first.source.split("#")[0], "parameters hold plain values only"
    assert any("nbval-check-output" in cell.metadata.get("tags", []) for cell in cells)
    assert "ClaimRun" in "".join(cell.source for cell in cells) and "run.record(" in cells[-1].source
    assert all(cell.execution_count is not None for cell in cells), "commit the notebook executed (make notebooks)"
    for cell in cells:
        for output in cell.outputs:
            assert output.output_type != "error"
            text = json.dumps(output)
            assert str(ROOT) not in text and "/tmp/ipykernel_" not in text, "an output holds a machine path"
            assert output.get("name") != "stderr", f"stderr in committed output: {output.get('text', '')[:200]}"
    assert "papermill" not in notebook.metadata, "strip papermill metadata (make notebooks)"


@pytest.mark.notebook
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: claim.notebook)
def test_quick_preset_reproduces_the_claim(claim, tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")
    output = tmp_path / f"{claim.notebook}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS[claim.notebook]),
        str(output),
        parameters={"preset": "quick"},
        kernel_name="python3",
        cwd=str(tmp_path),  # papermill runs in the caller's folder: paths must not depend on it
        progress_bar=False,
    )
    record = json.loads((tmp_path / "quick" / f"{claim.notebook}.json").read_text())
    assert record["verdict"] == "reproduced", record["checks"]
    assert record["preset"] == "quick" and record["numbers"]
    for stem in claim.figures:
        for suffix in ("png", "pdf"):
            assert (tmp_path / "quick" / "figures" / f"{stem}.{suffix}").stat().st_size > 0

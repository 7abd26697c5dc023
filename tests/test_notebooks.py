"""Notebooks: structure of the committed files, and a quick-preset run of each that writes its figures and verdict.

Each notebook executes once per ``make test``: nbval (``pytest --nbval-lax notebooks tests``, notebooks first)
re-runs the committed notebooks, compares their summary cells, and leaves each notebook's record and figures in
this test session's build folder (``NORMPROP_BUILD_DIR``, set by the root ``conftest.py``). The test here checks
those; when nbval did not run in this session (``pytest tests`` alone) it executes the notebook with papermill.
"""

import json
import os
import re
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from normprop.claims import all_claims

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {claim.notebook: ROOT / "notebooks" / f"{claim.notebook}.ipynb" for claim in all_claims()}
SESSION_STARTED = float(os.environ.get("NORMPROP_TEST_SESSION_STARTED", time.time()))


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
    code = "\n".join(cell.source for cell in cells)
    assert "colab-install" in cells[1].metadata.get("tags", []), "the second code cell installs normprop on Colab"
    assert 'if "google.colab" in sys.modules:' in cells[1].source and "import normprop" not in cells[1].source
    assert code.count(f'"{name}"') == 1 and f'npp.start("{name}", preset' in cells[2].source, (
        "the setup cell names the notebook once, in npp.start"
    )
    assert "ClaimRun" not in code and "load_preset(" not in code, "setup goes through npp.start only"
    assert re.search(r"^session\.finish\(", cells[-1].source, re.M), "the last cell closes with session.finish"
    assert code.count("session.finish(") == 1
    assert any("nbval-check-output" in cell.metadata.get("tags", []) for cell in cells)
    assert all(cell.execution_count is not None for cell in cells), "commit the notebook executed (make notebooks)"
    for cell in cells:
        for output in cell.outputs:
            assert output.output_type != "error"
            text = json.dumps(output)
            assert str(ROOT) not in text and "/tmp/ipykernel_" not in text, "an output holds a machine path"
            assert output.get("name") != "stderr", f"stderr in committed output: {output.get('text', '')[:200]}"
    assert "papermill" not in notebook.metadata, "strip papermill metadata (make notebooks)"


def _fresh_record(build: Path, notebook: str) -> Path | None:
    path = build / "quick" / f"{notebook}.json"
    return path if path.exists() and path.stat().st_mtime >= SESSION_STARTED else None


@pytest.mark.notebook
@pytest.mark.parametrize("claim", all_claims(), ids=lambda claim: claim.notebook)
def test_quick_preset_reproduces_the_claim(claim, tmp_path):
    build = Path(os.environ["NORMPROP_BUILD_DIR"])
    record = _fresh_record(build, claim.notebook)
    if record is None:  # nbval did not run this notebook in this session: run it here, once
        papermill.execute_notebook(
            str(NOTEBOOKS[claim.notebook]),
            str(tmp_path / f"{claim.notebook}.ipynb"),
            parameters={"preset": "quick"},
            kernel_name="python3",
            cwd=str(tmp_path),  # papermill runs in the caller's folder: paths must not depend on it
            progress_bar=False,
        )
        record = _fresh_record(build, claim.notebook)
    assert record is not None, f"{claim.notebook} wrote no record"
    data = json.loads(record.read_text())
    assert data["verdict"] == "reproduced", data["checks"]
    assert data["preset"] == "quick" and data["numbers"]
    for stem in claim.figures:
        for suffix in ("png", "pdf"):
            assert (build / "quick" / "figures" / f"{stem}.{suffix}").stat().st_size > 0

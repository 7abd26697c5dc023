"""Tiny stand-in notebooks, named like the real ones, for testing the CLI end to end in seconds.

``NORMPROP_NOTEBOOKS_DIR`` points the CLI at a folder of these. Each has the real notebooks' ``parameters``
cell, then writes its kernel's pid (and its papermill's, the kernel's parent) to ``<folder>/<name>.pids`` so
that a test can check that no process outlives a run, then runs its body.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

RECORD = (
    'from normprop.repro.records import ClaimRun\nClaimRun(NAME, preset).record({"the check": True}, {"slope": -0.5})'
)
# The record ClaimRun writes, written by hand: importing normprop (hence torch) takes seconds, too slow for
# tests that need a notebook to finish before they can interrupt the next one.
QUICK_RECORD = (
    "import json, pathlib\n"
    "path = pathlib.Path(os.environ['NORMPROP_BUILD_DIR'], preset, NAME + '.json')\n"
    "path.parent.mkdir(parents=True, exist_ok=True)\n"
    "path.write_text(json.dumps({'notebook': NAME, 'preset': preset, 'verdict': 'reproduced', "
    "'checks': {'the check': True}, 'numbers': {}, 'seconds': 0.0}))"
)
FIGURE = (
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "from normprop.repro.plotting import save_figure\n"
    "fig, ax = plt.subplots()\nax.plot(range(1000))\nsave_figure(fig, NAME + '_figure', preset)"
)
SLEEP_FOREVER = "import time\nwhile True:\n    time.sleep(0.05)"
FAIL = "raise RuntimeError('this notebook fails')"


def sleep_cells(count: int, seconds: float) -> list[str]:
    """``count`` cells of ``seconds`` each: no single cell is long, the notebook is."""
    return [f"import time\ntime.sleep({seconds})"] * count


def write_notebook(folder: Path, name: str, *cells: str) -> Path:
    """``folder/<name>.ipynb``: parameters, a cell that records the pids, then ``cells``."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell('preset = "quick"\nseed = 7\nthreads = None')
    parameters.metadata["tags"] = ["parameters"]
    pids = Path(folder).resolve() / f"{name}.pids"
    setup = f"import os\nNAME = {name!r}\nopen({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{os.getppid()}}')"
    notebook.cells = [parameters, nbformat.v4.new_code_cell(setup), *map(nbformat.v4.new_code_cell, cells)]
    path = Path(folder) / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def pids(folder: Path, name: str) -> list[int]:
    """The kernel's and its papermill's pids, once the notebook has started (else [])."""
    path = Path(folder) / f"{name}.pids"
    text = path.read_text() if path.exists() else ""
    return [int(pid) for pid in text.split()] if len(text.split()) == 2 else []


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")

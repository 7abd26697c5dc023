"""One seaborn theme and one deterministic ``save_figure`` for every notebook.

Regenerating unchanged science must give byte-identical files, so the PNG and PDF writers are told
to leave out everything that changes between runs or machines: the software version and the
creation date. Each file is written atomically (:mod:`normprop.repro.files`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import matplotlib.ticker
import seaborn as sns

from normprop.repro.files import atomic_write
from normprop.repro.layout import figures_dir

DPI = 150
_PNG_METADATA = {"Software": None}
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}


def set_theme() -> None:
    """The project's look: seaborn's whitegrid, colour-blind palette, fonts bundled with matplotlib."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font="DejaVu Sans")
    plt.rcParams.update(
        {"figure.dpi": 100, "savefig.dpi": DPI, "pdf.fonttype": 42, "figure.constrained_layout.use": True}
    )


def log_ticks(axis: Any, values: Sequence[float], which: str = "x") -> None:
    """A log-scaled axis labelled at ``values`` as plain numbers (widths, batch sizes), no minor ticks."""
    values = [float(value) for value in values]
    getattr(axis, f"set_{which}scale")("log")
    getattr(axis, f"set_{which}ticks")(values, [f"{value:g}" for value in values])
    getattr(axis, f"{which}axis").set_minor_locator(matplotlib.ticker.NullLocator())


def save_figure(fig: plt.Figure, name: str, preset: str) -> list[Path]:
    """Write ``name.png`` and ``name.pdf`` for ``preset`` (paper: ``figures/``; else ``build/``)."""
    folder = figures_dir(preset)
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = folder / f"{name}.png", folder / f"{name}.pdf"
    # Through a temporary file renamed into place: a run killed mid-save never leaves a truncated figure.
    with atomic_write(png) as handle:
        fig.savefig(handle, format="png", dpi=DPI, bbox_inches="tight", metadata=_PNG_METADATA)
    with atomic_write(pdf) as handle:
        fig.savefig(handle, format="pdf", bbox_inches="tight", metadata=_PDF_METADATA)
    return [png, pdf]

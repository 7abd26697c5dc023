"""normprop: how normalization layers shape signal propagation in randomly initialised deep networks.

The public API is re-exported here; the modules each hold one idea:

* :mod:`normprop.metrics` -- orthogonality gap, isometry gap, entropy, ranks, cosines;
* :mod:`normprop.nets` -- one definition of a network's layers (:class:`NetworkSpec`), random chains batched
  over seeds with streamed per-layer metrics;
* :mod:`normprop.theory` -- Hermite coefficients, beta, mean-field maps and trajectories, theorem bounds;
* :mod:`normprop.gradients` -- gradient norms of deep networks; :mod:`normprop.train` -- batched SGD and
  initialisers;
* :mod:`normprop.data` -- input batches and the bundled digits; :mod:`normprop.sweep` -- grids -> tidy tables;
* :mod:`normprop.stats` -- confidence intervals and per-seed fits for claim checks;
* :mod:`normprop.notebook` -- the notebook scaffold (:func:`start`, :meth:`Session.finish`);
* :mod:`normprop.presets`, :mod:`normprop.results`, :mod:`normprop.plotting`, :mod:`normprop.paths`,
  :mod:`normprop.runtime` -- the plumbing; :mod:`normprop.cli` -- the ``normprop`` command.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

# Submodules and names are imported on first use (PEP 562): `import normprop` stays cheap, so that the
# `normprop` command starts at once and a Ctrl-C during its start-up is not a torch-import traceback.
_SUBMODULES = ("data", "gradients", "metrics", "nets", "notebook", "stats", "sweep", "theory", "train")
_NAMES = {
    "entropy": "metrics",
    "entropy_deficit": "metrics",
    "isometry_gap": "metrics",
    "mean_abs_cosine": "metrics",
    "numerical_rank": "metrics",
    "orthogonality_gap": "metrics",
    "stable_rank": "metrics",
    "NetworkSpec": "nets",
    "make_generator": "nets",
    "measure_chain": "nets",
    "ClaimNotReproduced": "notebook",
    "Session": "notebook",
    "start": "notebook",
    "save_figure": "plotting",
    "set_theme": "plotting",
    "load_preset": "presets",
    "configure": "runtime",
}

# One version, declared in pyproject.toml.
try:
    __version__ = metadata.version("normprop")
except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "unknown"

__all__ = sorted([*_SUBMODULES, *_NAMES])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"normprop.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"normprop.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'normprop' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""normprop: how normalization layers shape signal propagation in randomly initialised deep networks.

The package is in three layers, and data flows one way (network spec -> batched forward pass -> per-layer
metrics in a tidy table -> figure and claim check):

* the science, in this folder, importable without any machinery: :mod:`normprop.activations` (name ->
  function, kinks, label), :mod:`normprop.seeding` (generators and seed derivation), :mod:`normprop.data`,
  :mod:`normprop.nets` (one definition of a network's layers, random chains batched over seeds),
  :mod:`normprop.metrics`, :mod:`normprop.theory`, :mod:`normprop.gradients`, :mod:`normprop.train`,
  :mod:`normprop.gaussianity` and :mod:`normprop.analysis` (intervals, per-seed fits, summaries);
* :mod:`normprop.claims`: one module per claim (its catalog entry, presets, task functions and checks) and the
  bibliography;
* :mod:`normprop.repro`: the reproduction machinery (the notebook session, sweeps, cache and Dask, build
  files, runner, records, report, provenance, book, plotting, the ``normprop`` command).

The names below are re-exported here; the notebooks use :func:`start` and the science modules.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

# Submodules and names are imported on first use (PEP 562): `import normprop` stays cheap, so that the
# `normprop` command starts at once and a Ctrl-C during its start-up is not a torch-import traceback.
_SUBMODULES = (
    "activations", "analysis", "claims", "data", "gaussianity", "gradients", "metrics", "nets", "repro", "seeding",
    "theory", "train",
)  # fmt: skip
_NAMES = {
    "entropy": "metrics",
    "entropy_deficit": "metrics",
    "isometry_gap": "metrics",
    "mean_abs_cosine": "metrics",
    "numerical_rank": "metrics",
    "orthogonality_gap": "metrics",
    "stable_rank": "metrics",
    "NetworkSpec": "nets",
    "make_generator": "seeding",
    "measure_chain": "nets",
    "ClaimNotReproduced": "repro.session",
    "Session": "repro.session",
    "start": "repro.session",
    "save_figure": "repro.plotting",
    "set_theme": "repro.plotting",
    "load_preset": "claims",
    "configure": "repro.runtime",
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

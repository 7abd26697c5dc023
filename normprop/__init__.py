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

from importlib import metadata

from normprop import data, gradients, metrics, nets, stats, sweep, theory, train
from normprop.metrics import (
    entropy,
    entropy_deficit,
    isometry_gap,
    mean_abs_cosine,
    numerical_rank,
    orthogonality_gap,
    stable_rank,
)
from normprop.nets import NetworkSpec, make_generator, measure_chain
from normprop.notebook import ClaimNotReproduced, Session, start
from normprop.plotting import save_figure, set_theme
from normprop.presets import load_preset
from normprop.runtime import configure

# One version, declared in pyproject.toml.
try:
    __version__ = metadata.version("normprop")
except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "unknown"

__all__ = [
    "ClaimNotReproduced",
    "NetworkSpec",
    "Session",
    "configure",
    "data",
    "entropy",
    "entropy_deficit",
    "gradients",
    "isometry_gap",
    "load_preset",
    "make_generator",
    "mean_abs_cosine",
    "measure_chain",
    "metrics",
    "nets",
    "numerical_rank",
    "orthogonality_gap",
    "save_figure",
    "set_theme",
    "stable_rank",
    "start",
    "stats",
    "sweep",
    "theory",
    "train",
]

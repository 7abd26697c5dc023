"""normprop: how normalization layers shape signal propagation in randomly initialised deep networks.

The public API is re-exported here; the modules each hold one idea:

* :mod:`normprop.metrics` -- orthogonality gap, isometry gap, entropy, ranks, cosines;
* :mod:`normprop.nets` -- random chains batched over seeds, with streamed per-layer metrics;
* :mod:`normprop.data` -- input batches;
* :mod:`normprop.presets`, :mod:`normprop.results`, :mod:`normprop.plotting`, :mod:`normprop.paths`,
  :mod:`normprop.runtime` -- the notebook plumbing; :mod:`normprop.cli` -- the ``normprop`` command.
"""

from normprop import data, metrics, nets, stats
from normprop.metrics import (
    entropy,
    entropy_deficit,
    isometry_gap,
    mean_abs_cosine,
    numerical_rank,
    orthogonality_gap,
    stable_rank,
)
from normprop.nets import ChainSpec, make_generator, measure_chain
from normprop.plotting import save_figure, set_theme
from normprop.presets import load_preset
from normprop.results import ClaimRun
from normprop.runtime import configure

__version__ = "0.1.0"

__all__ = [
    "ChainSpec",
    "ClaimRun",
    "configure",
    "data",
    "entropy",
    "entropy_deficit",
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
    "stats",
]

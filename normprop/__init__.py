"""normprop: how normalization layers shape signal propagation in randomly initialised deep networks.

The public API is re-exported here; the modules each hold one idea:

* :mod:`normprop.metrics` -- orthogonality gap, isometry gap, entropy, ranks, cosines;
* :mod:`normprop.nets` -- random chains batched over seeds, with streamed per-layer metrics;
* :mod:`normprop.theory` -- Hermite coefficients, beta, mean-field maps;
* :mod:`normprop.gradients` -- gradient norms of deep chains; :mod:`normprop.train` -- batched SGD and initialisers;
* :mod:`normprop.data` -- input batches and the bundled digits;
* :mod:`normprop.presets`, :mod:`normprop.results`, :mod:`normprop.plotting`, :mod:`normprop.paths`,
  :mod:`normprop.runtime` -- the notebook plumbing; :mod:`normprop.cli` -- the ``normprop`` command.
"""

from normprop import data, gradients, metrics, nets, stats, theory, train
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
    "stats",
    "theory",
    "train",
]

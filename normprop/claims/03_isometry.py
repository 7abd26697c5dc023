"""Claim 03: its catalog entry and preset sizes.

The notebook ``notebooks/03_isometry.ipynb`` tells the story; this module holds what is specific to the claim.
"""

from __future__ import annotations

from normprop.claims import Claim, cite

CITATIONS = (cite("joudaki2023impact"),)

QUICK = {
    "seeds": 10,
    "batch_size": 10,
    "width": 512,
    "depth": 30,
    "spike": 10.0,
    "fit_layers": 5,
    "ablation_widths": [64, 256, 512],
    "gains": [0.5, 1.0, 2.0, 4.0],
    "rate_widths": [128, 512, 4096],
}

PAPER = {
    "seeds": 20,
    "batch_size": 10,
    "width": 1000,
    "depth": 30,
    "spike": 10.0,
    "fit_layers": 5,
    "ablation_widths": [64, 250, 1000, 4000],
    "gains": [0.5, 1.0, 2.0, 4.0],
    "rate_widths": [250, 1000, 4000],
}

# 2023 validation MLP: n = 10, d up to 1000 (ablations to 4000), 30 layers, 10 repetitions.
FULL_CHANGES = {"seeds": 10, "width": 1000, "ablation_widths": [64, 250, 1000, 4000]}

CLAIM = Claim(
    notebook="03_isometry",
    title="Normalization and activation bias the Gram matrix towards isometry at the mean-field rate",
    statement="In random MLPs with layer normalization and centred activations, the isometry gap of the "
    "representations falls with depth at the rate the activation's mean-field correlation map predicts; "
    "Theorem 1's beta_sigma = 2 - c_1^2 / sum_{k>=1} c_k^2 bounds that rate and orders the activations; "
    "normalization itself never decreases isometry.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    figures={
        "03_correlation_maps": "2023, dual kernels and the beta table",
        "03_isometry_vs_depth": "2023 Fig. 1-2 (validation MLP)",
        "03_rates": "2023 Thm. 1 bound vs the mean-field rate (not a paper figure)",
        "03_normalisation": "2023, normalization never decreases isometry (lemma); the official plot",
        "03_ablations": "2023 ablations (centering, normalization, order, gain, Hermite, width)",
    },
)

"""Claim 01: its catalog entry and preset sizes.

The notebook ``notebooks/01_orthogonality.ipynb`` tells the story; this module holds what is specific to the claim.
"""

from __future__ import annotations

from normprop.claims import Claim, cite

CITATIONS = (cite("daneshmand2021batch"), cite("daneshmand2020batch"))

QUICK = {
    "seeds": 10,
    "fig1_width": 32,
    "fig1_depth": 40,
    "batch_size": 4,
    "fig2a_widths": [32, 256],
    "fig2a_depth": 60,
    "fig2b_widths": [16, 32, 64, 128],
    "fig2b_depth": 150,
    "burn_in": 50,
    "rank_width": 32,
    "rank_depth": 1000,
    "rank_every": 10,
    "stable_rank_widths": [16, 32, 64, 128],
    "stable_rank_depth": 60,
    "activation_depth": 40,
    "activation_width": 64,
    "seeds_per_task": 10,
}

PAPER = {
    "seeds": 20,
    "fig1_width": 32,
    "fig1_depth": 50,
    "batch_size": 4,
    "fig2a_widths": [32, 512],
    "fig2a_depth": 100,
    "fig2b_widths": [16, 32, 64, 128, 256, 512],
    "fig2b_depth": 500,
    "burn_in": 50,
    "rank_width": 32,
    "rank_depth": 5000,
    "rank_every": 10,
    "stable_rank_widths": [16, 32, 64, 128, 256, 512],
    "stable_rank_depth": 100,
    "activation_depth": 100,
    "activation_width": 128,
    "seeds_per_task": 20,
}

# 2021: Fig. 2b over d = 16..512 with 500 layers; 2020: rank of d = n = 32 over thousands of layers.
FULL_CHANGES = {
    "seeds": 100,
    "fig2a_depth": 500,
    "fig2b_widths": [16, 32, 64, 128, 256, 512, 1024],
    "rank_depth": 20000,
    "stable_rank_widths": [16, 32, 64, 128, 256, 512, 1024],
    "activation_depth": 500,
    "activation_width": 512,
    "seeds_per_task": 10,  # 10 tasks per configuration, for a cluster
}

CLAIM = Claim(
    notebook="01_orthogonality",
    title="Batch norm orthogonalizes representations and avoids rank collapse",
    statement="In deep random linear networks, batch normalization makes representations increasingly "
    "orthogonal with depth, down to an O(1/sqrt(width)) floor, and avoids rank collapse.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    figures={
        "01_fig1_cosine": "2021 Fig. 1",
        "01_fig2a_gap_vs_depth": "2021 Fig. 2a",
        "01_fig2b_gap_vs_width": "2021 Fig. 2b",
        "01_rank_collapse": "2020 Fig. 2 and Fig. 3a",
        "01_activations": "2021 App. F",
    },
)

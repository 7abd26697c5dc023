"""Claim 02: its catalog entry and preset sizes.

The notebook ``notebooks/02_entropy.ipynb`` tells the story; this module holds what is specific to the claim.
"""

from __future__ import annotations

from normprop.claims import Claim, cite

CITATIONS = (
    cite("joudaki2022entropy"),
    cite("daneshmand2021batch", "the Gaussian law of the representation"),
)

QUICK = {
    "seeds": 10,
    "batch_size": 8,
    "input_cosine": 0.9,
    "depth": 40,
    "widths": [8, 16, 32, 128],
    "main_width": 128,
    "activations": ["identity", "tanh", "sin", "centered_relu", "relu", "sigmoid"],
    # The floor of the isometry gap over batch sizes at d = floor_width_ratio * n, and over widths at n =
    # batch_size, from isotropic Gaussian inputs, averaged over the last 40% of floor_depth layers.
    "floor_depth": 100,
    "floor_every": 5,
    "floor_batch_sizes": [4, 8, 16, 32],
    "floor_width_ratio": 16,
    "floor_widths": [32, 64, 128, 256, 512],
    # The law of a pre-activation row over gaussian_groups x gaussian_networks independent networks.
    "gaussian_widths": [32, 64, 128, 256, 512],
    "gaussian_depth": 40,
    "gaussian_every": 10,
    "gaussian_groups": 5,
    "gaussian_networks": 100,
    "gaussian_bandwidth": 1.0,
    "gaussian_null_replicates": 200,
}

PAPER = {
    "seeds": 20,
    "batch_size": 8,
    "input_cosine": 0.9,
    "depth": 100,
    "widths": [8, 12, 16, 32, 64, 128, 256],
    "main_width": 128,
    "activations": ["identity", "tanh", "sin", "centered_relu", "relu", "sigmoid"],
    "floor_depth": 200,
    "floor_every": 5,
    "floor_batch_sizes": [4, 8, 16, 32],
    "floor_width_ratio": 16,
    "floor_widths": [32, 64, 128, 256, 512],
    "gaussian_widths": [32, 64, 128, 256, 512],
    "gaussian_depth": 40,
    "gaussian_every": 5,
    "gaussian_groups": 10,
    "gaussian_networks": 200,
    "gaussian_bandwidth": 1.0,
    "gaussian_null_replicates": 500,
}


FULL_CHANGES = {
    "seeds": 100,
    "depth": 500,
    "widths": [8, 12, 16, 32, 64, 128, 256, 512, 1024],
    "floor_depth": 1000,
    "floor_batch_sizes": [4, 8, 16, 32, 64],
    "floor_widths": [32, 64, 128, 256, 512, 1024, 2048],
    "gaussian_widths": [32, 64, 128, 256, 512, 1024],
    "gaussian_groups": 20,
    "gaussian_networks": 500,
}

CLAIM = Claim(
    notebook="02_entropy",
    title="Depth maximises the entropy of batch-normalised representations",
    statement="In random batch-normalised networks, the Gaussian-proxy entropy of the representations of a batch "
    "of n samples settles with depth at a floor below its maximum, for linear, odd and centred activations; "
    "vanilla networks lose entropy instead. The floor is set by n and the width d together: the isometry-gap "
    "floor scales about like n^2/d (fitted n^2.2/d^1.2 over n = 4..32, d = 32..512), so the deficit, n/2 "
    "times the gap, stays below a fixed number of nats only if d grows about like n^3, and no fixed ratio d/n "
    "suffices; depth raises the entropy of inputs less isotropic than that floor and lowers it otherwise. "
    "The law of a pre-activation row over the random weights approaches an isotropic Gaussian with depth, "
    "at a distance that shrinks with width.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    figures={
        "02_entropy_vs_depth": "2022 v1, entropy vs depth (reconstruction)",
        "02_width_regime": "2022 v1, the width condition at n = 8 (reconstruction)",
        "02_activations": "2022 v1, activations (reconstruction)",
        "02_centred_bn": "2022 v1, mean-centred BN (reconstruction)",
        "02_floor_scaling": "the entropy floor in batch size and width (this project)",
        "02_gaussianity": "2021, the representation's law approaches an isotropic Gaussian (arXiv:2106.03970)",
    },
)

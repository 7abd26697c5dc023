"""Claim 04: its catalog entry and preset sizes.

The notebook ``notebooks/04_bounded_gradients.ipynb`` tells the story; this module holds what is specific to the claim.
"""

from __future__ import annotations

from normprop.claims import Claim, cite

CITATIONS = (cite("meterez2024towards"),)

QUICK = {
    "seeds": 8,
    "rate_widths": [8, 16, 32],
    "rate_depth": 150,
    "input_noise": 0.3,
    "theorem3_dims": [4, 6, 8],
    "theorem3_inputs": 3,
    "theorem3_samples": 5000,
    "grad_width": 32,
    "grad_depths": [10, 50, 100, 200, 300],
    "gamma": 0.4,
    "train_seeds": 6,
    "train_width": 48,
    "train_batch_size": 48,
    "train_depths": [10, 300],
    "train_epochs": 2,
    "train_lr": 0.005,
    "train_activations": ["tanh"],
}

PAPER = {
    "seeds": 16,
    "rate_widths": [8, 16, 32, 64],
    "rate_depth": 300,
    "input_noise": 0.3,
    "theorem3_dims": [4, 6, 8],
    "theorem3_inputs": 5,
    "theorem3_samples": 50000,
    "grad_width": 32,
    "grad_depths": [10, 50, 100, 250, 500, 1000],
    "gamma": 0.4,
    "train_seeds": 8,
    "train_width": 48,
    "train_batch_size": 48,
    "train_depths": [10, 50, 100, 200, 500],
    "train_epochs": 2,
    "train_lr": 0.005,
    "train_activations": ["tanh"],
}

# 2024: n = d = 100, depths to 1000, 10 repetitions.
FULL_CHANGES = {
    "seeds": 10,
    "rate_widths": [8, 16, 32, 64, 128],
    "rate_depth": 1000,
    "theorem3_samples": 200000,
    "grad_width": 100,
    "grad_depths": [10, 50, 100, 250, 500, 750, 1000],
    # The official gradient notebooks go to depth 1000 (training depth in the paper: not retrieved).
    "train_depths": [10, 50, 100, 200, 500, 1000],
}

CLAIM = Claim(
    notebook="04_bounded_gradients",
    title="Batch normalization without gradient explosion",
    statement="A batch-normalised linear MLP with orthogonal weights and n = d independent samples keeps the "
    "gradient of early weights bounded with depth, while Gaussian weights, repeated samples or n < d make it "
    "explode; an activation gain schedule slows the explosion for tanh and sin many times over; and with the "
    "same SGD budget, orthogonal BN MLPs train at depths (up to 500) where Gaussian ones fail.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    figures={
        "04_isometry_rate": "2024 Fig. 1 and Theorem 1",
        "04_gradients": "2024 Fig. 2, Fig. 3 and the centering ablation",
        "04_shaping": "2024 Fig. 5",
        "04_training_depth": "2024, training at depth (title claim; setup of the official run.py)",
    },
)

"""Claim 05: its catalog entry and preset sizes.

The notebook ``notebooks/05_sgd_acceleration.ipynb`` tells the story; this module holds what is specific to the claim.
"""

from __future__ import annotations

from normprop.claims import Claim, cite

CITATIONS = (cite("daneshmand2021batch", "sec. 5"), cite("daneshmand2020batch"), cite("joudaki2023impact"))

QUICK = {
    "seeds": 5,
    "dataset": "digits",
    "width": 64,
    "depths": [5, 15, 25],
    "epochs": 5,
    "lr": 0.01,
    "batch_size": 32,
    "init_batch": 192,
    "fig3b_depth": 8,
    "fig3b_epochs": 20,
    "variant_depth": 25,
    "variant_epochs": 2,
    "support_depths": [5, 25],
    "support_epochs": 5,
    "beta_depth": 10,
    "beta_epochs": 3,
    "beta_activations": ["sigmoid", "tanh", "sin", "relu"],
}

PAPER = {
    "seeds": 8,
    "dataset": "digits",
    "width": 64,
    "depths": [5, 15, 25, 35, 45],
    "epochs": 20,
    "lr": 0.01,
    "batch_size": 32,
    "init_batch": 192,
    "fig3b_depth": 8,
    "fig3b_epochs": 30,
    "variant_depth": 35,
    "variant_epochs": 3,
    "support_depths": [5, 15, 35],
    "support_epochs": 10,
    "beta_depth": 10,
    "beta_epochs": 10,
    "beta_activations": ["sigmoid", "tanh", "sin", "relu", "he2"],
}

# 2021 sec. 5: CIFAR-10, width 800, depths 15-75, 30 epochs.
FULL_CHANGES = {
    "seeds": 3,
    "dataset": "cifar10",
    "width": 800,
    "depths": [15, 30, 45, 60, 75],
    "epochs": 30,
    "batch_size": 500,
    "init_batch": 2400,
    "fig3b_depth": 30,
    "fig3b_epochs": 30,
    "variant_depth": 45,
    "variant_epochs": 10,
    "support_depths": [15, 30, 45, 60, 75],
    "support_epochs": 30,
    "beta_epochs": 30,
}

CLAIM = Claim(
    notebook="05_sgd_acceleration",
    title="Orthogonal initial representations accelerate SGD, without batch norm",
    statement="Starting SGD from orthogonal representations (iterative orthogonalization) trains deep plain ReLU "
    "MLPs faster than Xavier (whose signal also vanishes with depth) at every depth, and faster than He (the same "
    "collinearity at an order-one scale) wherever depth slows He down; no batch norm.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    figures={
        "05_fig3a_gap_and_loss_vs_depth": "2021 Fig. 3a, with the signal-scale control (Xavier, He, orthogonal)",
        "05_fig3b_training": "2021 Fig. 3b (Xavier and He)",
        "05_fig4_orthogonal_vs_xavier": "2021 Fig. 4: training curves, Xavier, He and orthogonal",
        "05_supporting": "2020 Fig. 1 (rank and trainability) and 2023 (beta ordering, LN after the activation)",
    },
)

"""Experiment sizes per notebook: ``quick`` (CI, nbval, seconds), ``paper`` (the committed figures, a
scale chosen for a 2-core CPU) and ``full`` (the papers' own sizes, for a cluster; never run in CI).

Notebooks keep only ``preset`` (and a few plain values) in their papermill ``parameters`` cell and
derive every size from here, so one override (``-p preset paper``) stays consistent.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from normprop.catalog import find_claim

PRESET_NAMES = ("quick", "paper", "full")

_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "01_orthogonality": {
        "quick": {
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
        },
        "paper": {
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
        },
    },
    "02_entropy": {
        "quick": {
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
        },
        "paper": {
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
        },
    },
    "03_isometry": {
        "quick": {
            "seeds": 10,
            "batch_size": 10,
            "width": 512,
            "depth": 30,
            "spike": 10.0,
            "fit_layers": 5,
            "ablation_widths": [64, 256, 512],
            "gains": [0.5, 1.0, 2.0, 4.0],
            "rate_widths": [128, 512, 4096],
        },
        "paper": {
            "seeds": 20,
            "batch_size": 10,
            "width": 1000,
            "depth": 30,
            "spike": 10.0,
            "fit_layers": 5,
            "ablation_widths": [64, 250, 1000, 4000],
            "gains": [0.5, 1.0, 2.0, 4.0],
            "rate_widths": [250, 1000, 4000],
        },
    },
    "04_bounded_gradients": {
        "quick": {
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
        },
        "paper": {
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
        },
    },
    "05_sgd_acceleration": {
        "quick": {
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
        },
        "paper": {
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
        },
    },
}


#: The papers' own sizes, as changes to the paper preset (every key the paper preset has, the full one has).
_FULL_CHANGES: dict[str, dict[str, Any]] = {
    # 2021: Fig. 2b over d = 16..512 with 500 layers; 2020: rank of d = n = 32 over thousands of layers.
    "01_orthogonality": {
        "seeds": 100,
        "fig2a_depth": 500,
        "fig2b_widths": [16, 32, 64, 128, 256, 512, 1024],
        "rank_depth": 20000,
        "stable_rank_widths": [16, 32, 64, 128, 256, 512, 1024],
        "activation_depth": 500,
        "activation_width": 512,
        "seeds_per_task": 10,  # 10 tasks per configuration, for a cluster
    },
    "02_entropy": {
        "seeds": 100,
        "depth": 500,
        "widths": [8, 12, 16, 32, 64, 128, 256, 512, 1024],
        "floor_depth": 1000,
        "floor_batch_sizes": [4, 8, 16, 32, 64],
        "floor_widths": [32, 64, 128, 256, 512, 1024, 2048],
        "gaussian_widths": [32, 64, 128, 256, 512, 1024],
        "gaussian_groups": 20,
        "gaussian_networks": 500,
    },
    # 2023 validation MLP: n = 10, d up to 1000 (ablations to 4000), 30 layers, 10 repetitions.
    "03_isometry": {"seeds": 10, "width": 1000, "ablation_widths": [64, 250, 1000, 4000]},
    # 2024: n = d = 100, depths to 1000, 10 repetitions.
    "04_bounded_gradients": {
        "seeds": 10,
        "rate_widths": [8, 16, 32, 64, 128],
        "rate_depth": 1000,
        "theorem3_samples": 200000,
        "grad_width": 100,
        "grad_depths": [10, 50, 100, 250, 500, 750, 1000],
        # The official gradient notebooks go to depth 1000 (training depth in the paper: not retrieved).
        "train_depths": [10, 50, 100, 200, 500, 1000],
    },
    # 2021 sec. 5: CIFAR-10, width 800, depths 15-75, 30 epochs.
    "05_sgd_acceleration": {
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
    },
}
for _notebook, _changes in _FULL_CHANGES.items():
    _PRESETS[_notebook]["full"] = {**_PRESETS[_notebook]["paper"], **_changes}


def check_preset(preset: object) -> str:
    """Return ``preset`` if it names a preset; raise a one-line ``ValueError`` otherwise."""
    if preset not in PRESET_NAMES:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESET_NAMES))}; got {preset!r}")
    return preset  # type: ignore[return-value]


def load_preset(notebook: str, preset: str, **overrides: Any) -> MappingProxyType:
    """The sizes of ``notebook`` under ``preset``, with ``overrides`` applied (unknown keys rejected)."""
    name = find_claim(notebook).notebook
    check_preset(preset)
    values = dict(_PRESETS[name][preset])
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ValueError(f"overrides has unknown keys {unknown}; known keys: {sorted(values)}")
    values.update(overrides)
    return MappingProxyType(values)

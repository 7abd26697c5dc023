"""Experiment sizes per notebook: ``quick`` (CI, nbval, seconds) and ``paper`` (the figures).

Notebooks keep only ``preset`` (and a few plain values) in their papermill ``parameters`` cell and
derive every size from here, so one override (``-p preset paper``) stays consistent.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from normprop.catalog import find_claim

PRESET_NAMES = ("quick", "paper")

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
        },
        "paper": {
            "seeds": 20,
            "batch_size": 8,
            "input_cosine": 0.9,
            "depth": 100,
            "widths": [8, 12, 16, 32, 64, 128, 256],
            "main_width": 128,
            "activations": ["identity", "tanh", "sin", "centered_relu", "relu", "sigmoid"],
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
        },
    },
    "05_sgd_acceleration": {
        "quick": {
            "seeds": 5,
            "width": 64,
            "depths": [5, 15, 25],
            "epochs": 5,
            "lr": 0.01,
            "batch_size": 32,
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
            "width": 64,
            "depths": [5, 15, 25, 35, 45],
            "epochs": 20,
            "lr": 0.01,
            "batch_size": 32,
            "fig3b_depth": 8,
            "fig3b_epochs": 30,
            "variant_depth": 35,
            "variant_epochs": 5,
            "support_depths": [5, 15, 25, 35],
            "support_epochs": 10,
            "beta_depth": 10,
            "beta_epochs": 10,
            "beta_activations": ["sigmoid", "tanh", "sin", "relu", "he2"],
        },
    },
}


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

"""Argument checks shared by the package: one clear ``ValueError`` naming the argument.

Every public function validates its inputs here so that a user who passes a wrong shape or a
nonsensical size reads one line that says which argument is wrong, instead of a traceback from
deep inside ``torch.linalg``.
"""

from __future__ import annotations

import torch


def check_batch(h: object, name: str = "h") -> torch.Tensor:
    """Return ``h`` if it is a finite floating tensor of shape ``(..., n, d)``; raise otherwise."""
    if not isinstance(h, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (..., n, d), got {type(h).__name__}")
    if h.ndim < 2:
        raise ValueError(f"{name} must have shape (..., n, d) with at least 2 dimensions, got shape {tuple(h.shape)}")
    if not h.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {h.dtype}")
    if h.shape[-2] < 1 or h.shape[-1] < 1:
        raise ValueError(f"{name} must have at least one sample and one feature, got shape {tuple(h.shape)}")
    if not bool(torch.isfinite(h).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return h


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int if it is a positive integer; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_nonnegative_int(value: object, name: str) -> int:
    """Return ``value`` as an int if it is a non-negative integer; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``; raise otherwise."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value  # type: ignore[return-value]


def check_open_unit(value: float, name: str) -> float:
    """Return ``value`` if it lies in the open interval (0, 1); raise otherwise."""
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must lie in the open interval (0, 1), got {value!r}")
    return float(value)

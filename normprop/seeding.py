"""Randomness: explicit generators, and seeds derived from names so that they are the same everywhere.

Every random draw in normprop takes a ``torch.Generator`` (:func:`make_generator`), never torch's global state.
A sweep's task gets its own seed, :func:`seed_from_text` of a canonical description of the task
(:func:`normprop.repro.sweeps.task_seed`): sha256, not Python's ``hash()``, which is salted per process.
"""

from __future__ import annotations

import hashlib

import torch


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """An explicit generator: every random draw in normprop takes one, never the global state."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return torch.Generator(device=device).manual_seed(seed)


def seed_from_text(text: str) -> int:
    """A 63-bit seed: the first 8 bytes of sha256(``text``), shifted right by one (so it fits a signed int64)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1

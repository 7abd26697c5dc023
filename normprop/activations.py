"""Named activation functions, shared by the random chains (torch) and the Hermite theory.

An activation is either one of the names in :data:`ACTIVATIONS` or any callable mapping a tensor
to a tensor of the same shape. The Hermite polynomial activations ``he1``..``he3`` are the
*normalised* probabilists' Hermite polynomials ``He_k / sqrt(k!)``, so that their Hermite
coefficient vectors are unit vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Activation = str | Callable[[torch.Tensor], torch.Tensor]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "relu": torch.relu,
    # ReLU minus its mean under N(0, 1), E[relu(X)] = 1/sqrt(2 pi): the centred ReLU of Joudaki et al.
    "centered_relu": lambda x: torch.relu(x) - 1 / math.sqrt(2 * math.pi),
    "leaky_relu": lambda x: F.leaky_relu(x, negative_slope=0.01),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "sin": torch.sin,
    "exp": torch.exp,
    "selu": F.selu,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
    "he1": lambda x: x,
    "he2": lambda x: (x**2 - 1) / math.sqrt(2.0),
    "he3": lambda x: (x**3 - 3 * x) / math.sqrt(6.0),
}


def resolve_activation(activation: Activation, name: str = "activation") -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the tensor function for a name in :data:`ACTIVATIONS`, or ``activation`` if callable."""
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(f"{name} must be a callable or one of {', '.join(sorted(ACTIVATIONS))}; got {activation!r}")

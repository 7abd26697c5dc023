"""Named activation functions, shared by the random chains (torch) and the Hermite theory.

An activation is either one of the names in :data:`REGISTRY` (with its kinks) or any callable mapping a tensor
to a tensor of the same shape. The Hermite polynomial activations ``he1``..``he3`` are the
*normalised* probabilists' Hermite polynomials ``He_k / sqrt(k!)``, so that their Hermite
coefficient vectors are unit vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Activation = str | Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Registered:
    """A named activation: its tensor function and where it is not smooth (the Hermite quadrature of
    :mod:`normprop.theory` splits the real line at these points; a kink left out costs it accuracy)."""

    function: Callable[[torch.Tensor], torch.Tensor]
    kinks: tuple[float, ...] = ()


REGISTRY: dict[str, Registered] = {
    "identity": Registered(lambda x: x),
    "relu": Registered(torch.relu, kinks=(0.0,)),
    # ReLU minus its mean under N(0, 1), E[relu(X)] = 1/sqrt(2 pi): the centred ReLU of Joudaki et al.
    "centered_relu": Registered(lambda x: torch.relu(x) - 1 / math.sqrt(2 * math.pi), kinks=(0.0,)),
    "leaky_relu": Registered(lambda x: F.leaky_relu(x, negative_slope=0.01), kinks=(0.0,)),
    "tanh": Registered(torch.tanh),
    "sigmoid": Registered(torch.sigmoid),
    "sin": Registered(torch.sin),
    "exp": Registered(torch.exp),
    "selu": Registered(F.selu, kinks=(0.0,)),
    "elu": Registered(F.elu, kinks=(0.0,)),
    "gelu": Registered(F.gelu),
    "silu": Registered(F.silu),
    "he1": Registered(lambda x: x),
    "he2": Registered(lambda x: (x**2 - 1) / math.sqrt(2.0)),
    "he3": Registered(lambda x: (x**3 - 3 * x) / math.sqrt(6.0)),
}
#: name -> tensor function, for every registered activation.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {name: a.function for name, a in REGISTRY.items()}
#: name -> its kinks, for the activations that have any.
KINKS: dict[str, tuple[float, ...]] = {name: a.kinks for name, a in REGISTRY.items() if a.kinks}


def resolve_activation(activation: Activation, name: str = "activation") -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the tensor function for a name in :data:`ACTIVATIONS`, or ``activation`` if callable."""
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(f"{name} must be a callable or one of {', '.join(sorted(ACTIVATIONS))}; got {activation!r}")

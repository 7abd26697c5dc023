"""Gradient norms of deep random networks, for a whole batch of seeds in one backward pass.

Meterez et al. (ICLR 2024, arXiv:2310.02012) measure the gradient of a loss with respect to an early
weight matrix as the depth grows. Here every seed's network holds explicit weights with
``requires_grad``; the loss is summed over seeds (their graphs do not interact, so one backward pass
gives each seed its own gradient), and the norms are returned in log scale.

Deep networks with exploding gradients overflow float32 (and, far enough, float64): a gradient that is
not finite is reported as ``+inf`` in log scale, never NaN.

The paper's title claim is about training: :func:`train_losses_after_budget` trains MLPs of a given depth
for a fixed budget and reports each seed's training loss, a diverged seed as ``+inf``.
:func:`growth_ratio` compares two growth rates (slopes of log gradient norms) with an interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from normprop._validation import check_batch, check_positive_int
from normprop.nets import RANDOM_INITS, NetworkSpec, forward, sample_weights


def readout_loss(h: torch.Tensor, readout: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-seed mean squared error of a fixed linear readout: ``||h V - Y||^2 / n``, shape ``(seeds,)``."""
    return (h @ readout - targets).square().sum((-2, -1)) / h.shape[-2]


def network_loss(
    x: torch.Tensor, weights: Sequence[torch.Tensor], spec: NetworkSpec, readout: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Per-seed loss of the network with the given weights (one per layer): :func:`readout_loss` of its output."""
    return readout_loss(forward(x, weights, spec), readout, targets)


def log_gradient_norms(
    x: torch.Tensor,
    spec: NetworkSpec,
    generator: torch.Generator,
    layers: Sequence[int] = (0,),
    outputs: int = 10,
) -> torch.Tensor:
    """``log ||dL / dW_l||_F`` for each seed and each requested layer l, shape ``(seeds, len(layers))``.

    The loss is :func:`readout_loss` with a Gaussian readout ``V`` of shape ``(width, outputs)`` scaled by
    ``1/sqrt(width)`` and standard Gaussian targets, both drawn from ``generator`` like the weights.
    Computed in the dtype of ``x``: pass float64 for deep networks whose gradients overflow float32.
    """
    check_batch(x, "x")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (seeds, n, d_in), got shape {tuple(x.shape)}")
    check_positive_int(outputs, "outputs")
    if spec.init not in RANDOM_INITS:
        raise ValueError(f"spec.init must be a random init ({', '.join(RANDOM_INITS)}), got {spec.init!r}")
    if not layers or any(not 0 <= layer < spec.depth for layer in layers):
        raise ValueError(f"layers must be a non-empty list of layer indices in [0, {spec.depth}), got {list(layers)}")
    seeds, n, d_in = x.shape
    weights = [
        sample_weights(seeds, d_in if layer == 0 else spec.width, spec.width, spec.init, generator, x.dtype)
        for layer in range(spec.depth)
    ]
    for layer in layers:
        weights[layer].requires_grad_(True)
    readout = torch.randn(seeds, spec.width, outputs, generator=generator, dtype=x.dtype, device=x.device)
    targets = torch.randn(seeds, n, outputs, generator=generator, dtype=x.dtype, device=x.device)
    loss = network_loss(x, weights, spec, readout / math.sqrt(spec.width), targets)
    gradients = torch.autograd.grad(loss.sum(), [weights[layer] for layer in layers])
    norms = torch.stack([g.double().flatten(1).norm(dim=1) for g in gradients], dim=1)
    # Overflow anywhere (inf, or NaN from inf - inf) means the true norm is beyond the dtype's range.
    overflow = ~torch.isfinite(norms) | ~torch.isfinite(loss.detach()).unsqueeze(1)
    return torch.where(overflow, torch.full_like(norms, math.inf), norms.log())

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

import numpy as np
import pandas as pd
import torch

from normprop import train
from normprop._validation import check_batch, check_positive_int
from normprop.nets import RANDOM_INITS, NetworkSpec, forward, sample_weights
from normprop.stats import Estimate, mean_ci


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


def sgd_to_budget(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: Sequence[torch.Tensor],
    spec: NetworkSpec,
    epochs: int,
    generator: torch.Generator,
    lr: float = 0.01,
    batch_size: int = 32,
) -> np.ndarray:
    """Full training-set loss of every seed after ``epochs`` epochs of :func:`normprop.train.sgd`, shape ``(seeds,)``.

    ``train.sgd`` stops all seeds at the first epoch where one seed's loss is not finite. Here a seed whose
    loss is not finite has **diverged**: its entry is ``+inf`` and it is dropped, while the other seeds train
    on, still batched, to the full budget. The seeds share the mini-batch order (one permutation per epoch,
    as in ``train.sgd``), so a seed's result does not depend on whether another diverged. The loss is the one
    ``train.sgd`` records: cross-entropy on the whole training set in one forward pass, so batch normalization
    uses the statistics of the whole training set, not of a mini-batch.
    """
    check_positive_int(epochs, "epochs")
    weights = [w.detach() for w in weights]
    losses = np.full(weights[0].shape[0], np.inf)
    alive = np.arange(len(losses))
    done = 0
    while done < epochs and len(alive) > 0:
        index = torch.from_numpy(alive)
        result = train.sgd(x, y, [w[index] for w in weights], spec, 1, generator, lr=lr, batch_size=batch_size)
        last = result.history[result.history["epoch"] == result.history["epoch"].max()].sort_values("seed")
        finite = np.isfinite(last["loss"].to_numpy())
        losses[alive] = np.where(finite, last["loss"].to_numpy(), np.inf)
        if last["epoch"].iloc[0] == 1:  # the epoch ran (train.sgd stops before training if a seed starts non-finite)
            weights = [w.clone() for w in weights]
            for w, trained in zip(weights, result.weights, strict=True):
                w[index] = trained
            done += 1
        alive = alive[finite]
    return losses


def train_losses_after_budget(
    x: torch.Tensor,
    y: torch.Tensor,
    spec: NetworkSpec,
    seeds: int,
    epochs: int,
    generator: torch.Generator,
    lr: float = 0.01,
    batch_size: int = 32,
) -> np.ndarray:
    """``seeds`` MLPs initialised by ``spec`` (:func:`normprop.train.init_weights`: hidden layers by ``spec.init``,
    a Xavier readout), trained together by SGD for ``epochs`` epochs: :func:`sgd_to_budget`."""
    weights = train.init_weights(seeds, x.shape[-1], spec, generator, int(y.max()) + 1)
    return sgd_to_budget(x, y, weights, spec, epochs, generator, lr=lr, batch_size=batch_size)


TRAINING_OUTCOMES = ("trains", "fails", "undecided")


def training_outcomes(
    table: pd.DataFrame, threshold: float, by: Sequence[str] = ("run", "depth"), column: str = "loss"
) -> pd.DataFrame:
    """Whether each configuration trained within its budget, decided from the seeds' losses after it.

    One row per group of ``by``: the mean ``column`` over seeds and its 95% interval (:func:`normprop.stats.mean_ci`),
    the number of ``diverged`` seeds (loss ``+inf``; any makes the mean ``inf``), and the ``outcome``:
    ``"trains"`` if the interval lies below ``threshold``, ``"fails"`` if it lies above (a diverged seed
    included), ``"undecided"`` if it contains the threshold.
    """
    missing = [name for name in [*by, column] if name not in table]
    if missing:
        raise ValueError(f"table must have columns {missing}; it has {sorted(table.columns)}")
    rows = []
    for key, group in table.groupby(list(by), sort=False):
        losses = group[column].to_numpy(dtype=float)
        estimate = mean_ci(losses)
        outcome = "trains" if estimate.high < threshold else "fails" if estimate.low > threshold else "undecided"
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "mean": estimate.mean,
                "low": estimate.low,
                "high": estimate.high,
                "diverged": int(np.isposinf(losses).sum()),
                "seeds": len(losses),
                "outcome": outcome,
            }
        )
    return pd.DataFrame(rows)


def growth_ratio(fast: Estimate, slow: Estimate) -> Estimate:
    """How many times slower ``slow`` grows than ``fast``: ``fast.mean / slow.mean``, with a conservative interval.

    Both are slopes over independent seeds (no pairing), so the interval is the range of ratios of the two
    intervals' ends, ``[fast.low / slow.high, fast.high / slow.low]``; it has at least the coverage of the two
    intervals together. ``fast`` must grow (``fast.low > 0``). If ``slow`` may not grow at all
    (``slow.low <= 0``) the upper end is ``inf``, and if it does not grow on average (``slow.mean <= 0``) the
    ratio itself is ``inf``.
    """
    if not fast.low > 0:
        raise ValueError(f"fast must grow (its interval above 0), got {fast}")
    mean = fast.mean / slow.mean if slow.mean > 0 else math.inf
    low = fast.low / slow.high if slow.high > 0 else math.inf
    high = fast.high / slow.low if slow.low > 0 else math.inf
    return Estimate(mean, low, high, min(fast.count, slow.count))

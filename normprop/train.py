"""MLPs trained with SGD for a whole batch of seeds at once, and their initialisers.

An MLP is a :class:`normprop.nets.NetworkSpec` (its hidden layers, the same definition the random
chains use) followed by a linear readout to the logits. Every layer holds weights of shape
``(seeds, d_in, d_out)``: one forward pass computes all seeds' logits with batched matrix products, the
loss is summed over seeds (their graphs are independent, so each seed receives its own gradient), and one
``torch.optim.SGD`` step updates all of them.

Initialisers (Daneshmand et al. 2021, sec. 5): Xavier (the paper's baseline), He, and **iterative
orthogonalization** (eq. 6), a data-dependent initialisation that makes each layer's pre-activations
of an initialisation batch more orthogonal than its input (see :func:`orthogonalizing_weight`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from normprop._validation import check_batch, check_choice, check_positive_int
from normprop.metrics import orthogonality_gap
from normprop.nets import RANDOM_INITS, NetworkSpec, activate, forward, haar_orthogonal, sample_weights

V_PRIMES = ("haar", "identity", "input")


def predict(x: torch.Tensor, weights: Sequence[torch.Tensor], spec: NetworkSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits, last hidden representation)`` of the MLP: :func:`normprop.nets.forward` through the hidden
    layers (``weights[:-1]``), then the linear readout ``weights[-1]``. Inputs ``(n, d)`` or ``(seeds, n, d)``.

    The logits are never passed through the activation (the official 2023 code did, which caps the loss).
    """
    hidden = forward(x, weights[:-1], spec)
    return hidden @ weights[-1], hidden


def orthogonalizing_weight(
    h: torch.Tensor, width: int, generator: torch.Generator, v_prime: str = "haar"
) -> torch.Tensor:
    """One step of iterative orthogonalization (Daneshmand et al. 2021, eq. 6), for ``h`` of shape (seeds, n, d).

    With the thin SVD ``h = U S V^T`` (U over samples, V over features) the weight is
    ``W = V S^(-1/2) V'^T * c``, so that ``h W = U S^(1/2) V'^T * c``: the Gram ``h W W^T h^T`` has eigenvalues
    ``s_i`` where ``h h^T`` has ``s_i^2`` (a square root of the spectrum: halfway to isometry on a log scale).
    The paper writes ``W = V' S^(-1/2) U^T / ||S^(1/2)||_F`` for features-by-samples matrices ``H = h^T``, whose
    left factor is our V; using the *sample* factor there is the bug that sank a third-party reproduction.
    ``c`` gives the pre-activations unit mean square (the paper's ``1/||S^(1/2)||_F`` gives the whole batch
    unit norm instead; only the scale differs). ``V'`` (width x r, orthonormal columns) is ambiguous in the
    paper: ``"haar"`` draws it at random, ``"identity"`` takes the first r axes, ``"input"`` reuses V
    (needs ``width == d``).
    """
    check_choice(v_prime, "v_prime", V_PRIMES)
    seeds, n, d = h.shape
    u, s, vh = torch.linalg.svd(h.double(), full_matrices=False)
    keep = s > s[..., :1] * max(n, d) * torch.finfo(h.dtype).eps  # drop directions the batch does not span
    r = int(keep.sum(-1).min())
    u, s, v = u[..., :r], s[..., :r], vh.mT[..., :r]
    if v_prime == "haar":
        right = haar_orthogonal(seeds, width, r, generator, torch.float64)
    elif v_prime == "identity":
        right = torch.eye(width, r, dtype=torch.float64).expand(seeds, width, r)
    else:
        if width != d:
            raise ValueError(f"v_prime='input' needs width == input features, got width {width} and d {d}")
        right = v
    weight = v @ torch.diag_embed(s.rsqrt()) @ right.mT
    scale = math.sqrt(n * width) / s.sum(-1).sqrt()  # ||U S^(1/2) V'^T||_F^2 = tr S
    return (weight * scale[:, None, None]).to(h.dtype)


def init_weights(
    seeds: int,
    inputs: int,
    spec: NetworkSpec,
    generator: torch.Generator,
    classes: int = 10,
    x_init: torch.Tensor | None = None,
    v_prime: str = "haar",
) -> list[torch.Tensor]:
    """Weights for every layer of the MLP, ``(seeds, d_in, d_out)`` each: ``spec.depth`` hidden layers drawn
    by ``spec.init``, then a Xavier readout to ``classes`` logits.

    ``"iterative_orthogonalization"`` needs the batch ``x_init`` (n x inputs, shared by all seeds): each hidden
    layer is fitted to that batch as propagated through the layers before it (:func:`orthogonalizing_weight`).
    """
    check_positive_int(seeds, "seeds")
    check_positive_int(inputs, "inputs")
    check_positive_int(classes, "classes")
    dims = [inputs] + [spec.width] * spec.depth
    if spec.init in RANDOM_INITS:
        hidden = [sample_weights(seeds, d_in, d_out, spec.init, generator) for d_in, d_out in pairwise(dims)]
    else:
        if x_init is None:
            raise ValueError("x_init must be given for the data-dependent 'iterative_orthogonalization' init")
        check_batch(x_init, "x_init")
        h = x_init.expand(seeds, *x_init.shape[-2:])
        hidden = []
        for layer in range(spec.depth):
            weight = orthogonalizing_weight(h, spec.width, generator, v_prime)
            hidden.append(weight)
            with torch.no_grad():
                h = activate(h @ weight, spec, layer)
    return hidden + [sample_weights(seeds, spec.width, classes, "xavier", generator)]


@dataclass
class TrainingResult:
    """Per-epoch history (one row per seed and epoch; epoch 0 is the initialisation) and, if training
    stopped early, why."""

    history: pd.DataFrame
    weights: list[torch.Tensor]
    message: str | None = None


def _loss_and_gap(x, y, probe, weights, spec) -> tuple[np.ndarray, np.ndarray]:
    """Full-data loss and probe gap per seed; a seed whose state overflowed gets loss and gap ``inf``."""
    with torch.no_grad():
        logits, _ = predict(x, weights, spec)
        losses = F.cross_entropy(logits.transpose(1, 2), y.expand(logits.shape[0], -1), reduction="none").mean(-1)
        _, hidden = predict(probe, weights, spec)
    losses = losses.double().numpy()
    finite = np.isfinite(losses) & torch.isfinite(hidden).all(-1).all(-1).numpy()
    finite &= (hidden.square().sum((-2, -1)) > 0).numpy()  # a dead network has no defined gap
    gaps = np.full(len(losses), np.inf)
    if finite.any():
        gaps[finite] = orthogonality_gap(hidden[torch.from_numpy(finite)]).numpy()
    losses[~np.isfinite(losses)] = np.inf
    return losses, gaps


def sgd(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: list[torch.Tensor],
    spec: NetworkSpec,
    epochs: int,
    generator: torch.Generator,
    lr: float = 0.01,
    batch_size: int = 32,
    probe: torch.Tensor | None = None,
) -> TrainingResult:
    """SGD on the cross-entropy for all seeds at once; records the full training loss and the orthogonality
    gap of the last hidden layer on ``probe`` (default: the first 32 training samples) after every epoch.

    Stops at the first epoch whose loss is NaN or inf for some seed, and says so in ``message``.
    """
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    probe = x[:32] if probe is None else probe
    weights = [w.detach().clone().requires_grad_(True) for w in weights]
    optimizer = torch.optim.SGD(weights, lr=lr)
    seeds = weights[0].shape[0]
    rows, message = [], None
    for epoch in range(epochs + 1):
        if epoch > 0:
            order = torch.randperm(len(x), generator=generator, device=generator.device)
            for start in range(0, len(x), batch_size):
                batch = order[start : start + batch_size]
                logits, _ = predict(x[batch], weights, spec)
                targets = y[batch].expand(seeds, -1)
                loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(-1).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        losses, gaps = _loss_and_gap(x, y, probe, weights, spec)
        rows += [{"seed": s, "epoch": epoch, "loss": losses[s], "gap": gaps[s]} for s in range(seeds)]
        if not np.isfinite(losses).all():
            bad = np.flatnonzero(~np.isfinite(losses)).tolist()
            message = f"training stopped at epoch {epoch}: the loss of seeds {bad} is not finite (try a smaller lr)"
            break
    return TrainingResult(pd.DataFrame(rows), [w.detach() for w in weights], message)


def fit(
    x: torch.Tensor,
    y: torch.Tensor,
    spec: NetworkSpec,
    seeds: int,
    epochs: int,
    generator: torch.Generator,
    lr: float = 0.01,
    batch_size: int = 32,
    x_init: torch.Tensor | None = None,
    v_prime: str = "haar",
) -> TrainingResult:
    """Initialise ``seeds`` MLPs by ``spec`` (:func:`init_weights`, classes from ``y``) and train them together
    (:func:`sgd`). ``x_init`` defaults to ``x`` for the data-dependent init."""
    classes = int(y.max()) + 1
    x_init = x if x_init is None and spec.init == "iterative_orthogonalization" else x_init
    weights = init_weights(seeds, x.shape[-1], spec, generator, classes, x_init=x_init, v_prime=v_prime)
    return sgd(x, y, weights, spec, epochs, generator, lr=lr, batch_size=batch_size)

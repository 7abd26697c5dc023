"""Plain MLPs trained with SGD for a whole batch of seeds at once, and their initialisers.

Every layer holds weights of shape ``(seeds, d_in, d_out)``: one forward pass computes all seeds'
logits with batched matrix products, the loss is summed over seeds (their graphs are independent, so
each seed receives its own gradient), and one ``torch.optim.SGD`` step updates all of them.

Initialisers (Daneshmand et al. 2021, sec. 5): Xavier (the paper's baseline), He, and **iterative
orthogonalization** (eq. 6), a data-dependent initialisation that makes each layer's pre-activations
of an initialisation batch more orthogonal than its input (see :func:`orthogonalizing_weight`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from normprop._validation import check_batch, check_choice, check_positive_int
from normprop.activations import Activation, resolve_activation
from normprop.metrics import orthogonality_gap
from normprop.nets import haar_orthogonal, normalize

INITS = ("xavier", "he", "orthogonal")
V_PRIMES = ("haar", "identity", "input")
NORMS = ("none", "batch", "layer")


@dataclass(frozen=True)
class MLPSpec:
    """``depth`` hidden layers of ``width`` units, then a linear readout to ``classes`` logits.

    A hidden layer is ``h = activation(norm(h_prev @ W))``; ``norm`` is ``"none"`` (the paper's plain MLP),
    ``"batch"`` (mean-centred, no affine: statistics of the current mini-batch) or ``"layer"`` (centred).
    The logits are never passed through the activation (the official 2023 code did, which caps the loss).
    """

    width: int
    depth: int
    activation: Activation = "relu"
    norm: str = "none"
    classes: int = 10

    def __post_init__(self) -> None:
        check_positive_int(self.width, "width")
        check_positive_int(self.depth, "depth")
        check_positive_int(self.classes, "classes")
        check_choice(self.norm, "norm", NORMS)
        resolve_activation(self.activation)

    def dims(self, inputs: int) -> list[int]:
        return [inputs] + [self.width] * self.depth + [self.classes]


def hidden_layer(h: torch.Tensor, weight: torch.Tensor, spec: MLPSpec) -> torch.Tensor:
    z = h @ weight
    if spec.norm != "none":
        z = normalize(z, spec.norm, centering=True)
    return resolve_activation(spec.activation)(z)


def forward(x: torch.Tensor, weights: Sequence[torch.Tensor], spec: MLPSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits, last hidden representation)`` for inputs ``x`` of shape ``(n, d)`` or ``(seeds, n, d)``."""
    h = x
    for weight in weights[:-1]:
        h = hidden_layer(h, weight, spec)
    return h @ weights[-1], h


def gaussian_init(seeds: int, dims: Sequence[int], std: str, generator: torch.Generator) -> list[torch.Tensor]:
    """Xavier (``std = sqrt(2 / (fan_in + fan_out))``) or He (``std = sqrt(2 / fan_in)``) normal weights."""
    weights = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        scale = math.sqrt(2 / (fan_in + fan_out)) if std == "xavier" else math.sqrt(2 / fan_in)
        weights.append(scale * torch.randn(seeds, fan_in, fan_out, generator=generator, device=generator.device))
    return weights


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
    spec: MLPSpec,
    scheme: str,
    generator: torch.Generator,
    x_init: torch.Tensor | None = None,
    v_prime: str = "haar",
) -> list[torch.Tensor]:
    """Weights for every layer, ``(seeds, d_in, d_out)`` each. ``"orthogonal"`` needs the batch ``x_init``
    (n x inputs, shared by all seeds): each hidden layer is fitted to that batch as propagated through the
    layers before it; the readout is Xavier in every scheme."""
    check_choice(scheme, "scheme", INITS)
    dims = spec.dims(inputs)
    if scheme in ("xavier", "he"):
        return gaussian_init(seeds, dims, scheme, generator)
    if x_init is None:
        raise ValueError("x_init must be given for the data-dependent 'orthogonal' initialisation")
    check_batch(x_init, "x_init")
    h = x_init.expand(seeds, *x_init.shape[-2:])
    weights = []
    for _ in range(spec.depth):
        weight = orthogonalizing_weight(h, spec.width, generator, v_prime)
        weights.append(weight)
        with torch.no_grad():
            h = hidden_layer(h, weight, spec)
    return weights + gaussian_init(seeds, dims[-2:], "xavier", generator)


@dataclass
class TrainingResult:
    """Per-epoch history (one row per seed and epoch; epoch 0 is the initialisation) and, if training
    stopped early, why."""

    history: pd.DataFrame
    weights: list[torch.Tensor]
    message: str | None = None


def _evaluate(x, y, probe, weights, spec) -> tuple[np.ndarray, np.ndarray]:
    """Full-data loss and probe gap per seed; a seed whose state overflowed gets loss and gap ``inf``."""
    with torch.no_grad():
        logits, _ = forward(x, weights, spec)
        losses = F.cross_entropy(logits.transpose(1, 2), y.expand(logits.shape[0], -1), reduction="none").mean(-1)
        _, hidden = forward(probe, weights, spec)
    losses = losses.double().numpy()
    finite = np.isfinite(losses) & torch.isfinite(hidden).all(-1).all(-1).numpy()
    finite &= (hidden.square().sum((-2, -1)) > 0).numpy()  # a dead network has no defined gap
    gaps = np.full(len(losses), np.inf)
    if finite.any():
        gaps[finite] = orthogonality_gap(hidden[torch.from_numpy(finite)]).numpy()
    losses[~np.isfinite(losses)] = np.inf
    return losses, gaps


def train(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: list[torch.Tensor],
    spec: MLPSpec,
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
                logits, _ = forward(x[batch], weights, spec)
                targets = y[batch].expand(seeds, -1)
                loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(-1).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        losses, gaps = _evaluate(x, y, probe, weights, spec)
        rows += [{"seed": s, "epoch": epoch, "loss": losses[s], "gap": gaps[s]} for s in range(seeds)]
        if not np.isfinite(losses).all():
            bad = np.flatnonzero(~np.isfinite(losses)).tolist()
            message = f"training stopped at epoch {epoch}: the loss of seeds {bad} is not finite (try a smaller lr)"
            break
    return TrainingResult(pd.DataFrame(rows), [w.detach() for w in weights], message)

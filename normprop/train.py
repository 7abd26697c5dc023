"""MLPs trained with SGD for a whole batch of seeds at once, and their initialisers.

An MLP is a :class:`normprop.nets.NetworkSpec` (its hidden layers, the same definition the random
chains use) followed by a linear readout to the logits. Every layer holds weights of shape
``(seeds, d_in, d_out)``: one forward pass computes all seeds' logits with batched matrix products, the
loss is summed over seeds (their graphs are independent, so each seed receives its own gradient), and one
``torch.optim.SGD`` step updates all of them.

Initialisers (Daneshmand et al. 2021, sec. 5): Xavier (the paper's baseline), He, and **iterative
orthogonalization** (eq. 6), a data-dependent initialisation that makes each layer's pre-activations
of an initialisation batch more orthogonal than its input (see :func:`orthogonalizing_weight`). Each seed
can fit it to its own random initialisation batch (:func:`init_batches`), as the official code does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from normprop._validation import check_batch, check_choice, check_positive_int
from normprop.activations import Activation, resolve_activation
from normprop.analysis import Estimate, mean_ci
from normprop.metrics import orthogonality_gap
from normprop.nets import RANDOM_INITS, NetworkSpec, activate, forward, haar_orthogonal, sample_weights

V_PRIMES = ("haar", "identity", "input", "sample")
#: Scales of iterative orthogonalization: ``"rms"`` gives the pre-activations unit mean square; ``"paper"`` is
#: eq. 6's ``1/||S^(1/2)||_F``.
ORTHOGONALIZING_SCALES = ("rms", "paper")


def predict(
    x: torch.Tensor, weights: Sequence[torch.Tensor], spec: NetworkSpec, logit_activation: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits, last hidden representation)`` of the MLP: :func:`normprop.nets.forward` through the hidden
    layers (``weights[:-1]``), then the linear readout ``weights[-1]``. Inputs ``(n, d)`` or ``(seeds, n, d)``.

    By default the logits are linear. ``logit_activation=True`` passes them through ``spec.activation``, as the
    official training code of Joudaki et al. (2023) does: a confound, since a bounded activation caps the logits
    and so bounds the cross-entropy from below (sigmoid: ``log(1 + 9/e) = 1.46`` for 10 classes).
    """
    hidden = forward(x, weights[:-1], spec)
    logits = hidden @ weights[-1]
    return (resolve_activation(spec.activation)(logits) if logit_activation else logits), hidden


def logit_activation_loss_floor(activation: Activation, classes: int = 10, span: float = 1e3) -> float:
    """The smallest cross-entropy that ``classes`` logits passed through ``activation`` can reach:
    ``log(1 + (classes - 1) exp(-(sup - inf)))`` with ``sup`` and ``inf`` the activation's range (evaluated on
    ``[-span, span]``). 0 for activations unbounded above (ReLU); ``log(1 + 9/e) = 1.46`` for sigmoid and
    ``log(1 + 9/e^2) = 0.80`` for tanh with 10 classes: the cap of the official 2023 code (:func:`predict`)."""
    check_positive_int(classes, "classes")
    values = resolve_activation(activation)(torch.linspace(-span, span, 200_001, dtype=torch.float64))
    spread = (values.max() - values.min()).item()
    return float(np.log1p((classes - 1) * np.exp(-spread))) if np.isfinite(spread) else 0.0


def orthogonalizing_weight(
    h: torch.Tensor, width: int, generator: torch.Generator, v_prime: str = "haar", scale: str = "rms"
) -> torch.Tensor:
    """One step of iterative orthogonalization (Daneshmand et al. 2021, eq. 6), for ``h`` of shape (seeds, n, d).

    With the thin SVD ``h = U S V^T`` (U over samples, V over features) the weight is
    ``W = V S^(-1/2) V'^T * c``, so that ``h W = U S^(1/2) V'^T * c``. The paper writes
    ``W = V' S^(-1/2) U^T / ||S^(1/2)||_F`` for features-by-samples matrices ``H = h^T``, whose left factor is our
    V; using the *sample* factor there is the bug that sank a third-party reproduction.

    ``V'`` (width x r) is ambiguous in the paper; the choices:

    * ``"haar"``: random orthonormal columns; ``"identity"``: the first r axes; ``"input"``: V itself
      (needs ``width == d``; then ``W`` is symmetric positive definite). With orthonormal columns the Gram
      ``h W W^T h^T`` has eigenvalues ``s_i`` where ``h h^T`` has ``s_i^2``: the spectrum is square-rooted,
      halfway to isometry on a log scale.
    * ``"sample"``: the paper's literal reading, a slice of the *sample-side* singular vectors (the paper's V,
      our U): the first ``width`` rows of U (needs ``n >= width``). Its columns are not orthonormal, so the
      spectrum is only roughly square-rooted, and it depends on which samples come first in the batch.

    ``scale``: ``"rms"`` chooses ``c`` so that the pre-activations ``h W`` have unit mean square; ``"paper"``
    is eq. 6's ``c = 1/||S^(1/2)||_F`` (for orthonormal ``V'`` the whole batch ``h W`` then has unit Frobenius
    norm). In a ReLU network without bias only the first layer's weight and the logits differ between the two
    (every later layer is fitted to its input's scale), but that changes the SGD dynamics.
    """
    check_choice(v_prime, "v_prime", V_PRIMES)
    check_choice(scale, "scale", ORTHOGONALIZING_SCALES)
    seeds, n, d = h.shape
    u, s, vh = torch.linalg.svd(h.double(), full_matrices=False)
    keep = s > s[..., :1] * max(n, d) * torch.finfo(h.dtype).eps  # drop directions the batch does not span
    r = int(keep.sum(-1).min())
    u, s, v = u[..., :r], s[..., :r], vh.mT[..., :r]
    if v_prime == "haar":
        right = haar_orthogonal(seeds, width, r, generator, torch.float64)
    elif v_prime == "identity":
        right = torch.eye(width, r, dtype=torch.float64).expand(seeds, width, r)
    elif v_prime == "sample":
        if n < width:
            raise ValueError(f"v_prime='sample' needs at least width samples, got n {n} and width {width}")
        right = u[:, :width]
    else:
        if width != d:
            raise ValueError(f"v_prime='input' needs width == input features, got width {width} and d {d}")
        right = v
    weight = v @ torch.diag_embed(s.rsqrt()) @ right.mT
    if scale == "paper":
        c = s.sum(-1).rsqrt()  # 1 / ||S^(1/2)||_F
    else:  # unit mean square of h W, measured (V' of "sample" is not orthonormal)
        c = (h.double() @ weight).square().mean((-2, -1)).rsqrt()
    return (weight * c[:, None, None]).to(h.dtype)


def init_batches(x: torch.Tensor, seeds: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """One random initialisation batch per seed, ``(seeds, size, d)``: ``size`` distinct rows of ``x`` (n, d),
    in random order, drawn independently for every seed.

    The official code of Daneshmand et al. (2021) fits iterative orthogonalization to a random mini-batch of
    ``3 * width`` training images; drawing one per seed makes the seeds' initial weights differ in every variant
    of ``V'`` (with one shared batch, ``"input"`` and ``"identity"`` would give every seed the same hidden weights).
    """
    check_batch(x, "x")
    check_positive_int(seeds, "seeds")
    check_positive_int(size, "size")
    if x.ndim != 2 or size > len(x):
        raise ValueError(f"size must be at most the rows of a 2-d x, got size {size} and shape {tuple(x.shape)}")
    keys = torch.rand(seeds, len(x), generator=generator, device=generator.device)
    return x[keys.argsort(-1)[:, :size].to(x.device)]


def distinct_across_seeds(weights: Sequence[torch.Tensor], rtol: float = 1e-5) -> bool:
    """Whether every pair of seeds has different weights: for each pair, some layer ``(seeds, d_in, d_out)`` differs
    by more than ``rtol`` times its largest entry. Computed from the weights themselves, never assumed."""
    if not weights:
        raise ValueError("weights must hold at least one layer")
    seeds = weights[0].shape[0]
    differs = torch.zeros(seeds, seeds, dtype=torch.bool)
    for w in weights:
        flat = w.detach().reshape(seeds, -1).double().cpu()
        differs |= torch.cdist(flat, flat, p=float("inf")) > rtol * flat.abs().max()
    return bool(differs[~torch.eye(seeds, dtype=torch.bool)].all())


def init_weights(
    seeds: int,
    inputs: int,
    spec: NetworkSpec,
    generator: torch.Generator,
    classes: int = 10,
    x_init: torch.Tensor | None = None,
    v_prime: str = "haar",
    scale: str = "rms",
    fitted_layers: Collection[int] | None = None,
) -> list[torch.Tensor]:
    """Weights for every layer of the MLP, ``(seeds, d_in, d_out)`` each: ``spec.depth`` hidden layers drawn
    by ``spec.init``, then a Xavier readout to ``classes`` logits.

    ``"iterative_orthogonalization"`` needs the batch ``x_init``: ``(n, inputs)`` shared by all seeds, or
    ``(seeds, n, inputs)``, one per seed (:func:`init_batches`). Each hidden layer is fitted to that batch as
    propagated through the layers before it (:func:`orthogonalizing_weight` with ``v_prime`` and ``scale``).
    ``fitted_layers`` (0-based) fits only those layers and draws the others from He's ``N(0, 2/d_in)``, still in
    order, so that a fitted layer sees its input as propagated through the drawn ones (None: every layer).
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
        if x_init.ndim == 3 and x_init.shape[0] != seeds:
            raise ValueError(f"x_init must have {seeds} batches (one per seed), got shape {tuple(x_init.shape)}")
        h = x_init.expand(seeds, *x_init.shape[-2:])
        hidden = []
        if fitted_layers is not None and not set(fitted_layers) <= set(range(spec.depth)):
            raise ValueError(f"fitted_layers must be layers 0 to {spec.depth - 1}, got {sorted(fitted_layers)}")
        for layer in range(spec.depth):
            if fitted_layers is None or layer in fitted_layers:
                weight = orthogonalizing_weight(h, spec.width, generator, v_prime, scale)
            else:
                weight = sample_weights(seeds, h.shape[-1], spec.width, "he", generator, h.dtype)
            hidden.append(weight)
            with torch.no_grad():
                h = activate(h @ weight, spec, layer)
    return hidden + [sample_weights(seeds, spec.width, classes, "xavier", generator)]


@dataclass
class TrainingResult:
    """Per-epoch history (one row per seed and epoch; epoch 0 is the initialisation; columns ``seed``, ``epoch``,
    ``loss``, ``gap``, ``rms``), the final and the initial weights and, if training stopped early, why."""

    history: pd.DataFrame
    weights: list[torch.Tensor]
    message: str | None = None
    initial_weights: list[torch.Tensor] | None = None


def _full_loss(x, y, weights, spec, logit_activation=False) -> torch.Tensor:
    """Cross-entropy on the whole of ``x`` in one forward pass, per seed (float32, not yet checked for overflow)."""
    with torch.no_grad():
        logits, _ = predict(x, weights, spec, logit_activation)
        return F.cross_entropy(logits.transpose(1, 2), y.expand(logits.shape[0], -1), reduction="none").mean(-1)


def _loss_and_gap(x, y, probe, weights, spec, logit_activation=False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-data loss, probe gap and probe RMS of the last hidden layer per seed; a seed whose state overflowed
    gets loss and gap ``inf``."""
    losses = _full_loss(x, y, weights, spec, logit_activation)
    with torch.no_grad():
        _, hidden = predict(probe, weights, spec)
    losses = losses.double().numpy()
    rms = hidden.double().square().mean((-2, -1)).sqrt().cpu().numpy()
    finite = np.isfinite(losses) & torch.isfinite(hidden).all(-1).all(-1).numpy()
    finite &= (hidden.square().sum((-2, -1)) > 0).numpy()  # a dead network has no defined gap
    gaps = np.full(len(losses), np.inf)
    if finite.any():
        gaps[finite] = orthogonality_gap(hidden[torch.from_numpy(finite)]).numpy()
    losses[~np.isfinite(losses)] = np.inf
    rms[~np.isfinite(rms)] = np.inf
    return losses, gaps, rms


def _check_budget(epochs: int, lr: float, batch_size: int) -> None:
    """A clear ValueError for a training budget that cannot run."""
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")


def _epoch(x, y, weights, spec, generator, optimizer, batch_size, logit_activation=False) -> None:
    """One epoch of mini-batch SGD on ``weights`` (leaves that require grad) in place: one permutation of ``x``
    from ``generator``, every seed's mean cross-entropy over a batch summed over seeds (so each seed gets its own
    gradient)."""
    seeds = weights[0].shape[0]
    order = torch.randperm(len(x), generator=generator, device=generator.device)
    for start in range(0, len(x), batch_size):
        batch = order[start : start + batch_size]
        logits, _ = predict(x[batch], weights, spec, logit_activation)
        targets = y[batch].expand(seeds, -1)
        loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(-1).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


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
    logit_activation: bool = False,
    record_start: bool = True,
    record_every: int | None = 1,
) -> TrainingResult:
    """SGD on the cross-entropy for all seeds at once; records the full training loss, and the orthogonality
    gap and RMS of the last hidden layer on ``probe`` (default: the first 32 training samples), after every epoch
    and, unless ``record_start`` is False, before the first (epoch 0).

    ``logit_activation`` passes the logits through the activation (see :func:`predict`; the official 2023 code's
    confound). Stops at the first recorded epoch whose loss is NaN or inf for some seed, and says so in ``message``.

    ``record_every=k`` records after every k-th epoch and after the last one (``None``: the last only; epoch 0 as
    above), for callers that read fewer epochs: the full-data evaluation is about a fifth of an epoch of a 05 run,
    and leaving it out changes no trained weight (it draws nothing from ``generator``), so every recorded epoch has
    the same numbers as with ``record_every=1``. A seed that overflows trains on, with non-finite weights, to the
    next recorded epoch, where its loss is inf; the seeds are independent in the batch, so with ``None`` the others
    reach the full budget, where with ``record_every=1`` all would stop at that epoch.
    """
    _check_budget(epochs, lr, batch_size)
    if record_every is not None:
        check_positive_int(record_every, "record_every")
    probe = x[:32] if probe is None else probe
    initial = [w.detach().clone() for w in weights]
    weights = [w.detach().clone().requires_grad_(True) for w in weights]
    optimizer = torch.optim.SGD(weights, lr=lr)
    seeds = weights[0].shape[0]
    rows, message = [], None
    for epoch in range(0 if record_start else 1, epochs + 1):
        if epoch > 0:
            _epoch(x, y, weights, spec, generator, optimizer, batch_size, logit_activation)
        if 0 < epoch < epochs and (record_every is None or epoch % record_every):
            continue
        losses, gaps, rms = _loss_and_gap(x, y, probe, weights, spec, logit_activation)
        rows += [{"seed": s, "epoch": epoch, "loss": losses[s], "gap": gaps[s], "rms": rms[s]} for s in range(seeds)]
        if not np.isfinite(losses).all():
            bad = np.flatnonzero(~np.isfinite(losses)).tolist()
            message = f"training stopped at epoch {epoch}: the loss of seeds {bad} is not finite (try a smaller lr)"
            break
    return TrainingResult(pd.DataFrame(rows), [w.detach() for w in weights], message, initial)


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
    scale: str = "rms",
    init_batch: int | None = None,
    logit_activation: bool = False,
    record_every: int | None = 1,
) -> TrainingResult:
    """Initialise ``seeds`` MLPs by ``spec`` (:func:`init_weights`, classes from ``y``) and train them together
    (:func:`sgd`, which gets ``record_every``). For the data-dependent init, ``x_init`` defaults to ``init_batch``
    random rows of ``x`` drawn for each seed (:func:`init_batches`), or, if ``init_batch`` is None, to the whole of
    ``x`` shared by all seeds."""
    classes = int(y.max()) + 1
    if x_init is None and spec.init == "iterative_orthogonalization":
        x_init = x if init_batch is None else init_batches(x, seeds, init_batch, generator)
    weights = init_weights(seeds, x.shape[-1], spec, generator, classes, x_init=x_init, v_prime=v_prime, scale=scale)
    return sgd(
        x,
        y,
        weights,
        spec,
        epochs,
        generator,
        lr,
        batch_size,
        logit_activation=logit_activation,
        record_every=record_every,
    )


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
    """Full training-set loss of every seed after ``epochs`` epochs of :func:`sgd`, shape ``(seeds,)``:
    the losses of :func:`train_to_budget`."""
    return train_to_budget(x, y, weights, spec, epochs, generator, lr, batch_size)[0]


def train_to_budget(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: Sequence[torch.Tensor],
    spec: NetworkSpec,
    epochs: int,
    generator: torch.Generator,
    lr: float = 0.01,
    batch_size: int = 32,
) -> tuple[np.ndarray, list[torch.Tensor]]:
    """``(losses, weights)``: every seed's full training-set loss after ``epochs`` epochs of :func:`sgd`, shape
    ``(seeds,)``, and the weights it ended with.

    A seed whose loss is not finite has **diverged**: its entry is ``+inf``. One evaluation, at the end (a full-data
    forward pass, up to a fifth of an epoch's cost); in between, a seed whose weights overflowed in an epoch is dropped
    (its weights stay those of the epoch before) and the others train on, still batched, to the full budget, so a
    budget at which every seed diverges stops early. The seeds are independent in the batch and share the
    mini-batch order (one permutation per epoch, as in :func:`sgd`), so a seed's result does not depend on whether
    another diverged, bit for bit. The loss is the one ``sgd`` records: cross-entropy on the whole training set in
    one forward pass, so batch normalization uses the statistics of the whole training set, not of a mini-batch
    (:func:`minibatch_loss` gives the other reading).
    """
    _check_budget(epochs, lr, batch_size)
    weights = [w.detach().clone() for w in weights]
    alive = torch.arange(weights[0].shape[0])
    for _ in range(epochs):
        if len(alive) == 0:
            break
        trained = [w[alive].requires_grad_(True) for w in weights]
        _epoch(x, y, trained, spec, generator, torch.optim.SGD(trained, lr=lr), batch_size)
        finite = torch.stack([torch.isfinite(w.detach()).flatten(1).all(1) for w in trained]).all(0)
        for w, t in zip(weights, trained, strict=True):
            w[alive[finite]] = t.detach()[finite]
        alive = alive[finite]
    losses = np.full(weights[0].shape[0], np.inf)
    if len(alive) > 0:
        losses[alive.numpy()] = _full_loss(x, y, [w[alive] for w in weights], spec).double().numpy()
    losses[~np.isfinite(losses)] = np.inf
    return losses, weights


def minibatch_loss(
    x: torch.Tensor, y: torch.Tensor, weights: Sequence[torch.Tensor], spec: NetworkSpec, batch_size: int
) -> np.ndarray:
    """Every seed's mean cross-entropy over the training set evaluated in mini-batches of ``batch_size`` (in the
    data's order, the last one possibly smaller), so that batch normalization uses each mini-batch's statistics,
    as SGD sees them; the official bngrad code reports this mean. ``inf`` for a seed whose loss is not finite.
    :func:`sgd` records the other reading, one forward pass over the whole set."""
    check_positive_int(batch_size, "batch_size")
    total = torch.zeros(weights[0].shape[0], dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits, _ = predict(x[start : start + batch_size], weights, spec)
            targets = y[start : start + batch_size].expand(logits.shape[0], -1)
            total += F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").double().sum(-1)
    losses = (total / len(x)).numpy()
    losses[~np.isfinite(losses)] = np.inf
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
    """``seeds`` MLPs initialised by ``spec`` (:func:`init_weights`: hidden layers by ``spec.init``,
    a Xavier readout), trained together by SGD for ``epochs`` epochs: :func:`sgd_to_budget`."""
    weights = init_weights(seeds, x.shape[-1], spec, generator, int(y.max()) + 1)
    return sgd_to_budget(x, y, weights, spec, epochs, generator, lr=lr, batch_size=batch_size)


TRAINING_OUTCOMES = ("trains", "fails", "undecided")


def training_outcomes(
    table: pd.DataFrame, threshold: float, by: Sequence[str] = ("run", "depth"), column: str = "loss"
) -> pd.DataFrame:
    """Whether each configuration trained within its budget, decided from the seeds' losses after it.

    One row per group of ``by``: the mean ``column`` over seeds and its 95% interval (``analysis.mean_ci``),
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


def best_step_outcomes(
    table: pd.DataFrame,
    threshold: float,
    by: Sequence[str] = ("run", "depth"),
    step: str = "lr",
    column: str = "loss",
) -> pd.DataFrame:
    """For each group of ``by``, the step size of a small grid (column ``step``) whose mean ``column`` over seeds
    is lowest, with that step's :func:`training_outcomes` row: every configuration gets its best step on the same
    budget, so that "fails" means "fails at its best step". A step at which some seed diverged has mean ``inf`` and
    is never best unless every step diverged, and then no step is best (``lr`` None: "no step trained");
    ``diverged_steps`` lists the steps at which a seed diverged ("did not train")."""
    if step not in table:
        raise ValueError(f"table must have the step column {step!r}; it has {sorted(table.columns)}")
    outcomes = training_outcomes(table, threshold, by=(*by, step), column=column)
    rows = []
    for _, group in outcomes.groupby(list(by), sort=False):
        best = group.iloc[int(np.argmin(group["mean"].to_numpy()))].to_dict()
        if not np.isfinite(best["mean"]):
            best[step] = None  # every step diverged somewhere: none is best
        diverged = sorted(group.loc[group["diverged"] > 0, step].tolist())
        rows.append({**best, "steps": sorted(group[step].tolist()), "diverged_steps": diverged})
    return pd.DataFrame(rows)


def loss_by_step(
    table: pd.DataFrame, group: str = "run", step: str = "lr", column: str = "loss"
) -> dict[str, dict[int, dict[float, dict[str, float]]]]:
    """A step scan's losses for a record: ``group`` value -> depth -> step -> mean and 95% interval over seeds
    (:func:`normprop.analysis.mean_ci`; ``inf`` where a seed diverged)."""
    losses: dict[str, dict[int, dict[float, dict[str, float]]]] = {}
    for (label, depth, lr), rows in table.groupby([group, "depth", step]):
        losses.setdefault(label, {}).setdefault(int(depth), {})[float(lr)] = mean_ci(rows[column]).as_record()
    return losses


def outcome_estimate(row: Any) -> Estimate:
    """A row of :func:`training_outcomes` or :func:`best_step_outcomes` (mean, low, high, seeds) as an Estimate."""
    return Estimate(float(row["mean"]), float(row["low"]), float(row["high"]), int(row["seeds"]))

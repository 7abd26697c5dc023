"""One definition of a network's layers, and random chains of them batched over seeds.

:class:`NetworkSpec` says what every hidden layer does (linear map and its init, normalisation, activation,
their order, a gain schedule). Random chains (:func:`propagate`, :func:`measure_chain`) draw the weights layer
by layer; gradient measurements and trained MLPs hold explicit weights and call :func:`forward`. All run the
same :func:`layer_stages`.

A chain maps an input batch ``x`` of shape ``(seeds, n, d_in)`` through ``depth`` random layers. All seeds
run as one batched matrix product: there is no Python loop over seeds and no ``nn.Module`` per run.
Randomness is drawn layer by layer from one explicit ``torch.Generator`` and dropped after use, so a chain
of any depth needs the memory of one layer.

When the batch is smaller than the layer (``n < d_in``) the chain never forms ``W``: it samples the
pre-activation ``Z = H W`` directly in the n-dimensional row space of H, which is exact in
distribution and costs ``n d`` random numbers instead of ``d^2`` (see :func:`sample_preactivation`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from normprop._validation import check_batch, check_choice, check_positive_int
from normprop.activations import Activation, resolve_activation

NORMS = ("batch", "layer", "none")
ORDERS = ("norm_act", "act_norm")
#: Weight initialisations. The first four are random and data-independent:
#: ``"gaussian"`` i.i.d. ``N(0, 1/d_in)`` (the theory papers), ``"orthogonal"`` Haar-distributed,
#: ``"xavier"`` ``N(0, 2/(d_in + d_out))`` and ``"he"`` ``N(0, 2/d_in)`` (the training papers' baselines).
#: ``"iterative_orthogonalization"`` is fitted to a batch of data, layer by layer (Daneshmand et al. 2021,
#: eq. 6; :func:`normprop.train.orthogonalizing_weight`), so only trained networks use it.
INITS = ("gaussian", "orthogonal", "xavier", "he", "iterative_orthogonalization")
RANDOM_INITS = INITS[:4]
NORM_SCALES = ("rms", "unit")

Gain = float | Callable[[int], float]


def power_law_gain(gamma: float) -> Callable[[int], float]:
    """Activation-shaping gain schedule ``alpha_l = (l + 1)^(-gamma)`` (Meterez et al. 2024, sec. 5)."""
    if gamma < 0:
        raise ValueError(f"gamma must be non-negative, got {gamma!r}")

    def gain(layer: int) -> float:
        return (layer + 1) ** (-gamma)

    gain.__name__ = f"power_law_gain(gamma={gamma})"
    return gain


@dataclass(frozen=True)
class NetworkSpec:
    """The one definition of a network's hidden layers, shared by random chains, gradients and training.

    Layer ``l`` (0-based) maps ``h`` to ``z = h @ W_l`` and then, for ``order="norm_act"``::

        h = activation(gain(l) * normalize(z))

    or, for ``order="act_norm"``, ``h = normalize(activation(gain(l) * z))``. Random chains
    (:func:`propagate`) draw ``W_l`` on the fly; gradients (:mod:`normprop.gradients`) and trained
    MLPs (:mod:`normprop.train`, which adds a linear readout) hold explicit weights and run the same
    layers through :func:`forward`.

    Attributes:
        width: features per hidden layer (``d``).
        depth: number of hidden layers.
        norm: ``"batch"`` normalises each feature over the samples (dim -2), ``"layer"`` each
            sample over its features (dim -1), ``"none"`` is a plain (vanilla) network.
        centering: subtract the mean before dividing by the norm (the theory papers do not;
            ``torch.nn.BatchNorm1d`` and ``LayerNorm`` do).
        norm_scale: ``"rms"`` scales each normalised vector to unit mean square (norm
            ``sqrt(count)``, torch's convention); ``"unit"`` to unit Euclidean norm.
        activation: a name from :data:`normprop.activations.ACTIVATIONS` or a callable.
        order: ``"norm_act"`` or ``"act_norm"`` (see above).
        gain: a constant or a schedule ``l -> alpha_l`` multiplying the activation's input.
        init: how the weights are drawn, one of :data:`INITS`.
    """

    width: int
    depth: int
    norm: str = "batch"
    centering: bool = False
    norm_scale: str = "rms"
    activation: Activation = "identity"
    order: str = "norm_act"
    gain: Gain = 1.0
    init: str = "gaussian"

    def __post_init__(self) -> None:
        check_positive_int(self.width, "width")
        check_positive_int(self.depth, "depth")
        check_choice(self.norm, "norm", NORMS)
        check_choice(self.order, "order", ORDERS)
        check_choice(self.init, "init", INITS)
        check_choice(self.norm_scale, "norm_scale", NORM_SCALES)
        resolve_activation(self.activation)
        if not callable(self.gain) and not (isinstance(self.gain, int | float) and math.isfinite(self.gain)):
            raise ValueError(f"gain must be a finite number or a callable layer -> gain, got {self.gain!r}")

    def gain_at(self, layer: int) -> float:
        return float(self.gain(layer)) if callable(self.gain) else float(self.gain)

    def with_changes(self, **changes: object) -> NetworkSpec:
        """A copy with some fields changed (validated like a new spec)."""
        return replace(self, **changes)


def haar_orthogonal(
    seeds: int, d_in: int, d_out: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Haar-distributed (semi-)orthogonal matrices of shape ``(seeds, d_in, d_out)``.

    QR of a Gaussian matrix with the signs of ``diag(R)`` moved into ``Q`` (Mezzadri 2007): without
    the sign correction ``Q`` is orthogonal but not Haar. Batched, unlike ``nn.init.orthogonal_``.
    """
    tall, short = max(d_in, d_out), min(d_in, d_out)
    a = torch.randn(seeds, tall, short, generator=generator, dtype=dtype, device=generator.device)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    return q if d_in >= d_out else q.mT


def weight_std(init: str, d_in: int, d_out: int) -> float:
    """Standard deviation of the entries of a Gaussian-family init (see :data:`INITS`)."""
    check_choice(init, "init", ("gaussian", "xavier", "he"))
    if init == "gaussian":
        return 1 / math.sqrt(d_in)
    return math.sqrt(2 / (d_in + d_out)) if init == "xavier" else math.sqrt(2 / d_in)


def sample_weights(
    seeds: int,
    d_in: int,
    d_out: int,
    init: str,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Weights ``(seeds, d_in, d_out)`` drawn from one of the random :data:`INITS`."""
    check_choice(init, "init", RANDOM_INITS)
    if init == "orthogonal":
        return haar_orthogonal(seeds, d_in, d_out, generator, dtype)
    w = torch.randn(seeds, d_in, d_out, generator=generator, dtype=dtype, device=generator.device)
    # Divide rather than multiply for "gaussian": the committed results were drawn this way, bit for bit.
    return w / math.sqrt(d_in) if init == "gaussian" else weight_std(init, d_in, d_out) * w


def normalize(z: torch.Tensor, norm: str, centering: bool = False, norm_scale: str = "rms") -> torch.Tensor:
    """Batch (``dim=-2``) or layer (``dim=-1``) normalisation without affine parameters.

    ``BN(z)[:, j] = (z[:, j] - c_j) / (||z[:, j] - c_j|| / s)`` with ``c_j`` the mean (if ``centering``)
    and ``s = sqrt(n)`` for ``norm_scale="rms"`` or 1 for ``"unit"``; LN is the same over rows.
    A feature that is identically zero (a dead ReLU unit) stays zero instead of becoming NaN.
    """
    check_choice(norm, "norm", NORMS)
    check_choice(norm_scale, "norm_scale", NORM_SCALES)
    if norm == "none":
        return z
    dim = -2 if norm == "batch" else -1
    if centering:
        z = z - z.mean(dim, keepdim=True)
    # square-sum-sqrt rather than linalg.vector_norm: ten times faster for small batched reductions on CPU.
    length = z.square().sum(dim, keepdim=True).sqrt()
    if norm_scale == "rms":
        length = length / math.sqrt(z.shape[dim])
    return z / length.clamp_min(torch.finfo(z.dtype).tiny)


def sample_preactivation(h: torch.Tensor, width: int, init: str, generator: torch.Generator) -> torch.Tensor:
    """``Z = H W`` for a fresh random ``W`` of shape ``(seeds, d_in, width)``, without forming W when n < d_in.

    Write ``H^T = Q R`` (thin QR, ``Q`` of shape ``d_in x n`` with orthonormal columns). Then ``Z = R^T (Q^T W)``
    and, because the law of W is invariant under rotations of its input space, ``Q^T W`` has a known law:

    * Gaussian-family W (i.i.d. entries of standard deviation s): ``Q^T W`` has i.i.d. ``N(0, s^2)`` entries.
    * Haar W with orthonormal rows (``d_in <= width``): ``Q^T W`` is a Haar n x width matrix with
      orthonormal rows, so ``Z Z^T = H H^T`` exactly, as for W itself.

    The result has exactly the distribution of ``h @ sample_weights(...)`` (not the same draws).
    Otherwise (``n >= d_in``, or a Haar W with ``d_in > width``) W is drawn explicitly.
    """
    check_choice(init, "init", RANDOM_INITS)
    seeds, n, d_in = h.shape
    row_space = n < d_in and (init != "orthogonal" or d_in <= width)
    if not row_space:
        return h @ sample_weights(seeds, d_in, width, init, generator, h.dtype)
    r = torch.linalg.qr(h.mT, mode="r").R  # (seeds, n, n): H H^T = R^T R
    if init == "orthogonal":
        projected = haar_orthogonal(seeds, n, width, generator, h.dtype)
    else:
        projected = torch.randn(seeds, n, width, generator=generator, dtype=h.dtype, device=h.device)
        projected = projected / math.sqrt(d_in) if init == "gaussian" else weight_std(init, d_in, width) * projected
    return r.mT @ projected


def layer_stages(z: torch.Tensor, spec: NetworkSpec, layer: int, uncentred: bool = False) -> tuple[torch.Tensor, ...]:
    """``(normalisation input, layer output)`` for the pre-activation ``z = h @ W_layer``.

    The first is the tensor that normalisation divides by its norms (after centering, if any): comparing
    its metrics with the output's isolates what normalisation does (Joudaki et al. 2023, sec. 4).
    With ``uncentred=True`` the result is ``(normalisation block input, normalisation input, layer output)``:
    the first is the same tensor before its mean is subtracted (``activation(gain * z)`` for ``"act_norm"``,
    ``z`` for ``"norm_act"``), which the official validation code of Joudaki et al. (2023) records as
    "pre_norm"; without centring it is the normalisation input itself.
    """
    activation = resolve_activation(spec.activation)
    gain = spec.gain_at(layer)
    # A gain of 1 is skipped: x * 1.0 == x exactly, and the multiplication cost 8-15% of a training step.
    scaled = (lambda t: t) if gain == 1.0 else (lambda t: gain * t)
    block_input = z if spec.order == "norm_act" else activation(scaled(z))
    before = block_input
    if spec.centering and spec.norm != "none":
        before = before - before.mean(-2 if spec.norm == "batch" else -1, keepdim=True)
    normalised = normalize(before, spec.norm, centering=False, norm_scale=spec.norm_scale)
    out = activation(scaled(normalised)) if spec.order == "norm_act" else normalised
    return (block_input, before, out) if uncentred else (before, out)


def activate(z: torch.Tensor, spec: NetworkSpec, layer: int) -> torch.Tensor:
    """Everything layer ``layer`` does after the matrix product: gain, normalisation and activation, in order."""
    return layer_stages(z, spec, layer)[1]


def forward(x: torch.Tensor, weights: Sequence[torch.Tensor], spec: NetworkSpec) -> torch.Tensor:
    """The hidden layers with explicit weights (one per layer, ``(seeds, d_in, d_out)`` or ``(d_in, d_out)``).

    Gradients and trained MLPs go through here; random chains draw the same layers on the fly.
    """
    h = x
    for layer, weight in enumerate(weights):
        h = activate(h @ weight, spec, layer)
    return h


def rescale_to_unit_rms(h: torch.Tensor) -> torch.Tensor:
    """Divide each network's batch by its overall RMS: a positive scalar per seed changes no direction.

    Long vanilla chains (``norm="none"``) would otherwise overflow or underflow; every scale-invariant
    metric is unaffected. Only random chains do this (a trained network is never rescaled).
    """
    rms = h.square().mean((-2, -1), keepdim=True).sqrt()
    return h / rms.clamp_min(torch.finfo(h.dtype).tiny)


def _check_chain(x: torch.Tensor, spec: NetworkSpec) -> None:
    check_batch(x, "x")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (seeds, n, d_in), got shape {tuple(x.shape)}")
    if spec.init not in RANDOM_INITS:
        raise ValueError(f"a random chain needs a random init ({', '.join(RANDOM_INITS)}), got {spec.init!r}")


def propagate_stages(
    x: torch.Tensor,
    spec: NetworkSpec,
    generator: torch.Generator,
    rescale_vanilla: bool = True,
    uncentred: bool = False,
) -> Iterator[tuple[int | torch.Tensor, ...]]:
    """Yield ``(layer, normalisation input, output)`` for layers ``1..depth`` of a random chain.

    Each layer's weights are drawn, used and dropped: memory does not grow with depth. See
    :func:`layer_stages` for the two tensors (three, with the tensor before centring first, for
    ``uncentred=True``) and :func:`rescale_to_unit_rms` for ``rescale_vanilla``.
    """
    _check_chain(x, spec)
    h = x
    for layer in range(spec.depth):
        *stages, h = layer_stages(sample_preactivation(h, spec.width, spec.init, generator), spec, layer, uncentred)
        if spec.norm == "none" and rescale_vanilla:
            h = rescale_to_unit_rms(h)
        yield layer + 1, *stages, h


def propagate(
    x: torch.Tensor, spec: NetworkSpec, generator: torch.Generator, every: int = 1, rescale_vanilla: bool = True
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(layer, h)`` for the input (layer 0) and every ``every``-th layer (and the last)."""
    _check_chain(x, spec)
    check_positive_int(every, "every")
    yield 0, x
    for layer, _, h in propagate_stages(x, spec, generator, rescale_vanilla):
        if layer % every == 0 or layer == spec.depth:
            yield layer, h


Metric = Callable[[torch.Tensor], torch.Tensor]


def measure_chain(
    x: torch.Tensor,
    spec: NetworkSpec,
    metrics: Mapping[str, Metric],
    generator: torch.Generator,
    every: int = 1,
    progress: bool = False,
    **labels: object,
) -> pd.DataFrame:
    """Run a random chain and return a tidy table with one row per (seed, recorded layer).

    Columns: ``seed``, ``layer``, one column per metric (each metric maps ``(seeds, n, d)`` to
    ``(seeds,)``), and one constant column per keyword in ``labels`` (for example ``width=32``)
    so that tables of several configurations can be concatenated and plotted with seaborn.
    Only the metrics are kept: activations are dropped layer by layer.
    """
    if not metrics:
        raise ValueError("metrics must name at least one metric")
    seeds = x.shape[0] if isinstance(x, torch.Tensor) and x.ndim == 3 else 0
    layers: list[int] = []
    values: dict[str, list[np.ndarray]] = {name: [] for name in metrics}
    stream = propagate(x, spec, generator, every)
    if progress:
        stream = tqdm(stream, total=spec.depth // every + 2, desc=f"depth {spec.depth}", leave=False)
    for layer, h in stream:
        layers.append(layer)
        for name, metric in metrics.items():
            values[name].append(metric(h).detach().cpu().numpy())
    table = pd.DataFrame(
        {
            "seed": np.tile(np.arange(seeds), len(layers)),
            "layer": np.repeat(layers, seeds),
            **{name: np.concatenate(column) for name, column in values.items()},
        }
    )
    for key, value in labels.items():
        table[key] = value
    return table


StageMetric = Callable[..., torch.Tensor]  # (normalisation input, output), or three tensors with uncentred=True


def measure_stages(
    x: torch.Tensor,
    spec: NetworkSpec,
    metrics: Mapping[str, StageMetric],
    generator: torch.Generator,
    uncentred: bool = False,
    **labels: object,
) -> pd.DataFrame:
    """Like :func:`measure_chain`, for metrics of both stages of every layer ``1..depth``.

    Each metric maps ``(normalisation input, layer output)`` (see :func:`layer_stages`) to ``(seeds,)``: what a
    normalisation layer does to a representation is measured on the two tensors around it. With
    ``uncentred=True`` each metric takes three tensors, ``(before centering, normalisation input, output)``.
    """
    if not metrics:
        raise ValueError("metrics must name at least one metric")
    rows = []
    for layer, *stages in propagate_stages(x, spec, generator, uncentred=uncentred):
        values = {name: metric(*stages).detach().cpu().numpy() for name, metric in metrics.items()}
        rows.append(pd.DataFrame({"seed": np.arange(x.shape[0]), "layer": layer, **values}))
    table = pd.concat(rows, ignore_index=True)
    for key, value in labels.items():
        table[key] = value
    return table

"""Random deep chains batched over seeds, with their per-layer metrics streamed into a table.

A chain maps an input batch ``x`` of shape ``(seeds, n, d_in)`` through ``depth`` random layers.
Layer ``l`` (0-based) computes ``z = h @ W_l`` with ``W_l`` of shape ``(seeds, d_in, width)`` and then,
for ``order="norm_act"`` (the theory papers' order)::

    h = activation(gain(l) * normalize(z))

or, for ``order="act_norm"``, ``h = normalize(activation(gain(l) * z))``. All seeds run as one batched
matrix product: there is no Python loop over seeds and no ``nn.Module`` per run. Randomness is drawn
layer by layer from one explicit ``torch.Generator`` and dropped after use, so a chain of any depth
needs the memory of one layer.

When the batch is smaller than the layer (``n < d_in``) the chain never forms ``W``: it samples the
pre-activation ``Z = H W`` directly in the n-dimensional row space of H, which is exact in
distribution and costs ``n d`` random numbers instead of ``d^2`` (see :func:`sample_preactivation`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from normprop._validation import check_batch, check_choice, check_positive_int
from normprop.activations import Activation, resolve_activation

NORMS = ("batch", "layer", "none")
ORDERS = ("norm_act", "act_norm")
INITS = ("gaussian", "orthogonal")
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
class ChainSpec:
    """What a random chain is; the seeds, input and generator are given when it runs.

    Attributes:
        width: features per hidden layer (``d``).
        depth: number of random layers.
        norm: ``"batch"`` normalises each feature over the samples (dim -2), ``"layer"`` each
            sample over its features (dim -1), ``"none"`` is the vanilla chain.
        centering: subtract the mean before dividing by the norm (the theory papers do not;
            ``torch.nn.BatchNorm1d`` does).
        activation: a name from :data:`normprop.activations.ACTIVATIONS` or a callable.
        order: ``"norm_act"`` or ``"act_norm"`` (see the module docstring).
        init: ``"gaussian"`` (i.i.d. ``N(0, 1/d_in)``) or ``"orthogonal"`` (Haar).
        gain: a constant or a schedule ``l -> alpha_l`` multiplying the activation's input.
        norm_scale: ``"rms"`` scales each normalised vector to unit mean square (norm
            ``sqrt(count)``, torch's convention); ``"unit"`` to unit Euclidean norm.
        rescale_vanilla: for ``norm="none"``, divide each layer by its overall RMS so that long
            chains neither overflow nor underflow. A positive scalar per seed changes no
            direction, so every scale-invariant metric is unaffected.
    """

    width: int
    depth: int
    norm: str = "batch"
    centering: bool = False
    activation: Activation = "identity"
    order: str = "norm_act"
    init: str = "gaussian"
    gain: Gain = 1.0
    norm_scale: str = "rms"
    rescale_vanilla: bool = True

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


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """An explicit generator: every random draw in normprop takes one, never the global state."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return torch.Generator(device=device).manual_seed(seed)


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


def sample_weights(
    seeds: int,
    d_in: int,
    d_out: int,
    init: str,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Weights ``(seeds, d_in, d_out)``: ``"gaussian"`` i.i.d. ``N(0, 1/d_in)`` or ``"orthogonal"`` Haar."""
    check_choice(init, "init", INITS)
    if init == "orthogonal":
        return haar_orthogonal(seeds, d_in, d_out, generator, dtype)
    w = torch.randn(seeds, d_in, d_out, generator=generator, dtype=dtype, device=generator.device)
    return w / math.sqrt(d_in)


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

    * Gaussian W, entries ``N(0, 1/d_in)``: ``Q^T W`` has i.i.d. ``N(0, 1/d_in)`` entries (n x width).
    * Haar W with orthonormal rows (``d_in <= width``): ``Q^T W`` is a Haar n x width matrix with
      orthonormal rows, so ``Z Z^T = H H^T`` exactly, as for W itself.

    The result has exactly the distribution of ``h @ sample_weights(...)`` (not the same draws).
    Otherwise (``n >= d_in``, or a Haar W with ``d_in > width``) W is drawn explicitly.
    """
    seeds, n, d_in = h.shape
    row_space = n < d_in and (init == "gaussian" or d_in <= width)
    if not row_space:
        return h @ sample_weights(seeds, d_in, width, init, generator, h.dtype)
    r = torch.linalg.qr(h.mT, mode="r").R  # (seeds, n, n): H H^T = R^T R
    if init == "gaussian":
        projected = torch.randn(seeds, n, width, generator=generator, dtype=h.dtype, device=h.device)
        projected = projected / math.sqrt(d_in)
    else:
        projected = haar_orthogonal(seeds, n, width, generator, h.dtype)
    return r.mT @ projected


def apply_layer(h: torch.Tensor, weight: torch.Tensor, spec: ChainSpec, layer: int) -> torch.Tensor:
    """One layer of the chain (see the module docstring for the formula)."""
    return activate(h @ weight, spec, layer)


def activate(z: torch.Tensor, spec: ChainSpec, layer: int) -> torch.Tensor:
    """Everything a layer does after the matrix product: gain, normalisation and activation, in order."""
    return layer_stages(z, spec, layer)[1]


def layer_stages(z: torch.Tensor, spec: ChainSpec, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(normalisation input, layer output)`` for the pre-activation z.

    The first is the tensor that normalisation divides by its norms (after centering, if any): comparing
    its metrics with the output's isolates what normalisation does (Joudaki et al. 2023, sec. 4).
    """
    activation = resolve_activation(spec.activation)
    gain = spec.gain_at(layer)
    before = z if spec.order == "norm_act" else activation(gain * z)
    if spec.centering and spec.norm != "none":
        before = before - before.mean(-2 if spec.norm == "batch" else -1, keepdim=True)
    normalised = normalize(before, spec.norm, centering=False, norm_scale=spec.norm_scale)
    out = activation(gain * normalised) if spec.order == "norm_act" else normalised
    if spec.norm == "none" and spec.rescale_vanilla:
        rms = out.square().mean((-2, -1), keepdim=True).sqrt()
        out = out / rms.clamp_min(torch.finfo(out.dtype).tiny)
    return before, out


def propagate(
    x: torch.Tensor, spec: ChainSpec, generator: torch.Generator, every: int = 1
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(layer, h)`` for the input (layer 0) and every ``every``-th layer (and the last).

    Each layer's weights are drawn, used and dropped: memory does not grow with depth.
    """
    check_batch(x, "x")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (seeds, n, d_in), got shape {tuple(x.shape)}")
    check_positive_int(every, "every")
    yield 0, x
    h = x
    for layer in range(spec.depth):
        h = activate(sample_preactivation(h, spec.width, spec.init, generator), spec, layer)
        if (layer + 1) % every == 0 or layer + 1 == spec.depth:
            yield layer + 1, h


Metric = Callable[[torch.Tensor], torch.Tensor]


def measure_chain(
    x: torch.Tensor,
    spec: ChainSpec,
    metrics: Mapping[str, Metric],
    generator: torch.Generator,
    every: int = 1,
    progress: bool = False,
    **labels: object,
) -> pd.DataFrame:
    """Run the chain and return a tidy table with one row per (seed, recorded layer).

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

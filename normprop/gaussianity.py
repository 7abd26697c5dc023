"""How far a law is from a Gaussian: the maximum mean discrepancy (MMD) with a Gaussian kernel.

For laws P and Q on ``R^p`` and the kernel ``k(x, y) = exp(-||x - y||^2 / (2 s^2))`` (bandwidth ``s``),

    MMD^2(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y),    x, x' ~ P and y, y' ~ Q, all independent

(Gretton, Borgwardt, Rasch, Schoelkopf, Smola, *A Kernel Two-Sample Test*, JMLR 13, 2012). The Gaussian
kernel is characteristic: ``MMD(P, Q) = 0`` iff ``P = Q``. Two estimators, both unbiased:

* :func:`mmd2_unbiased` (and :func:`mmd2_to_gaussian`, against a sample drawn from the Gaussian): the
  U-statistic of two samples (Gretton et al. 2012, Lemma 6). Its mean is exactly 0 when both samples come
  from one law, but its spread at m samples is of order ``1/m``: :func:`null_mmd2_to_gaussian` gives that
  null distribution, the baseline below which a measured value means nothing.
* :func:`mixture_mmd2_to_gaussian`, for a law that is a mixture of centred Gaussians, ``P = E_M N(0, M)``
  with a random covariance M, from independent draws of M. This is the law of a pre-activation row of a
  random network: given the representation ``h`` (n x d), the row ``z = w h^T`` with ``w ~ N(0, I_d / d)`` is
  exactly ``N(0, h h^T / d)``, and the law of z over all the random weights mixes these. The estimator is
  the conditional expectation of :func:`mmd2_to_gaussian` given the drawn covariances, in closed form
  (:func:`gaussian_kernel_mean`): the same mean, with the noise of sampling z given M integrated out
  (Rao-Blackwell), so a far smaller spread.

Everything computes in float64 and broadcasts over leading dimensions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from normprop import metrics, nets
from normprop._validation import check_batch, check_positive_int

_FLOAT64 = torch.float64


def _check_bandwidth(bandwidth: float) -> float:
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float) or not (0 < bandwidth < math.inf):
        raise ValueError(f"bandwidth must be a positive finite number, got {bandwidth!r}")
    return float(bandwidth)


def _check_samples(x: torch.Tensor, name: str) -> torch.Tensor:
    check_batch(x, name)
    if x.shape[-2] < 2:
        raise ValueError(f"{name} needs at least 2 samples (rows) for an unbiased estimate, got shape {tuple(x.shape)}")
    return x.to(_FLOAT64)


def _check_covariance(covariance: torch.Tensor, name: str, dim: int | None = None) -> torch.Tensor:
    check_batch(covariance, name)
    if covariance.shape[-1] != covariance.shape[-2]:
        raise ValueError(f"{name} must have shape (..., p, p), got shape {tuple(covariance.shape)}")
    if dim is not None and covariance.shape[-1] != dim:
        raise ValueError(f"{name} must be {dim} x {dim} to match the samples, got shape {tuple(covariance.shape)}")
    covariance = covariance.to(_FLOAT64)
    if not torch.allclose(covariance, covariance.mT, rtol=1e-10, atol=1e-12 * float(covariance.abs().max())):
        raise ValueError(f"{name} must be symmetric")
    return covariance


def _off_diagonal_mean(k: torch.Tensor) -> torch.Tensor:
    m = k.shape[-1]
    return (k.sum((-2, -1)) - torch.diagonal(k, dim1=-2, dim2=-1).sum(-1)) / (m * (m - 1))


def gaussian_kernel_matrix(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 1.0) -> torch.Tensor:
    """``k(x_i, y_j) = exp(-||x_i - y_j||^2 / (2 s^2))`` for samples ``x (..., m, p)`` and ``y (..., m', p)``."""
    bandwidth = _check_bandwidth(bandwidth)
    x64, y64 = check_batch(x, "x").to(_FLOAT64), check_batch(y, "y").to(_FLOAT64)
    if x64.shape[-1] != y64.shape[-1]:
        raise ValueError(f"x and y must have the same dimension p, got {x64.shape[-1]} and {y64.shape[-1]}")
    # |a|^2 + |b|^2 - 2 a.b: no (m, m', p) tensor of differences. In float64 its cancellation error (1e-16 |a|^2)
    # is far below anything an MMD estimate resolves; the clamp removes round-off below zero.
    squared = x64.square().sum(-1)[..., :, None] + y64.square().sum(-1)[..., None, :] - 2 * x64 @ y64.mT
    return torch.exp(-squared.clamp_min(0) / (2 * bandwidth**2))


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 1.0) -> torch.Tensor:
    """The unbiased estimate of ``MMD^2`` between the laws of two samples (Gretton et al. 2012, Lemma 6).

    ``x (..., m, p)`` and ``y (..., m', p)``, ``m, m' >= 2``, each a sample of independent draws; returns ``(...)``.
    The within-sample means leave out the diagonal ``k(x_i, x_i)``, so the expectation is exactly ``MMD^2``: 0 when
    both laws agree, whence values of either sign around 0. Symmetric in x and y; invariant to permuting the
    rows of either sample and to a rotation or translation applied to both.
    """
    x64, y64 = _check_samples(x, "x"), _check_samples(y, "y")
    within_x = _off_diagonal_mean(gaussian_kernel_matrix(x64, x64, bandwidth))
    within_y = _off_diagonal_mean(gaussian_kernel_matrix(y64, y64, bandwidth))
    between = gaussian_kernel_matrix(x64, y64, bandwidth).mean((-2, -1))
    return within_x + within_y - 2 * between


def _reference(covariance: torch.Tensor | None, dim: int, device: torch.device) -> torch.Tensor:
    """The reference Gaussian's covariance: one ``(p, p)`` matrix, the identity by default."""
    if covariance is None:
        return torch.eye(dim, dtype=_FLOAT64, device=device)
    if isinstance(covariance, torch.Tensor) and covariance.ndim != 2:
        raise ValueError(f"covariance must be one p x p matrix, got shape {tuple(covariance.shape)}")
    return _check_covariance(covariance, "covariance", dim)


def _gaussian_sample(
    shape: tuple[int, ...], covariance: torch.Tensor, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    noise = torch.randn(shape, generator=generator, dtype=_FLOAT64, device=device)
    # A square root by eigendecomposition (not Cholesky): it accepts a singular covariance.
    eigenvalues, vectors = torch.linalg.eigh(covariance)
    root = vectors * eigenvalues.clamp_min(0).sqrt().unsqueeze(-2)
    return noise @ root.mT


def mmd2_to_gaussian(
    x: torch.Tensor,
    generator: torch.Generator,
    covariance: torch.Tensor | None = None,
    bandwidth: float = 1.0,
) -> torch.Tensor:
    """Unbiased ``MMD^2`` between the law of the sample ``x (..., m, p)`` and ``N(0, covariance)`` (default I).

    The Gaussian enters through an equal-size sample drawn from it (``generator``), so the estimate has the
    spread of a two-sample statistic; compare it with :func:`null_mmd2_to_gaussian` at the same ``m``.
    """
    x64 = _check_samples(x, "x")
    reference = _reference(covariance, x64.shape[-1], x64.device)
    return mmd2_unbiased(x64, _gaussian_sample(tuple(x64.shape), reference, generator, x64.device), bandwidth)


def null_mmd2_to_gaussian(
    samples: int,
    dim: int,
    replicates: int,
    generator: torch.Generator,
    covariance: torch.Tensor | None = None,
    bandwidth: float = 1.0,
) -> torch.Tensor:
    """:func:`mmd2_to_gaussian` of ``replicates`` samples drawn from the Gaussian itself, shape ``(replicates,)``.

    The null distribution of the estimator at this sample size (mean 0, spread of order ``1/samples``): a
    measured value inside it is indistinguishable from a Gaussian law with ``samples`` draws.
    """
    for value, name in ((samples, "samples"), (dim, "dim"), (replicates, "replicates")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    device = generator.device
    reference = _reference(covariance, dim, device)
    x = _gaussian_sample((replicates, samples, dim), reference, generator, device)
    return mmd2_to_gaussian(x, generator, reference, bandwidth)


def gaussian_kernel_mean(a: torch.Tensor, b: torch.Tensor, bandwidth: float = 1.0) -> torch.Tensor:
    """``E k(x, y)`` for independent ``x ~ N(0, A)`` and ``y ~ N(0, B)``: ``det(I + (A + B) / s^2)^(-1/2)``.

    (``x - y ~ N(0, A + B)``, and ``E exp(-|u|^2 / (2 s^2)) = det(I + C / s^2)^(-1/2)`` for ``u ~ N(0, C)``.) A and
    B are covariances ``(..., p, p)`` (positive semi-definite), broadcast against each other.
    """
    bandwidth = _check_bandwidth(bandwidth)
    a64, b64 = _check_covariance(a, "a"), _check_covariance(b, "b")
    if a64.shape[-1] != b64.shape[-1]:
        raise ValueError(f"a and b must have the same size p, got {a64.shape[-1]} and {b64.shape[-1]}")
    return _kernel_mean(a64, b64, bandwidth)


def _kernel_mean(a: torch.Tensor, b: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """:func:`gaussian_kernel_mean` of checked float64 covariances (the pair sums call it unchecked)."""
    matrix = (a + b).div_(bandwidth**2)
    matrix.diagonal(dim1=-2, dim2=-1).add_(1.0)  # in place: the pair sums are the bulk of the work
    factor, info = torch.linalg.cholesky_ex(matrix)
    if bool((info != 0).any()):
        raise ValueError("a + b must be positive semi-definite (covariances)")
    return torch.exp(-torch.diagonal(factor, dim1=-2, dim2=-1).log().sum(-1))


def mixture_mmd2_to_gaussian(
    covariances: torch.Tensor, covariance: torch.Tensor | None = None, bandwidth: float = 1.0
) -> torch.Tensor:
    """Unbiased ``MMD^2`` between the Gaussian mixture ``E_M N(0, M)`` and ``N(0, covariance)`` (default I).

    ``covariances (..., S, p, p)``, ``S >= 2``: independent draws ``M_1..M_S`` of the random covariance. The
    estimate is the U-statistic

        1/(S(S-1)) sum_{i != j} K(M_i, M_j) - 2/S sum_i K(M_i, C) + K(C, C),   K = gaussian_kernel_mean,

    which is the conditional expectation, given ``M_1..M_S``, of :func:`mmd2_to_gaussian` applied to one draw
    ``z_i ~ N(0, M_i)`` per covariance: unbiased for the same ``MMD^2``, with a smaller spread. Zero when every
    ``M_i`` equals ``covariance``; unchanged when every covariance (and the reference) is conjugated by one
    orthogonal matrix, or when the draws are permuted. Returns ``(...)``.
    """
    draws = _check_covariance(covariances, "covariances")
    if draws.ndim < 3 or draws.shape[-3] < 2:
        raise ValueError(f"covariances must have shape (..., S, p, p) with S >= 2 draws, got {tuple(draws.shape)}")
    bandwidth = _check_bandwidth(bandwidth)
    count, dim = draws.shape[-3], draws.shape[-1]
    reference = _reference(covariance, dim, draws.device)
    leading = draws.shape[:-3]
    flat = draws.reshape(-1, count, dim, dim)
    first, second = torch.triu_indices(count, count, offset=1, device=draws.device)
    # One leading index at a time: the S(S-1)/2 pair sums of one set of draws fit in memory, all of them may not.
    pairs = torch.stack([_kernel_mean(one[first], one[second], bandwidth).mean() for one in flat])
    cross = _kernel_mean(flat, reference, bandwidth).mean(-1)
    result = pairs - 2 * cross + _kernel_mean(reference, reference, bandwidth)
    return result.reshape(leading)


def covariance_offset2(covariances: torch.Tensor, covariance: torch.Tensor | None = None) -> torch.Tensor:
    """Unbiased estimate of ``||E M - C||_F^2`` from independent draws ``covariances (..., S, p, p)`` of M.

    The U-statistic ``1/(S(S-1)) sum_{i != j} <M_i - C, M_j - C>_F``: the plug-in ``||mean(M) - C||_F^2`` would add
    the sampling variance of the mean, ``tr Cov(M) / S``, which is what is left when ``E M = C`` exactly. ``C`` is
    ``covariance`` (default I). Returns ``(...)``; values of either sign around 0 when ``E M = C``.
    """
    draws = _check_covariance(covariances, "covariances")
    if draws.ndim < 3 or draws.shape[-3] < 2:
        raise ValueError(f"covariances must have shape (..., S, p, p) with S >= 2 draws, got {tuple(draws.shape)}")
    count = draws.shape[-3]
    offsets = draws - _reference(covariance, draws.shape[-1], draws.device)
    total = offsets.sum(-3).square().sum((-2, -1))
    own = offsets.square().sum((-3, -2, -1))
    return (total - own) / (count * (count - 1))


def measure_preactivation_law(
    x: torch.Tensor,
    spec: nets.NetworkSpec,
    generator: torch.Generator,
    groups: int,
    every: int = 1,
    covariance: torch.Tensor | None = None,
    bandwidth: float = 1.0,
    **labels: object,
) -> pd.DataFrame:
    """How far the law of a pre-activation row is from ``N(0, covariance)`` (default I), layer by layer.

    ``x (networks, n, d)`` holds each network's input (repeat one batch to fix it); the ``networks`` independent
    random chains of ``spec`` are split into ``groups`` groups of equal size S. At layer 0 and every ``every``-th
    layer, each network's pre-activation row ``z = w h^T`` (``w ~ N(0, I_d / d)``) is ``N(0, M)`` with
    ``M = h h^T / d``; over the networks of a group this is S draws from the law of z. Columns: ``seed`` (the
    group: groups are independent, so their spread is the estimate's own), ``layer``, ``mmd2``
    (:func:`mixture_mmd2_to_gaussian` of the group's M), ``mmd2_sample`` (:func:`mmd2_to_gaussian` of one z
    drawn per network), ``covariance_offset2`` (:func:`covariance_offset2`: how far the law's covariance ``E M``
    is from the reference), plus one constant column per keyword in ``labels``.
    """
    check_batch(x, "x")
    check_positive_int(groups, "groups")
    if x.ndim != 3 or x.shape[0] % groups or x.shape[0] // groups < 2:
        raise ValueError(
            f"x must have shape (networks, n, d) with networks a multiple of groups (>= 2 each), got "
            f"shape {tuple(x.shape)} for groups = {groups}"
        )
    size, n = x.shape[0] // groups, x.shape[1]
    rows = []
    for layer, h in nets.propagate(x, spec, generator, every):
        m = (metrics.gram(h) / h.shape[-1]).reshape(groups, size, n, n)
        z = nets.sample_preactivation(h, 1, "gaussian", generator)[..., 0].reshape(groups, size, n)
        rows.append(
            {
                "seed": np.arange(groups),
                "layer": layer,
                "mmd2": mixture_mmd2_to_gaussian(m, covariance, bandwidth).cpu().numpy(),
                "mmd2_sample": mmd2_to_gaussian(z, generator, covariance, bandwidth).cpu().numpy(),
                "covariance_offset2": covariance_offset2(m, covariance).cpu().numpy(),
            }
        )
    table = pd.concat([pd.DataFrame(row) for row in rows], ignore_index=True)
    for key, value in labels.items():
        table[key] = value
    return table

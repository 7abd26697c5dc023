"""Metrics of a batch of representations ``h`` of shape ``(..., n, d)``: n samples by d features.

Every metric here

* takes float32 or float64 input and computes in float64 (a float32 Gram matrix of an
  ill-conditioned batch has negative eigenvalues);
* broadcasts over the leading dimensions (seeds, configurations) and returns a tensor of shape
  ``(...)``;
* raises a one-line ``ValueError`` for input that is not a finite ``(..., n, d)`` tensor.

The Gram matrix is the ``n x n`` sample Gram ``G = h @ h.mT``.
"""

from __future__ import annotations

import math

import scipy.linalg
import torch

from normprop._validation import check_batch

_FLOAT64 = torch.float64


def gram(h: torch.Tensor) -> torch.Tensor:
    """The sample Gram matrix ``G = h h^T`` of shape ``(..., n, n)``, in float64."""
    h64 = check_batch(h).to(_FLOAT64)
    return h64 @ h64.mT


def _rescaled(h: torch.Tensor) -> torch.Tensor:
    """h in float64, divided by the power of two nearest its largest entry (per batch).

    For the scale-invariant metrics: squaring a batch of entries near 1e200 overflows and near 1e-200
    underflows, while a power-of-two factor is exact in floating point, so it changes nothing else.
    """
    h64 = check_batch(h).to(_FLOAT64)
    _, exponent = torch.frexp(h64.abs().amax((-2, -1), keepdim=True))
    return torch.ldexp(h64, -exponent)


def _check_nonzero(squared_norm: torch.Tensor, name: str = "h") -> None:
    if bool((squared_norm <= 0).any()):
        raise ValueError(f"{name} has a batch that is identically zero; the metric is undefined for it")


def orthogonality_gap(h: torch.Tensor) -> torch.Tensor:
    """Orthogonality gap ``V(h) = || G / ||h||_F^2 - I_n / n ||_F`` (Daneshmand et al. 2021, eq. 2).

    Zero iff the n rows are orthogonal with equal norms; maximal, ``sqrt(1 - 1/n)``, iff h has
    rank one. Invariant to scaling h and to ``h -> h @ Q`` for orthogonal Q.
    """
    g = gram(_rescaled(h))
    n = g.shape[-1]
    squared_norm = torch.diagonal(g, dim1=-2, dim2=-1).sum(-1)
    _check_nonzero(squared_norm)
    eye = torch.eye(n, dtype=_FLOAT64, device=g.device)
    return torch.linalg.matrix_norm(g / squared_norm[..., None, None] - eye / n)


def _log_det_and_trace(g: torch.Tensor, features: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``log det G`` (``-inf`` where G is numerically singular) and ``tr G`` of PSD Grams in float64.

    A Cholesky factorisation gives the log-determinant at a third of the cost of an
    eigendecomposition. A rank-deficient Gram still factors, with round-off-sized pivots: forming
    ``G = h h^T`` sums ``d`` products per entry, and the factorisation adds an error of order
    ``n * eps * ||G||_2``. A Gram whose smallest pivot is below ``max(n, d) * eps * tr G`` (the trace
    bounds ``||G||_2``) is called singular, and so is every Gram with more samples than features.
    """
    n = g.shape[-1]
    trace = torch.diagonal(g, dim1=-2, dim2=-1).sum(-1)
    factor, info = torch.linalg.cholesky_ex(g)
    pivots = torch.diagonal(factor, dim1=-2, dim2=-1) ** 2
    tolerance = max(n, features) * torch.finfo(_FLOAT64).eps * trace
    singular = (info != 0) | (pivots.amin(-1) <= tolerance) | (n > features)
    log_det = torch.where(singular, torch.full_like(trace, -math.inf), pivots.clamp_min(1e-300).log().sum(-1))
    return log_det, trace


def isometry_gap(h: torch.Tensor) -> torch.Tensor:
    """Isometry gap ``phi = -log I(G) = log(tr G / n) - (1/n) log det G`` (Joudaki et al. 2023, eq. 3).

    ``I(G) = det(G)^(1/n) / (tr(G)/n)`` is the ratio of the geometric to the arithmetic mean of the
    eigenvalues of the sample Gram. ``phi >= 0``, ``phi = 0`` iff G is a multiple of the identity,
    and ``phi = inf`` for a rank-deficient batch (for example ``n > d``). Scale invariant.
    """
    g = gram(_rescaled(h))
    n = g.shape[-1]
    log_det, trace = _log_det_and_trace(g, h.shape[-1])
    _check_nonzero(trace)
    gap = torch.log(trace / n) - log_det / n
    # Round-off can make a perfect isometry come out at -1e-16; the gap is non-negative by AM-GM.
    return gap.clamp_min(0.0)


def isometry_gap_from_eigenvalues(h: torch.Tensor) -> torch.Tensor:
    """:func:`isometry_gap` by an eigendecomposition of the Gram: ``log mean(eig) - mean(log eig)``.

    An independent code path (three times the cost of the Cholesky one) for cross-checks. Eigenvalues
    are only known to about ``eps * lambda_max``, so for a condition number ``kappa`` the result carries an
    error of about ``kappa * eps``; a zero or negative eigenvalue gives ``inf``.
    """
    eigenvalues = torch.linalg.eigvalsh(gram(_rescaled(h))).clamp_min(0)
    return eigenvalues.mean(-1).log() - eigenvalues.log().mean(-1)


def condition_number(h: torch.Tensor) -> torch.Tensor:
    """``lambda_max / lambda_min`` of the sample Gram (``inf`` when it is singular to working precision)."""
    eigenvalues = torch.linalg.eigvalsh(gram(_rescaled(h)))
    return eigenvalues[..., -1] / eigenvalues[..., 0].clamp_min(0)


def max_entropy(n: int) -> float:
    """``(n/2) log(2 pi e)``: the largest proxy entropy of n samples whose covariance has ``tr M = n``."""
    return 0.5 * n * math.log(2 * math.pi * math.e)


def entropy(h: torch.Tensor, unit_trace: bool = False) -> torch.Tensor:
    """Gaussian-proxy entropy of the representation (Joudaki, Daneshmand, Bach 2022 v1, reconstruction).

    A pre-activation row ``z = w @ h^T`` with ``w ~ N(0, I_d / d)`` is Gaussian with covariance
    ``M = G / d``, so its differential entropy is ``(n/2) log(2 pi e) + (1/2) log det M``.
    With ``unit_trace=True``, h is first rescaled so that ``tr M = n`` (average feature variance one),
    which makes the entropy scale-free: then ``entropy = max_entropy(n) - entropy_deficit(h)``.
    ``-inf`` when the Gram is singular (never NaN).
    """
    g = gram(h)
    n, d = g.shape[-1], h.shape[-1]
    log_det, trace = _log_det_and_trace(g, d)
    if unit_trace:
        _check_nonzero(trace)
        log_det = log_det - n * torch.log(trace / (n * d))
    return max_entropy(n) + 0.5 * (log_det - n * math.log(d))


def entropy_deficit(h: torch.Tensor) -> torch.Tensor:
    """Entropy deficit from the maximum at equal total variance: ``h_max - h = (n/2) * phi``.

    With the covariance rescaled so that ``tr M = n``, the entropy is maximal, ``(n/2) log(2 pi e)``,
    at ``M = I``; the deficit is exactly ``n/2`` times the :func:`isometry_gap`. ``inf`` when singular.
    """
    return 0.5 * check_batch(h).shape[-2] * isometry_gap(h)


def project_out_mean(h: torch.Tensor) -> torch.Tensor:
    """Coordinates of the batch in the complement of the all-ones sample vector: ``P^T h``, ``(..., n - 1, d)``.

    ``P`` is the ``n x (n - 1)`` Helmert basis (orthonormal columns orthogonal to ``1_n``). Mean-centred batch
    norm makes every feature sum to zero over the batch, so ``G 1 = 0`` and the full Gram is singular
    (entropy ``-inf`` whatever the depth). The Gram of ``P^T h`` is ``P^T G P``: the same matrix restricted to
    the subspace where the representation lives, with no eigenvalue dropped but the structural zero.
    """
    n = check_batch(h).shape[-2]
    if n < 2:
        raise ValueError(f"h needs at least 2 samples to project out the mean, got n = {n}")
    basis = torch.from_numpy(scipy.linalg.helmert(n)).to(dtype=h.dtype, device=h.device)  # (n - 1, n)
    return basis @ h


def stable_rank(h: torch.Tensor) -> torch.Tensor:
    """Stable rank ``r(G) = tr(G)^2 / ||G||_F^2``, a tolerance-free lower bound on the rank.

    Computed from the smaller of the two Grams ``h h^T`` and ``h^T h``, which share their non-zero
    eigenvalues, so the cost is ``min(n, d)^2 max(n, d)``.
    """
    h64 = _rescaled(h)
    small = h64 @ h64.mT if h64.shape[-2] <= h64.shape[-1] else h64.mT @ h64
    trace = torch.diagonal(small, dim1=-2, dim2=-1).sum(-1)
    _check_nonzero(trace)
    return trace**2 / torch.linalg.matrix_norm(small) ** 2


def numerical_rank(h: torch.Tensor, rtol: float | None = None, precision: torch.dtype = torch.float64) -> torch.Tensor:
    """Number of singular values of h above ``rtol * s_max`` (computed in float64).

    ``precision`` is the dtype whose round-off sets the default tolerance,
    ``rtol = max(n, d) * eps(precision)``: pass ``torch.float32`` for a network that ran in float32,
    whose singular values below ``1e-7 * s_max`` are round-off, not signal.
    """
    h64 = check_batch(h).to(_FLOAT64)
    if rtol is None:
        rtol = max(h64.shape[-2:]) * torch.finfo(precision).eps
    if not 0.0 <= rtol < 1.0:
        raise ValueError(f"rtol must lie in [0, 1), got {rtol!r}")
    singular_values = torch.linalg.svdvals(h64)
    return (singular_values > rtol * singular_values[..., :1]).sum(-1)


def cosine(h: torch.Tensor) -> torch.Tensor:
    """Matrix of cosine similarities ``<h_i, h_j> / (|h_i| |h_j|)`` of shape ``(..., n, n)``, in float64."""
    g = gram(_rescaled(h))
    norms = torch.diagonal(g, dim1=-2, dim2=-1).sqrt()
    if bool((norms <= 0).any()):
        raise ValueError("h has a sample that is identically zero; its cosine is undefined")
    return g / (norms[..., :, None] * norms[..., None, :])


def abs_cosine(h: torch.Tensor) -> torch.Tensor:
    """Matrix of absolute cosine similarities ``|<h_i, h_j>| / (|h_i| |h_j|)`` of shape ``(..., n, n)``."""
    return cosine(h).abs()


def mean_abs_cosine(h: torch.Tensor) -> torch.Tensor:
    """Mean ``|cos|`` over the ``n (n - 1) / 2`` distinct sample pairs; needs ``n >= 2``."""
    n = check_batch(h).shape[-2]
    if n < 2:
        raise ValueError(f"h needs at least 2 samples for a pairwise cosine, got n = {n}")
    cos = abs_cosine(h)
    off_diagonal = cos.sum((-2, -1)) - torch.diagonal(cos, dim1=-2, dim2=-1).sum(-1)
    return off_diagonal / (n * (n - 1))


def correlation_potential(h: torch.Tensor) -> torch.Tensor:
    """Potential ``gamma = max_{i != j} |C_ij| / (1 - |C_ij|)`` of the sample correlation matrix C.

    C is the Gram of the rows scaled to unit norm (the cosines). Joudaki et al. (2023, thm. 1) bound its
    mean-field evolution by ``gamma_l <= gamma_0 * beta_sigma^(-l)``. ``inf`` when two samples are collinear.
    """
    cos = abs_cosine(h)
    n = cos.shape[-1]
    if n < 2:
        raise ValueError(f"h needs at least 2 samples for a correlation potential, got n = {n}")
    off_diagonal = cos.masked_fill(torch.eye(n, dtype=torch.bool, device=cos.device), 0.0).amax((-2, -1))
    return torch.where(off_diagonal < 1, off_diagonal / (1 - off_diagonal), torch.full_like(off_diagonal, math.inf))


def row_norm_gap(h: torch.Tensor) -> torch.Tensor:
    """``log AM(a^2) - log GM(a^2)`` of the squared row norms ``a_i^2``: what normalising the rows gains.

    Layer normalisation divides each row by its norm, and (Joudaki et al. 2023, lemma on normalisation)
    ``I(C) = I(G) * AM(a^2) / GM(a^2)``, i.e. ``isometry_gap(h) - isometry_gap(rows of h normalised)
    = row_norm_gap(h) >= 0``: normalisation never decreases isometry.
    """
    squared = _rescaled(h).square().sum(-1)
    _check_nonzero(squared.amin(-1))
    return torch.log(squared.mean(-1)) - squared.log().mean(-1)

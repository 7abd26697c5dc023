"""Hermite theory of activations (Joudaki, Daneshmand, Bach, NeurIPS 2023, arXiv:2305.18399).

For ``X ~ N(0, 1)`` and the normalised probabilists' Hermite polynomials ``he_k = He_k / sqrt(k!)``
(an orthonormal basis of ``L^2(N(0, 1))``), an activation expands as ``sigma = sum_k c_k he_k`` with

    c_k = E[sigma(X) he_k(X)].

Everything here is a deterministic quadrature, never Monte Carlo:

* **smooth activations**: Gauss-Hermite nodes for the weight ``exp(-x^2/2)``
  (``numpy.polynomial.hermite_e.hermegauss``), which converge exponentially fast;
* **activations with kinks** (ReLU, leaky ReLU, centred ReLU, or any callable given ``breakpoints``):
  Gauss-Hermite converges only algebraically across a kink, so the line is split at the kinks and
  each piece, truncated at ``|x| = 40`` where the Gaussian weight is below ``1e-340``, is integrated
  with Gauss-Legendre nodes, exact up to round-off for the smooth integrand on each side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import torch
from numpy.polynomial import hermite_e
from scipy.special import roots_legendre

from normprop import metrics
from normprop._validation import check_batch, check_nonnegative_int, check_positive_int
from normprop.activations import KINKS, Activation, resolve_activation

#: Where the named activations are not smooth.
# SELU and ELU join pieces at 0 too: SELU's slope jumps there, ELU's second derivative does.

_HERMITE_NODES = 200
_LEGENDRE_NODES = 400
_CUTOFF = 40.0
_SQRT_2PI = math.sqrt(2 * math.pi)


@lru_cache(maxsize=8)
def _gauss_hermite(points: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = hermite_e.hermegauss(points)
    return nodes, weights / _SQRT_2PI  # weights now integrate against the N(0, 1) density


@lru_cache(maxsize=8)
def _piecewise_legendre(breakpoints: tuple[float, ...], points: int) -> tuple[np.ndarray, np.ndarray]:
    edges = [-_CUTOFF, *sorted(breakpoints), _CUTOFF]
    unit_nodes, unit_weights = roots_legendre(points)
    nodes, weights = [], []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        half = (high - low) / 2
        x = low + half * (unit_nodes + 1)
        nodes.append(x)
        weights.append(half * unit_weights * np.exp(-(x**2) / 2) / _SQRT_2PI)
    return np.concatenate(nodes), np.concatenate(weights)


def gaussian_nodes(activation: Activation, breakpoints: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights ``(x_i, w_i)`` with ``sum_i w_i f(x_i) ~= E[f(X)]``, chosen for the activation's kinks."""
    if breakpoints is None:
        breakpoints = KINKS.get(activation, ()) if isinstance(activation, str) else ()
    if breakpoints:
        return _piecewise_legendre(tuple(float(b) for b in breakpoints), _LEGENDRE_NODES)
    return _gauss_hermite(_HERMITE_NODES)


def _scaled(activation: Activation, gain: float) -> Callable[[torch.Tensor], torch.Tensor]:
    function = resolve_activation(activation)
    if not math.isfinite(gain) or gain == 0:
        raise ValueError(f"gain must be a finite non-zero number, got {gain!r}")
    return function if gain == 1.0 else (lambda x: function(gain * x))


def _values_on_nodes(activation: Activation, gain: float, nodes: np.ndarray) -> np.ndarray:
    values = _scaled(activation, gain)(torch.from_numpy(nodes)).numpy()
    if not np.isfinite(values).all():
        raise ValueError("activation is not finite on the quadrature nodes (it grows too fast for E[sigma(X)^2])")
    return values


def _breakpoints(activation: Activation, gain: float, breakpoints: Sequence[float] | None) -> Sequence[float] | None:
    """A kink of sigma at b is a kink of sigma(gain x) at b / gain."""
    if breakpoints is None and isinstance(activation, str):
        breakpoints = KINKS.get(activation, ())
    return None if breakpoints is None else [b / gain for b in breakpoints]


def normalized_hermite(x: np.ndarray, degree: int) -> np.ndarray:
    """``he_k(x) = He_k(x) / sqrt(k!)`` for ``k = 0..degree``, shape ``(degree + 1, len(x))``.

    By the stable three-term recurrence ``he_{k+1} = (x he_k - sqrt(k) he_{k-1}) / sqrt(k + 1)``.
    """
    check_nonnegative_int(degree, "degree")
    values = np.empty((degree + 1, len(x)))
    values[0] = 1.0
    if degree >= 1:
        values[1] = x
    for k in range(1, degree):
        values[k + 1] = (x * values[k] - math.sqrt(k) * values[k - 1]) / math.sqrt(k + 1)
    return values


def hermite_coefficients(
    activation: Activation, degree: int, gain: float = 1.0, breakpoints: Sequence[float] | None = None
) -> np.ndarray:
    """Coefficients ``c_0..c_degree`` of ``sigma(gain * x)`` in the normalised Hermite basis.

    ``c_k = E[sigma(gain X) he_k(X)]`` (Joudaki et al. 2023, sec. 3). ``breakpoints`` lists the kinks of a
    callable ``sigma`` (named activations know theirs). He_k activations give unit vectors.
    """
    check_nonnegative_int(degree, "degree")
    nodes, weights = gaussian_nodes(activation, _breakpoints(activation, gain, breakpoints))
    values = _values_on_nodes(activation, gain, nodes)
    return normalized_hermite(nodes, degree) @ (weights * values)


def gaussian_moments(
    activation: Activation, gain: float = 1.0, breakpoints: Sequence[float] | None = None
) -> tuple[float, float, float]:
    """``(E[sigma], E[X sigma], E[sigma^2])`` under ``X ~ N(0, 1)``: ``c_0``, ``c_1`` and ``sum_k c_k^2``."""
    nodes, weights = gaussian_nodes(activation, _breakpoints(activation, gain, breakpoints))
    values = _values_on_nodes(activation, gain, nodes)
    return float(weights @ values), float(weights @ (nodes * values)), float(weights @ values**2)


def beta0(activation: Activation, gain: float = 1.0, breakpoints: Sequence[float] | None = None) -> float:
    """Non-linearity strength ``beta0 = c_1^2 / sum_{k>=1} c_k^2`` in ``[0, 1]``: 1 for linear activations.

    By Parseval ``sum_{k>=1} c_k^2 = Var[sigma(X)]``, so no series is truncated.
    """
    mean, first, second = gaussian_moments(activation, gain, breakpoints)
    variance = second - mean**2
    if variance <= 1e-14 * max(second, 1e-300):
        raise ValueError("activation is constant under N(0, 1): beta0 is undefined")
    return first**2 / variance


def beta_sigma(activation: Activation, gain: float = 1.0, breakpoints: Sequence[float] | None = None) -> float:
    """Isometry rate ``beta_sigma = 2 - beta0`` in ``[1, 2]`` (the quantity of the official code and figures).

    The mean-field potential contracts at least by this factor per layer: ``gamma_{l+1} <= gamma_l / beta_sigma``.
    """
    return 2.0 - beta0(activation, gain, breakpoints)


def dual_kernel(activation: Activation, rho: np.ndarray | float, degree: int = 60, gain: float = 1.0) -> np.ndarray:
    """``k(rho) = E[sigma(X) sigma(Y)] = sum_k c_k^2 rho^k`` for standard Gaussians with correlation rho.

    The series is truncated at ``degree``; at ``|rho| = 1`` the exact ``E[sigma^2]`` is used.
    """
    rho = np.asarray(rho, dtype=float)
    if np.any(np.abs(rho) > 1):
        raise ValueError("rho must lie in [-1, 1]")
    coefficients = hermite_coefficients(activation, degree, gain)
    series = np.polynomial.polynomial.polyval(rho, coefficients**2)
    _, _, second = gaussian_moments(activation, gain)
    return np.where(np.isclose(np.abs(rho), 1.0), np.where(rho > 0, second, series), series)


def correlation_map(activation: Activation, rho: np.ndarray | float, degree: int = 60, gain: float = 1.0) -> np.ndarray:
    """Mean-field map of a correlation through centring and normalisation (Joudaki et al. 2023, eq. 7):

    ``f(rho) = sum_{k>=1} c_k^2 rho^k / sum_{k>=1} c_k^2``; ``f(0) = 0``, ``f(1) = 1``, ``f'(0) = beta0``.
    """
    mean, _, second = gaussian_moments(activation, gain)
    return (dual_kernel(activation, rho, degree, gain) - mean**2) / (second - mean**2)


def predicted_potential(gamma0: float | np.ndarray, beta: float, layers: np.ndarray) -> np.ndarray:
    """Mean-field bound on the potential: ``gamma_l <= gamma_0 * beta_sigma^(-l)`` (Joudaki et al. 2023, thm. 1)."""
    if not 1.0 <= beta <= 2.0 + 1e-12:
        raise ValueError(f"beta must lie in [1, 2], got {beta!r}")
    return np.asarray(gamma0, dtype=float) * float(beta) ** (-np.asarray(layers, dtype=float))


def correlation_matrix(h: torch.Tensor) -> torch.Tensor:
    """The sample correlation matrix ``C_ij = cos(h_i, h_j)`` (:func:`normprop.metrics.cosine`), clipped to
    [-1, 1] against round-off, ``(..., n, n)``."""
    return metrics.cosine(h).clamp(-1, 1)


def mean_field_trajectory(
    x: torch.Tensor, activation: Activation, depth: int, gain: float = 1.0, degree: int = 120
) -> pd.DataFrame:
    """The mean-field (infinite-width) chain with centring and normalisation, from the input batch ``x``.

    In the mean-field limit the correlation matrix evolves entry-wise by the map of Joudaki et al. (2023, eq. 7),
    ``C_{l+1} = f(C_l)`` (:func:`correlation_map`), starting from the correlations of ``x`` (``(seeds, n, d)``).
    Returns a table with one row per seed and layer ``0..depth``: the ``gap`` (isometry gap of C, computed as the
    gap of the rows of its Cholesky factor ``L``, ``C = L L^T``; ``inf`` once C is singular to working precision)
    and the ``potential`` ``max_{i != j} |C_ij| / (1 - |C_ij|)``.
    """
    check_batch(x, "x")
    check_positive_int(depth, "depth")
    correlation = correlation_matrix(x).numpy()
    seeds, n = correlation.shape[0], correlation.shape[-1]
    off_diagonal = ~np.eye(n, dtype=bool)
    rows = []
    for layer in range(depth + 1):
        c = torch.from_numpy(correlation)
        factor, info = torch.linalg.cholesky_ex(c)
        usable = info == 0
        gap = torch.full((seeds,), math.inf, dtype=torch.float64)
        if bool(usable.any()):
            gap[usable] = metrics.isometry_gap(factor[usable])
        largest = np.abs(correlation[:, off_diagonal]).max(-1)
        potential = np.where(largest < 1, largest / np.maximum(1 - largest, 1e-300), np.inf)
        table = {"seed": np.arange(seeds), "layer": layer, "gap": gap.numpy(), "potential": potential}
        rows.append(pd.DataFrame(table))
        if layer < depth:
            correlation = np.clip(correlation_map(activation, correlation, degree=degree, gain=gain), -1, 1)
    return pd.concat(rows, ignore_index=True)


def mean_field_asymptotic_rate(activation: Activation, gain: float = 1.0) -> float:
    """Per-layer decay rate of ``log gamma`` near isometry in the mean-field chain: ``-log beta0``.

    For small correlations ``gamma = |rho| / (1 - |rho|) ~ |rho|`` and the map contracts it by
    ``f'(0) = beta0`` per layer (``inf`` when ``beta0 = 0``, as for He2 and He3, whose correlations fall
    faster than exponentially). Theorem 1's ``log beta_sigma = log(2 - beta0)`` is a guaranteed bound and smaller;
    far from isometry the rate is set by the whole map, which :func:`mean_field_trajectory` follows.
    """
    slope = beta0(activation, gain)
    return math.inf if slope <= 1e-12 else -math.log(slope)


def rate_ratio_undefined(activation: Activation, gain: float = 1.0) -> str | None:
    """Why a measured / mean-field decay-rate ratio means nothing for ``sigma(gain x)``; ``None`` when it does.

    Two cases, both from ``beta0`` (:func:`beta0`): a linear activation (``beta0 = 1``) has the identity as its
    correlation map, so the mean field predicts no decay and the ratio is 0/0; an activation with ``c_1 = 0``
    (``beta0 = 0``, He2 and He3) has an infinite asymptotic rate (:func:`mean_field_asymptotic_rate`): its
    mean-field correlations fall faster than exponentially, to zero within a few layers, so no rate is defined.
    """
    slope = beta0(activation, gain)
    if slope >= 1 - 1e-9:
        return "linear (beta0 = 1): the mean-field map is the identity, no decay is predicted (ratio 0/0)"
    if slope <= 1e-12:
        return "beta0 = 0: infinite asymptotic rate, the mean-field correlations fall faster than exponentially"
    return None


def theorem1_orthogonality_bound(n: int, d: int, layer: int | np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Daneshmand et al. (2021), Theorem 1: ``E V(H_l) <= 2 (1 - 2 alpha / 3)^l + 3 n / (alpha sqrt(d))``.

    ``alpha in (0, 1]`` depends on the input; ``alpha = 1`` is the most favourable case. At the sizes of the
    notebooks the floor term exceeds the largest possible gap, so the bound explains the shape, not the numbers.
    """
    check_positive_int(n, "n")
    check_positive_int(d, "d")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha!r}")
    layer = np.asarray(layer, dtype=float)
    return 2 * (1 - 2 * alpha / 3) ** layer + 3 * n / (alpha * math.sqrt(d))


def theorem3_isometry_bound(x: torch.Tensor) -> torch.Tensor:
    """Meterez et al. (2024), Theorem 3: a lower bound on ``E_W I(BN(W X))`` for Haar ``W``.

    ``I(X) / (1 - sum_k (lambda_k - 1)^2 / (2 d^2 (d + 2)))`` with ``lambda_k`` the eigenvalues of the ``n x n``
    Gram of ``x`` (``n = d`` samples by features, each feature of unit norm over the batch, so that the
    eigenvalues average 1). ``x`` of shape ``(..., d, d)``; returns shape ``(...)``.
    """
    check_batch(x, "x")
    n, d = x.shape[-2:]
    if n != d:
        raise ValueError(f"x must be square (n = d), got n = {n} and d = {d}")
    feature_norms = x.double().square().sum(-2)
    if not torch.allclose(feature_norms, torch.ones_like(feature_norms), atol=1e-8):
        raise ValueError("x must have features of unit norm over the batch (normalize it with norm_scale='unit')")
    eigenvalues = torch.linalg.eigvalsh(metrics.gram(x))
    isometry = torch.exp(-metrics.isometry_gap(x))
    return isometry / (1 - ((eigenvalues - 1) ** 2).sum(-1) / (2 * d**2 * (d + 2)))

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
import torch
from numpy.polynomial import hermite_e
from scipy.special import roots_legendre

from normprop._validation import check_nonnegative_int
from normprop.activations import Activation, resolve_activation

#: Where the named activations are not smooth.
# SELU and ELU join pieces at 0 too: SELU's slope jumps there, ELU's second derivative does.
KINKS: dict[str, tuple[float, ...]] = {name: (0.0,) for name in ("relu", "leaky_relu", "centered_relu", "selu", "elu")}

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


def _evaluate(activation: Activation, gain: float, nodes: np.ndarray) -> np.ndarray:
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
    values = _evaluate(activation, gain, nodes)
    return normalized_hermite(nodes, degree) @ (weights * values)


def gaussian_moments(
    activation: Activation, gain: float = 1.0, breakpoints: Sequence[float] | None = None
) -> tuple[float, float, float]:
    """``(E[sigma], E[X sigma], E[sigma^2])`` under ``X ~ N(0, 1)``: ``c_0``, ``c_1`` and ``sum_k c_k^2``."""
    nodes, weights = gaussian_nodes(activation, _breakpoints(activation, gain, breakpoints))
    values = _evaluate(activation, gain, nodes)
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

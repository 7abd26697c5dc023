"""Input batches of shape ``(seeds, n, d)``, drawn from an explicit generator.

Every batch has rows of unit root-mean-square (``||x_i||^2 = d``), so that a Gaussian layer
``N(0, 1/d)`` keeps pre-activations at unit scale. No data set is downloaded: synthetic batches
here, and scikit-learn's bundled 8x8 digits (:func:`digits`).
"""

from __future__ import annotations

import math

import torch

from normprop._validation import check_open_unit, check_positive_int


def _check_sizes(seeds: int, n: int, d: int) -> None:
    check_positive_int(seeds, "seeds")
    check_positive_int(n, "n")
    check_positive_int(d, "d")


def unit_rms_rows(x: torch.Tensor) -> torch.Tensor:
    """Rescale each row to unit root-mean-square, ``||x_i||^2 = d``."""
    return x / x.square().mean(-1, keepdim=True).sqrt()


def gaussian_batch(
    seeds: int, n: int, d: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """i.i.d. standard Gaussian rows, rescaled to unit RMS."""
    _check_sizes(seeds, n, d)
    return unit_rms_rows(torch.randn(seeds, n, d, generator=generator, dtype=dtype, device=generator.device))


def orthogonal_batch(
    seeds: int, n: int, d: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """n random orthogonal rows of equal norm (orthogonality gap 0); needs ``n <= d``."""
    _check_sizes(seeds, n, d)
    if n > d:
        raise ValueError(f"n must be at most d for orthogonal rows, got n = {n} > d = {d}")
    a = torch.randn(seeds, d, n, generator=generator, dtype=torch.float64, device=generator.device)
    q, _ = torch.linalg.qr(a)
    return (q.mT * math.sqrt(d)).to(dtype)


def near_collinear_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    cosine: float = 0.99,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Rows ``sqrt(c) u + sqrt(1 - c) g_i`` around a shared direction u: pairwise cosine about c.

    With u and g_i i.i.d. ``N(0, I_d)`` the expected inner product of two rows over their squared
    norm is ``c``, so ``cosine`` close to 1 gives a nearly rank-one batch.
    """
    _check_sizes(seeds, n, d)
    cosine = check_open_unit(cosine, "cosine")
    shape = (seeds, 1, d)
    shared = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
    noise = torch.randn(seeds, n, d, generator=generator, dtype=dtype, device=generator.device)
    return unit_rms_rows(math.sqrt(cosine) * shared + math.sqrt(1 - cosine) * noise)


def degenerate_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    distinct: int = 1,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A batch of n rows that repeats ``distinct`` Gaussian samples cyclically (rank ``distinct``)."""
    _check_sizes(seeds, n, d)
    check_positive_int(distinct, "distinct")
    if distinct > n:
        raise ValueError(f"distinct must be at most n, got distinct = {distinct} > n = {n}")
    base = gaussian_batch(seeds, distinct, d, generator, dtype)
    return base[:, torch.arange(n) % distinct]


def spiked_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    factor: float = 10.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A Gaussian batch whose top singular value is multiplied by ``factor``, rows then rescaled to unit RMS.

    The input of Joudaki et al. (2023)'s validation MLP: ``factor`` (5, 10, 100) sets how far from isometric the
    batch starts, along a random direction that is generically not the all-ones sample vector.
    """
    _check_sizes(seeds, n, d)
    if not factor >= 1.0:
        raise ValueError(f"factor must be at least 1, got {factor!r}")
    x = torch.randn(seeds, n, d, generator=generator, dtype=torch.float64, device=generator.device)
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    s = s.clone()
    s[:, 0] *= factor
    return unit_rms_rows((u * s.unsqueeze(-2)) @ vh).to(dtype)


def digits(
    train_fraction: float = 0.8, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits (1797 x 64, 10 classes; no download), standardised.

    Fixed split: the first ``train_fraction`` of the samples in their stored order train, the rest test.
    Each pixel is standardised with the training split's mean and standard deviation (pixels that are
    constant on the training split are centred only). Returns ``x_train, y_train, x_test, y_test``.
    """
    from sklearn.datasets import load_digits

    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    bundle = load_digits()
    x = torch.as_tensor(bundle.data, dtype=torch.float64)
    y = torch.as_tensor(bundle.target, dtype=torch.int64)
    split = int(round(train_fraction * len(x)))
    mean, std = x[:split].mean(0), x[:split].std(0)
    x = (x - mean) / torch.where(std > 0, std, torch.ones_like(std))
    x = x.to(dtype)
    return x[:split], y[:split], x[split:], y[split:]


def noisy_orthogonal_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    noise: float = 0.3,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """An :func:`orthogonal_batch` plus i.i.d. ``N(0, noise^2)`` entries: near-isometric, with a gap set by ``noise``.

    The input of Meterez et al. (2024)'s Fig. 1 experiment, where the isometry gap starts small and decays.
    """
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    x = orthogonal_batch(seeds, n, d, generator, dtype)
    return x + noise * torch.randn(x.shape, generator=generator, dtype=dtype, device=generator.device)

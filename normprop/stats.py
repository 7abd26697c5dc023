"""Small statistics for claim checks: tolerances come from the spread across seeds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds with its two-sided confidence interval (Student t)."""

    mean: float
    low: float
    high: float
    count: int

    def __str__(self) -> str:
        return f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}]"


def mean_ci(values: np.ndarray | list[float], confidence: float = 0.95) -> Estimate:
    """Mean and t confidence interval of finite values; raises if any value is NaN or inf."""
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2:
        raise ValueError(f"values needs at least 2 entries for a confidence interval, got {values.size}")
    if not np.isfinite(values).all():
        raise ValueError("values contains NaN or inf; handle non-finite results before averaging")
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return Estimate(mean, mean - half, mean + half, int(values.size))


def fit_line(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y ~ x``."""
    slope, intercept = np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)
    return float(slope), float(intercept)

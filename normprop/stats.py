"""Small statistics for claim checks: tolerances come from the spread across seeds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t


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
    """Mean and t confidence interval over seeds.

    An infinite value is a legitimate outcome (the deficit of a singular Gram): if any value is infinite
    the estimate is that infinity, with a degenerate interval, so that comparisons against it behave
    (``inf < x`` is False). NaN is never legitimate and raises.
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2:
        raise ValueError(f"values needs at least 2 entries for a confidence interval, got {values.size}")
    if np.isnan(values).any():
        raise ValueError("values contains NaN; a metric produced an undefined result")
    if np.isposinf(values).any() and np.isneginf(values).any():
        raise ValueError("values contains both +inf and -inf; their mean is undefined")
    if np.isinf(values).any():
        infinity = float(values[np.isinf(values)][0])
        return Estimate(infinity, infinity, infinity, int(values.size))
    mean = float(values.mean())
    half = float(student_t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return Estimate(mean, mean - half, mean + half, int(values.size))


def fit_line(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y ~ x``."""
    slope, intercept = np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)
    return float(slope), float(intercept)


def values_at_layer(table: pd.DataFrame, column: str, layer: int | None = None) -> np.ndarray:
    """Per-seed values of ``column`` at ``layer`` (default: the last recorded layer) of a chain table."""
    if column not in table:
        raise ValueError(f"column must be one of {sorted(table.columns)}, got {column!r}")
    layer = int(table["layer"].max()) if layer is None else layer
    rows = table[table["layer"] == layer]
    if rows.empty:
        raise ValueError(f"layer {layer} was not recorded; recorded layers: {sorted(table['layer'].unique())[:10]}...")
    return rows.sort_values("seed")[column].to_numpy()


def per_seed_slope(table: pd.DataFrame, x: str, y: str, confidence: float = 0.95) -> Estimate:
    """Mean and CI over seeds of the least-squares slope of ``y`` against ``x``, fitted to each seed alone.

    Fitting each seed separately makes the interval reflect how much the slope varies between networks
    (a pooled fit would treat the rows of one seed as independent). A seed with a non-finite ``y`` (an
    overflow) gets the slope ``inf``, which makes the estimate ``inf`` (see :func:`mean_ci`).
    """
    for column in ("seed", x, y):
        if column not in table:
            raise ValueError(f"table must have a {column!r} column; it has {sorted(table.columns)}")
    slopes = []
    for _, group in table.groupby("seed"):
        values = group[y].to_numpy(dtype=float)
        slopes.append(fit_line(group[x], values)[0] if np.isfinite(values).all() else np.inf)
    return mean_ci(slopes, confidence)


def per_seed_power_law(
    table: pd.DataFrame, variables: list[str], y: str, confidence: float = 0.95
) -> dict[str, Estimate]:
    """Fit ``y = C * prod_k x_k^(a_k)`` (least squares in log-log) to each seed alone; mean and CI over seeds.

    Returns one :class:`Estimate` per exponent ``a_k``, keyed by the variable's name, and one for the prefactor
    under ``"prefactor"``: the mean and CI of ``log C`` over seeds, exponentiated (a geometric mean). As in
    :func:`per_seed_slope`, the spread is that of whole networks. Every value of ``y`` and of the variables must
    be positive and finite, and each seed needs more rows than ``len(variables) + 1`` parameters.
    """
    if not variables:
        raise ValueError("variables must name at least one column")
    for column in ("seed", *variables, y):
        if column not in table:
            raise ValueError(f"table must have a {column!r} column; it has {sorted(table.columns)}")
    values = table[[*variables, y]].to_numpy(dtype=float)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"columns {[*variables, y]} must be positive and finite for a log-log fit")
    fits = []
    for seed, group in table.groupby("seed"):
        if len(group) <= len(variables) + 1:
            raise ValueError(f"seed {seed} has {len(group)} rows, too few to fit {len(variables) + 1} parameters")
        design = np.column_stack([np.ones(len(group)), np.log(group[variables].to_numpy(dtype=float))])
        fits.append(np.linalg.lstsq(design, np.log(group[y].to_numpy(dtype=float)), rcond=None)[0])
    fits = np.asarray(fits)
    result = {name: mean_ci(fits[:, 1 + index], confidence) for index, name in enumerate(variables)}
    log_prefactor = mean_ci(fits[:, 0], confidence)
    result["prefactor"] = Estimate(
        float(np.exp(log_prefactor.mean)),
        float(np.exp(log_prefactor.low)),
        float(np.exp(log_prefactor.high)),
        log_prefactor.count,
    )
    return result

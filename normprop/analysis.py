"""Analysis of the tidy tables the sweeps return: intervals over seeds, per-seed fits and summaries.

Claim checks take their tolerances from the spread across seeds, so nearly everything here returns an
:class:`Estimate` (a mean over seeds and its Student t interval).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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

    def as_record(self) -> dict[str, float]:
        """How a record stores it (:mod:`normprop.repro.records`): ``{"mean", "low", "high"}``."""
        return {"mean": self.mean, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Check:
    """A claim check's outcome and its **margin**: how far the tested quantity clears its threshold, in units of
    its own uncertainty (the half width of its interval), positive when the check holds and negative when it
    fails; ``None`` for a check with no spread to measure it by (an exact identity, a count). The ledger
    (``normprop ledger``) reports the margins over seeds, so that a check that holds by a hair is visible."""

    holds: bool
    margin: float | None = None

    def __bool__(self) -> bool:
        return bool(self.holds)


def _half_width(estimate: Estimate) -> float:
    return max((estimate.high - estimate.low) / 2, 1e-300)


def _lower_half(estimate: Estimate) -> float:
    """The interval's half below the mean: the spread that matters for "above a threshold". For a symmetric
    interval it is the half width; for a lopsided one (a ratio of slopes whose upper end is unbounded) the half
    width would make any margin look like zero."""
    return max(estimate.mean - estimate.low, 1e-300)


def _upper_half(estimate: Estimate) -> float:
    """The interval's half above the mean (see :func:`_lower_half`)."""
    return max(estimate.high - estimate.mean, 1e-300)


def above(estimate: Estimate, threshold: float) -> Check:
    """Holds when the whole interval lies above ``threshold``; margin ``(low - threshold) / (mean - low)``, in units
    of the interval's lower half (the half width for a symmetric interval)."""
    return Check(bool(estimate.low > threshold), float((estimate.low - threshold) / _lower_half(estimate)))


def below(estimate: Estimate, threshold: float) -> Check:
    """Holds when the whole interval lies below ``threshold``; margin ``(threshold - high) / (high - mean)``."""
    return Check(bool(estimate.high < threshold), float((threshold - estimate.high) / _upper_half(estimate)))


def apart(lower: Estimate, higher: Estimate) -> Check:
    """Holds when ``lower``'s interval ends below ``higher``'s; margin: the gap between them over the mean of the
    two halves that face each other (negative: they overlap by that much)."""
    scale = (_upper_half(lower) + _lower_half(higher)) / 2
    return Check(bool(lower.high < higher.low), float((higher.low - lower.high) / scale))


def contains(estimate: Estimate, value: float) -> Check:
    """Holds when the interval contains ``value``; margin: the distance from ``value`` to the nearer end over the
    half width (negative: outside by that much)."""
    margin = min(value - estimate.low, estimate.high - value) / _half_width(estimate)
    return Check(bool(estimate.low <= value <= estimate.high), float(margin))


def every(checks: Iterable[Check]) -> Check:
    """Holds when all hold; its margin is the smallest (the check closest to failing)."""
    checks = list(checks)
    margins = [check.margin for check in checks if check.margin is not None]
    return Check(all(checks), min(margins) if margins else None)


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


@lru_cache(maxsize=256)
def _t_quantile(count: int, confidence: float) -> float:
    return float(student_t.ppf(0.5 + confidence / 2, count - 1))


def t_interval(values: np.ndarray | pd.Series, confidence: float = 0.95) -> tuple[float, float]:
    """``(low, high)`` of the Student t interval of the mean over seeds, for seaborn's ``errorbar=``.

    The interval of :func:`mean_ci`, as a band: NaN (no band drawn) where there are fewer than two values or a
    value is not finite, rather than an error, since a plot may legitimately hold an overflowed seed.
    """
    values = np.asarray(values, dtype=float)
    if values.size < 2 or not np.isfinite(values).all():
        return math.nan, math.nan
    mean = float(values.mean())
    half = _t_quantile(values.size, confidence) * float(values.std(ddof=1)) / math.sqrt(values.size)
    return mean - half, mean + half


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


def estimate_at_layer(table: pd.DataFrame, column: str, layer: int | None = None) -> Estimate:
    """Mean and interval over seeds of ``column`` at ``layer`` (default: the last layer of the table)."""
    return mean_ci(values_at_layer(table, column, layer))


def estimates_at_layer(
    table: pd.DataFrame, column: str, by: str | list[str], layer: int | None = None
) -> dict[Any, Estimate]:
    """:func:`estimate_at_layer` for each group of ``by``: ``{group key: Estimate}`` in group order."""
    return {key: estimate_at_layer(group, column, layer) for key, group in table.groupby(by)}


def per_seed_slope(table: pd.DataFrame, x: str, y: str, confidence: float = 0.95) -> Estimate:
    """Mean and CI over seeds of the least-squares slope of ``y`` against ``x``, fitted to each seed alone.

    Fitting each seed separately makes the interval reflect how much the slope varies between networks
    (a pooled fit would treat the rows of one seed as independent). A seed with a non-finite ``y`` (an
    overflow) gets the slope ``inf``, which makes the estimate ``inf`` (see :func:`mean_ci`).
    """
    return mean_ci(per_seed_slopes(table, x, y).to_numpy(), confidence)


def per_seed_slopes(table: pd.DataFrame, x: str, y: str) -> pd.Series:
    """The least-squares slope of ``y`` against ``x`` for each seed alone, indexed by seed.

    As in :func:`per_seed_slope` (which summarises these slopes), a seed with a non-finite ``y`` gets ``inf``.
    Two columns of one table give paired slopes: the same seeds, the same inputs.
    """
    for column in ("seed", x, y):
        if column not in table:
            raise ValueError(f"table must have a {column!r} column; it has {sorted(table.columns)}")
    slopes = {}
    for seed, group in table.groupby("seed"):
        values = group[y].to_numpy(dtype=float)
        slopes[seed] = fit_line(group[x], values)[0] if np.isfinite(values).all() else np.inf
    return pd.Series(slopes, name=y, dtype=float)


def last_layer_above(table: pd.DataFrame, column: str, threshold: float, last_layer: int) -> int:
    """The largest ``L <= last_layer`` such that the seed mean of ``column`` exceeds ``threshold`` at every
    layer ``0..L`` (``-1`` if it does not even at layer 0).

    A decay rate fitted to a finite-width chain means something only while the chain is above its floor:
    this is the end of that window.
    """
    if column not in table:
        raise ValueError(f"column must be one of {sorted(table.columns)}, got {column!r}")
    means = table[table["layer"] <= last_layer].groupby("layer")[column].mean().sort_index()
    above = (means > threshold).to_numpy()
    if above.all():
        return int(means.index[-1])
    first_below = int(above.argmin())
    return int(means.index[first_below - 1]) if first_below > 0 else -1


@dataclass(frozen=True)
class RateComparison:
    """A measured decay rate next to a predicted one, fitted the same way to the same seeds and layers."""

    measured: Estimate
    predicted: Estimate
    difference: Estimate  # paired per seed: measured - predicted
    last_layer: int

    @property
    def ratio(self) -> float:
        """Measured over predicted mean rate."""
        return self.measured.mean / self.predicted.mean

    @property
    def agrees(self) -> bool:
        """The seeds' confidence interval of the paired difference contains zero."""
        return self.difference.low <= 0.0 <= self.difference.high


def compare_decay_rates(
    table: pd.DataFrame, measured: str, predicted: str, last_layer: int, confidence: float = 0.95
) -> RateComparison:
    """Decay rates ``-d log(y) / d layer`` of two columns over layers ``0..last_layer``, per seed, paired.

    Both columns are fitted the same way (:func:`per_seed_slopes` of ``-log y``); the difference is taken seed
    by seed, so that what the seeds share (their input batch) cancels from its confidence interval.
    """
    if last_layer < 2:
        raise ValueError(f"last_layer must be at least 2 (three points for a slope with a spread), got {last_layer}")
    window = table[table["layer"] <= last_layer]
    with np.errstate(divide="ignore"):
        rates = {
            column: per_seed_slopes(window.assign(**{column: -np.log(window[column])}), "layer", column)
            for column in (measured, predicted)
        }
    difference = rates[measured] - rates[predicted]
    return RateComparison(
        mean_ci(rates[measured], confidence),
        mean_ci(rates[predicted], confidence),
        mean_ci(difference, confidence),
        last_layer,
    )


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


def growth_ratio(fast: Estimate, slow: Estimate) -> Estimate:
    """How many times slower ``slow`` grows than ``fast``: ``fast.mean / slow.mean``, with a conservative interval.

    Both are slopes over independent seeds (no pairing), so the interval is the range of ratios of the two
    intervals' ends, ``[fast.low / slow.high, fast.high / slow.low]``; it has at least the coverage of the two
    intervals together. ``fast`` must grow (``fast.low > 0``). If ``slow`` may not grow at all
    (``slow.low <= 0``) the upper end is ``inf``, and if it does not grow on average (``slow.mean <= 0``) the
    ratio itself is ``inf``.
    """
    if not fast.low > 0:
        raise ValueError(f"fast must grow (its interval above 0), got {fast}")
    mean = fast.mean / slow.mean if slow.mean > 0 else math.inf
    low = fast.low / slow.high if slow.high > 0 else math.inf
    high = fast.high / slow.low if slow.low > 0 else math.inf
    return Estimate(mean, low, high, min(fast.count, slow.count))


# --- added for notebook 01 ---


def per_seed_exponent(table: pd.DataFrame, x: str, y: str, confidence: float = 0.95) -> Estimate:
    """The exponent ``a`` of a power law ``y ~ x^a``, fitted to each seed alone: :func:`per_seed_slope` of
    ``log y`` against ``log x`` (mean and CI over seeds).

    The same fit as ``per_seed_power_law(table, [x], y)[x]`` (which solves it by ``lstsq`` rather than
    ``np.polyfit``: the two agree to rounding). ``x`` must be positive and finite; as in :func:`per_seed_slope`, a
    seed with a ``y`` whose log is not finite (zero, negative, an overflow) gets the exponent ``inf``.
    """
    for column in (x, y):
        if column not in table:
            raise ValueError(f"table must have a {column!r} column; it has {sorted(table.columns)}")
    values = table[x].to_numpy(dtype=float)
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"column {x!r} must be positive and finite for a log-log fit")
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = table.assign(**{f"log {x}": np.log(table[x]), f"log {y}": np.log(table[y])})
    return per_seed_slope(logs, f"log {x}", f"log {y}", confidence)


# --- added for notebook 03 ---


def per_seed_decay_rate(table: pd.DataFrame, column: str, last_layer: int, confidence: float = 0.95) -> Estimate:
    """Mean and CI over seeds of the decay rate ``-d log(column) / d layer`` over layers ``0..last_layer``: the
    per-seed least-squares slope of ``-log`` of the column (:func:`per_seed_slope`), each seed fitted alone.

    A seed whose column is not positive at some layer of the window gets the rate ``inf`` (or NaN, which raises),
    as in :func:`per_seed_slope`. :func:`compare_decay_rates` pairs two such rates seed by seed.
    """
    window = table[table["layer"] <= last_layer]
    return per_seed_slope(window.assign(**{column: -np.log(window[column])}), "layer", column, confidence)


# --- added for notebook 03 (wave 2) ---


def compare_window_rates(
    table: pd.DataFrame, measured: str, predicted: str, first_layer: int, last_layer: int, confidence: float = 0.95
) -> RateComparison:
    """:func:`compare_decay_rates` over the layers ``first_layer..last_layer`` only (a later window of the same
    per-layer table): both columns' rates ``-d log(y) / d layer`` fitted per seed over that slice, paired by seed."""
    if last_layer - first_layer < 2:
        raise ValueError(f"a window needs at least three layers, got {first_layer}..{last_layer}")
    window = table[table["layer"] >= first_layer]
    return compare_decay_rates(window, measured, predicted, last_layer, confidence)


def rate_resolved(comparison: RateComparison) -> bool:
    """Whether a measured / predicted rate ratio is a number: both rates' intervals over seeds exclude zero (the
    chain decays, measurably, and so does its prediction). Otherwise the ratio is 0/0-like noise and is reported as
    unresolved, never averaged into a range."""
    return bool(comparison.measured.low > 0 and comparison.predicted.low > 0)


def half_width(estimate: Estimate) -> float:
    """Half the width of an interval (at least 1e-300): the unit of a :class:`Check`'s margin."""
    return _half_width(estimate)


# --- added for notebook 01 (wave 2) ---


def reaches_below(estimate: Estimate, threshold: float) -> Check:
    """Holds when the interval reaches down to ``threshold`` (``low <= threshold``): the data do not exclude a value
    at or below it, as when a measured exponent is tested against a bound it may not exceed. Margin
    ``(threshold - low) / half width`` (negative: the whole interval lies above ``threshold`` by that much)."""
    return Check(bool(estimate.low <= threshold), float((threshold - estimate.low) / _half_width(estimate)))


def reaches_above(estimate: Estimate, threshold: float) -> Check:
    """Holds when the interval reaches up to ``threshold`` (``high >= threshold``): the data do not exclude a value
    at or above it. Margin ``(high - threshold) / half width`` (negative: the whole interval lies below)."""
    return Check(bool(estimate.high >= threshold), float((estimate.high - threshold) / _half_width(estimate)))


# --- added for notebook 02 (wave 2) ---


def median_ci(values: np.ndarray | list[float], confidence: float = 0.95) -> Estimate:
    """The median over seeds with a distribution-free interval from order statistics: ``[x_(k), x_(m+1-k)]``
    (sorted, 1-indexed) with the largest ``k`` such that ``P(Binomial(m, 1/2) < k) <= (1 - confidence) / 2``, which
    covers the median with probability at least ``confidence`` whatever the law of the values.

    Infinite values are legitimate (a singular Gram's deficit is ``+inf``) and keep their rank, so the interval
    stays defined when a few seeds are infinite; NaN raises, as in :func:`mean_ci`. With fewer than 6 values no
    pair of order statistics reaches 95%: the interval is then the range ``[min, max]`` (coverage ``1 - 2^(1-m)``).
    """
    values = np.sort(np.asarray(values, dtype=float).ravel())
    if values.size < 2:
        raise ValueError(f"values needs at least 2 entries for an interval, got {values.size}")
    if np.isnan(values).any():
        raise ValueError("values contains NaN; a metric produced an undefined result")
    if np.isposinf(values).any() and np.isneginf(values).any():
        raise ValueError("values contains both +inf and -inf; their median may be undefined")
    from scipy.stats import binom

    size, tail = values.size, (1 - confidence) / 2
    ranks = [k for k in range(1, size // 2 + 1) if binom.cdf(k - 1, size, 0.5) <= tail]
    k = max(ranks) if ranks else 1
    return Estimate(float(np.median(values)), float(values[k - 1]), float(values[size - k]), int(size))


def median_above(values: np.ndarray | list[float], threshold: float, confidence: float = 0.95) -> Check:
    """Holds when the order-statistic interval of the median (:func:`median_ci`) lies above ``threshold``.

    Margin: ``(low - threshold) / (median - low)``, the lower half width being the side that faces the threshold;
    ``+inf`` when even the lower end is infinite (a check on deficits that hold because the Grams are singular),
    and ``+-1`` when the median is infinite but the lower end is not (no finite scale to measure by)."""
    estimate = median_ci(values, confidence)
    holds = bool(estimate.low > threshold)
    if math.isinf(estimate.low):
        return Check(holds, math.copysign(math.inf, estimate.low))
    scale = estimate.mean - estimate.low
    if not (math.isfinite(scale) and scale > 0):
        scale = max(abs(estimate.low - threshold), 1e-300)
    return Check(holds, float((estimate.low - threshold) / scale))


# --- added for notebook 04 ---


def per_seed_log_slope(table: pd.DataFrame, x: str, column: str, confidence: float = 0.95) -> Estimate:
    """Mean and CI over seeds of the per-seed slope of ``log(column)`` against ``x``: an exponential rate per unit
    of ``x`` (negative for a decay), fitted to each seed alone (:func:`per_seed_slope`).

    A zero in ``column`` gives ``log = -inf`` and so the slope ``inf`` (see :func:`per_seed_slopes`): drop the
    rows below the floor the metric resolves before calling this.
    """
    if column not in table:
        raise ValueError(f"table must have a {column!r} column; it has {sorted(table.columns)}")
    logged = f"log {column}"
    with np.errstate(divide="ignore"):
        return per_seed_slope(table.assign(**{logged: np.log(table[column])}), x, logged, confidence)

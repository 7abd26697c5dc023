"""Claim-check statistics: confidence intervals, line fits, table look-ups."""

import math

import numpy as np
import pandas as pd
import pytest

from normprop import stats


def test_mean_ci_matches_the_t_interval():
    values = [1.0, 2.0, 3.0, 4.0]
    estimate = stats.mean_ci(values)
    half = 3.182446305284263 * np.std(values, ddof=1) / 2  # t_{0.975, 3}
    assert (
        estimate.mean == 2.5
        and estimate.low == pytest.approx(2.5 - half)
        and estimate.high == pytest.approx(2.5 + half)
    )


def test_mean_ci_carries_infinity_and_rejects_nan():
    estimate = stats.mean_ci([1.0, math.inf, 2.0])
    assert estimate.mean == estimate.low == estimate.high == math.inf
    assert not estimate.high < 10  # a check "deficit below 10" fails, as it should
    with pytest.raises(ValueError, match="NaN"):
        stats.mean_ci([1.0, math.nan])
    with pytest.raises(ValueError, match="both"):
        stats.mean_ci([-math.inf, math.inf])
    with pytest.raises(ValueError, match="at least 2"):
        stats.mean_ci([1.0])


def test_fit_line_recovers_a_slope():
    x = np.log([16, 32, 64, 128])
    assert stats.fit_line(x, 3 - 0.5 * x) == pytest.approx((-0.5, 3.0))


def test_values_at_layer():
    table = pd.DataFrame({"seed": [1, 0, 0, 1], "layer": [0, 0, 5, 5], "gap": [0.1, 0.2, 0.3, 0.4]})
    assert stats.values_at_layer(table, "gap").tolist() == [0.3, 0.4]
    assert stats.values_at_layer(table, "gap", 0).tolist() == [0.2, 0.1]
    with pytest.raises(ValueError, match="column"):
        stats.values_at_layer(table, "nope")
    with pytest.raises(ValueError, match="layer 3"):
        stats.values_at_layer(table, "gap", 3)


def test_per_seed_slope_fits_each_seed_and_carries_overflow():
    layers = np.arange(5.0)
    table = pd.DataFrame(
        {
            "seed": np.repeat([0, 1, 2], 5),
            "layer": np.tile(layers, 3),
            "value": np.concatenate([2 * layers + 1, 3 * layers, 4 * layers - 2]),
        }
    )
    estimate = stats.per_seed_slope(table, "layer", "value")
    assert estimate.mean == pytest.approx(3.0) and estimate.count == 3
    assert estimate.low < 3.0 < estimate.high
    table.loc[7, "value"] = math.inf
    assert stats.per_seed_slope(table, "layer", "value").mean == math.inf
    with pytest.raises(ValueError, match="column"):
        stats.per_seed_slope(table, "depth", "value")


def test_per_seed_power_law_recovers_exponents_and_prefactor():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(6):
        for n in [4, 8, 16]:
            for d in [32, 64, 128]:
                noise = math.exp(0.01 * rng.standard_normal())
                rows.append({"seed": seed, "n": n, "d": d, "gap": 0.3 * n**2.0 / d**1.2 * noise})
    fit = stats.per_seed_power_law(pd.DataFrame(rows), ["n", "d"], "gap")
    assert fit["n"].mean == pytest.approx(2.0, abs=0.01) and fit["n"].low < 2.0 < fit["n"].high
    assert fit["d"].mean == pytest.approx(-1.2, abs=0.01) and fit["d"].count == 6
    assert fit["prefactor"].mean == pytest.approx(0.3, rel=0.05) and fit["prefactor"].low < fit["prefactor"].high


def test_per_seed_power_law_rejects_what_it_cannot_fit():
    table = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "n": [1, 2, 4] * 2, "gap": [1.0, 2.0, 4.0, 1.0, 2.0, 0.0]})
    with pytest.raises(ValueError, match="positive"):
        stats.per_seed_power_law(table, ["n"], "gap")
    with pytest.raises(ValueError, match="too few"):
        stats.per_seed_power_law(table.iloc[[0, 1, 3, 4]].assign(gap=1.0), ["n"], "gap")
    with pytest.raises(ValueError, match="column"):
        stats.per_seed_power_law(table, ["d"], "gap")

"""Claim-check statistics: confidence intervals, line fits, table look-ups."""

import math

import numpy as np
import pandas as pd
import pytest

from normprop import analysis as stats


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


def _chain_table(rates_by_seed, layers=6, column="potential", start=10.0):
    return pd.DataFrame(
        [
            {"seed": seed, "layer": layer, column: start * np.exp(-rate * layer)}
            for seed, rate in enumerate(rates_by_seed)
            for layer in range(layers)
        ]
    )


def test_per_seed_slopes_are_paired_by_seed_and_carry_overflow():
    table = _chain_table([0.1, 0.2, 0.3]).assign(y=lambda t: -np.log(t.potential))
    slopes = stats.per_seed_slopes(table, "layer", "y")
    np.testing.assert_allclose(slopes.to_numpy(), [0.1, 0.2, 0.3])
    assert list(slopes.index) == [0, 1, 2]
    table.loc[(table.seed == 1) & (table.layer == 3), "y"] = np.inf
    assert stats.per_seed_slopes(table, "layer", "y")[1] == np.inf
    with pytest.raises(ValueError, match="column"):
        stats.per_seed_slopes(table, "layer", "missing")


def test_last_layer_above_ends_the_window_at_the_floor():
    table = _chain_table([np.log(2.0)] * 3, layers=8, start=16.0)  # 16, 8, 4, 2, 1, 0.5, ...
    assert stats.last_layer_above(table, "potential", 1.5, 7) == 3
    assert stats.last_layer_above(table, "potential", 1.5, 2) == 2  # capped by last_layer
    assert stats.last_layer_above(table, "potential", 0.01, 7) == 7
    assert stats.last_layer_above(table, "potential", 100.0, 7) == -1


def test_compare_decay_rates_pairs_the_seeds():
    measured = _chain_table([0.30, 0.32, 0.34, 0.36])
    # The prediction differs per seed (as a mean-field chain from each seed's own input does), by a constant.
    predicted = _chain_table([0.20, 0.22, 0.24, 0.26], column="predicted")
    table = measured.merge(predicted, on=["seed", "layer"])
    comparison = stats.compare_decay_rates(table, "potential", "predicted", last_layer=5)
    assert comparison.measured.mean == pytest.approx(0.33)
    assert comparison.predicted.mean == pytest.approx(0.23)
    assert comparison.ratio == pytest.approx(0.33 / 0.23)
    # Paired: the difference is 0.1 on every seed, so its interval is a point that excludes zero.
    assert comparison.difference.low == pytest.approx(0.1) and comparison.difference.high == pytest.approx(0.1)
    assert not comparison.agrees and comparison.last_layer == 5
    assert stats.compare_decay_rates(table, "potential", "potential", last_layer=5).agrees
    with pytest.raises(ValueError, match="last_layer"):
        stats.compare_decay_rates(table, "potential", "predicted", last_layer=1)


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


def test_t_interval_is_mean_ci_as_a_band():
    values = np.array([1.0, 2.0, 4.0, 7.0])
    estimate = stats.mean_ci(values)
    assert stats.t_interval(values) == pytest.approx((estimate.low, estimate.high))
    assert all(math.isnan(v) for v in stats.t_interval(np.array([1.0, math.inf])))
    assert all(math.isnan(v) for v in stats.t_interval(np.array([3.0])))


def test_margins_of_a_lopsided_interval_use_the_half_that_faces_the_threshold():
    """A ratio of slopes whose slow slope's interval nears 0 has an upper end far away: the margin of "at least 10
    times" must not vanish because of it."""
    ratio = stats.Estimate(34.0, 19.0, 1e9, 8)
    assert stats.above(ratio, 10).margin == pytest.approx(9 / 15)
    symmetric = stats.Estimate(1.0, 0.5, 1.5, 8)
    assert stats.above(symmetric, 0).margin == pytest.approx(1.0)
    assert stats.below(symmetric, 2).margin == pytest.approx(1.0)
    assert stats.apart(symmetric, stats.Estimate(3.0, 2.0, 100.0, 8)).margin == pytest.approx(0.5 / 0.75)

"""Claim 02's module: its task functions (shapes, invariants, determinism), its summaries and its checks (which
hold on a small run and fail on results that contradict the claim)."""

import dataclasses
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

import normprop as npp
from normprop import analysis, metrics
from normprop.claims import claim_module
from normprop.seeding import make_generator

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

claim = claim_module("02")

#: The smallest sizes that exercise every figure function and every check (n = 8 as in the presets).
TINY = {
    "seeds": 3,
    "depth": 6,
    "widths": [8, 16],
    "main_width": 32,
    "activations": ["identity", "tanh", "sin", "centered_relu", "relu", "sigmoid"],
    "floor_depth": 10,
    "floor_every": 2,
    "floor_batch_sizes": [4, 8],
    "floor_widths": [32, 64],
    "gaussian_widths": [16, 32],
    "gaussian_depth": 5,
    "gaussian_every": 1,
    "gaussian_groups": 2,
    "gaussian_networks": 4,
    "gaussian_null_replicates": 20,
}
FIGURES = ["main", "regime", "activations", "identity", "centred", "floor", "law"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every figure's results on a tiny session (no cache, in this process)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORMPROP_BUILD_DIR", str(tmp_path_factory.mktemp("build")))
        patch.setenv("NORMPROP_NO_CACHE", "1")
        for name in ("NORMPROP_SCHEDULER", "NORMPROP_WORKERS", "NORMPROP_TASK_THREADS"):
            patch.delenv(name, raising=False)
        session = npp.start("02_entropy", "quick", seed=0, threads=1, **TINY)
        main = claim.entropy_vs_depth(session)
        regime = claim.width_regime(session)
        activations = claim.activations(session)
        identity = claim.deficit_identity([main["table"], regime["table"], activations["table"]], 8)
        found = {"main": main, "regime": regime, "activations": activations, "identity": identity}
        found |= {"centred": claim.centred_bn(session), "floor": claim.floor_scaling(session)}
        found["law"] = claim.gaussian_law(session)
        session.close()
    return found


def test_entropy_metrics_agree_with_each_other(generator):
    h = torch.randn(4, 8, 32, generator=generator)
    values = {name: metric(h) for name, metric in claim.entropy_metrics(8).items()}
    assert list(values) == ["entropy", "deficit", "deficit_eig", "condition"]
    torch.testing.assert_close(values["entropy"] + values["deficit"], torch.full((4,), metrics.max_entropy(8)).double())
    torch.testing.assert_close(values["deficit"], values["deficit_eig"], rtol=1e-8, atol=1e-10)
    assert (values["condition"] >= 1).all()


def test_input_batch_near_collinear_is_far_from_isotropic(generator):
    collinear = claim.input_batch("near-collinear", 3, 8, 64, generator, cosine=0.9)
    gaussian = claim.input_batch("Gaussian", 3, 8, 64, generator, cosine=0.9)
    assert collinear.shape == gaussian.shape == (3, 8, 64)
    assert (metrics.entropy_deficit(collinear) > 3 * metrics.entropy_deficit(gaussian)).all()
    with pytest.raises(ValueError, match="near-collinear"):
        claim.input_batch("uniform", 3, 8, 64, generator, cosine=0.9)


def test_entropy_chain_is_a_tidy_table_drawn_from_its_generator_only():
    def run(seed, **layer):
        return claim.entropy_chain(32, 3, make_generator(seed), n=8, depth=5, cosine=0.9, **layer)

    table = run(1, norm="batch")
    assert list(table.columns) == ["seed", "layer", "entropy", "deficit", "deficit_eig", "condition"]
    assert len(table) == 3 * 6 and sorted(table["layer"].unique()) == list(range(6))
    np.testing.assert_allclose(table["entropy"] + table["deficit"], metrics.max_entropy(8))
    pd.testing.assert_frame_equal(table, run(1, norm="batch"), check_exact=True)
    assert not table.equals(run(2, norm="batch"))
    gaussian = claim.entropy_chain(32, 3, make_generator(1), n=8, depth=1, cosine=0.9, x="Gaussian")
    assert gaussian[gaussian.layer == 0]["deficit"].max() < table[table.layer == 0]["deficit"].min()


def test_bn_raises_the_entropy_of_near_collinear_inputs_and_vanilla_lowers_it():
    def deficit(norm):
        table = claim.entropy_chain(128, 4, make_generator(0), n=8, depth=30, cosine=0.9, norm=norm)
        return analysis.estimate_at_layer(table, "deficit", 0), analysis.estimate_at_layer(table, "deficit")

    (start, end), (vanilla_start, vanilla_end) = deficit("batch"), deficit("none")
    assert end.high < 0.1 * start.low
    assert vanilla_end.low > vanilla_start.high


def test_centred_chain_has_a_singular_gram_and_a_finite_complement():
    table = claim.centred_chain("identity", 32, 2, make_generator(0), n=8, depth=4)
    assert list(table.columns) == ["seed", "layer", *claim.centred_metrics()]
    assert list(claim.centred_metrics()) == ["entropy (full Gram)", "deficit (complement of 1)", "deficit (full Gram)"]
    later = table[table.layer > 0]
    assert np.isneginf(later["entropy (full Gram)"]).all() and np.isposinf(later["deficit (full Gram)"]).all()
    assert np.isfinite(table["deficit (complement of 1)"]).all()
    tanh = claim.centred_chain("tanh", 32, 2, make_generator(0), n=8, depth=4)
    assert np.isfinite(tanh["deficit (full Gram)"]).all()


def test_floor_chain_records_every_few_layers():
    table = claim.floor_chain(4, 32, 3, make_generator(0), depth=10, every=5)
    assert list(table.columns) == ["seed", "layer", "gap"]
    assert sorted(table["layer"].unique()) == [0, 5, 10] and (table["gap"] > 0).all()
    assert table.groupby("layer").size().eq(3).all()


def test_collinear_deficit_is_one_positive_row_per_seed():
    table = claim.collinear_deficit(8, 64, 4, make_generator(0), cosine=0.9)
    assert list(table["seed"]) == [0, 1, 2, 3] and (table["deficit"] > 1).all()


def test_law_of_a_row_has_one_row_per_group_and_recorded_layer():
    table = claim.law_of_a_row(
        16, make_generator(0), n=8, depth=4, groups=2, networks=5, every=2, bandwidth=1.0, cosine=0.9
    )
    assert {"seed", "layer", "mmd2", "mmd2_sample", "covariance_offset2"} <= set(table.columns)
    assert sorted(table["layer"].unique()) == [0, 2, 4] and sorted(table["seed"].unique()) == [0, 1]
    assert (table["mmd2"] > 0).all()
    first, last = (table[table.layer == layer]["mmd2"].mean() for layer in (0, 4))
    assert last < first  # the law contracts towards N(0, I) from the anisotropic input


def test_null_replicates_centre_near_zero():
    null = claim.null_replicates(200, make_generator(0), networks=20, n=8, bandwidth=1.0)["mmd2"]
    assert len(null) == 200 and np.isfinite(null).all()
    assert abs(null.mean()) < 3 * null.std() / math.sqrt(len(null)) + 1e-3


def test_deficit_identity_compares_resolvable_batches_and_flags_disagreeing_singular_ones():
    n, h_max = 8, metrics.max_entropy(8)
    table = pd.DataFrame(
        {
            "entropy": [h_max - 1.0, h_max - 2.0, -np.inf, h_max - 5.0],
            "deficit": [1.0, 2.0, np.inf, 5.0],
            "deficit_eig": [1.0 + 1e-12, 2.0, np.inf, 7.0],
            "condition": [10.0, 100.0, np.inf, 1e9],
        }
    )
    identity = claim.deficit_identity([table.iloc[:2], table.iloc[2:]], n)
    assert identity["batches"] == 4 and identity["resolvable"] == 2  # the ill-conditioned batch is left out
    assert 0 < identity["error"] < identity["tolerance"] and identity["singular_agree"]
    broken = table.assign(entropy=[h_max - 1.0, h_max - 2.0, 3.0, h_max - 5.0])
    assert not claim.deficit_identity([broken], n)["singular_agree"]


def test_width_needed_inverts_the_fitted_deficit_floor():
    floor = {"prefactor": 0.3, "a": 2.0, "b": 1.0, "widths": [32, 512]}
    width = float(claim.width_needed(floor, 8, 0.3 / 2 * 8**3 / 100))
    assert width == 100
    assert claim.width_needed(floor, 8, 1e-3).endswith("*")
    needed = claim.widths_needed({**floor, "batch_sizes": [4, 8]})
    assert list(needed.index) == [4, 8] and needed.index.name == "n" and needed.shape == (2, 3)


def test_figure_functions_return_what_the_notebook_and_checks_read(results):
    main, regime, floor, law = results["main"], results["regime"], results["floor"], results["law"]
    networks = {"BN, near-collinear input", "BN, Gaussian input", "vanilla, near-collinear input"}
    assert set(main["table"]["network"]) == networks
    assert list(regime["summary"].index) == TINY["widths"] and set(regime["table"]["d / n"]) == {"1", "2"}
    assert list(results["activations"]["deficit_end"]) == sorted(TINY["activations"])
    assert list(floor["table"].index) == [(4, 64), (8, 32), (8, 64), (8, 128)]
    assert set(floor["power_law"]) == {"n", "d", "prefactor"} and len(floor["local_slopes_d"]) == 2
    assert set(floor["collinear_start"]) == {4, 8}
    assert list(law["table"].index) == TINY["gaussian_widths"] and law["null_low"] < law["null_high"]
    assert len(law["null"]) == TINY["gaussian_null_replicates"]


def test_plots_draw_every_figure(results):
    band = {"errorbar": analysis.t_interval}
    for plot, ncols, result, extra in [
        (claim.plot_entropy_vs_depth, 2, results["main"], (band,)),
        (claim.plot_width_regime, 1, results["regime"], ()),
        (claim.plot_activations, 1, results["activations"], (band,)),
        (claim.plot_centred_bn, 1, results["centred"], (band,)),
        (claim.plot_floor_scaling, 3, results["floor"], (band,)),
        (claim.plot_gaussian_law, 3, results["law"], (band,)),
    ]:
        fig, axes = plt.subplots(1, ncols)
        plot(axes, result, *extra)
        assert all(ax.has_data() for ax in np.atleast_1d(axes)), plot.__name__
        plt.close(fig)


def test_checks_and_numbers_on_a_small_run(results):
    checks, numbers = claim.checks(results)
    assert len(checks) == 14 and all(isinstance(ok, analysis.Check) for ok in checks.values())
    assert checks["all headline numbers finite (the vanilla deficit may be +inf: a collapsed Gram)"]
    assert checks["BN, n = 8, d = 16n, near-collinear input: deficit falls with depth"]
    assert results["centred"]["singular_fraction"] == 1.0  # the full Gram of mean-centred BN + identity
    assert set(numbers) == {
        "deficit_start", "deficit_end", "deficit_end_vanilla", "deficit_end_by_activation", "deficit_identity_error",
        "width_regime_median_end", "floor_slope_n", "floor_slope_n_ci", "floor_slope_d", "floor_slope_d_ci",
        "floor_power_law", "floor_gap", "gaussian_distance_slope_d", "gaussian_distance_slope_d_ci",
        "gaussian_mmd2_floor", "centred_complement_deficit_end", "width_regime_log_growth_2n",
        "width_regime_growth_median", "gaussian_input_deficit", "floor_over_gaussian_input",
        "gaussian_mmd2_floor_over_start", "vanilla_log_growth",
    }  # fmt: skip
    # every check but the finiteness one has a margin; the margin's sign is the check's outcome
    margins = {name: ok.margin for name, ok in checks.items() if not name.startswith("all headline")}
    assert all(m is not None for m in margins.values())
    assert all((m > 0) == bool(checks[name]) for name, m in margins.items() if not math.isnan(m))
    assert numbers["deficit_start"] == results["main"]["deficit_start"].mean
    assert set(numbers["floor_gap"]) == {"n=4,d=64", "n=8,d=32", "n=8,d=64", "n=8,d=128"}
    lines = claim.summary(results).splitlines()
    assert len(lines) == 8 and lines[0].startswith("BN + identity, d = 32: deficit")


def _estimate(mean, half=0.1):
    return analysis.Estimate(mean, mean - half, mean + half, 3)


def test_checks_fail_on_results_that_contradict_the_claim(results):
    main = {**results["main"], "deficit_end": _estimate(results["main"]["deficit_start"].mean + 1)}
    main["deficit_end_vanilla"], main["vanilla_log_growth"] = _estimate(0.0), _estimate(-1.0)
    floor = {**results["floor"], "slope_d": _estimate(0.5), "slope_n": _estimate(-0.5)}
    floor["depth_lowers_gaussian"] = analysis.Check(False, -1.0)
    law = {**results["law"], "slope": _estimate(1.0)}
    end = dict(results["activations"]["deficit_end"])
    end["sigmoid"] = _estimate(0.0)
    end["tanh"] = dataclasses.replace(results["activations"]["deficit_start"]["tanh"])
    centred = {**results["centred"], "singular_fraction": 0.5}
    regime = {**results["regime"], "growth": {8: np.full(3, 2.0), 16: np.array([0.5, 0.6, 0.7])}}
    law["mmd2_floor"] = law["mmd2_floor"].map(lambda e: _estimate(1.0, 0.01))
    broken = {**results, "main": main, "floor": floor, "law": law, "centred": centred, "regime": regime}
    broken["activations"] = {**results["activations"], "deficit_end": end}
    checks, _ = claim.checks(broken)
    failing = {
        "BN, n = 8, d = 16n, near-collinear input: deficit falls with depth",
        "BN, same: final deficit below 10% of its starting deficit",
        "vanilla: deficit grows with depth (per-network log(end / start), CI above 0)",
        "identity, tanh, sin, centred ReLU: final deficit below 20% of the start",
        "sigmoid loses entropy",
        "gap floor falls with width at n = 8, d = 32..512: exponent CI below 0",
        "gap floor grows with n at fixed d/n, n = 4..32: exponent CI above 0",
        "Gaussian inputs: depth lowers the entropy at every (n, d) of the grid (floor CI above the input)",
        "n = 8, d = 2n: the deficit grows with depth (per-network log(end / start), CI above 0)",
        "n = 8, d = n: the deficit grows more than 5-fold, the Gram degenerates (median per-network growth, CI)",
        "a row's law contracts towards N(0, I): floor below 5% of layer 0 at every width",
        "its distance to N(0, I) shrinks with width: MMD² exponent CI below 0",
        "centred BN: measured on the complement, entropy rises",
    }
    assert {name for name, ok in checks.items() if not ok} >= failing
    assert all(checks[name].margin < 0 for name in failing if checks[name].margin is not None)
    finite = "all headline numbers finite (the vanilla deficit may be +inf: a collapsed Gram)"
    nan = {**results, "law": {**results["law"], "slope": _estimate(math.nan)}}
    assert not claim.checks(nan)[0][finite]
    collapsed = {**results, "main": {**results["main"], "deficit_end_vanilla": analysis.mean_ci([1.0, np.inf])}}
    assert claim.checks(collapsed)[0][finite]  # a vanilla Gram that collapsed to singular is a legitimate +inf


def test_isotropic_deficit_matches_the_gaussian_inputs_of_the_floor_chain():
    table = claim.isotropic_deficit(4, 64, 500, make_generator(0))
    assert list(table.columns) == ["seed", "deficit"] and len(table) == 500 and (table["deficit"] > 0).all()
    # about n (n - 1) / 4d nats for i.i.d. Gaussian rows (the same inputs as floor_chain's layer 0)
    assert 0.7 * 12 / 256 < table["deficit"].mean() < 1.3 * 12 / 256
    chain = claim.floor_chain(4, 64, 200, make_generator(1), depth=1, every=1)
    starts = 2 * chain[chain["layer"] == 0]["gap"]
    assert abs(starts.mean() - table["deficit"].mean()) < 4 * starts.std() / math.sqrt(len(starts))


def test_growth_checks_use_paired_intervals_and_allow_singular_grams():
    grows = {"n": 8, "growth": {8: np.array([np.inf] * 9 + [6.0]), 16: np.array([1.5, 1.8, 1.3, 2.0, 1.6])}}
    checks = claim.growth_checks(grows)
    assert all(checks.values()) and all(check.margin > 0 for check in checks.values())
    name_2n, name_n = list(checks)
    assert checks[name_n].margin == math.inf  # even the interval's lower end is a singular Gram
    flat = {"n": 8, "growth": {8: np.array([4.0, 3.0, 6.0, 5.0, 4.5, 3.5]), 16: np.array([1.5, 0.6, 1.2, 0.7, 1.0])}}
    checks = claim.growth_checks(flat)
    assert not checks[name_2n] and checks[name_2n].margin < 0 and not checks[name_n]


def test_median_ci_is_an_order_statistic_interval():
    values = np.arange(1.0, 11.0)  # m = 10: k = 2, coverage 1 - 2 * 11/1024
    estimate = analysis.median_ci(values[::-1])
    assert (estimate.mean, estimate.low, estimate.high, estimate.count) == (5.5, 2.0, 9.0, 10)
    twenty = analysis.median_ci(np.arange(20.0))
    assert (twenty.low, twenty.high) == (5.0, 14.0)  # k = 6 at m = 20
    assert (analysis.median_ci([3.0, 1.0, 2.0]).low, analysis.median_ci([3.0, 1.0, 2.0]).high) == (1.0, 3.0)
    singular = analysis.median_ci([1.0, 2.0] + [np.inf] * 8)
    assert singular.mean == np.inf and singular.low == 2.0 and singular.high == np.inf
    with pytest.raises(ValueError, match="NaN"):
        analysis.median_ci([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="both"):
        analysis.median_ci([1.0, np.inf, -np.inf])


def test_median_above_margin_is_in_lower_half_widths():
    check = analysis.median_above(np.arange(1.0, 11.0), 1.0)  # low 2, median 5.5
    assert check and check.margin == pytest.approx((2.0 - 1.0) / 3.5)
    assert not analysis.median_above(np.arange(1.0, 11.0), 3.0)
    assert analysis.median_above(np.arange(1.0, 11.0), 3.0).margin == pytest.approx(-1.0 / 3.5)
    assert analysis.median_above([np.inf] * 10, 5.0).margin == math.inf
    infinite_median = analysis.median_above([6.0, 7.0] + [np.inf] * 8, 5.0)  # low 7: no finite half width
    assert infinite_median and infinite_median.margin == 1.0

"""Claim 03's module: the validation MLP and the other task functions, the rate analysis, the figure functions on
a tiny session, the plots, the readings and the claim check (which must fail on data that should fail)."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

import normprop as npp
from normprop import analysis, metrics
from normprop.claims import claim_module
from normprop.seeding import make_generator

claim = claim_module("03")
SIZES = {"n": 10, "width": 32, "depth": 6, "spike": 10.0}
TINY = {
    "seeds": 3,
    "width": 32,
    "depth": 8,
    "ablation_widths": [16, 64],
    "rate_widths": [16, 64],
}
CHECK_NAMES = [
    "beta_sigma matches the paper's values",
    "all final gaps finite",
    "final gaps ordered by beta_sigma at gain 1 (Spearman <= -0.8)",
    "Theorem 1's bound holds for the mean-field chain (every seed, layer, activation, gain)",
    "decay at least Theorem 1's bound log(beta_sigma) (CI upper end)",
    "rates nearer the mean-field prediction than the bound (early window, median |log ratio|)",
    "finite-width lag: some case lags the mean field at the narrowest width, and every lag shrinks at the widest",
    "He1 (linear) does not become isometric",
    "normalisation never hurts (exact identity)",
    "no centering: relu, exp, sigmoid do not converge",
    "gain orders the tanh rate",
    "finite-width floor falls with width",
]


def decaying_table(rates: dict[int, float], layers: int = 6, start: float = 10.0, until: int = 6) -> pd.DataFrame:
    """A chain table whose potential decays exactly as ``start * exp(-rate * layer)`` for each seed, and stays
    flat after layer ``until``."""
    rows = [
        {"seed": seed, "layer": layer, "potential": start * math.exp(-rate * min(layer, until))}
        for seed, rate in rates.items()
        for layer in range(layers + 1)
    ]
    return pd.DataFrame(rows)


# --- task functions ---


def test_validation_mlp_is_one_row_per_seed_and_layer_and_starts_where_its_mean_field_does():
    table = claim.validation_mlp("relu", 3, make_generator(0), mean_field=True, **SIZES)
    assert list(table.columns) == ["seed", "layer", "gap", "potential", "mean-field gap", "mean-field potential"]
    assert len(table) == 3 * (SIZES["depth"] + 1) and sorted(table.seed.unique()) == [0, 1, 2]
    assert np.isfinite(table[["gap", "potential"]].to_numpy()).all() and (table.gap >= 0).all()
    start = table[table.layer == 0]
    np.testing.assert_allclose(start["potential"], start["mean-field potential"], rtol=1e-4)
    plain = claim.validation_mlp("relu", 3, make_generator(0), **SIZES)
    pd.testing.assert_frame_equal(plain, table[["seed", "layer", "gap", "potential"]])


def test_validation_mlp_without_centering_stays_far_from_isometry():
    centred = claim.validation_mlp("relu", 3, make_generator(1), **SIZES)
    uncentred = claim.validation_mlp("relu", 3, make_generator(1), centering=False, **SIZES)
    last = SIZES["depth"]
    final = {name: t[t.layer == last].gap.to_numpy() for name, t in [("centred", centred), ("not", uncentred)]}
    assert (final["not"] > 1.5 * final["centred"]).all()  # same seeds, same inputs and weights
    assert final["centred"].mean() < centred[centred.layer == 0].gap.mean()


def test_rate_window_mlp_is_the_validation_mlp_at_width_w():
    sizes = {key: value for key, value in SIZES.items() if key != "width"}
    table = claim.rate_window_mlp("tanh", 4.0, 16, 2, make_generator(2), **sizes)
    same = claim.validation_mlp("tanh", 2, make_generator(2), width=16, gain=4.0, mean_field=True, **sizes)
    pd.testing.assert_frame_equal(table, same)


def test_gaussian_potential_falls_with_width():
    narrow = claim.gaussian_potential(16, 8, make_generator(3), n=10)
    wide = claim.gaussian_potential(1024, 8, make_generator(3), n=10)
    assert list(narrow.columns) == ["seed", "potential"] and list(narrow.seed) == list(range(8))
    assert (narrow.potential > 0).all() and wide.potential.mean() < narrow.potential.mean() / 3


def test_spiked_mean_field_is_the_mean_field_trajectory_of_a_spiked_batch():
    table = claim.spiked_mean_field(32, 2, make_generator(4), n=10, depth=5, spike=10.0, activation="relu")
    assert list(table.columns) == ["seed", "layer", "gap", "potential"] and len(table) == 2 * 6
    by_layer = table.groupby("layer").potential.mean()
    assert by_layer.iloc[-1] < by_layer.iloc[0]


def test_normalisation_never_increases_the_gap_and_the_identity_holds_to_round_off():
    sizes = {key: value for key, value in SIZES.items() if key != "width"}
    table = claim.normalisation_stages("relu", 32, 2, make_generator(5), **sizes)
    assert list(table.columns) == ["seed", "layer", *claim.STAGE_METRICS]
    assert sorted(table.layer.unique()) == list(range(1, SIZES["depth"] + 1))
    assert table["identity residual"].abs().max() < 1e-9
    assert (table["after LN"] <= table["before LN (centred)"] + 1e-12).all()
    assert (table["pre_norm (official, before centring)"] > table["after LN"]).all()  # ReLU's uncentred mean


def test_stage_metrics_read_the_right_tensor():
    raw, before, after = (torch.randn(2, 4, 8, generator=make_generator(s), dtype=torch.float64) for s in (6, 7, 8))
    assert torch.equal(claim.pre_norm_gap(raw, before, after), metrics.isometry_gap(raw))
    assert torch.equal(claim.centred_gap(raw, before, after), metrics.isometry_gap(before))
    assert torch.equal(claim.normalised_gap(raw, before, after), metrics.isometry_gap(after))
    normalised = before / before.norm(dim=-1, keepdim=True)
    assert claim.identity_residual(raw, before, normalised).abs().max() < 1e-12


# --- analysis ---


def test_per_seed_decay_rate_recovers_exact_rates_over_the_window():
    table = decaying_table({0: 0.2, 1: 0.3, 2: 0.4})
    estimate = analysis.per_seed_decay_rate(table, "potential", 4)
    assert estimate.mean == pytest.approx(0.3) and estimate.low < 0.3 < estimate.high and estimate.count == 3
    bent = decaying_table({0: 0.2, 1: 0.3, 2: 0.4}, until=2)
    assert analysis.per_seed_decay_rate(bent, "potential", 2).mean == pytest.approx(0.3)
    assert analysis.per_seed_decay_rate(bent, "potential", 6).mean < 0.3


def test_bound_excess_holds_for_mean_field_chains_and_catches_a_slower_chain():
    for activation, gain in [("relu", 1.0), ("tanh", 2.0), ("exp", 1.0)]:
        table = claim.validation_mlp(activation, 2, make_generator(9), gain=gain, mean_field=True, **SIZES)
        assert claim.bound_excess(table, activation, gain) <= 1 + 1e-9
    gamma0 = table[table.layer == 0].set_index("seed")["mean-field potential"]
    flat = table.assign(**{"mean-field potential": gamma0.loc[table.seed].to_numpy()})  # no decay at all
    assert claim.bound_excess(flat, "exp") == pytest.approx(claim.theory.beta_sigma("exp") ** SIZES["depth"])


def test_fit_window_ends_before_the_floor_and_at_fit_layers():
    table = decaying_table({0: math.log(2), 1: math.log(2)})  # 10, 5, 2.5, ...
    assert claim.fit_window(table, floor=1.0, fit_layers=5) == 1  # 3 x floor = 3 > 2.5 at layer 2
    assert claim.fit_window(table, floor=0.01, fit_layers=5) == 5
    assert claim.fit_window(table, floor=10.0, fit_layers=5) == -1


def test_compare_with_mean_field_pairs_the_rates_or_says_why_not():
    table = decaying_table({0: 0.2, 1: 0.3, 2: 0.4})
    table["mean-field potential"] = table.potential
    same = claim.compare_with_mean_field(table, "relu", 1.0, floor=0.01, fit_layers=5)
    assert same.ratio == pytest.approx(1.0) and same.agrees and same.last_layer == 5
    faster = table.assign(**{"mean-field potential": table.potential * np.exp(-0.5 * table.layer)})
    slower = claim.compare_with_mean_field(faster, "relu", 1.0, floor=0.01, fit_layers=5)
    assert slower.ratio < 1 and not slower.agrees and slower.difference.high < 0
    assert claim.compare_with_mean_field(table, "identity", 1.0, 0.01, 5).startswith("linear")
    assert claim.compare_with_mean_field(table, "he2", 1.0, 0.01, 5).startswith("beta0 = 0")
    assert "finite-width floor by layer 2" in claim.compare_with_mean_field(table, "relu", 1.0, 2.0, 5)


def test_compare_window_rates_fits_only_the_slice():
    bent = decaying_table({0: 0.2, 1: 0.3, 2: 0.4}, layers=10, until=4)  # decays to layer 4, flat after
    bent["mean-field potential"] = bent.potential * np.exp(-0.1 * bent.layer)
    early = analysis.compare_window_rates(bent, "potential", "mean-field potential", 0, 4)
    assert early.measured.mean == pytest.approx(0.3) and early.predicted.mean == pytest.approx(0.4)
    late = analysis.compare_window_rates(bent, "potential", "mean-field potential", 4, 10)
    assert late.measured.mean == pytest.approx(0.0, abs=1e-12) and late.predicted.mean == pytest.approx(0.1)
    assert analysis.rate_resolved(early) and not analysis.rate_resolved(late)
    with pytest.raises(ValueError, match="three layers"):
        analysis.compare_window_rates(bent, "potential", "mean-field potential", 3, 4)
    assert analysis.half_width(analysis.Estimate(1.0, 0.5, 1.5, 3)) == 0.5


def test_rate_windows_and_compare_in_window_mark_what_is_unresolved():
    assert claim.rate_windows(5, 30) == {"early": (0, 5), "middle": (5, 15), "late": (15, 30)}
    table = decaying_table({0: 0.2, 1: 0.3, 2: 0.4}, layers=12, until=12)
    table["mean-field potential"] = table.potential
    middle = claim.compare_in_window(table, "relu", 1.0, 1e-6, 5, 12)
    assert middle.ratio == pytest.approx(1.0) and middle.last_layer == 12 and claim.ratio_entry(middle) == middle.ratio
    assert claim.compare_in_window(table, "identity", 1.0, 1e-6, 5, 12).startswith("linear")
    assert "fewer than 3 layers" in claim.compare_in_window(table, "relu", 1.0, 1e-6, 15, 30)
    assert "fewer than 3 layers" in claim.compare_in_window(table, "relu", 1.0, 1.0, 5, 12)  # floor reached early
    flat = decaying_table({0: 0.01, 1: -0.01, 2: 0.0}, layers=12)
    flat["mean-field potential"] = flat.potential
    assert "interval reaches 0" in claim.compare_in_window(flat, "relu", 1.0, 1e-6, 0, 12)
    assert claim.ratio_entry("why").startswith("unresolved: ")


def comparison(ratio: float, low: float, high: float) -> analysis.RateComparison:
    """A comparison whose predicted rate is 1 and whose paired difference is [low, high] - 1, ratio ``ratio``."""
    one = analysis.Estimate(1.0, 0.9, 1.1, 5)
    return analysis.RateComparison(
        analysis.Estimate(ratio, ratio - 0.1, ratio + 0.1, 5),
        one,
        analysis.Estimate(ratio - 1, low - 1, high - 1, 5),
        5,
    )


def test_lag_shrinks_fails_when_nothing_lags_or_a_lag_grows():
    lag, close, agree = comparison(0.5, 0.4, 0.6), comparison(0.9, 0.85, 0.95), comparison(1.0, 0.9, 1.1)
    shrinks = claim.lag_shrinks({("a", 16): lag, ("a", 64): close, ("b", 16): agree, ("b", 64): agree}, 16, 64)
    assert shrinks and shrinks.margin > 0
    nothing = claim.lag_shrinks({("a", 16): agree, ("a", 64): agree}, 16, 64)
    assert not nothing and nothing.margin < 0
    grows = claim.lag_shrinks({("a", 16): close, ("a", 64): lag}, 16, 64)
    assert not grows and grows.margin < 0


def test_chain_sizes_come_from_the_preset():
    sizes = npp.load_preset("03", "quick")
    assert claim.chain_sizes(sizes) == {"n": 10, "width": 512, "depth": 30, "spike": 10.0}
    assert claim.chain_sizes(sizes, "width") == {"n": 10, "depth": 30, "spike": 10.0}


def test_dual_kernels_give_the_papers_betas_and_maps_through_0_and_1():
    kernels = claim.dual_kernels()
    assert list(kernels["hermite"].index) == claim.ACTIVATIONS + claim.HERMITE
    assert all(abs(kernels["beta"][name] - value) < 5e-5 for name, value in claim.REFERENCES.items())
    maps = kernels["maps"]
    assert len(maps) == 201 * len(claim.ACTIVATIONS) and set(maps.activation) == set(claim.ACTIVATIONS)
    for _, curve in maps.groupby("activation"):
        values = curve.set_index("rho")["f(rho)"]
        assert values.loc[0.0] == pytest.approx(0.0, abs=1e-9) and values.loc[1.0] == pytest.approx(1.0)


# --- the figures on a tiny session, the plots, the readings and the check ---


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORMPROP_BUILD_DIR", str(tmp_path_factory.mktemp("build")))
        patch.setenv("NORMPROP_NO_CACHE", "1")
        patch.delenv("NORMPROP_SCHEDULER", raising=False)
        patch.delenv("NORMPROP_WORKERS", raising=False)
        session = npp.start("03", "quick", seed=0, threads=1, **TINY)
        beta = claim.dual_kernels()["beta"]
        chains = claim.isometry_vs_depth(session, beta)
        rates = claim.rate_comparison(session, beta, chains)
        normalisation = claim.normalisation(session)
        ablations = claim.ablations(session, chains["runs"], rates["gain_runs"])
        windows = claim.rates_by_window(session, chains, rates, ablations)
        session.close()
        yield {
            "session": session,
            "beta": beta,
            "chains": chains,
            "rates": rates,
            "normalisation": normalisation,
            "ablations": ablations,
            "windows": windows,
        }


def test_figure_functions_run_the_sweeps_and_summarise_them(results):
    session, chains, rates = results["session"], results["chains"], results["rates"]
    assert list(session.sweeps) == [
        "floors", "activations", "gains", "rate_widths", "stages",
        "centering", "no_norm", "order", "ablation_widths", "ablation_mean_field", "window_widths",
    ]  # fmt: skip
    names = claim.ACTIVATIONS + claim.HERMITE
    assert sorted(chains["final_gap"]) == sorted(names) and sorted(chains["order"].index) == sorted(names)
    assert sorted(chains["floors"]) == [16, 32, 64] and chains["floors"][16] > chains["floors"][64]
    assert all(-1 <= window <= TINY["depth"] for window in chains["windows"].values())
    assert set(rates["compared"]) | set(rates["excluded"]) == {*names, "tanh(0.5x)", "tanh(2x)", "tanh(4x)"}
    assert {"identity", "he1", "he2", "he3"} <= set(rates["excluded"])
    assert rates["mean_field_over_bound"] <= 1 + 1e-9
    assert len(rates["by_width"]) == 3 * len(TINY["rate_widths"])
    assert results["normalisation"]["never_hurts"] and results["normalisation"]["identity_residual"] < 1e-9
    ablations = results["ablations"]
    assert sorted(ablations["uncentred_final"]) == sorted(
        f"{name}, {state}" for name in ["relu", "exp", "sigmoid"] for state in ["centred", "not centred"]
    )
    assert set(ablations["widths"].run) == {"d = 16", "d = 64", "mean field"}
    windows = results["windows"]
    cases = {"relu": {"d = 32", "d = 16", "d = 64"}, "tanh": {"d = 32", "d = 64"}, "exp": {"d = 32"}}
    for case, widths in cases.items():
        assert set(windows["record"][case]) == {"early", "middle", "late"}
        assert all(set(per_width) == widths for per_width in windows["record"][case].values())
    assert windows["record"]["identity"]["early"]["d = 32"].startswith("unresolved: linear")
    assert (windows["table"].ratio.isna() == (windows["table"].unresolved != "")).all()
    assert "tanh(4x)" in windows["record"]
    assert "run" not in rates["gain_runs"] and set(ablations["gain"].run) == {
        "tanh(0.5 x)",
        "tanh(1 x)",
        "tanh(2 x)",
        "tanh(4 x)",
    }


def test_plots_draw_every_panel(results):
    session, chains, rates = results["session"], results["chains"], results["rates"]
    band, sizes = session.band, session.sizes
    fig, ax = plt.subplots()
    claim.plot_correlation_maps(ax, claim.dual_kernels()["maps"])
    fig, axes = plt.subplots(1, 2)
    claim.plot_isometry_vs_depth(axes, chains["runs"], results["beta"], band, sizes["width"], sizes["depth"])
    assert axes[0].get_yscale() == "log" and axes[1].get_legend() is None
    fig, axes = plt.subplots(1, 2)
    claim.plot_rates(axes, rates, sizes)
    assert [label.get_text() for label in axes[0].get_yticklabels()] == rates["rate_table"].index.tolist()
    fig, axes = plt.subplots(1, 2)
    claim.plot_normalisation(axes, results["normalisation"]["stages"], band, sizes["width"])
    fig, axes = plt.subplots(2, 3)
    claim.plot_ablations(axes, results["ablations"], band)
    assert [ax.get_title() for ax in axes.ravel()][:2] == ["1. centering", "2. normalisation"]
    plt.close("all")


def test_readings_and_summary_print_the_numbers(results):
    sizes, chains, rates = results["session"].sizes, results["chains"], results["rates"]
    assert claim.depth_reading(chains, sizes).startswith("Spearman correlation of beta_sigma and final gap: ")
    reading = claim.rates_reading(rates, sizes).splitlines()
    assert reading[0].startswith("median |log(measured / predicted)|") and reading[-1].startswith("no ratio for ")
    assert "LN layers" in claim.normalisation_reading(results["normalisation"], sizes)
    window_lines = claim.windows_reading(results["windows"], sizes).splitlines()
    assert len(window_lines) == 3 * 3 and window_lines[0].strip().startswith("early (layers 0..5), d = 32: ")
    summary_table = claim.window_summary(results["windows"])
    assert list(summary_table.columns) == ["early", "middle", "late"]
    assert summary_table.loc[("identity", 32), "early"] == "unresolved"
    assert claim.ablations_reading(results["ablations"], rates).endswith(
        "final gap " + format(results["ablations"]["mean_field_final"], ".2e")
    )
    summary = claim.summary(results["beta"], chains, rates, results["normalisation"]).splitlines()
    assert summary[0] == "beta_sigma: relu 1.2665, tanh 1.0695, sigmoid 1.0158" and len(summary) == 6


def checks_of(results, **changes):
    parts = {key: results[key] for key in ("beta", "chains", "rates", "normalisation", "ablations", "windows")}
    for key, value in changes.items():
        part, _, field = key.partition("__")
        parts[part] = value if not field else {**parts[part], field: value}
    return claim.checks(*parts.values(), results["session"].sizes)


def test_checks_keep_their_names_and_record_the_numbers(results):
    checks, numbers, supporting = checks_of(results)
    assert list(checks) == CHECK_NAMES and all(isinstance(ok, bool | analysis.Check) for ok in checks.values())
    assert isinstance(checks["no centering: relu, exp, sigmoid do not converge"], analysis.Check)
    assert sorted(numbers) == sorted(
        [
            "beta_sigma", "final_gap", "decay_rate", "spearman_beta_final_gap", "normalisation_identity_residual",
            "official_plot_ratio", "rate_ratio_to_mean_field", "rate_ratio_to_bound", "rate_ratio_excluded",
            "rate_ratio_to_mean_field_by_width", "rate_ratio_by_window", "order_matches_beta",
            "normalisation_never_hurts",
        ]
    )  # fmt: skip
    assert numbers["decay_rate"] == {name: e.mean for name, e in results["chains"]["rates"].items()}
    assert list(supporting) == [
        "measured rate within the seed CI of the mean field at d = 32, every resolved activation",
        "measured rate within the seed CI of the mean field at d = 64 (relu, exp, tanh(4x))",
        "middle and late windows: every resolved ratio within the seed CI of the mean field at d = 32",
        "middle and late windows: every resolved ratio at least 0.9",
    ]
    assert numbers["rate_ratio_by_window"] is results["windows"]["record"]
    assert checks["beta_sigma matches the paper's values"] and checks["normalisation never hurts (exact identity)"]
    assert checks["Theorem 1's bound holds for the mean-field chain (every seed, layer, activation, gain)"]


def test_checks_fail_on_data_that_should_fail(results):
    beta = {**results["beta"], "relu": 1.3}
    assert not checks_of(results, beta=beta)[0]["beta_sigma matches the paper's values"]
    broken = checks_of(results, normalisation__identity_residual=1e-6)
    assert not broken[0]["normalisation never hurts (exact identity)"]
    assert broken[1]["normalisation_never_hurts"] is False
    name = "Theorem 1's bound holds for the mean-field chain (every seed, layer, activation, gain)"
    assert not checks_of(results, rates__mean_field_over_bound=1.01)[0][name]
    assert not checks_of(results, rates__follows="the bound")[0][
        "rates nearer the mean-field prediction than the bound (early window, median |log ratio|)"
    ]
    final_gap = {**results["chains"]["final_gap"], "relu": analysis.Estimate(math.inf, math.inf, math.inf, 3)}
    assert not checks_of(results, chains__final_gap=final_gap)[0]["all final gaps finite"]
    gain_rates = dict(results["rates"]["gain_rates"])
    gain_rates[4.0], gain_rates[0.5] = gain_rates[0.5], gain_rates[4.0]
    assert not checks_of(results, rates__gain_rates=gain_rates)[0]["gain orders the tanh rate"]
    floors = results["ablations"]["width_floor"]
    flat = {w: floors[16] for w in floors}
    assert not checks_of(results, ablations__width_floor=flat)[0]["finite-width floor falls with width"]
    assert not checks_of(results, chains__spearman=0.5)[1]["order_matches_beta"]

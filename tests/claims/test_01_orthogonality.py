"""Claim 01's module: its task functions (small chains, seconds), its figure functions on tiny presets, its plots,
and its checks, which must pass on results that reproduce the claim and fail on results that do not."""

import dataclasses
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

import normprop as npp
from normprop.analysis import Check, Estimate, per_seed_exponent, per_seed_power_law, reaches_above, reaches_below
from normprop.claims import claim_module
from normprop.seeding import make_generator

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

claim = claim_module("01")

TINY = {
    "seeds": 4,
    "seeds_per_task": 2,  # two shards per configuration: the seed column runs over all four
    "batch_size": 4,
    "fig1_width": 8,
    "fig1_depth": 6,
    "fig2a_widths": [8, 32],
    "fig2a_depth": 12,
    "fig2b_widths": [8, 16, 32],
    "fig2b_depth": 20,
    "burn_in": 5,
    "floor_extra_batch_sizes": [2, 8],
    "rank_width": 8,
    "rank_depth": 40,
    "rank_every": 10,
    "stable_rank_widths": [8, 16, 32],
    "stable_rank_depth": 20,
    "activation_width": 8,
    "activation_depth": 6,
}

CHECK_NAMES = [
    "all numbers finite",
    "BN decorrelates near-collinear inputs",
    "vanilla drifts towards collinearity",
    "BN ends more orthogonal than vanilla",
    "transient: log gap falls at every width",
    "floor: wider is lower",
    "gap floor falls no slower than width^(-1/2): exponent CI reaches -1/2",
    "BN avoids rank collapse",
    "vanilla collapses to rank 1-2",
    "BN stable rank grows no slower than sqrt(width): exponent CI reaches 1/2",
    "BN stable rank grows with width: exponent CI above 0",
    "tanh and sin orthogonalize, sigmoid does not",
    "ReLU ends between the odd activations and sigmoid",
]
NUMBER_KEYS = [
    "width_slope",
    "bn_abs_cos_final",
    "vanilla_abs_cos_final",
    "bn_rank_final",
    "vanilla_rank_final",
    "stable_rank_slope",
    "width_slope_ci",
    "stable_rank_slope_ci",
    "transient_rate",
    "transient_rate_ci",
    "floor_by_width",
    "final_gap_by_activation",
    "width_slope_by_batch_size",
    "width_slope_ci_by_batch_size",
    "floor_batch_size_exponent",
    "floor_batch_size_exponent_ci",
]
SUPPORTING_NAMES = [
    "gap floor exponent is -1/2 exactly: per-seed CI contains -1/2",
    "gap floor falls no slower than width^(-1/2) at n = 2, 4, 8: every exponent CI reaches -1/2",
]


@pytest.fixture
def generator() -> torch.Generator:
    return make_generator(7)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The five figure functions on TINY sizes, through a real session (no cache, in this process)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("NORMPROP_BUILD_DIR", str(tmp_path_factory.mktemp("build")))
    patch.setenv("NORMPROP_NO_CACHE", "1")
    for name in ("NORMPROP_SCHEDULER", "NORMPROP_WORKERS", "NORMPROP_TASK_THREADS"):
        patch.delenv(name, raising=False)
    try:
        session = npp.start("01", "quick", seed=0, threads=1, **TINY)
        yield {
            "session": session,
            "fig1": claim.fig1(session),
            "fig2a": claim.fig2a(session),
            "fig2b": claim.fig2b(session),
            "rank": claim.rank_collapse(session),
            "activations": claim.activation_chains(session),
        }
    finally:
        patch.undo()


def estimate(mean: float, half: float = 0.01) -> Estimate:
    return Estimate(mean, mean - half, mean + half, 10)


def reproduced() -> dict:
    """Results, as the figure functions return them, that reproduce the claim."""
    return {
        "fig1": {"final": {"BN": estimate(0.1), "vanilla": estimate(0.7)}},
        "fig2a": {
            "transient_rate": {32: -0.2, 256: -0.4},
            "transient_rate_ci": {32: estimate(-0.2), 256: estimate(-0.4)},
            "late_gap": {32: estimate(0.2), 256: estimate(0.07)},
        },
        "fig2b": {
            "slope": -0.53,
            "slope_ci": estimate(-0.53),
            "exponent_by_batch_size": {2: estimate(-0.5, 0.02), 4: estimate(-0.53), 8: estimate(-0.55)},
            "batch_size_exponent": estimate(0.6),
        },
        "rank": {
            "final": {"BN": estimate(9.0, 0.5), "vanilla": estimate(1.3, 0.3)},
            "stable_rank_slope": estimate(0.56),
        },
        "activations": {
            "final": {
                "identity": estimate(0.14),
                "tanh": estimate(0.16),
                "sin": estimate(0.17),
                "relu": estimate(0.45),
                "sigmoid": estimate(0.84),
            }
        },
    }


def run_checks(results: dict) -> tuple[dict, dict, dict]:
    return claim.checks(*(results[key] for key in ("fig1", "fig2a", "fig2b", "rank", "activations")))


# --- task functions --------------------------------------------------------------------------------------------


def test_cosine_chain_bn_decorrelates_and_labels_its_curve(generator):
    table = claim.cosine_chain(
        "BN", "batch", "near-collinear", width=16, depth=15, batch_size=4, seeds=3, generator=generator
    )
    assert list(table.columns) == ["seed", "layer", "abs_cos", "label"]
    assert len(table) == 3 * 16 and set(table.label) == {"BN (near-collinear input)"}
    assert table.abs_cos.between(0, 1).all()
    by_layer = table.groupby("layer").abs_cos.mean()
    assert by_layer[0] > 0.9 and by_layer[15] < 0.6


def test_cosine_chain_vanilla_starts_orthogonal(generator):
    table = claim.cosine_chain(
        "vanilla", "none", "orthogonal", width=8, depth=3, batch_size=4, seeds=2, generator=generator
    )
    assert table[table.layer == 0].abs_cos.max() < 1e-5
    with pytest.raises(KeyError):
        claim.cosine_chain("x", "none", "no such input", width=8, depth=3, batch_size=4, seeds=2, generator=generator)


def test_gap_chain_stays_within_the_gap_range_and_falls(generator):
    table = claim.gap_chain(width=32, depth=20, batch_size=4, seeds=3, generator=generator)
    assert list(table.columns) == ["seed", "layer", "gap"] and len(table) == 3 * 21
    assert table.gap.between(0, math.sqrt(1 - 1 / 4) + 1e-9).all()
    by_layer = table.groupby("layer").gap.mean()
    assert by_layer[20] < by_layer[0] / 2


def test_the_same_generator_state_gives_the_same_chain():
    first = claim.gap_chain(width=8, depth=4, batch_size=4, seeds=2, generator=make_generator(3))
    again = claim.gap_chain(width=8, depth=4, batch_size=4, seeds=2, generator=make_generator(3))
    pd.testing.assert_frame_equal(first, again, check_exact=True)


def test_float32_numerical_rank_counts_directions_above_float32_round_off(generator):
    low_rank = torch.randn(2, 6, 1, generator=generator, dtype=torch.float64) @ torch.randn(
        2, 1, 8, generator=generator, dtype=torch.float64
    )
    assert claim.float32_numerical_rank(low_rank).tolist() == [1, 1]
    full = torch.randn(2, 6, 8, generator=generator)
    assert claim.float32_numerical_rank(full).tolist() == [6, 6]
    # A direction at 1e-9 of the top one is signal in float64 but round-off at float32's tolerance.
    tiny = low_rank + 1e-9 * torch.randn(2, 6, 8, generator=generator, dtype=torch.float64)
    assert claim.float32_numerical_rank(tiny).tolist() == [1, 1]


def test_rank_chain_records_every_few_layers_and_vanilla_loses_rank(generator):
    bn = claim.rank_chain("BN", "batch", width=8, depth=60, every=20, seeds=3, generator=generator)
    vanilla = claim.rank_chain("vanilla", "none", width=8, depth=60, every=20, seeds=3, generator=generator)
    assert list(bn.columns) == ["seed", "layer", "numerical_rank", "stable_rank"]
    assert set(bn.layer) <= {0, 20, 40, 60} and {0, 60} <= set(bn.layer)
    for table in (bn, vanilla):
        assert (table.stable_rank <= table.numerical_rank + 1e-9).all() and (table.numerical_rank <= 8).all()
    last = bn.layer.max()
    assert bn[bn.layer == last].numerical_rank.mean() > vanilla[vanilla.layer == last].numerical_rank.mean()


def test_stable_rank_chain_records_every_stable_rank_every_layers(generator):
    table = claim.stable_rank_chain(width=8, depth=20, seeds=2, generator=generator)
    assert list(table.columns) == ["seed", "layer", "stable_rank"]
    assert {0, 10, 20} <= set(table.layer) and all(layer % claim.STABLE_RANK_EVERY == 0 for layer in table.layer)
    assert table.stable_rank.between(1, 8).all()


@pytest.mark.parametrize("activation", claim.ACTIVATIONS)
def test_activation_chain_gap_is_a_gap(activation, generator):
    table = claim.activation_chain(activation, width=8, depth=5, batch_size=4, seeds=2, generator=generator)
    assert list(table.columns) == ["seed", "layer", "gap"] and len(table) == 2 * 6
    assert table.gap.between(0, math.sqrt(1 - 1 / 4) + 1e-9).all()


def test_theorem1_table_sets_the_bound_next_to_the_measured_floor():
    floor = pd.DataFrame({"width": [16, 16, 64, 64], "seed": [0, 1, 0, 1], "gap": [0.2, 0.3, 0.1, 0.1]})
    table = claim.theorem1_table(floor, batch_size=4)
    assert list(table.columns) == ["width", "measured floor", "bound floor (alpha = 1)", "bound / measured"]
    assert table["measured floor"].tolist() == pytest.approx([0.25, 0.1])
    assert table["bound floor (alpha = 1)"].tolist() == pytest.approx([3 * 4 / 4, 3 * 4 / 8])
    assert table["bound / measured"].tolist() == pytest.approx([3 / 0.25, 1.5 / 0.1])


# --- figure functions, plots and checks on tiny sizes ----------------------------------------------------------


def test_fig1_has_both_networks_over_every_seed(results):
    fig1 = results["fig1"]
    assert sorted(fig1["final"]) == ["BN", "vanilla"] and fig1["table"].seed.nunique() == TINY["seeds"]
    assert fig1["final"]["BN"].count == TINY["seeds"]


def test_fig2a_summaries_per_width(results):
    fig2a = results["fig2a"]
    assert sorted(fig2a["transient_rate"]) == sorted(fig2a["late_gap"]) == TINY["fig2a_widths"]
    assert np.allclose(fig2a["table"].log_gap, np.log(fig2a["table"].gap))


def test_fig2b_floor_table_and_fits(results):
    fig2b = results["fig2b"]
    floor = fig2b["table"]
    assert len(floor) == len(TINY["fig2b_widths"]) * TINY["seeds"]
    assert list(floor.columns) == ["width", "seed", "gap", "log_width", "log_mean_gap"]
    assert fig2b["slope_ci"].low <= fig2b["slope_ci"].mean <= fig2b["slope_ci"].high
    assert fig2b["slope_ci"].mean == pytest.approx(per_seed_power_law(floor, ["width"], "gap")["width"].mean)


def test_rank_collapse_results(results):
    rank = results["rank"]
    assert sorted(rank["final"]) == ["BN", "vanilla"]
    assert len(rank["stable"]) == len(TINY["stable_rank_widths"]) * TINY["seeds"]
    assert (rank["stable"].layer >= TINY["stable_rank_depth"] // 2).all()
    assert rank["stable_rank_slope"].count == TINY["seeds"]


def test_activation_chains_final_gap_per_activation(results):
    assert list(results["activations"]["final"]) == sorted(claim.ACTIVATIONS)


def test_plots_draw_on_the_axes_they_are_given(results):
    cfg, band = results["session"].sizes, results["session"].band
    fig, ax = plt.subplots()
    claim.plot_fig2b(ax, results["fig2b"], cfg, band)
    assert [text.get_text() for text in ax.get_legend().get_texts()][1:] == [
        f"fit: slope {results['fig2b']['slope']:.2f}",
        "slope -1/2",
    ]
    fig, axes = plt.subplots(1, 2)
    claim.plot_rank_collapse(axes, results["rank"], cfg, band)
    fig, ax = plt.subplots()
    claim.plot_floor_by_batch_size(ax, results["fig2b"], cfg, band)
    slopes = results["fig2b"]["exponent_by_batch_size"]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [f"n = {n} (slope {slopes[n].mean:.2f})" for n in (2, 4, 8)]
    assert axes[1].get_xscale() == axes[1].get_yscale() == "log"
    assert [label.get_text() for label in axes[1].get_xticklabels()] == ["8", "16", "32"]
    plt.close("all")


def test_checks_on_tiny_runs_have_the_recorded_names_and_keys(results):
    checks, numbers, supporting = run_checks(results)
    assert list(checks) == CHECK_NAMES and list(numbers) == NUMBER_KEYS and list(supporting) == SUPPORTING_NAMES
    # every check but the finiteness one compares intervals, so it carries a finite margin for the ledger
    assert isinstance(checks["all numbers finite"], bool)
    for name, check in [*checks.items(), *supporting.items()]:
        if name != "all numbers finite":
            assert isinstance(check, Check) and math.isfinite(check.margin) and (check.margin > 0) == bool(check), name
    assert numbers["width_slope"] == results["fig2b"]["slope"]
    assert numbers["width_slope_ci"] == [results["fig2b"]["slope_ci"].low, results["fig2b"]["slope_ci"].high]
    assert sorted(numbers["width_slope_by_batch_size"]) == [2, 4, 8]
    assert numbers["width_slope_by_batch_size"][4] == pytest.approx(results["fig2b"]["slope_ci"].mean)


def test_checks_pass_on_results_that_reproduce_the_claim():
    checks, numbers, supporting = run_checks(reproduced())
    assert all(checks.values()), [name for name, ok in checks.items() if not ok]
    assert numbers["floor_by_width"] == {32: 0.2, 256: 0.07}
    assert numbers["width_slope_by_batch_size"] == {2: -0.5, 4: -0.53, 8: -0.55}
    assert [bool(ok) for ok in supporting.values()] == [False, True]
    # margins in half widths: BN's |cos| interval [0.09, 0.11] ends 0.39 = 39 half widths below 0.5
    assert checks["BN decorrelates near-collinear inputs"].margin == pytest.approx(39)
    assert checks["gap floor falls no slower than width^(-1/2): exponent CI reaches -1/2"].margin == pytest.approx(4)


def replace(results: dict, figure: str, key: str, value, inner: str | None = None) -> dict:
    changed = {name: dict(result) for name, result in results.items()}
    if inner is None:
        changed[figure][key] = value
    else:
        changed[figure][key] = {**changed[figure][key], inner: value}
    return changed


@pytest.mark.parametrize(
    "change, failing",
    [
        (
            ("fig1", "final", estimate(0.8), "BN"),
            ["BN decorrelates near-collinear inputs", "BN ends more orthogonal than vanilla"],
        ),
        (
            ("fig1", "final", estimate(math.nan), "vanilla"),
            ["all numbers finite", "vanilla drifts towards collinearity", "BN ends more orthogonal than vanilla"],
        ),
        (("fig2a", "transient_rate_ci", estimate(-0.005), 256), ["transient: log gap falls at every width"]),
        (("fig2a", "late_gap", estimate(0.2), 256), ["floor: wider is lower"]),
        (
            ("fig2b", "slope_ci", estimate(-0.3, 0.05), None),
            ["gap floor falls no slower than width^(-1/2): exponent CI reaches -1/2"],
        ),
        (("rank", "final", estimate(1.5, 0.3), "BN"), ["BN avoids rank collapse"]),
        (("rank", "final", estimate(4.0, 0.3), "vanilla"), ["vanilla collapses to rank 1-2"]),
        (
            ("rank", "stable_rank_slope", estimate(0.3), None),
            ["BN stable rank grows no slower than sqrt(width): exponent CI reaches 1/2"],
        ),
        (
            ("rank", "stable_rank_slope", estimate(-0.1, 0.2), None),
            [
                "BN stable rank grows no slower than sqrt(width): exponent CI reaches 1/2",
                "BN stable rank grows with width: exponent CI above 0",
            ],
        ),
        (
            ("activations", "final", estimate(0.9), "tanh"),
            ["tanh and sin orthogonalize, sigmoid does not", "ReLU ends between the odd activations and sigmoid"],
        ),
        (("activations", "final", estimate(0.9), "relu"), ["ReLU ends between the odd activations and sigmoid"]),
    ],
)
def test_a_check_fails_on_results_that_do_not_reproduce_it(change, failing):
    figure, key, value, inner = change
    checks, _, _ = run_checks(replace(reproduced(), figure, key, value, inner))
    assert [name for name, ok in checks.items() if not ok] == failing


def test_supporting_line_holds_when_the_interval_contains_minus_one_half():
    _, _, supporting = run_checks(replace(reproduced(), "fig2b", "slope_ci", estimate(-0.49, 0.02)))
    assert all(supporting.values())


def test_supporting_batch_size_line_fails_when_one_batch_size_falls_slower():
    _, _, supporting = run_checks(replace(reproduced(), "fig2b", "exponent_by_batch_size", estimate(-0.4), 8))
    line = supporting[SUPPORTING_NAMES[1]]
    assert not line and line.margin == pytest.approx(-9)  # [-0.41, -0.39] lies 0.09 = 9 half widths above -1/2


def test_fig2b_floor_by_batch_size_includes_the_papers_n(results):
    fig2b = results["fig2b"]
    table = fig2b["by_batch_size"]
    assert list(table.columns) == ["batch_size", "width", "seed", "gap"]
    assert len(table) == 3 * len(TINY["fig2b_widths"]) * TINY["seeds"]
    at_four = table[table.batch_size == 4].drop(columns="batch_size").reset_index(drop=True)
    pd.testing.assert_frame_equal(at_four, fig2b["table"][["width", "seed", "gap"]])
    assert sorted(fig2b["exponent_by_batch_size"]) == [2, 4, 8]
    assert fig2b["exponent_by_batch_size"][4] == fig2b["slope_ci"]
    # the floor grows with the batch size at every width (a large effect even on tiny chains)
    assert fig2b["batch_size_exponent"].mean > 0


# --- the analysis helper this notebook added -------------------------------------------------------------------


def test_per_seed_exponent_recovers_a_power_law_and_matches_the_power_law_fit():
    rng = np.random.default_rng(0)
    rows = [
        {"seed": seed, "width": width, "gap": 2.0 * width**-0.5 * np.exp(0.05 * rng.standard_normal())}
        for seed in range(6)
        for width in (16, 32, 64, 128)
    ]
    table = pd.DataFrame(rows)
    exponent = per_seed_exponent(table, "width", "gap")
    assert exponent.mean == pytest.approx(-0.5, abs=0.03) and exponent.low < exponent.high and exponent.count == 6
    assert dataclasses.astuple(exponent) == pytest.approx(
        dataclasses.astuple(per_seed_power_law(table, ["width"], "gap")["width"]), rel=1e-12
    )


def test_per_seed_exponent_rejects_bad_columns_and_flags_a_zero():
    table = pd.DataFrame({"seed": [0, 0, 1, 1], "width": [8, 16, 8, 16], "gap": [0.2, 0.1, 0.2, 0.0]})
    assert per_seed_exponent(table, "width", "gap").mean == math.inf
    with pytest.raises(ValueError, match="positive"):
        per_seed_exponent(table.assign(width=[0, 16, 8, 16]), "width", "gap")
    with pytest.raises(ValueError, match="column"):
        per_seed_exponent(table, "depth", "gap")


def test_reaches_below_and_above_test_whether_an_interval_reaches_a_bound():
    interval = Estimate(-0.52, -0.54, -0.50, 10)  # half width 0.02
    assert reaches_below(interval, -0.5) and reaches_below(interval, -0.5).margin == pytest.approx(2)
    assert not reaches_below(interval, -0.6) and reaches_below(interval, -0.6).margin == pytest.approx(-3)
    assert reaches_above(interval, -0.5) and reaches_above(interval, -0.5).margin == pytest.approx(0)
    assert not reaches_above(interval, -0.4) and reaches_above(interval, -0.4).margin == pytest.approx(-5)

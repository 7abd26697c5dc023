"""Claim 04's module: its tasks, figure functions, checks and summary, at small sizes (seconds)."""

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

import normprop as npp
from normprop import analysis, data, train
from normprop.analysis import Estimate
from normprop.claims import claim_module
from normprop.seeding import make_generator

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

claim = claim_module("04")

TINY = {
    "seeds": 6,
    "rate_widths": [4, 8],
    "rate_depth": 12,
    "input_noise": 0.3,
    "theorem3_dims": [4],
    "theorem3_inputs": 2,
    "theorem3_samples": 400,
    "grad_seeds": 6,
    "grad_width": 16,
    "grad_depths": [5, 50, 100],
    "gamma": 0.4,
    "train_seeds": 2,
    "train_width": 8,
    "train_batch_size": 128,
    "train_depths": [2, 3],
    "train_epochs": 1,
    "train_lr": 0.005,
    "train_steps": [0.001, 0.005],
    "train_activations": ["tanh"],
    "ratio_widths": [8],
    "sample_ratios": [0.5, 1.0],
}


def estimate(mean: float, half: float = 0.01) -> Estimate:
    return Estimate(mean, mean - half, mean + half, 8)


def passing_results(
    gaussian: float = 0.5,
    gaussian_at_deepest: str = "fails",
    theorem_holds: bool = True,
    gaussian_best: str = "fails",
    n_equals_d_slope: float = 0.0,
) -> tuple[dict, pd.DataFrame, dict, dict, dict, dict]:
    """Results of the six figure functions, shaped as they return them, that pass every check."""
    rate = {"rate": {8: estimate(-0.1), 16: estimate(-0.05), 32: estimate(-0.025)}, "widths": [8, 16, 32]}
    rate["exponent"] = -1.0
    theorem = pd.DataFrame({"d": [4, 6], "holds": [True, theorem_holds]})
    grads = {
        "slope": {
            "orthogonal": estimate(0.0, 0.001),
            "Gaussian": estimate(gaussian),
            "orthogonal, repeated samples": estimate(0.4),
            "orthogonal, centred BN": estimate(0.02),
            "orthogonal, n = d/2 samples": estimate(0.45),
        },
        "centred_slowdown": Estimate(25.0, 15.0, 40.0, 8),
        "width": 32,
        "max_depth": 300,
    }
    shaped = {
        "slope": {
            "tanh": estimate(0.09),
            "tanh, gain": estimate(-0.001),
            "sin": estimate(0.13),
            "sin, gain": estimate(-0.001),
        },
        "corrected": {
            "tanh": estimate(0.09),
            "tanh, gain": estimate(0.002),
            "sin": estimate(0.13),
            "sin, gain": estimate(0.003),
        },
        "slowdown": {"tanh": Estimate(45.0, 20.0, 90.0, 8), "sin": Estimate(43.0, 20.0, 90.0, 8)},
        "max_depth": 300,
    }
    outcome = {"orthogonal": "trains", "Gaussian": gaussian_at_deepest, "orthogonal, tanh, gain": "trains"}
    outcome["orthogonal, tanh"] = "fails"
    rows = [
        {
            "run": run,
            "depth": depth,
            "mean": mean,
            "low": mean - 0.1,
            "high": mean + 0.1,
            "seeds": 8,
            "outcome": "trains" if mean < 1 else "fails",
        }
        for run, state in outcome.items()
        for depth in (10, 300)
        for mean in [0.3 if state == "trains" or depth == 10 else 2.0]
    ]
    best = pd.DataFrame(
        [
            {"run": run, "depth": depth, "lr": 0.001, "mean": mean, "low": mean - 0.1, "high": mean + 0.1, "seeds": 8}
            | {"diverged": 0, "outcome": "trains" if mean < 1 else "fails", "steps": [0.001, 0.005]}
            | {"diverged_steps": []}
            for run, state in (("orthogonal", "trains"), ("Gaussian", gaussian_best))
            for depth in (10, 300)
            for mean in [2.0 if state == "fails" and depth == 300 else 0.3]
        ]
    )
    training = {
        "outcomes": pd.DataFrame(rows),
        "minibatch_outcomes": pd.DataFrame(rows),
        "best_step": best,
        "step_table": pd.DataFrame(
            {"run": ["Gaussian"] * 4, "depth": 300, "lr": [0.001, 0.001, 0.005, 0.005], "loss": [2.0, 2.2, 2.5, 2.7]}
        ),
        "steps": [0.001, 0.005],
        "activations": ["tanh"],
        "deepest": 300,
    }
    ratios = {"slope": {16: {0.5: estimate(0.2), 1.0: estimate(n_equals_d_slope, 0.001)}}, "ratios": [0.5, 1.0]}
    return rate, theorem, grads, shaped, training, ratios


# --- tasks -----------------------------------------------------------------------------------------------------------


def test_isometry_chain_records_a_decaying_gap_every_second_layer():
    table = claim.isometry_chain(8, 40, 0.3, 3, make_generator(0))
    assert {"seed", "layer", "gap"} <= set(table.columns)
    assert sorted(table["seed"].unique()) == [0, 1, 2]
    assert (np.diff(sorted(table["layer"].unique())) == 2).all()
    first, last = (table[table.layer == layer].gap.mean() for layer in (table.layer.min(), table.layer.max()))
    assert 0 < last < first


def test_theorem3_case_estimates_above_the_bound():
    case = claim.theorem3_case(4, 0, 4000, make_generator(1))
    assert list(case) == ["I(X)", "bound", "E I(BN(WX))", "CI low (99.9%)"]
    assert 0 < case["I(X)"] <= case["bound"] <= 1
    assert case["CI low (99.9%)"] < case["E I(BN(WX))"] <= 1
    assert case["CI low (99.9%)"] >= case["bound"]


@pytest.mark.parametrize(("name", "samples", "rank"), [("independent", 8, 8), ("repeated", 8, 4), ("half", 4, 4)])
def test_batches_have_the_stated_samples_and_rank(name, samples, rank):
    batch = claim.BATCHES[name](2, 8, make_generator(2))
    assert batch.shape == (2, samples, 8) and batch.dtype == torch.float64
    assert (torch.linalg.matrix_rank(batch) == rank).all()


def test_gradient_at_depth_is_one_finite_row_per_seed_and_reproducible():
    layer = {"init": "orthogonal", **claim.LINEAR}
    table = claim.gradient_at_depth("orthogonal", 5, 8, 3, make_generator(3), **layer)
    again = claim.gradient_at_depth("orthogonal", 5, 8, 3, make_generator(3), **layer)
    assert list(table.columns) == ["seed", "log_grad"] and table["seed"].tolist() == [0, 1, 2]
    assert np.isfinite(table["log_grad"]).all()
    pd.testing.assert_frame_equal(table, again)
    half = claim.gradient_at_depth("half", 5, 8, 2, make_generator(3), x="half", **layer)
    assert np.isfinite(half["log_grad"]).all()


def test_gaussian_weights_grow_the_gradient_and_orthogonal_ones_do_not():
    """Fig. 3 in miniature: width 16, depths 5 to 100, 6 seeds."""

    def slope(init: str) -> Estimate:
        rows = [
            claim.gradient_at_depth(init, depth, 16, 6, make_generator(depth), init=init, **claim.LINEAR)
            for depth in (5, 50, 100)
        ]
        table = pd.concat([row.assign(depth=depth) for row, depth in zip(rows, (5, 50, 100), strict=True)])
        return analysis.per_seed_slope(table, "depth", "log_grad")

    gaussian, orthogonal = slope("gaussian"), slope("orthogonal")
    assert gaussian.low > 0
    assert abs(orthogonal.mean) < 0.1 * gaussian.mean


def test_train_at_depth_reports_loss_and_initial_gradient_per_seed():
    table = claim.train_at_depth("orthogonal", 2, 8, 128, 1, 0.005, 2, make_generator(4), init="orthogonal")
    assert list(table.columns) == ["seed", "loss", "loss, mini-batch BN", "log_grad_init"]
    assert table["seed"].tolist() == [0, 1]
    assert (table["loss"] > 0).all() and np.isfinite(table.to_numpy()).all()
    # BN over mini-batches of 128 is not BN over the whole set: a different number, same order of magnitude
    assert not np.allclose(table["loss"], table["loss, mini-batch BN"])
    assert np.allclose(table["loss"], table["loss, mini-batch BN"], rtol=0.5)
    scan = claim.train_at_depth(
        "orthogonal", 2, 8, 128, 1, 0.005, 2, make_generator(4), gradient_at_init=False, init="orthogonal"
    )
    pd.testing.assert_frame_equal(scan, table.drop(columns="log_grad_init"))


def test_gradient_at_sample_ratio_uses_n_equal_to_ratio_times_width():
    table = claim.gradient_at_sample_ratio(0.5, 5, 8, 3, make_generator(5))
    assert list(table.columns) == ["seed", "log_grad"] and np.isfinite(table["log_grad"]).all()
    layer = {"init": "orthogonal", **claim.LINEAR}
    half = claim.gradient_at_depth("half", 5, 8, 3, make_generator(5), x="half", **layer)
    pd.testing.assert_frame_equal(table, half)  # n = d/2 is the "half" batch, same draws


def test_sample_ratio_checks_fail_when_n_equals_d_grows_or_n_below_d_does_not():
    *_, ratios = passing_results()
    assert all(claim.sample_ratio_checks(ratios).values())
    *_, growing = passing_results(n_equals_d_slope=0.1)
    assert not claim.sample_ratio_checks(growing)["bounded at n = d"]
    flat = {"slope": {16: {0.5: estimate(0.0), 1.0: estimate(0.0)}}, "ratios": [0.5, 1.0]}
    checks = claim.sample_ratio_checks(flat)
    assert not checks["grows below n = d"] and not checks["bounded at n = d"]
    assert "n/d = 0.5" in claim.sample_ratio_table(ratios).columns


def test_init_batches_draws_what_the_notebook_drew_inline():
    """``train_at_depth`` used to draw its batches inline; the package function gives the same rows and leaves the
    generator in the same state, so the moved task reproduces the committed numbers."""
    x, _, _, _ = data.classification_data("digits")
    inline, package = make_generator(5), make_generator(5)
    expected = x[torch.rand(6, len(x), generator=inline).argsort(-1)[:, :48]]
    assert torch.equal(train.init_batches(x, 6, 48, package), expected)
    assert torch.equal(torch.rand(4, generator=inline), torch.rand(4, generator=package))


# --- the figure functions, on a session of tiny sizes ----------------------------------------------------------------


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("NORMPROP_NO_CACHE", "1")
    monkeypatch.delenv("NORMPROP_SCHEDULER", raising=False)
    session = npp.start("04_bounded_gradients", "quick", seed=0, threads=1, **TINY)
    yield session
    session.close()
    plt.close("all")


def test_figure_functions_checks_and_summary_run_end_to_end(session):
    rate = claim.isometry_rate(session)
    assert sorted(rate["rate"]) == [4, 8] and math.isfinite(rate["exponent"])
    theorem = claim.theorem3(session)
    assert len(theorem) == 2 and theorem["holds"].dtype == bool
    grads = claim.gradient_growth(session)
    assert set(grads["slope"]) == {
        "orthogonal",
        "Gaussian",
        "orthogonal, repeated samples",
        "orthogonal, centred BN",
        "orthogonal, n = d/2 samples",
    }
    shaped = claim.shaping(session)
    assert set(shaped["slowdown"]) == {"tanh", "sin"} and "gain-corrected" in shaped["table"]
    plain = shaped["table"][~shaped["table"].run.str.endswith("gain")]
    assert (plain["gain-corrected"] == plain["log_grad"]).all()
    training = claim.training_at_depth(session)
    assert len(training["outcomes"]) == 4 * 2 and training["deepest"] == 3
    assert set(training["outcomes"]["outcome"]) <= set(train.TRAINING_OUTCOMES)
    for plot, result, ncols in [
        (claim.plot_isometry_rate, rate, 2),
        (claim.plot_gradients, grads, 1),
        (claim.plot_shaping, shaped, 2),
        (claim.plot_training, training, 2),
    ]:
        _, axes = plt.subplots(1, ncols)
        plot(axes, result, session.band)
    for reading in (claim.isometry_rate_reading(rate), claim.gradient_reading(grads), claim.shaping_reading(shaped)):
        assert reading
    assert len(claim.training_reading(training).splitlines()) == 4
    assert claim.training_table(training).shape == (8, 2)
    best = training["best_step"]
    assert len(best) == 2 * 2 and set(best.lr) <= {0.001, 0.005} and set(best.steps.map(tuple)) == {(0.001, 0.005)}
    assert claim.step_scan_table(training).shape == (2, 2)
    ratios = claim.sample_ratio_growth(session)
    assert set(ratios["slope"][8]) == {0.5, 1.0}
    checks, numbers, supporting = claim.checks(rate, theorem, grads, shaped, training, ratios)
    assert len(checks) == 13 and len(supporting) == 7 and numbers["train_max_depth"] == 3
    assert set(numbers["best_step_loss_by_depth"]) == {"orthogonal", "Gaussian"}
    assert set(numbers["gradient_slope_by_sample_ratio"][8]) == {0.5, 1.0}
    assert len(claim.summary(rate, theorem, grads, shaped, training, ratios).splitlines()) == 5 + 4 + 2 + 1


# --- checks and summary ---------------------------------------------------------------------------------------------


def test_checks_pass_on_results_that_reproduce_the_claim():
    checks, numbers, supporting = claim.checks(*passing_results())
    assert all(checks.values()), [name for name, ok in checks.items() if not ok]
    assert "orthogonal + BN trains at every depth up to 300" in checks
    assert "shaped tanh train at depth 300, unshaped fail" in checks
    assert numbers["isometry_rate"] == {8: -0.1, 16: -0.05, 32: -0.025}
    assert numbers["trains_at_max_depth"] == {
        "orthogonal": True,
        "Gaussian": False,
        "orthogonal, tanh, gain": True,
        "orthogonal, tanh": False,
    }
    assert numbers["train_outcome"]["Gaussian"] == {10: "trains", 300: "fails"}
    assert numbers["grad_slope_centred_ci"] == [0.01, 0.03]
    assert {name: bool(ok) for name, ok in supporting.items()} == {
        "centred BN: measurable growth up to depth 300 (slope CI above 0)": True,
        "with the gain, no measurable growth (gain-corrected slope CI contains 0, tanh and sin)": True,
        "n = d/2 samples explode with orthogonal weights (slope CI above 0)": True,
        "orthogonal weights, n/d = 0.5: the gradient grows (slope CI above 0) at widths 16": True,
        "orthogonal weights, n = d: |slope| below a tenth of the smallest n < d slope at widths 16": True,
        "mini-batch BN statistics: orthogonal + BN trains at every depth up to 300": True,
        "mini-batch BN statistics: Gaussian + BN fails at depth 300": True,
    }
    assert numbers["best_step_loss_by_depth"]["Gaussian"][300]["outcome"] == "fails"
    assert numbers["gaussian_fails_at_best_step_depths"] == [300]
    scan = numbers["step_scan_loss_by_depth"]["Gaussian"][300]
    assert set(scan) == {0.001, 0.005} and scan[0.001]["mean"] == pytest.approx(2.1)


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        ({"gaussian": -0.5}, "Gaussian weights explode"),
        ({"gaussian": 0.005}, "orthogonal weights stay bounded (|slope| < 10% of Gaussian)"),
        ({"gaussian_at_deepest": "trains"}, "Gaussian + BN fails at depth 300"),
        ({"theorem_holds": False}, "Theorem 3 holds (Monte Carlo)"),
        (
            {"gaussian_best": "trains"},
            "Gaussian + BN fails at depth 300 at its best step of 0.001, 0.005 (same budget)",
        ),
    ],
)
def test_checks_fail_on_results_that_do_not(changes, failed):
    checks, _, _ = claim.checks(*passing_results(**changes))
    assert not checks[failed]


def test_checks_fail_when_the_rate_does_not_fall_with_width():
    rate, *rest = passing_results()
    rate["rate"][32] = estimate(-0.2)
    checks, _, _ = claim.checks(rate, *rest)
    assert not checks["the rate falls with width"]
    assert checks["isometry gap decays exponentially at every width"]


def test_summary_prints_the_key_numbers_coarsely():
    assert claim.summary(*passing_results()).splitlines() == [
        "isometry rate x width: 0.8, 0.8, 0.8",
        "gradient slope per layer: |orthogonal| < 0.001: True, Gaussian 0.50",
        "centred BN at least 10 times slower than Gaussian: True",
        "tanh slope without gain 0.09; gain slows it at least 10-fold: True",
        "Theorem 3 holds in every Monte Carlo case: True",
        "trains at depth 300: orthogonal: True",
        "trains at depth 300: Gaussian: False",
        "trains at depth 300: orthogonal, tanh, gain: True",
        "trains at depth 300: orthogonal, tanh: False",
        "trains at depth 300 at its best step: orthogonal: True",
        "trains at depth 300 at its best step: Gaussian: False",
        "orthogonal: grows at every n < d: True; bounded at n = d: True",
    ]


# --- analysis.per_seed_log_slope -------------------------------------------------------------------------------------


def test_per_seed_log_slope_fits_the_exponential_rate_of_each_seed():
    layers = np.arange(0, 20, 2)
    rates = [-0.1, -0.2, -0.3]
    table = pd.DataFrame(
        [{"seed": s, "layer": layer, "gap": 2.0 * math.exp(r * layer)} for s, r in enumerate(rates) for layer in layers]
    )
    result = analysis.per_seed_log_slope(table, "layer", "gap")
    assert result.mean == pytest.approx(-0.2) and result.low < -0.2 < result.high
    logged = table.assign(log_gap=np.log(table.gap))
    assert result == analysis.per_seed_slope(logged, "layer", "log_gap")
    assert (
        analysis.per_seed_log_slope(table.assign(gap=table.gap.where(table.layer != 4, 0.0)), "layer", "gap").mean
        == math.inf
    )
    with pytest.raises(ValueError, match="'rate'"):
        analysis.per_seed_log_slope(table, "layer", "rate")

"""Claim 05's task functions, summaries and checks, at small sizes (seconds)."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from normprop import analysis
from normprop.analysis import Estimate
from normprop.claims import claim_module
from normprop.repro import sweeps
from normprop.seeding import make_generator

claim = claim_module("05")

SIZES = {
    "seeds": 2,
    "dataset": "digits",
    "width": 64,
    "depths": [2, 4],
    "epochs": 1,
    "lr": 0.01,
    "batch_size": 256,
    "init_batch": 96,
    "fig3b_depth": 2,
    "fig3b_epochs": 1,
    "variant_depth": 2,
    "variant_epochs": 1,
    "support_depths": [2, 3],
    "support_epochs": 1,
    "beta_depth": 2,
    "beta_epochs": 1,
    "beta_seeds": 2,
    "beta_activations": ["sigmoid", "tanh", "relu"],
    "steps": [0.003, 0.01],
    "step_depths": [4],
    "step_epochs": 1,
    "control_seeds": 2,
}
TRAINING = claim.training_settings(SIZES)


def estimate(mean: float, half: float = 0.1) -> Estimate:
    return Estimate(mean, mean - half, mean + half, 5)


class FakeSession:
    """Runs a sweep's tasks here, as Session.grid / Session.cases do, without a record or a cache."""

    def __init__(self, sizes=SIZES, seed=0):
        self.sizes, self.seed, self.names = sizes, seed, []
        self.settings = sweeps.SweepSettings(seed, "05_sgd_acceleration")

    def cases(self, name, function, configurations, /, fixed=None, seeds=None, shard=None, shared=None):
        self.names.append(name)
        args = (name, function, configurations, self.settings, fixed, seeds, shard, None, None, shared)
        return sweeps.run_sweep(*args)[0]

    def grid(self, name, function, /, fixed=None, seeds=None, shard=None, shared=None, **axes):
        return self.cases(name, function, sweeps.grid_configurations(**axes), fixed, seeds, shard, shared)


def test_claim_module_is_cheap_to_import():
    code = (
        "import sys; from normprop.claims import claim_module; claim_module('05'); "
        "print([m for m in ('torch', 'pandas', 'seaborn', 'scipy.stats') if type(sys.modules.get(m)) is type(sys)])"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    assert claim.CLAIM.notebook == "05_sgd_acceleration"
    assert set(claim.CLAIM.figures) == {
        "05_fig3a_gap_and_loss_vs_depth",
        "05_fig3b_training",
        "05_fig4_orthogonal_vs_xavier",
        "05_supporting",
    }


def test_training_settings_hold_what_fit_needs_besides_the_configuration():
    assert TRAINING == {
        "dataset": "digits",
        "width": 64,
        "lr": 0.01,
        "batch_size": 256,
        "init_batch": 96,
        "v_prime": "sample",
        "scale": "rms",
    }
    assert claim.training_settings(SIZES, "input", "paper")["v_prime"] == "input"


def test_fit_trains_every_seed_and_records_every_epoch():
    result = claim.fit(2, "iterative_orthogonalization", 2, 3, make_generator(0), **TRAINING)
    assert sorted(result.history.columns) == ["epoch", "gap", "loss", "rms", "seed"]
    assert len(result.history) == 3 * 3  # epochs 0, 1, 2 for 3 seeds
    assert result.message is None and np.isfinite(result.history.loss).all()
    assert [tuple(w.shape[:1]) for w in result.initial_weights] == [(3,)] * 3  # two hidden layers and the readout


def test_history_labels_the_init_and_is_reproducible():
    first = claim.history(2, "he", 2, make_generator(5), epochs=1, **TRAINING)
    again = claim.history(2, "he", 2, make_generator(5), epochs=1, **TRAINING)
    pd.testing.assert_frame_equal(first, again)
    assert set(first.init) == {"He"} and first.message.isna().all() and first.seeds_differ.all()
    assert sorted(first.epoch.unique()) == [0, 1]


def test_main_runs_share_draws_within_a_depth_exactly_as_task_seed_did():
    settings = sweeps.SweepSettings(0, "05_sgd_acceleration")
    configurations = [{"depth": d, "init": init} for d in (5, 15) for init in claim.INITS]
    shared = sweeps.SharedDraws("main: shared draws", ("depth",))
    _, tasks = sweeps.plan("main", claim.history, configurations, settings, None, 5, 5, shared)
    expected = [
        sweeps.task_seed(0, "05_sgd_acceleration", "main: shared draws", {"depth": c["depth"]}) for c in configurations
    ]
    assert [task.seed for task in tasks] == expected
    assert len({task.seed for task in tasks}) == 2  # one per depth


def test_main_runs_xavier_and_he_start_with_the_same_gap_and_differ_in_scale():
    session = FakeSession()
    main = claim.main_runs(session)
    assert session.names == ["main"] and "run_seed" not in main
    assert set(main.init) == set(claim.INITS.values()) and sorted(main.depth.unique()) == SIZES["depths"]
    at_init = main[main.epoch == 0].set_index(["depth", "seed", "init"])
    for depth in SIZES["depths"]:
        xavier, he = (at_init.loc[(depth, slice(None), label)] for label in (claim.XAVIER, claim.HE))
        np.testing.assert_allclose(xavier.gap.to_numpy(), he.gap.to_numpy(), rtol=1e-6)
        assert (xavier.rms.to_numpy() < he.rms.to_numpy()).all()  # Xavier's signal shrinks
    runs = claim.summarize_main(main, SIZES["depths"])
    assert runs.same_gap < 1e-6 and runs.seed_weights_distinct and not runs.messages
    assert list(runs.fig3a_table().index) == SIZES["depths"] and runs.fig3a_table().shape == (2, 9)
    assert "Xavier's RMS at init falls with depth" in claim.fig3a_reading(runs)
    assert "depth  4:" in claim.fig4_reading(runs)


def main_table(loss: dict, gap: dict, rms: dict, depths=(5, 15), seeds=3) -> pd.DataFrame:
    """A main-runs table with given per-(init, depth) means and a small spread over seeds."""
    rows = []
    for label in claim.INITS.values():
        for d in depths:
            for s in range(seeds):
                jitter = 0.01 * (s - 1)
                rows.append(
                    {"seed": s, "epoch": 0, "loss": 2.3, "gap": gap[label][d] + jitter, "rms": rms[label][d] + jitter}
                )
                rows.append({"seed": s, "epoch": 1, "loss": loss[label][d] + jitter, "gap": 0.5, "rms": 1.0})
                rows[-2].update(init=label, depth=d, message=None, seeds_differ=True)
                rows[-1].update(init=label, depth=d, message=None, seeds_differ=True)
    return pd.DataFrame(rows)


XAV, HE, ORTH = claim.XAVIER, claim.HE, claim.ORTHOGONAL
GOOD = {
    "loss": {XAV: {5: 2.0, 15: 2.3}, HE: {5: 0.5, 15: 1.5}, ORTH: {5: 0.2, 15: 0.3}},
    "gap": {XAV: {5: 0.5, 15: 0.9}, HE: {5: 0.5, 15: 0.9}, ORTH: {5: 0.1, 15: 0.1}},
    "rms": {XAV: {5: 0.2, 15: 0.01}, HE: {5: 1.0, 15: 1.1}, ORTH: {5: 1.0, 15: 1.0}},
}


def other_results():
    change = {label: {"loss": estimate(-0.5), "gap": estimate(-0.2)} for label in (XAV, HE)}
    variants = {"stable": {"sample/rms": True}, "stable_names": ["sample/rms"], "loss": {"sample/rms": 0.3}}
    support = {"rank_bn": estimate(60), "rank_plain": estimate(3), "loss_bn": estimate(0.3), "loss_plain": estimate(2)}
    support["bn_vs_he"] = {15: {"BN": estimate(0.3), "He": estimate(1.5)}}
    beta = {
        "spearman": {setup: -1.0 for setup in claim.SETUPS.values()},
        "reproduced": {setup: True for setup in claim.SETUPS.values()},
        "floor_order": -0.5,
    }
    table = pd.DataFrame({"init": [HE, HE, ORTH, ORTH], "depth": 15, "lr": 0.01, "loss": [0.9, 1.1, 0.04, 0.06]})
    scan = {"best": best_rows(orthogonal=0.05, he=1.0), "steps": [0.003, 0.01, 0.03], "epochs": 10, "table": table}
    layers = {
        "every layer (the main runs)": estimate(0.2),
        "first layer only": estimate(1.5),
        "all but the first": estimate(0.2),
        "none (He)": estimate(1.5),
    }
    return change, variants, support, beta, scan, layers


def best_rows(orthogonal: float, he: float, depth: int = 15) -> pd.DataFrame:
    """What train.best_step_outcomes returns for He and the orthogonal start at one depth."""
    return pd.DataFrame(
        [
            {"init": label, "depth": depth, "lr": 0.01, "mean": mean, "low": mean - 0.1, "high": mean + 0.1}
            | {"seeds": 5, "diverged": 0, "outcome": "trains", "steps": [0.003, 0.01, 0.03], "diverged_steps": [0.03]}
            for label, mean in ((HE, he), (ORTH, orthogonal))
        ]
    )


def test_summarize_main_and_checks_pass_on_data_that_reproduces_the_claim():
    runs = claim.summarize_main(main_table(**GOOD), [5, 15])
    assert runs.gap_rises and runs.xavier_rms_falls and runs.he_rms_order_one and runs.he_loss_rises
    assert runs.faster_than_xavier == [5, 15] and runs.faster_than_he == [5, 15] and runs.he_slowed == [15]
    assert runs.speedup_depth == 15 and runs.faster_than_he_where_slowed
    checks, numbers, supporting = claim.checks(runs, *other_results())
    assert all(checks.values()), checks
    assert (
        len(checks) == 11
        and "orthogonal start: lower loss than He at every depth where He's loss is above its depth-5 CI" in checks
    )
    assert (
        supporting.pop(
            "eq. 6 on the first layer only (a square-root step of the input's spectrum): lower loss than He at depth 15"
        ).holds
        is False
    )
    assert all(supporting.values()) and len(supporting) == 7
    margins = [ok.margin for ok in (*checks.values(), *supporting.values()) if isinstance(ok, analysis.Check)]
    assert len(margins) == 12 and all(m is None or m > 0 for m in margins)
    assert numbers["best_step_loss_by_depth"][HE][15] == {
        "step": 0.01, "mean": 1.0, "low": 0.9, "high": 1.1, "did_not_train_at": [0.03]
    }  # fmt: skip
    assert numbers["loss_by_orthogonalized_layers"]["first layer only"] == {"mean": 1.5, "low": 1.4, "high": 1.6}
    assert numbers["main_runs_diverged"] == []
    assert numbers["bn_vs_he_loss"][15]["He"] == {"mean": 1.5, "low": 1.4, "high": 1.6}
    assert numbers["loss_he"] == pytest.approx({5: 0.5, 15: 1.5})
    assert numbers["rms_at_init"][XAV] == pytest.approx({5: 0.2, 15: 0.01})
    assert numbers["fig3b_loss_and_gap_fall"] == {XAV: True, HE: True}
    assert set(numbers) == {
        "loss_xavier", "loss_he", "loss_orthogonal", "gap_at_init", "gap_at_init_orthogonal", "rms_at_init",
        "speedup_depth", "faster_than_he_depths", "he_slowed_depths", "seed_weights_distinct", "v_prime_stable",
        "variant_loss", "beta_order_spearman_by_setup", "beta_order_reproduced", "beta_order_spearman_of_loss_floors",
        "fig3b_loss_and_gap_fall", "bn_vs_he_loss", "best_step_loss_by_depth", "loss_by_orthogonalized_layers",
        "main_runs_diverged", "step_scan_loss_by_depth",
    }  # fmt: skip


def test_checks_fail_when_the_orthogonal_start_is_not_faster():
    loss = {XAV: {5: 2.0, 15: 2.3}, HE: {5: 0.5, 15: 1.5}, ORTH: {5: 2.0, 15: 2.3}}  # no better than Xavier
    runs = claim.summarize_main(main_table(loss, GOOD["gap"], GOOD["rms"]), [5, 15])
    checks, numbers, _ = claim.checks(runs, *other_results())
    assert not checks["orthogonal start: lower loss than Xavier at every depth"]
    assert checks["orthogonal start: lower loss than Xavier at every depth"].margin < 0
    assert not checks["orthogonal start: lower loss than He at every depth where He's loss is above its depth-5 CI"]
    assert numbers["speedup_depth"] is None and numbers["faster_than_he_depths"] == []


def test_checks_fail_on_a_stopped_run_a_growing_he_signal_and_bn_that_does_not_help():
    table = main_table(GOOD["loss"], GOOD["gap"], {**GOOD["rms"], HE: {5: 1.0, 15: 9.0}})
    table.loc[3, "message"] = "training stopped at epoch 1"
    runs = claim.summarize_main(table, [5, 15])
    change, variants, support, beta, *_ = other_results()
    support = {
        **support,
        "rank_bn": estimate(3.1),
        "loss_bn": estimate(2),
        "bn_vs_he": {15: {"BN": estimate(1.6), "He": estimate(1.5)}},
    }
    checks, numbers, supporting = claim.checks(runs, change, variants, support, beta, *other_results()[4:])
    assert not supporting[
        "no main run diverged at the paper's step (a diverged run did not train and enters as loss inf)"
    ]
    assert numbers["main_runs_diverged"] == ["depth 5, Xavier: training stopped at epoch 1"]
    assert not checks["He: last hidden layer's RMS at init stays between 1/4 and 4"]
    assert not checks["BN keeps a higher rank at init than without BN"]
    assert checks["BN keeps a higher rank at init than without BN"].margin < 0
    assert not supporting["BN trains better than without BN (Xavier: confounded by its vanishing signal)"]
    assert not supporting["BN trains better than He (the same epochs) at every supporting depth"]
    assert checks["Xavier: last hidden layer's RMS at init falls with depth"]


def test_training_change_is_paired_over_seeds():
    rows = [
        {"init": "He", "seed": s, "epoch": e, "loss": 2.0 - e * (0.5 + 0.01 * s), "gap": 0.9 - 0.1 * e}
        for s in range(4)
        for e in (0, 1, 2)
    ]
    change = claim.training_change(pd.DataFrame(rows))
    assert change["He"]["loss"].mean == pytest.approx(-1.03) and change["He"]["gap"].mean == pytest.approx(-0.2)
    assert claim.loss_and_gap_fall(change)["He"]
    fails = claim.loss_and_gap_fall({"He": {"loss": estimate(-0.05), "gap": estimate(-0.5)}})["He"]
    assert not fails and fails.margin == pytest.approx(-0.5)  # the loss's CI reaches 0.05 above 0: half a half width
    assert "loss and gap both fall (95% CIs below 0): True" in claim.fig3b_reading(change)


def test_long_run_trains_the_fig3b_depth():
    table = claim.long_run("xavier", 2, make_generator(1), depth=2, epochs=2, **TRAINING)
    assert set(table.init) == {"Xavier"} and sorted(table.epoch.unique()) == [0, 1, 2]


def test_variant_row_and_the_variants_summary():
    fixed = {k: v for k, v in TRAINING.items() if k not in ("v_prime", "scale")}
    row = claim.variant_row("input", "paper", 2, make_generator(2), depth=2, epochs=1, **fixed)
    assert row["epochs run"] == 1 and row["stable"] and row["seeds differ"] and math.isfinite(row["loss"])
    variants = pd.DataFrame(
        [
            {"v_prime": v, "scale": s, "loss": loss, "stable": math.isfinite(loss)}
            for v, s, loss in [("sample", "rms", 0.2), ("sample", "paper", 0.4), ("input", "rms", math.inf),
                               ("input", "paper", 0.5)]
        ]
    )  # fmt: skip
    summary = claim.summarize_variants(variants)
    assert summary["stable_names"] == ["sample/rms", "sample/paper", "input/paper"]
    assert summary["scale_gain"] == {"sample": 0.5, "input": "n/a, a run overflowed"}
    assert summary["loss"]["input/rms"] == math.inf


def test_variant_and_shared_batch_sweeps():
    session = FakeSession()
    variants = claim.variant_runs(session)
    assert len(variants) == 8 and variants.stable.all() and variants["seeds differ"].all()
    # One initialisation batch shared by all seeds and V' = V: every seed gets the same hidden weights.
    assert claim.shared_batch_init(2, make_generator(3), dataset="digits", width=64, depth=2) == {"seeds differ": False}
    assert claim.shared_batch_distinct(session) is False
    assert session.names == ["variants", "shared batch"]


def test_support_rows_and_rank_and_loss():
    table = claim.support_rows(3, "batch", 2, make_generator(4), dataset="digits", width=64, epochs=1, lr=0.01)
    assert list(table.columns) == ["seed", "rank at init", "loss"] and len(table) == 2
    assert (table["rank at init"] <= 64).all()
    support = claim.support_runs(FakeSession())
    assert set(support.network) == {"BN", "no BN"} and sorted(support.depth.unique()) == [2, 3]
    summary = claim.rank_and_loss(support)
    assert summary["depth"] == 3 and summary["rank_bn"].count == 2 and summary["bn_vs_he"] == {}
    # BN against He from the main runs, after the same number of epochs, at the depths both have.
    he = [{"init": claim.HE, "depth": d, "seed": s, "epoch": e, "loss": 1.0 + d + e + 0.1 * s}
          for d in (2, 4) for s in range(2) for e in (0, 1)]  # fmt: skip
    summary = claim.rank_and_loss(support, pd.DataFrame(he), epochs=1)
    assert list(summary["bn_vs_he"]) == [2] and summary["bn_vs_he"][2]["He"].mean == pytest.approx(4.05)
    assert "depth 2, same epochs: loss BN" in claim.bn_reading(summary)


def test_isometry_at_init_and_the_orders_table():
    row = claim.isometry_at_init("tanh", "act_norm", 2, make_generator(5), dataset="digits", width=64, depth=2)
    assert row["beta_sigma"] > 0 and row["isometry gap at init"] >= 0
    orders = claim.isometry_orders(FakeSession())
    assert list(orders.index) == SIZES["beta_activations"] and list(orders.columns) == ["act_norm", "norm_act"]
    gap = claim.input_isometry_gap("digits")
    assert gap > 0 and "input's isometry gap" in claim.orders_reading(orders, gap)


def test_beta_rows_and_the_beta_summary():
    table = claim.beta_rows(True, "sigmoid", 2, make_generator(6), depth=2, epochs=1, **TRAINING)
    assert set(table.setup) == {"activation on the logits"} and (table.loss >= table.floor).all()
    assert (table.floor > 1).all()  # sigmoid on the logits: log(1 + 9/e)
    rows = [
        {"setup": setup, "activation": a, "seed": s, "beta_sigma": b, "loss": loss + 0.01 * s, "floor": on * floor}
        for setup, on in (("linear logits", 0.0), ("activation on the logits", 1.0))
        for a, b, loss, floor in (("relu", 0.0, 2.0, 0.0), ("tanh", 0.5, 1.0, 0.8), ("sigmoid", 1.0, 0.5, 1.46))
        for s in range(2)
    ]
    summary = claim.summarize_beta(pd.DataFrame(rows))
    assert summary["spearman"] == {
        "linear logits": pytest.approx(-1.0),
        "activation on the logits": pytest.approx(-1.0),
    }
    assert all(summary["reproduced"].values()) and summary["order"] == ["relu", "tanh", "sigmoid"]
    assert summary["floor_order"] == pytest.approx(1.0)  # the floors rise with beta_sigma
    rows = [{**row, "loss": 3 - row["loss"]} for row in rows]  # the order reversed: not reproduced
    assert not any(claim.summarize_beta(pd.DataFrame(rows))["reproduced"].values())
    assert "Spearman(beta_sigma, loss)" in claim.beta_reading(summary)


def test_the_plots_draw_every_panel():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = claim.summarize_main(main_table(**GOOD), [5, 15])
    band = {"errorbar": None}
    fig, axes = plt.subplots(1, 3)
    claim.plot_fig3a(axes, runs, 1, band)
    assert [len(ax.lines) > 0 for ax in axes] == [True] * 3
    fig, axes = plt.subplots(1, 2)
    claim.plot_fig4(axes, runs.table, {"depths": [5, 15], "width": 8, "dataset": "digits"}, band)
    assert axes[0].get_title() == "depth 5" and fig._suptitle.get_text() == "plain ReLU MLP, width 8, digits"
    plt.close("all")


def test_best_step_checks_fail_when_he_at_its_best_step_is_as_good():
    runs = claim.summarize_main(main_table(**GOOD), [5, 15])
    *others, scan, layers = other_results()
    scan = {**scan, "best": best_rows(orthogonal=0.5, he=0.5)}
    layers = {**layers, "all but the first": estimate(1.5)}
    checks, _, _ = claim.checks(runs, *others, scan, layers)
    assert not checks[
        "each at its best step of 0.003, 0.01, 0.03 (10 epochs): orthogonal start lower loss than He at depth 15"
    ]
    assert not checks["orthogonalizing every layer but the first: lower loss than He at depth 15"]


def test_loss_at_step_and_partial_orthogonalization_train_every_seed():
    settings = {key: value for key, value in TRAINING.items() if key != "lr"}
    table = claim.loss_at_step("he", 0.01, 3, 2, make_generator(0), epochs=1, **settings)
    assert list(table.columns) == ["seed", "loss", "init"] and np.isfinite(table.loss).all()
    for layers in ("first", "rest"):
        part = claim.partially_orthogonalized(layers, 2, make_generator(1), depth=3, epochs=1, **TRAINING)
        assert list(part.columns) == ["seed", "loss"] and len(part) == 2 and np.isfinite(part.loss).all()


def test_step_scan_reads_the_paper_step_off_the_main_runs():
    session = FakeSession()
    main = claim.main_runs(session)
    scan = claim.step_scan(session, main)
    assert session.names[-1] == "step scan"
    assert sorted(scan["table"].lr.unique()) == [0.003, 0.01]
    literal = scan["table"][scan["table"].lr == 0.01]
    expected = main[(main.depth == 4) & (main.epoch == 1) & main.init.isin([HE, ORTH])]
    assert sorted(literal.loss) == sorted(expected.loss)
    assert set(scan["best"].init) == {HE, ORTH} and set(scan["best"].depth) == {4}
    assert claim.step_scan_table(scan).shape == (2, 3)
    runs = claim.summarize_main(main, SIZES["depths"])
    layers = claim.orthogonalized_layers(session, runs)
    assert list(layers) == ["every layer (the main runs)", "first layer only", "all but the first", "none (He)"]

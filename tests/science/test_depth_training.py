"""Training at depth (train.sgd_to_budget, train.training_outcomes) and growth ratios of slopes (stats.growth_ratio)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from normprop import analysis as stats
from normprop import nets, seeding, train
from normprop.analysis import Estimate


def small_problem(generator):
    x = torch.randn(96, 6, generator=generator)
    y = torch.randint(0, 3, (96,), generator=generator)
    return x, y, nets.NetworkSpec(4, 3, norm="batch", init="orthogonal", order="act_norm")


def test_budget_matches_train_fit_when_nothing_diverges():
    x, y, spec = small_problem(seeding.make_generator(0))
    fitted = train.fit(x, y, spec, 3, 2, seeding.make_generator(7), lr=0.05, batch_size=16)
    losses = train.train_losses_after_budget(x, y, spec, 3, 2, seeding.make_generator(7), lr=0.05, batch_size=16)
    expected = fitted.history[fitted.history.epoch == 2].sort_values("seed")["loss"].to_numpy()
    assert fitted.message is None
    np.testing.assert_allclose(losses, expected, rtol=1e-5)


@pytest.mark.parametrize("scale", [math.nan, 3e36], ids=["non-finite-at-start", "diverges-during-training"])
def test_a_diverged_seed_is_inf_and_the_others_train_on_as_if_alone(scale):
    x, y, spec = small_problem(seeding.make_generator(0))
    weights = train.init_weights(3, 6, spec, seeding.make_generator(1), classes=3)
    broken = [w.clone() for w in weights]
    broken[-1][1] *= scale  # seed 1's readout: NaN, or so large that its first SGD steps blow up
    losses = train.sgd_to_budget(x, y, broken, spec, 3, seeding.make_generator(2), lr=0.05, batch_size=16)
    alone = train.sgd_to_budget(
        x, y, [w[[0, 2]] for w in weights], spec, 3, seeding.make_generator(2), lr=0.05, batch_size=16
    )
    assert losses[1] == math.inf
    np.testing.assert_array_equal(losses[[0, 2]], alone)  # bit for bit: the seeds are independent in the batch
    # train.sgd alone would have stopped every seed early.
    stopped = train.sgd(x, y, broken, spec, 3, seeding.make_generator(2), lr=0.05, batch_size=16)
    assert stopped.message is not None and stopped.history.epoch.max() < 3


def test_all_seeds_diverged():
    x, y, spec = small_problem(seeding.make_generator(0))
    weights = [w * math.nan for w in train.init_weights(2, 6, spec, seeding.make_generator(1), classes=3)]
    losses = train.sgd_to_budget(x, y, weights, spec, 2, seeding.make_generator(2))
    assert (losses == math.inf).all()


def test_growth_ratio():
    fast, slow = Estimate(1.0, 0.8, 1.2, 8), Estimate(0.1, 0.05, 0.2, 6)
    ratio = stats.growth_ratio(fast, slow)
    assert (ratio.mean, ratio.low, ratio.high) == pytest.approx((10.0, 4.0, 24.0)) and ratio.count == 6
    unresolved = stats.growth_ratio(fast, Estimate(0.1, -0.05, 0.25, 8))
    assert unresolved.mean == pytest.approx(10.0) and unresolved.low == pytest.approx(3.2)
    assert unresolved.high == math.inf
    assert stats.growth_ratio(fast, Estimate(-0.1, -0.3, 0.1, 8)).mean == math.inf
    assert stats.growth_ratio(fast, Estimate(-0.1, -0.3, -0.01, 8)).low == math.inf
    with pytest.raises(ValueError, match="fast must grow"):
        stats.growth_ratio(Estimate(0.1, -0.1, 0.3, 8), slow)


def test_training_outcomes():
    table = pd.DataFrame(
        {
            "run": ["a"] * 6 + ["b"] * 6,
            "depth": [10, 10, 10, 50, 50, 50] * 2,
            "loss": [0.5, 0.6, 0.55, 2.0, 2.1, 2.2, 1.0, 1.3, 1.6, 0.4, math.inf, 0.5],
        }
    )
    outcomes = train.training_outcomes(table, threshold=1.15).set_index(["run", "depth"])
    assert outcomes.loc[("a", 10), "outcome"] == "trains" and outcomes.loc[("a", 10), "mean"] == pytest.approx(0.55)
    assert outcomes.loc[("a", 50), "outcome"] == "fails" and outcomes.loc[("a", 50), "diverged"] == 0
    assert outcomes.loc[("b", 10), "outcome"] == "undecided"
    diverged = outcomes.loc[("b", 50)]
    assert diverged["outcome"] == "fails" and diverged["diverged"] == 1 and diverged["mean"] == math.inf
    assert list(outcomes.index) == [("a", 10), ("a", 50), ("b", 10), ("b", 50)]
    with pytest.raises(ValueError, match="columns"):
        train.training_outcomes(table.drop(columns="depth"), 1.0)

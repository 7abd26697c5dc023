"""Training: the orthogonalizing initialiser's defining property and factor order, batched SGD, digits."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from normprop import data, metrics, nets, seeding, train

SHAPES = [(8, 16, 16), (16, 16, 16), (32, 12, 20)]
CASES = [
    (n, d, width, v_prime)
    for n, d, width in SHAPES
    for v_prime in ("haar", "identity", "input")
    if v_prime != "input" or width == d  # V' = V needs as many units as input features
]
LOGIT_FLOORS = [("sigmoid", math.log(1 + 9 / math.e)), ("tanh", math.log(1 + 9 / math.e**2)), ("relu", 0.0)]


@pytest.mark.parametrize("n, d, width, v_prime", CASES)
def test_orthogonalizing_weight_takes_the_square_root_of_the_spectrum(generator, n, d, width, v_prime):
    h = data.near_collinear_batch(3, n, d, generator, cosine=0.8, dtype=torch.float64)
    z = h @ train.orthogonalizing_weight(h, width, generator, v_prime)
    # Eigenvalues of z z^T are proportional to the singular values of h (the eigenvalues of h h^T, square-rooted).
    r = min(n, d)
    eig_z = torch.linalg.eigvalsh(z @ z.mT).flip(-1)[..., :r]
    singular = torch.linalg.svdvals(h)[..., :r]
    torch.testing.assert_close(eig_z / eig_z[..., :1], singular / singular[..., :1], rtol=1e-8, atol=1e-10)
    # ... so the next layer's input is more orthogonal than h (the initialiser's defining property) ...
    assert (metrics.orthogonality_gap(z) < metrics.orthogonality_gap(h)).all()
    # ... and the pre-activations have unit mean square.
    torch.testing.assert_close(z.square().mean((-2, -1)), torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("v_prime", ["haar", "identity", "input", "sample"])
def test_the_papers_scale_gives_the_batch_unit_norm_and_the_rms_scale_unit_mean_square(generator, v_prime):
    h = data.near_collinear_batch(2, 40, 16, generator, cosine=0.8, dtype=torch.float64)
    # The same draw of a random V' for both scales.
    z_rms = h @ train.orthogonalizing_weight(h, 16, seeding.make_generator(5), v_prime, scale="rms")
    z_paper = h @ train.orthogonalizing_weight(h, 16, seeding.make_generator(5), v_prime, scale="paper")
    torch.testing.assert_close(z_rms.square().mean((-2, -1)), torch.ones(2, dtype=torch.float64))
    # eq. 6: c = 1 / ||S^(1/2)||_F, i.e. c^2 = 1 / tr S with S the singular values of h.
    if v_prime != "sample":  # orthonormal V': ||U S^(1/2) V'^T||_F^2 = tr S, so the batch has unit norm
        torch.testing.assert_close(z_paper.square().sum((-2, -1)), torch.ones(2, dtype=torch.float64))
    # Same directions: the two scales differ by one positive factor per seed.
    ratio = z_rms / z_paper
    torch.testing.assert_close(ratio, ratio[:, :1, :1].expand_as(ratio))


def test_the_papers_sample_slice_reads_eq6_literally(generator):
    # H = h^T (features x samples) = U_H S V_H^T; eq. 6's V' is a slice of V_H, the sample-side factor (our U):
    # W_H = V' S^(-1/2) U_H^T / ||S^(1/2)||_F, and our weight is its transpose.
    h = data.near_collinear_batch(3, 24, 8, generator, cosine=0.8, dtype=torch.float64)
    u, s, vh = torch.linalg.svd(h[0], full_matrices=False)
    paper = u[:8] @ torch.diag(s.rsqrt()) @ vh / s.sum().sqrt()  # (width x d): V' S^-1/2 U_H^T, U_H = our V
    ours = train.orthogonalizing_weight(h, 8, generator, "sample", scale="paper")
    torch.testing.assert_close(ours[0], paper.T)
    # It orthogonalizes a collinear batch too (its V' is not orthonormal, so the spectrum is only roughly
    # square-rooted and a nearly orthogonal batch can even get worse).
    assert (metrics.orthogonality_gap(h @ ours) < metrics.orthogonality_gap(h)).all()
    with pytest.raises(ValueError, match="at least width samples"):
        train.orthogonalizing_weight(h[:, :4], 8, generator, "sample")


def test_init_batches_are_random_distinct_rows_per_seed(generator):
    x = torch.arange(40.0).reshape(20, 2)
    batches = train.init_batches(x, 3, 7, generator)
    assert batches.shape == (3, 7, 2)
    rows = batches[..., 0] / 2  # row index of each sampled row
    for seed_rows in rows:
        assert len(set(seed_rows.tolist())) == 7  # without replacement
    assert not torch.equal(batches[0], batches[1])
    with pytest.raises(ValueError, match="size"):
        train.init_batches(x, 3, 21, generator)


def test_seed_weights_are_distinct_with_a_batch_per_seed_and_identical_with_a_shared_one(generator):
    x, _, _, _ = data.digits()
    spec = nets.NetworkSpec(64, 3, norm="none", activation="relu", init="iterative_orthogonalization")
    shared = train.init_weights(3, 64, spec, generator, x_init=x[:300], v_prime="input")
    assert not train.distinct_across_seeds(shared[:-1])
    per_seed = train.init_weights(
        3, 64, spec, generator, x_init=train.init_batches(x, 3, 192, generator), v_prime="input"
    )
    assert train.distinct_across_seeds(per_seed[:-1])
    # One identical pair is enough to fail.
    assert not train.distinct_across_seeds([torch.cat([per_seed[0], per_seed[0][:1]])])
    with pytest.raises(ValueError, match="one per seed"):
        train.init_weights(2, 64, spec, generator, x_init=train.init_batches(x, 3, 192, generator))


@pytest.mark.parametrize("activation, floor", LOGIT_FLOORS)
def test_the_logit_activation_caps_the_loss_at_its_floor(activation, floor):
    assert train.logit_activation_loss_floor(activation) == pytest.approx(floor, abs=1e-9)
    # The best logits through the activation (true class at its maximum, the others at its minimum) reach it.
    best = nets.resolve_activation(activation)(torch.tensor([[60.0] + [-60.0] * 9]))
    loss = torch.nn.functional.cross_entropy(best, torch.tensor([0]))
    assert loss.item() == pytest.approx(floor, abs=1e-5)


def test_swapped_svd_factors_lose_the_property(generator):
    # The third-party bug: the sample factor U where the feature factor V belongs (shapes only agree if n = d).
    h = data.near_collinear_batch(4, 16, 16, generator, cosine=0.8, dtype=torch.float64)
    u, s, vh = torch.linalg.svd(h)
    swapped = u @ torch.diag_embed(s.rsqrt()) @ vh  # "V' S^-1/2 U^T" with the factors exchanged
    right = h @ (vh.mT @ torch.diag_embed(s.rsqrt()) @ vh)
    gap_right, gap_swapped = metrics.orthogonality_gap(right), metrics.orthogonality_gap(h @ swapped)
    assert (gap_right < metrics.orthogonality_gap(h)).all()
    assert (gap_swapped > gap_right + 0.05).all()


def test_iterative_orthogonalization_lowers_every_layers_gap(generator):
    x = data.near_collinear_batch(1, 48, 16, generator, cosine=0.7)[0]
    spec = nets.NetworkSpec(16, 6, norm="none", activation="relu", init="iterative_orthogonalization")
    weights = train.init_weights(2, 16, spec, generator, x_init=x, v_prime="input")
    xavier = train.init_weights(2, 16, spec.with_changes(init="xavier"), generator)
    _, hidden = train.predict(x, weights, spec)
    _, hidden_xavier = train.predict(x, xavier, spec)
    assert (metrics.orthogonality_gap(hidden) < metrics.orthogonality_gap(hidden_xavier)).all()
    assert [tuple(w.shape) for w in weights] == [(2, 16, 16)] * 6 + [(2, 16, 10)]


def test_an_mlp_and_a_chain_from_the_same_spec_and_weights_give_the_same_forward_pass(generator):
    # One layer definition: the trained MLP's hidden layers are the random chain's layers.
    spec = nets.NetworkSpec(12, 4, norm="layer", centering=True, order="act_norm", activation="tanh", init="he")
    x = data.gaussian_batch(3, 8, 12, generator, torch.float64)
    weights = train.init_weights(3, 12, spec, generator, classes=5)
    weights = [w.double() for w in weights]
    logits, hidden = train.predict(x, weights, spec)
    h = x
    for layer, weight in enumerate(weights[:-1]):
        h = nets.layer_stages(h @ weight, spec, layer)[1]
    torch.testing.assert_close(hidden, h)
    torch.testing.assert_close(logits, h @ weights[-1])
    torch.testing.assert_close(hidden, nets.forward(x, weights[:-1], spec))


def test_batched_training_equals_training_each_seed_alone():
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(5, 2, norm="none", activation="relu", init="he")
    weights = train.init_weights(2, 6, spec, seeding.make_generator(1), classes=3)
    batched = train.sgd(x, y, weights, spec, 2, seeding.make_generator(2), lr=0.1, batch_size=8)
    alone = train.sgd(x, y, [w[1:] for w in weights], spec, 2, seeding.make_generator(2), lr=0.1, batch_size=8)
    for w_batched, w_alone in zip(batched.weights, alone.weights, strict=True):
        torch.testing.assert_close(w_batched[1:], w_alone)
    history = batched.history
    assert history[history.epoch == 2].loss.mean() < history[history.epoch == 0].loss.mean()


def test_evaluating_at_the_end_only_trains_the_same_weights_bit_for_bit():
    # The per-epoch evaluation draws nothing from the generator and touches no weight: leaving it out (the tasks
    # that read the final loss only) must change nothing but which epochs are recorded.
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(5, 2, norm="none", activation="relu", init="he")
    weights = train.init_weights(2, 6, spec, seeding.make_generator(1), classes=3)
    every = train.sgd(x, y, weights, spec, 3, seeding.make_generator(2), lr=0.1, batch_size=8)
    ends = train.sgd(x, y, weights, spec, 3, seeding.make_generator(2), lr=0.1, batch_size=8, record_every=None)
    for w_every, w_ends in zip(every.weights, ends.weights, strict=True):
        assert torch.equal(w_every, w_ends)
    assert sorted(set(ends.history.epoch)) == [0, 3]
    pd.testing.assert_frame_equal(
        ends.history.reset_index(drop=True), every.history[every.history.epoch.isin([0, 3])].reset_index(drop=True)
    )
    last_only = train.sgd(
        x, y, weights, spec, 3, seeding.make_generator(2), 0.1, 8, record_start=False, record_every=None
    )
    assert sorted(set(last_only.history.epoch)) == [3]
    second = train.sgd(x, y, weights, spec, 5, seeding.make_generator(2), 0.1, 8, record_every=2)
    assert sorted(set(second.history.epoch)) == [0, 2, 4, 5]
    with pytest.raises(ValueError, match="record_every"):
        train.sgd(x, y, weights, spec, 5, seeding.make_generator(2), 0.1, 8, record_every=0)


def test_sgd_records_the_initial_weights_and_the_last_layers_rms():
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(5, 2, norm="none", activation="relu", init="he")
    weights = train.init_weights(2, 6, spec, seeding.make_generator(1), classes=3)
    result = train.sgd(x, y, weights, spec, 1, seeding.make_generator(2), lr=0.1, batch_size=8, probe=x[:10])
    for before, initial in zip(weights, result.initial_weights, strict=True):
        torch.testing.assert_close(before, initial)
    _, hidden = train.predict(x[:10], weights, spec)
    start = result.history[result.history.epoch == 0].sort_values("seed")
    np.testing.assert_allclose(start.rms, hidden.double().square().mean((-2, -1)).sqrt().numpy(), rtol=1e-6)


def test_the_activation_on_the_logits_is_an_option_of_training():
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(5, 2, norm="layer", centering=True, order="act_norm", activation="sigmoid", init="gaussian")
    weights = train.init_weights(2, 6, spec, seeding.make_generator(1), classes=3)
    linear, _ = train.predict(x, weights, spec)
    capped, _ = train.predict(x, weights, spec, logit_activation=True)
    torch.testing.assert_close(capped, torch.sigmoid(linear))
    result = train.sgd(x, y, weights, spec, 1, seeding.make_generator(2), lr=0.1, batch_size=8, logit_activation=True)
    start = result.history[result.history.epoch == 0].loss.to_numpy()
    expected = torch.nn.functional.cross_entropy(capped.transpose(1, 2), y.expand(2, -1), reduction="none").mean(-1)
    np.testing.assert_allclose(start, expected.double().numpy(), rtol=1e-6)


def test_training_stops_cleanly_on_a_non_finite_loss():
    # exp of exp of large weights overflows float32 within the first epoch.
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(8, 3, norm="none", activation="exp", init="he")
    weights = [10 * w for w in train.init_weights(2, 6, spec, seeding.make_generator(1), classes=3)]
    result = train.sgd(x, y, weights, spec, 5, seeding.make_generator(2), lr=0.1, batch_size=8)
    assert result.message is not None and "not finite" in result.message
    last = result.history[result.history.epoch == result.history.epoch.max()]
    assert np.isinf(last.loss).any() and not result.history.isna().any().any()


def test_digits_is_bundled_standardised_and_split():
    x_train, y_train, x_test, y_test = data.digits()
    assert x_train.shape == (1438, 64) and x_test.shape == (359, 64)
    assert set(y_train.tolist()) == set(range(10))
    assert x_train.mean(0).abs().max().item() < 1e-5
    with pytest.raises(ValueError, match="train_fraction"):
        data.digits(train_fraction=1.5)


def test_bad_training_arguments(generator):
    spec = nets.NetworkSpec(4, 2, norm="none", activation="relu", init="iterative_orthogonalization")
    with pytest.raises(ValueError, match="x_init"):
        train.init_weights(1, 4, spec, generator)
    with pytest.raises(ValueError, match="classes"):
        train.init_weights(1, 4, spec.with_changes(init="xavier"), generator, classes=0)
    with pytest.raises(ValueError, match="v_prime"):
        train.orthogonalizing_weight(torch.randn(1, 4, 4), 4, generator, "random")
    with pytest.raises(ValueError, match="scale"):
        train.orthogonalizing_weight(torch.randn(1, 4, 4), 4, generator, "haar", scale="unit")


def test_fit_initialises_and_trains_every_seed(generator):
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(6, 3, norm="none", activation="relu", init="iterative_orthogonalization")
    result = train.fit(x, y, spec, seeds=2, epochs=2, generator=generator, lr=0.05, batch_size=8, v_prime="input")
    assert result.message is None and sorted(result.history.seed.unique()) == [0, 1]
    assert result.weights[-1].shape == (2, 6, 3)
    assert not train.distinct_across_seeds(result.initial_weights[:-1])  # the whole of x, shared by both seeds
    per_seed = train.fit(x, y, spec, 2, 1, generator, lr=0.05, batch_size=8, v_prime="sample", init_batch=20)
    assert per_seed.message is None and train.distinct_across_seeds(per_seed.initial_weights[:-1])


def test_best_step_is_the_lowest_finite_mean_and_none_when_every_step_diverged():
    rows = [
        {"run": run, "depth": 5, "lr": lr, "seed": seed, "loss": loss}
        for run, losses in {"a": {0.1: [1.0, 1.2], 0.01: [0.4, 0.6], 0.5: [0.1, float("inf")]},
                            "b": {0.1: [1.0, float("inf")], 0.01: [float("inf"), 2.0]}}.items()
        for lr, pair in losses.items()
        for seed, loss in enumerate(pair)
    ]  # fmt: skip
    best = train.best_step_outcomes(pd.DataFrame(rows), 1.0).set_index("run")
    assert best.loc["a", "lr"] == 0.01 and best.loc["a", "mean"] == pytest.approx(0.5)
    assert best.loc["a", "diverged_steps"] == [0.5] and best.loc["a", "steps"] == [0.01, 0.1, 0.5]
    assert pd.isna(best.loc["b", "lr"]) and best.loc["b", "diverged_steps"] == [0.01, 0.1]
    assert best.loc["b", "outcome"] == "fails"
    losses = train.loss_by_step(pd.DataFrame(rows))
    assert losses["a"][5][0.01]["mean"] == pytest.approx(0.5) and losses["b"][5][0.1]["mean"] == float("inf")

"""Training: the orthogonalizing initialiser's defining property and factor order, batched SGD, digits."""

import numpy as np
import pytest
import torch

from normprop import data, metrics, nets, train

SHAPES = [(8, 16, 16), (16, 16, 16), (32, 12, 20)]
CASES = [
    (n, d, width, v_prime)
    for n, d, width in SHAPES
    for v_prime in ("haar", "identity", "input")
    if v_prime != "input" or width == d  # V' = V needs as many units as input features
]


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
    weights = train.init_weights(2, 6, spec, nets.make_generator(1), classes=3)
    batched = train.sgd(x, y, weights, spec, 2, nets.make_generator(2), lr=0.1, batch_size=8)
    alone = train.sgd(x, y, [w[1:] for w in weights], spec, 2, nets.make_generator(2), lr=0.1, batch_size=8)
    for w_batched, w_alone in zip(batched.weights, alone.weights, strict=True):
        torch.testing.assert_close(w_batched[1:], w_alone)
    history = batched.history
    assert history[history.epoch == 2].loss.mean() < history[history.epoch == 0].loss.mean()


def test_training_stops_cleanly_on_a_non_finite_loss():
    # exp of exp of large weights overflows float32 within the first epoch.
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(8, 3, norm="none", activation="exp", init="he")
    weights = [10 * w for w in train.init_weights(2, 6, spec, nets.make_generator(1), classes=3)]
    result = train.sgd(x, y, weights, spec, 5, nets.make_generator(2), lr=0.1, batch_size=8)
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


def test_fit_initialises_and_trains_every_seed(generator):
    x, y = torch.randn(40, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 3
    spec = nets.NetworkSpec(6, 3, norm="none", activation="relu", init="iterative_orthogonalization")
    result = train.fit(x, y, spec, seeds=2, epochs=2, generator=generator, lr=0.05, batch_size=8, v_prime="input")
    assert result.message is None and sorted(result.history.seed.unique()) == [0, 1]
    assert result.weights[-1].shape == (2, 6, 3)

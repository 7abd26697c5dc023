"""Random chains: normalisation norms, weight distributions, streaming, seeds, errors."""

import math

import numpy as np
import pytest
import torch

from normprop import data, metrics, nets, seeding


@pytest.mark.parametrize("norm_scale, target", [("rms", 1.0), ("unit", None)])
def test_batch_norm_columns_and_layer_norm_rows(generator, norm_scale, target):
    z = 5 * torch.randn(3, 6, 10, generator=generator, dtype=torch.float64) + 2
    bn = nets.normalize(z, "batch", norm_scale=norm_scale)
    ln = nets.normalize(z, "layer", norm_scale=norm_scale)
    expected_bn = math.sqrt(6) if target else 1.0
    expected_ln = math.sqrt(10) if target else 1.0
    torch.testing.assert_close(bn.norm(dim=-2), torch.full((3, 10), expected_bn, dtype=torch.float64))
    torch.testing.assert_close(ln.norm(dim=-1), torch.full((3, 6), expected_ln, dtype=torch.float64))


def test_centering_removes_the_mean(generator):
    z = torch.randn(2, 8, 5, generator=generator, dtype=torch.float64) + 3
    bn = nets.normalize(z, "batch", centering=True)
    torch.testing.assert_close(bn.mean(-2), torch.zeros(2, 5, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(bn.square().mean(-2), torch.ones(2, 5, dtype=torch.float64))


def test_dead_feature_stays_zero_instead_of_nan():
    z = torch.randn(4, 3)
    z[:, 1] = 0.0
    out = nets.normalize(z, "batch")
    assert torch.isfinite(out).all() and (out[:, 1] == 0).all()


def test_orthogonal_weights_are_orthogonal(generator):
    for d_in, d_out in [(8, 8), (12, 5), (5, 12)]:
        w = nets.sample_weights(4, d_in, d_out, "orthogonal", generator, torch.float64)
        assert w.shape == (4, d_in, d_out)
        small = w.mT @ w if d_in >= d_out else w @ w.mT
        torch.testing.assert_close(small, torch.eye(min(d_in, d_out), dtype=torch.float64).expand_as(small))


def test_orthogonal_weights_are_haar_distributed(generator):
    # Haar: the image of a fixed unit vector is uniform on the sphere, so each coordinate has mean 0
    # and variance 1/d. QR without the sign correction biases the diagonal entries towards +-1/sqrt(d).
    d, count = 6, 20_000
    w = nets.sample_weights(count, d, d, "orthogonal", generator, torch.float64)
    first = w[:, 0, :]
    standard_error = math.sqrt(1 / d / count)
    assert first.mean(0).abs().max().item() < 5 * standard_error
    torch.testing.assert_close(first.square().mean(0), torch.full((d,), 1 / d, dtype=torch.float64), atol=0.01, rtol=0)
    assert w[:, 0, 0].mean().abs().item() < 5 * standard_error


def test_gaussian_weights_have_variance_one_over_fan_in(generator):
    w = nets.sample_weights(50, 40, 30, "gaussian", generator, torch.float64)
    assert w.mean().abs().item() < 5 / math.sqrt(w.numel() * 40)
    assert w.var().item() == pytest.approx(1 / 40, rel=0.02)


def test_vanilla_chain_is_rescaled_not_distorted(generator):
    x = data.gaussian_batch(3, 4, 16, generator, torch.float64)
    spec = nets.NetworkSpec(16, 1, norm="none", init="gaussian")
    ((_, before, rescaled),) = nets.propagate_stages(x, spec, generator)
    torch.testing.assert_close(rescaled.square().mean((-2, -1)), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(metrics.orthogonality_gap(rescaled), metrics.orthogonality_gap(before))
    # With explicit weights (gradients, training) a vanilla layer is never rescaled.
    weight = nets.sample_weights(3, 16, 16, "gaussian", generator, torch.float64)
    torch.testing.assert_close(nets.forward(x, [weight], spec), x @ weight)


def test_layer_formula_and_gain_schedule(generator):
    x = data.gaussian_batch(2, 4, 8, generator, torch.float64)
    weight = nets.sample_weights(2, 8, 8, "gaussian", generator, torch.float64)
    gain = nets.power_law_gain(0.4)
    assert gain(0) == 1.0 and gain(3) == pytest.approx(4**-0.4)
    spec = nets.NetworkSpec(8, 5, activation="tanh", gain=gain)
    expected = torch.tanh(gain(3) * nets.normalize(x @ weight, "batch"))
    torch.testing.assert_close(nets.activate(x @ weight, spec, 3), expected)
    spec_after = nets.NetworkSpec(8, 5, activation="tanh", order="act_norm", norm="layer")
    expected_after = nets.normalize(torch.tanh(x @ weight), "layer")
    torch.testing.assert_close(nets.forward(x, [weight], spec_after), expected_after)


def test_propagate_streams_requested_layers(generator):
    x = data.gaussian_batch(2, 4, 8, generator)
    layers = [layer for layer, _ in nets.propagate(x, nets.NetworkSpec(8, 10), generator, every=4)]
    assert layers == [0, 4, 8, 10]


def test_measure_chain_table(generator):
    x = data.gaussian_batch(3, 4, 8, generator)
    table = nets.measure_chain(x, nets.NetworkSpec(8, 5), {"gap": metrics.orthogonality_gap}, generator, width=8)
    assert list(table.columns) == ["seed", "layer", "gap", "width"]
    assert len(table) == 3 * 6
    assert table.loc[table.layer == 0, "gap"].tolist() == pytest.approx(metrics.orthogonality_gap(x).tolist())


def test_seeds_are_reproducible_and_independent():
    def run(seed: int):
        generator = seeding.make_generator(seed)
        x = data.near_collinear_batch(4, 4, 16, generator)
        return nets.measure_chain(x, nets.NetworkSpec(16, 8), {"gap": metrics.orthogonality_gap}, generator)

    first, again, other = run(7), run(7), run(8)
    assert first.equals(again)
    assert not first.gap.equals(other.gap)
    final = first[first.layer == 8].gap.to_numpy()
    assert len(set(final.round(12))) == 4  # every seed in the batch follows its own network


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"width": 0, "depth": 3}, "width"),
        ({"width": 8, "depth": 0}, "depth"),
        ({"width": 8, "depth": -2}, "depth"),
        ({"width": 8.5, "depth": 2}, "width"),
        ({"width": 8, "depth": 2, "activation": "swish-ish"}, "activation"),
        ({"width": 8, "depth": 2, "norm": "group"}, "norm"),
        ({"width": 8, "depth": 2, "init": "xavier?"}, "init"),
        ({"width": 8, "depth": 2, "init": "lecun"}, "init"),
        ({"width": 8, "depth": 2, "order": "sideways"}, "order"),
        ({"width": 8, "depth": 2, "gain": float("nan")}, "gain"),
    ],
)
def test_bad_chain_parameters_raise_one_line_value_error(kwargs, argument):
    with pytest.raises(ValueError, match=argument) as error:
        nets.NetworkSpec(**kwargs)
    assert "\n" not in str(error.value)


def test_bad_chain_inputs(generator):
    spec = nets.NetworkSpec(8, 2)
    with pytest.raises(ValueError, match="x must have shape"):
        next(nets.propagate(torch.ones(4, 8), spec, generator))
    with pytest.raises(ValueError, match="random init"):
        next(nets.propagate(torch.ones(1, 4, 8), spec.with_changes(init="iterative_orthogonalization"), generator))
    with pytest.raises(ValueError, match="seed"):
        seeding.make_generator(-1)
    with pytest.raises(ValueError, match="metrics"):
        nets.measure_chain(torch.ones(1, 2, 8), spec, {}, generator)


def test_row_space_sampler_matches_the_law_of_h_times_w(generator):
    # Gaussian W: the columns of Z = H W are i.i.d. N(0, H H^T / d_in), so E[Z Z^T] / width = H H^T / d_in.
    seeds, n, d_in, width = 4000, 3, 12, 8
    h = data.gaussian_batch(1, n, d_in, generator, torch.float64).expand(seeds, n, d_in)
    z = nets.sample_preactivation(h, width, "gaussian", generator)
    empirical = (z @ z.mT).mean(0) / width
    torch.testing.assert_close(empirical, (h[0] @ h[0].mT) / d_in, atol=0.03, rtol=0)
    # Haar W (orthonormal rows): Z Z^T = H H^T exactly, for every draw.
    z = nets.sample_preactivation(h[:5], 20, "orthogonal", generator)
    torch.testing.assert_close(z @ z.mT, h[:5] @ h[:5].mT)


def test_row_space_sampler_keeps_rank_deficient_batches_deficient(generator):
    h = data.degenerate_batch(3, 6, 32, generator, distinct=2, dtype=torch.float64)
    z = nets.sample_preactivation(h, 32, "gaussian", generator)
    assert (metrics.numerical_rank(z) == 2).all()


@pytest.mark.parametrize("init", ["gaussian", "orthogonal", "he"])
def test_row_space_chain_agrees_in_distribution_with_explicit_weights(init):
    # The same chain run two ways: streamed (row-space sampling) and with explicit d x d weights.
    seeds, n, d, depth = 400, 4, 24, 6
    spec = nets.NetworkSpec(d, depth, init=init)
    generator = seeding.make_generator(5)
    x = data.near_collinear_batch(seeds, n, d, generator, dtype=torch.float64)
    *_, (_, streamed) = nets.propagate(x, spec, generator)
    h = x
    for layer in range(depth):
        h = nets.activate(h @ nets.sample_weights(seeds, d, d, init, generator, torch.float64), spec, layer)
    a, b = metrics.orthogonality_gap(streamed), metrics.orthogonality_gap(h)
    standard_error = math.sqrt(a.var() / seeds + b.var() / seeds)
    assert abs(a.mean() - b.mean()) < 4 * standard_error


@pytest.mark.parametrize(
    "init, std", [("gaussian", 1 / math.sqrt(40)), ("xavier", math.sqrt(2 / 70)), ("he", math.sqrt(2 / 40))]
)
def test_gaussian_family_inits_have_the_stated_scale(generator, init, std):
    w = nets.sample_weights(100, 40, 30, init, generator, torch.float64)
    assert w.std().item() == pytest.approx(std, rel=0.02)
    assert nets.weight_std(init, 40, 30) == pytest.approx(std)


def test_propagate_stages_returns_the_normalisation_input(generator):
    x = data.gaussian_batch(2, 4, 8, generator, torch.float64)
    spec = nets.NetworkSpec(8, 3, norm="layer", centering=True, order="act_norm", activation="relu")
    for _, before, after in nets.propagate_stages(x, spec, generator):
        torch.testing.assert_close(before.mean(-1), torch.zeros(2, 4, dtype=torch.float64), atol=1e-12, rtol=0)
        torch.testing.assert_close(after, nets.normalize(before, "layer"))


def test_measure_stages_tables_both_sides_of_the_normalisation(generator):
    x = data.spiked_batch(2, 4, 16, generator, dtype=torch.float64)
    spec = nets.NetworkSpec(16, 3, norm="layer", centering=True, order="act_norm", activation="relu")
    table = nets.measure_stages(
        x,
        spec,
        {"before": lambda b, a: metrics.isometry_gap(b), "after": lambda b, a: metrics.isometry_gap(a)},
        generator,
        run="x",
    )
    assert list(table.columns) == ["seed", "layer", "before", "after", "run"] and len(table) == 6
    assert (table.after <= table.before + 1e-12).all()  # normalising rows never decreases isometry


@pytest.mark.parametrize("order", ["act_norm", "norm_act"])
def test_uncentred_stage_is_the_normalisation_input_before_its_mean_is_removed(generator, order):
    x = data.gaussian_batch(2, 4, 8, generator, torch.float64)
    spec = nets.NetworkSpec(8, 3, norm="layer", centering=True, order=order, activation="relu")
    z = x @ nets.sample_weights(2, 8, 8, "gaussian", generator, torch.float64)
    block_input, before, out = nets.layer_stages(z, spec, 0, uncentred=True)
    torch.testing.assert_close(block_input, torch.relu(z) if order == "act_norm" else z)
    torch.testing.assert_close(before, block_input - block_input.mean(-1, keepdim=True))
    # The default call is unchanged: the last two of the three.
    default = nets.layer_stages(z, spec, 0)
    assert len(default) == 2
    torch.testing.assert_close(default[0], before)
    torch.testing.assert_close(default[1], out)
    # Without centering the block input is the normalisation input.
    block_input, before, _ = nets.layer_stages(z, spec.with_changes(centering=False), 0, uncentred=True)
    torch.testing.assert_close(block_input, before)


def test_measure_stages_passes_three_tensors_when_uncentred(generator):
    x = data.spiked_batch(2, 4, 16, dtype=torch.float64, generator=generator)
    spec = nets.NetworkSpec(16, 3, norm="layer", centering=True, order="act_norm", activation="relu")
    stage_metrics = {
        "uncentred": lambda u, b, a: metrics.isometry_gap(u),
        "centred": lambda u, b, a: metrics.isometry_gap(b),
        "after": lambda u, b, a: metrics.isometry_gap(a),
    }
    table = nets.measure_stages(x, spec, stage_metrics, seeding.make_generator(3), uncentred=True)
    plain = nets.measure_stages(
        x, spec, {"centred": lambda b, a: metrics.isometry_gap(b)}, seeding.make_generator(3)
    )  # same generator seed: the same chain
    assert list(table.columns) == ["seed", "layer", "uncentred", "centred", "after"] and len(table) == 6
    np.testing.assert_allclose(table.centred, plain.centred)
    # A ReLU output has a large common mean: before centering it is much further from isometry.
    assert (table.uncentred > table.centred).all()

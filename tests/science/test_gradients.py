"""Gradient norms: autograd against finite differences, one backward pass for all seeds, overflow as inf."""

import math

import pytest
import torch

from normprop import data, gradients, nets


@pytest.mark.parametrize(
    "spec",
    [
        nets.NetworkSpec(3, 3, norm="batch", norm_scale="unit", init="orthogonal"),
        nets.NetworkSpec(3, 3, norm="batch", centering=True),
        nets.NetworkSpec(3, 3, norm="batch", activation="tanh", gain=nets.power_law_gain(0.4)),
        nets.NetworkSpec(3, 3, norm="layer", centering=True, activation="relu", order="act_norm"),
    ],
    ids=["bn-orthogonal", "bn-centred", "bn-tanh-shaped", "ln-relu"],
)
def test_chain_gradient_matches_finite_differences(generator, spec):
    x = data.gaussian_batch(2, 4, 3, generator, torch.float64)
    weights = [nets.sample_weights(2, 3, 3, spec.init, generator, torch.float64) for _ in range(spec.depth)]
    readout = torch.randn(2, 3, 2, generator=generator, dtype=torch.float64)
    targets = torch.randn(2, 4, 2, generator=generator, dtype=torch.float64)
    first = weights[0].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda w: gradients.network_loss(x, [w, *weights[1:]], spec, readout, targets), (first,), eps=1e-6, atol=1e-5
    )


def test_one_backward_pass_gives_each_seed_its_own_gradient(generator):
    spec = nets.NetworkSpec(5, 4, norm="batch", activation="tanh")
    x = data.gaussian_batch(3, 6, 5, generator, torch.float64)
    weights = [nets.sample_weights(3, 5, 5, "gaussian", generator, torch.float64) for _ in range(4)]
    readout = torch.randn(3, 5, 2, generator=generator, dtype=torch.float64)
    targets = torch.randn(3, 6, 2, generator=generator, dtype=torch.float64)
    first = weights[0].clone().requires_grad_(True)
    (batched,) = torch.autograd.grad(
        gradients.network_loss(x, [first, *weights[1:]], spec, readout, targets).sum(), first
    )
    for seed in range(3):
        alone = weights[0][seed : seed + 1].clone().requires_grad_(True)
        rest = [w[seed : seed + 1] for w in weights[1:]]
        loss = gradients.network_loss(
            x[seed : seed + 1], [alone, *rest], spec, readout[seed : seed + 1], targets[seed : seed + 1]
        )
        (single,) = torch.autograd.grad(loss.sum(), alone)
        torch.testing.assert_close(batched[seed], single[0])


def test_gradients_of_several_layers(generator):
    spec = nets.NetworkSpec(5, 6, norm="batch", init="orthogonal")
    norms = gradients.log_gradient_norms(
        data.gaussian_batch(2, 5, 5, generator, torch.float64), spec, generator, [0, 3, 5]
    )
    assert norms.shape == (2, 3) and torch.isfinite(norms).all()


def test_overflow_is_reported_as_inf_not_nan(generator):
    # A vanilla network (never rescaled: it holds explicit weights) with a huge gain overflows float32 quickly.
    spec = nets.NetworkSpec(8, 30, norm="none", gain=1e4)
    norms = gradients.log_gradient_norms(data.gaussian_batch(2, 4, 8, generator), spec, generator)
    assert (norms == math.inf).all()


def test_bad_layers_raise(generator):
    spec = nets.NetworkSpec(4, 3)
    x = data.gaussian_batch(1, 4, 4, generator)
    with pytest.raises(ValueError, match="layers"):
        gradients.log_gradient_norms(x, spec, generator, layers=[3])
    with pytest.raises(ValueError, match="layers"):
        gradients.log_gradient_norms(x, spec, generator, layers=[])

"""MMD distances from a Gaussian: closed forms, unbiasedness against null spread, power, invariances, errors."""

import math

import numpy as np
import pytest
import torch

from normprop import data, gaussianity, nets
from tests.conftest import random_orthogonal


def random_covariance(p: int, generator: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    a = torch.randn(p, 2 * p, generator=generator, dtype=torch.float64)
    return scale * a @ a.mT / (2 * p)


def within(values: torch.Tensor, target: float, standard_errors: float = 4.0) -> bool:
    """Is the mean of i.i.d. ``values`` within a few standard errors of ``target``?"""
    values = values.double()
    error = values.std() / math.sqrt(values.numel())
    return abs(float(values.mean()) - target) < standard_errors * float(error)


# ---------------------------------------------------------------- closed forms


def test_two_point_masses_have_mmd2_two_minus_twice_the_kernel():
    a, b = torch.zeros(1, 3, dtype=torch.float64), torch.tensor([[1.0, 2.0, 0.0]], dtype=torch.float64)
    x, y = a.expand(6, 3), b.expand(4, 3)
    for bandwidth in [0.5, 1.0, 3.0]:
        expected = 2 - 2 * math.exp(-5.0 / (2 * bandwidth**2))
        assert gaussianity.mmd2_unbiased(x, y, bandwidth).item() == pytest.approx(expected, rel=1e-12)


def test_gaussian_kernel_mean_closed_form_and_monte_carlo(generator):
    # One dimension: E exp(-(x - y)^2 / 2s^2) with x - y ~ N(0, a + b) is (1 + (a + b)/s^2)^(-1/2).
    a, b = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[1.2]], dtype=torch.float64)
    assert gaussianity.gaussian_kernel_mean(a, b, 2.0).item() == pytest.approx((1 + 1.5 / 4) ** -0.5, rel=1e-12)
    a, b = random_covariance(3, generator), random_covariance(3, generator, scale=2.0)
    samples = 200_000
    x = torch.randn(samples, 3, generator=generator, dtype=torch.float64) @ torch.linalg.cholesky(a).mT
    y = torch.randn(samples, 3, generator=generator, dtype=torch.float64) @ torch.linalg.cholesky(b).mT
    kernel = torch.exp(-(x - y).square().sum(-1) / 2)
    assert within(kernel, gaussianity.gaussian_kernel_mean(a, b).item())


# ---------------------------------------------------------------- the two-sample estimator and its null


def test_two_sample_estimator_is_zero_on_average_for_gaussian_samples(generator):
    null = gaussianity.null_mmd2_to_gaussian(50, 3, 400, generator)
    assert null.shape == (400,)
    assert within(null, 0.0)
    covariance = random_covariance(3, generator)
    assert within(gaussianity.null_mmd2_to_gaussian(50, 3, 400, generator, covariance), 0.0)


def test_two_sample_estimator_detects_a_clearly_non_gaussian_sample(generator):
    # Uniform on the sphere of radius sqrt(p): the covariance is I, the law is not Gaussian.
    samples, dim = 300, 3
    null = gaussianity.null_mmd2_to_gaussian(samples, dim, 200, generator)
    sphere = torch.randn(20, samples, dim, generator=generator, dtype=torch.float64)
    sphere = math.sqrt(dim) * sphere / sphere.norm(dim=-1, keepdim=True)
    distance = gaussianity.mmd2_to_gaussian(sphere, generator)
    assert float(distance.min()) > float(null.quantile(0.99))
    assert float(distance.mean()) > 5 * float(null.std())


def test_two_sample_estimator_invariances(generator):
    x = torch.randn(3, 40, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(3, 30, 4, generator=generator, dtype=torch.float64).exp()
    value = gaussianity.mmd2_unbiased(x, y)
    q, shift = random_orthogonal(4, generator), torch.randn(4, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(gaussianity.mmd2_unbiased(x @ q + shift, y @ q + shift), value, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(gaussianity.mmd2_unbiased(y, x), value, rtol=1e-12, atol=0)
    permuted = x[:, torch.randperm(40, generator=generator)]
    torch.testing.assert_close(gaussianity.mmd2_unbiased(permuted, y), value, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gaussianity.mmd2_unbiased(3 * x, 3 * y, 3.0), value, rtol=1e-9, atol=1e-12)
    assert gaussianity.mmd2_unbiased(x.float(), y.float()).dtype == torch.float64


# ---------------------------------------------------------------- the mixture (conditional) estimator


def test_mixture_estimator_is_zero_when_every_covariance_is_the_reference(generator):
    reference = random_covariance(4, generator)
    draws = reference.expand(2, 7, 4, 4)
    torch.testing.assert_close(
        gaussianity.mixture_mmd2_to_gaussian(draws, reference), torch.zeros(2, dtype=torch.float64), atol=1e-14, rtol=0
    )


def test_mixture_estimator_is_the_conditional_mean_of_the_two_sample_estimator(generator):
    # Fixed covariances M_1..M_S; z_i ~ N(0, M_i); mmd2_to_gaussian(z) averaged over many z is the closed form.
    count, dim, replicates = 12, 3, 4000
    draws = torch.stack([random_covariance(dim, generator, scale=s) for s in np.linspace(0.2, 2.5, count)])
    exact = gaussianity.mixture_mmd2_to_gaussian(draws).item()
    z = torch.randn(replicates, count, dim, generator=generator, dtype=torch.float64)
    z = (z[..., None, :] @ torch.linalg.cholesky(draws).mT).squeeze(-2)
    assert within(gaussianity.mmd2_to_gaussian(z, generator), exact)


def test_mixture_estimator_is_unbiased_for_a_two_point_mixture(generator):
    # M = A or B with probability 1/2: MMD^2(P, N(0, C)) = E K(M, M') - 2 E K(M, C) + K(C, C) exactly.
    dim = 3
    a, b, c = random_covariance(dim, generator, 0.3), random_covariance(dim, generator, 2.0), torch.eye(dim)
    kernel = gaussianity.gaussian_kernel_mean
    exact = (kernel(a, a) + 2 * kernel(a, b) + kernel(b, b)) / 4 - (kernel(a, c) + kernel(b, c)) + kernel(c, c)
    choice = torch.rand(500, 8, generator=generator) < 0.5
    draws = torch.where(choice[..., None, None], a, b)
    assert exact.item() > 0.01
    assert within(gaussianity.mixture_mmd2_to_gaussian(draws), exact.item())


def test_mixture_estimator_detects_a_scale_mixture_far_beyond_its_spread(generator):
    # M = s I with s = 0.2 or 1.8 (mean I): a Gaussian scale mixture, clearly not Gaussian.
    scales = torch.where(torch.rand(20, 50, generator=generator) < 0.5, 0.2, 1.8).double()
    draws = scales[..., None, None] * torch.eye(4, dtype=torch.float64)
    distance = gaussianity.mixture_mmd2_to_gaussian(draws)
    assert float(distance.min()) > 0 and not within(distance, 0.0, standard_errors=10.0)


def test_mixture_estimator_invariances(generator):
    draws = torch.stack([random_covariance(3, generator) for _ in range(9)])
    reference = random_covariance(3, generator)
    value = gaussianity.mixture_mmd2_to_gaussian(draws, reference)
    q = random_orthogonal(3, generator)
    rotated = gaussianity.mixture_mmd2_to_gaussian(q @ draws @ q.mT, q @ reference @ q.mT)
    torch.testing.assert_close(rotated, value, rtol=1e-9, atol=1e-13)
    permuted = gaussianity.mixture_mmd2_to_gaussian(draws[torch.randperm(9, generator=generator)], reference)
    torch.testing.assert_close(permuted, value, rtol=1e-12, atol=1e-14)
    scaled = gaussianity.mixture_mmd2_to_gaussian(4 * draws, 4 * reference, bandwidth=2.0)
    torch.testing.assert_close(scaled, value, rtol=1e-9, atol=1e-13)


def test_covariance_offset_is_the_pair_sum_and_unbiased(generator):
    draws = torch.stack([random_covariance(3, generator) for _ in range(6)])
    reference = torch.eye(3, dtype=torch.float64)
    offsets = draws - reference
    pairs = [(offsets[i] * offsets[j]).sum() for i in range(6) for j in range(6) if i != j]
    expected = torch.stack(pairs).mean()
    torch.testing.assert_close(gaussianity.covariance_offset2(draws), expected, rtol=1e-12, atol=1e-14)
    # E M = I + D: the estimate averages to ||D||_F^2, the plug-in would add tr Cov(M) / S.
    shift = torch.diag(torch.tensor([0.3, 0.0, -0.1], dtype=torch.float64))
    noise = torch.randn(2000, 5, 3, 3, generator=generator, dtype=torch.float64)
    draws = reference + shift + (noise + noise.mT) / 2
    assert within(gaussianity.covariance_offset2(draws), 0.1)


def test_measure_preactivation_law_at_layer_zero_is_the_closed_form(generator):
    n, d, groups, networks = 3, 8, 2, 5
    x = data.near_collinear_batch(1, n, d, generator, cosine=0.8)
    spec = nets.NetworkSpec(d, 4, norm="batch")
    table = gaussianity.measure_preactivation_law(
        x.expand(groups * networks, n, d), spec, generator, groups, every=2, width=d
    )
    assert list(table.columns) == ["seed", "layer", "mmd2", "mmd2_sample", "covariance_offset2", "width"]
    assert sorted(table["layer"].unique()) == [0, 2, 4] and len(table) == 3 * groups
    m0 = (x[0].double() @ x[0].double().mT) / d
    eye = torch.eye(n, dtype=torch.float64)
    kernel = gaussianity.gaussian_kernel_mean
    closed = (kernel(m0, m0) - 2 * kernel(m0, eye) + kernel(eye, eye)).item()
    start = table[table["layer"] == 0]
    np.testing.assert_allclose(start["mmd2"], closed, rtol=1e-10)
    np.testing.assert_allclose(start["covariance_offset2"], (m0 - eye).square().sum().item(), rtol=1e-10)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gaussianity.mmd2_unbiased(torch.zeros(1, 3), torch.zeros(5, 3)), "at least 2 samples"),
        (lambda: gaussianity.mmd2_unbiased(torch.zeros(4, 3), torch.zeros(5, 2)), "same dimension"),
        (lambda: gaussianity.mmd2_unbiased(torch.zeros(4, 3), torch.zeros(5, 3), 0.0), "bandwidth"),
        (lambda: gaussianity.mmd2_unbiased(torch.zeros(4, 3), torch.zeros(5, 3), math.inf), "bandwidth"),
        (lambda: gaussianity.mixture_mmd2_to_gaussian(torch.eye(3)[None]), "S >= 2"),
        (lambda: gaussianity.mixture_mmd2_to_gaussian(torch.zeros(4, 3, 2)), r"\(\.\.\., p, p\)"),
        (lambda: gaussianity.mixture_mmd2_to_gaussian(torch.eye(3).expand(4, 3, 3), torch.eye(2)), "3 x 3"),
        (lambda: gaussianity.mixture_mmd2_to_gaussian(torch.eye(3).expand(4, 3, 3), torch.eye(3)[None]), "one p x p"),
        (lambda: gaussianity.mixture_mmd2_to_gaussian(torch.tensor([[[0.0, 1.0], [0.0, 0.0]]] * 3)), "symmetric"),
        (lambda: gaussianity.gaussian_kernel_mean(-3 * torch.eye(2), torch.eye(2)), "positive semi-definite"),
        (lambda: gaussianity.null_mmd2_to_gaussian(0, 3, 10, torch.Generator()), "samples"),
    ],
)
def test_bad_input_raises_one_line_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_measure_preactivation_law_needs_equal_groups(generator):
    x = data.gaussian_batch(7, 3, 8, generator)
    with pytest.raises(ValueError, match="multiple of groups"):
        gaussianity.measure_preactivation_law(x, nets.NetworkSpec(8, 2, norm="batch"), generator, groups=2)

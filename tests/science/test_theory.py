"""Hermite theory: golden values, closed forms, independent high-precision quadrature, mean-field maps."""

import math

import mpmath
import numpy as np
import pytest
import torch
from scipy import integrate, special

from normprop import analysis as stats
from normprop import data, metrics, nets, seeding, theory

mpmath.mp.dps = 30

# Independent definitions in mpmath (no torch), for a 30-digit reference quadrature.
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
MP_ACTIVATIONS = {
    "identity": lambda x: x,
    "tanh": mpmath.tanh,
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "sin": mpmath.sin,
    "exp": mpmath.exp,
    "gelu": lambda x: x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2,
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
    "relu": lambda x: max(x, 0),
    "leaky_relu": lambda x: x if x > 0 else 0.01 * x,
    "elu": lambda x: x if x > 0 else mpmath.exp(x) - 1,
    "selu": lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * (mpmath.exp(x) - 1)),
}
SMOOTH = ["identity", "tanh", "sigmoid", "sin", "exp", "gelu", "silu"]


def mp_expectation(function) -> float:
    def density(x):
        return mpmath.exp(-(x**2) / 2) / mpmath.sqrt(2 * mpmath.pi)

    return float(mpmath.quad(lambda x: function(x) * density(x), [-mpmath.inf, 0, mpmath.inf]))


def mp_hermite(k: int, x):
    return (
        mpmath.hermite(k, x / mpmath.sqrt(2)) * mpmath.power(2, -mpmath.mpf(k) / 2) / mpmath.sqrt(mpmath.factorial(k))
    )


@pytest.mark.parametrize("name", sorted(MP_ACTIVATIONS))
def test_coefficients_and_beta_match_30_digit_quadrature(name):
    sigma = MP_ACTIVATIONS[name]
    degree = 5
    reference = [mp_expectation(lambda x, k=k: sigma(x) * mp_hermite(k, x)) for k in range(degree + 1)]
    tolerance = 1e-9 if name in SMOOTH else 1e-8
    np.testing.assert_allclose(theory.hermite_coefficients(name, degree), reference, atol=tolerance, rtol=0)
    mean, second = reference[0], mp_expectation(lambda x: sigma(x) ** 2)
    assert theory.beta0(name) == pytest.approx(reference[1] ** 2 / (second - mean**2), abs=tolerance)


@pytest.mark.parametrize("name", ["tanh", "relu", "gelu", "selu"])
def test_coefficients_match_scipy_adaptive_quadrature(name):
    sigma = {
        "tanh": np.tanh,
        "relu": lambda x: max(x, 0.0),
        "gelu": lambda x: x * special.ndtr(x),
        "selu": lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * math.expm1(x)),
    }[name]

    def coefficient(k: int) -> float:
        def integrand(x: float) -> float:
            return sigma(x) * special.eval_hermitenorm(k, x) / math.sqrt(math.factorial(k)) * math.exp(-x * x / 2)

        pieces = [
            integrate.quad(integrand, -np.inf, 0, epsabs=1e-13)[0],
            integrate.quad(integrand, 0, np.inf, epsabs=1e-13)[0],
        ]
        return sum(pieces) / math.sqrt(2 * math.pi)

    expected = [coefficient(k) for k in range(7)]
    np.testing.assert_allclose(theory.hermite_coefficients(name, 6), expected, atol=1e-9, rtol=0)


def test_golden_beta_values():
    # Reference values of Joudaki et al. (2023) and their official code.
    assert theory.beta_sigma("relu") == pytest.approx(1.2665, abs=5e-5)
    assert theory.beta_sigma("tanh") == pytest.approx(1.0695, abs=5e-5)
    assert theory.beta_sigma("sigmoid") == pytest.approx(1.0158, abs=5e-5)
    assert theory.beta_sigma("identity") == pytest.approx(1.0, abs=1e-12)


def test_relu_closed_forms():
    # relu = 1/sqrt(2 pi) + x/2 + sum over even k >= 2 of c_k he_k, c_k = (-1)^(k/2 + 1) (k-3)!! / sqrt(2 pi k!).
    c = theory.hermite_coefficients("relu", 8)
    assert c[0] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-12)
    assert c[1] == pytest.approx(0.5, abs=1e-12)
    for k in (2, 4, 6, 8):
        double_factorial = math.prod(range(k - 3, 0, -2)) if k > 2 else 1
        expected = (-1) ** (k // 2 + 1) * double_factorial / math.sqrt(2 * math.pi * math.factorial(k))
        assert c[k] == pytest.approx(expected, abs=1e-11)
    for k in (3, 5, 7):
        assert c[k] == pytest.approx(0.0, abs=1e-12)
    assert theory.beta0("relu") == pytest.approx(0.25 / (0.5 - 1 / (2 * math.pi)), abs=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_hermite_activations_have_unit_vector_coefficients(k):
    c = theory.hermite_coefficients(f"he{k}", 6)
    np.testing.assert_allclose(c, np.eye(7)[k], atol=1e-12)
    assert theory.beta_sigma(f"he{k}") == pytest.approx(1.0 if k == 1 else 2.0, abs=1e-12)


def test_identity_closed_form_and_gain():
    np.testing.assert_allclose(theory.hermite_coefficients("identity", 4, gain=3.0), [0, 3, 0, 0, 0], atol=1e-12)
    assert theory.beta0("identity", gain=0.1) == pytest.approx(1.0)


def test_affine_maps_keep_beta_so_tanh_half_matches_sigmoid():
    # sigmoid(x) = (1 + tanh(x/2)) / 2: an affine image of tanh(x/2), so beta is the same.
    assert theory.beta_sigma("tanh", gain=0.5) == pytest.approx(theory.beta_sigma("sigmoid"), abs=1e-12)
    assert theory.beta_sigma(lambda x: torch.tanh(x / 2)) == pytest.approx(theory.beta_sigma("sigmoid"), abs=1e-12)


def test_gain_makes_tanh_more_non_linear():
    betas = [theory.beta_sigma("tanh", gain=gain) for gain in (0.25, 0.5, 1.0, 2.0, 4.0)]
    assert betas == sorted(betas) and betas[0] < 1.01


def test_callable_with_breakpoints_matches_named_relu():
    custom = theory.hermite_coefficients(lambda x: torch.clamp(x, min=0), 6, breakpoints=[0.0])
    np.testing.assert_allclose(custom, theory.hermite_coefficients("relu", 6), atol=1e-13)


def test_correlation_map_fixed_points_and_slope():
    for name in ["relu", "tanh", "sin", "exp"]:
        assert theory.correlation_map(name, 0.0) == pytest.approx(0.0, abs=1e-12)
        assert theory.correlation_map(name, 1.0) == pytest.approx(1.0, abs=1e-12)
        slope = (theory.correlation_map(name, 1e-6) - theory.correlation_map(name, -1e-6)) / 2e-6
        assert slope == pytest.approx(theory.beta0(name), abs=1e-6)
    rho = np.linspace(0.05, 0.95, 10)
    assert np.all(theory.correlation_map("relu", rho) < rho)  # a strict contraction towards 0 for rho in (0, 1)


def test_potential_contracts_at_least_by_beta():
    # gamma = rho / (1 - rho): gamma(f(rho)) <= gamma(rho) / beta_sigma for every rho in (0, 1).
    for name in ["relu", "tanh", "sin", "gelu"]:
        rho = np.linspace(0.01, 0.99, 99)
        mapped = theory.correlation_map(name, rho, degree=120)
        ratio = (mapped / (1 - mapped)) / (rho / (1 - rho))
        assert np.all(ratio <= 1 / theory.beta_sigma(name) + 1e-6)


def test_dual_kernel_of_relu_is_the_arc_cosine_kernel():
    rho = np.array([-0.9, -0.3, 0.0, 0.4, 0.8])
    arc_cosine = (np.sqrt(1 - rho**2) + (np.pi - np.arccos(rho)) * rho) / (2 * np.pi)
    np.testing.assert_allclose(theory.dual_kernel("relu", rho, degree=200), arc_cosine, atol=2e-4)


def test_predicted_potential():
    np.testing.assert_allclose(theory.predicted_potential(2.0, 1.25, np.arange(3)), [2.0, 1.6, 1.28])
    with pytest.raises(ValueError, match="beta"):
        theory.predicted_potential(1.0, 0.5, np.arange(3))


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        theory.beta_sigma("swish-ish")
    with pytest.raises(ValueError, match="degree"):
        theory.hermite_coefficients("relu", -1)
    with pytest.raises(ValueError, match="gain"):
        theory.beta0("tanh", gain=0.0)
    with pytest.raises(ValueError, match="constant"):
        theory.beta0(lambda x: torch.ones_like(x))
    with pytest.raises(ValueError, match="rho"):
        theory.dual_kernel("relu", 1.5)


# ---------------------------------------------------------------- mean field and theorem bounds


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mean_field_trajectory_matches_a_wide_simulated_chain(activation):
    # The same input batch through many random wide chains (LN after a centred activation, the validation MLP):
    # the mean-field gap must lie within the seeds' spread of the simulated mean, layer by layer.
    seeds, n, width, depth = 200, 4, 2000, 3
    generator = seeding.make_generator(11)
    x = data.spiked_batch(1, n, width, generator, factor=5.0, dtype=torch.float64).expand(seeds, n, width)
    mean_field = theory.mean_field_trajectory(x[:1], activation, depth)
    spec = nets.NetworkSpec(width, depth, norm="layer", centering=True, order="act_norm", activation=activation)
    simulated = nets.measure_chain(x, spec, {"gap": metrics.isometry_gap}, generator)
    assert mean_field.gap.iloc[0] == pytest.approx(metrics.isometry_gap(x[:1]).item(), rel=1e-9)
    for layer in range(1, depth + 1):
        gaps = simulated[simulated.layer == layer].gap
        predicted = mean_field[mean_field.layer == layer].gap.item()
        standard_error = gaps.std() / np.sqrt(seeds)
        assert abs(gaps.mean() - predicted) < 4 * standard_error + 0.02 * predicted, (layer, gaps.mean(), predicted)
    assert (np.diff(mean_field.gap) < 0).all()  # the mean-field chain contracts towards isometry


def test_mean_field_asymptotic_rate_is_minus_log_beta0():
    assert theory.mean_field_asymptotic_rate("identity") == pytest.approx(0.0, abs=1e-9)
    assert theory.mean_field_asymptotic_rate("relu") == pytest.approx(-np.log(0.7335), abs=1e-4)
    assert theory.mean_field_asymptotic_rate("he2") == np.inf
    # Theorem 1's log(beta_sigma) is the smaller, guaranteed rate.
    assert theory.mean_field_asymptotic_rate("tanh") > np.log(theory.beta_sigma("tanh"))


def test_theorem1_bound_shape():
    bound = theory.theorem1_orthogonality_bound(4, 64, np.array([0, 1, 1000]))
    np.testing.assert_allclose(bound, [2 + 1.5, 2 / 3 + 1.5, 1.5])
    with pytest.raises(ValueError, match="alpha"):
        theory.theorem1_orthogonality_bound(4, 64, 1, alpha=0)


def test_theorem3_bound_is_tight_at_isometry_and_holds_by_monte_carlo():
    generator = seeding.make_generator(3)
    d = 5
    isometric = nets.normalize(data.orthogonal_batch(1, d, d, generator, torch.float64), "batch", norm_scale="unit")
    assert theory.theorem3_isometry_bound(isometric).item() == pytest.approx(1.0)
    x = nets.normalize(torch.randn(1, d, d, generator=generator, dtype=torch.float64), "batch", norm_scale="unit")
    bound = theory.theorem3_isometry_bound(x).item()
    assert bound > torch.exp(-metrics.isometry_gap(x)).item()
    weights = nets.haar_orthogonal(20000, d, d, generator, torch.float64)
    after = torch.exp(-metrics.isometry_gap(nets.normalize(x @ weights, "batch", norm_scale="unit")))
    assert after.mean().item() - 4 * after.std().item() / np.sqrt(20000) > bound
    with pytest.raises(ValueError, match="unit norm"):
        theory.theorem3_isometry_bound(2 * x)
    with pytest.raises(ValueError, match="square"):
        theory.theorem3_isometry_bound(x[:, :3])


def test_rate_ratio_is_undefined_exactly_for_linear_and_beta0_zero_activations():
    assert "linear" in theory.rate_ratio_undefined("identity")
    assert "linear" in theory.rate_ratio_undefined("he1")
    assert "infinite" in theory.rate_ratio_undefined("he2")
    assert "infinite" in theory.rate_ratio_undefined("he3")
    for activation in ["relu", "tanh", "sigmoid", "exp", "sin"]:
        assert theory.rate_ratio_undefined(activation) is None
    assert theory.rate_ratio_undefined("tanh", gain=4.0) is None


def test_mean_field_rate_over_a_window_sits_between_the_bound_and_the_edge_rates():
    # From a spiked input (correlations near 1) the mean-field potential of tanh first falls at about
    # log f'(1) > -log beta0, so a slope fitted over the first layers exceeds Theorem 1's log(beta_sigma):
    # the bound is not the rate.
    x = data.spiked_batch(3, 6, 256, seeding.make_generator(5), factor=10.0, dtype=torch.float64)
    trajectory = theory.mean_field_trajectory(x, "tanh", 5)
    fitted = stats.per_seed_slope(trajectory.assign(y=-np.log(trajectory.potential)), "layer", "y").mean
    assert fitted > theory.mean_field_asymptotic_rate("tanh") > np.log(theory.beta_sigma("tanh"))

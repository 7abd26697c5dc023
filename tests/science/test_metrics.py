"""Metrics: closed forms, ranges, invariances, dtype handling and clear errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from normprop import data, metrics
from tests.conftest import random_orthogonal

HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)


def orthonormal_rows(n: int, d: int, generator: torch.Generator) -> torch.Tensor:
    return random_orthogonal(d, generator)[:n]


# ---------------------------------------------------------------- closed forms


def test_orthogonal_equal_norm_rows_are_perfectly_orthogonal_and_isometric(generator):
    h = 3.0 * orthonormal_rows(5, 8, generator)
    assert metrics.orthogonality_gap(h).item() == pytest.approx(0.0, abs=1e-12)
    assert metrics.isometry_gap(h).item() == pytest.approx(0.0, abs=1e-12)
    assert metrics.stable_rank(h).item() == pytest.approx(5.0)
    assert metrics.numerical_rank(h).item() == 5
    assert metrics.mean_abs_cosine(h).item() == pytest.approx(0.0, abs=1e-12)


def test_rank_one_batch_has_maximal_gap_and_infinite_isometry_gap(generator):
    n = 6
    h = torch.randn(n, 1, dtype=torch.float64, generator=generator) @ torch.randn(1, 10, dtype=torch.float64)
    assert metrics.orthogonality_gap(h).item() == pytest.approx(math.sqrt(1 - 1 / n))
    assert metrics.isometry_gap(h).item() == math.inf
    assert metrics.entropy(h).item() == -math.inf
    assert metrics.stable_rank(h).item() == pytest.approx(1.0)
    assert metrics.numerical_rank(h).item() == 1
    assert metrics.mean_abs_cosine(h).item() == pytest.approx(1.0)


def test_orthogonality_gap_of_two_samples_is_cosine_over_root_two():
    # Two unit rows at angle t: G / tr G - I/2 has off-diagonal cos(t)/2, so V = |cos t| / sqrt(2).
    for angle in [0.1, 0.7, 1.3, 2.5]:
        h = torch.tensor([[1.0, 0.0], [math.cos(angle), math.sin(angle)]], dtype=torch.float64)
        assert metrics.orthogonality_gap(h).item() == pytest.approx(abs(math.cos(angle)) / math.sqrt(2))


def test_isometry_gap_of_diagonal_batch_is_log_am_over_gm():
    scales = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
    eigenvalues = scales**2
    expected = math.log(eigenvalues.mean()) - eigenvalues.log().mean().item()
    assert metrics.isometry_gap(torch.diag(scales)).item() == pytest.approx(expected, rel=1e-12)


def test_entropy_closed_form_for_orthogonal_rows(generator):
    # Rows orthogonal with ||h_i||^2 = d: M = G/d = I and the entropy is its maximum (n/2) log(2 pi e).
    n, d = 4, 16
    h = math.sqrt(d) * orthonormal_rows(n, d, generator)
    assert metrics.entropy(h).item() == pytest.approx(n * HALF_LOG_2PIE)
    assert metrics.entropy_deficit(h).item() == pytest.approx(0.0, abs=1e-10)


def test_entropy_scales_with_log_variance(generator):
    # Scaling h by c multiplies M by c^2: the entropy grows by n log c.
    h = torch.randn(5, 20, dtype=torch.float64, generator=generator)
    c = 3.0
    assert (metrics.entropy(c * h) - metrics.entropy(h)).item() == pytest.approx(5 * math.log(c))


def test_entropy_deficit_identity(generator):
    # With rows rescaled so that tr M = n, h_max - h = (n/2) phi exactly.
    n, d = 6, 24
    h = torch.randn(3, n, d, dtype=torch.float64, generator=generator)
    h = h * math.sqrt(n * d) / torch.linalg.matrix_norm(h)[:, None, None]
    deficit = n * HALF_LOG_2PIE - metrics.entropy(h)
    torch.testing.assert_close(deficit, metrics.entropy_deficit(h))
    torch.testing.assert_close(deficit, 0.5 * n * metrics.isometry_gap(h))


def test_more_samples_than_features_is_rank_deficient(generator):
    h = torch.randn(10, 4, generator=generator)
    assert metrics.isometry_gap(h).item() == math.inf
    assert metrics.entropy(h).item() == -math.inf
    assert metrics.numerical_rank(h).item() == 4
    assert metrics.stable_rank(h).item() <= 4


def test_numerical_rank_tolerance_follows_precision():
    singular_values = torch.tensor([1.0, 1e-3, 1e-10, 1e-20], dtype=torch.float64)
    h = torch.diag(singular_values)
    assert metrics.numerical_rank(h).item() == 3  # float64 round-off: 4 * 2.2e-16
    assert metrics.numerical_rank(h, precision=torch.float32).item() == 2  # 4 * 1.2e-7
    assert metrics.numerical_rank(h, rtol=1e-2).item() == 1


# ---------------------------------------------------------------- invariances and ranges

finite_batches = arrays(
    np.float64,
    st.tuples(st.integers(2, 6), st.integers(2, 9)),
    elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False),
).filter(lambda a: np.linalg.norm(a) > 1e-3 and (np.linalg.norm(a, axis=1) > 1e-3).all())


@given(finite_batches, st.floats(1e-3, 1e3))
def test_scale_invariance(array, scale):
    h = torch.from_numpy(array)
    for metric in (metrics.orthogonality_gap, metrics.stable_rank, metrics.mean_abs_cosine):
        torch.testing.assert_close(metric(scale * h), metric(h), rtol=1e-9, atol=1e-9)
    gap, scaled = metrics.isometry_gap(h), metrics.isometry_gap(scale * h)
    if torch.isfinite(gap) and gap < 20:  # far from singular, where the Cholesky pivots are accurate
        torch.testing.assert_close(scaled, gap, rtol=1e-6, atol=1e-8)


SCALE_INVARIANT = {
    "orthogonality_gap": metrics.orthogonality_gap,
    "isometry_gap": metrics.isometry_gap,
    "stable_rank": metrics.stable_rank,
    "mean_abs_cosine": metrics.mean_abs_cosine,
    "correlation_potential": metrics.correlation_potential,
    "row_norm_gap": metrics.row_norm_gap,
}


@pytest.mark.parametrize("name", sorted(SCALE_INVARIANT))
@pytest.mark.parametrize("scale", [1e200, 1e-200, 2.0**-1000, 1e300])
def test_scale_invariant_metrics_survive_extreme_scales(generator, name, scale):
    # Squaring entries near 1e200 overflows float64 and near 1e-200 underflows it: the metrics must not.
    metric = SCALE_INVARIANT[name]
    h = data.near_collinear_batch(3, 5, 8, generator, cosine=0.5, dtype=torch.float64)
    at_one, at_scale = metric(h), metric(scale * h)
    assert torch.isfinite(at_scale).all()
    torch.testing.assert_close(at_scale, at_one, rtol=1e-12, atol=1e-14)


def test_eigenvalue_path_agrees_with_cholesky_and_condition_number(generator):
    h = data.near_collinear_batch(4, 6, 20, generator, cosine=0.9, dtype=torch.float64)
    torch.testing.assert_close(metrics.isometry_gap_from_eigenvalues(h), metrics.isometry_gap(h), rtol=1e-10, atol=0)
    eig = torch.linalg.eigvalsh(h @ h.mT)
    torch.testing.assert_close(metrics.condition_number(h), eig[:, -1] / eig[:, 0])
    rank_one = data.degenerate_batch(1, 4, 8, generator, distinct=1, dtype=torch.float64)
    assert metrics.condition_number(rank_one).item() > 1e12
    assert metrics.isometry_gap_from_eigenvalues(rank_one).item() > 5


@given(finite_batches, st.integers(0, 10_000))
def test_rotation_invariance(array, seed):
    h = torch.from_numpy(array)
    q = random_orthogonal(h.shape[-1], torch.Generator().manual_seed(seed))
    for metric in (metrics.orthogonality_gap, metrics.stable_rank, metrics.mean_abs_cosine):
        torch.testing.assert_close(metric(h @ q), metric(h), rtol=1e-9, atol=1e-9)


@given(finite_batches)
def test_ranges(array):
    h = torch.from_numpy(array)
    n, d = h.shape
    assert 0.0 <= metrics.orthogonality_gap(h).item() <= math.sqrt(1 - 1 / n) + 1e-12
    assert metrics.isometry_gap(h).item() >= 0.0
    stable = metrics.stable_rank(h).item()
    assert 1.0 - 1e-12 <= stable <= metrics.numerical_rank(h).item() + 1e-9 <= min(n, d) + 1e-9
    assert 0.0 <= metrics.mean_abs_cosine(h).item() <= 1.0 + 1e-12


def test_permuting_samples_changes_nothing(generator):
    h = torch.randn(5, 7, dtype=torch.float64, generator=generator)
    perm = torch.randperm(5, generator=generator)
    for metric in (metrics.orthogonality_gap, metrics.isometry_gap, metrics.entropy, metrics.stable_rank):
        torch.testing.assert_close(metric(h[perm]), metric(h))


# ---------------------------------------------------------------- dtype and broadcasting


def test_float32_input_is_computed_in_float64(generator):
    h = torch.randn(4, 3, 8, dtype=torch.float64, generator=generator)
    for metric in (metrics.orthogonality_gap, metrics.isometry_gap, metrics.entropy, metrics.stable_rank):
        out32, out64 = metric(h.float()), metric(h)
        assert out32.dtype == torch.float64
        torch.testing.assert_close(out32, out64, rtol=1e-5, atol=1e-6)


def test_metrics_broadcast_over_leading_dimensions(generator):
    h = torch.randn(2, 3, 4, 8, generator=generator)
    for metric in (
        metrics.orthogonality_gap,
        metrics.isometry_gap,
        metrics.entropy,
        metrics.entropy_deficit,
        metrics.stable_rank,
        metrics.numerical_rank,
        metrics.mean_abs_cosine,
    ):
        batched = metric(h)
        assert batched.shape == (2, 3)
        torch.testing.assert_close(batched[1, 2], metric(h[1, 2]))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.ones(5), "h must have shape"),
        ([[1.0, 2.0]], "h must be a torch.Tensor"),
        (torch.ones(3, 4, dtype=torch.int64), "floating-point"),
        (torch.tensor([[1.0, float("nan")]]), "NaN or inf"),
        (torch.zeros(3, 4), "identically zero"),
    ],
)
def test_bad_input_raises_one_line_value_error(bad, match):
    for metric in (metrics.orthogonality_gap, metrics.isometry_gap, metrics.stable_rank):
        with pytest.raises(ValueError, match=match) as error:
            metric(bad)
        assert "\n" not in str(error.value)


def test_cosine_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.mean_abs_cosine(torch.ones(1, 4))


def test_numerical_rank_rejects_bad_tolerance():
    with pytest.raises(ValueError, match="rtol"):
        metrics.numerical_rank(torch.eye(3), rtol=1.5)


# ---------------------------------------------------------------- entropy helpers


def test_unit_trace_entropy_is_max_minus_deficit_and_scale_free(generator):
    h = torch.randn(4, 5, 30, dtype=torch.float64, generator=generator)
    unit = metrics.entropy(h, unit_trace=True)
    torch.testing.assert_close(unit, metrics.max_entropy(5) - metrics.entropy_deficit(h))
    torch.testing.assert_close(metrics.entropy(7.0 * h, unit_trace=True), unit)
    assert (unit <= metrics.max_entropy(5) + 1e-12).all()


def test_project_out_mean_makes_centred_batches_non_singular(generator):
    h = torch.randn(3, 6, 20, dtype=torch.float64, generator=generator)
    centred = h - h.mean(-2, keepdim=True)  # what mean-centred BN does to every feature
    assert (metrics.entropy(centred) == -math.inf).all()
    projected = metrics.project_out_mean(centred)
    assert projected.shape == (3, 5, 20)
    assert torch.isfinite(metrics.entropy(projected)).all()
    # P^T G P keeps every non-zero eigenvalue of G: the products of eigenvalues agree.
    eig_full = torch.linalg.eigvalsh(centred @ centred.mT)[:, 1:]
    eig_projected = torch.linalg.eigvalsh(projected @ projected.mT)
    torch.testing.assert_close(eig_projected, eig_full)


def test_project_out_mean_ignores_the_mean_direction(generator):
    h = torch.randn(4, 10, dtype=torch.float64, generator=generator)
    shifted = h + torch.randn(1, 10, dtype=torch.float64, generator=generator)  # the same row added to every sample
    torch.testing.assert_close(metrics.project_out_mean(shifted), metrics.project_out_mean(h))
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.project_out_mean(torch.ones(1, 3))


# ---------------------------------------------------------------- isometry of normalisation


@given(finite_batches)
def test_row_normalisation_identity(array):
    # I(C) = I(G) AM(a^2) / GM(a^2): the gap falls by exactly the row-norm gap when rows are normalised.
    h = torch.from_numpy(array)
    gap = metrics.isometry_gap(h)
    if not torch.isfinite(gap) or gap > 20:  # singular or too ill-conditioned for a 1e-8 comparison
        return
    normalised = h / h.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(gap - metrics.isometry_gap(normalised), metrics.row_norm_gap(h), rtol=0, atol=1e-8)
    assert metrics.row_norm_gap(h).item() >= 0.0


def test_correlation_potential(generator):
    h = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)  # cos = 0.6
    assert metrics.correlation_potential(h).item() == pytest.approx(0.6 / 0.4)
    assert metrics.correlation_potential(orthonormal_rows(3, 5, generator)).item() == pytest.approx(0.0, abs=1e-12)
    assert metrics.correlation_potential(torch.ones(3, 4)).item() == math.inf
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.correlation_potential(torch.ones(1, 4))

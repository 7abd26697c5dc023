"""Input batches: shapes, unit-RMS rows, and the structure each one promises."""

import pytest
import torch

from normprop import data, metrics


def test_batches_have_unit_rms_rows(generator):
    for make in (
        data.gaussian_batch,
        data.orthogonal_batch,
        data.near_collinear_batch,
        data.degenerate_batch,
        data.spiked_batch,
    ):
        x = make(3, 4, 16, generator)
        assert x.shape == (3, 4, 16) and x.dtype == torch.float32
        torch.testing.assert_close(x.square().mean(-1), torch.ones(3, 4))


def test_orthogonal_batch_has_zero_gap(generator):
    x = data.orthogonal_batch(5, 6, 10, generator, torch.float64)
    torch.testing.assert_close(metrics.orthogonality_gap(x), torch.zeros(5, dtype=torch.float64), atol=1e-12, rtol=0)


def test_near_collinear_batch_has_the_requested_cosine(generator):
    x = data.near_collinear_batch(200, 4, 256, generator, cosine=0.9, dtype=torch.float64)
    assert metrics.mean_abs_cosine(x).mean().item() == pytest.approx(0.9, abs=0.02)


def test_degenerate_batch_repeats_samples(generator):
    x = data.degenerate_batch(2, 6, 16, generator, distinct=2, dtype=torch.float64)
    assert torch.equal(x[:, 0], x[:, 2]) and torch.equal(x[:, 1], x[:, 5])
    assert (metrics.numerical_rank(x) == 2).all()


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda g: data.gaussian_batch(0, 4, 8, g), "seeds"),
        (lambda g: data.orthogonal_batch(1, 9, 8, g), "n must be at most d"),
        (lambda g: data.near_collinear_batch(1, 4, 8, g, cosine=1.0), "cosine"),
        (lambda g: data.degenerate_batch(1, 4, 8, g, distinct=5), "distinct"),
    ],
)
def test_bad_sizes_raise(generator, call, argument):
    with pytest.raises(ValueError, match=argument):
        call(generator)


def test_spiked_batch_is_far_from_isometric_along_one_direction(generator):
    plain = data.spiked_batch(50, 8, 64, generator, factor=1.0, dtype=torch.float64)
    spiked = data.spiked_batch(50, 8, 64, generator, factor=10.0, dtype=torch.float64)
    assert metrics.isometry_gap(spiked).mean() > 3 * metrics.isometry_gap(plain).mean()
    singular_values = torch.linalg.svdvals(spiked)
    assert (singular_values[:, 0] > 2 * singular_values[:, 1]).all()  # the row rescaling tempers the spike
    with pytest.raises(ValueError, match="factor"):
        data.spiked_batch(1, 4, 8, generator, factor=0.5)


def test_noisy_orthogonal_batch_is_near_isometric(generator):
    from normprop import metrics

    clean = data.noisy_orthogonal_batch(4, 8, 8, generator, noise=0.0, dtype=torch.float64)
    noisy = data.noisy_orthogonal_batch(4, 8, 8, generator, noise=0.3, dtype=torch.float64)
    assert metrics.isometry_gap(clean).max().item() < 1e-10
    assert 0 < metrics.isometry_gap(noisy).min().item() < 0.5
    with pytest.raises(ValueError, match="noise"):
        data.noisy_orthogonal_batch(1, 4, 4, generator, noise=-1.0)

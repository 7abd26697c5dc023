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


def write_fake_cifar10(root, per_batch=6, seed=0):
    """A tiny data set in torchvision's cifar-10-batches-py layout (the real one cannot be downloaded here)."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, size=per_batch).tolist(),
            "batch_label": name,
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle, protocol=2)
    return folder


def test_cifar10_reads_the_torchvision_layout_and_standardises_per_channel(tmp_path):
    import numpy as np

    write_fake_cifar10(tmp_path)
    x_train, y_train, x_test, y_test = data.cifar10(tmp_path)
    assert x_train.shape == (30, 3072) and x_test.shape == (6, 3072)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64 and y_test.dtype == torch.int64
    channels = x_train.double().reshape(30, 3, 1024)
    np.testing.assert_allclose(channels.mean((0, 2)).numpy(), 0, atol=1e-6)
    np.testing.assert_allclose(channels.std((0, 2), unbiased=False).numpy(), 1, atol=1e-5)
    assert set(y_train.tolist()) <= set(range(10))
    assert torch.equal(data.classification_data("cifar10", root=tmp_path)[1], y_train)


def test_cifar10_missing_folder_says_where_and_how(tmp_path):
    with pytest.raises(ValueError, match="cifar-10-batches-py") as error:
        data.cifar10(tmp_path / "nowhere")
    assert "download=True" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ValueError, match="name must be"):
        data.classification_data("imagenet")
    assert data.classification_data("digits")[0].shape == (1438, 64)

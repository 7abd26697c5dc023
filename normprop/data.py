"""Input batches of shape ``(seeds, n, d)``, drawn from an explicit generator.

Every batch has rows of unit root-mean-square (``||x_i||^2 = d``), so that a Gaussian layer
``N(0, 1/d)`` keeps pre-activations at unit scale. The quick and paper presets download nothing: synthetic
batches here, and scikit-learn's bundled 8x8 digits (:func:`digits`). The full preset reads CIFAR-10
(:func:`cifar10`), which it fetches only when asked to.
"""

from __future__ import annotations

import math
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from normprop._validation import check_open_unit, check_positive_int
from normprop.repro.layout import repo_root


def _check_sizes(seeds: int, n: int, d: int) -> None:
    check_positive_int(seeds, "seeds")
    check_positive_int(n, "n")
    check_positive_int(d, "d")


def unit_rms_rows(x: torch.Tensor) -> torch.Tensor:
    """Rescale each row to unit root-mean-square, ``||x_i||^2 = d``."""
    return x / x.square().mean(-1, keepdim=True).sqrt()


def gaussian_batch(
    seeds: int, n: int, d: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """i.i.d. standard Gaussian rows, rescaled to unit RMS."""
    _check_sizes(seeds, n, d)
    return unit_rms_rows(torch.randn(seeds, n, d, generator=generator, dtype=dtype, device=generator.device))


def orthogonal_batch(
    seeds: int, n: int, d: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """n random orthogonal rows of equal norm (orthogonality gap 0); needs ``n <= d``."""
    _check_sizes(seeds, n, d)
    if n > d:
        raise ValueError(f"n must be at most d for orthogonal rows, got n = {n} > d = {d}")
    a = torch.randn(seeds, d, n, generator=generator, dtype=torch.float64, device=generator.device)
    q, _ = torch.linalg.qr(a)
    return (q.mT * math.sqrt(d)).to(dtype)


def near_collinear_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    cosine: float = 0.99,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Rows ``sqrt(c) u + sqrt(1 - c) g_i`` around a shared direction u: pairwise cosine about c.

    With u and g_i i.i.d. ``N(0, I_d)`` the expected inner product of two rows over their squared
    norm is ``c``, so ``cosine`` close to 1 gives a nearly rank-one batch.
    """
    _check_sizes(seeds, n, d)
    cosine = check_open_unit(cosine, "cosine")
    shape = (seeds, 1, d)
    shared = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
    noise = torch.randn(seeds, n, d, generator=generator, dtype=dtype, device=generator.device)
    return unit_rms_rows(math.sqrt(cosine) * shared + math.sqrt(1 - cosine) * noise)


def degenerate_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    distinct: int = 1,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A batch of n rows that repeats ``distinct`` Gaussian samples cyclically (rank ``distinct``)."""
    _check_sizes(seeds, n, d)
    check_positive_int(distinct, "distinct")
    if distinct > n:
        raise ValueError(f"distinct must be at most n, got distinct = {distinct} > n = {n}")
    base = gaussian_batch(seeds, distinct, d, generator, dtype)
    return base[:, torch.arange(n) % distinct]


def spiked_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    factor: float = 10.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A Gaussian batch whose top singular value is multiplied by ``factor``, rows then rescaled to unit RMS.

    The input of Joudaki et al. (2023)'s validation MLP: ``factor`` (5, 10, 100) sets how far from isometric the
    batch starts, along a random direction that is generically not the all-ones sample vector.
    """
    _check_sizes(seeds, n, d)
    if not factor >= 1.0:
        raise ValueError(f"factor must be at least 1, got {factor!r}")
    x = torch.randn(seeds, n, d, generator=generator, dtype=torch.float64, device=generator.device)
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    s = s.clone()
    s[:, 0] *= factor
    return unit_rms_rows((u * s.unsqueeze(-2)) @ vh).to(dtype)


def digits(
    train_fraction: float = 0.8, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits (1797 x 64, 10 classes; no download), standardised.

    Fixed split: the first ``train_fraction`` of the samples in their stored order train, the rest test.
    Each pixel is standardised with the training split's mean and standard deviation (pixels that are
    constant on the training split are centred only). Returns ``x_train, y_train, x_test, y_test``.
    """
    from sklearn.datasets import load_digits

    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    bundle = load_digits()
    x = torch.as_tensor(bundle.data, dtype=torch.float64)
    y = torch.as_tensor(bundle.target, dtype=torch.int64)
    split = int(round(train_fraction * len(x)))
    mean, std = x[:split].mean(0), x[:split].std(0)
    x = (x - mean) / torch.where(std > 0, std, torch.ones_like(std))
    x = x.to(dtype)
    return x[:split], y[:split], x[split:], y[split:]


def noisy_orthogonal_batch(
    seeds: int,
    n: int,
    d: int,
    generator: torch.Generator,
    noise: float = 0.3,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """An :func:`orthogonal_batch` plus i.i.d. ``N(0, noise^2)`` entries: near-isometric, with a gap set by ``noise``.

    The input of Meterez et al. (2024)'s Fig. 1 experiment, where the isometry gap starts small and decays.
    """
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    x = orthogonal_batch(seeds, n, d, generator, dtype)
    return x + noise * torch.randn(x.shape, generator=generator, dtype=dtype, device=generator.device)


#: Where the CIFAR-10 archive is published (the ``cifar-10-python.tar.gz`` that torchvision also fetches).
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
_CIFAR10_TRAIN = [f"data_batch_{index}" for index in range(1, 6)]


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open("rb") as handle:
        batch = pickle.load(handle, encoding="latin1")  # the archive's own format (Python 2 pickles)
    images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch["labels"], dtype=np.int64)


def download_cifar10(root: str | Path) -> Path:
    """Fetch and unpack the CIFAR-10 python archive into ``root`` (about 170 MB); return the batches folder.

    Needs the internet; the quick and paper presets never call it. Equivalent to
    ``torchvision.datasets.CIFAR10(root, download=True)``, which writes the same layout.
    """
    import tarfile
    import urllib.request

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / "cifar-10-python.tar.gz"
    if not archive.exists():
        partial = archive.with_suffix(".part")
        urllib.request.urlretrieve(CIFAR10_URL, partial)
        partial.replace(archive)
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return root / CIFAR10_FOLDER


def cifar10(
    root: str | Path, download: bool = False, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CIFAR-10 from torchvision's ``cifar-10-batches-py`` layout under ``root``: ``x_train, y_train, x_test, y_test``.

    Images are flattened to 3072 features (channel, row, column) and standardised per channel with the training
    set's mean and standard deviation over all its pixels; labels are int64 (50000 training, 10000 test images).
    A missing folder raises a ``ValueError`` that names it and says how to get the data
    (``download=True`` here, or ``torchvision.datasets.CIFAR10(root, download=True)``).
    """
    folder = Path(root) / CIFAR10_FOLDER
    if not folder.is_dir() and download:
        folder = download_cifar10(root)
    missing = [name for name in [*_CIFAR10_TRAIN, "test_batch"] if not (folder / name).is_file()]
    if missing:
        raise ValueError(
            f"root must hold CIFAR-10 in {folder} (missing: {', '.join(missing)}); fetch it with "
            f"normprop.data.cifar10({str(root)!r}, download=True) or torchvision.datasets.CIFAR10(root, download=True)"
        )
    train = [_read_cifar10_batch(folder / name) for name in _CIFAR10_TRAIN]
    x_train = np.concatenate([images for images, _ in train]).astype(np.float64)
    y_train = np.concatenate([labels for _, labels in train])
    x_test, y_test = _read_cifar10_batch(folder / "test_batch")
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True)

    def standardise(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((images - mean) / std).reshape(len(images), -1)).to(dtype)

    return (
        standardise(x_train),
        torch.from_numpy(y_train),
        standardise(x_test.astype(np.float64)),
        torch.from_numpy(y_test),
    )


def classification_data(name: str, root: str | Path | None = None) -> tuple[torch.Tensor, ...]:
    """``x_train, y_train, x_test, y_test`` of a named data set: ``"digits"`` (bundled, the quick and paper
    presets) or ``"cifar10"`` (the full preset; read from ``root``, default ``$NORMPROP_DATA`` or ``data/``)."""
    if name == "digits":
        return digits()
    if name == "cifar10":
        if root is None:
            root = Path(os.environ["NORMPROP_DATA"]) if os.environ.get("NORMPROP_DATA") else repo_root() / "data"
        return cifar10(root)
    raise ValueError(f"name must be 'digits' or 'cifar10', got {name!r}")

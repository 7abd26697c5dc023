"""benchmarks/kernel_bound.py: its bare kernels compute what the package computes (else the ratio means nothing)."""

import importlib.util

import pytest
import torch

from normprop import train
from normprop.nets import NetworkSpec
from normprop.repro.layout import repo_root
from normprop.seeding import make_generator


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("kernel_bound", repo_root() / "benchmarks" / "kernel_bound.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data(n: int = 24, d: int = 6, classes: int = 3):
    generator = make_generator(0)
    return torch.randn(n, d, generator=generator), torch.randint(classes, (n,), generator=generator)


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("bare_relu_sgd", NetworkSpec(8, 3, norm="none", activation="relu", init="he")),
        ("bare_bn_sgd", NetworkSpec(8, 3, norm="batch", norm_scale="rms", order="act_norm", init="orthogonal")),
    ],
)
def test_one_full_batch_step_of_the_bare_kernels_equals_autograd_sgd(bench, name, spec):
    """With the whole set as one batch the order of the samples does not matter, so both take the same step."""
    x, y = data()
    weights = train.init_weights(2, x.shape[1], spec, make_generator(1), classes=3)
    expected = train.sgd(x, y, weights, spec, 1, make_generator(2), lr=0.1, batch_size=len(x)).weights
    bare = getattr(bench, name)(x, y, weights, 1, 0.1, len(x))
    plain = bench.plain_autograd_sgd(x, y, weights, 1, 0.1, len(x), bn=spec.norm == "batch")
    for version in (bare, plain):
        for got, want in zip(version, expected, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
        assert not torch.allclose(version[0], weights[0])  # it did take a step


def test_the_floor_counts_the_layer_epochs_of_each_run(bench):
    """04: orthogonal at each of 2 steps (2 x 30 layers x 2 epochs), tanh with and without the gain (the same),
    Gaussian at each step for one epoch (2 x 30); 05: 3 inits x (5 + 15) layers x 4 epochs."""
    sizes04 = {"train_depths": [10, 20], "train_epochs": 2, "train_steps": [0.1, 0.2], "train_activations": ["tanh"]}
    assert bench.layer_epochs_04(sizes04) == 120 + 120 + 60
    assert bench.layer_epochs_05({"depths": [5, 15], "epochs": 4}) == 240

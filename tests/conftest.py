import pytest
import torch

from normprop.nets import make_generator


@pytest.fixture
def generator() -> torch.Generator:
    return make_generator(1234)


def random_orthogonal(d: int, generator: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
    return q

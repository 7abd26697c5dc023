import os
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import settings

from normprop.seeding import make_generator

# The tests mirror the package (science/, claims/, repro/); helpers shared across them live here, in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def generator() -> torch.Generator:
    return make_generator(1234)


def random_orthogonal(d: int, generator: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
    return q


# Property tests draw a fixed sequence of examples: CI and every rerun test the same cases.
# `HYPOTHESIS_PROFILE=explore pytest` searches fresh random examples (many more of them).
settings.register_profile("default", max_examples=60, derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

"""The pinned numerical code paths (normprop.repro.runtime.NUMERICAL_PINS): under them a run's bytes do not
depend on the code paths the processor or the environment would otherwise choose.

A tiny notebook runs a float32 BN chain of 200 layers (torch's own kernels and MKL's matmuls), a float64 QR
(MKL's LAPACK) and a numpy least-squares fit (OpenBLAS), records their results to the last bit and saves a figure.
It runs through the real ``normprop`` command twice: once as it is, once with the environment asking for other
code paths (torch's kernels without SIMD, MKL limited to SSE4.2, OpenBLAS's Prescott kernels, as an older
processor would choose). With the pins both runs give the same record and the same figure bytes; without them
(``NORMPROP_NATIVE_CODE_PATHS=1``, the control) the same change of environment changes the numbers.
"""

import hashlib
import json

import pytest
from tiny_notebooks import write_notebook

from normprop.repro import cli

pytestmark = pytest.mark.processes

OTHER_PATHS = {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "OPENBLAS_CORETYPE": "Prescott"}
CHAIN = """\
import hashlib
import numpy as np
import torch
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from normprop import data, metrics, nets, seeding
from normprop.repro.plotting import save_figure
from normprop.repro.records import ClaimRun
generator = seeding.make_generator(0)
x = data.near_collinear_batch(4, 8, 64, generator)
table = nets.measure_chain(x, nets.NetworkSpec(64, 200), {"gap": metrics.orthogonality_gap}, generator)
q, _ = torch.linalg.qr(torch.randn(4, 48, 48, generator=generator, dtype=torch.float64))
a = np.random.default_rng(0).standard_normal((300, 40))
fit = np.linalg.lstsq(a, a @ np.arange(40.0) + 1e-3 * np.random.default_rng(1).standard_normal(300), rcond=None)[0]
digests = {name: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
           for name, v in [("gaps", table["gap"].to_numpy()), ("qr", q.numpy()), ("lstsq", fit)]}
fig, ax = plt.subplots()
ax.plot(table.groupby("layer")["gap"].mean())
save_figure(fig, "01_fig1_cosine", preset)
ClaimRun("01_orthogonality", preset).record({"ran": True}, digests)
"""


def run_once(tmp_path, monkeypatch, name, environment):
    build = tmp_path / name
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(build))
    with monkeypatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        assert cli.main(["run", "01", "--preset", "quick", "--no-cache", "--no-progress"]) == 0
    record = json.loads((build / "quick" / "01_orthogonality.json").read_text())
    figure = hashlib.sha256((build / "quick" / "figures" / "01_fig1_cosine.png").read_bytes()).hexdigest()
    return record["numbers"], figure


@pytest.fixture
def notebook(tmp_path, monkeypatch):
    write_notebook(tmp_path / "notebooks", "01_orthogonality", CHAIN)
    monkeypatch.setenv("NORMPROP_NOTEBOOKS_DIR", str(tmp_path / "notebooks"))
    monkeypatch.delenv("NORMPROP_NATIVE_CODE_PATHS", raising=False)
    for key in OTHER_PATHS:
        monkeypatch.delenv(key, raising=False)


def test_under_the_pins_other_code_paths_change_no_byte(notebook, tmp_path, monkeypatch):
    assert run_once(tmp_path, monkeypatch, "as-is", {}) == run_once(tmp_path, monkeypatch, "other", OTHER_PATHS)


def test_without_the_pins_the_same_change_moves_the_numbers(notebook, tmp_path, monkeypatch):
    native = {"NORMPROP_NATIVE_CODE_PATHS": "1"}
    numbers, _ = run_once(tmp_path, monkeypatch, "native", native)
    other, _ = run_once(tmp_path, monkeypatch, "native-other", {**native, **OTHER_PATHS})
    assert numbers["gaps"] != other["gaps"] and numbers["lstsq"] != other["lstsq"]

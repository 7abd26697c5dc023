"""Compute settings: intra-op threads and device, chosen in one place.

On the 2-core machines this project targets, torch's default of one thread per core is slower for
the small matrices of these chains than a single thread (see ``benchmarks/``), and two notebooks
running side by side must not oversubscribe the cores. Hence a default of 1 thread, overridable by
``NORMPROP_THREADS``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEFAULT_THREADS = 1

#: Environment for every Jupyter kernel the project starts (papermill, nbval), set in this one place:
#: prefer the venv's ``python3`` kernel over one in ``~/.local/share/jupyter``; name cells ``<IPY-INPUT>`` in
#: tracebacks instead of a machine path under /tmp (committed outputs must not hold machine paths); and keep
#: debugpy's frozen-modules warning out of outputs that nbval compares.
#:
#: It also pins the numerical code paths (:data:`NUMERICAL_PINS`), so that a kernel computes the same bytes on
#: any x86-64 processor with AVX2, whatever else it offers (AVX-512, another vendor's MKL dispatch).
#: Set to ``off`` (the ledger does) to skip saving and showing figures and their error bands
#: (:func:`normprop.repro.session.figures_on`).
FIGURES_VARIABLE = "NORMPROP_FIGURES"

KERNEL_ENVIRONMENT = {
    "JUPYTER_PREFER_ENV_PATH": "1",
    "IPYKERNEL_CELL_NAME": "<IPY-INPUT>",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}

#: The code paths every kernel the project starts is held to, chosen from measurements (README, *Same bytes on
#: every machine*). Each library otherwise picks its kernels by what the processor offers, and float32 chains of
#: hundreds of layers end in different last bits: torch's own kernels (``ATEN_CPU_CAPABILITY``: a BN chain's
#: bytes changed between ``default`` and ``avx2``), MKL, which torch calls for matmuls and QR (``MKL_CBWR``,
#: its conditional numerical reproducibility: a float64 QR changed between MKL's native path on an AMD processor
#: and the AVX2 branch), oneDNN (``ONEDNN_MAX_CPU_ISA``) and OpenBLAS, which numpy and scipy use for the fits
#: (``OPENBLAS_CORETYPE``: a Cholesky changed between the Haswell and Sandybridge kernels). AVX2 is the level of
#: nearly every x86-64 processor since 2013; a processor without it cannot honour these pins.
#: ``NORMPROP_NATIVE_CODE_PATHS=1`` leaves the choice to the libraries (to measure what the pins cost).
NUMERICAL_PINS = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
}


def kernel_environment() -> dict[str, str]:
    """:data:`KERNEL_ENVIRONMENT` and, unless ``$NORMPROP_NATIVE_CODE_PATHS`` is set, :data:`NUMERICAL_PINS`."""
    native = os.environ.get("NORMPROP_NATIVE_CODE_PATHS", "").strip().lower() not in ("", "0", "false", "no")
    return {**KERNEL_ENVIRONMENT, **({} if native else NUMERICAL_PINS)}


def code_paths() -> dict[str, str | None]:
    """The pins in force in this process (None: not set), for the provenance of a run."""
    return {name: os.environ.get(name) for name in NUMERICAL_PINS}


def resolve_device(device: str | None = None) -> torch.device:
    """``"auto"``/``None`` picks CUDA when present, else CPU; anything else is passed to torch."""
    import torch  # here, not at the top: the command line reads KERNEL_ENVIRONMENT without loading torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or a torch device string, got {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but no CUDA device is available")
    return resolved


def configure(threads: int | None = None, device: str | None = "cpu") -> torch.device:
    """Set torch's intra-op threads (argument, else ``$NORMPROP_THREADS``, else 1) and return the device."""
    if threads is None:
        threads = int(os.environ.get("NORMPROP_THREADS", DEFAULT_THREADS))
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    import torch

    torch.set_num_threads(threads)
    return resolve_device(device)

"""Where a reproduction ran: code version, packages, the torch build, BLAS/OpenMP threads, the CPU.

The report records these so that a number in it can be traced to the code and the machine that made it.
Everything here is gathered when a run starts (before the notebooks rewrite any figure, which would make
the checkout look modified), and nothing here fails a run: what cannot be found is recorded as unknown.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from normprop.repro.runtime import NUMERICAL_PINS, kernel_environment

PACKAGES = (
    "torch", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "scikit-learn", "papermill", "nbclient",
    "ipykernel", "threadpoolctl",
)  # fmt: skip
_TORCH_SETTINGS = ("TORCH_VERSION", "BUILD_TYPE", "COMMIT_SHA", "BLAS_INFO", "LAPACK_INFO", "USE_CUDA", "USE_MKL",
                   "USE_MKLDNN", "USE_OPENMP")  # fmt: skip


def git_state(folder: str | os.PathLike) -> dict[str, Any]:
    """``{"commit", "dirty", "changed_files"}`` of the git checkout holding ``folder``, or, when there is
    none (a release tarball, no git installed), ``commit`` and ``dirty`` None and the reason in ``error``."""
    try:
        commit = _git(folder, "rev-parse", "HEAD").strip()
        changes = [line for line in _git(folder, "status", "--porcelain").splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError) as error:
        reason = error.stderr.strip().splitlines()[-1] if getattr(error, "stderr", None) else str(error)
        return {"commit": None, "dirty": None, "changed_files": None, "error": f"not a git checkout: {reason}"}
    return {"commit": commit, "dirty": bool(changes), "changed_files": len(changes)}


def _git(folder: str | os.PathLike, *arguments: str) -> str:
    completed = subprocess.run(
        ["git", *arguments], cwd=folder, capture_output=True, text=True, check=True, timeout=30,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # a status must not take the index lock from a user's git
    )  # fmt: skip
    return completed.stdout


def package_versions() -> dict[str, str]:
    """Installed versions of the key packages, and of the normprop code that is imported."""
    from normprop import __version__

    versions = {"normprop": __version__}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def torch_build() -> dict[str, Any]:
    """A compact part of ``torch.__config__.show()``: the library lines and the key build settings."""
    import torch

    summary, settings = [], {}
    for line in torch.__config__.show().splitlines():
        line = line.strip().removeprefix("- ")
        if line.startswith("Build settings:"):
            pairs = re.findall(r"([A-Z_]+)=([^,]*)", line.removeprefix("Build settings:"))
            settings = {key: value.strip() for key, value in pairs if key in _TORCH_SETTINGS}
        elif line and not line.endswith("built with:"):
            summary.append(line)
    backend = re.search(r"ATen parallel backend: (.+)", torch.__config__.parallel_info())
    return {
        "summary": summary,
        "build_settings": settings,
        "parallel_backend": backend.group(1).strip() if backend else "unknown",
    }


def thread_pools() -> list[dict[str, Any]]:
    """The BLAS and OpenMP libraries loaded (numpy's, torch's) and their thread counts, from threadpoolctl.

    These are the libraries' defaults in the normprop process; each notebook then sets torch's intra-op
    threads to the run's ``torch_threads_per_job``.
    """
    try:
        import numpy  # noqa: F401  (loads its BLAS)
        import threadpoolctl
        import torch  # noqa: F401  (loads its OpenMP)
    except ImportError as error:
        return [{"error": f"threadpoolctl unavailable: {error}"}]
    keep = ("user_api", "internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")
    return [{key: pool[key] for key in keep if key in pool} for pool in threadpoolctl.threadpool_info()]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def notebook_seed(path: str | os.PathLike) -> int | str | None:
    """The ``seed`` set in a notebook's ``parameters`` cell (the run does not override it), or None."""
    try:
        cells = json.loads(Path(path).read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return None
    for cell in cells:
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            match = re.search(r"^seed\s*=\s*([^#\n]+?)\s*(?:#.*)?$", source, re.M)
            if match:
                value = match.group(1)
                return int(value) if value.lstrip("-").isdigit() else value
    return None


def environment(folder: str | os.PathLike, jobs: int, threads: int) -> dict[str, Any]:
    """Everything above, for the checkout at ``folder`` and a run of ``jobs`` notebooks at once with
    ``threads`` torch threads each."""
    return {
        "git": git_state(folder),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "jobs": jobs,
        "torch_threads_per_job": threads,
        "packages": package_versions(),
        "torch_build": torch_build(),
        "thread_pools": thread_pools(),
        # What every kernel of the run was held to (normprop.repro.runtime.NUMERICAL_PINS), or "native".
        "code_paths": {name: kernel_environment().get(name, "native") for name in NUMERICAL_PINS},
    }

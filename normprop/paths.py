"""Paths anchored at the repository root, wherever the caller runs.

papermill executes a notebook in the caller's working directory and nbval in the notebook's own
directory, so no path in normprop is relative to the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

_MARKER = "pyproject.toml"


def repo_root() -> Path:
    """The repository root: the first parent of this package (or of the working directory)
    that holds ``pyproject.toml`` and a ``notebooks`` folder."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / _MARKER).is_file() and (folder / "notebooks").is_dir():
                return folder
    raise FileNotFoundError("cannot find the normprop repository root (a folder with pyproject.toml and notebooks/)")


def notebooks_dir() -> Path:
    """The notebooks the CLI runs: ``notebooks/``, or ``$NORMPROP_NOTEBOOKS_DIR`` if set (tests point it at
    tiny stand-in notebooks named like the real ones, to test the CLI end to end in seconds)."""
    override = os.environ.get("NORMPROP_NOTEBOOKS_DIR")
    return Path(override) if override else repo_root() / "notebooks"


def build_dir(preset: str) -> Path:
    """``build/<preset>`` under the repository root, or under ``$NORMPROP_BUILD_DIR`` if set (tests
    point it at a temporary folder so that they never touch the working tree)."""
    base = Path(os.environ["NORMPROP_BUILD_DIR"]) if os.environ.get("NORMPROP_BUILD_DIR") else repo_root() / "build"
    return base / preset


def figures_dir(preset: str) -> Path:
    """Where a preset's figures go: the committed ``figures/`` for the paper preset, and
    ``build/<preset>/figures`` for any other, so that quick and CI runs never touch committed files."""
    if preset == "paper" and not os.environ.get("NORMPROP_BUILD_DIR"):
        return repo_root() / "figures"
    return build_dir(preset) / "figures"


def relative_to_root(path: Path) -> str:
    """A path as printed in notebooks: relative to the repository root, never a machine path."""
    try:
        return str(Path(path).resolve().relative_to(repo_root()))
    except ValueError:
        return Path(path).name

"""Where every file goes: paths anchored at the repository root, and every file name under ``build/``.

papermill executes a notebook in the caller's working directory and nbval in the notebook's own
directory, so no path in normprop is relative to the working directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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


def cache_dir() -> Path:
    """``build/cache`` under the repository root, or under ``$NORMPROP_BUILD_DIR`` when that is set."""
    return build_dir("cache")


def cache_disabled() -> bool:
    """``NORMPROP_NO_CACHE`` set to anything but empty, ``0``, ``false`` or ``no``: the one reading of the
    variable, for the task cache and for the reuse of unchanged notebooks alike."""
    return os.environ.get("NORMPROP_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no")


# The files a run writes under build/<preset>/, one name each.
def record_path(notebook: str, preset: str) -> Path:
    """A notebook's verdict and headline numbers: ``build/<preset>/<notebook>.json``."""
    return build_dir(preset) / f"{notebook}.json"


def executed_notebook_path(notebook: str, preset: str) -> Path:
    """The notebook as it ran, outputs included: ``build/<preset>/<notebook>.ipynb``."""
    return build_dir(preset) / f"{notebook}.ipynb"


def log_path(notebook: str, preset: str) -> Path:
    """papermill's log of a notebook's run: ``build/<preset>/<notebook>.log``."""
    return build_dir(preset) / f"{notebook}.log"


def task_log_path(notebook: str, preset: str) -> Path:
    """Where a notebook's tasks ran (written by its session): ``build/<preset>/<notebook>.tasks.json``."""
    return build_dir(preset) / f"{notebook}.tasks.json"


def inputs_path(notebook: str, preset: str) -> Path:
    """What a finished run ran (to reuse it when nothing changed): ``build/<preset>/<notebook>.inputs.json``."""
    return build_dir(preset) / f"{notebook}.inputs.json"


def lock_path(preset: str) -> Path:
    """One run per preset at a time: ``build/<preset>/.lock``."""
    return build_dir(preset) / ".lock"


def report_paths(preset: str) -> tuple[Path, Path]:
    """The run's report: ``build/<preset>/report.json`` and ``report.md``."""
    return build_dir(preset) / "report.json", build_dir(preset) / "report.md"


def gallery_path(preset: str) -> Path:
    """The figure gallery: ``README.md`` beside the preset's figures."""
    return figures_dir(preset) / "README.md"


def read_task_log(notebook: str, preset: str) -> dict[str, Any] | None:
    path = task_log_path(notebook, preset)
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def describe_task_log(log: dict[str, Any] | None) -> str:
    """One line: how many tasks, how many computed where, how many read from the cache."""
    if not log:
        return "no task sweeps recorded"
    if not log["computed"]:
        return f"{log['tasks']} tasks: all from the cache"
    where = ", ".join(log["where"])
    return f"{log['tasks']} tasks: {log['computed']} computed ({where}), {log['cached']} from the cache"

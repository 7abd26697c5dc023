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


def build_base() -> Path:
    """``build/`` under the repository root, or ``$NORMPROP_BUILD_DIR`` if set (tests point it at a temporary
    folder so that they never touch the working tree)."""
    return Path(os.environ["NORMPROP_BUILD_DIR"]) if os.environ.get("NORMPROP_BUILD_DIR") else repo_root() / "build"


def variant(value: str | None = None) -> str:
    """The run's variant: ``value``, else ``$NORMPROP_VARIANT`` (set by ``normprop run -p ...`` for its kernels),
    else "" (the preset's default parameters)."""
    return (os.environ.get("NORMPROP_VARIANT", "") if value is None else value).strip()


def build_dir(preset: str, variant_name: str | None = None) -> Path:
    """``build/<preset>``; a run with other parameters than the notebooks' defaults (a variant, e.g. ``seed1``)
    writes under ``build/<preset>-<variant>`` instead, never over the default run's files."""
    name = variant(variant_name)
    return build_base() / (f"{preset}-{name}" if name else preset)


def figures_dir(preset: str, variant_name: str | None = None) -> Path:
    """Where a run's figures go: the committed ``figures/`` for the paper preset with default parameters, and
    ``build/<preset>[-<variant>]/figures`` for any other, so that quick, CI and variant runs never touch
    committed files."""
    if preset == "paper" and not os.environ.get("NORMPROP_BUILD_DIR") and not variant(variant_name):
        return repo_root() / "figures"
    return build_dir(preset, variant_name) / "figures"


def relative_to_root(path: Path) -> str:
    """A path as printed in notebooks: relative to the repository root, never a machine path."""
    try:
        return str(Path(path).resolve().relative_to(repo_root()))
    except ValueError:
        return Path(path).name


def cache_dir() -> Path:
    """``build/cache`` under the repository root, or under ``$NORMPROP_BUILD_DIR`` when that is set."""
    return build_base() / "cache"


def cache_disabled() -> bool:
    """``NORMPROP_NO_CACHE`` set to anything but empty, ``0``, ``false`` or ``no``: the one reading of the
    variable, for the task cache and for the reuse of unchanged notebooks alike."""
    return os.environ.get("NORMPROP_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no")


# The files a run writes under build/<preset>/, one name each.
def record_path(notebook: str, preset: str, variant_name: str | None = None) -> Path:
    """A notebook's verdict and headline numbers: ``build/<preset>/<notebook>.json``."""
    return build_dir(preset, variant_name) / f"{notebook}.json"


def executed_notebook_path(notebook: str, preset: str, variant_name: str | None = None) -> Path:
    """The notebook as it ran, outputs included: ``build/<preset>/<notebook>.ipynb``."""
    return build_dir(preset, variant_name) / f"{notebook}.ipynb"


def log_path(notebook: str, preset: str, variant_name: str | None = None) -> Path:
    """papermill's log of a notebook's run: ``build/<preset>/<notebook>.log``."""
    return build_dir(preset, variant_name) / f"{notebook}.log"


def task_log_path(notebook: str, preset: str, variant_name: str | None = None) -> Path:
    """Where a notebook's tasks ran (written by its session): ``build/<preset>/<notebook>.tasks.json``."""
    return build_dir(preset, variant_name) / f"{notebook}.tasks.json"


def inputs_path(notebook: str, preset: str, variant_name: str | None = None) -> Path:
    """What a finished run ran (to reuse it when nothing changed): ``build/<preset>/<notebook>.inputs.json``."""
    return build_dir(preset, variant_name) / f"{notebook}.inputs.json"


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


def ledger_paths(preset: str) -> tuple[Path, Path]:
    """The claim ledger over seeds (``normprop ledger``): ``build/<preset>/ledger.json`` and ``ledger.md``."""
    return build_dir(preset, "") / "ledger.json", build_dir(preset, "") / "ledger.md"


def reference_path(notebook: str) -> Path:
    """The committed reference of a claim's paper-preset numbers (``normprop verify``):
    ``figures/reference/<notebook>.json`` (under ``$NORMPROP_BUILD_DIR`` when that is set, as the figures)."""
    base = build_base() / "reference" if os.environ.get("NORMPROP_BUILD_DIR") else repo_root() / "figures" / "reference"
    return base / f"{notebook}.json"

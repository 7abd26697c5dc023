"""Notebook parameters from the command line: ``normprop run 02 --seed 1 -p threads 2``.

Values are read as papermill reads ``-p NAME VALUE`` (``True``/``False``/``None``, an integer, a float, else the
text), checked against the notebook's own ``parameters`` cell (plain values only, by the notebooks' contract:
read here with ``ast``, without starting a kernel), and rejected in one line naming the valid parameters.
A run whose parameters differ from the notebook's defaults is a *variant* (``seed1``, ``seed2-threads2``): it
writes under ``build/<preset>-<variant>/`` and never over the default run's files or ``figures/``.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from normprop.claims import PRESET_NAMES


def resolve_value(text: str) -> Any:
    """A command-line value as papermill's ``-p`` reads it."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def notebook_defaults(path: str | Path) -> dict[str, Any]:
    """The names and default values of a notebook's ``parameters`` cell."""
    cells = json.loads(Path(path).read_text())["cells"]
    sources = [cell["source"] for cell in cells if "parameters" in cell.get("metadata", {}).get("tags", [])]
    if not sources:
        raise ValueError(f"{Path(path).name} has no cell tagged 'parameters'")
    source = "".join(sources[0]) if isinstance(sources[0], list) else sources[0]
    defaults = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            defaults[node.targets[0].id] = ast.literal_eval(node.value)
    return defaults


def _check(name: str, value: Any, default: Any, names: str) -> None:
    if name == "seed" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"seed must be a non-negative integer, got {value!r} (the notebook's parameters: {names})")
    if name == "preset" and value not in PRESET_NAMES:
        raise ValueError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {value!r} (parameters: {names})")
    if name == "threads" and value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"threads must be None or a positive integer, got {value!r} (parameters: {names})")
    if default is not None and name not in ("threads",) and type(value) is not type(default):
        wanted = type(default).__name__
        raise ValueError(f"{name} must be a {wanted} like its default {default!r}, got {value!r} (parameters: {names})")


def validate(parameters: Mapping[str, Any], notebooks: Sequence[str | Path]) -> dict[str, Any]:
    """``parameters`` checked against every notebook's parameters cell; a one-line ``ValueError`` otherwise."""
    for path in notebooks:
        defaults = notebook_defaults(path)
        names = ", ".join(defaults)
        for name, value in parameters.items():
            if name not in defaults:
                raise ValueError(f"{Path(path).stem} has no parameter {name!r}; its parameters: {names}")
            _check(name, value, defaults[name], names)
    return dict(parameters)


def variant_name(parameters: Mapping[str, Any], notebooks: Sequence[str | Path]) -> str:
    """The variant a run with ``parameters`` is (``seed1``), "" when they are every notebook's defaults; the
    preset is not part of it (it has a folder of its own)."""
    differing = {}
    for path in notebooks:
        defaults = notebook_defaults(path)
        differing |= {n: v for n, v in parameters.items() if n != "preset" and defaults.get(n) != v}
    return "-".join(f"{name}{value}" for name, value in sorted(differing.items()))

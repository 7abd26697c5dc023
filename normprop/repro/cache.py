"""A result cache on disk: a task whose inputs have not changed is not computed again.

A task's result is stored under ``build/cache/<notebook>/<sweep>/<key>.pkl`` (``$NORMPROP_BUILD_DIR/cache``
when that is set). The key is a sha256 over everything the result depends on:

* the task function's **code**: its bytecode and constants, its default arguments, and every value it
  closes over or reads as a global (recursively through the notebook's own helper functions);
  functions of ``normprop`` (except a claim module's, whose code counts) and of installed packages count by
  name, their code being covered by the next
  two items -- see :func:`fingerprint`;
* the **code version** of the package, a hash of every ``normprop/**/*.py`` source (:func:`code_version`): any
  edit to the package recomputes everything, the honest choice when a helper may have changed;
* the **environment** that shapes the numbers: Python, torch, numpy and pandas versions (:func:`environment`);
* the task's **parameters**, its **seed**, its device, dtype and torch thread count.

An entry is ``MAGIC``, the sha256 of the payload, a newline, then the payload (a pickle of ``{"key": ...,
"result": ...}``), written atomically (:func:`normprop.repro.files.write_bytes_atomic`). An entry that is
truncated, corrupted, or stored under another key fails its checks and is recomputed, never trusted.
``NORMPROP_NO_CACHE=1`` (``normprop run --no-cache``) bypasses the cache; ``make clean`` removes it with
``build/``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import pickle
import sys
import sysconfig
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from normprop.repro.files import write_bytes_atomic
from normprop.repro.layout import cache_dir, cache_disabled
from normprop.repro.runtime import code_paths

MAGIC = b"normprop-cache-1\n"
_PACKAGE = Path(__file__).resolve().parents[1]  # normprop/
_LIBRARY_PATHS = tuple(
    str(Path(path).resolve()) for path in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]}
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def code_version() -> str:
    """sha256 over every source of the package, subpackages included (relative paths and contents, in path
    order): an edit anywhere in ``normprop/`` changes it."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py"), key=lambda path: path.relative_to(_PACKAGE).as_posix()):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def environment() -> dict[str, str]:
    """What besides normprop's code shapes the numbers: the interpreter and the numerical libraries."""
    return {
        "normprop": code_version(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        # the numerical code paths this process was started with (normprop.repro.runtime.NUMERICAL_PINS): a
        # worker on other paths would compute other bytes
        "code_paths": json.dumps(code_paths(), sort_keys=True),
    }


def _is_library(module_name: str | None) -> bool:
    """Whether a function of this module counts by name: normprop's own code (covered by
    :func:`code_version`) and installed or standard-library packages (covered by their versions)."""
    if not module_name or module_name == "__main__":
        return False
    if module_name.startswith("normprop.claims."):  # a claim's task function: fingerprinted by its code
        return False
    if module_name.split(".")[0] in ("normprop", "builtins"):
        return True
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if path is None:
        return module is not None and module_name in sys.builtin_module_names
    resolved = str(Path(path).resolve())
    return "site-packages" in resolved or "dist-packages" in resolved or resolved.startswith(_LIBRARY_PATHS)


def _library_version(module_name: str) -> str | None:
    top = sys.modules.get(module_name.split(".")[0])
    return None if top is None or top.__name__ == "normprop" else str(getattr(top, "__version__", None))


class Unhashable(TypeError):
    """A value a task depends on cannot be fingerprinted."""


class SharedGenerator(Unhashable):
    """A task reads a random generator it was not given: its numbers would depend on what ran before it."""


def _code(code: types.CodeType, seen: set[int]) -> list:
    """The parts of a code object that decide what it computes (not its file name or line numbers)."""
    constants = [
        _code(constant, seen) if isinstance(constant, types.CodeType) else _canonical(constant, seen)
        for constant in code.co_consts
    ]
    return ["code", code.co_code.hex(), constants, list(code.co_names), list(code.co_varnames)]


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def _function(function: types.FunctionType, seen: set[int]) -> list:
    if id(function) in seen:  # a recursive helper: its code is already being fingerprinted
        return ["recursion", function.__module__, function.__qualname__]
    seen = seen | {id(function)}
    code = function.__code__
    closure = {
        name: _canonical(cell.cell_contents, seen, name)
        for name, cell in zip(code.co_freevars, function.__closure__ or (), strict=True)
    }
    defaults = [_canonical(function.__defaults__, seen), _canonical(function.__kwdefaults__, seen)]
    if _is_library(function.__module__):  # its code counts through the version; what it closes over, here
        version = _library_version(function.__module__)
        return ["function", function.__module__, function.__qualname__, version, defaults, closure]
    names = sorted(_global_names(code) & set(function.__globals__))
    global_values = {name: _canonical(function.__globals__[name], seen, name) for name in names}
    return [
        "function",
        function.__qualname__,
        _code(code, seen),
        defaults,
        closure,
        global_values,
    ]


def _canonical(value: Any, seen: set[int] = frozenset(), name: str | None = None) -> Any:  # noqa: C901
    """A JSON-able form of ``value`` that changes when, and only when, what a task computes from it can."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return ["float", repr(value)]  # repr: exact, and tells nan, inf and -0.0 apart
    if isinstance(value, torch.Generator):
        raise SharedGenerator(
            f"a task reads the random generator {name or ''!s}: its draws would depend on what ran before; "
            "draw from the generator the task is given instead"
        )
    if isinstance(value, types.ModuleType):
        return ["module", value.__name__, _library_version(value.__name__)]
    if isinstance(value, types.FunctionType):
        return _function(value, seen)
    if isinstance(value, types.MethodType):
        return ["method", _canonical(value.__self__, seen, name), _canonical(value.__func__, seen, name)]
    if isinstance(value, functools.partial):
        return ["partial", _canonical(value.func, seen), _canonical(value.args, seen), _canonical(value.keywords, seen)]
    if isinstance(value, bytes | bytearray | memoryview):
        return ["bytes", _sha256(bytes(value))]
    if isinstance(value, enum.Enum):
        return ["enum", type(value).__qualname__, value.name]
    if isinstance(value, np.generic):
        return ["numpy", value.dtype.str, _canonical(value.item(), seen)]
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return ["ndarray", value.shape, [_canonical(item, seen) for item in value.ravel().tolist()]]
        return ["ndarray", value.dtype.str, value.shape, _sha256(np.ascontiguousarray(value).tobytes())]
    if isinstance(value, torch.Tensor):
        raw = value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        return ["tensor", str(value.dtype), list(value.shape), str(value.device), _sha256(raw)]
    if isinstance(value, torch.dtype | torch.device | Path | range):
        return [type(value).__name__, str(value)]
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index):
        return ["pandas", type(value).__name__, _sha256(pickle.dumps(value, protocol=5))]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_canonical(item, seen) for item in value]]
    if isinstance(value, set | frozenset):
        return ["set", sorted((_canonical(item, seen) for item in value), key=_dumps)]
    if isinstance(value, Mapping):
        items = [[_canonical(key, seen), _canonical(item, seen, str(key))] for key, item in value.items()]
        return ["mapping", sorted(items, key=lambda pair: _dumps(pair[0]))]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: _canonical(getattr(value, field.name), seen) for field in dataclasses.fields(value)}
        return ["dataclass", type(value).__module__, type(value).__qualname__, fields]
    if isinstance(value, type):
        if _is_library(value.__module__):
            return ["class", value.__module__, value.__qualname__, _library_version(value.__module__)]
        members = {key: _canonical(item, seen) for key, item in vars(value).items() if not key.startswith("__")}
        return ["class", value.__qualname__, members]
    if callable(value) and hasattr(value, "__module__") and hasattr(value, "__qualname__"):
        return ["callable", value.__module__, value.__qualname__]  # a builtin, e.g. torch.tanh
    try:
        return ["pickle", type(value).__module__, type(value).__qualname__, _sha256(pickle.dumps(value, protocol=5))]
    except Exception as error:
        what = f"{name or 'a value'} of type {type(value).__qualname__}"
        raise Unhashable(f"cannot fingerprint {what}: {error}") from None


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    """Canonical JSON of a value's fingerprint form (sorted keys, no spaces): equal for equal inputs, on any
    machine and in any process (unlike Python's ``hash``, which is salted per process)."""
    return _dumps(_canonical(value))


def fingerprint(value: Any) -> str:
    """sha256 of :func:`canonical_json`: a function's fingerprint changes when its code, a default, a
    closed-over value or a global it reads changes; not when it only moves to another line or cell."""
    return _sha256(canonical_json(value).encode())


def task_key(function_fingerprint: str, parameters: Mapping[str, Any], seed: int, settings: Mapping[str, Any]) -> str:
    """The cache key of one task: its function, parameters, seed, settings (device, dtype, threads) and the
    environment (:func:`environment`, which holds the package's code version)."""
    parts = [function_fingerprint, _canonical(dict(parameters)), seed, _canonical(dict(settings)), environment()]
    return _sha256(_dumps(parts).encode())


MISSING = object()


class ResultCache:
    """Task results on disk, one checksummed file per key, in ``folder``."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)

    def path(self, key: str, group: str = "") -> Path:
        if not (len(key) == 64 and all(character in "0123456789abcdef" for character in key)):
            raise ValueError(f"key must be a sha256 hex digest, got {key!r}")
        return self.folder / group / f"{key}.pkl"

    def load(self, key: str, group: str = "") -> Any:
        """The stored result, or :data:`MISSING` when there is none or it fails a check (then it is removed)."""
        path = self.path(key, group)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return MISSING
        header = len(MAGIC) + 65
        payload = blob[header:]
        intact = blob.startswith(MAGIC) and blob[len(MAGIC) : header] == (_sha256(payload) + "\n").encode()
        entry = None
        if intact:
            try:
                entry = pickle.loads(payload)
            except Exception:  # written by another pandas, say: recompute
                entry = None
        if not isinstance(entry, dict) or entry.get("key") != key:
            path.unlink(missing_ok=True)
            return MISSING
        return entry["result"]

    def store(self, key: str, result: Any, group: str = "") -> Path:
        payload = pickle.dumps({"key": key, "result": result}, protocol=5)
        return write_bytes_atomic(self.path(key, group), MAGIC + (_sha256(payload) + "\n").encode() + payload)


def result_cache() -> ResultCache | None:
    """The cache this process uses: :func:`cache_dir`, or None when ``NORMPROP_NO_CACHE`` is set."""
    return None if cache_disabled() else ResultCache(cache_dir())


__all__ = [
    "MISSING",
    "ResultCache",
    "SharedGenerator",
    "Unhashable",
    "canonical_json",
    "code_version",
    "environment",
    "fingerprint",
    "result_cache",
    "task_key",
]

"""The claims this companion reproduces: one module each, ``normprop/claims/<NN>_<name>.py``, and its notebook.

A claim module holds everything specific to its claim: ``CLAIM``, its catalog entry (:class:`Claim`: title,
statement, papers, figures, presets), the task functions its sweeps run and its checks. Everything that lists the
claims -- the ``normprop`` command, records, the report, the book, the README's tables, ``CITATION.cff``, the
cost estimate of the full preset, the tests -- reads :func:`all_claims`; adding a claim is adding its module and
its notebook ``notebooks/<NN>_<name>.ipynb``.

Claim modules are found by their file name in this folder, and in ``$NORMPROP_CLAIMS_DIR`` when set (tests
register a toy claim there). Their names start with a digit, so they are imported by :func:`claim_module`, not
by an ``import`` statement. Listing claims must stay cheap (``normprop list`` starts in well under a second), so a
claim module imports torch, pandas and the science modules through :func:`lazy_import`: they load when a task
first uses them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from normprop.claims.papers import PAPERS, Paper

PRESET_NAMES = ("quick", "paper", "full")
_MODULE_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+$")
_FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Citation:
    """A paper of the bibliography as one claim cites it, with an optional note (a section, what it supports)."""

    key: str
    note: str = ""

    @property
    def paper(self) -> Paper:
        return PAPERS[self.key]

    def __str__(self) -> str:
        return self.paper.citation(self.note)


@dataclass(frozen=True)
class Claim:
    """A claim's catalog entry: what it states, whom it cites, which paper figures it reproduces, at what sizes."""

    notebook: str  # <NN>_<name>, the notebook's and the claim module's name
    title: str
    statement: str
    citations: tuple[Citation, ...]
    figures: Mapping[str, str] = field(default_factory=dict)  # figure file stem -> the paper figure it reproduces
    #: Sizes per preset: ``quick`` (CI, nbval, seconds), ``paper`` (the committed figures, on a 2-core CPU) and
    #: ``full`` (the papers' own sizes, for a cluster).
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Seconds a cold run of a preset took on 2 cores, one torch thread: the order of a machine's first run, longest
    #: first, before it has timed the notebook itself (``normprop.repro.runner.longest_first``).
    runtime: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _MODULE_NAME.match(self.notebook):
            raise ValueError(f"notebook must look like '01_orthogonality', got {self.notebook!r}")
        unknown = sorted({citation.key for citation in self.citations} - set(PAPERS))
        if unknown:
            raise ValueError(f"{self.notebook} cites {unknown}, which are not in normprop.claims.papers.PAPERS")
        if sorted(self.presets) != sorted(PRESET_NAMES):
            raise ValueError(f"{self.notebook}: presets must be {PRESET_NAMES}, got {tuple(self.presets)}")
        bad = [stem for stem in self.figures if not stem.startswith(self.number + "_")]
        if bad:
            raise ValueError(f"{self.notebook}: figure stems must start with '{self.number}_', got {bad}")

    @property
    def number(self) -> str:
        return self.notebook.split("_", 1)[0]

    @property
    def papers(self) -> tuple[str, ...]:
        """Each cited paper as one line (:meth:`Paper.citation`)."""
        return tuple(str(citation) for citation in self.citations)


def cite(key: str, note: str = "") -> Citation:
    return Citation(key, note)


def lazy_import(name: str) -> ModuleType:
    """``name`` as a module that loads on first attribute access (``importlib.util.LazyLoader``); the loaded
    module at once if something imported it already."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _folders() -> list[Path]:
    extra = os.environ.get("NORMPROP_CLAIMS_DIR", "").strip()
    return [_FOLDER, *([Path(extra)] if extra else [])]


def _module_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for folder in _folders():
        for path in sorted(folder.glob("[0-9][0-9]_*.py")):
            if path.stem in files:
                raise ValueError(f"two claim modules are named {path.stem}: {files[path.stem]} and {path}")
            files[path.stem] = path
    return dict(sorted(files.items()))


def _load(stem: str, path: Path) -> ModuleType:
    """Import the claim module ``stem`` from ``path`` (once): from this package, or from $NORMPROP_CLAIMS_DIR."""
    qualified = f"normprop.claims.{stem}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    if path.parent == _FOLDER:
        return importlib.import_module(qualified)
    spec = importlib.util.spec_from_file_location(qualified, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


def claim_module(name: str) -> ModuleType:
    """The module of the claim ``name`` (``01_orthogonality``, ``01`` or ``1``, or a notebook path)."""
    notebook = find_claim(name).notebook
    return _load(notebook, _module_files()[notebook])


@functools.cache
def _registry(folders: tuple[str, ...]) -> tuple[Claim, ...]:
    claims = []
    for stem, path in _module_files().items():
        claim = getattr(_load(stem, path), "CLAIM", None)
        if not isinstance(claim, Claim) or claim.notebook != stem:
            raise ValueError(f"{path} must define CLAIM = Claim(notebook={stem!r}, ...)")
        claims.append(claim)
    return tuple(claims)


def all_claims() -> tuple[Claim, ...]:
    """Every registered claim, in number order."""
    return _registry(tuple(map(str, _folders())))


def find_claim(name: str) -> Claim:
    """Look a claim up by notebook name (``01_orthogonality``), its number (``01`` or ``1``) or a path."""
    stem = str(name).rsplit("/", 1)[-1].removesuffix(".ipynb")
    for claim in all_claims():
        if stem in (claim.notebook, claim.number) or (stem.isdigit() and int(stem) == int(claim.number)):
            return claim
    known = ", ".join(claim.notebook for claim in all_claims())
    raise ValueError(f"notebook must be one of {known} (or its number), got {name!r}")


def check_preset(preset: object) -> str:
    """Return ``preset`` if it names a preset; raise a one-line ``ValueError`` otherwise."""
    if preset not in PRESET_NAMES:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESET_NAMES))}; got {preset!r}")
    return preset  # type: ignore[return-value]


def load_preset(notebook: str, preset: str, **overrides: Any) -> MappingProxyType:
    """The sizes of ``notebook`` under ``preset``, with ``overrides`` applied (unknown keys rejected)."""
    claim = find_claim(notebook)
    check_preset(preset)
    values = dict(claim.presets[preset])
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ValueError(f"overrides has unknown keys {unknown}; known keys: {sorted(values)}")
    values.update(overrides)
    return MappingProxyType(values)


def __getattr__(name: str) -> Any:
    if name == "CLAIMS":  # the registry as a tuple, read when asked ($NORMPROP_CLAIMS_DIR may have changed)
        return all_claims()
    raise AttributeError(f"module 'normprop.claims' has no attribute {name!r}")

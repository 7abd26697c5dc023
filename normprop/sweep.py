"""Declarative sweeps: a grid of configurations -> one tidy table.

Instead of hand-built loops of ``pd.concat``, a notebook states its grid::

    table = sweep.grid(measure, width=[32, 512], activation=["relu", "tanh"])

``measure(width=..., activation=...)`` is called once per combination, in the order of
``itertools.product`` (the last axis varies fastest), so that draws from a shared generator happen in a
fixed order and the table is the same on every run. Each call returns a table (one row per seed and
layer, say) or a mapping (one row); the configuration's values are added as columns.

These run in the caller's process and let the function draw from whatever it closes over. A notebook's
sweeps go through :meth:`normprop.notebook.Session.grid` / ``cases`` instead: each configuration becomes an
independent task with its own generator, cached, and runnable on a Dask cluster (:mod:`normprop.tasks`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd


def configurations(**axes: Sequence[Any]) -> Iterator[dict[str, Any]]:
    """Every combination of the axes' values, as keyword dictionaries (``itertools.product`` order)."""
    for name, values in axes.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence | range) or len(values) == 0:
            raise ValueError(f"axis {name} must be a non-empty list of values, got {values!r}")
    names = list(axes)
    for values in itertools.product(*axes.values()):
        yield dict(zip(names, values, strict=True))


def label_table(result: pd.DataFrame | Mapping[str, Any], configuration: Mapping[str, Any]) -> pd.DataFrame:
    """A copy of ``result`` (a table, or a mapping as one row) with the configuration's values as columns; a
    column the result already has is left as it is; a callable is recorded by its name."""
    table = result.copy() if isinstance(result, pd.DataFrame) else pd.DataFrame([dict(result)])
    for name, value in configuration.items():
        if name not in table:
            table[name] = getattr(value, "__name__", repr(value)) if callable(value) else value
    return table


def grid(
    function: Callable[..., pd.DataFrame | Mapping[str, Any]],
    fixed: Mapping[str, Any] | None = None,
    **axes: Sequence[Any],
) -> pd.DataFrame:
    """``function(**configuration, **fixed)`` for every combination of the ``axes`` values, concatenated.

    The configuration's values become columns (a column the function already returns is left as it is).
    ``fixed`` holds keyword arguments that are the same for every call and are not recorded.
    """
    return cases(function, configurations(**axes), fixed)


def cases(
    function: Callable[..., pd.DataFrame | Mapping[str, Any]],
    configurations: Iterable[Mapping[str, Any]],
    fixed: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Like :func:`grid`, for a list of configurations that is not a product (paired settings, say)."""
    tables = [label_table(function(**values, **(fixed or {})), values) for values in configurations]
    if not tables:
        raise ValueError("configurations must hold at least one configuration")
    return pd.concat(tables, ignore_index=True)

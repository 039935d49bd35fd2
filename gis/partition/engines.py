"""The split engines by name: `cuts` (recursive straight cuts, gis.partition.engine, the default)
and `growth` (parts grown over building cells, gis.partition.growth). Both take the same
arguments and return a SplitResult."""

from __future__ import annotations

from collections.abc import Callable

from gis.partition import engine, growth
from gis.partition.result import SplitResult

DEFAULT = "cuts"
ENGINES: dict[str, Callable[..., SplitResult]] = {"cuts": engine.split, "growth": growth.split}


def splitter(name: str | None = None) -> Callable[..., SplitResult]:
    """The split function of engine `name` (the default when None)."""
    key = name or DEFAULT
    if key not in ENGINES:
        raise ValueError(f"unknown split engine {key!r}; choose one of {', '.join(ENGINES)}")
    return ENGINES[key]

"""The area hierarchy in one place: street > community > grid > micro-grid."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One level of the hierarchy and how it is stored and named."""

    name: str  # identifier used in the API and in assignments (street, community, ...)
    table: str  # PostGIS table
    collection: str  # OGC collection id
    code_digits: int
    parent: str | None  # parent level name
    zh: str
    en: str

    @property
    def parent_digits(self) -> int:
        return self.code_digits - 3 if self.parent else 6


LEVELS: dict[str, Level] = {
    lv.name: lv
    for lv in (
        Level("street", "streets", "streets", 9, None, "街道", "Street"),
        Level("community", "communities", "communities", 12, "street", "社区", "Community"),
        Level("grid", "grids", "grids", 15, "community", "网格", "Grid"),
        Level("micro_grid", "micro_grids", "micro-grids", 18, "grid", "微网格", "Micro-grid"),
    )
}
LEVEL_ORDER = ["street", "community", "grid", "micro_grid"]


def level(name: str) -> Level:
    """Look a level up by name (street, community, grid, micro_grid; '-' accepted for '_')."""
    key = name.replace("-", "_")
    by_table = {lv.table: lv.name for lv in LEVELS.values()}
    key = by_table.get(key, key)  # plural table names (streets, communities, micro_grids)
    try:
        return LEVELS[key]
    except KeyError:
        raise KeyError(f"unknown level {name!r}: one of {', '.join(LEVEL_ORDER)}") from None


def child_of(name: str) -> Level | None:
    """The level below `name`, if any."""
    i = LEVEL_ORDER.index(name)
    return LEVELS[LEVEL_ORDER[i + 1]] if i + 1 < len(LEVEL_ORDER) else None

"""Incident categories with due, response and escalation times, read from a TOML file.

A category's table (a table of facts: adding a category is one entry) gives due_hours (处置时限,
from the report), response_hours (a case accepted within it counts for the response rate) and
escalate_after_hours = [street, district] (hours overdue before the case escalates to the street
commander, then the district; see gis.escalation). Missing optional keys take the defaults below.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "categories.toml"


DEFAULT_RESPONSE_HOURS = 2.0
DEFAULT_ESCALATE_AFTER_HOURS = (24.0, 72.0)


@dataclass(frozen=True)
class Category:
    """One incident category: its due time, response time and escalation steps."""

    key: str
    zh: str
    en: str
    due: timedelta
    response: timedelta = timedelta(hours=DEFAULT_RESPONSE_HOURS)
    escalate_after: tuple[timedelta, timedelta] = (
        timedelta(hours=DEFAULT_ESCALATE_AFTER_HOURS[0]),
        timedelta(hours=DEFAULT_ESCALATE_AFTER_HOURS[1]))


@lru_cache(maxsize=4)
def load_categories(path: Path | None = None) -> dict[str, Category]:
    """Categories keyed by identifier, from `path` or the packaged default."""
    data = tomllib.loads((path or DEFAULT_FILE).read_text(encoding="utf-8"))
    return {key: _category(key, spec) for key, spec in data["categories"].items()}


def _category(key: str, spec: dict) -> Category:
    street, district = spec.get("escalate_after_hours", DEFAULT_ESCALATE_AFTER_HOURS)
    if not 0 <= float(street) <= float(district):
        raise ValueError(f"category {key}: escalate_after_hours must be [street, district] with "
                         "0 <= street <= district")
    return Category(key, spec["zh"], spec["en"], timedelta(hours=float(spec["due_hours"])),
                    timedelta(hours=float(spec.get("response_hours", DEFAULT_RESPONSE_HOURS))),
                    (timedelta(hours=float(street)), timedelta(hours=float(district))))

"""Incident categories with due and response times, read from a TOML configuration file.

`due_hours` (处置时限) bounds the time from report to resolution; `response_hours` (响应时限)
the time from report to acceptance (立案). A category without `response_hours` responds within
its due time, capped at a day.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

DEFAULT_RESPONSE_HOURS = 24.0
DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "categories.toml"


@dataclass(frozen=True)
class Category:
    """One incident category, its due time and its response time (hours)."""

    key: str
    zh: str
    en: str
    due: timedelta
    response_hours: float = 24.0

    @property
    def response(self) -> timedelta:
        """The time within which a report should be accepted."""
        return timedelta(hours=self.response_hours)


@lru_cache(maxsize=4)
def load_categories(path: Path | None = None) -> dict[str, Category]:
    """Categories keyed by identifier, from `path` or the packaged default."""
    data = tomllib.loads((path or DEFAULT_FILE).read_text(encoding="utf-8"))
    return {
        key: Category(key, spec["zh"], spec["en"], timedelta(hours=float(spec["due_hours"])),
                      float(spec.get("response_hours",
                                     min(float(spec["due_hours"]), DEFAULT_RESPONSE_HOURS))))
        for key, spec in data["categories"].items()
    }

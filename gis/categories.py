"""Incident categories with due times, read from a TOML configuration file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "categories.toml"


@dataclass(frozen=True)
class Category:
    """One incident category and its due time."""

    key: str
    zh: str
    en: str
    due: timedelta


@lru_cache(maxsize=4)
def load_categories(path: Path | None = None) -> dict[str, Category]:
    """Categories keyed by identifier, from `path` or the packaged default."""
    data = tomllib.loads((path or DEFAULT_FILE).read_text(encoding="utf-8"))
    return {
        key: Category(key, spec["zh"], spec["en"], timedelta(hours=float(spec["due_hours"])))
        for key, spec in data["categories"].items()
    }

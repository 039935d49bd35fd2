"""Options of one import run (the CLI's flags) and the errors it raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from importers.validation import ImportReport


@dataclass
class ImportOptions:
    layer: str | None = None  # layer inside the file (OSM: multipolygons, lines, ...)
    where: str | None = None  # OGR SQL filter, e.g. "admin_level = '10'"
    crs: str | None = None  # overrides the file's CRS; gcj02 and bd09 accepted
    code_field: str | None = None
    name_field: str | None = None
    households_field: str | None = None
    parent_field: str | None = None  # parent code column; else the parent is found spatially
    levels_field: str | None = None
    class_field: str | None = None  # community class A-D
    kind_field: str | None = None  # grid kind: standard or dedicated (codes from 901)
    district_code: str | None = None  # 6-digit county code for streets without codes
    m2_per_household: float = 90.0
    default_levels: int = 1
    category_field: str = "category"
    title_field: str = "title"
    source: str = "hotline"
    skip_invalid: bool = False
    dry_run: bool = False
    # called as progress(phase, done, total) while rows are validated and written
    progress: Callable[[str, int, int], None] | None = None


def features(src, opts: ImportOptions):
    """(row number from 1, fields, geometry) of every feature of `src`, reporting progress
    every PROGRESS_STEP rows to opts.progress."""
    total = len(src.rows)
    for i, (props, raw) in enumerate(zip(src.rows, src.geoms, strict=True), start=1):
        if opts.progress and (i % PROGRESS_STEP == 0 or i == total):
            opts.progress("validating", i, total)
        yield i, props, raw


PROGRESS_STEP = 500


class ImportFailed(ValueError):
    """Rows were rejected (and --skip-invalid was not given), so nothing was written."""

    def __init__(self, message: str, report: ImportReport):
        super().__init__(message)
        self.report = report

"""Options of one import run (the CLI's flags) and the errors it raises."""

from __future__ import annotations

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
    district_code: str | None = None  # 6-digit county code for streets without codes
    m2_per_household: float = 90.0
    default_levels: int = 1
    category_field: str = "category"
    title_field: str = "title"
    source: str = "hotline"
    skip_invalid: bool = False
    dry_run: bool = False


class ImportFailed(ValueError):
    """Rows were rejected (and --skip-invalid was not given), so nothing was written."""

    def __init__(self, message: str, report: ImportReport):
        super().__init__(message)
        self.report = report

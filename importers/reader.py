"""Read any vector file GDAL knows (GeoJSON, GeoPackage, Shapefile, zipped Shapefile, CSV with a
WKT or lon/lat columns, OpenStreetMap .osm.pbf) into rows and shapely geometries with pyogrio."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import shapely

CSV_OPTIONS = {
    "GEOM_POSSIBLE_NAMES": "wkt,WKT,geometry,geom,the_geom",
    "X_POSSIBLE_NAMES": "lon,lng,longitude,x,经度",
    "Y_POSSIBLE_NAMES": "lat,latitude,y,纬度",
    "KEEP_GEOM_COLUMNS": "NO",
}
OSM_TAG = re.compile(r'"([^"]+)"=>"((?:[^"\\]|\\.)*)"')


class ReadError(ValueError):
    """The file cannot be read at all (missing, unknown format, unknown layer)."""


@dataclass
class Source:
    """What was read: one dict of fields and one geometry (or None) per feature."""

    path: str
    crs: str | None
    rows: list[dict]
    geoms: np.ndarray
    is_osm: bool


def osm_tags(other_tags: str | None) -> dict[str, str]:
    """Parse OSM's hstore-like other_tags column ("k"=>"v",...)."""
    return dict(OSM_TAG.findall(other_tags or ""))


def _gdal_path(path: Path) -> str:
    text = str(path)
    if text.lower().endswith(".zip") and not text.startswith("/vsizip/"):
        return "/vsizip/" + str(path.resolve())
    return text


def read(path: str | Path, layer: str | None = None, where: str | None = None,
         default_osm_layer: str = "multipolygons") -> Source:
    """Read `path` (optionally one `layer` and a `where` SQL filter) into a Source."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: no such file")
    is_osm = path.name.lower().endswith((".osm.pbf", ".osm"))
    if is_osm and layer is None:
        layer = default_osm_layer
    options = CSV_OPTIONS if path.suffix.lower() == ".csv" else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _fids, wkb, data = pyogrio.raw.read(_gdal_path(path), layer=layer, where=where,
                                                      **options)
    except Exception as exc:  # pyogrio raises several DataSource/DataLayer error types
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReadError(f"{path}: cannot read ({reason})") from None
    fields = [str(f) for f in meta["fields"]]
    n = len(wkb) if wkb is not None else (len(data[0]) if data else 0)
    rows = [{f: _plain(data[j][i]) for j, f in enumerate(fields)} for i in range(n)]
    geoms = np.empty(n, dtype=object)
    if wkb is not None:
        for i, blob in enumerate(wkb):
            geoms[i] = None if blob is None else shapely.from_wkb(blob, on_invalid="ignore")
    return Source(str(path), meta.get("crs"), rows, geoms, is_osm)


def _plain(value):
    """numpy scalars to Python values; NaN to None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

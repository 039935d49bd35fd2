"""Coordinate reference systems: pyproj for EPSG codes, plus China's GCJ-02 and BD-09.

GCJ-02 (国测局坐标, what WeChat and Amap report) and BD-09 (Baidu) are obfuscations of WGS84 with
no EPSG code; the forward formulas are public, and the inverse is solved by fixed-point iteration
to well under a centimetre. CGCS2000 (EPSG:4490) is treated as WGS84 at this precision.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
SPECIAL = {"gcj02", "bd09"}
WGS84_EQUIVALENT = {"EPSG:4326", "EPSG:4490", "OGC:CRS84", "CRS84", "WGS84"}


class UnknownCRS(ValueError):
    """A CRS string we cannot interpret."""


_EPSG_FORMS = re.compile(r"^(?:EPSG:{1,2}|urn:ogc:def:crs:EPSG:[\d.]*:|"
                         r"https?://www\.opengis\.net/def/crs/EPSG/[\d.]+/)(\d{1,6})$",
                         re.IGNORECASE)
_CRS84_URIS = {"http://www.opengis.net/def/crs/OGC/1.3/CRS84",
               "https://www.opengis.net/def/crs/OGC/1.3/CRS84"}


@lru_cache(maxsize=1024)
def _epsg(code: int) -> str | None:
    """The canonical name of EPSG `code`, None when pyproj does not know it (parsed once)."""
    if code in (4326, 4490):
        return "EPSG:4326"
    try:
        CRS.from_epsg(code)
    except CRSError:
        return None
    return f"EPSG:{code}"


def _named(text: str) -> str | None:
    """The canonical name for the forms clients send (names, EPSG codes), without pyproj."""
    low = text.lower().replace("-", "").replace("_", "")
    if low in ("gcj02", "gcj"):
        return "gcj02"
    if low in ("bd09", "bd09ll", "baidu"):
        return "bd09"
    if text.upper() in WGS84_EQUIVALENT or text in _CRS84_URIS:
        return "EPSG:4326"
    return None


def client_crs(crs: str | None) -> str:
    """The canonical name of a CRS sent by a client: EPSG codes (EPSG:n, their OGC URI or URN),
    CRS84/WGS84, gcj02 and bd09 only. Anything else (WKT, PROJ strings) is refused without being
    parsed, and each EPSG code is looked up once per process, so a batch of thousands of odd
    strings costs a regular expression each."""
    if crs is None or crs == "":
        return "EPSG:4326"
    text = str(crs).strip()
    named = _named(text)
    if named is not None:
        return named
    match = _EPSG_FORMS.match(text) if len(text) <= 80 else None
    canonical = _epsg(int(match.group(1))) if match else None
    if canonical is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise UnknownCRS(f"unknown CRS {shown!r}: send an EPSG code (EPSG:4326), gcj02 or bd09")
    return canonical


def normalize(crs: str | None) -> str:
    """Canonical name: 'EPSG:4326' for WGS84-like input, 'gcj02', 'bd09', or an EPSG/WKT string
    (WKT and PROJ strings are for files read by the importers; clients use client_crs)."""
    try:
        return client_crs(crs)
    except UnknownCRS:
        pass
    text = str(crs).strip()
    try:
        parsed = CRS.from_user_input(text)
    except CRSError as exc:
        raise UnknownCRS(f"unknown CRS {crs!r}: {exc}") from None
    epsg = parsed.to_epsg()
    if epsg in (4326, 4490):
        return "EPSG:4326"
    return f"EPSG:{epsg}" if epsg else parsed.to_wkt()


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat):
    """WGS84 -> GCJ-02 (unchanged outside China)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, iterations: int = 8):
    """GCJ-02 -> WGS84 by fixed-point iteration (error < 1 mm)."""
    glon, glat = np.asarray(lon, float), np.asarray(lat, float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(iterations):
        tlon, tlat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (tlon - glon), wlat - (tlat - glat)
    return wlon, wlat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat):
    """BD-09 -> GCJ-02."""
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


@lru_cache(maxsize=64)
def _transformer(src: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_epsg(4326), always_xy=True)


def to_wgs84(xs, ys, crs: str | None):
    """Arrays of x/y in `crs` (EPSG code, WKT, 'gcj02' or 'bd09') to lon/lat arrays in EPSG:4326."""
    name = normalize(crs)
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    if name == "EPSG:4326":
        return xs, ys
    if name == "gcj02":
        return gcj02_to_wgs84(xs, ys)
    if name == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(xs, ys))
    return _transformer(name).transform(xs, ys)


def point_to_wgs84(x: float, y: float, crs: str | None) -> tuple[float, float]:
    """One point to lon/lat in EPSG:4326."""
    lon, lat = to_wgs84([x], [y], crs)
    return float(lon[0]), float(lat[0])


def transform_geometry(geom, crs: str | None):
    """A shapely geometry reprojected to EPSG:4326 (a no-op for WGS84-like input)."""
    import shapely

    if normalize(crs) == "EPSG:4326":
        return geom
    return shapely.transform(geom, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], crs)))

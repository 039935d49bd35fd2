"""GCJ-02 and BD-09 conversions against published coordinate pairs (error < 2 m)."""

from __future__ import annotations

import math

import pytest

from gis.crs import bd09_to_gcj02, gcj02_to_bd09, gcj02_to_wgs84, point_to_wgs84, wgs84_to_gcj02

# Reference outputs of the widely used coordtransform library for the input (116.404, 39.915).
P = (116.404, 39.915)
WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
BD09_TO_GCJ02 = (116.39762729119315, 39.90865673957631)


def metres(a, b) -> float:
    """Great-circle distance in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def pt(xy) -> tuple[float, float]:
    return float(xy[0]), float(xy[1])


@pytest.mark.parametrize("func, expected", [
    (wgs84_to_gcj02, WGS84_TO_GCJ02), (gcj02_to_bd09, GCJ02_TO_BD09),
    (bd09_to_gcj02, BD09_TO_GCJ02)])
def test_forward_against_known_pairs(func, expected) -> None:
    assert metres(pt(func(*P)), expected) < 2


def test_inverse_recovers_the_wgs84_point() -> None:
    assert metres(pt(gcj02_to_wgs84(*WGS84_TO_GCJ02)), P) < 2
    # BD-09 to WGS84 goes through GCJ-02
    bd = pt(gcj02_to_bd09(*WGS84_TO_GCJ02))
    assert metres(point_to_wgs84(*bd, "bd09"), P) < 2
    assert metres(point_to_wgs84(*WGS84_TO_GCJ02, "gcj02"), P) < 2


@pytest.mark.parametrize("lon, lat", [(121.4737, 31.2304), (113.2644, 23.1291),
                                      (108.94, 34.21), (87.6168, 43.8256)])
def test_round_trips_across_china(lon, lat) -> None:
    assert metres(pt(gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))), (lon, lat)) < 0.01
    assert metres(pt(bd09_to_gcj02(*gcj02_to_bd09(lon, lat))), (lon, lat)) < 2
    assert 100 < metres(pt(wgs84_to_gcj02(lon, lat)), (lon, lat)) < 1000  # it does shift


def test_outside_china_is_unchanged() -> None:
    assert pt(wgs84_to_gcj02(2.35, 48.85)) == (2.35, 48.85)

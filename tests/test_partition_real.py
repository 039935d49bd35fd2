"""The split engine on irregular, real-like blocks: rotated footprints of mixed sizes in
non-convex parents (hypothesis), a real OSM block of Monaco, and the reasons given for every part
that is out of bounds or thin."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import Polygon, box

from bench.real_city import RESIDENTIAL_LEVELS, levels_of, load_monaco
from gis.partition import split
from gis.partition.diagnose import THIN_PP, bounds_reason

LON, LAT = 7.42, 43.73
D = 1e-5  # ~1 m


@st.composite
def blocks(draw):
    """A star-shaped block of 8-14 corners, 120-300 m across, in lon/lat."""
    n = draw(st.integers(8, 14))
    radius = draw(st.integers(60, 150))
    angles = np.sort(np.array(draw(st.lists(st.floats(0, 2 * math.pi), min_size=n, max_size=n,
                                            unique=True))))
    radii = [radius * draw(st.floats(0.55, 1.0)) for _ in range(n)]
    ring = [(LON + r * math.cos(a) * D, LAT + r * math.sin(a) * D)
            for r, a in zip(radii, angles, strict=True)]
    poly = shapely.make_valid(Polygon(ring))
    parts = shapely.get_parts(shapely.get_parts(poly))  # a collection may hold a multipolygon
    return max((p for p in parts if p.geom_type == "Polygon"), key=lambda p: p.area)


@st.composite
def irregular_layouts(draw):
    """A block with rotated footprints of 6-30 m, 1-25 households each, never overlapping."""
    parent = draw(blocks())
    inner = parent.buffer(-2 * D)
    minx, miny, maxx, maxy = parent.bounds
    buildings, households = [], []
    for _ in range(draw(st.integers(3, 45))):
        x, y = draw(st.floats(minx, maxx)), draw(st.floats(miny, maxy))
        w, h = draw(st.integers(6, 30)) * D, draw(st.integers(6, 20)) * D
        foot = affinity.rotate(box(x, y, x + w, y + h), draw(st.integers(0, 89)))
        if inner.contains(foot) and not any(foot.distance(b) < 2 * D for b in buildings):
            buildings.append(foot)
            households.append(draw(st.integers(1, 25)))
    return parent, buildings, households


def check_tiling(parent, buildings, households, result):
    parts = result.parts
    assert abs(shapely.union_all(parts).area - parent.area) / parent.area < 1e-9
    assert abs(sum(p.area for p in parts) - parent.area) / parent.area < 1e-9  # no overlap
    for part in parts:
        assert part.is_valid and parent.buffer(1e-12).covers(part)
    for b, i in zip(buildings, result.assignment, strict=True):
        assert parts[i].buffer(1e-12).covers(b)  # never split
    assert sum(result.households) == sum(households)


def check_reasons(result, lo, hi):
    """Every part out of bounds or thin says why; parts that are neither say nothing."""
    assert len(result.part_reasons) == len(result.parts)
    for count, pp, reasons in zip(result.households, result.polsby_popper, result.part_reasons,
                                  strict=True):
        codes = {r["code"] for r in reasons}
        out = not lo <= count <= hi
        assert bool(codes & {"lone_building", "arithmetic", "under", "over", "towers",
                              "walled", "beside_tower", "no_trade_under",
                              "no_trade_over"}) == out
        assert bool(codes & {"narrow_parent", "ragged", "strip"}) == (pp < THIN_PP)
        assert all(r["text"] for r in reasons)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(irregular_layouts(), st.integers(0, 3))
def test_irregular_blocks_tile_keep_footprints_and_explain(layout, seed):
    parent, buildings, households = layout
    result = split(parent, buildings, households, seed=seed)
    check_tiling(parent, buildings, households, result)
    assert all(part.geom_type == "Polygon" for part in result.parts)  # one block: contiguous
    assert not any("not contiguous" in v for v in result.violations)
    check_reasons(result, 30, 50)
    if result.feasible:
        assert all(30 <= h <= 50 for h in result.households)


def test_bounds_reasons_name_the_cause():
    lone = bounds_reason(120, np.array([120]), 30, 50, None)
    assert lone["code"] == "lone_building" and "120" in lone["text"]
    short = bounds_reason(22, np.array([10, 12]), 30, 50, None)
    assert short["code"] == "under" and short["missing"] == 8 and short["largest"] == 12
    long = bounds_reason(61, np.array([31, 30]), 30, 50, None)
    assert long["code"] == "over" and long["extra"] == 11
    why = "90 households cannot be divided into parts of 30-50"
    assert bounds_reason(45 + 45 + 0, np.array([45, 45]), 30, 50, why)["code"] == "arithmetic"
    assert bounds_reason(40, np.array([20, 20]), 30, 50, None) is None


@pytest.fixture(scope="module")
def monaco():
    return load_monaco()


@pytest.fixture(scope="module")
def monaco_block(monaco):
    """The real Monaco community (faces of its streets) holding 300-900 households with the
    most buildings, its footprints, estimated households and the streets crossing it."""
    fits = [(geom, idx) for geom, idx in monaco.communities
            if 300 <= monaco.households[idx].sum() <= 900]
    geom, idx = max(fits, key=lambda c: len(c[1]))
    near = monaco.streets[shapely.STRtree(monaco.streets).query(geom, predicate="intersects")]
    return geom, list(monaco.buildings[idx]), monaco.households[idx], list(near)


def test_monaco_households_follow_the_stated_rule(monaco):
    assert levels_of("yes", None, None) == RESIDENTIAL_LEVELS
    assert levels_of("apartments", "12", None) == 12
    assert levels_of("residential", None, 30.0) == 10
    assert levels_of("church", "3", None) == 0  # not residential: no households
    assert len(monaco.buildings) > 20_000 and len(monaco.communities) > 20
    held = np.concatenate([idx for _, idx in monaco.communities])
    assert len(np.unique(held)) == len(held)  # each building in one community at most
    assert 30_000 < monaco.households[held].sum() < 300_000


def test_a_real_monaco_block_tiles_and_explains(monaco_block):
    parent, buildings, households, streets = monaco_block
    result = split(parent, buildings, households, barriers=streets)
    check_tiling(parent, buildings, households, result)
    check_reasons(result, 30, 50)
    feasible = [h for h, rs in zip(result.households, result.part_reasons, strict=True)
                if not any(r["code"] in ("lone_building", "arithmetic") for r in rs)]
    assert len(result.parts) >= 3 and feasible


def test_stray_lines_left_by_set_operations_are_dropped():
    from gis.partition.result import merge_stray

    square = box(0, 0, 1, 1)
    with_line = shapely.GeometryCollection([square, shapely.LineString([(0, 1), (0, 2)])])
    parts = merge_stray([with_line, box(1, 0, 2, 1)], np.array([[0.5, 0.5], [1.5, 0.5]]),
                        np.array([10, 10]))
    assert [p.geom_type for p in parts] == ["Polygon", "Polygon"]
    assert parts[0].equals(square)

"""The numpy cut scoring of the split engine against exact shapely figures."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.partition import cuts
from gis.partition.cuts import (
    cut_scores,
    division_pp,
    region_edges,
    side_stats,
    side_stats_dense,
    side_stats_sorted,
)

# both ways side_stats takes (by the pairs of an edge and a cut), each checked on its own
WAYS = (side_stats, side_stats_dense, side_stats_sorted)


def _below(t: float, n: np.ndarray) -> shapely.Polygon:
    d, far = np.array([-n[1], n[0]]), 1e4
    return shapely.Polygon([t * n + far * d, t * n - far * d, t * n - far * d - far * n,
                            t * n + far * d - far * n])


@settings(max_examples=40, deadline=None)
@given(st.floats(0, math.pi), st.floats(0.05, 0.95), st.integers(3, 9))
def test_side_areas_and_perimeters_match_shapely(theta, where, corners):
    """A convex polygon cut by a line: both sides' areas and perimeters are exact."""
    angles = np.linspace(0, 2 * math.pi, corners, endpoint=False) + 0.3
    region = shapely.Polygon(np.c_[50 * np.cos(angles) * 1.7, 50 * np.sin(angles)])
    n = np.array([math.cos(theta), math.sin(theta)])
    proj = shapely.get_coordinates(region) @ n
    t = proj.min() + where * (proj.max() - proj.min())
    p0, p1 = region_edges(region, (1.0, 1.0))
    below = _below(t, n)
    a, b = shapely.intersection(region, below), shapely.difference(region, below)
    for stats in WAYS:
        area, perim, _, _ = stats(p0, p1, np.array([theta]), np.array([t]))
        assert np.allclose(area[:, 0], [a.area, b.area], rtol=1e-9, atol=1e-6)
        assert np.allclose(perim[:, 0], [a.length, b.length], rtol=1e-9, atol=1e-6)


def test_division_table_and_scores_prefer_square_parts():
    assert math.isclose(float(division_pp(np.array([1.0]), np.array([1]))[0]), math.pi / 4,
                        rel_tol=1e-6)
    # a 2:1 rectangle into 2 parts: two squares beat two 4:1 strips
    assert division_pp(np.array([2.0]), np.array([2]))[0] > 0.78
    region = shapely.box(0, 0, 200, 100)
    p0, p1 = region_edges(region, (1.0, 1.0))
    scores = cut_scores(p0, p1, np.array([0.0, math.pi / 2]), np.array([100.0, 50.0]),
                        np.array([1, 1]), np.array([1, 1]))
    assert math.isclose(scores[0], math.pi / 4) and scores[0] > scores[1]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=12), st.integers(0, 2**16))
def test_many_cuts_at_shared_directions_match_shapely_on_ragged_regions(directions, seed):
    """Many cuts at a few shared directions (as the engine asks), some through vertices, on a
    region with a notch and a hole: each side's area and extents are those of shapely's
    clipped polygon."""
    rng = np.random.default_rng(seed)
    outer = shapely.Polygon([(0, 0), (300, 0), (300, 120), (160, 120), (160, 60), (120, 60),
                             (120, 120), (0, 120)])
    region = outer.difference(shapely.box(30, 20, 70, 50))
    p0, p1 = region_edges(region, (1.0, 1.0))
    theta = np.array([k * math.pi / 6 for k in directions])
    corners = shapely.get_coordinates(region)
    t, at_vertex = [], []
    for th in theta:
        proj = corners @ np.array([math.cos(th), math.sin(th)])
        at_vertex.append(bool(rng.random() < 0.4))
        t.append(proj[rng.integers(len(proj))] if at_vertex[-1]
                 else rng.uniform(proj.min(), proj.max()))
    for stats in WAYS:
        _check_sides(region, theta, t, at_vertex, *stats(p0, p1, theta, np.array(t)))


def _check_sides(region, theta, t, at_vertex, area, _, across, along) -> None:
    for c, (th, tc) in enumerate(zip(theta, t, strict=True)):
        n = np.array([math.cos(th), math.sin(th)])
        d = np.array([-n[1], n[0]])
        for s, side in enumerate((shapely.intersection(region, _below(tc, n)),
                                  shapely.difference(region, _below(tc, n)))):
            assert math.isclose(area[s, c], side.area, rel_tol=1e-9, abs_tol=1e-6)
            if at_vertex[c] or side.is_empty:  # extents along a line through a vertex
                continue  # count the line's touching points: areas only
            xy = shapely.get_coordinates(side)
            u, v = xy @ n, xy @ d
            span_across = (tc - u.min()) if s == 0 else (u.max() - tc)
            assert math.isclose(across[s, c], span_across, rel_tol=1e-9, abs_tol=1e-6)
            assert math.isclose(along[s, c], v.max() - v.min(), rel_tol=1e-9, abs_tol=1e-6)


def test_a_large_region_sorts_its_edges_for_the_same_figures():
    """A ragged region of hundreds of edges under hundreds of cuts (past SORTED_FROM pairs):
    side_stats sorts the edges and gives what clipping every edge by every cut gives."""
    rng = np.random.default_rng(7)
    angles = np.sort(rng.uniform(0, 2 * math.pi, 300))
    radius = 400 + 60 * rng.standard_normal(300)
    region = shapely.Polygon(np.c_[radius * np.cos(angles), radius * np.sin(angles)] + 6e5)
    region = region.buffer(0) if not region.is_valid else region
    p0, p1 = region_edges(region, (1.0, 1.0))
    theta = np.repeat(np.arange(24) * math.pi / 24, 12)
    t = np.array([rng.uniform(*_extent(p0, th)) for th in theta])
    assert len(p0) * len(t) >= cuts.SORTED_FROM
    assert np.allclose(side_stats(p0, p1, theta, t), side_stats_dense(p0, p1, theta, t),
                       rtol=1e-9, atol=1e-6)


def _extent(points: np.ndarray, theta: float) -> tuple[float, float]:
    proj = points @ np.array([math.cos(theta), math.sin(theta)])
    return float(proj.min()), float(proj.max())

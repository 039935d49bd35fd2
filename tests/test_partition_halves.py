"""The closed-form measure of a polygon's two sides of a line against the overlays it spares."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bench.halves_bench import clipped
from gis.partition.halves import lower_pp


def _clipped(polygon, t: float) -> float:
    """The lower Polsby-Popper of `polygon`'s sides x <= t and x >= t by clipping (the
    screen the passes ran until 2026-12-03, bench/halves_bench.py's peer), NaN where either
    is not one polygon."""
    return float(clipped(polygon, np.eye(2), np.array([t]))[0])


def _rings(polygon) -> list[np.ndarray]:
    return [shapely.get_coordinates(r) for r in (polygon.exterior, *polygon.interiors)]


def _star(radii: list[float], centre=(0.0, 0.0), clockwise: bool = False) -> np.ndarray:
    """A closed star-shaped ring round `centre` (one vertex per radius)."""
    angles = np.linspace(0, 2 * math.pi, len(radii), endpoint=False)
    if clockwise:
        angles = -angles
    xy = np.column_stack([centre[0] + np.cos(angles) * radii,
                          centre[1] + np.sin(angles) * radii])
    return np.vstack([xy, xy[:1]])


radii = st.lists(st.floats(20.0, 100.0), min_size=5, max_size=40)


@settings(max_examples=60, deadline=None)
@given(outer=radii, hole=st.one_of(st.none(), st.lists(st.floats(3.0, 12.0), min_size=4,
                                                       max_size=12)),
       clockwise=st.booleans(), ts=st.lists(st.floats(-110.0, 110.0), min_size=1,
                                            max_size=12))
def test_matches_the_clipped_sides(outer, hole, clockwise, ts):
    """Star-shaped polygons (either orientation, with or without a hole the line may cross):
    the same sides in one piece each and the same Polsby-Popper as clipping at each t (a
    line across the polygon through none of its vertices, where the two may count a touch
    differently)."""
    holes = [_star(hole, clockwise=not clockwise)] if hole else []
    polygon = shapely.Polygon(_star(outer, clockwise=clockwise), holes)
    assert polygon.is_valid
    x = shapely.get_coordinates(polygon)[:, 0]
    ts = [t for t in ts if x.min() < t < x.max() and np.abs(x - t).min() > 1e-6]
    assume(ts)
    got = lower_pp(_rings(polygon), np.asarray(ts))
    want = np.asarray([_clipped(polygon, t) for t in ts])
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-9, atol=0)


def test_a_square_cut_in_half_and_a_u_cut_across_its_arms():
    """A unit square cut down the middle: two 1 x 0.5 halves (PP 4*pi*0.5/9). A U whose arms
    the line crosses: three pieces, so NaN; below the arms, one piece each side again."""
    square = shapely.box(0, 0, 1, 1)
    assert lower_pp(_rings(square), np.array([0.5]))[0] == math.pi * 2 / 9
    u_shape = shapely.Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3),
                               (0, 3)])
    turned = [ring[:, ::-1] for ring in _rings(u_shape)]  # the line y = t, as x = t
    got = lower_pp(turned, np.array([2.0, 0.5]))
    assert math.isnan(got[0]) and not math.isnan(got[1])


def test_rows_of_turns_each_with_their_positions():
    """Leading axes: one turn of the polygon per row of positions, as the passes screen every
    direction at once."""
    polygon = shapely.box(0, 0, 4, 1)
    upright = _rings(polygon)[0]
    lying = upright[:, ::-1] * [1, 1]
    got = lower_pp([np.stack([upright, lying])], np.array([[2.0, 1.0], [0.5, 0.25]]))
    want = [[_clipped(polygon, 2.0), _clipped(polygon, 1.0)],
            [_clipped(shapely.Polygon(lying), 0.5), _clipped(shapely.Polygon(lying), 0.25)]]
    assert np.allclose(got, want, rtol=1e-12)


def _screened_by_clips(fp, idx, mine, union, scale) -> list[tuple[int, float, bool]]:
    """The sliver screen as the passes ran it until 2026-12-03: two clips of the union, turned
    into each line's frame, a position; (direction, position, first side) of the best."""
    from gis.partition import reshape

    metric = shapely.transform(union, lambda xy: xy * np.asarray(scale))
    jj, first, a, b = reshape._apart(fp, idx, mine)
    steps = (np.arange(reshape.SLIVER_STEPS) + 0.5) / reshape.SLIVER_STEPS
    screened = []
    for row in range(len(jj)):
        ts = a[row] + steps * (b[row] - a[row])
        pps = clipped(metric, reshape._turn(int(jj[row])), ts)
        screened += [(pp, int(jj[row]), t, bool(first[row]))
                     for pp, t in zip(pps.tolist(), ts.tolist(), strict=True)
                     if not math.isnan(pp)]
    screened.sort(key=lambda x: -x[0])
    return [(j, t, side) for _, j, t, side in screened[:reshape.SLIVER_DRAWN]]


def test_the_passes_screen_the_same_lines_beside_a_sliver_as_clipping_did():
    """A pair of parts in metres, one a long thin strip beside a square, with a courtyard
    (a hole) in the square and buildings on both: the passes' closed-form screen picks the same
    lines, in the same order, as clipping at every position did; and a pair one of whose parts
    holds no building has no gap to screen."""
    from gis.partition import reshape

    strip = shapely.box(0, 0, 200, 12)
    square = shapely.Polygon(shapely.box(40, 12, 140, 112).exterior.coords,
                             [shapely.box(80, 50, 100, 70).exterior.coords])
    union = shapely.union(strip, square)
    foot = np.asarray([shapely.box(x, 2, x + 8, 10) for x in (5, 60, 120, 185)]
                      + [shapely.box(45, 20, 60, 35), shapely.box(110, 80, 130, 100),
                         shapely.box(50, 80, 70, 95)], dtype=object)
    rep = shapely.get_coordinates(shapely.point_on_surface(foot))
    fp = reshape.Footprints.of(foot, rep, np.full(len(foot), 10), (1.0, 1.0))
    idx = np.arange(len(foot))
    mine = np.asarray([True] * 4 + [False] * 3)
    got = [(j, t, bool(side[0])) for _, j, t, side in
           reshape._sliver_lines(fp, idx, mine, union, (1.0, 1.0))]
    want = _screened_by_clips(fp, idx, mine, union, (1.0, 1.0))
    assert len(got) == reshape.SLIVER_DRAWN
    assert [(j, side) for j, _, side in got] == [(j, side) for j, _, side in want]
    assert np.allclose([t for _, t, _ in got], [t for _, t, _ in want], rtol=0, atol=1e-9)
    assert reshape._sliver_lines(fp, idx, np.ones(len(foot), bool), union, (1.0, 1.0)) == []

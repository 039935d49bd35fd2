"""The closed-form measure of a polygon's two sides of a line against the overlays it spares."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gis.partition.halves import lower_pp


def _clipped(polygon, t: float) -> float:
    """The lower Polsby-Popper of `polygon`'s sides x <= t and x >= t by clipping, NaN where
    either is not one polygon."""
    x0, y0, x1, y1 = polygon.bounds
    cut = [shapely.clip_by_rect(polygon, x0 - 1, y0 - 1, t, y1 + 1),
           shapely.clip_by_rect(polygon, t, y0 - 1, x1 + 1, y1 + 1)]
    if any(g.geom_type != "Polygon" or g.is_empty for g in cut):
        return math.nan
    return min(4 * math.pi * g.area / g.length**2 for g in cut)


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

"""Polsby-Popper, the split's measure of compactness: one formula for arrays, plain floats and
geometries (gis.partition.quality)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point, box

from gis.partition.quality import polsby_popper, pp_of, pp_value

sides = st.floats(min_value=0.5, max_value=2000.0, allow_nan=False)


@given(sides, sides)
def test_a_rectangles_polsby_popper_is_the_same_by_every_route(width: float, height: float):
    """4πA/P² of a width x height rectangle, from its area and perimeter as arrays, as plain
    floats and from the polygon itself: a search over sums of areas and perimeters ranks
    parts as the measured polygons do."""
    area, perimeter = width * height, 2.0 * (width + height)
    expected = 4.0 * math.pi * area / perimeter**2
    assert pp_value(area, perimeter) == float(pp_of(np.array([area]), np.array([perimeter]))[0])
    assert math.isclose(pp_value(area, perimeter), expected, rel_tol=1e-12)
    measured = polsby_popper([box(0.0, 0.0, width, height)])[0]
    assert math.isclose(measured, expected, rel_tol=1e-9)
    assert measured <= math.pi / 4 + 1e-12  # no rectangle is rounder than the square


def test_a_square_a_disc_and_nothing():
    """A square reads π/4, a disc about 1; no perimeter or no area reads 0, never a division by
    zero."""
    assert math.isclose(pp_value(100.0, 40.0), math.pi / 4)
    disc = Point(0.0, 0.0).buffer(10.0, quad_segs=256)
    assert polsby_popper([disc])[0] > 0.999
    assert pp_value(0.0, 0.0) == 0.0 and pp_value(5.0, 0.0) == 0.0 and pp_value(0.0, 4.0) == 0.0
    assert pp_of(np.array([5.0, 1.0]), np.array([0.0, 4.0])).tolist() == [0.0, math.pi / 4]

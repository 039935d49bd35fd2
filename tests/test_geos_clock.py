"""The GEOS clock of the profiling bench: it counts the geometry work done inside its block,
changes no answer, counts nothing outside it and leaves shapely as it found it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
import shapely.lib as lib
from shapely.strtree import STRtree

from bench.geos_clock import geos_clock


def _disc_pieces() -> tuple[shapely.Polygon, np.ndarray]:
    disc = shapely.Point(0, 0).buffer(100, quad_segs=256)
    boxes = shapely.box(np.arange(-100, 100, 10.0), -100, np.arange(-90, 110, 10.0), 100)
    return disc, boxes


def test_the_clock_counts_each_geos_call_in_its_block_and_changes_no_answer() -> None:
    disc, boxes = _disc_pieces()
    expected = shapely.area(shapely.intersection(boxes, disc))
    with geos_clock() as spent:
        got = shapely.area(shapely.intersection(boxes, disc))
        tree = STRtree(boxes)
        hits = tree.query(disc, predicate="intersects")
        inside = spent.calls
    np.testing.assert_array_equal(got, expected)
    assert len(hits) == len(boxes)
    assert inside >= 3  # the intersection, the areas and the query at least
    assert spent.seconds > 0
    shapely.area(shapely.intersection(boxes, disc))  # after the block: not counted
    assert spent.calls == inside


def test_the_clock_puts_shapely_back_even_when_the_block_fails() -> None:
    before = lib.intersection, STRtree.query
    try:
        with geos_clock():
            assert lib.intersection is not before[0]
            raise RuntimeError("a bench that stops half-way")
    except RuntimeError:
        pass
    assert (lib.intersection, STRtree.query) == before


def test_ufunc_methods_still_work_under_the_clock() -> None:
    disc, boxes = _disc_pieces()
    with geos_clock() as spent:
        whole = shapely.union_all(boxes)  # shapely reduces with the ufunc's own methods
        area = shapely.area(whole)
    assert abs(area - 200 * 200) < 1e-6
    assert spent.calls >= 2


def test_the_clock_books_each_call_to_the_function_that_made_it() -> None:
    disc, boxes = _disc_pieces()

    def overlay_here() -> None:
        shapely.intersection(boxes, disc)

    with geos_clock(sites=str(Path(__file__).parent)) as spent:
        overlay_here()
        shapely.area(disc)
    here = Path(__file__).stem
    assert set(spent.by_site) == {f"{here}.overlay_here",
                                  f"{here}.test_the_clock_books_each_call_to_the_function_that_made_it"}
    assert abs(sum(spent.by_site.values()) - spent.seconds) < 1e-9

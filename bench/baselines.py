"""Baselines for the split bench, on the Voronoi cells of the buildings (clipped to the parent):
METIS (pymetis, household-weighted, a given part count) and PySAL spopt's max-p heuristic
(as many regions as possible, each holding at least a threshold of households)."""

from __future__ import annotations

import signal

import numpy as np
import shapely

from gis.partition import choose_parts


def building_cells(parent, buildings) -> tuple[np.ndarray, list[list[int]]]:
    """Voronoi cells of the buildings' representative points, clipped to `parent`, and the
    cells sharing an edge with each."""
    reps = shapely.point_on_surface(np.asarray(buildings, object))
    if len(reps) == 1:
        return np.asarray([parent], dtype=object), [[]]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(reps),
                                                       extend_to=parent))
    order = [int(np.flatnonzero(shapely.intersects(cells, p))[0]) for p in reps]
    cells = shapely.intersection(cells[order], parent)
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    adj: list[list[int]] = [[] for _ in cells]
    for a, b in zip(left, right, strict=True):
        if a != b and shapely.length(shapely.intersection(cells[a].boundary,
                                                          cells[b].boundary)) > 0:
            adj[a].append(int(b))
    return cells, adj


def metis_baseline(parent, buildings, households, lo, hi, k=None):
    """pymetis on the buildings' cells, weighted by households, into `k` parts (by default the
    nominal count); returns the parts and their households."""
    import pymetis

    cells, adj = building_cells(parent, buildings)
    if k is None:
        k, _ = choose_parts(int(sum(households)), 0, lo, hi)
    if k == 1 or len(cells) <= 1:
        membership = np.zeros(len(cells), dtype=np.int64)
        k = 1
    else:
        _, membership = pymetis.part_graph(k, adjacency=adj, vweights=list(households))
    membership = np.asarray(membership)
    parts = [shapely.union_all(cells[membership == i]) for i in range(k)]
    hh = np.bincount(membership, weights=households, minlength=k).astype(int)
    return parts, hh


MAXP_SECONDS = 20.0  # spopt 0.7's heuristic does not return on some grids (see maxp_baseline)


class _Overrun(Exception):
    """The max-p heuristic ran past its time."""


def maxp_available() -> bool:
    try:
        import spopt.region  # noqa: F401
    except ImportError:
        return False
    return True


def maxp_baseline(parent, buildings, households, lo, hi, seed: int = 0,
                  seconds: float = MAXP_SECONDS):
    """spopt MaxPHeuristic on the cells of the buildings that hold households, with `lo`
    households as the threshold (buildings without households are left out: their land goes
    to their neighbours' cells, and spopt 0.7's heuristic did not return on a parent of one
    tower and two such buildings). None when the heuristic has not finished in `seconds`
    (wall clock, an alarm in this process: call it from the main thread)."""
    import geopandas as gpd
    import libpysal
    from spopt.region import MaxPHeuristic

    hh = np.asarray(households, dtype=float)
    held = hh > 0
    if not held.any():
        return [parent], np.array([0])
    cells, adj = building_cells(parent, np.asarray(buildings, dtype=object)[held])
    hh = hh[held]
    if len(cells) <= 1 or hh.sum() < lo:
        return [shapely.union_all(cells)], np.array([int(hh.sum())])
    gdf = gpd.GeoDataFrame({"hh": hh, "x": np.zeros(len(cells))}, geometry=list(cells))
    w = libpysal.weights.W({i: a for i, a in enumerate(adj)}, silence_warnings=True)
    np.random.seed(seed)
    model = MaxPHeuristic(gdf, w, ["x"], "hh", lo, top_n=2, max_iterations_construction=20)

    def overrun(signum, frame):
        raise _Overrun

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        model.solve()
    except _Overrun:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    labels = np.asarray(model.labels_)
    parts = [shapely.union_all(cells[labels == v]) for v in np.unique(labels)]
    counts = np.array([int(hh[labels == v].sum()) for v in np.unique(labels)])
    return parts, counts

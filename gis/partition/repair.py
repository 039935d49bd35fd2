"""Local repair after the first division: move boundary buildings between neighbouring parts.

A part out of bounds (not a lone building over the maximum) takes a building from a neighbour
(when it is under) or gives one of its own to a neighbour (when it is over). What moves is the
building's piece of its part: the Voronoi cell of its representative point among the part's
buildings, plus its whole footprint, less every other footprint of the part. A move is kept
only when both parts stay single polygons, the piece shares an edge with the receiving part,
the sum of both parts' distances to the bounds falls, and the receiving part stays in bounds
if it was; among such moves the one with the highest minimum Polsby-Popper of the two parts
wins. Pieces only change hands, so the parts still tile the parent exactly and no footprint is
split.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.diagnose import lone_parts
from gis.partition.quality import polsby_popper
from gis.partition.reshape import without_footprints

MAX_MOVES_PER_PART = 4
MAX_CANDIDATES = 12


def _deviation(count: int, lo: int, hi: int) -> int:
    return max(lo - count, count - hi, 0)


def _piece(part: BaseGeometry, members: np.ndarray, b: int, rep: np.ndarray,
           foot: np.ndarray) -> BaseGeometry | None:
    """The share of `part` that goes with building `b` (see the module docstring)."""
    if len(members) == 1:
        return None
    pts = shapely.points(rep[members])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts),
                                                       extend_to=part))
    mine = shapely.points(rep[b])
    cell = next((c for c in cells if c.intersects(mine)), None)
    if cell is None:
        return None
    piece = shapely.intersection(shapely.union(cell, foot[b]), part)
    piece = without_footprints(piece, foot[members[members != b]])
    return None if piece.is_empty else piece


def _single(geom: BaseGeometry) -> BaseGeometry | None:
    """`geom` as one Polygon, or None when it falls apart."""
    if geom.geom_type == "Polygon":
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    return parts[0] if len(parts) == 1 else None


def absorb_empty(parts: list[BaseGeometry], assignment: np.ndarray
                 ) -> tuple[list[BaseGeometry], np.ndarray]:
    """Parts holding no building join the neighbour they share the longest edge with (when the
    union stays one polygon): a part of no households is a leftover of the cuts, not a part."""
    parts = list(parts)
    held = np.bincount(assignment, minlength=len(parts)) > 0
    for i in np.flatnonzero(~held):
        shared = [shapely.length(shapely.intersection(parts[i].boundary, p.boundary))
                  if held[j] and p is not None else 0.0 for j, p in enumerate(parts)]
        j = int(np.argmax(shared))
        merged = _single(shapely.union(parts[j], parts[i])) if shared[j] > 0 else None
        if merged is not None:
            parts[j], parts[i] = merged, None
    keep = [i for i, p in enumerate(parts) if p is not None]
    renumber = np.full(len(parts), -1)
    renumber[keep] = np.arange(len(keep))
    return [parts[i] for i in keep], renumber[assignment]


def repair(parts: list[BaseGeometry], assignment: np.ndarray, rep: np.ndarray,
           foot: np.ndarray, households: np.ndarray, lo: int, hi: int,
           scale: tuple[float, float]) -> tuple[list[BaseGeometry], np.ndarray]:
    """Parts and assignment after moving boundary buildings (see the module docstring)."""
    parts = list(parts)
    assignment = np.asarray(assignment).copy()
    counts = np.bincount(assignment, weights=households, minlength=len(parts)).astype(int)
    moves = 0
    for _ in range(MAX_MOVES_PER_PART * len(parts)):
        lone = lone_parts(len(parts), assignment, households, hi)
        todo = [i for i in np.argsort(-np.array([_deviation(c, lo, hi) for c in counts]))
                if _deviation(counts[i], lo, hi) > 0 and not lone[i]]
        moved = False
        for i in todo:
            if _best_move(i, parts, assignment, counts, rep, foot, households, lo, hi, scale):
                moved, moves = True, moves + 1
                break
        if not moved:
            break
    return parts, assignment


def _candidates(i: int, parts, assignment, counts, households, lo, hi, tree):
    """(building, from part, to part) moves that could bring part i nearer its bounds."""
    near = [int(j) for j in tree.query(parts[i], predicate="touches") if j != i]
    near += [int(j) for j in tree.query(parts[i], predicate="intersects")
             if j != i and int(j) not in near]
    out = []
    if counts[i] < lo:  # take a building from a neighbour
        for j in near:
            for b in np.flatnonzero(assignment == j):
                out.append((int(b), j, i))
    else:  # give one of its buildings to a neighbour
        for b in np.flatnonzero(assignment == i):
            for j in near:
                out.append((int(b), i, j))
    scored = []
    for b, src, dst in out:
        h = int(households[b])
        before = _deviation(counts[src], lo, hi) + _deviation(counts[dst], lo, hi)
        after = _deviation(counts[src] - h, lo, hi) + _deviation(counts[dst] + h, lo, hi)
        if h == 0 or after >= before or (_deviation(counts[dst], lo, hi) == 0
                                         and _deviation(counts[dst] + h, lo, hi) > 0):
            continue
        if (_deviation(counts[src], lo, hi) == 0 and _deviation(counts[src] - h, lo, hi) > 0):
            continue
        scored.append((after, b, src, dst))
    scored.sort(key=lambda s: s[0])
    return scored[:MAX_CANDIDATES]


def _best_move(i, parts, assignment, counts, rep, foot, households, lo, hi, scale) -> bool:
    tree = shapely.STRtree(parts)
    best = None
    for after, b, src, dst in _candidates(i, parts, assignment, counts, households, lo, hi,
                                          tree):
        if best is not None and after > best[0]:
            break
        piece = _piece(parts[src], np.flatnonzero(assignment == src), b, rep, foot)
        if piece is None or shapely.length(shapely.intersection(piece.boundary,
                                                                parts[dst].boundary)) <= 0:
            continue
        new_src = _single(shapely.difference(parts[src], piece))
        new_dst = _single(shapely.union(parts[dst], piece))
        if new_src is None or new_dst is None:
            continue
        score = float(polsby_popper([new_src, new_dst], scale).min())
        if best is None or (after, -score) < (best[0], -best[1]):
            best = (after, score, b, src, dst, new_src, new_dst)
    if best is None:
        return False
    _, _, b, src, dst, new_src, new_dst = best
    parts[src], parts[dst] = new_src, new_dst
    assignment[b] = dst
    counts[src] -= int(households[b])
    counts[dst] += int(households[b])
    return True

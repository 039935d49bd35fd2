"""The points where the parts' boundaries meet moved, between pulls of gis.partition.taut.

The taut step pulls each run of boundary two parts share between fixed ends: the points where
three parts meet, and those where two meet on the parent's outline. The engines put those
ends where their own search happened to, and a run pulled taut between badly placed ends is
still longer than it needs to be. Here each end is moved:
- a point where three parts meet (off the parent's outline) towards the point that makes its
  three edges shortest (the Fermat point of its three neighbours on the runs, in metres);
- a point where two parts meet on the parent's outline slid along the outline into either
  part (the part losing that corner must be convex there).
A move sweeps a triangle of land per edge at the point, between the edge's two parts. It is
taken at the longest of STEPS (a share of the way) whose triangles hold no footprint's corner,
no building mapped as a point and no vertex of any ring (so the land swept is the two parts'
own), and where the lower Polsby-Popper of the parts it changes does not fall while their sum
rises (as the taut step weighs its runs, in metres). Each part it changes is checked as the
taut step checks them (one valid polygon, its own footprints as whole as before) and the move
is left undone where one fails. After a round of moves the runs are pulled taut again; ROUNDS
rounds at most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.quality import pp_value
from gis.partition.taut import (
    GAIN,
    TINY,
    Obstacles,
    exterior_rings,
    path_change,
    pulled_taut,
    shared_runs,
    side_of,
    unsound_parts,
)
from gis.partition.whole import clipped_to

ROUNDS = 3  # rounds of moves, each followed by a pull (three more: Monaco's grids +0.0003)
STEPS = (1.0, 0.5, 0.25, 0.125)  # shares of the way to the target, longest first (a 16th: +0.0002)


@dataclass
class Measure:
    """Each part's area and perimeter in metres (holes included: they never move), and the
    frame: metres per unit (`scale`) about `origin`."""

    scale: np.ndarray
    origin: np.ndarray
    hole_area: np.ndarray
    hole_length: np.ndarray

    def of(self, k: int, ring: np.ndarray) -> tuple[float, float]:
        """Area and perimeter (m², m) of part k with exterior `ring` (open)."""
        m = (ring - self.origin) * self.scale
        nxt = np.roll(m, -1, axis=0)
        twice = float(np.dot(m[:, 0], nxt[:, 1]) - np.dot(nxt[:, 0], m[:, 1]))
        length = float(np.hypot(*(nxt - m).T).sum())
        return 0.5 * twice - self.hole_area[k], length + self.hole_length[k]


def _measure(parts: np.ndarray, rings: list[np.ndarray | None], scale: tuple[float, float]
             ) -> Measure:
    """The frame of `parts` and their holes' area and length (for the parts with `rings`)."""
    bounds = shapely.total_bounds(parts)
    origin = 0.5 * (bounds[:2] + bounds[2:])
    factor = np.asarray(scale, dtype=float)
    metric = shapely.transform(parts, lambda xy: (xy - origin) * factor)
    area, length = shapely.area(metric), shapely.length(metric)
    measure = Measure(factor, origin, np.zeros(len(parts)), np.zeros(len(parts)))
    for k, ring in enumerate(rings):
        if ring is not None:
            outer_area, outer_length = measure.of(k, ring)
            measure.hole_area[k] = outer_area - area[k]
            measure.hole_length[k] = length[k] - outer_length
    return measure


def _fermat(points: np.ndarray) -> np.ndarray:
    """The point whose distances to the three `points` (metres) sum least: the vertex whose
    angle is 120 degrees or more, else the first isogonic centre (barycentric coordinates
    a / sin(A + 60 degrees) : ...)."""
    (ax, ay), (bx, by), (cx, cy) = points.tolist()
    sides = (math.hypot(bx - cx, by - cy), math.hypot(ax - cx, ay - cy),
             math.hypot(ax - bx, ay - by))
    if min(sides) <= 0:
        return points[int(np.argmin(sides))]
    weights = []
    for k in range(3):
        opposite, left, right = sides[k], sides[(k + 1) % 3], sides[(k + 2) % 3]
        cos = (left * left + right * right - opposite * opposite) / (2 * left * right)
        angle = math.acos(max(-1.0, min(1.0, cos)))
        if angle >= 2 * math.pi / 3:
            return points[k]
        weights.append(opposite / math.sin(angle + math.pi / 3))
    w = np.asarray(weights)
    return (w[:, None] * points).sum(axis=0) / w.sum()


class _Points:
    """Points sorted along x, to find those in a box quickly."""

    def __init__(self, xy: np.ndarray):
        order = np.argsort(xy[:, 0], kind="stable")
        self.xy = xy[order]

    def inside(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, strict: bool) -> bool:
        """Whether any point lies in triangle (a, b, c): strictly inside, or (not `strict`)
        on it too."""
        lo, hi = np.minimum(np.minimum(a, b), c), np.maximum(np.maximum(a, b), c)
        i = int(np.searchsorted(self.xy[:, 0], lo[0], side="left"))
        j = int(np.searchsorted(self.xy[:, 0], hi[0], side="right"))
        near = self.xy[i:j]
        near = near[(near[:, 1] >= lo[1]) & (near[:, 1] <= hi[1])]
        if not len(near):
            return False
        sign = 1.0 if side_of(a, b, c) > 0 else -1.0
        s1 = sign * side_of(a, b, near)
        s2 = sign * side_of(b, c, near)
        s3 = sign * side_of(c, a, near)
        if strict:
            return bool(((s1 > TINY) & (s2 > TINY) & (s3 > TINY)).any())
        return bool(((s1 >= -TINY) & (s2 >= -TINY) & (s3 >= -TINY)).any())


class _Mover:
    """One round of moves over a division (see the module docstring)."""

    def __init__(self, parts: list[BaseGeometry], corners: _Points, points: _Points,
                 own: list[np.ndarray], scale: tuple[float, float]):
        self.parts = list(parts)
        geoms = np.asarray(self.parts, dtype=object)
        self.rings = exterior_rings(geoms)
        self.measure = _measure(geoms, self.rings, scale)
        self.size = [self.measure.of(k, r) if r is not None else (0.0, 0.0)
                     for k, r in enumerate(self.rings)]
        self.corners, self.points = corners, points
        self.vertices = _Points(shapely.get_coordinates(geoms))  # the parts' as the round starts
        self.added: list[np.ndarray] = []  # the points moved to this round
        self.own = own

    def blocked(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
        """Whether triangle (a, b, c) holds a footprint's or the parent's corner or a part's
        vertex strictly inside, or a building mapped as a point."""
        return (self.corners.inside(a, b, c, True) or self.vertices.inside(a, b, c, True)
                or self.points.inside(a, b, c, False)
                or (bool(self.added) and _Points(np.vstack(self.added)).inside(a, b, c, True)))

    def _gains(self, changed: dict[int, Edit]) -> dict | None:
        """The new area and perimeter of each part in `changed` where its edit raises the sum
        of the parts' Polsby-Popper without lowering the lowest."""
        before = [pp_value(*self.size[k]) for k in changed]
        sizes = {}
        for k, edit in changed.items():
            area, length = path_change(edit.old, edit.new, self.measure.scale,
                                       self.measure.origin)
            sizes[k] = (self.size[k][0] + area, self.size[k][1] + length)
        if min(a for a, _ in sizes.values()) <= 0:
            return None
        after = [pp_value(*sizes[k]) for k in changed]
        if min(after) < min(before) or sum(after) <= sum(before) + GAIN:
            return None
        return sizes

    def _taken(self, changed: dict[int, Edit], sizes: dict) -> bool:
        """Whether the parts in `changed` pass the taut step's check; if so they are put in
        place."""
        rings = {k: edit.applied(self.rings[k]) for k, edit in changed.items()}
        new = {k: shapely.Polygon(np.vstack([ring, ring[:1]]), list(self.parts[k].interiors))
               for k, ring in rings.items()}
        if unsound_parts(new, self.parts, list(changed), [self.own[k] for k in changed]):
            return False
        for k, ring in rings.items():
            self.parts[k], self.rings[k], self.size[k] = new[k], ring, sizes[k]
        return True

    def slide(self, x0: np.ndarray, a: int, b: int) -> bool:
        """The point x0 where parts a and b meet on the parent's outline slid along the
        outline into a or into b, the longest step that is taken."""
        for loser, winner in ((a, b), (b, a)):
            ring, other = self.rings[loser], self.rings[winner]
            i, j = _at(ring, x0), _at(other, x0)
            if i is None or j is None:
                continue
            prev, nxt = ring[i - 1], ring[(i + 1) % len(ring)]
            shared = {tuple(other[j - 1]), tuple(other[(j + 1) % len(other)])}
            if (tuple(prev) in shared) == (tuple(nxt) in shared):
                continue  # not where their run meets the outline
            toward_prev = tuple(nxt) in shared
            n, w = (nxt, prev) if toward_prev else (prev, nxt)
            if side_of(prev, x0, nxt) <= TINY:
                continue  # the losing part is not convex at x0
            after_n = np.array_equal(other[(j + 1) % len(other)], n)
            for step in STEPS:
                x1 = x0 + step * (w - x0)
                if step == 1.0 and len(ring) <= 3:
                    continue
                changed = {loser: _dropped(ring, i) if step == 1.0 else _replaced(ring, i, x1),
                           winner: _inserted(other, j + 1 if after_n else j, x1)}
                sizes = self._gains(changed)
                if sizes is None or self.blocked(n, x0, x1):
                    continue
                if self._taken(changed, sizes):
                    self.added.append(x1[None])
                    return True
        return False

    def meet(self, x0: np.ndarray, owners: list[int]) -> bool:
        """The point x0 where three parts meet moved towards the Fermat point of its three
        neighbours (as the rings stand: one may have moved this round), the longest step
        that is taken."""
        at = [_at(self.rings[k], x0) for k in owners]
        if None in at:
            return False
        near = np.unique(np.vstack([self.rings[k][[i - 1, (i + 1) % len(self.rings[k])]]
                                    for k, i in zip(owners, at, strict=True)]), axis=0)
        if len(near) != 3:
            return False
        m = self.measure
        target = _fermat((near - m.origin) * m.scale) / m.scale + m.origin
        if np.hypot(*((target - x0) * m.scale)) < 1e-6:
            return False
        order = np.argsort(np.arctan2(*(near - x0).T[::-1]))
        for step in STEPS:
            x1 = x0 + step * (target - x0)
            if not _same_cycle(order, np.argsort(np.arctan2(*(near - x1).T[::-1]))):
                continue  # the edges would cross
            changed = {k: _replaced(self.rings[k], i, x1) for k, i in zip(owners, at, strict=True)}
            sizes = self._gains(changed)
            if sizes is None or any(self.blocked(n, x0, x1) for n in near):
                continue
            if self._taken(changed, sizes):
                self.added.append(x1[None])
                return True
        return False


def _at(ring: np.ndarray | None, point: np.ndarray) -> int | None:
    """The index of `point` in `ring` where it is there exactly once."""
    if ring is None:
        return None
    hit = np.flatnonzero((ring == point).all(axis=1))
    return int(hit[0]) if len(hit) == 1 else None


class Edit(NamedTuple):
    """A change to a part's exterior ring: at index `at`, `point` replaces the vertex
    ("replace"), the vertex goes ("drop"), or `point` goes in before it ("insert"); `old` is
    the path of the ring that changes (in the ring's order, its two ends kept) and `new` what
    replaces it."""

    how: str
    at: int
    point: np.ndarray
    old: np.ndarray
    new: np.ndarray

    def applied(self, ring: np.ndarray) -> np.ndarray:
        if self.how == "drop":
            return np.delete(ring, self.at, axis=0)
        if self.how == "insert":
            return np.insert(ring, self.at, self.point, axis=0)
        out = ring.copy()
        out[self.at] = self.point
        return out


def _replaced(ring: np.ndarray, i: int, point: np.ndarray) -> Edit:
    old = ring[[i - 1, i, (i + 1) % len(ring)]]
    return Edit("replace", i, point, old, np.array([old[0], point, old[2]]))


def _dropped(ring: np.ndarray, i: int) -> Edit:
    old = ring[[i - 1, i, (i + 1) % len(ring)]]
    return Edit("drop", i, old[1], old, old[[0, 2]])


def _inserted(ring: np.ndarray, at: int, point: np.ndarray) -> Edit:
    """`point` put before ring[at] (after the ring's last vertex where `at` is its length)."""
    old = ring[[at - 1, at % len(ring)]]
    return Edit("insert", at, point, old, np.array([old[0], point, old[1]]))


def _same_cycle(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two orders of three are the same up to rotation."""
    return any(np.array_equal(np.roll(a, r), b) for r in range(3))


def _junctions(rings: list[np.ndarray | None]) -> tuple[list, list]:
    """The ends of the runs two parts share: those of one run only (where two parts meet on
    the parent's outline: (point, a, b)) and those of three runs between three parts with
    three neighbours on them (where three meet: (point, parts))."""
    ends: dict[bytes, list] = {}
    for run in shared_runs(rings):
        for end, near in ((run.path[0], run.path[1]), (run.path[-1], run.path[-2])):
            ends.setdefault(end.tobytes(), []).append((end, run.a, run.b, near))
    slides, meets = [], []
    for hits in ends.values():
        if len(hits) == 1:
            end, a, b, _ = hits[0]
            slides.append((end, a, b))
        elif len(hits) == 3:
            owners = sorted({p for _, a, b, _ in hits for p in (a, b)})
            near = np.vstack([n for *_, n in hits])
            if len(owners) == 3 and len(np.unique(near, axis=0)) == 3:
                meets.append((hits[0][0], owners))
    return slides, meets


def moved_junctions(parent: BaseGeometry, parts: list[BaseGeometry], assignment: np.ndarray,
                    foot: np.ndarray, scale: tuple[float, float]
                    ) -> tuple[list[BaseGeometry], int]:
    """`parts` pulled taut (gis.partition.taut.pulled_taut) with the points where their
    boundaries meet moved between pulls (see the module docstring), and how many runs and
    points moved; `scale` is metres per unit along x and y (for Polsby-Popper only)."""
    foot = clipped_to(parent, np.asarray(foot, dtype=object))  # once, for every pull
    feet = foot[~shapely.is_empty(foot)]
    obstacles = Obstacles.of(feet)
    parts, changed = pulled_taut(parent, parts, assignment, foot, scale, obstacles=obstacles)
    if len(parts) < 2:
        return parts, changed
    own = [foot[assignment == k] for k in range(len(parts))]
    point = shapely.get_type_id(feet) == 0
    corners = _Points(np.vstack([shapely.get_coordinates(feet[~point]),
                                 shapely.get_coordinates(parent)]))
    points = _Points(shapely.get_coordinates(feet[point]))
    fresh = set(range(len(parts)))  # parts changed since the last round (points between
    for _ in range(ROUNDS):  # parts that did not change would not move now either)
        mover = _Mover(parts, corners, points, own, scale)
        slides, meets = _junctions(mover.rings)
        moved = sum(mover.meet(x0, owners) for x0, owners in meets if fresh.intersection(owners))
        moved += sum(mover.slide(x0, a, b) for x0, a, b in slides if a in fresh or b in fresh)
        if not moved:
            break
        new, pulled = pulled_taut(parent, mover.parts, assignment, foot, scale,
                                  only=_changed(parts, mover.parts), obstacles=obstacles)
        fresh = _changed(parts, new)
        parts, changed = new, changed + moved + pulled
    return parts, changed


def _changed(before: list[BaseGeometry], after: list[BaseGeometry]) -> set[int]:
    """The indices of the parts `after` holds new objects at (a part left alone is the same
    object)."""
    return {k for k, (b, a) in enumerate(zip(before, after, strict=True)) if b is not a}

"""Geometry of the demo district, generated deterministically in a local metric CRS.

The district (4.2 km x 3 km, placed in EPSG:32651 near 120.1 E, 30.3 N) is cut by jittered
polylines into 3 streets, 10 communities and 40 grids; the cut lines double as the road network,
with one lane through each grid. Each grid is filled with building footprints on a jittered lattice,
away from roads, whose households add up to a target between 330 and 470.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon, box
from shapely.ops import split

ORIGIN = (221_000.0, 3_355_500.0)  # EPSG:32651 metres, near 120.10 E, 30.30 N
METRIC_CRS = "EPSG:32651"
WIDTH, HEIGHT = 4200.0, 3000.0
ROWS_PER_STREET = (3, 4, 3)  # communities per street (10 in all)
ROAD_CLEARANCE = 9.0


@dataclass
class DemoBuilding:
    footprint: Polygon
    households: int
    floors: int
    kind: str  # low_rise | tower | institution


@dataclass
class DemoArea:
    polygon: Polygon
    children: list[DemoArea] = field(default_factory=list)
    buildings: list[DemoBuilding] = field(default_factory=list)
    dedicated: str | None = None  # facility of a dedicated grid (school, hospital)


def _jittered_line(start: tuple[float, float], end: tuple[float, float],
                   rng: np.random.Generator, amplitude: float, pieces: int = 5) -> LineString:
    """A polyline from start to end whose inner vertices wobble sideways by up to `amplitude`."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    length = float(np.hypot(dx, dy))
    nx, ny = -dy / length, dx / length
    pts = [start]
    for i in range(1, pieces):
        t = i / pieces
        off = float(rng.uniform(-amplitude, amplitude))
        pts.append((x0 + dx * t + nx * off, y0 + dy * t + ny * off))
    pts.append(end)
    return LineString(pts)


def _cut(poly: Polygon, line: LineString) -> list[Polygon]:
    parts = [p for p in split(poly, line).geoms if p.area > 1.0]
    return parts


def _strip_cuts(poly: Polygon, n: int, vertical: bool, rng: np.random.Generator,
                amplitude: float, roads: list[LineString]) -> list[Polygon]:
    """Cut `poly` into n strips (west→east if vertical, north→south otherwise)."""
    minx, miny, maxx, maxy = poly.bounds
    pieces = [poly]
    for i in range(1, n):
        if vertical:
            x = minx + (maxx - minx) * i / n
            line = _jittered_line((x, miny - 50), (x, maxy + 50), rng, amplitude)
        else:
            y = maxy - (maxy - miny) * i / n
            line = _jittered_line((minx - 50, y), (maxx + 50, y), rng, amplitude)
        roads.append(line.intersection(poly.buffer(1.0)))
        last = pieces.pop()
        cut = _cut(last, line)
        key = (lambda p: p.centroid.x) if vertical else (lambda p: -p.centroid.y)
        cut.sort(key=key)
        pieces.extend(cut)
    return pieces


def _household_counts(target: int, rng: np.random.Generator) -> list[tuple[int, bool]]:
    """(households, is_tower) per building, summing exactly to `target` (low-rise stay 6–24)."""
    counts: list[list] = []
    total = 0
    while total < target:
        tower = rng.random() < 0.06 and target - total >= 60
        households = int(rng.integers(60, 121)) if tower else int(rng.integers(6, 25))
        counts.append([households, tower])
        total += households
    excess = total - target
    for entry in counts:  # take the excess back from low-rise buildings, never below 6
        if excess == 0:
            break
        if not entry[1]:
            cut = min(excess, entry[0] - 6)
            entry[0] -= cut
            excess -= cut
    if excess:
        raise RuntimeError(f"cannot reach {target} households with low-rise buildings")
    return [(h, t) for h, t in counts]


def _fill_buildings(grid: Polygon, lane: LineString, target: int, rng: np.random.Generator,
                    facility: str | None) -> list[DemoBuilding]:
    """Footprints on a jittered lattice inside `grid`, households summing exactly to `target`."""
    keep_out = shapely.union_all([grid.exterior.buffer(ROAD_CLEARANCE),
                                  lane.buffer(ROAD_CLEARANCE)])
    minx, miny, maxx, maxy = grid.bounds
    step = 42.0
    slots = [(float(x), float(y)) for x in np.arange(minx + step / 2, maxx, step)
             for y in np.arange(maxy - step / 2, miny, -step)]
    order = list(rng.permutation(len(slots)))
    buildings: list[DemoBuilding] = []
    if facility:
        cx, cy = grid.centroid.x, grid.centroid.y
        block = box(cx - 60, cy - 35, cx + 60, cy + 35)
        if grid.contains(block) and not block.intersects(keep_out):
            buildings.append(DemoBuilding(block, 0, 4, "institution"))
    for households, tower in _household_counts(target, rng):
        while True:
            if not order:
                raise RuntimeError(f"could not place {target} households in a grid")
            x, y = slots[order.pop()]
            x += float(rng.uniform(-6, 6))
            y += float(rng.uniform(-6, 6))
            w, h = (26.0, 26.0) if tower else (float(rng.uniform(18, 30)),
                                                float(rng.uniform(10, 14)))
            fp = box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            if grid.contains(fp) and not fp.intersects(keep_out) and not any(
                    fp.distance(b.footprint) < 4.0 for b in buildings):
                break
        floors = int(rng.integers(18, 33)) if tower else int(rng.integers(3, 8))
        buildings.append(DemoBuilding(fp, households, floors, "tower" if tower else "low_rise"))
    return buildings


def generate(seed: int = 1) -> tuple[DemoArea, list[LineString]]:
    """The district tree (streets > communities > grids with buildings) and its roads, in metres."""
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    district = DemoArea(box(x0, y0, x0 + WIDTH, y0 + HEIGHT))
    roads: list[LineString] = [district.polygon.exterior]
    streets = _strip_cuts(district.polygon, len(ROWS_PER_STREET), True, rng, 70.0, roads)
    dedicated_slots = {(0, 1, 3): "school", (2, 0, 0): "hospital"}
    for s_idx, (street_poly, rows) in enumerate(zip(streets, ROWS_PER_STREET, strict=True)):
        street = DemoArea(street_poly)
        for c_idx, comm_poly in enumerate(_strip_cuts(street_poly, rows, False, rng, 40.0, roads)):
            community = DemoArea(comm_poly)
            grid_polys: list[Polygon] = []
            for half in _strip_cuts(comm_poly, 2, True, rng, 25.0, roads):
                grid_polys.extend(_strip_cuts(half, 2, False, rng, 20.0, roads))
            for g_idx, grid_poly in enumerate(grid_polys):
                facility = dedicated_slots.get((s_idx, c_idx, g_idx))
                gminx, gminy, gmaxx, gmaxy = grid_poly.bounds
                gy = (gminy + gmaxy) / 2
                lane = _jittered_line((gminx - 10, gy), (gmaxx + 10, gy), rng, 8.0, 3)
                lane = lane.intersection(grid_poly)
                roads.append(lane)
                target = int(rng.integers(330, 471))
                grid = DemoArea(grid_poly, dedicated=facility)
                grid.buildings = _fill_buildings(grid_poly, lane, target, rng, facility)
                community.children.append(grid)
            street.children.append(community)
        district.children.append(street)
    return district, [r for r in roads if not r.is_empty]

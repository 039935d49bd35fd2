"""Quality metrics of a division: compactness (Polsby–Popper) in a local metric frame."""

from __future__ import annotations

import math

import numpy as np
import shapely

EARTH_RADIUS_M = 6371008.8
M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180.0
FOUR_PI = 4.0 * math.pi


def pp_of(area, perimeter) -> np.ndarray:
    """Polsby-Popper 4πA/P² of groups with these areas and perimeters (arrays; 0 without a
    perimeter): the one formula every search over sums of areas and perimeters uses."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perimeter > 0, FOUR_PI * area / np.maximum(perimeter, 1e-12) ** 2, 0.0)


def pp_value(area: float, perimeter: float) -> float:
    """`pp_of` of one area and perimeter in plain floats (0 for none), for loops that weigh
    one move or one run at a time."""
    return FOUR_PI * area / (perimeter * perimeter) if perimeter > 0 and area > 0 else 0.0


def metric_scale(geom, geographic: bool = True) -> tuple[float, float]:
    """Metres per unit along x and y near `geom` (an equirectangular frame at its centre).

    At grid scale (a few km) this local affine frame differs from a true projection by well under
    0.1 %, and straight lines stay straight in both frames, so cuts are drawn in lon/lat directly.
    """
    if not geographic:
        return 1.0, 1.0
    minx, miny, maxx, maxy = geom.bounds
    lat0 = math.radians((miny + maxy) / 2.0)
    return M_PER_DEGREE * math.cos(lat0), M_PER_DEGREE


def to_metric(geoms, scale: tuple[float, float]):
    """Geometries scaled into metres (for areas and perimeters only)."""
    factor = np.asarray(scale, dtype=float)
    return shapely.transform(geoms, lambda xy: xy * factor)


def polsby_popper(geoms, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """4πA/P² of each geometry (1 for a disc, π/4 for a square), in the given metric scale."""
    metric = to_metric(np.asarray(geoms, dtype=object), scale)
    return pp_of(shapely.area(metric), shapely.length(metric))

"""The checked inputs of an assignment-first split (the growth and graph engines share them).

The arguments normalised (gis.partition.engine.split_inputs), the local metric frame and the
footprints in it, each building's representative point, and the violations the household
arithmetic already tells: a total that cannot be divided, towers over the maximum, a parent
in several pieces. A parent with no buildings is answered at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.engine import choose_parts, split_inputs
from gis.partition.quality import metric_scale
from gis.partition.result import SplitResult, finish


def local_frame(parent: BaseGeometry, geographic: bool):
    """Origin and metres per unit of the local frame; functions to and from it."""
    kx, ky = metric_scale(parent, geographic)
    minx, miny, _, _ = parent.bounds
    x0, y0 = (minx, miny) if geographic else (0.0, 0.0)
    scale = np.array([kx, ky])
    origin = np.array([x0, y0])

    def there(geoms):
        return shapely.transform(geoms, lambda xy: (xy - origin) * scale)

    def back(geoms):
        return shapely.transform(geoms, lambda xy: xy / scale + origin)

    return (kx, ky), there, back


@dataclass
class Inputs:
    """One split's inputs, in the input's coordinates and in metres (local, feet)."""

    parent: BaseGeometry
    foot: np.ndarray
    households: np.ndarray
    lo: int
    hi: int
    scale: tuple[float, float]
    there: Callable  # input coordinates -> the local frame
    back: Callable  # and back
    rep: np.ndarray
    local: BaseGeometry
    feet: np.ndarray
    k: int
    reason: str | None
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def split_inputs_of(parent: BaseGeometry, buildings, households, min_households: int,
                    max_households: int, geographic: bool) -> Inputs | SplitResult:
    """The inputs of a split (see the module docstring), or the result for no buildings."""
    parent, buildings, households, lo, hi = split_inputs(parent, buildings, households,
                                                         min_households, max_households)
    scale, there, back = local_frame(parent, geographic)
    foot = np.asarray(buildings, dtype=object)
    rep = shapely.get_coordinates(shapely.point_on_surface(foot)) if len(foot) else np.zeros(
        (0, 2))
    if not buildings:
        empty = f"no buildings: 0 households, below the minimum {lo}"
        return finish(parent, [parent], np.zeros(0, int), rep, households, [empty], [],
                      scale, lo, hi, True, empty)
    violations: list[str] = []
    over = households > hi
    k, reason = choose_parts(int(households[~over].sum()), int(over.sum()), lo, hi)
    if reason:
        violations.append(reason)
    for hh in households[over]:
        violations.append(f"a building of {hh} households exceeds the maximum {hi}; "
                          "it forms a part of its own")
    if parent.geom_type == "MultiPolygon":
        violations.append("the parent is not one polygon: its parts cannot all be contiguous")
    return Inputs(parent, foot, households, lo, hi, scale, there, back, rep, there(parent),
                  there(foot), k, reason, violations)

"""Sliver clean-up: thin arms of a part that hold no building go to the neighbour beside them.

Straight cuts through an irregular parent leave some parts with thin arms along its outline.
For a part with Polsby-Popper below THIN, the arms are what a morphological opening (shrink by
WIDTH_M, grow back) removes; each arm that holds no footprint of the part goes to the neighbour
sharing the longest edge with it, kept only when both parts stay one polygon and the lower
Polsby-Popper of the two rises. Area only changes hands, so the parts still tile the parent,
and no building changes part.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.quality import polsby_popper

THIN = 0.3
WIDTH_M = 6.0
MIN_ARM = 1e-4  # share of the part's area below which an arm is left alone


def _one(geom: BaseGeometry) -> BaseGeometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    return parts[0] if len(parts) == 1 else None


def clean_slivers(parts: list[BaseGeometry], assignment: np.ndarray, foot: np.ndarray,
                  scale: tuple[float, float]) -> list[BaseGeometry]:
    """Parts after giving away their thin empty arms (see the module docstring)."""
    parts = list(parts)
    pp = polsby_popper(parts, scale)
    width = WIDTH_M / max(scale)
    tree = shapely.STRtree(parts)
    for i in np.argsort(pp):
        if pp[i] >= THIN:
            break
        part = parts[i]
        held = foot[assignment == i]
        core = shapely.buffer(shapely.buffer(part, -width, join_style="mitre"), width,
                              join_style="mitre")
        arms = shapely.get_parts(shapely.difference(part, core))
        for arm in arms:
            if arm.geom_type != "Polygon" or arm.area < MIN_ARM * part.area:
                continue
            touch = held[shapely.intersects(arm, held)] if len(held) else held
            if len(touch) and (shapely.get_type_id(touch) != 3).any() or (
                    shapely.area(shapely.intersection(arm, touch)) > 0).any():
                continue  # a footprint (or a building's point) of the part lies in it
            best = None
            for j in tree.query(arm, predicate="intersects"):
                j = int(j)
                if j == i:
                    continue
                shared = shapely.length(shapely.intersection(arm.boundary, parts[j].boundary))
                if shared > 0 and (best is None or shared > best[0]):
                    best = (shared, j)
            if best is None:
                continue
            j = best[1]
            mine, theirs = _one(shapely.difference(parts[i], arm)), _one(
                shapely.union(parts[j], arm))
            if mine is None or theirs is None:
                continue
            new = polsby_popper([mine, theirs], scale)
            if new.min() > min(pp[i], pp[j]):
                parts[i], parts[j] = mine, theirs
                pp[i], pp[j] = new
        tree = shapely.STRtree(parts)
    return parts

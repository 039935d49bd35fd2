"""A polygon's two halves on either side of a line, measured in closed form (no overlay).

The line x = t meets a polygon's land in k intervals (its rings cross it 2k times). Cutting
along each adds one to the land's Euler characteristic (1 - holes), and a hole the line crosses
no longer counts, so the cut leaves 1 + k - (holes crossed) pieces, each on one side: one on
each side exactly where k is one more than the holes crossed (twice the exterior alone, where
the line meets no hole). Each side's area is the rings' integral of (x - t) dy over their
edges' parts on that side (the cut itself, on x = t, adds nothing), and its perimeter the
length of those parts plus the land's length on the line. gis.partition.reshape screens
hundreds of positions a pair this way, where a clip of the polygon at each would cost two
overlays.
"""

from __future__ import annotations

import numpy as np

from gis.partition.quality import pp_of


def lower_pp(rings: list[np.ndarray], ts: np.ndarray) -> np.ndarray:
    """The lower Polsby-Popper of a polygon's parts x <= t and x >= t at each position t of
    `ts`, NaN where a side is not one polygon. `rings` are the polygon's closed rings, the
    exterior first: arrays (..., n + 1, 2) whose leading axes, if any, hold one turn of the
    polygon per row of `ts` (..., positions). Measured from the exterior's first vertex, so
    that coordinates far from 0 (metres east of the meridian) keep their precision."""
    origin = rings[0][..., :1, :]
    rings = [ring - origin for ring in rings]
    t = np.asarray(ts, dtype=float)[..., None] - origin[..., 0][..., None]
    area_left = np.zeros(t.shape[:-1])
    length_left = np.zeros(t.shape[:-1])
    chord = np.zeros(t.shape[:-1])  # the land's length on the line
    crossings = np.zeros(t.shape[:-1], np.int64)
    crossed = np.zeros(t.shape[:-1], np.int64)  # holes the line meets
    area = length = 0.0
    for r, ring in enumerate(rings):
        x1, y1 = ring[..., None, :-1, 0], ring[..., None, :-1, 1]
        x2, y2 = ring[..., None, 1:, 0], ring[..., None, 1:, 1]
        dx, dy = x2 - x1, y2 - y1
        signed = 0.5 * (x1 * y2 - x2 * y1).sum(axis=-1)
        sign = np.sign(signed) * (1.0 if r == 0 else -1.0)  # holes take land off
        left1, left2 = x1 <= t, x2 <= t
        cross = left1 != left2
        y_cut = np.where(cross, y1 + (t - x1) / np.where(dx == 0, 1.0, dx) * dy, 0.0)
        a1, b1 = np.where(left1, x1, t), np.where(left1, y1, y_cut)
        a2, b2 = np.where(left2, x2, t), np.where(left2, y2, y_cut)
        on_left = left1 | left2
        area_left += sign * np.where(on_left, (0.5 * (a1 + a2) - t) * (b2 - b1), 0.0).sum(-1)
        length_left += np.where(on_left, np.hypot(a2 - a1, b2 - b1), 0.0).sum(axis=-1)
        area = area + sign * signed
        length = length + np.hypot(dx, dy).sum(axis=-1)
        inside = np.abs((np.where(cross, np.sign(dx), 0.0) * y_cut).sum(axis=-1))
        chord += inside if r == 0 else -inside
        crossings += cross.sum(axis=-1)
        if r:
            crossed += cross.any(axis=-1)
    pp_left = pp_of(area_left, length_left + chord)
    pp_right = pp_of(area - area_left, length - length_left + chord)
    return np.where(crossings // 2 - crossed == 1, np.minimum(pp_left, pp_right), np.nan)


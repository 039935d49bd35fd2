"""Cheap compactness scoring of candidate straight cuts, in numpy (no shapely).

A region to become k parts is cut by a line into a side of k1 and a side of k - k1 parts. For
many candidate lines at once this module clips the region's rings by each line (Green's theorem
on the clipped edges, in a frame centred on the line, so the closing segments along the line add
nothing to the area), giving each side's exact area, perimeter (edges plus the chord, exact for
convex regions) and extents along and across the line. A side that must still become k_s parts is
scored by the mean Polsby-Popper its parts could reach: the best recursive division of a
rectangle of the side's extents (a precomputed table over aspect ratio and k), scaled down by how
far the side falls short of that rectangle's own compactness. A cut's line and half-plane
(`line_frame`, `halfplane`) are drawn here too, for the engine and the polish pass.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gis.partition.quality import pp_of

TABLE_K = 64
TABLE_R = 257
MAX_LOG_R = math.log(64.0)
# pairs of an edge and a cut from which side_stats sorts the edges (below: clips every edge by
# every cut, the cheaper way for the few hundred edges and cuts of most regions)
SORTED_FROM = 20_000


def rect_pp(r: np.ndarray) -> np.ndarray:
    """Polsby-Popper of a rectangle of aspect ratio r (long / short)."""
    return math.pi * r / (1.0 + r) ** 2


@lru_cache(maxsize=1)
def division_table() -> np.ndarray:
    """T[k, i]: mean PP of the parts of the best recursive division of a rectangle of aspect
    exp(i * MAX_LOG_R / (TABLE_R - 1)) into k parts by cuts across its longer side."""
    logr = np.linspace(0.0, MAX_LOG_R, TABLE_R)
    r = np.exp(logr)
    table = np.zeros((TABLE_K + 1, TABLE_R))
    table[1] = rect_pp(r)

    def look(k: int, x: np.ndarray) -> np.ndarray:
        lx = np.minimum(np.abs(np.log(x)), MAX_LOG_R)
        return np.interp(lx, logr, table[k])

    for k in range(2, TABLE_K + 1):
        best = np.zeros(TABLE_R)
        for k1 in range(1, k // 2 + 1):
            k2 = k - k1
            value = (k1 * look(k1, r * k1 / k) + k2 * look(k2, r * k2 / k)) / k
            best = np.maximum(best, value)
        table[k] = best
    return table


def division_pp(aspect: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Table lookup of the reachable mean PP for rectangles of `aspect` into `k` parts."""
    table = division_table()
    lx = np.minimum(np.log(np.maximum(aspect, 1.0)), MAX_LOG_R)
    pos = lx / MAX_LOG_R * (TABLE_R - 1)
    i0 = np.minimum(pos.astype(np.int64), TABLE_R - 2)
    w = pos - i0
    kk = np.clip(k, 1, TABLE_K).astype(np.int64)
    return table[kk, i0] * (1 - w) + table[kk, i0 + 1] * w


def region_edges(geom, scale: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points (metres) of every ring edge of `geom`."""
    rings = shapely.get_rings(shapely.get_parts(geom))
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    coords = coords * np.asarray(scale)
    same = owner[1:] == owner[:-1]
    return coords[:-1][same], coords[1:][same]


def side_stats(p0: np.ndarray, p1: np.ndarray, theta: np.ndarray, t: np.ndarray):
    """For cuts {p: p·(cos θ, sin θ) = t} (metres): per side (below, above), area, perimeter,
    extent across the line and extent along it. Arrays of shape (2, C). Every edge clipped by
    every cut (`side_stats_dense`) up to SORTED_FROM pairs of an edge and a cut, the edges
    sorted per direction beyond (`side_stats_sorted`: the same figures, for a fraction of the
    work on a large community's thousands of cuts; bench/cut_bench.py)."""
    if len(p0) * len(t) < SORTED_FROM:
        return side_stats_dense(p0, p1, theta, t)
    return side_stats_sorted(p0, p1, theta, t)


def side_stats_dense(p0: np.ndarray, p1: np.ndarray, theta: np.ndarray, t: np.ndarray):
    """side_stats by clipping every edge by every cut (arrays of edges x cuts): the cheaper
    way for a few hundred edges and cuts."""
    n = np.vstack([np.cos(theta), np.sin(theta)])
    d = np.vstack([-np.sin(theta), np.cos(theta)])
    u0, u1 = p0 @ n - t, p1 @ n - t
    v0, v1 = p0 @ d, p1 @ d
    du = u0 - u1
    cross_edge = (u0 < 0) != (u1 < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(cross_edge, u0 / np.where(du == 0, 1, du), 0.0)
    vx = v0 + lam * (v1 - v0)
    big = np.inf
    vcmin = np.where(cross_edge, vx, big).min(axis=0)
    vcmax = np.where(cross_edge, vx, -big).max(axis=0)
    chord = np.where(np.isfinite(vcmin), vcmax - vcmin, 0.0)
    out = np.zeros((4, 2, len(t)))
    for s, sign in enumerate((1.0, -1.0)):
        a_in, b_in = sign * u0 <= 0, sign * u1 <= 0
        keep = a_in | b_in
        au = np.where(a_in, u0, 0.0)
        av = np.where(a_in, v0, vx)
        bu = np.where(b_in, u1, 0.0)
        bv = np.where(b_in, v1, vx)
        cross = np.where(keep, au * bv - av * bu, 0.0)
        length = np.where(keep, np.hypot(bu - au, bv - av), 0.0)
        out[0, s] = 0.5 * np.abs(cross.sum(axis=0))
        out[1, s] = length.sum(axis=0) + chord
        out[2, s] = np.where(a_in, -sign * u0, 0.0).max(axis=0)
        vmin = np.minimum(np.where(a_in, v0, big).min(axis=0), vcmin)
        vmax = np.maximum(np.where(a_in, v0, -big).max(axis=0), vcmax)
        out[3, s] = np.where(np.isfinite(vmin), vmax - vmin, 0.0)
    return out


def side_stats_sorted(p0: np.ndarray, p1: np.ndarray, theta: np.ndarray, t: np.ndarray):
    """side_stats from sorted edges: cuts share a few directions, so the edges are projected
    once per direction. The edges wholly on a side of a cut are summed from prefix sums over
    the edges sorted by their extent along the normal (Green's theorem in a frame centred per
    direction; the closing chord along the line adds no area), and only the pairs of an edge
    and a cut it reaches are clipped one by one: the same figures as clipping every edge by
    every cut, for a fraction of the work on a community's hundreds of cuts."""
    angles, col = np.unique(theta, return_inverse=True)
    col = col.reshape(-1)
    n_cuts, n_edges, n_angles = len(t), len(p0), len(angles)
    out = np.zeros((4, 2, n_cuts))
    if n_edges == 0:
        return out
    normal = np.vstack([np.cos(angles), np.sin(angles)])
    along = np.vstack([-np.sin(angles), np.cos(angles)])
    u0, u1 = p0 @ normal, p1 @ normal  # (edges, directions): position along the normal
    lo, hi = np.minimum(u0, u1), np.maximum(u0, u1)
    u_mid = u0.mean(axis=0)
    v0, v1 = p0 @ along, p1 @ along
    v_mid = v0.mean(axis=0)
    v0, v1 = v0 - v_mid, v1 - v_mid
    t_mid = t - u_mid[col]
    cross0 = (u0 - u_mid) * v1 - v0 * (u1 - u_mid)  # an edge's cross product for a line at
    rise = v1 - v0  # u_mid, less (t - u_mid) * rise for the line at t
    length = np.broadcast_to(np.hypot(*(p1 - p0).T)[:, None], u0.shape)
    by_hi = np.argsort(hi, axis=0, kind="stable")  # wholly below t: hi <= t
    by_lo = np.argsort(lo, axis=0, kind="stable")  # wholly above t: lo >= t
    by_u0 = np.argsort(u0, axis=0, kind="stable")  # edge starts below / above t
    his, los, u0s = (np.take_along_axis(x, o, 0) for x, o in ((hi, by_hi), (lo, by_lo),
                                                                (u0, by_u0)))
    below, above = np.empty(n_cuts, np.int64), np.empty(n_cuts, np.int64)
    starts_below, starts_above = np.empty(n_cuts, np.int64), np.empty(n_cuts, np.int64)
    for a in range(n_angles):  # every direction has a cut (np.unique above)
        m = col == a
        below[m] = np.searchsorted(his[:, a], t[m], side="right")
        above[m] = np.searchsorted(los[:, a], t[m], side="left")
        starts_below[m] = np.searchsorted(u0s[:, a], t[m], side="right")
        starts_above[m] = np.searchsorted(u0s[:, a], t[m], side="left")

    def prefix(x: np.ndarray, order: np.ndarray) -> np.ndarray:
        return np.vstack([np.zeros((1, n_angles)),
                          np.cumsum(np.take_along_axis(x, order, 0), axis=0)])

    whole = []
    for order, k, tail in ((by_hi, below, False), (by_lo, above, True)):
        sums = [prefix(x, order) for x in (cross0, rise, length)]
        cross_sum, rise_sum, length_sum = (
            (s[n_edges, col] - s[k, col]) if tail else s[k, col] for s in sums)
        whole.append((cross_sum - t_mid * rise_sum, length_sum))
    # the edges a cut reaches (some of it on each side): clipped one pair at a time
    e, c = np.nonzero((lo[:, col] <= t) & (hi[:, col] >= t))
    a = col[c]
    w0, w1 = u0[e, a] - t[c], u1[e, a] - t[c]
    x0, x1 = v0[e, a], v1[e, a]
    dw = w0 - w1
    crossing = (w0 < 0) != (w1 < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(crossing, w0 / np.where(dw == 0, 1, dw), 0.0)
    vx = x0 + lam * (x1 - x0)
    vcmin, vcmax = np.full(n_cuts, np.inf), np.full(n_cuts, -np.inf)
    np.minimum.at(vcmin, c[crossing], vx[crossing])
    np.maximum.at(vcmax, c[crossing], vx[crossing])
    chord = np.where(np.isfinite(vcmin), vcmax - vcmin, 0.0)
    for s, sign in enumerate((1.0, -1.0)):
        a_in, b_in = sign * w0 <= 0, sign * w1 <= 0
        part = a_in != b_in  # wholly inside: summed above
        au, av = np.where(a_in, w0, 0.0), np.where(a_in, x0, vx)
        bu, bv = np.where(b_in, w1, 0.0), np.where(b_in, x1, vx)
        cross = np.where(part, au * bv - av * bu, 0.0)
        clipped = np.where(part, np.hypot(bu - au, bv - av), 0.0)
        cross_sum, length_sum = whole[s]
        out[0, s] = 0.5 * np.abs(cross_sum + np.bincount(c, weights=cross, minlength=n_cuts))
        out[1, s] = length_sum + np.bincount(c, weights=clipped, minlength=n_cuts) + chord
    lowest, highest = u0.min(axis=0)[col], u0.max(axis=0)[col]
    out[2, 0] = np.where(lowest <= t, t - lowest, 0.0)
    out[2, 1] = np.where(highest >= t, highest - t, 0.0)
    vs = np.take_along_axis(v0, by_u0, 0)
    inf = np.full((1, n_angles), np.inf)
    first_min = np.vstack([inf, np.minimum.accumulate(vs, axis=0)])
    first_max = np.vstack([-inf, np.maximum.accumulate(vs, axis=0)])
    last_min = np.vstack([np.minimum.accumulate(vs[::-1], axis=0)[::-1], inf])
    last_max = np.vstack([np.maximum.accumulate(vs[::-1], axis=0)[::-1], -inf])
    for s, vmin, vmax in ((0, first_min[starts_below, col], first_max[starts_below, col]),
                          (1, last_min[starts_above, col], last_max[starts_above, col])):
        vmin, vmax = np.minimum(vmin, vcmin), np.maximum(vmax, vcmax)
        out[3, s] = np.where(np.isfinite(vmin), vmax - vmin, 0.0)
    return out


def cut_scores(p0: np.ndarray, p1: np.ndarray, theta: np.ndarray, t: np.ndarray,
               k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
    """Expected mean PP of the final parts for each cut (side below the line gets k1 parts)."""
    area, perim, across, along = side_stats(p0, p1, theta, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = pp_of(area, perim)
        lo = np.minimum(across, along)
        hi = np.maximum(across, along)
        aspect = np.where(lo > 0, hi / lo, 64.0)
    box_pp = rect_pp(aspect)
    fill = np.minimum(1.0, np.where(box_pp > 0, pp / box_pp, 0.0))
    ks = np.vstack([k1, k2])
    reach = division_pp(aspect, ks) * fill
    return (k1 * reach[0] + k2 * reach[1]) / (k1 + k2)


def line_frame(region: BaseGeometry, axis: np.ndarray, t: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Unit normal, unit direction, a point on the line {p: axis·p = t}, and a length that
    reaches past `region`'s bounds from that point."""
    minx, miny, maxx, maxy = region.bounds
    c = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    big = 4.0 * max(maxx - minx, maxy - miny, 1e-9)
    norm = float(np.hypot(*axis))
    nhat = axis / norm
    d = np.array([-nhat[1], nhat[0]])
    return nhat, d, c + nhat * (t - float(axis @ c)) / norm, big


def halfplane(region: BaseGeometry, axis: np.ndarray, t: float) -> Polygon:
    """The half-plane {p: axis·p <= t}, clipped to a box around `region`."""
    nhat, d, p0, big = line_frame(region, axis, t)
    a, b = p0 + d * big, p0 - d * big
    return Polygon([a, b, b - nhat * big, a - nhat * big])

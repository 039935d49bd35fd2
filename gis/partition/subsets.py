"""Every subset of a few units at once: the exact division of a small set into parts.

For a set of at most about a dozen units, every subset (bit mask) is a candidate part: its
households, area and perimeter are sums over the unit graph (gis.partition.cellgraph), and its
connectedness is found for all subsets at once by boolean matrix products. `SubsetTable.best`
then finds the division of the set into k parts (k <= 3 in practice) that are connected and
within the bounds with the highest lowest Polsby-Popper, then the highest sum.
"""

from __future__ import annotations

import functools

import numpy as np

from gis.partition.cellgraph import CellGraph
from gis.partition.quality import pp_of

CANDIDATES = 40  # first parts tried per level when dividing into three or more


def missed(h: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Households outside lo..hi of each count."""
    return np.maximum(0, lo - h) + np.maximum(0, h - hi)


class SubsetTable:
    """Every subset (bit mask) of a few units: households, Polsby-Popper, and whether it is a
    connected group within the bounds."""

    def __init__(self, g: CellGraph, units: np.ndarray, lo: int, hi: int):
        m = len(units)
        self.units, self.m = units, m
        masks, bits = _bits(m)
        local = np.full(g.n, -1, dtype=np.int64)
        local[units] = np.arange(m)
        ea, eb = local[g.edge_a], local[g.edge_b]
        both = (ea >= 0) & (eb >= 0)
        w = np.zeros((m, m))
        np.add.at(w, (ea[both], eb[both]), g.edge_len[both])
        w = w + w.T
        self.hh = bits.astype(float) @ g.households[units]
        fits = np.flatnonzero((self.hh >= lo) & (self.hh <= hi))
        f = bits[fits].astype(float)
        inner = ((f @ w) * f).sum(axis=1) / 2
        self.pp = np.zeros(len(masks))
        self.pp[fits] = pp_of(f @ g.area[units], f @ g.perimeter[units] - 2 * inner)
        self.ok = np.zeros(len(masks), bool)
        self.ok[fits] = connected_rows(bits[fits], w > 0)
        self.ok[0] = False
        self.index = masks

    def best(self, rest: int, k: int) -> tuple[float, float, list[int]] | None:
        """The best division of the units in `rest` into k parts: (lowest PP, sum of PP,
        masks), or None."""
        if k == 1:
            return (float(self.pp[rest]), float(self.pp[rest]), [rest]) if self.ok[rest] else None
        low = rest & -rest
        idx = self.index
        cand = np.flatnonzero(self.ok & ((idx & ~rest) == 0) & ((idx & low) != 0))
        if k == 2:
            other = rest ^ cand
            fit = self.ok[other]
            if not fit.any():
                return None
            cand, other = cand[fit], other[fit]
            worst = np.minimum(self.pp[cand], self.pp[other])
            total = self.pp[cand] + self.pp[other]
            i = int(np.lexsort((-total, -worst))[0])
            return float(worst[i]), float(total[i]), [int(cand[i]), int(other[i])]
        best = None
        for c in cand[np.argsort(-self.pp[cand])][:CANDIDATES].tolist():
            sub = self.best(rest ^ c, k - 1)
            if sub is None:
                continue
            key = (min(sub[0], float(self.pp[c])), sub[1] + float(self.pp[c]))
            if best is None or key > best[:2]:
                best = (*key, [c, *sub[2]])
        return best


@functools.cache
def _bits(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Every bit mask of m units and its bits (row per mask; read-only, shared)."""
    masks = np.arange(2 ** m)
    bits = ((masks[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
    masks.flags.writeable = bits.flags.writeable = False
    return masks, bits


def connected_rows(bits: np.ndarray, adjacent: np.ndarray) -> np.ndarray:
    """Whether the units of each row of `bits` form one connected group in `adjacent`."""
    first = np.argmax(bits, axis=1)
    reach = np.zeros_like(bits)
    reach[np.arange(len(bits)), first] = True
    reach &= bits
    # float32: the counts (a dozen at most) are exact, and BLAS multiplies floats where int16
    # went through numpy's own loop at twice the CPU
    step = adjacent.astype(np.float32)
    for _ in range(bits.shape[1]):
        grown = ((reach.astype(np.float32) @ step) > 0) & bits | reach
        if np.array_equal(grown, reach):
            break
        reach = grown
    return (reach == bits).all(axis=1)



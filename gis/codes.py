"""Hierarchical codes (DESIGN §2): 6-digit county + 3 per level; sequences west→east, north→south.

Street 9 digits, community 12, grid 15, micro-grid 18. Streets use township sequences 001–099;
dedicated grids (专属网格) take sequences from 901.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shapely.geometry.base import BaseGeometry

DEDICATED_START = 901
ROW_BAND_DEGREES = 0.0009  # ~100 m: points in one band count as one row when ordering


def child_code(parent_code: str, sequence: int) -> str:
    """The code of the `sequence`-th child of `parent_code` (1-based, 3 digits)."""
    if not 1 <= sequence <= 999:
        raise ValueError(f"sequence {sequence} out of 1..999 under {parent_code}")
    return f"{parent_code}{sequence:03d}"


def reading_order(geoms: Sequence[BaseGeometry], band: float = ROW_BAND_DEGREES) -> list[int]:
    """Indices of `geoms` in reading order: rows north→south, west→east inside a row.

    Rows are bands of `band` degrees of latitude of the representative points, so nearly
    aligned areas read like text (as DB11/T 2157-2023 numbers grids).
    """
    points = [g.representative_point() for g in geoms]
    return sorted(range(len(geoms)), key=lambda i: (-round(points[i].y / band), points[i].x))


def assign_codes(parent_code: str, geoms: Sequence[BaseGeometry],
                 dedicated: Sequence[bool] | None = None,
                 taken: Iterable[str] = ()) -> list[str]:
    """Codes for new children of `parent_code`, in reading order, skipping codes in `taken`."""
    taken_set = set(taken)
    dedicated = dedicated or [False] * len(geoms)
    codes: list[str] = [""] * len(geoms)
    next_seq = {False: 1, True: DEDICATED_START}
    for i in reading_order(geoms):
        kind = bool(dedicated[i])
        while child_code(parent_code, next_seq[kind]) in taken_set:
            next_seq[kind] += 1
        codes[i] = child_code(parent_code, next_seq[kind])
        taken_set.add(codes[i])
        next_seq[kind] += 1
    return codes


def next_free_code(parent_code: str, taken: Iterable[str], dedicated: bool = False) -> str:
    """The lowest free child code under `parent_code`."""
    taken_set = set(taken)
    seq = DEDICATED_START if dedicated else 1
    while child_code(parent_code, seq) in taken_set:
        seq += 1
    return child_code(parent_code, seq)

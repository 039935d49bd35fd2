"""An in-process LRU of tile bytes keyed by layer versions + scope + z/x/y (the ETag)."""

from __future__ import annotations

import gzip
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class Tile:
    raw: bytes
    gz: bytes | None = None  # gzip of raw, made on the first request that accepts it

    def gzipped(self) -> bytes:
        if self.gz is None:
            self.gz = gzip.compress(self.raw, compresslevel=5, mtime=0)
        return self.gz


class TileCache:
    """Least-recently-used tiles up to `max_bytes`."""

    def __init__(self, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, Tile] = OrderedDict()

    def get(self, key: str) -> Tile | None:
        tile = self._items.get(key)
        if tile is not None:
            self._items.move_to_end(key)
        return tile

    def put(self, key: str, tile: Tile) -> None:
        if key in self._items:
            return
        self._items[key] = tile
        self.size += _cost(tile) + len(tile.raw)  # room for its gzip, made later
        while self.size > self.max_bytes and self._items:
            _, old = self._items.popitem(last=False)
            self.size -= _cost(old) + len(old.raw)

    def clear(self) -> None:
        self._items.clear()
        self.size = 0


def _cost(tile: Tile) -> int:
    return len(tile.raw) + 200

"""The split engine: divide a parent polygon into parts of bounded households (no database).

`split()` cuts the parent recursively by straight lines through gaps between the buildings, so
parts are convex where the parent is, every footprint stays whole, and the parts tile the parent.
"""

from gis.partition.engine import SplitResult, choose_parts, split
from gis.partition.quality import polsby_popper

__all__ = ["SplitResult", "choose_parts", "polsby_popper", "split"]

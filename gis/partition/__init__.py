"""The split engine: divide a parent polygon into parts of bounded households (no database).

`split()` cuts the parent recursively by straight lines through gaps between the buildings, so
parts are convex where the parent is, every footprint stays whole, and the parts tile the parent.
What the split job, the planner's preview and its edits run is `engines.splitter()`: the default
engine (the unit graph, gis.partition.graph) with its passes.
"""

# numpy loads these two on first use (np.unique asks numpy.ma whether its input is masked; the
# samples' jitter draws from numpy.random), about 30 ms of CPU inside a process's first split
# otherwise: imported with the engine, a split job's forked workers have them from the start
import numpy.ma  # noqa: F401
import numpy.random  # noqa: F401

from gis.partition.engine import SplitResult, choose_parts, split
from gis.partition.quality import polsby_popper

__all__ = ["SplitResult", "choose_parts", "polsby_popper", "split"]

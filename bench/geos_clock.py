"""The CPU spent inside GEOS, told apart from the Python and numpy around it.

Shapely's functions hand their work to GEOS through `shapely.lib` (its ufuncs and scalar
functions, looked up there at each call) and the STRtree's queries. `geos_clock` wraps every
one of them for the length of a `with` block, so that a bench can say how much of a stage's
CPU is geometry proper (what fewer or smaller overlays would save) and how much is the Python
and numpy that drive it (what a compiled or batched core would save). The wrapper adds one
Python call to each GEOS call (about a thousand a grid on the real sets), and the originals are
put back on leaving the block. With `sites`, each call's time is also booked to the function
under `sites` (a path prefix, e.g. the split's package) that made it, so a profile can name
the overlays that cost most.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import shapely.lib as lib
from shapely.strtree import STRtree

QUERIES = ("query", "query_nearest", "nearest", "dwithin")  # STRtree methods that call GEOS


@dataclass
class GeosTime:
    """CPU seconds spent in GEOS calls, and how many calls, since the clock started; with a
    `sites` prefix, the seconds per calling function ("module.function") under it."""

    seconds: float = 0.0
    calls: int = 0
    sites: str | None = None
    by_site: Counter = field(default_factory=Counter)

    def add(self, seconds: float) -> None:
        self.seconds += seconds
        self.calls += 1
        if self.sites is not None:
            self.by_site[_caller(self.sites)] += seconds


def _caller(prefix: str) -> str:
    """The innermost function on the stack whose file lies under `prefix`."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(prefix):
            module = path[len(prefix):].lstrip("/").removesuffix(".py").replace("/", ".")
            return f"{module}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "elsewhere"


class _Timed:
    """A GEOS function whose CPU time is added to `spent` (attributes pass through, so
    ufunc methods such as `.reduce` still work)."""

    def __init__(self, inner, spent: GeosTime):
        self._inner, self._spent = inner, spent

    def __call__(self, *args, **kwargs):
        t0 = time.process_time()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self._spent.add(time.process_time() - t0)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def _timed_method(inner, spent: GeosTime):
    """A method whose calls are timed as `_Timed`'s (a function, so it binds to instances)."""
    timed = _Timed(inner, spent)

    def method(self, *args, **kwargs):
        return timed(self, *args, **kwargs)

    return method


def _geos_functions() -> list[str]:
    return [name for name in dir(lib) if not name.startswith("_")
            and type(getattr(lib, name)).__name__ in ("ufunc", "builtin_function_or_method")]


@contextmanager
def geos_clock(sites: str | None = None) -> Iterator[GeosTime]:
    """Within the block, every GEOS call's CPU time adds up in the GeosTime yielded (and, with
    `sites`, per calling function under that path)."""
    spent = GeosTime(sites=sites)
    functions = {name: getattr(lib, name) for name in _geos_functions()}
    methods = {name: getattr(STRtree, name) for name in QUERIES if hasattr(STRtree, name)}
    try:
        for name, inner in functions.items():
            setattr(lib, name, _Timed(inner, spent))
        for name, inner in methods.items():
            setattr(STRtree, name, _timed_method(inner, spent))
        yield spent
    finally:
        for name, inner in functions.items():
            setattr(lib, name, inner)
        for name, inner in methods.items():
            setattr(STRtree, name, inner)

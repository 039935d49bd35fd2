"""One function of the split, timed against its own earlier version on the same calls.

A round that makes a stage of the split cheaper without changing what it returns is measured
here, where the whole split's CPU moves by more from run to run than the stage costs. Every
call the split makes to `--function` (module.name; gis.partition.taut.pulled_taut unless told)
while dividing the real sets (bench/real_city.py: the communities divided into grids and
those into micro-grids as the split job does it, `--level micro_grid`, every `--every`th
grid, 5 with `--quick`; or the communities into grids, `--level grid`) is recorded, with
copies of its arguments, and replayed `--rounds` times (3 with `--quick`) against the
function as it is and as it was at git revision `--against` (that revision's file of the
module, loaded beside today's: every other module is today's). The two run call by call in
turn, each on its own copy of the arguments, and which goes first alternates by round, so
the machine's drift and a geometry prepared by the first (shapely.prepare) fall on both
alike. Per city it prints the calls, those whose results differ (`differing`: geometries by
their WKB, arrays by their bytes, other values by repr), each side's CPU per call (the median
over rounds of the mean over calls, time.process_time) and the ratio of the two (none where
a call's result differs). Since the split job's batches (twenty-seventh round) the split's
last step at the micro level goes through gis.partition.taut.tautened_many, so there
`pulled_taut` is met only where a near miss's junctions move: time the last step with
`--function gis.partition.taut.tautened_many`, and `pulled_taut` with `--level grid`.

    .venv/bin/python bench/replay_bench.py --against REV [--function MODULE.NAME] [--quick]
        [--level micro_grid|grid] [--every N] [--rounds N] [--cities monaco,shanghai,wuhan]
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.growth_profile import city_level_jobs  # noqa: E402
from bench.real_city import city_parser  # noqa: E402
from importers.split_job import _split_one  # noqa: E402

Call = tuple[tuple, dict]


def fresh(value):
    """A copy of an argument a call may change in place (arrays, lists, dicts, tuples of
    them); geometries and other objects are shared (shapely's are immutable)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list | tuple):
        return type(value)(fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, set):
        return set(value)
    return value


def digest(value, into=None) -> str:
    """A hash of a result: geometries by WKB, arrays by dtype and bytes (object arrays item
    by item), containers and objects' fields in order, anything else by repr."""
    h = into or hashlib.sha256()
    if isinstance(value, BaseGeometry):
        h.update(shapely.to_wkb(value))
    elif isinstance(value, np.ndarray) and value.dtype != object:
        h.update(str(value.dtype).encode() + value.tobytes())
    elif isinstance(value, np.ndarray | list | tuple):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for v in value:
            digest(v, h)
    elif isinstance(value, dict):
        for k in sorted(value, key=repr):
            h.update(repr(k).encode())
            digest(value[k], h)
    elif hasattr(value, "__dict__"):
        digest(vars(value), h)
    else:
        h.update(repr(value).encode())
    return h.hexdigest()


def earlier(module: str, name: str, revision: str) -> Callable:
    """Function `name` of `module` as its file was at git `revision`, loaded as a module
    of its own (SystemExit where git has no such file)."""
    path = Path(*module.split(".")).with_suffix(".py").as_posix()
    got = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True,
                         text=True)
    if got.returncode:
        raise SystemExit(f"replay_bench: no {path} at {revision}: {got.stderr.strip()}")
    alias = f"replay_bench_{module.replace('.', '_')}_at_{revision.replace('~', '_')}"
    spec = importlib.util.spec_from_loader(alias, loader=None)
    old = importlib.util.module_from_spec(spec)
    sys.modules[alias] = old  # (dataclasses look their module up)
    try:
        exec(compile(got.stdout, f"{revision}:{path}", "exec"), old.__dict__)
    except ImportError as e:  # it needs a name another module has since dropped
        raise SystemExit(f"replay_bench: {module} at {revision} does not load beside "
                         f"today's modules: {e}") from None
    if not hasattr(old, name):
        raise SystemExit(f"replay_bench: {module} has no {name} at {revision}")
    return getattr(old, name)


def recorded(module: str, name: str, jobs: list[tuple], only_in: str | None = None
             ) -> list[Call]:
    """The calls (copies of their arguments) the split of `jobs` makes to `module`.`name`,
    wherever it was imported by name (with `only_in`, through that module's name only)."""
    target = getattr(importlib.import_module(module), name)
    calls: list[Call] = []

    def record(*args, **kwargs):
        calls.append((fresh(args), fresh(kwargs)))
        return target(*args, **kwargs)

    holders = [m for key, m in list(sys.modules.items())
               if key.split(".")[0] in ("gis", "importers") and getattr(m, name, None) is target
               and only_in in (None, key)]
    for m in holders:
        setattr(m, name, record)
    try:
        for job in jobs:
            _split_one(job)
    finally:
        for m in holders:
            setattr(m, name, target)
    return calls


def replayed(calls: list[Call], now: Callable, then: Callable, rounds: int
             ) -> tuple[int, float, float]:
    """(calls whose results differ, CPU seconds per call of `now` and of `then`: the median
    over `rounds` of the mean over calls)."""
    differing, spent = 0, {now: [], then: []}
    for r in range(rounds):
        total = {now: 0.0, then: 0.0}
        for args, kwargs in calls:
            results = {}
            for f in ((now, then) if r % 2 == 0 else (then, now)):
                a, k = fresh(args), fresh(kwargs)
                t = time.process_time()
                results[f] = f(*a, **k)
                total[f] += time.process_time() - t
            if r == 0 and digest(results[now]) != digest(results[then]):
                differing += 1
        for f in total:
            spent[f].append(total[f] / max(len(calls), 1))
    return differing, float(np.median(spent[now])), float(np.median(spent[then]))


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--against", required=True, help="git revision of the earlier version")
    ap.add_argument("--function", default="gis.partition.taut.pulled_taut")
    ap.add_argument("--level", choices=("micro_grid", "grid"), default="micro_grid")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--every", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    module, _, name = args.function.rpartition(".")
    try:
        importlib.import_module(module)
    except ModuleNotFoundError:
        raise SystemExit(f"replay_bench: no module {module!r}") from None
    then = earlier(module, name, args.against)
    every = args.every or (5 if args.quick else 1)
    rounds = args.rounds or (3 if args.quick else 5)
    line = []
    for city, _, jobs in city_level_jobs(args.cities, [args.level], every):
        calls = recorded(module, name, jobs)
        now = getattr(importlib.import_module(module), name)
        differing, now_s, then_s = replayed(calls, now, then, rounds)
        ratio = f" then/now={then_s / now_s:.2f}" if calls and not differing and now_s else ""
        line.append(f"{city}: calls={len(calls)} differing={differing} "
                    f"then_ms_per_call={1000 * then_s:.2f} now_ms_per_call={1000 * now_s:.2f}"
                    f"{ratio}")
        print(line[-1], flush=True)
    print(f"replay_bench ({args.function} now against {args.against}, {args.level}, "
          f"{rounds} rounds): " + " | ".join(line))


if __name__ == "__main__":
    main()

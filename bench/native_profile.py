"""Where the micro-grid split's CPU goes by library: GEOS, numpy, Python, shapely's wrappers.

bench/graph_profile.py times the split's stages and the CPU inside GEOS calls; what is not
GEOS it leaves as one remainder. This bench asks the question a compiled or batched core
answers: how much of the CPU is the geometry itself, and how much the numpy and Python that
drive it. Every grid of the real cities of bench/real_city.py (the communities divided into
grids as the split job does it; every third with `--quick`) is divided into micro-grids in the
split job's batches (importers.split_job), again until 10 s of CPU have gone (3 with
`--quick`), in a child process, which py-spy samples with its native frames (`py-spy record
--native`, the `profile` extra). Each sample taken inside the split is booked to the library
of the code it stood in: GEOS (libgeos), numpy (its compiled core), shapely (its C wrappers
round GEOS), Python (the interpreter and the split's own bytecode) or other; one in the C
library (malloc, memcpy) goes to the nearest library that called it. It prints, per city,
the samples and each library's share.

    .venv/bin/pip install -e '.[profile]'
    .venv/bin/python bench/native_profile.py [--quick] [--cities monaco,shanghai,wuhan]
        [--rate 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LIBRARIES = ("geos", "numpy", "python", "shapely", "other")
SYSTEM = ("libc.so", "libstdc++", "libm.so", "ld-linux", "libgcc_s")  # booked to the caller
SPLIT_FRAME = "_divided ("  # samples outside it (the city loaded, its grids made) are left out


def library_of(frame: str) -> str | None:
    """The library of one py-spy frame ("function (file:line)" or "symbol (library.so)"),
    None for the C library and its kin, whose time goes to their caller."""
    where = frame.rsplit(" (", 1)[-1] if " (" in frame else frame
    if any(name in where for name in SYSTEM):
        return None
    if "libgeos" in where:
        return "geos"
    if "_multiarray" in where or "numpy/" in where and ".so" in where:
        return "numpy"
    if "shapely/" in where and ".so" in where:
        return "shapely"
    if "libpython" in where or ".py:" in where or where.endswith(".py") or "<frozen" in where:
        return "python"
    return "other"


def booked(stack: str) -> str:
    """The library a sample's stack (frames outermost first, `;` between) is booked to: its
    innermost frame's, or where that is the C library, the nearest caller's."""
    for frame in reversed(stack.split(";")):
        library = library_of(frame)
        if library is not None:
            return library
    return "other"


def shares(raw: str) -> tuple[int, dict[str, float]]:
    """The split's samples in a py-spy raw profile (a stack and a count per line) and each
    library's share of them."""
    count: Counter = Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if SPLIT_FRAME in stack and n.isdigit():
            count[booked(stack)] += int(n)
    total = sum(count.values())
    return total, {lib: count[lib] / total if total else 0.0 for lib in LIBRARIES}


def divide(city: str, every: int, seconds: float) -> None:
    """The child: the city's micro-grid split jobs made (its communities divided into grids
    first), then divided (`_divided`)."""
    from bench.growth_profile import micro_jobs
    from bench.real_city import LOADERS

    _divided(micro_jobs(LOADERS[city](), "graph", every), seconds)


def _divided(jobs: list[tuple], seconds: float) -> None:
    """The micro-grid split jobs divided in the split job's batches, all of them again until
    `seconds` of CPU have gone (a small set gives few samples a round): the samples counted."""
    from importers.split_job import BATCH, _split_batch, batches

    start = time.process_time()
    while True:
        for batch in batches(jobs, BATCH):
            _split_batch(batch)
        if time.process_time() - start >= seconds:
            return


def sampled(city: str, every: int, seconds: float, rate: int, spy: str) -> str:
    """The py-spy raw profile of the child dividing `city`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{city}.raw"
        subprocess.run([spy, "record", "--native", "--rate", str(rate), "--format", "raw",
                        "--output", str(out), "--", sys.executable, __file__, "--child", city,
                        "--every", str(every), "--seconds", str(seconds)],
                       check=True, capture_output=True)
        return out.read_text()


def main() -> None:
    from bench.real_city import city_parser

    ap = city_parser(__doc__)
    ap.add_argument("--quick", action="store_true", help="every 3rd grid (--every 3)")
    ap.add_argument("--every", type=int, default=1, help="divide every Nth grid only")
    ap.add_argument("--rate", type=int, default=100,
                    help="samples a second (py-spy unwinds the native stacks at a cost: at "
                    "250 it takes the CPU and the child crawls)")
    ap.add_argument("--seconds", type=float, help="CPU seconds of division at least "
                    "(the grids divided again until then; default 10, 3 with --quick)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    every = 3 if args.quick else args.every
    seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 10.0)
    if args.child:
        divide(args.child, every, seconds)
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        sys.exit("native_profile: py-spy is not installed: .venv/bin/pip install -e '.[profile]'")
    fields = []
    for city in args.cities:
        total, share = shares(sampled(city, every, seconds, args.rate, spy))
        fields.append(f"{city}: samples={total} " + " ".join(
            f"{lib}={100 * share[lib]:.1f}%" for lib in LIBRARIES))
        print(fields[-1], flush=True)
    print("native_profile (CPU samples of the micro-grid split by library, py-spy --native): "
          + " | ".join(fields))


if __name__ == "__main__":
    main()

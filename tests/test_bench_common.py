"""The bench helpers: servers started and stopped as processes, and the layers bench's rules for
when a comparison is void and what tipg is asked for."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

from bench import common
from bench.layers_bench import problems, source_columns, tipg_tile


def test_server_starts_waits_and_stops_its_own_process() -> None:
    cmd = [sys.executable, "-c", "import sys, http.server; http.server.test("
           "http.server.SimpleHTTPRequestHandler, port=int(sys.argv[-1]), bind=sys.argv[-3])"]
    with common.Server("http-test", cmd, ready_path="/") as server:
        with urllib.request.urlopen(server.base + "/", timeout=10) as resp:
            assert resp.status == 200
        assert server.proc.poll() is None
    assert server.proc.poll() is not None


def test_server_that_dies_stops_the_bench_with_its_log() -> None:
    cmd = [sys.executable, "-c", "import sys; sys.exit('broken on purpose')"]
    with pytest.raises(SystemExit, match="broken on purpose"):
        common.Server("dying-test", cmd, timeout=20)


def test_a_run_with_errors_bad_answers_or_cut_short_voids_the_comparison() -> None:
    good = {"errors": 0, "bad_status": 0, "complete": True, "answers": 10, "expected": 10}
    assert problems({"ours_cold": good, "tipg_cold": good}) == []
    found = problems({"ours_cold": {**good, "errors": 2},
                      "tipg_warm": {**good, "bad_status": 5},
                      "tipg_cold": {**good, "complete": False, "answers": 7}})
    assert len(found) == 3 and any("7 of 10" in f for f in found)


def test_tipg_is_asked_for_exactly_the_columns_of_our_attributes() -> None:
    assert source_columns({"code": "t.code", "overdue": "(t.due_at < now() AND t.status IN "
                           "('x')) OR t.due_at IS NULL"}) == "code,due_at,status"
    url = tipg_tile(("buildings", 15, 1, 2))
    assert url.endswith("properties=code,households,floors")


@pytest.mark.parametrize("bench", ["tail_bench", "one_more_bench", "cut_bench", "split_bench",
                                   "power_bench", "footprint_bench", "noise_bench", "out_bound",
                                   "beside_bench", "graph_profile", "halves_bench",
                                   "replay_bench", "batch_bench"])
def test_a_real_city_bench_refuses_an_unknown_city_with_a_usage_message(bench) -> None:
    """A misspelt city stops the bench at once with the names it knows (exit 2), not with a
    KeyError after the cities before it were divided."""
    script = Path(__file__).resolve().parent.parent / "bench" / f"{bench}.py"
    extra = {"split_bench": ["--real"], "replay_bench": ["--against", "HEAD"]}.get(bench, [])
    run = subprocess.run([sys.executable, str(script), *extra, "--cities", "monaco,paris"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "unknown cities paris; choose from monaco, shanghai, wuhan" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_graph_profile_tells_the_geos_share_and_names_the_costliest_overlays() -> None:
    """On a few real grids the profile's line gives the CPU spent inside GEOS, a share of the
    whole (per grid and per kind of grid, each under its CPU), and `--sites` names the
    split's functions that made the GEOS calls, the unit graph's clipped regions among them."""
    import re

    script = Path(__file__).resolve().parent.parent / "bench" / "graph_profile.py"
    run = subprocess.run([sys.executable, str(script), "--cities", "wuhan", "--every", "5",
                          "--sites"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    figures = dict(re.findall(r"(\w+)=([\d.]+)%?", lines[-1]))
    cpu, geos = float(figures["cpu_ms_per_grid"]), float(figures["geos_ms"])
    assert 0 < geos < cpu
    assert abs(float(figures["geos_share"]) - 100 * geos / cpu) <= 1
    assert float(figures["engine_alone_geos_ms"]) <= float(figures["engine_alone_ms"])
    assert float(figures["others_geos_ms"]) <= float(figures["others_ms"])
    sites = [line.split()[0] for line in lines if line.startswith("  ") and "ms/grid" not in line]
    assert "cellgraph._clipped_regions" in sites
    assert all(site == "elsewhere" or ("." in site and not site.startswith("shapely"))
               for site in sites)  # booked to the split's own functions, not shapely's


def test_the_footprint_bench_keeps_the_households_and_puts_its_land_inside_the_parent() -> None:
    """The points' job holds the same households at points inside each footprint; the land's
    is a lattice inside the parent, about LAND_PER points a part, bounds round its share."""
    import numpy as np
    import shapely

    from bench.footprint_bench import LAND_PER, land_job, points_job

    parent = shapely.box(121.0, 31.0, 121.004, 31.003)  # about 380 x 330 m
    feet = [shapely.box(121.0005 + 0.001 * i, 31.001, 121.0012 + 0.001 * i, 31.0016)
            for i in range(3)]
    job = (parent.wkb, [f.wkb for f in feet], [40, 35, 12], [], 30, 50, 0, "graph")
    points = points_job(job)
    at = shapely.from_wkb(np.asarray(points[1], dtype=object))
    assert list(shapely.get_type_id(at)) == [0, 0, 0]
    assert all(shapely.contains(f, p) for f, p in zip(feet, at, strict=True))
    assert points[2:] == job[2:]
    land = land_job(job, parts=4)
    lattice = shapely.from_wkb(np.asarray(land[1], dtype=object))
    assert shapely.contains(parent, lattice).all()
    assert abs(len(lattice) - 4 * LAND_PER) <= 0.15 * 4 * LAND_PER
    share = len(lattice) / 4
    assert land[2] == [1] * len(lattice)
    assert land[4] < share < land[5] and land[5] - land[4] <= 0.25 * share
    assert land[0] == job[0] and land[6:] == job[6:]


@pytest.mark.parametrize("bench", ["power_bench", "footprint_bench", "noise_bench"])
def test_a_two_level_bench_refuses_an_unknown_level_with_a_usage_message(bench) -> None:
    """A misspelt level stops the bench at once with the levels it knows (exit 2)."""
    script = Path(__file__).resolve().parent.parent / "bench" / f"{bench}.py"
    run = subprocess.run([sys.executable, str(script), "--levels", "grid,street"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "unknown levels street; choose from grid, micro_grid" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_footprint_bench_carves_each_footprint_whole_into_its_buildings_part() -> None:
    """`carved` gives a footprint across the points' boundary to its building's part and
    cuts it from the other; a part a footprint cuts in two counts as come apart."""
    import numpy as np
    import shapely

    from bench.footprint_bench import carved
    from gis.partition.quality import metric_scale, polsby_popper

    parent = shapely.box(0, 0, 100, 50)
    left, right = shapely.box(0, 0, 50, 50), shapely.box(50, 0, 100, 50)
    across = shapely.box(40, 20, 60, 30)  # building 0, in the left part
    wall = shapely.box(70, -5, 75, 55)  # building 1, in the left part: cuts the right in two
    job = (parent.wkb, [across.wkb, wall.wkb], [30, 30], [], 30, 50, 0, "graph")
    result = ([left.wkb, right.wkb], [0, 0], [60, 0], [0.7, 0.7])
    pp, apart = carved(job, result)
    assert apart == 2  # the left part with the wall in two pieces, the right cut in two
    result = ([left.wkb, right.wkb], [0, 1], [30, 30], [0.7, 0.7])
    pp, apart = carved(job, result)
    assert apart == 0 and len(pp) == 2
    plain = polsby_popper([left, right], metric_scale(parent))
    assert np.all(pp < plain)  # a bump on the left part, a notch in the right one


def test_the_noise_bench_moves_every_coordinate_by_a_hair_and_keeps_what_rounding_breaks(
) -> None:
    """A rounded copy moves each point by at most half the lattice step, moves some, leaves
    households, bounds and engine alone and rounds the streets too; a copy in which a
    footprint would collapse (no longer a valid polygon) keeps the job as given."""
    import numpy as np
    import shapely

    from bench.noise_bench import DIGITS, noisy_job

    parent = shapely.box(7.4212345678912, 43.7312345678912, 7.4262345678912, 43.7352345678912)
    feet = [shapely.box(7.4222345678912 + 0.001 * i, 43.7322345678912,
                        7.4228345678912 + 0.001 * i, 43.7328345678912) for i in range(3)]
    street = shapely.LineString([(7.4212345678912, 43.733), (7.4262345678912, 43.733)])
    job = (parent.wkb, [f.wkb for f in feet], [40, 35, 12], [street.wkb], 30, 50, 0, "graph")
    shift = 0.3 * 10.0 ** -DIGITS
    copy, used = noisy_job(job, shift)
    assert used and copy[2:3] == job[2:3] and copy[4:] == job[4:]
    before = shapely.get_coordinates(shapely.from_wkb(np.asarray([job[0], *job[1], *job[3]],
                                                                 dtype=object)))
    after = shapely.get_coordinates(shapely.from_wkb(np.asarray([copy[0], *copy[1], *copy[3]],
                                                                dtype=object)))
    moved = np.abs(after - before)
    assert moved.max() <= 0.5 * 10.0 ** -DIGITS + 1e-15 and moved.max() > 0
    sliver = shapely.Polygon([(7.4230, 43.7330), (7.4240, 43.7330), (7.4235, 43.7330 + 1e-11)])
    assert sliver.is_valid
    broken = (job[0], [*job[1], sliver.wkb], [40, 35, 12, 0], job[3], *job[4:])
    copy, used = noisy_job(broken, shift)
    assert not used and copy == broken


def test_the_noise_bench_refuses_fewer_than_one_copy_with_a_usage_message() -> None:
    """`--copies 0` would compare the set with nothing: a usage error (exit 2) at once."""
    script = Path(__file__).resolve().parent.parent / "bench" / "noise_bench.py"
    run = subprocess.run([sys.executable, str(script), "--copies", "0", "--cities", "wuhan"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "--copies must be at least 1" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_tail_bench_switches_a_stage_group_off_together_and_restores_it(monkeypatch) -> None:
    """`--stages tail` divides each grid once with every tail stage and once with all of them
    off at the same time (the engine's division with its passes alone), then puts every
    setting back as it was, even where a division fails."""
    from bench import tail_bench
    from gis.partition import engines

    tail = [tail_bench.STAGES[s] for s in tail_bench.TOGETHER["tail"]]
    seen = []

    def recording_split(job):
        seen.append(tuple(getattr(m, name) is off for m, name, off in tail))
        if len(seen) == 3:
            raise RuntimeError("a division fails")
        return (b"", [0], [40], [1.0]), 0.01

    monkeypatch.setattr(tail_bench, "timed_split", recording_split)
    before = [getattr(m, name) for m, name, _ in tail]
    with pytest.raises(RuntimeError):
        tail_bench.with_and_without([None, None], *tail[0], also=tuple(tail[1:]))
    assert seen[:2] == [(False,) * 5, (True,) * 5]  # on, then all off; the next grid off first
    assert seen[2] == (True,) * 5
    assert [getattr(m, name) for m, name, _ in tail] == before
    assert engines.RESPLIT_LAST is True and engines.NEAR_MISSES_LAST is True


def test_the_tail_bench_puts_the_graph_engine_in_the_cuts_place_in_the_resplit(monkeypatch) -> None:
    """`--stages cluster_cuts` divides each grid once with the re-split's engines as they are
    (the straight cuts first) and once with the graph engine's division, with its passes, in
    the cuts' place and the groupings' after it, then puts the engines back."""
    from bench import tail_bench
    from gis.partition import engines, graph

    as_is = engines.GRAPH_SUBSPLITS
    seen = []

    def recording_split(job):
        seen.append(engines.GRAPH_SUBSPLITS)
        return (b"", [0], [40], [1.0]), 0.01

    monkeypatch.setattr(tail_bench, "timed_split", recording_split)
    monkeypatch.setattr(tail_bench, "feasible_out", lambda job, result: 0)
    tail_bench.with_and_without([None], *tail_bench.STAGES["cluster_cuts"])
    assert seen == [as_is, tail_bench.GRAPH_FOR_CUTS]
    assert engines.GRAPH_SUBSPLITS is as_is
    instead = tail_bench.GRAPH_FOR_CUTS
    assert instead[1:] == as_is[1:] and instead[0] is not as_is[0]
    assert instead[0].__doc__ == graph.split.__doc__  # the engine it wraps
    parent = box(0, 0, 100, 40)  # ten buildings of 20 households in a row: five parts of 40
    buildings = [box(4 + 10 * i, 15, 8 + 10 * i, 25) for i in range(10)]
    drawn = instead[0](parent, buildings, [20] * 10, geographic=False)
    engine_own = graph.split(parent, buildings, [20] * 10, geographic=False)
    assert sorted(drawn.households) == sorted(engine_own.households) == [40] * 5


def test_the_tail_bench_books_a_stages_cost_to_the_grids_it_changes_and_those_it_leaves(
        monkeypatch) -> None:
    """What a stage costs is split between the grids whose division it changes and the others
    (both per grid of the whole set), so the two add up to the difference of the means."""
    from bench import tail_bench
    from gis.partition import engines

    def split(job):  # grid 0: changed by the stage at 50 ms; grid 1: left as it was at 20 ms
        on = engines.RESPLIT_LAST
        parts = [b"a"] if job == 0 and on else [b"b"]
        seconds = {(0, True): 0.060, (0, False): 0.010, (1, True): 0.030, (1, False): 0.010}
        return (parts, [0], [40], np.array([0.5])), seconds[(job, on)]

    monkeypatch.setattr(tail_bench, "timed_split", split)
    monkeypatch.setattr(tail_bench, "feasible_out", lambda job, result: 0)
    f = tail_bench.with_and_without([0, 1], *tail_bench.STAGES["resplit"])
    assert f["changed"] == 1
    assert f["changed_ms"] == pytest.approx(25.0) and f["vain_ms"] == pytest.approx(10.0)
    assert f["changed_ms"] + f["vain_ms"] == pytest.approx(f["on"]["mean_ms"] - f["off"]["mean_ms"])
    assert "changed_ms=25.0 vain_ms=10.0" in tail_bench.field("resplit", f)


def test_the_tail_bench_refuses_an_unknown_stage_naming_the_groups_too() -> None:
    """A misspelt stage stops the tail bench at once (exit 2) with every name it takes, the
    stages switched off together (`tail`) among them, before any city is loaded."""
    script = Path(__file__).resolve().parent.parent / "bench" / "tail_bench.py"
    run = subprocess.run([sys.executable, str(script), "--stages", "tial"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "unknown stage tial; choose from resplit," in run.stderr
    assert run.stderr.rstrip().endswith(", tail")
    assert "Traceback" not in run.stderr


def test_the_halves_bench_finds_the_closed_form_screen_right_on_real_pairs() -> None:
    """On real Wuhan micro-grids the closed-form screen of a pair's union agrees with exact
    overlays at every position (`mismatches=0`), and the line gives a ratio only then."""
    import re

    script = Path(__file__).resolve().parent.parent / "bench" / "halves_bench.py"
    run = subprocess.run([sys.executable, str(script), "--cities", "wuhan", "--every", "8"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip().splitlines()[-1]
    figures = dict(re.findall(r"(\w+)=([\w.]+)", line))
    assert int(figures["pairs"]) > 0 and int(figures["positions"]) == int(figures["pairs"]) * 768
    assert figures["mismatches"] == "0"
    assert re.search(r"clip/closed=\d+\.\d", line)


def test_the_replay_bench_times_a_function_against_its_own_earlier_version() -> None:
    """Replayed against the last commit on a real Wuhan community divided into grids, the
    taut step's calls (where the grids' junctions move) return what they returned then
    (`differing=0`) and the line gives the ratio of the two CPUs."""
    import re

    script = Path(__file__).resolve().parent.parent / "bench" / "replay_bench.py"
    run = subprocess.run([sys.executable, str(script), "--against", "HEAD", "--cities", "wuhan",
                          "--level", "grid", "--every", "4", "--rounds", "1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip().splitlines()[-1]
    figures = dict(re.findall(r"(\w+)=([\w.]+)", line))
    assert line.startswith("replay_bench (gis.partition.taut.pulled_taut now against HEAD")
    assert int(figures["calls"]) > 0 and figures["differing"] == "0"
    assert re.search(r"then/now=\d+\.\d\d", line)


def test_the_replay_bench_counts_calls_whose_results_differ_and_gives_them_no_ratio() -> None:
    """A result that moved by a millimetre, or whose array changed, counts as differing;
    copies of the arguments keep a call that changes them in place from changing the other
    side's; a revision without the module stops with a message."""
    from shapely.geometry import box

    from bench.replay_bench import earlier, replayed

    def now(parts, assignment):
        assignment[0] = 7  # in place: the other side must not see it
        return [box(0, 0, 1, 1)], assignment

    def then(parts, assignment):
        return [box(0, 0, 1, 1.000001)], assignment

    def same(parts, assignment):
        assignment[0] = 7
        return [box(0, 0, 1, 1)], assignment

    calls = [((["x"], np.arange(3)), {}), ((["y"], np.arange(4)), {})]
    assert replayed(calls, now, then, 1)[0] == 2
    assert replayed(calls, now, same, 2)[0] == 0
    assert calls[0][0][1].tolist() == [0, 1, 2]
    with pytest.raises(SystemExit, match="no gis/partition/taut.py at"):
        earlier("gis.partition.taut", "pulled_taut", "0000000")


def test_the_batch_bench_sweeps_many_grids_at_once_into_the_same_runs() -> None:
    """On real Wuhan grids the taut step's sweeps of all grids in one go give every run the
    path it gets grid by grid (`same=True`), and only then the line gives a ratio."""
    import re

    script = Path(__file__).resolve().parent.parent / "bench" / "batch_bench.py"
    run = subprocess.run([sys.executable, str(script), "--cities", "wuhan", "--every", "4",
                          "--rounds", "1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    line = run.stdout.strip().splitlines()[-1]
    figures = dict(re.findall(r"(\w+)=([\w.]+)", line))
    assert int(figures["grids"]) > 1 and int(figures["runs"]) > 0
    assert figures["same"] == "True"
    assert re.search(r"one_by_one/at_once=\d+\.\d\d", line)

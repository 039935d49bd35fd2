"""No lost or duplicated write while PostgreSQL restarts under load (short version of the bench)."""

from __future__ import annotations

import math

from bench.fault_bench import run


def test_restart_under_load_loses_and_duplicates_nothing() -> None:
    figures = run(clients=6, per_client=30, restart_after=1.5)
    assert figures["accepted"] == figures["requested"]
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["5xx"] == 0  # during the outage: 503 with Retry-After, never a 500
    assert figures["missing_retry_after"] == 0
    assert not math.isnan(figures["recover_s"])  # the API served again after the restart


def test_api_killed_mid_load_loses_and_duplicates_nothing() -> None:
    from bench.fault_bench import run_kill

    figures = run_kill(clients=6, per_client=30, interval=0.1, kill_after=1.5)
    print(f"\nkill -9: {figures}")
    assert figures["load_ended_after_restart"]  # the load outlived the restart
    assert figures["met_fault_pct"] >= 20  # not one unlucky request: a fifth of the load
    assert figures["accepted"] == figures["requested"]
    assert figures["lost"] == 0 and figures["unstored"] == 0
    assert figures["duplicated"] == 0
    assert figures["other_answers"] == 0

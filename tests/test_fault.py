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

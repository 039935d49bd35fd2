"""Every route has a declared access rule and a test that exercises it.

The table below is the contract: walking app.routes, a route missing from it (a new path that
could skip confinement), an entry for a route that is gone, or an entry naming a test that does
not exist fails here. Each rule is also checked against the running app: a route that needs a
caller answers 401 without a token, a public one does not. A new route therefore needs an entry
(its rule and the test proving its confinement) before the suite passes.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import _IncludedRouter

TESTS = Path(__file__).resolve().parent
PUBLIC = "public"
CALLER = "any caller; rows confined to the caller's areas"
PLANNER = "planner or admin; a bound planner only inside the bound areas"
WORKER = "worker; their own patrols, points inside their areas"
REPORTER = "admin, commander or worker; inside their areas"
ADMIN = "admin"
FEED = "any caller; token and areas re-checked while open"

# the tests that prove each rule
OGC_1 = "test_ogc.py::test_landing_and_conformance_are_public"
ABUSE_1 = "test_abuse.py::test_five_failures_per_username_then_429_even_for_the_right_password"
SECURITY_1 = "test_security.py::test_revoke_presented_token"
ACCESS_1 = "test_access.py::test_ogc_items_with_a_bbox_over_the_district"
SCHEMATHESIS_1 = "test_schemathesis.py::test_every_operation_every_role_no_5xx_and_conforming"
ACCESS_2 = "test_access.py::test_tiles_over_the_district_hold_only_what_the_role_may_see"
TILES_1 = "test_tiles.py::test_tilejson_and_ogc_tiles"
ACCESS_3 = "test_access.py::test_incident_endpoints_by_role"
INCIDENTS_1 = "test_incidents.py::test_batch_is_all_or_nothing"
CONFINEMENT_1 = "test_confinement.py::test_the_live_feed_ends_within_a_second_when_its_grounds_go"
PATROLS_1 = "test_patrols.py::test_only_workers_patrol_and_only_their_own"
PATROLS_2 = "test_patrols.py::test_points_outside_the_workers_areas_are_refused"
PATROLS_3 = "test_patrols.py::test_a_patrol_from_start_to_track_and_coverage"
CONFINEMENT_2 = ("test_confinement.py::"
                 "test_a_patrol_shows_only_the_points_and_micro_grids_in_your_scope")
CONFINEMENT_3 = ("test_confinement.py::"
                 "test_stats_for_an_area_outside_your_scope_answer_like_an_unknown_code")
STATS_1 = "test_stats.py::test_density_counts_cells_in_scope"
PLAN_SCOPE_1 = "test_plan_scope.py::test_plans_and_areas_outside_a_planners_binding_are_not_there"
PLAN_SCOPE_2 = "test_plan_scope.py::test_undo_of_a_resplit_outside_the_binding_is_refused"
PAGES_1 = "test_pages.py::test_expired_token_shows_login"
PAGES_2 = "test_pages.py::test_command_center"
PAGES_3 = "test_pages.py::test_worker_reports_and_commander_runs_the_case"
PAGES_4 = "test_pages.py::test_planner_colours_previews_and_validates"
PAGES_5 = "test_pages.py::test_worker_without_assignment_sees_a_message"
ABUSE_2 = "test_abuse.py::test_unauthenticated_writes_are_counted_not_audited"

ACCESS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/openapi.json"): (PUBLIC, OGC_1),
    ("GET", "/docs"): (PUBLIC, OGC_1),
    ("GET", "/redoc"): (PUBLIC, OGC_1),
    ("POST", "/auth/token"): (PUBLIC, ABUSE_1),
    ("POST", "/auth/revoke"): (CALLER, SECURITY_1),
    ("GET", "/"): (PUBLIC, OGC_1),
    ("GET", "/conformance"): (PUBLIC, OGC_1),
    ("GET", "/collections"): (CALLER, ACCESS_1),
    ("GET", "/collections/{collection_id}"): (CALLER, ACCESS_1),
    ("GET", "/collections/{collection_id}/schema"): (CALLER, SCHEMATHESIS_1),
    ("GET", "/collections/{collection_id}/items"): (CALLER, ACCESS_1),
    ("GET", "/collections/{collection_id}/items/{feature_id}"): (CALLER, ACCESS_1),
    ("GET", "/tiles/{layer_id}/{z}/{x}/{y}.pbf"): (CALLER, ACCESS_2),
    ("GET", "/tiles/{layer_id}.json"): (CALLER, TILES_1),
    ("GET", "/tileMatrixSets"): (PUBLIC, TILES_1),
    ("GET", "/tileMatrixSets/{tms_id}"): (PUBLIC, TILES_1),
    ("GET", "/collections/{collection_id}/tiles"): (CALLER, TILES_1),
    ("GET", "/collections/{collection_id}/tiles/{tms_id}"): (CALLER, TILES_1),
    ("GET", "/collections/{collection_id}/tiles/{tms_id}/{z}/{y}/{x}"): (CALLER, TILES_1),
    ("GET", "/incidents/categories"): (CALLER, SCHEMATHESIS_1),
    ("POST", "/incidents"): (REPORTER, ACCESS_3),
    ("POST", "/incidents/batch"): (REPORTER, INCIDENTS_1),
    ("GET", "/incidents"): (CALLER, ACCESS_3),
    ("GET", "/incidents/feed"): (FEED, CONFINEMENT_1),
    ("POST", "/incidents/{incident_id}/transitions"): (REPORTER, ACCESS_3),
    ("POST", "/patrols"): (WORKER, PATROLS_1),
    ("POST", "/patrols/{patrol_id}/points"): (WORKER, PATROLS_2),
    ("POST", "/patrols/{patrol_id}/end"): (WORKER, PATROLS_1),
    ("GET", "/patrols/coverage"): (CALLER, PATROLS_3),
    ("GET", "/patrols/{patrol_id}"): (CALLER, CONFINEMENT_2),
    ("GET", "/stats"): (CALLER, CONFINEMENT_3),
    ("GET", "/stats/density"): (CALLER, STATS_1),
    ("POST", "/plans"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/plans"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/plans/{plan_id}"): (PLANNER, PLAN_SCOPE_1),
    ("POST", "/plans/{plan_id}/edits"): (PLANNER, PLAN_SCOPE_1),
    ("DELETE", "/plans/{plan_id}/edits/last"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/plans/{plan_id}/preview"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/plans/{plan_id}/validate"): (PLANNER, PLAN_SCOPE_1),
    ("POST", "/plans/{plan_id}/publish"): (PLANNER, PLAN_SCOPE_1),
    ("POST", "/plans/{plan_id}/discard"): (PLANNER, PLAN_SCOPE_1),
    ("POST", "/plans/undo"): (PLANNER, PLAN_SCOPE_2),
    ("GET", "/areas/{level}/{code}"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/validate/{level}/{code}"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/history/{level}/{code}"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/history/{level}/{code}/diff"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/plans/{plan_id}/tiles/{layer}/{z}/{x}/{y}.pbf"): (PLANNER, PLAN_SCOPE_1),
    ("GET", "/login"): (PUBLIC, PAGES_1),
    ("GET", "/map"): (PUBLIC, PAGES_2),
    ("GET", "/map/me"): (PUBLIC, PAGES_3),
    ("GET", "/map/plan"): (PUBLIC, PAGES_4),
    ("GET", "/map/context"): (CALLER, PAGES_5),
    ("GET", "/map/plan/checks"): (PLANNER, PAGES_4),
    ("POST", "/map/plan/preview-split"): (PLANNER, PAGES_4),
    ("GET", "/favicon.ico"): (PUBLIC, PAGES_2),
    ("GET", "/docs/oauth2-redirect"): (PUBLIC, OGC_1),
    ("GET", "/incidents/{incident_id}"): (CALLER, ACCESS_3),
    ("GET", "/metrics"): (ADMIN, ABUSE_2),
}
SAMPLE = {"collection_id": "grids", "feature_id": "1", "layer_id": "grids", "z": "14", "x": "0",
          "y": "0", "tms_id": "WebMercatorQuad", "incident_id": "1", "patrol_id": "1",
          "plan_id": "1", "level": "grid", "code": "330199001001001", "layer": "grids"}


def _routes(routes):
    for route in routes:
        if isinstance(route, _IncludedRouter):
            yield from _routes(route.original_router.routes)
        elif getattr(route, "methods", None):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, route.path


def _test_exists(ref: str) -> bool:
    module, _, name = ref.partition("::")
    path = TESTS / module
    return path.exists() and re.search(rf"^def {name}\(", path.read_text(), re.M) is not None


def test_every_route_declares_its_access_and_a_test(app) -> None:
    routes = set(_routes(app.routes))
    assert sorted(routes - set(ACCESS)) == [], "routes without an access rule and a test"
    assert sorted(set(ACCESS) - routes) == [], "access rules for routes that are gone"
    missing = sorted(ref for _, ref in ACCESS.values() if not _test_exists(ref))
    assert missing == [], "access rules naming tests that do not exist"


def test_each_declared_rule_holds_without_a_token(client) -> None:
    wrong = []
    for (method, path), (rule, _) in sorted(ACCESS.items()):
        url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
        kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        status = client.request(method, url, **kwargs).status_code
        if (rule == PUBLIC) == (status == 401):
            wrong.append((method, path, rule, status))
    assert wrong == []

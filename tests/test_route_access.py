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

import pytest
from fastapi.routing import _IncludedRouter

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

TESTS = Path(__file__).resolve().parent
PUBLIC = "public"
CALLER = "any caller; rows confined to the caller's areas"
PLANNER = "planner or admin; a bound planner only inside the bound areas"
WORKER = "worker; their own patrols, points inside their areas"
REPORTER = "admin, commander or worker; inside their areas"
ADMIN = "admin"
FEED = "any caller; token and areas re-checked while open"
MANAGER = "admin, or a commander inside its jurisdiction (403 outside)"
COMMANDER = "admin or commander; cases inside their areas"
OWN_KEYS = "any caller (not by API key); only their own keys"
RATING_LINK = "public; the one-time, expiring link token is the credential (410 when used)"
MY_WORK = "worker; only their own cases, reports and patrols, and areas inside their own"
KEY_READ = "any caller or read-only API key; rows confined to the caller's areas"

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
KEYS_1 = "test_apikeys.py::test_key_is_shown_once_listed_without_secret_and_stored_hashed"
KEYS_2 = "test_apikeys.py::test_revoked_expired_wrong_keys_are_401"
KEYS_3 = "test_apikeys.py::test_key_reads_the_ogc_api_and_tiles_in_the_accounts_scope"
ACCOUNT_PAGE = "test_account_page.py::test_planner_creates_uses_and_revokes_a_key"
PEOPLE_JOURNEY = ("test_people_journeys.py::"
                  "test_a_case_with_real_people_from_roster_to_resident_rating")
PEOPLE_1 = "test_people.py::test_a_street_commander_manages_only_its_jurisdiction"
PEOPLE_2 = "test_people.py::test_ending_an_assignment_today_ends_access_at_once"
PEOPLE_3 = "test_people.py::test_api_import_reports_rows_and_respects_jurisdiction"
PEOPLE_4 = "test_people.py::test_role_and_department_labels_are_for_managers_only"
PEOPLE_5 = "test_people.py::test_departments_with_their_own_login"
BASEMAP_1 = "test_basemap.py::test_labels_for_the_view"
EXPORTS_1 = "test_exports.py::test_a_worker_exports_only_their_area"
FILTER_1 = "test_ogc_filter.py::test_conformance_and_queryables_declare_the_filter"
MBTILES_1 = "test_mbtiles.py::test_get_mbtiles_in_the_callers_scope"
PMTILES_1 = "test_pmtiles.py::test_get_pmtiles_in_the_callers_scope"
SUPERVISION_1 = ("test_supervision.py::"
                 "test_overdue_cases_escalate_by_rule_to_the_street_then_the_district")
SUPERVISION_2 = "test_supervision.py::test_urge_needs_a_note_is_an_event_and_reaches_the_assignee"
SUPERVISION_3 = "test_supervision.py::test_rating_links_are_for_closed_cases_and_commanders"
SUPERVISION_4 = "test_supervision.py::test_a_phone_follow_up_stands_in_for_the_link"
SUPERVISION_5 = "test_supervision.py::test_a_rating_link_works_once_without_login_then_is_gone"
DISPATCH_1 = ("test_dispatch.py::"
              "test_suggestions_list_grid_workers_first_then_the_streets_departments")
PHOTOS_1 = "test_worker_api.py::test_photos_follow_the_incident_access_rule"
WORKER_1 = "test_worker_api.py::test_tasks_responsible_and_history"
WORKER_2 = "test_worker_api.py::test_manifest_and_service_worker_are_served"
SITUATION_1 = "test_situation.py::test_live_positions_show_the_last_ten_minutes"
SITUATION_2 = "test_situation.py::test_unpatrolled_equals_the_micro_grids_without_points"
SITUATION_3 = "test_situation.py::test_staffing_gaps"
SITUATION_4 = "test_situation.py::test_an_areas_people_cases_and_rates"
STATS_RATES_1 = ("test_stats_rates.py::"
                 "test_an_area_outside_the_callers_scope_answers_like_an_unknown_one")
STATS_EXPORTS_1 = "test_stats_exports.py::test_month_report_bad_input"
STATS_PAGE_1 = "test_stats_page.py::test_month_report_prints_on_a4"

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
    ("GET", "/collections/{collectionId}/items"): (KEY_READ, ACCESS_1),
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
    # API keys and the account page
    ("GET", "/account"): (PUBLIC, ACCOUNT_PAGE),
    ("GET", "/account/keys"): (OWN_KEYS, KEYS_1),
    ("POST", "/account/keys"): (OWN_KEYS, KEYS_1),
    ("DELETE", "/account/keys/{key_id}"): (OWN_KEYS, KEYS_2),
    # GIS interop: queryables, exports, MBTiles, basemap labels
    ("GET", "/collections/{collection_id}/queryables"): (CALLER, FILTER_1),
    ("GET", "/collections/{collectionId}/export"): (KEY_READ, EXPORTS_1),
    ("GET", "/exports/tiles/{code}.mbtiles"): (KEY_READ, MBTILES_1),
    ("GET", "/exports/tiles/{code}.pmtiles"): (KEY_READ, PMTILES_1),
    ("GET", "/basemap/labels"): (CALLER, BASEMAP_1),
    # people, dispatch, supervision and evaluation
    ("GET", "/admin/people"): (PUBLIC, PEOPLE_JOURNEY),
    ("GET", "/people"): (MANAGER, PEOPLE_1),
    ("GET", "/people/options"): (MANAGER, PEOPLE_4),
    ("GET", "/people/areas"): (MANAGER, PEOPLE_5),
    ("POST", "/people/workers"): (MANAGER, PEOPLE_1),
    ("GET", "/people/workers/{worker_id}"): (MANAGER, PEOPLE_1),
    ("PATCH", "/people/workers/{worker_id}"): (MANAGER, PEOPLE_1),
    ("POST", "/people/workers/{worker_id}/assignments"): (MANAGER, PEOPLE_1),
    ("POST", "/people/assignments/{assignment_id}/end"): (MANAGER, PEOPLE_2),
    ("POST", "/people/departments"): (MANAGER, PEOPLE_1),
    ("PATCH", "/people/departments/{dept_id}"): (MANAGER, PEOPLE_1),
    ("POST", "/people/import"): (MANAGER, PEOPLE_3),
    ("GET", "/incidents/{incident_id}/assignees"): (COMMANDER, DISPATCH_1),
    ("POST", "/incidents/escalate"): (COMMANDER, SUPERVISION_1),
    ("POST", "/incidents/{incident_id}/urge"): (COMMANDER, SUPERVISION_2),
    ("POST", "/incidents/{incident_id}/rating-link"): (COMMANDER, SUPERVISION_3),
    ("POST", "/incidents/{incident_id}/follow-up"): (COMMANDER, SUPERVISION_4),
    ("GET", "/rate/{token}"): (RATING_LINK, SUPERVISION_5),
    ("GET", "/rate/{token}/case"): (RATING_LINK, SUPERVISION_5),
    ("POST", "/rate/{token}"): (RATING_LINK, SUPERVISION_5),
    # the worker app
    ("GET", "/incidents/{incident_id}/photos"): (CALLER, PHOTOS_1),
    ("POST", "/incidents/{incident_id}/photos"): (REPORTER, PHOTOS_1),
    ("GET", "/incidents/{incident_id}/photos/{photo_id}"): (CALLER, PHOTOS_1),
    ("GET", "/map/me/tasks"): (MY_WORK, WORKER_1),
    ("GET", "/map/me/responsible"): (MY_WORK, WORKER_1),
    ("GET", "/map/me/history"): (MY_WORK, WORKER_1),
    ("GET", "/map/me/manifest.webmanifest"): (PUBLIC, WORKER_2),
    ("GET", "/map/me/sw.js"): (PUBLIC, WORKER_2),
    # the planner workbench
    ("GET", "/map/plan/area/{level}/{code}"): (PLANNER, PLAN_SCOPE_1),
    # statistics page, reports and the live situation
    ("GET", "/stats/series"): (CALLER, STATS_RATES_1),
    ("GET", "/stats/export"): (KEY_READ, STATS_RATES_1),
    ("GET", "/stats/month-report"): (KEY_READ, STATS_EXPORTS_1),
    ("GET", "/stats/report"): (PUBLIC, STATS_PAGE_1),
    ("GET", "/map/live-positions"): (COMMANDER, SITUATION_1),
    ("GET", "/map/unpatrolled"): (CALLER, SITUATION_2),
    ("GET", "/map/staffing"): (CALLER, SITUATION_3),
    ("GET", "/map/areas-at"): (CALLER, SITUATION_4),
    ("GET", "/map/area/{code}"): (CALLER, SITUATION_4),
}
SAMPLE = {"collection_id": "grids", "feature_id": "1", "layer_id": "grids", "z": "14", "x": "0",
          "y": "0", "tms_id": "WebMercatorQuad", "incident_id": "1", "patrol_id": "1",
          "plan_id": "1", "level": "grid", "code": "330199001001001", "layer": "grids",
          "collectionId": "grids", "key_id": "1", "worker_id": "1", "assignment_id": "1",
          "dept_id": "1", "photo_id": "1", "token": "not-a-link"}


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
        if rule.startswith(PUBLIC) == (status == 401):
            wrong.append((method, path, rule, status))
    assert wrong == []

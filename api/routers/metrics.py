"""Process counters for operators: refused logins and unauthenticated writes left out of the
audit log (per API process)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api.deps import require_roles
from gis.scope import Principal

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="This process's abuse counters (admin)")
async def metrics(request: Request, _: Principal = Depends(require_roles("admin"))) -> dict:
    """`unauthenticated_writes`: write requests without a valid token (not in the audit log);
    `logins_refused`: logins answered 429."""
    state = request.app.state
    guard = getattr(state, "login_guard", None)
    return {"unauthenticated_writes": getattr(state, "audit_skipped", 0),
            "logins_refused": guard.refused if guard is not None else 0}

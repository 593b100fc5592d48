"""`GET /healthz`: 200 when Temporal answers, else 503 with Retry-After."""

from __future__ import annotations

from fastapi import APIRouter, Response

from starters.deps import SettingsDep, TemporalDep
from starters.models import Health

router = APIRouter()


@router.get("/healthz", responses={503: {"description": "Temporal unreachable"}})
async def healthz(response: Response, temporal: TemporalDep, settings: SettingsDep) -> Health:
    ok, detail = await temporal.healthy()
    if not ok:
        response.status_code = 503
        response.headers["Retry-After"] = str(settings.retry_after_seconds)
    return Health(status="ok" if ok else "degraded", temporal=detail)

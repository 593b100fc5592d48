"""`GET /healthz`: each dependency's state (Temporal, the records database), 200 when both
answer, else 503 with Retry-After and the ones down named; `GET /livez`: 200 while the
process serves HTTP, for a load balancer (docs/http.md, Health checks)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from records.database import Database
from starters.deps import RecordsDep, SettingsDep, TemporalDep
from starters.models import Health, Live

router = APIRouter()


async def records_health(records: Database, timeout: float) -> tuple[bool, str]:
    try:
        async with asyncio.timeout(timeout):
            async with records.begin() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return False, "the records database did not answer in time"
    except (SQLAlchemyError, OSError) as err:
        return False, f"the records database is not usable: {type(err).__name__}"
    return True, "reachable"


@router.get("/healthz", responses={503: {"description": "Temporal or the records database unreachable"}})
async def healthz(response: Response, temporal: TemporalDep, records: RecordsDep, settings: SettingsDep) -> Health:
    (temporal_ok, temporal_detail), (records_ok, records_detail) = await asyncio.gather(
        temporal.healthy(), records_health(records, settings.temporal_rpc_timeout_seconds)
    )
    down = [name for name, ok in (("temporal", temporal_ok), ("records", records_ok)) if not ok]
    if down:
        response.status_code = 503
        response.headers["Retry-After"] = str(settings.retry_after_seconds)
    return Health(
        status="degraded" if down else "ok",
        temporal=temporal_detail,
        records=records_detail,
        down=down,
    )


@router.get("/livez")
async def livez() -> Live:
    """The process serves HTTP: what a load balancer should check (its dependencies being down
    is answered per request with 503 and Retry-After, which senders retry)."""
    return Live()

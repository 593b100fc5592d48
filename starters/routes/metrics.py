"""`GET /metrics`: the HTTP service's metrics for Prometheus (starters/metrics.py); the records
database is asked at each scrape, so `onboarding_records_database_up` is as fresh as the scrape."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from starters.deps import RecordsDep, SettingsDep
from starters.metrics import RECORDS_UP
from starters.routes.health import records_health

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def prometheus_metrics(records: RecordsDep, settings: SettingsDep) -> Response:
    up, _ = await records_health(records, settings.temporal_rpc_timeout_seconds)
    RECORDS_UP.set(1 if up else 0)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

"""record_moment / record_moments: business moments of a journey into the records, once
per key. `record_moments` writes a step's moments in one call and one transaction (v3.2
journeys); `record_moment` stays for every history recorded before it."""

from __future__ import annotations

import structlog
from temporalio import activity

from activities.settings import ActivitySettings
from contracts.moments import MomentRecorded, MomentRequest, MomentsRequest
from records.database import Database
from records.moments import MomentStore

log = structlog.get_logger(__name__)


class MomentActivities:
    def __init__(self, settings: ActivitySettings, records: Database | None = None) -> None:
        self._store = MomentStore(records or Database.from_settings(settings.database_url, settings.data_dir))

    @property
    def store(self) -> MomentStore:
        return self._store

    @activity.defn
    async def record_moment(self, request: MomentRequest) -> MomentRecorded:
        recorded = await self._store.record(request)
        log.info("moment.recorded" if recorded else "moment.already_recorded", kind=request.kind.value, key=request.key)
        return MomentRecorded(key=request.key, recorded=recorded)

    @activity.defn
    async def record_moments(self, request: MomentsRequest) -> list[MomentRecorded]:
        recorded = await self._store.record_all(request.moments)
        out = []
        for moment, new in zip(request.moments, recorded, strict=True):
            log.info("moment.recorded" if new else "moment.already_recorded", kind=moment.kind.value, key=moment.key)
            out.append(MomentRecorded(key=moment.key, recorded=new))
        return out

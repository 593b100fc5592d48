"""record_moment: one business moment of a journey into the records, once per key."""

from __future__ import annotations

import structlog
from temporalio import activity

from activities.settings import ActivitySettings
from records.database import Database
from records.models import MomentRecorded, MomentRequest
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

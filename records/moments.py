"""The journey's moments: one row per business moment, written once per key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from contracts.moments import MomentRequest
from records.database import Database
from records.dialects import insert_new
from records.tables import moments


class MomentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, moment: MomentRequest) -> bool:
        """Insert the moment; False when its key is already there (nothing is written)."""
        return (await self.record_all([moment]))[0]

    async def record_all(self, batch: Sequence[MomentRequest]) -> list[bool]:
        """Insert the moments with one statement; False for a key already there."""
        if not batch:
            return []
        recorded_at = datetime.now(UTC)
        rows = [_row(m, recorded_at) for m in batch]
        async with self.db.begin() as conn:
            new = {row.key for row in await conn.execute(insert_new(self.db.dialect, moments, ["key"], rows))}
        return [m.key in new for m in batch]

    async def list(self, *, workflow_id: str | None = None, deal_id: str | None = None) -> list[MomentRequest]:
        query = select(moments).order_by(moments.c.at, moments.c.id)
        if workflow_id:
            query = query.where(moments.c.workflow_id == workflow_id)
        if deal_id:
            query = query.where(moments.c.deal_id == deal_id)
        async with self.db.begin() as conn:
            rows = (await conn.execute(query)).all()
        out = []
        for row in rows:
            data = row._asdict()
            data.pop("id"), data.pop("recorded_at")
            data["detail"] = data["detail"] or {}
            out.append(MomentRequest.model_validate(data))
        return out


def _row(moment: MomentRequest, recorded_at: datetime) -> dict[str, Any]:
    values = moment.model_dump(mode="python")
    values["kind"] = moment.kind.value
    values["touchpoint"] = moment.touchpoint.value if moment.touchpoint else None
    values["detail"] = moment.model_dump(mode="json")["detail"] or None
    values["recorded_at"] = recorded_at
    return values

"""Product events the HTTP service has delivered, one row per event id: a product resending
the same event (same `event_id`, same Segment `messageId`) is answered from here and never
signalled again (docs/http.md "Floods stop at the edge").

A row is `delivering` while its signal is on its way and `delivered` with the answer once
it is. A delivery that failed is released (the sender's retry delivers it); one whose process
died mid-way is taken over after `stale` by the next attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from records.database import Database
from records.dialects import insert_new
from records.tables import intake_events as events

DELIVERING = "delivering"
DELIVERED = "delivered"


@dataclass(frozen=True)
class Claim:
    """`mine`: this request delivers the event. Otherwise `answer` is what the first delivery
    answered (None while it is still on its way)."""

    mine: bool
    answer: dict[str, Any] | None = None


class EventLedger:
    def __init__(self, db: Database, stale: timedelta = timedelta(seconds=60)) -> None:
        self.db = db
        self.stale = stale

    async def claim(self, key: str, at: datetime) -> Claim:
        async with self.db.begin() as conn:
            # a resend of a delivered event (the flood's usual case): one read, no write
            found = (await conn.execute(select(events.c.state, events.c.answer).where(events.c.key == key))).first()
            if found is not None and found.state == DELIVERED:
                return Claim(False, found.answer)
            new = (
                await conn.execute(insert_new(self.db.dialect, events, ["key"], dict(key=key, state=DELIVERING, at=at)))
            ).first()
            if new is not None:
                return Claim(True)
            taken_over = (
                await conn.execute(
                    update(events)
                    .where(events.c.key == key, events.c.state == DELIVERING, events.c.at < at - self.stale)
                    .values(at=at)
                    .returning(events.c.key)
                )
            ).first()
            if taken_over is not None:
                return Claim(True)
            row = (await conn.execute(select(events.c.state, events.c.answer).where(events.c.key == key))).first()
        if row is None:  # released between the two statements: the sender's next attempt claims it
            return Claim(False)
        return Claim(False, row.answer if row.state == DELIVERED else None)

    async def delivered(self, key: str, answer: dict[str, Any], at: datetime) -> None:
        async with self.db.begin() as conn:
            await conn.execute(update(events).where(events.c.key == key).values(state=DELIVERED, answer=answer, at=at))

    async def release(self, key: str) -> None:
        """The delivery failed: the event was not applied, the sender's retry delivers it."""
        async with self.db.begin() as conn:
            await conn.execute(delete(events).where(events.c.key == key, events.c.state == DELIVERING))

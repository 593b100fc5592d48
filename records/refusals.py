"""Deliveries the HTTP service refused, kept until staff retry them (`onboarding intake`,
docs/http.md "Refused deliveries"). A row holds the reason in ids and field names only; the
delivery itself is stored as the payload codec encrypted it (privacy/), never in plain text.

Each row's id is `<source>:<the sender's id of it>` (a Salesforce notification id, a Segment
messageId), so a sender delivering the same thing again counts it on the same row."""

from __future__ import annotations

import builtins
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from records.database import Database
from records.dialects import insert_new
from records.tables import intake_refusals as refusals


class RefusalStatus(str, Enum):
    waiting = "waiting"  # for a human: a mapping fix, then `onboarding intake retry`
    retried = "retried"  # delivered by a retry; `outcome` says where


class RefusalNotFound(LookupError):
    pass


class Refusal(BaseModel):
    """What was refused and why, without the delivery's content."""

    id: str
    source: str
    ref: str
    deal_id: str | None
    reason: str
    fields: list[str]
    status: RefusalStatus
    received: int
    first_at: datetime
    last_at: datetime
    retried_at: datetime | None = None
    retried_by: str | None = None
    outcome: str | None = None


class KeptRefusal(Refusal):
    payload: bytes  # the codec's encoding of the delivery (privacy/)


def refusal_id(source: str, ref: str) -> str:
    return f"{source}:{ref}"


class RefusalStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def keep(
        self,
        *,
        source: str,
        ref: str,
        reason: str,
        fields: list[str],
        payload: bytes,
        at: datetime,
        deal_id: str | None = None,
    ) -> Refusal:
        """Keep a refused delivery; the same one again (a resend) counts on its row and waits
        for a human again, with the newest reason and content."""
        ident = refusal_id(source, ref)
        reason = reason[:300]
        async with self.db.begin() as conn:
            created = (
                await conn.execute(
                    insert_new(
                        self.db.dialect,
                        refusals,
                        ["id"],
                        dict(
                            id=ident,
                            source=source,
                            ref=ref[:255],
                            deal_id=deal_id,
                            reason=reason,
                            fields=fields,
                            payload=payload,
                            status=RefusalStatus.waiting.value,
                            first_at=at,
                            last_at=at,
                        ),
                    )
                )
            ).first()
            if created is None:
                await conn.execute(
                    update(refusals)
                    .where(refusals.c.id == ident)
                    .values(
                        received=refusals.c.received + 1,
                        last_at=at,
                        reason=reason,
                        fields=fields,
                        payload=payload,
                        deal_id=deal_id,
                        status=RefusalStatus.waiting.value,
                    )
                )
            return await self._get(conn, ident)

    async def get(self, ident: str) -> KeptRefusal:
        async with self.db.begin() as conn:
            return await self._get(conn, ident)

    async def _get(self, conn: AsyncConnection, ident: str) -> KeptRefusal:
        row = (await conn.execute(select(refusals).where(refusals.c.id == ident))).first()
        if row is None:
            raise RefusalNotFound(f"no refused delivery {ident!r} (see `onboarding intake list`)")
        return KeptRefusal.model_validate(row._asdict())

    async def list(
        self, *, status: RefusalStatus | None = None, source: str | None = None, limit: int = 200
    ) -> list[Refusal]:
        columns = [c for c in refusals.c if c.name != "payload"]
        query = select(*columns).order_by(refusals.c.last_at.desc(), refusals.c.id).limit(limit)
        if status is not None:
            query = query.where(refusals.c.status == status.value)
        if source:
            query = query.where(refusals.c.source == source)
        async with self.db.begin() as conn:
            rows = (await conn.execute(query)).all()
        return [Refusal.model_validate(r._asdict()) for r in rows]

    async def still_refused(self, ident: str, reason: str, fields: builtins.list[str]) -> Refusal:
        """A retry that the mapping still refuses: the row keeps waiting, with the new reason."""
        async with self.db.begin() as conn:
            await conn.execute(
                update(refusals).where(refusals.c.id == ident).values(reason=reason[:300], fields=fields)
            )
            return await self._get(conn, ident)

    async def retried(self, ident: str, *, by: str, at: datetime, outcome: str, deal_id: str | None = None) -> Refusal:
        values: dict[str, Any] = dict(
            status=RefusalStatus.retried.value, retried_at=at, retried_by=by[:256], outcome=outcome[:300]
        )
        if deal_id is not None:
            values["deal_id"] = deal_id
        async with self.db.begin() as conn:
            await conn.execute(update(refusals).where(refusals.c.id == ident).values(**values))
            return await self._get(conn, ident)

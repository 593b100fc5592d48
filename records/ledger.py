"""The delivery ledger: at most one attempt sends a given message key at a time, across
every worker that shares the database.

    claim -> (send) -> sent          the normal path
    claim -> busy                    another attempt holds a live claim: retry later
    claim -> already sent            an earlier attempt recorded it: skip
    claim -> taken over, unknown     the last claim's lease ran out with no record (a worker
                                     died between handing the message over and recording it):
                                     counted, then sent again (docs/records.md says why)

A claim carries the attempt's identity (workflow id, activity id, attempt) and a lease that
the sending attempt renews while it works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from pydantic import BaseModel
from sqlalchemy import func, select, update

from records.database import Database
from records.dialects import insert_new
from records.tables import deliveries

SENDING, SENT, FAILED, UNKNOWN = "sending", "sent", "failed", "unknown"


class Attempt(BaseModel):
    """Who is sending: one attempt of one activity of one journey."""

    workflow_id: str
    activity_id: str
    attempt: int

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.activity_id}#{self.attempt}"


class ClaimResult(str, Enum):
    claimed = "claimed"
    already_sent = "already_sent"
    busy = "busy"


@dataclass(frozen=True)
class Claim:
    result: ClaimResult
    key: str
    claim: int = 0  # which claim of this key this is (1, 2, ...): the fence for the updates
    after_unknown: bool = False  # an earlier attempt may have delivered it
    channel: str | None = None
    holder: Attempt | None = None
    lease_until: datetime | None = None


class DeliveryCounts(BaseModel):
    sent: int = 0
    sending: int = 0
    failed: int = 0
    unknown: int = 0
    # Claims found expired with no record, or ended by an ambiguous channel error: each one is
    # a message that may have gone out twice (the second time with the same Message-ID).
    unknown_outcomes: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryLedger:
    """`clock` stamps claims and leases and tells whether a lease has run out: the real clock
    unless a test moves its own."""

    def __init__(
        self, db: Database, lease: timedelta = timedelta(seconds=30), *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.db = db
        self.lease = lease
        self._clock = clock or _now

    async def claim(self, key: str, attempt: Attempt, *, channel: str, message_id: str) -> Claim:
        now = self._clock()
        owner = dict(
            workflow_id=attempt.workflow_id,
            activity_id=attempt.activity_id,
            attempt=attempt.attempt,
            claimed_at=now,
            lease_until=now + self.lease,
            channel=channel,
            message_id=message_id,
            last_error=None,
        )
        async with self.db.begin() as conn:
            inserted = (
                await conn.execute(
                    insert_new(self.db.dialect, deliveries, ["key"], dict(key=key, state=SENDING, claim=1, **owner))
                )
            ).first()
            if inserted is not None:
                return Claim(ClaimResult.claimed, key, claim=1, lease_until=now + self.lease)
            row = (await conn.execute(select(deliveries).where(deliveries.c.key == key))).one()
        if row.state == SENT:
            return Claim(ClaimResult.already_sent, key, claim=row.claim, channel=row.channel)
        holder = Attempt(workflow_id=row.workflow_id or "", activity_id=row.activity_id or "", attempt=row.attempt or 0)
        if row.state == SENDING and row.lease_until is not None and row.lease_until > now:
            return Claim(ClaimResult.busy, key, claim=row.claim, holder=holder, lease_until=row.lease_until)
        # Free to take: the last attempt failed cleanly, ended ambiguously, or its lease ran out
        # with no record. Only one taker wins: the update is fenced on the claim number.
        expired = row.state == SENDING
        async with self.db.begin() as conn:
            won = (
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.key == key, deliveries.c.claim == row.claim, deliveries.c.state == row.state)
                    .values(
                        state=SENDING,
                        claim=row.claim + 1,
                        unknown_outcomes=deliveries.c.unknown_outcomes + (1 if expired else 0),
                        **owner,
                    )
                    .returning(deliveries.c.claim)
                )
            ).first()
        if won is None:
            return Claim(ClaimResult.busy, key, claim=row.claim, holder=holder)
        return Claim(
            ClaimResult.claimed,
            key,
            claim=row.claim + 1,
            after_unknown=row.state in (SENDING, UNKNOWN),
            lease_until=now + self.lease,
            holder=holder,
        )

    async def renew(self, claim: Claim) -> bool:
        """Extend a live claim's lease; False when it is no longer ours."""
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.key == claim.key, deliveries.c.claim == claim.claim, deliveries.c.state == SENDING
                    )
                    .values(lease_until=self._clock() + self.lease)
                    .returning(deliveries.c.key)
                )
            ).first()
        return row is not None

    async def sent(self, claim: Claim, channel: str) -> bool:
        """Record the delivery. False when the claim had been taken over meanwhile (this attempt
        outlived its lease): the row says sent all the same."""
        now = self._clock()
        async with self.db.begin() as conn:
            ours = (
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.key == claim.key, deliveries.c.claim == claim.claim)
                    .values(state=SENT, channel=channel, sent_at=now, lease_until=None, last_error=None)
                    .returning(deliveries.c.key)
                )
            ).first()
            if ours is None:
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.key == claim.key, deliveries.c.state != SENT)
                    .values(state=SENT, channel=channel, sent_at=now, lease_until=None)
                )
        return ours is not None

    async def failed(self, claim: Claim, error: str) -> None:
        """The channel refused it: nothing went out, the next attempt may send."""
        await self._end(claim, FAILED, error, unknown=False)

    async def outcome_unknown(self, claim: Claim, error: str) -> None:
        """The channel may have it (the connection dropped after the message was handed over)."""
        await self._end(claim, UNKNOWN, error, unknown=True)

    async def _end(self, claim: Claim, state: str, error: str, *, unknown: bool) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.key == claim.key, deliveries.c.claim == claim.claim, deliveries.c.state == SENDING)
                .values(
                    state=state,
                    lease_until=None,
                    last_error=error[:300],
                    unknown_outcomes=deliveries.c.unknown_outcomes + (1 if unknown else 0),
                )
            )

    async def state(self, key: str) -> str | None:
        async with self.db.begin() as conn:
            return (await conn.execute(select(deliveries.c.state).where(deliveries.c.key == key))).scalar()

    async def counts(self) -> DeliveryCounts:
        async with self.db.begin() as conn:
            rows = (await conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))).all()
            unknown = (await conn.execute(select(func.coalesce(func.sum(deliveries.c.unknown_outcomes), 0)))).scalar()
        return DeliveryCounts(**{state: n for state, n in rows}, unknown_outcomes=int(unknown or 0))

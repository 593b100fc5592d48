"""The HTTP service's records on SQLite and PostgreSQL: refused deliveries kept once per
sender's id (records/refusals.py) and product events claimed once per event id
(records/intake_events.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from records import migrate
from records.database import Database
from records.intake_events import EventLedger
from records.refusals import RefusalStatus, RefusalStore

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_a_refused_delivery_is_kept_once_and_counts_its_resends(records_db):
    store = RefusalStore(records_db)
    first = await store.keep(
        source="salesforce", ref="00D:04l1", reason="invalid field(s): x", fields=["x"], payload=b"\x01", at=AT
    )
    again = await store.keep(
        source="salesforce",
        ref="00D:04l1",
        reason="invalid field(s): y",
        fields=["y"],
        payload=b"\x02",
        at=AT + timedelta(minutes=5),
        deal_id="006A",
    )
    assert (first.received, again.received) == (1, 2)
    kept = await store.get("salesforce:00D:04l1")
    assert (kept.fields, kept.payload, kept.deal_id, kept.first_at, kept.last_at) == (
        ["y"],
        b"\x02",
        "006A",
        AT,
        AT + timedelta(minutes=5),
    )
    await store.retried(kept.id, by="maya", at=AT + timedelta(hours=1), outcome="started onboarding-006A")
    assert await store.list(status=RefusalStatus.waiting) == []
    [done] = await store.list()
    assert (done.status, done.retried_by) == (RefusalStatus.retried, "maya")


async def test_an_event_id_is_claimed_once_even_by_racing_requests(records_db):
    ledger = EventLedger(records_db)
    claims = await asyncio.gather(*(ledger.claim("events:E-1", AT) for _ in range(20)))
    assert sum(c.mine for c in claims) == 1
    await ledger.delivered("events:E-1", {"signal": "action_taken"}, AT)
    later = await ledger.claim("events:E-1", AT + timedelta(seconds=1))
    assert (later.mine, later.answer) == (False, {"signal": "action_taken"})


async def test_a_failed_or_abandoned_delivery_can_be_claimed_again(records_db):
    ledger = EventLedger(records_db, stale=timedelta(seconds=60))
    assert (await ledger.claim("events:E-2", AT)).mine
    await ledger.release("events:E-2")  # the signal failed: the sender's retry delivers it
    assert (await ledger.claim("events:E-2", AT)).mine
    # a process that died mid-delivery: in flight for a while, then taken over
    assert not (await ledger.claim("events:E-2", AT + timedelta(seconds=30))).mine
    assert (await ledger.claim("events:E-2", AT + timedelta(seconds=61))).mine


async def test_upgrade_from_0003_keeps_the_records_and_adds_the_intake_tables(records_url, tmp_path):
    db = Database.from_settings(records_url, tmp_path)
    try:
        await migrate.upgrade(db.engine, "0003")
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO deliveries (key, state, claim, unknown_outcomes) "
                    "VALUES ('onboarding-D-1:m:s:1', 'sent', 1, 0)"
                )
            )
        await db.ready()
        assert await migrate.current(db.engine) == "0005"  # and on to the newest
        async with db.begin() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM deliveries"))).scalar() == 1
            assert (await conn.execute(text("SELECT count(*) FROM intake_refusals"))).scalar() == 0
            assert (await conn.execute(text("SELECT count(*) FROM intake_events"))).scalar() == 0
    finally:
        await db.dispose()

"""The journeys' accounts (records.accounts, revision 0005) on SQLite and PostgreSQL: an upgrade
keeps what was there; a lookup folds case (Unicode too), matches any part, takes wildcards as
characters, and finds an older journey by its escalation task's name."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from contracts.escalations import TaskOpening
from records import migrate
from records.accounts import AccountDirectory
from records.database import Database
from records.tasks import TaskStore

AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


async def test_upgrade_from_0004_keeps_the_records_and_adds_the_accounts(records_url, tmp_path):
    db = Database.from_settings(records_url, tmp_path)
    try:
        await migrate.upgrade(db.engine, "0004")
        async with db.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO intake_events (key, state, at) VALUES ('events:E-1', 'delivered', :at)"), {"at": AT}
            )
        await db.ready()
        assert await migrate.current(db.engine) == "0005"
        async with db.begin() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM intake_events"))).scalar() == 1
            assert (await conn.execute(text("SELECT count(*) FROM journey_accounts"))).scalar() == 0
    finally:
        await db.dispose()


async def test_find_by_any_part_in_any_case(records_url, tmp_path):
    db = Database.from_settings(records_url, tmp_path)
    await db.ready()
    try:
        accounts = AccountDirectory(db)
        for deal_id, account_id, name in [
            ("D-1", "ACME-1", "Acme Corp"),
            ("D-2", "ACME-1", "Acme Corp"),
            ("D-3", "STR-1", "Straße Maschinenbau"),
            ("D-4", "PCT-1", "100% Juice"),
        ]:
            await accounts.record(
                deal_id=deal_id, workflow_id=f"onboarding-{deal_id}", account_id=account_id, account_name=name, at=AT
            )
        # a redelivered webhook: recorded once
        await accounts.record(
            deal_id="D-1", workflow_id="onboarding-D-1", account_id="ACME-1", account_name="Acme Corp"
        )
        await TaskStore(db).open(
            TaskOpening(
                workflow_id="onboarding-D-OLD",
                escalation=1,
                deal_id="D-OLD",
                account_name="Acme Holdings",
                milestone="first_action",
                level=1,
                level_name="owner",
                assignee="leo",
                assignee_name="Leo",
                reason="help",
                at=AT,
            )
        )

        def deals(found) -> list[tuple[str, str]]:
            return [(m.deal_id, m.account_id) for m in found.matches]

        assert deals(await accounts.find("ACME corp")) == [("D-1", "ACME-1"), ("D-2", "ACME-1")]
        assert deals(await accounts.find("acme")) == [("D-1", "ACME-1"), ("D-2", "ACME-1"), ("D-OLD", "")]
        assert deals(await accounts.find("STRASSE")) == [("D-3", "STR-1")]  # casefold: ß is ss
        assert deals(await accounts.find("0%")) == [("D-4", "PCT-1")]
        assert deals(await accounts.find("A%p")) == []  # % is a character, not a wildcard
        assert deals(await accounts.find("_")) == []
        capped = await accounts.find("acme", limit=2)
        assert len(capped.matches) == 2 and capped.more
    finally:
        await db.dispose()

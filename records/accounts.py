"""Which deal is which company: staff find a customer by the name they know, in any case and
by part of it (`/support/find`, docs/support.md "Find a customer").

The journey keeps its account's name only in encrypted places (its input, its summary) and
never in a search attribute, so the Web UI cannot search it. The HTTP service (and `make
demo`) write one row per journey it starts here: the deal, the workflow, the account's id and
name (a company, never a person: as `escalation_tasks` already keeps it). Journeys started
before these records, or from a CRM whose deal the worker fetches itself (HubSpot, Pipedrive),
are found by the name their escalation tasks keep, once they have one."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func, literal, select, union

from contracts.deal import DealClosed
from contracts.journey import workflow_id_for
from records.database import Database
from records.dialects import insert_new
from records.tables import escalation_tasks, journey_accounts

# How many deals one lookup lists: a name that matches more is too short to be useful.
FIND_AT_MOST = 50


class AccountMatch(BaseModel):
    deal_id: str
    workflow_id: str
    account_id: str  # "" when only an escalation task knew the name
    account_name: str


class Found(BaseModel):
    matches: list[AccountMatch]
    more: bool  # more journeys match than were listed

    def accounts(self) -> dict[tuple[str, str], list[AccountMatch]]:
        """The matches by account (name, id), in order."""
        grouped: dict[tuple[str, str], list[AccountMatch]] = {}
        for match in self.matches:
            grouped.setdefault((match.account_name, match.account_id), []).append(match)
        return grouped


def fold(name: str) -> str:
    return name.casefold()


class AccountDirectory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, *, deal_id: str, workflow_id: str, account_id: str, account_name: str, at: datetime | None = None
    ) -> None:
        """Remember the journey's account; the same deal again changes nothing (a redelivery)."""
        row = dict(
            deal_id=deal_id,
            workflow_id=workflow_id,
            account_id=account_id,
            account_name=account_name[:256],
            name_folded=fold(account_name)[:256],
            recorded_at=at or datetime.now(UTC),
        )
        async with self.db.begin() as conn:
            await conn.execute(insert_new(self.db.dialect, journey_accounts, ["deal_id"], row))

    async def record_deal(self, deal: DealClosed) -> None:
        """Remember the account of the journey about to start for `deal` (written first, so
        every started journey is found; a start that then fails leaves a row whose list is
        empty until the sender's retry starts it)."""
        await self.record(
            deal_id=deal.deal_id,
            workflow_id=workflow_id_for(deal.deal_id),
            account_id=deal.account.id,
            account_name=deal.account.name,
        )

    async def find(self, name: str, limit: int = FIND_AT_MOST) -> Found:
        """Journeys whose account name contains `name`, case-insensitively; by name, then deal."""
        part = fold(name.strip())
        recorded = select(
            journey_accounts.c.deal_id,
            journey_accounts.c.workflow_id,
            journey_accounts.c.account_id,
            journey_accounts.c.account_name,
        ).where(journey_accounts.c.name_folded.contains(part, autoescape=True))
        # escalation tasks keep the name as given; lower() folds ASCII on SQLite, Unicode on PostgreSQL
        escalated = (
            select(
                escalation_tasks.c.deal_id,
                escalation_tasks.c.workflow_id,
                literal("").label("account_id"),
                escalation_tasks.c.account_name,
            )
            .where(func.lower(escalation_tasks.c.account_name).contains(part, autoescape=True))
            .where(escalation_tasks.c.deal_id.not_in(select(journey_accounts.c.deal_id)))
            .distinct()
        )
        query = union(recorded, escalated).order_by("account_name", "deal_id").limit(limit + 1)
        async with self.db.begin() as conn:
            rows = (await conn.execute(query)).all()
        matches = [AccountMatch.model_validate(r._asdict()) for r in rows]
        return Found(matches=matches[:limit], more=len(matches) > limit)

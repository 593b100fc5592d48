"""Fold a journey's moments (in time order) into one summary: the report's unit. Moments
arrive grouped by journey, so only one journey is ever being folded at a time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The columns the report reads, in this order (report.query selects them).
COLUMNS = ("workflow_id", "key", "kind", "at", "segment", "product", "playbook", "variant", "owner",
           "milestone", "touchpoint", "detail")  # fmt: skip
NEEDS_DETAIL = frozenset({"owner_assigned", "escalated", "resolved"})


@dataclass
class Escalation:
    number: int
    trigger: str
    at: datetime
    owner: str | None
    milestone: str | None
    resolved_at: datetime | None = None
    seconds_open: float | None = None
    # how it ended (the `resolved` moment's detail): "resolved" is a staff decision;
    # "ended_by_customer" (the customer acted first) and "cancelled" are not
    outcome: str | None = None

    @property
    def decided_by_staff(self) -> bool:
        return self.outcome == "resolved"


@dataclass
class Journey:
    workflow_id: str
    started_at: datetime | None = None
    segment: str = ""
    product: str = ""
    playbook: str = ""
    variant: str | None = None
    owner: str | None = None
    owners: set[str] = field(default_factory=set)
    over_capacity: list[str] = field(default_factory=list)  # owners taken over capacity
    told: dict[str, datetime] = field(default_factory=dict)  # milestone -> first told, in order
    outcomes: dict[str, tuple[str, datetime, str | None]] = field(default_factory=dict)  # kind, at, touchpoint
    first_action_at: datetime | None = None
    escalations: dict[int, Escalation] = field(default_factory=dict)
    activated_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.activated_at is None and self.closed_at is None

    def stage(self) -> str:
        """The milestone the journey waits in: the last one told without an outcome, else
        the one an open escalation holds before its kickoff (a high-value review)."""
        for milestone in reversed(self.told):
            if milestone not in self.outcomes:
                return milestone
        held = self.open_escalation_before_kickoff()
        return held.milestone or "" if held else ""

    def open_escalation_before_kickoff(self) -> Escalation | None:
        """An open escalation on a milestone not told yet: the review of a high-value deal
        happens before its kickoff."""
        for e in self.escalations.values():
            if e.resolved_at is None and e.milestone and e.milestone not in self.told:
                return e
        return None

    def in_stage_since(self, stage: str) -> datetime | None:
        if stage in self.told:
            return self.told[stage]
        held = self.open_escalation_before_kickoff()
        return held.at if held else None

    def open_escalation(self) -> bool:
        return any(e.resolved_at is None for e in self.escalations.values())

    def add(self, kind: str, at: datetime, row: dict[str, Any]) -> None:
        raw = row["detail"] if kind in NEEDS_DETAIL else None
        # SQLite hands the JSON text back; asyncpg has already decoded it.
        detail = (json.loads(raw) if isinstance(raw, str) else raw) or {}
        if row["owner"]:
            self.owner = row["owner"]
            self.owners.add(row["owner"])
        if row["variant"]:
            self.variant = row["variant"]
        milestone = row["milestone"]
        if kind == "started":
            self.started_at = at
            self.segment = row["segment"] or ""
            self.product = row["product"] or ""
            self.playbook = row["playbook"] or ""
        elif kind == "owner_assigned" and detail.get("over_capacity") and row["owner"]:
            self.over_capacity.append(row["owner"])
        elif kind == "told" and milestone and milestone not in self.told:
            self.told[milestone] = at
        elif kind == "first_action":
            self.first_action_at = self.first_action_at or at
        elif kind in ("milestone_completed", "milestone_skipped", "milestone_closed") and milestone:
            self.outcomes.setdefault(milestone, (kind, at, row["touchpoint"]))
        elif kind == "escalated":
            number = _occurrence(row["key"], len(self.escalations) + 1)
            self.escalations[number] = Escalation(
                number, str(detail.get("trigger") or "unknown"), at, row["owner"], milestone
            )
        elif kind == "resolved":
            escalation = self.escalations.get(_occurrence(row["key"], 0))
            if escalation is not None:
                escalation.resolved_at = at
                escalation.seconds_open = (at - escalation.at).total_seconds()
                escalation.outcome = detail.get("outcome")
        elif kind == "activated":
            self.activated_at = at
        elif kind == "closed":
            self.closed_at = at


def _occurrence(key: str, default: int) -> int:
    """The escalation number: the last part of `<workflow id>:moment:<kind>:<milestone>:<n>`."""
    last = key.rsplit(":", 1)[-1]
    return int(last) if last.isdigit() else default


async def fold(rows: AsyncIterator[Iterable[Any]]) -> AsyncIterator[Journey]:
    """Journeys from rows ordered by workflow id, then time; those without a `started`
    moment (started outside the filters) are left out by the query."""
    current: Journey | None = None
    async for values in rows:
        row = dict(zip(COLUMNS, values, strict=True))
        if current is None or current.workflow_id != row["workflow_id"]:
            if current is not None and current.started_at is not None:
                yield current
            current = Journey(row["workflow_id"])
        current.add(row["kind"], row["at"], row)
    if current is not None and current.started_at is not None:
        yield current

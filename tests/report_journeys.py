"""Scripted journeys as the moments the journey would record: known timings for the
report's exact-figure tests and its benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.escalations import TaskOpening
from contracts.moments import MomentKind, MomentRequest, Touchpoint, moment_key
from records.database import Database
from records.moments import MomentStore
from records.tasks import TaskStore

MILESTONES = ("first_action", "first_value", "expansion_check")  # playbooks/default.yaml


@dataclass
class Script:
    deal_id: str
    segment: str
    start: datetime
    owner: str = "maya"
    product: str = "analytics"
    playbook: str = "default"
    variant: str | None = None
    over_capacity: bool = False
    # hours after the start each milestone is done (None: not yet), with the touchpoint before
    done_after: tuple[float | None, ...] = (None, None, None)
    touchpoints: tuple[str, ...] = ("direction", "direction", "direction")
    escalate_after: float | None = None
    trigger: str = "help"
    resolved_after: float | None = None  # hours after the escalation
    level: int = 1
    closed_after: float | None = None


def moments(s: Script) -> list[MomentRequest]:
    workflow_id = f"onboarding-{s.deal_id}"
    out: list[MomentRequest] = []

    def add(
        kind: MomentKind,
        hours: float,
        *parts: object,
        milestone: str | None = None,
        touchpoint: str | None = None,
        detail: dict | None = None,
    ) -> None:
        out.append(MomentRequest(
            key=moment_key(workflow_id, kind, *((milestone,) if milestone else ()), *parts),
            kind=kind, at=s.start + timedelta(hours=hours), workflow_id=workflow_id, deal_id=s.deal_id,
            account_id=f"A-{s.deal_id}", segment=s.segment, product=s.product, playbook=s.playbook,
            playbook_hash="sha256:test", journey_version="v3", variant=s.variant, owner=s.owner,
            milestone=milestone, touchpoint=Touchpoint(touchpoint) if touchpoint else None, detail=detail or {},
        ))  # fmt: skip

    add(MomentKind.started, 0)
    add(MomentKind.owner_assigned, 0, 1, detail={"over_capacity": s.over_capacity, "reason": "assigned"})
    at = 0.0
    for i, milestone in enumerate(MILESTONES):
        add(MomentKind.told, at, i + 1, milestone=milestone, touchpoint="direction", detail={"proactive": True})
        if (
            s.escalate_after is not None
            and (s.done_after[i] is None or s.done_after[i] > s.escalate_after)
            and at <= s.escalate_after
        ):
            add(MomentKind.escalated, s.escalate_after, 1, milestone=milestone, detail={"trigger": s.trigger})
            if s.resolved_after is not None:
                add(
                    MomentKind.resolved,
                    s.escalate_after + s.resolved_after,
                    1,
                    milestone=milestone,
                    touchpoint="human",
                    detail={"outcome": "resolved", "decision": "retry"},
                )
        done = s.done_after[i]
        if done is None:
            if s.closed_after is not None:
                add(
                    MomentKind.milestone_closed,
                    s.closed_after,
                    milestone=milestone,
                    touchpoint=s.touchpoints[i],
                    detail={"by": "cancel"},
                )
                add(MomentKind.closed, s.closed_after, detail={"by": "cancel"})
            return out
        if i == 0:
            add(MomentKind.first_action, done, milestone=milestone, touchpoint=s.touchpoints[i])
        add(MomentKind.milestone_completed, done, milestone=milestone, touchpoint=s.touchpoints[i])
        at = done
    add(MomentKind.activated, at)
    return out


async def seed(db: Database, scripts: list[Script]) -> None:
    """The scripts' moments through the store, and their escalation tasks up to their level."""
    store, tasks = MomentStore(db), TaskStore(db)
    for s in scripts:
        for moment in moments(s):
            assert await store.record(moment)
        if s.escalate_after is not None:
            for level in range(1, s.level + 1):
                await tasks.open(TaskOpening(
                    workflow_id=f"onboarding-{s.deal_id}", escalation=1, deal_id=s.deal_id, account_name="", milestone="",
                    level=level, level_name=["owner", "backup", "manager"][level - 1], assignee=s.owner, assignee_name="",
                    reason="", at=s.start + timedelta(hours=s.escalate_after + 24 * (level - 1)),
                ))  # fmt: skip

"""Scripted journeys as the moments the journey would record: known timings for the
report's exact-figure tests and its benchmark."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.escalations import TaskOpening
from contracts.moments import FOLLOW_UPS, MomentKind, MomentRequest, Touchpoint, moment_key
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
    # how the escalation ended: "resolved" (a staff decision), "ended_by_customer", "cancelled"
    outcome: str = "resolved"
    level: int = 1
    level_assignees: tuple[str, ...] = ()  # who held each level (default: the owner, every level)
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
        done_after = s.done_after[i]
        if (
            s.escalate_after is not None
            and (done_after is None or done_after > s.escalate_after)
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
                    detail={"outcome": s.outcome, "decision": "retry" if s.outcome == "resolved" else None},
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
                    level=level, level_name=["owner", "backup", "manager"][level - 1], assignee=assignee(s, level), assignee_name="",
                    reason="", at=s.start + timedelta(hours=s.escalate_after + 24 * (level - 1)),
                ))  # fmt: skip


def assignee(s: Script, level: int) -> str:
    return s.level_assignees[level - 1] if len(s.level_assignees) >= level else s.owner


# --- journeys at random, for the benchmark (bench/report.py) and the page's browser test -----

# what a moment names as the last touchpoint before a customer moved
LAST_TOUCHPOINTS = tuple(t.value for t in (Touchpoint.direction, *FOLLOW_UPS, Touchpoint.human))

SEGMENTS = ("smb", "mid_market", "enterprise")
START = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)


def script(i: int, rng: random.Random) -> Script:
    start = START + timedelta(minutes=rng.randrange(60 * 24 * 70))
    roll = rng.random()
    hours = tuple(rng.uniform(1, 150) for _ in range(3))
    done: tuple[float | None, ...] = (
        (None, None, None) if roll < 0.1
        else (hours[0], None, None) if roll < 0.4
        else (hours[0], hours[0] + hours[1], None) if roll < 0.7
        else (hours[0], hours[0] + hours[1], hours[0] + hours[1] + hours[2])
    )  # fmt: skip
    touchpoints = tuple(rng.choice(LAST_TOUCHPOINTS) for _ in range(3))
    escalated = rng.random() < 0.2
    return Script(
        f"B{i:06d}", rng.choice(SEGMENTS), start, owner=f"owner{rng.randrange(12)}", variant=rng.choice(("a", "b")),
        over_capacity=rng.random() < 0.05, done_after=done, touchpoints=touchpoints,
        escalate_after=rng.uniform(1, 100) if escalated else None, trigger=rng.choice(("help", "failures", "follow_ups")),
        resolved_after=rng.uniform(1, 48) if escalated and rng.random() < 0.8 else None, level=rng.choice((1, 1, 2)),
        closed_after=200 if roll < 0.05 else None,
    )  # fmt: skip

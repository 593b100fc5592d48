"""The `status` query and the journey's result: for any customer, which state they are in,
why, the one next step with its due time, who owns it and who the journey waits on (that
one answer: workflows/awaiting.py)."""

from __future__ import annotations

from datetime import datetime

from contracts.journey import Inbox, JourneyResult, JourneyState, PlaybookHold
from contracts.playbook import Milestone
from contracts.status import OnboardingState, Status
from workflows import awaiting, decisions

TIMELINE_SHOWN = 10
PLAYBOOK_RECHECK = awaiting.PLAYBOOK_RECHECK  # kept where workflows/playbook_hold.py reads it
hold_assignee = awaiting.hold_assignee


def status(s: JourneyState, m: Milestone | None, box: Inbox, now: datetime) -> Status:
    waiting_on, action = awaiting.awaiting(s, m, now)
    return Status(
        deal_id=s.deal.deal_id,
        stage=s.progress.key if s.progress else "",
        state=s.state,
        owner=s.owner.owner.id,
        next_action=action,
        reason=s.reason,
        eligible_touchpoints=decisions.eligible_touchpoints(
            s.state, m, s.progress, s.playbook.playbook.escalation, paused=s.pause is not None
        ),
        timeline=box.timeline[-TIMELINE_SHOWN:],
        escalation_level=s.escalation_level,
        paused=s.pause is not None,
        waiting_on=waiting_on,
        owner_over_capacity=s.owner.over_capacity,
        refused_inputs=box.refused,
        unsubscribed=box.unsubscribed_at is not None,
        variant=s.playbook.variant,
        playbook=s.playbook.playbook.name,
        playbook_notice=s.playbook.notice,
    )


def held_status(deal_id: str, hold: PlaybookHold, box: Inbox) -> Status:
    """A journey no playbook can run yet: escalated to a human with the reason."""
    open_ = hold.state is OnboardingState.escalated
    waiting_on, action = awaiting.awaiting_hold(hold)
    return Status(
        deal_id=deal_id,
        stage="",
        state=hold.state,
        owner=hold.owner.owner.id,
        next_action=action,
        reason=hold.reason or hold.problem,
        eligible_touchpoints=["resolve_escalation"] if open_ else [],
        timeline=box.timeline[-TIMELINE_SHOWN:],
        escalation_level=hold.level if open_ else 0,
        waiting_on=waiting_on,
        owner_over_capacity=hold.owner.over_capacity,
        refused_inputs=box.refused,
        unsubscribed=box.unsubscribed_at is not None,
    )


def starting_status(deal_id: str, deal_known: bool, box: Inbox, now: datetime, closed: str | None = None) -> Status:
    """A journey before its start; `closed`: why it closed there (v3.8)."""
    if closed:
        return Status(
            deal_id=deal_id,
            stage="",
            state=OnboardingState.closed,
            owner="",
            next_action=None,
            reason=closed,
            eligible_touchpoints=[],
            timeline=box.timeline[-TIMELINE_SHOWN:],
            waiting_on=awaiting.NOBODY,
            refused_inputs=box.refused,
        )
    waiting_on, action = awaiting.awaiting_start(deal_known and box.cancel is None, now)
    return Status(
        deal_id=deal_id,
        stage="",
        state=OnboardingState.closed if box.cancel else OnboardingState.awaiting_action,
        owner="",
        next_action=action,
        reason="starting" if deal_known else "starting: waiting for deal details",
        eligible_touchpoints=[],
        timeline=box.timeline[-TIMELINE_SHOWN:],
        waiting_on=waiting_on,
        refused_inputs=box.refused,
    )


def result(
    s: JourneyState | None, deal_id: str, box: Inbox, hold: PlaybookHold | None = None, *, closed: str | None = None
) -> JourneyResult:
    """What the journey returns. `closed`: why it closed before it really started (v3.8)."""
    if s is None and hold is not None:  # closed while no playbook could run it
        return JourneyResult(
            deal_id=deal_id,
            state=hold.state,
            reason=hold.reason or hold.problem,
            owner=hold.owner.owner.id,
            time_to_first_action_seconds=None,
            milestones=[],
            escalations=hold.escalations,
        )
    if s is None:
        return JourneyResult(
            deal_id=deal_id,
            state=OnboardingState.closed,
            reason=closed or (box.cancel.reason if box.cancel else "closed"),
            owner="",
            time_to_first_action_seconds=None,
            milestones=[],
            escalations=0,
        )
    return JourneyResult(
        deal_id=s.deal.deal_id,
        state=s.state,
        reason=s.reason,
        owner=s.owner.owner.id,
        time_to_first_action_seconds=(s.first_action_at - s.started_at).total_seconds() if s.first_action_at else None,
        milestones=s.outcomes,
        escalations=s.escalations,
        runs=s.runs,
    )

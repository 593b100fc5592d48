"""The `status` query and the journey's result: for any customer, which state they are in,
why, the one next step with its due time, who owns it and who the journey waits on."""

from __future__ import annotations

from datetime import timedelta

from contracts.journey import Inbox, JourneyResult, JourneyState, PlaybookHold
from contracts.playbook import Milestone
from contracts.status import NextAction, OnboardingState, Status
from workflows import decisions

TIMELINE_SHOWN = 10
ENDED = (OnboardingState.activated, OnboardingState.closed)
# A journey no playbook can run looks again this often by itself (workflows/playbook_hold.py).
PLAYBOOK_RECHECK = timedelta(hours=24)


def next_action(s: JourneyState, m: Milestone | None) -> tuple[str, NextAction | None]:
    """Who the journey waits on, and the one next step with its due time."""
    if s.state in ENDED or m is None:
        return "nobody", None
    p, events = s.progress, m.events()
    if s.pause is not None:
        return "staff (resume)", NextAction(title=decisions.current_action(m, p).title, due_at=None, events=events)
    if s.escalation is not None:
        policy = s.playbook.playbook.escalation
        level_name, assignee = decisions.escalation_assignee(policy, s.escalation.level, s.owner)
        due = s.escalation.since + timedelta(hours=policy.sla_hours)
        return "human", NextAction(
            title=f"{assignee.name} ({level_name}) resolves the escalation", due_at=due, events=events
        )
    ack = s.acknowledgement
    if ack is not None and ack.before_kickoff and (p is None or p.direction_sent_at is None):
        title = f"{s.owner.owner.name} acknowledges the journey"
        return "owner", NextAction(title=title, due_at=ack.until, events=events)
    return "customer", NextAction(
        title=decisions.current_action(m, p).title, due_at=p.due_at if p else None, events=events
    )


def status(s: JourneyState, m: Milestone | None, box: Inbox) -> Status:
    waiting_on, action = next_action(s, m)
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


def hold_assignee(hold: PlaybookHold) -> tuple[str, str]:
    """(level name, person's name) of whom a journey without a playbook waits on: the
    roster's manager, or its owner when the roster names none."""
    if hold.owner.manager is not None:
        return "manager", hold.owner.manager.name
    return "owner", hold.owner.owner.name


def held_status(deal_id: str, hold: PlaybookHold, box: Inbox) -> Status:
    """A journey no playbook can run yet: escalated to a human with the reason."""
    open_ = hold.state is OnboardingState.escalated
    level_name, name = hold_assignee(hold)
    action = NextAction(
        title=f"{name} ({level_name}) gets a playbook to run this journey, then resolves the escalation (retry), or closes it",
        due_at=hold.since + PLAYBOOK_RECHECK,  # the journey looks again by itself then
        events=[],
    )
    return Status(
        deal_id=deal_id,
        stage="",
        state=hold.state,
        owner=hold.owner.owner.id,
        next_action=action if open_ else None,
        reason=hold.reason or hold.problem,
        eligible_touchpoints=["resolve_escalation"] if open_ else [],
        timeline=box.timeline[-TIMELINE_SHOWN:],
        escalation_level=hold.level if open_ else 0,
        waiting_on="human" if open_ else "nobody",
        owner_over_capacity=hold.owner.over_capacity,
        refused_inputs=box.refused,
        unsubscribed=box.unsubscribed_at is not None,
    )


def starting_status(deal_id: str, deal_known: bool, box: Inbox) -> Status:
    return Status(
        deal_id=deal_id,
        stage="",
        state=OnboardingState.closed if box.cancel else OnboardingState.awaiting_action,
        owner="",
        next_action=None,
        reason="starting" if deal_known else "starting: waiting for deal details",
        eligible_touchpoints=[],
        timeline=box.timeline[-TIMELINE_SHOWN:],
        waiting_on="deal" if not deal_known else "nobody",
        refused_inputs=box.refused,
    )


def result(s: JourneyState | None, deal_id: str, box: Inbox, hold: PlaybookHold | None = None) -> JourneyResult:
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
            reason=box.cancel.reason if box.cancel else "closed",
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

"""Who a journey waits on, and by when: the one answer that the `status` query
(`waiting_on`, `next_action`), the `NextActionDue` search attribute and the Web UI's current
details all show (docs/support.md, "Who the journey waits on").

While a journey runs it always waits on someone, with a due time: the customer (their
action's window), the owner (the acknowledgement before the kickoff), a human (an
escalation's SLA, a journey no playbook can run), staff (a pause, to be looked at again
within `PAUSE_REVIEW`) or the journey itself (its next message, held for the customer's
business hours or the daily cap, or about to go out). Pure: the clock is an argument.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from contracts.journey import JourneyState, PlaybookHold
from contracts.playbook import Milestone
from contracts.status import NextAction, OnboardingState
from workflows import decisions

ENDED = (OnboardingState.activated, OnboardingState.closed)
# A journey no playbook can run looks again this often by itself (workflows/playbook_hold.py).
PLAYBOOK_RECHECK = timedelta(hours=24)
# A pause has no end date: staff who paused a journey look at it again within this, so a
# paused journey falls due in the lists ("stuck past their due time") instead of vanishing.
PAUSE_REVIEW = timedelta(days=7)

# The parties, as `status.waiting_on` names them (contracts/status.py).
CUSTOMER, OWNER, HUMAN, STAFF, JOURNEY, DEAL, NOBODY = (
    "customer",
    "owner",
    "human",
    "staff (resume)",
    "journey",
    "deal",
    "nobody",
)
# Every party a running journey can wait on (the replay corpus holds a journey waiting on each:
# tests/replay/test_wait_kinds.py).
WAITED_ON = (CUSTOMER, OWNER, HUMAN, STAFF, JOURNEY, DEAL)


class Awaiting(NamedTuple):
    """Who the journey waits on (`party`) and the one next step with its due time."""

    party: str
    action: NextAction | None

    @property
    def due(self) -> datetime | None:
        return self.action.due_at if self.action else None


def awaiting(s: JourneyState, m: Milestone | None, now: datetime) -> Awaiting:
    """Who a started journey waits on, by when. `now` is the workflow's clock: the due time
    of a message about to go out without waiting."""
    if s.state in ENDED or m is None:
        return Awaiting(NOBODY, None)
    p, events = s.progress, m.events()
    title = decisions.current_action(m, p).title
    if s.pause is not None:
        due = (s.paused_at or _paused_at(s) or now) + PAUSE_REVIEW
        return Awaiting(STAFF, NextAction(title=title, due_at=due, events=events))
    if s.escalation is not None:
        policy = s.playbook.playbook.escalation
        level_name, assignee = decisions.escalation_assignee(policy, s.escalation.level, s.owner)
        due = decisions.sla_due(s, s.escalation.level, s.escalation.since)
        return Awaiting(
            HUMAN,
            NextAction(title=f"{assignee.name} ({level_name}) resolves the escalation", due_at=due, events=events),
        )
    ack = s.acknowledgement
    sent = p is not None and p.direction_sent_at is not None
    if ack is not None and ack.before_kickoff and not sent:
        title = f"{s.owner.owner.name} acknowledges the journey"
        return Awaiting(OWNER, NextAction(title=title, due_at=ack.until, events=events))
    if s.next_send is not None:  # held for business hours or the daily cap
        step = s.next_send.step
        return Awaiting(
            JOURNEY, NextAction(title=f"the journey sends the {step}: '{title}'", due_at=s.next_send.at, events=events)
        )
    if not sent:  # the direction goes out next (a retry starts the conversation over too)
        # a reply right after the customer's own action, or a note to the owner once they
        # unsubscribed, goes at once; else it waits for business hours and the cap
        at = now if s.arrived_by_action or s.inbox.unsubscribed_at else decisions.proactive_send_time(s, now)
        return Awaiting(
            JOURNEY, NextAction(title=f"the journey sends the direction: '{title}'", due_at=at, events=events)
        )
    return Awaiting(CUSTOMER, NextAction(title=title, due_at=p.due_at if p else None, events=events))


def assignee(s: JourneyState, m: Milestone | None) -> str | None:
    """The `OnboardingAssignee` search attribute (v3.8): the roster id of the person the
    journey is with now. An escalation's assignee at its current level (owner, backup,
    manager: it moves up with the level); otherwise the owner, who answers for the journey
    while it waits on the customer, on itself, on their acknowledgement or in a pause (the
    person who paused is not always on the roster). None once it has ended."""
    if s.state in ENDED or m is None:
        return None
    if s.escalation is not None and s.pause is None:
        _, person = decisions.escalation_assignee(s.playbook.playbook.escalation, s.escalation.level, s.owner)
        return person.id
    return s.owner.owner.id


def hold_assignee_id(hold: PlaybookHold) -> str | None:
    """`OnboardingAssignee` of a journey no playbook can run (`hold_assignee`): the roster's
    manager, else its owner; None once it has ended."""
    if hold.state is not OnboardingState.escalated:
        return None
    return (hold.owner.manager or hold.owner.owner).id


def _paused_at(s: JourneyState) -> datetime | None:
    """When a journey paused before v3.5 (which kept no time) was paused: its timeline's
    latest `pause`, while the timeline still holds it."""
    return next((e.at for e in reversed(s.inbox.timeline) if e.event == "pause"), None)


def due_before_v3_5(s: JourneyState, m: Milestone | None) -> datetime | None:
    """The `NextActionDue` a journey upserted before v3.5 (patch `due-while-held`): none
    while paused, while a message waited for business hours or the cap before its first
    send, or at the moment of an escalation (the missed due time until the level moved)."""
    if s.state in ENDED or m is None or s.pause is not None:
        return None
    p = s.progress
    if s.escalation is not None:
        return decisions.sla_due(s, s.escalation.level, s.escalation.since)
    ack = s.acknowledgement
    if ack is not None and ack.before_kickoff and (p is None or p.direction_sent_at is None):
        return ack.until
    return p.due_at if p else None


def awaiting_hold(hold: PlaybookHold) -> Awaiting:
    """A journey no playbook can run yet: a human (the roster's manager, else the owner)
    gets it a playbook or closes it; the journey looks again by itself `PLAYBOOK_RECHECK`
    after its last look."""
    if hold.state is not OnboardingState.escalated:
        return Awaiting(NOBODY, None)
    level_name, name = hold_assignee(hold)
    action = NextAction(
        title=f"{name} ({level_name}) gets a playbook to run this journey, then resolves the escalation (retry), or closes it",
        due_at=hold.since + PLAYBOOK_RECHECK,
        events=[],
    )
    return Awaiting(HUMAN, action)


def hold_assignee(hold: PlaybookHold) -> tuple[str, str]:
    """(level name, person's name) of whom a journey without a playbook waits on: the
    roster's manager, or its owner when the roster names none."""
    if hold.owner.manager is not None:
        return "manager", hold.owner.manager.name
    return "owner", hold.owner.owner.name


def awaiting_start(deal_known: bool, now: datetime) -> Awaiting:
    """A journey before its start: it waits for the deal's details (they come when the CRM
    sends them), or starts at once (playbook, owner, kickoff)."""
    if not deal_known:
        return Awaiting(DEAL, None)
    return Awaiting(JOURNEY, NextAction(title="the journey starts: playbook, owner, kickoff", due_at=now, events=[]))

"""Why a waiting journey wakes up: one enum, and the pure rule that picks the reason.

Every wait of the journey names what it listens for; the cancel is always heard and so,
so is the server's suggestion to continue as new (see `Waiting.wait`).
When several things are pending, a staff decision already taken comes first, then the
customer, then the rest.
"""

from __future__ import annotations

from enum import Enum

from contracts.journey import Inbox, JourneyState
from contracts.playbook import Milestone
from workflows import decisions, inbox


class Wake(Enum):
    decided = "decided"  # a staff decision on the escalation is waiting to be applied
    acted = "acted"  # the customer completed the milestone (its action or an alternate)
    failed = "failed"  # a failed attempt is waiting to be answered
    help = "help"  # the customer asked for help
    unsubscribed = "unsubscribed"  # the customer wants no more email: the owner takes over
    paused = "paused"  # staff paused the journey
    resumed = "resumed"  # staff let a paused journey go on
    rescheduled = "rescheduled"  # staff moved the due time
    acknowledged = "acknowledged"  # the owner acknowledged (or the wait for it is over)
    deal = "deal"  # the deal details (or word that the CRM has them) arrived
    due = "due"  # the time ran out
    cancelled = "cancelled"  # the deal is lost: the journey closes (heard by every wait)
    hand_over = "hand_over"  # the server suggests continuing as new (heard by every wait)


def pending(
    listen: frozenset[Wake],
    box: Inbox,
    state: JourneyState | None,
    milestone: Milestone | None,
    *,
    rescheduled: bool = False,
    decided: bool = False,
    deal_known: bool = False,
) -> Wake | None:
    """The first reason, in priority order, that `listen` names and that holds now."""
    holds = {
        Wake.acted: lambda: milestone is not None and decisions.completing_event(milestone, box) is not None,
        Wake.failed: lambda: inbox.has_failures(box),
        Wake.help: lambda: box.help.count > 0,
        Wake.unsubscribed: lambda: (
            box.unsubscribed_at is not None and state is not None and not state.unsubscribe_escalated
        ),
        Wake.decided: lambda: decided,
        Wake.paused: lambda: state is not None and state.pause is not None,
        Wake.resumed: lambda: state is not None and state.pause is None,
        Wake.rescheduled: lambda: rescheduled,
        Wake.acknowledged: lambda: state is not None and state.acknowledgement is None,
        Wake.deal: lambda: deal_known,
    }
    return next((w for w in Wake if w in listen and w in holds and holds[w]()), None)


CUSTOMER = frozenset({Wake.acted, Wake.failed, Wake.help, Wake.unsubscribed})


def overdue(waiting: Wake | None, *, inbox_first: bool, spins_otherwise: bool) -> Wake:
    """What a journey whose due time has passed answers first: the customer's input `waiting`
    in the inbox (`pending(CUSTOMER, ...)`), then, with the inbox answered, the follow-up that
    fell due (`Wake.due`).

    The input first is v3.4 (`inbox_first`: patch `inbox-before-due`); older runs answered the
    follow-up first. Where that spun (`spins_otherwise`, see `spins_before_v3_4`) no run ever
    got past the point, so the input goes first there on every worker: a run that replayed the
    older order elsewhere (the patch then reads as absent for the rest of the run) never spins.
    """
    if waiting is None:
        return Wake.due
    return waiting if inbox_first or spins_otherwise else Wake.due


def spins_before_v3_4(
    waiting: Wake | None, *, follow_up_left: bool, held: bool, unsubscribed: bool, paused: bool, cancelled: bool
) -> bool:
    """Whether the follow-up first would spin: a follow-up is left, it would wait (`held`:
    business hours, the daily cap) and a failed attempt or a help request is waiting. Its wait
    gives way at once to that input, which is not answered there, and the journey comes
    straight back to the same due follow-up, never waiting (the SDK stops the task as a
    deadlock). Not so when the customer unsubscribed (the follow-up is noted, not held), when
    paused (the journey then waits for the resume) or cancelled (the journey closes)."""
    return waiting in (Wake.failed, Wake.help) and follow_up_left and held and not (unsubscribed or paused or cancelled)

"""The journey's own contract (DESIGN.md section 4): where it runs and under which id, what
starts it, what it returns, and the state it carries whole across continue-as-new. The
shapes it exchanges with others (the deal, signals, staff updates, status, owners) have
their own modules beside this one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from contracts.deal import Crm, DealClosed
from contracts.owners import OwnerAssignment
from contracts.playbook import PlaybookSnapshot
from contracts.signals import ActionFailed, Cancel, HelpRequested
from contracts.staff import Pause
from contracts.status import OnboardingState, TimelineEntry
from contracts.strict import Carried

TASK_QUEUE = "onboarding"
WORKFLOW_TYPE = "OnboardingWorkflow"


def workflow_id_for(deal_id: str) -> str:
    return f"onboarding-{deal_id}"


class JourneyInput(Carried):
    """What starts a journey. `deal` may be absent when the deal details come later:
    fetched from the CRM (`crm`: e.g. "hubspot") or delivered by the `deal_closed` signal."""

    deal_id: str
    deal: DealClosed | None = None
    crm: Crm | None = None
    # Carried over continue-as-new; None on a fresh start.
    carried: JourneyState | None = None
    # What arrived while the journey still waited for its deal, carried over continue-as-new.
    inbox: Inbox | None = None
    # Continue as new after this many transitions even when the server does not suggest it
    # (keeps histories short for very long journeys; tests use it to exercise the path).
    continue_as_new_after: int | None = Field(default=None, ge=1)
    # A journey no playbook could run yet, waiting on a human, carried over continue-as-new.
    held: PlaybookHold | None = None


# --- result ---------------------------------------------------------------------------------------


class MilestoneOutcome(Carried):
    key: str
    outcome: Literal["completed", "skipped"]
    started_at: datetime
    finished_at: datetime
    duration_seconds: float


class JourneyResult(Carried):
    deal_id: str
    state: OnboardingState
    reason: str
    owner: str
    time_to_first_action_seconds: float | None
    milestones: list[MilestoneOutcome]
    escalations: int
    runs: int = 1


# --- state carried across continue-as-new ------------------------------------------------------


class PlaybookHold(Carried):
    """A journey no playbook can run (none claims the deal and no fallback is declared, or
    the file that would is broken): it is escalated before it starts, owned but silent to the
    customer, until a playbook can run it or a human closes it (workflows/playbook_hold.py)."""

    problem: str  # why no playbook can run it (activities/playbook.py), latest first look
    owner: OwnerAssignment
    since: datetime  # the current task went out, or the journey last looked again
    escalations: int = 0  # human tasks opened so far; the open one is the last
    level: int = 1  # 1: the owner, 3: the manager (who gets it when the roster names one)
    task_open: bool = False
    state: OnboardingState = OnboardingState.escalated
    reason: str = ""


class SentHelp(Carried):
    """The help last sent in a milestone: for which action, why the attempt failed, when."""

    action: str
    reason: str
    at: datetime


class MilestoneProgress(Carried):
    index: int
    key: str
    started_at: datetime
    direction_sent_at: datetime | None = None
    due_at: datetime | None = None
    follow_ups_sent: int = 0
    failures: int = 0
    # A staff `retry` started the conversation over: the next direction is the milestone's
    # `retry` message when it has one.
    retried: bool = False
    # Help messages sent in this milestone (the second and later use `help_again`), and the
    # last one: identical help within `help_coalesce_minutes` is not sent again.
    helped: int = 0
    last_help: SentHelp | None = None
    # The last touchpoint before the milestone ended (contracts.moments.Touchpoint): direction,
    # clarify, simplify, redirect, human.
    last_touchpoint: str = ""


class FailureTally(Carried):
    """Failed attempts at one action not yet handled, coalesced: a flood is one count."""

    count: int = 0
    reason: str = ""  # the latest, truncated


class HelpTally(Carried):
    """Help requests not yet handled, coalesced into one escalation."""

    count: int = 0
    message: str = ""  # the latest, truncated


class Inbox(Carried):
    """What the outside world told the journey, kept from the first signal on (even before
    the deal details arrive), bounded, and carried whole across continue-as-new."""

    # product event name -> when the journey saw it (early actions for later milestones wait here)
    taken: dict[str, datetime] = Field(default_factory=dict)
    # event id digest -> minute (since the epoch) it was first seen; see workflows/inbox.py
    seen: dict[str, int] = Field(default_factory=dict)
    failures: dict[str, FailureTally] = Field(default_factory=dict)
    help: HelpTally = Field(default_factory=HelpTally)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    cancel: Cancel | None = None
    acknowledged_by: list[str] = Field(default_factory=list)
    refused: int = 0
    # The contact used the one-click unsubscribe (or a send found them suppressed).
    unsubscribed_at: datetime | None = None
    # Shapes of journeys recorded before the inbox was bounded; read once, then emptied.
    seen_event_ids: list[str] = Field(default_factory=list)
    pending_failures: list[ActionFailed] = Field(default_factory=list)
    pending_help: list[HelpRequested] = Field(default_factory=list)


class OpenEscalation(Carried):
    """A human task that is open: survives continue-as-new, so the next run waits on it
    instead of opening another."""

    number: int
    level: int
    reason: str
    since: datetime  # when the current level's task went out


class AcknowledgementWait(Carried):
    owner_id: str
    until: datetime
    before_kickoff: bool = False


class ScheduledSend(Carried):
    """A proactive message the journey holds for the customer's business hours or the daily
    cap: what it will send and when (the journey waits on itself meanwhile)."""

    step: str  # direction, clarify, simplify, redirect
    at: datetime


class JourneyState(Carried):
    """Everything a journey knows. Carried whole into the next run on continue-as-new."""

    deal: DealClosed
    playbook: PlaybookSnapshot
    owner: OwnerAssignment
    state: OnboardingState = OnboardingState.awaiting_action
    reason: str = "journey started"
    started_at: datetime
    first_action_at: datetime | None = None
    progress: MilestoneProgress | None = None
    outcomes: list[MilestoneOutcome] = Field(default_factory=list)
    inbox: Inbox = Field(default_factory=lambda: Inbox())
    # Frequency cap bookkeeping: the customer's local day of the last proactive message
    # and how many went out that day.
    proactive_day: date | None = None
    proactive_count: int = 0
    escalation_level: int = 0
    escalations: int = 0
    # Set while staff hold the journey: no messages go out, windows stop running.
    pause: Pause | None = None
    paused_at: datetime | None = None  # when staff paused it (None: not paused, or paused before v3.5)
    high_risk_checked: bool = False
    transitions: int = 0
    messages: int = 0
    runs: int = 1
    # The last milestone was completed by the customer's own action: the next direction is a reply.
    arrived_by_action: bool = False
    # What a paused journey had left of its window when staff paused it.
    paused_left_seconds: float | None = None
    escalation: OpenEscalation | None = None
    acknowledgement: AcknowledgementWait | None = None
    unstaffed_escalated: bool = False
    unsubscribe_escalated: bool = False
    assignments: int = 1  # owner assignments so far (the first, replacements, staff choices)
    # The proactive message being held for business hours or the daily cap (v3.5).
    next_send: ScheduledSend | None = None


JourneyState.model_rebuild()
JourneyInput.model_rebuild()

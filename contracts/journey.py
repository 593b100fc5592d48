"""Pydantic models for every boundary of a journey: input, signals, updates, query, result.

These are the public contracts of DESIGN.md section 4. They are plain data (no I/O) so the
workflow sandbox, the worker, the HTTP starters and the tests share them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

TASK_QUEUE = "onboarding"
WORKFLOW_TYPE = "OnboardingWorkflow"


def workflow_id_for(deal_id: str) -> str:
    return f"onboarding-{deal_id}"


class _Strict(BaseModel):
    # hide_input_in_errors: a refused signal or update is reported (and logged) by field and
    # reason, never with the customer's text pydantic would otherwise quote as `input_value`.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)


class OnboardingState(str, Enum):
    awaiting_action = "awaiting_action"
    clarifying = "clarifying"
    escalated = "escalated"
    activated = "activated"
    closed = "closed"


# --- the deal, as a CRM describes it --------------------------------------------------------


class Account(_Strict):
    id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=256)
    timezone: str = "UTC"
    locale: str = "en-US"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as err:  # ZoneInfoNotFoundError, ValueError on odd keys
            raise ValueError(f"unknown IANA time zone {value!r}") from err
        return value


class Contact(_Strict):
    email: EmailStr
    name: str = Field(default="", max_length=256)
    role: str = Field(default="", max_length=64)


class DealClosed(_Strict):
    """A closed-won deal: the generic webhook body, or what the CRM activity fetched."""

    deal_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    closed_at: datetime
    amount: float = Field(ge=0)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    segment: str = Field(default="smb", min_length=1, max_length=64)
    product: str = Field(default="", max_length=64)
    account: Account
    contacts: list[Contact] = Field(min_length=1)

    @field_validator("closed_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("closed_at needs a time zone offset, e.g. 2026-11-20T15:04:05Z")
        return value

    @property
    def champion(self) -> Contact:
        """The contact who receives the customer messages: the champion, else the first."""
        return next((c for c in self.contacts if c.role == "champion"), self.contacts[0])


# CRMs the journey reads a deal from: the activity `fetch_<crm>_deal` (workflows/effects.py).
Crm = Literal["hubspot", "pipedrive"]


class JourneyInput(BaseModel):
    """What starts a journey. `deal` may be absent when the deal details come later:
    fetched from the CRM (`crm="hubspot"` or `"pipedrive"`) or delivered by the `deal_closed` signal."""

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


# --- signals ---------------------------------------------------------------------------------


class DealInCrm(_Strict):
    crm: Crm


class ActionTaken(_Strict):
    action: str = Field(min_length=1, max_length=128)
    event_id: str = Field(min_length=1, max_length=256)
    occurred_at: datetime | None = None
    source: str = Field(default="product", max_length=64)


class ActionFailed(_Strict):
    action: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=1000)
    event_id: str = Field(min_length=1, max_length=256)


class HelpRequested(_Strict):
    message: str = Field(default="", max_length=2000)
    event_id: str = Field(min_length=1, max_length=256)


class Cancel(_Strict):
    reason: str = Field(default="deal lost", max_length=1000)


class OwnerAcknowledged(_Strict):
    """Signal `owner_acknowledged`: the owner confirms they own the journey."""

    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)


class Unsubscribed(_Strict):
    """The contact used the one-click unsubscribe link of a journey email (RFC 8058): no
    customer email goes out any more; the owner becomes the only touchpoint. Sent by the HTTP
    service (POST /unsubscribe/<token>); `contact_hash` is privacy.contacts.contact_hash."""

    contact_hash: str = Field(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")
    at: datetime


# --- updates ---------------------------------------------------------------------------------


class Decision(str, Enum):
    retry = "retry"
    skip = "skip"
    reassign = "reassign"
    close = "close"


class ResolveEscalation(_Strict):
    decision: Decision
    owner: str | None = Field(default=None, max_length=128)
    note: str = Field(default="", max_length=2000)
    by: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _owner_only_for_reassign(self) -> ResolveEscalation:
        if self.decision is Decision.reassign and not self.owner:
            raise ValueError("owner: required when decision is 'reassign'")
        if self.decision is not Decision.reassign and self.owner:
            raise ValueError("owner: only allowed when decision is 'reassign'")
        return self


class ReassignOwner(_Strict):
    owner: str = Field(min_length=1, max_length=128)
    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)


# How far staff may move a due time: far enough for any real plan, near enough that the
# timer arithmetic never overflows.
EXTEND_AT_MOST_DAYS = 365


class ExtendDeadline(_Strict):
    until: datetime
    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)

    @field_validator("until")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone offset, e.g. 2026-11-27T09:00:00+09:00")
        if value.year >= 9999:
            raise ValueError("must be a real date, within a year from now")
        return value


class Pause(_Strict):
    by: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=2000)


class Resume(_Strict):
    by: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=2000)


# --- owners ----------------------------------------------------------------------------------


class Person(BaseModel):
    id: str
    name: str
    email: str
    slack: str = ""
    timezone: str = "UTC"


class OwnerAssignment(BaseModel):
    owner: Person
    backup: Person | None = None
    manager: Person | None = None
    # Defaults keep histories recorded before these fields decoding (docs/owners.md).
    # Every eligible owner was full: `owner` took the journey beyond capacity.
    over_capacity: bool = False
    # Why nobody on the roster could take it (nobody serves the segment, everyone is away);
    # then `owner` is the manager, so the kickoff still goes out "from the team".
    unstaffed: str = ""


# --- query and result ------------------------------------------------------------------------


class NextAction(BaseModel):
    title: str
    due_at: datetime | None
    events: list[str]


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    detail: str = ""


class Status(BaseModel):
    deal_id: str
    stage: str
    state: OnboardingState
    owner: str
    next_action: NextAction | None
    reason: str
    eligible_touchpoints: list[str]
    timeline: list[TimelineEntry]
    escalation_level: int = 0
    paused: bool = False
    # Who the journey waits on now: customer | owner | human | deal | nobody.
    waiting_on: str = "customer"
    owner_over_capacity: bool = False
    refused_inputs: int = 0
    unsubscribed: bool = False
    variant: str | None = None  # the playbook experiment's variant this journey runs


class MilestoneOutcome(BaseModel):
    key: str
    outcome: Literal["completed", "skipped"]
    started_at: datetime
    finished_at: datetime
    duration_seconds: float


class JourneyResult(BaseModel):
    deal_id: str
    state: OnboardingState
    reason: str
    owner: str
    time_to_first_action_seconds: float | None
    milestones: list[MilestoneOutcome]
    escalations: int
    runs: int = 1


# --- state carried across continue-as-new ------------------------------------------------------


class MilestoneProgress(BaseModel):
    index: int
    key: str
    started_at: datetime
    direction_sent_at: datetime | None = None
    due_at: datetime | None = None
    follow_ups_sent: int = 0
    failures: int = 0
    # The last touchpoint before the milestone ended: direction, clarify, simplify, redirect, human.
    last_touchpoint: str = ""


class FailureTally(BaseModel):
    """Failed attempts at one action not yet handled, coalesced: a flood is one count."""

    count: int = 0
    reason: str = ""  # the latest, truncated


class HelpTally(BaseModel):
    """Help requests not yet handled, coalesced into one escalation."""

    count: int = 0
    message: str = ""  # the latest, truncated


class Inbox(BaseModel):
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


class OpenEscalation(BaseModel):
    """A human task that is open: survives continue-as-new, so the next run waits on it
    instead of opening another."""

    number: int
    level: int
    reason: str
    since: datetime  # when the current level's task went out


class AcknowledgementWait(BaseModel):
    owner_id: str
    until: datetime
    before_kickoff: bool = False


class JourneyState(BaseModel):
    """Everything a journey knows. Carried whole into the next run on continue-as-new."""

    deal: DealClosed
    playbook: "PlaybookSnapshot"
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


from contracts.playbook import PlaybookSnapshot  # noqa: E402  (models reference each other)

JourneyState.model_rebuild()
JourneyInput.model_rebuild()

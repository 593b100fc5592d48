"""What the journey hands the records, and what the records hand back: plain pydantic models
(no database imports), safe to import in workflow code."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field

from contracts.strict import Carried

# --- moments -----------------------------------------------------------------------------------


class MomentKind(str, Enum):
    started = "started"
    owner_assigned = "owner_assigned"
    told = "told"
    first_action = "first_action"
    milestone_completed = "milestone_completed"
    milestone_skipped = "milestone_skipped"
    milestone_closed = "milestone_closed"
    escalated = "escalated"
    resolved = "resolved"
    activated = "activated"
    closed = "closed"


class Touchpoint(str, Enum):
    """What the journey does to move a customer on: the one vocabulary of the messages it
    sends (`MessageRequest.kind`, the lab's triggers), of the follow-ups a playbook lists
    (`FollowUpKind` is `FOLLOW_UPS`), and of a moment's touchpoint: the last thing the
    journey did before the customer (or a human) moved it."""

    direction = "direction"
    clarify = "clarify"
    simplify = "simplify"
    redirect = "redirect"
    help = "help"  # the reply to a customer's help request
    escalation = "escalation"  # the notice to the person who has to decide
    human = "human"  # a person decided (resolve_escalation)


# The follow-ups a playbook may list, in the order they run.
FOLLOW_UPS = (Touchpoint.clarify, Touchpoint.simplify, Touchpoint.redirect)
# What goes out as a message: every touchpoint but a person's decision.
MESSAGES = tuple(t for t in Touchpoint if t is not Touchpoint.human)


class MomentRequest(Carried):
    """One business moment of one journey. `key` makes it idempotent: a retry, a replay or a
    new run writing the same key writes nothing (build it with `moment_key`)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=400)
    kind: MomentKind
    at: AwareDatetime
    workflow_id: str = Field(min_length=1, max_length=255)
    deal_id: str = Field(min_length=1, max_length=128)
    account_id: str | None = Field(default=None, max_length=128)
    segment: str | None = Field(default=None, max_length=64)
    product: str | None = Field(default=None, max_length=64)
    playbook: str | None = Field(default=None, max_length=128)
    playbook_hash: str | None = Field(default=None, max_length=128)
    journey_version: str | None = Field(default=None, max_length=32)
    variant: str | None = Field(default=None, max_length=64)
    owner: str | None = Field(default=None, max_length=128)
    milestone: str | None = Field(default=None, max_length=128)
    touchpoint: Touchpoint | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


# The most moments one `record_moments` call takes; a journey holding this many writes them
# at once (a playbook's milestones all completed by early events hold one moment each).
MOMENTS_PER_CALL = 64


class MomentsRequest(Carried):
    """A step's moments, written together (in the order they happened) in one transaction."""

    model_config = ConfigDict(extra="forbid")

    moments: list[MomentRequest] = Field(min_length=1, max_length=MOMENTS_PER_CALL)


class MomentRecorded(Carried):
    key: str
    recorded: bool  # False: that key was already there (a retry or a replay)


def moment_key(workflow_id: str, kind: MomentKind, *parts: object) -> str:
    """`<workflow id>:moment:<kind>[:<part>...]`, e.g. the milestone and its occurrence. Built
    from the workflow id (never the run id), so it survives continue-as-new and resets."""
    return ":".join([workflow_id, "moment", kind.value, *(str(p) for p in parts)])

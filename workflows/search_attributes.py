"""The search attributes a journey upserts as it moves (the keys: contracts/search_attributes.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeUpdate, TypedSearchAttributes

from contracts.deal import DealClosed
from contracts.journey import JourneyState, PlaybookHold
from contracts.playbook import Milestone
from contracts.search_attributes import (
    ASSIGNEE,
    CUSTOMER_ID,
    DEAL_ID,
    ESCALATION_LEVEL,
    NEXT_ACTION_DUE,
    OWNER,
    OWNER_OVER_CAPACITY,
    PLAYBOOK_VARIANT,
    SEGMENT,
    STAGE,
    STATE,
)
from contracts.status import Status


def journey_search_attributes(
    state: JourneyState, milestone: Milestone | None, due: datetime | None, assignee: str | None = None
) -> list[SearchAttributeUpdate[Any]]:
    """`NextActionDue` is `due`: the due time of whatever the journey waits on
    (workflows/awaiting.py, as `Bookkeeping.due_shown` reads it for the run's version).
    `OnboardingAssignee` is `assignee` (v3.8; "" unsets it); None: a run before v3.8, which
    does not upsert it."""
    progress = state.progress
    # Only journeys in an experiment carry the variant, so every other journey's upserts
    # stay exactly as they were (recorded histories replay unchanged).
    variant = [PLAYBOOK_VARIANT.value_set(state.playbook.variant)] if state.playbook.variant else []
    return [
        STAGE.value_set(progress.key if progress else ""),
        STATE.value_set(state.state.value),
        OWNER.value_set(state.owner.owner.id),
        DEAL_ID.value_set(state.deal.deal_id),
        CUSTOMER_ID.value_set(state.deal.account.id),
        SEGMENT.value_set(state.deal.segment),
        NEXT_ACTION_DUE.value_set(due) if due else NEXT_ACTION_DUE.value_unset(),
        ESCALATION_LEVEL.value_set(state.escalation_level),
        # Set on every transition like the rest; replays cleanly (the corpus checks it), but
        # a namespace must have it registered before this worker runs (docs/deploy.md).
        OWNER_OVER_CAPACITY.value_set(state.owner.over_capacity),
        *variant,
        *_assignee(assignee),
    ]


def hold_search_attributes(
    deal: DealClosed, hold: PlaybookHold, status: Status, assignee: str | None = None
) -> list[SearchAttributeUpdate[Any]]:
    """A journey no playbook can run yet (workflows/playbook_hold.py): escalated, findable
    in lists by state, owner, assignee and escalation level like any other."""
    due = status.next_action.due_at if status.next_action else None
    return [
        STAGE.value_set(""),
        STATE.value_set(hold.state.value),
        OWNER.value_set(hold.owner.owner.id),
        DEAL_ID.value_set(deal.deal_id),
        CUSTOMER_ID.value_set(deal.account.id),
        SEGMENT.value_set(deal.segment),
        NEXT_ACTION_DUE.value_set(due) if due else NEXT_ACTION_DUE.value_unset(),
        ESCALATION_LEVEL.value_set(status.escalation_level),
        OWNER_OVER_CAPACITY.value_set(hold.owner.over_capacity),
        *_assignee(assignee),
    ]


def _assignee(assignee: str | None) -> list[SearchAttributeUpdate[Any]]:
    if assignee is None:  # a run before v3.8
        return []
    return [ASSIGNEE.value_set(assignee) if assignee else ASSIGNEE.value_unset()]


def changed(
    updates: list[SearchAttributeUpdate[Any]], current: TypedSearchAttributes
) -> list[SearchAttributeUpdate[Any]]:
    """The updates that change something: a value set to what it is, or an absent one
    unset, is left out (`current` is the journey's own view, kept by the SDK as it upserts)."""
    return [u for u in updates if current.get(u.key) != u.value]

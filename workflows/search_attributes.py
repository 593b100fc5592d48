"""The custom search attributes of DESIGN.md, defined once: what staff filter lists by in
the Web UI. Every place that registers them (dev server, tests, compose) reads this list."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

from contracts.journey import JourneyState
from contracts.playbook import Milestone
from workflows.status import next_action

STAGE = SearchAttributeKey.for_keyword("OnboardingStage")
STATE = SearchAttributeKey.for_keyword("OnboardingState")
OWNER = SearchAttributeKey.for_keyword("OnboardingOwner")
DEAL_ID = SearchAttributeKey.for_keyword("DealId")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
SEGMENT = SearchAttributeKey.for_keyword("Segment")
NEXT_ACTION_DUE = SearchAttributeKey.for_datetime("NextActionDue")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
# Set by the journey when its owner took it beyond capacity (docs/owners.md).
OWNER_OVER_CAPACITY = SearchAttributeKey.for_bool("OwnerOverCapacity")
# The playbook experiment's variant the journey runs (docs/report.md); set only when it has one.
PLAYBOOK_VARIANT = SearchAttributeKey.for_keyword("PlaybookVariant")

ALL: tuple[SearchAttributeKey, ...] = (
    STAGE,
    STATE,
    OWNER,
    DEAL_ID,
    CUSTOMER_ID,
    SEGMENT,
    NEXT_ACTION_DUE,
    ESCALATION_LEVEL,
    OWNER_OVER_CAPACITY,
    PLAYBOOK_VARIANT,
)


def cli_type(key: SearchAttributeKey) -> str:
    """Type name as `temporal operator search-attribute create --type` spells it."""
    return {"KEYWORD": "Keyword", "DATETIME": "Datetime", "INT": "Int", "BOOL": "Bool"}[key.indexed_value_type.name]


def journey_search_attributes(state: JourneyState, milestone: Milestone | None) -> list[SearchAttributeUpdate]:
    """`NextActionDue` is the due time of whatever the journey waits on: the customer's
    action, the owner's acknowledgement or a human's decision (status.next_action)."""
    progress = state.progress
    _, action = next_action(state, milestone)
    due = action.due_at if action else None
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
    ]


def changed(updates: list[SearchAttributeUpdate], current: TypedSearchAttributes) -> list[SearchAttributeUpdate]:
    """The updates that change something: a value set to what it is, or an absent one
    unset, is left out (`current` is the journey's own view, kept by the SDK as it upserts)."""
    return [u for u in updates if current.get(u.key) != u.value]


def start_search_attributes(deal_id: str, customer_id: str, segment: str) -> list[SearchAttributePair]:
    """What a starter sets at start, so a journey is findable before its first transition."""
    return [
        SearchAttributePair(DEAL_ID, deal_id),
        SearchAttributePair(CUSTOMER_ID, customer_id),
        SearchAttributePair(SEGMENT, segment),
        SearchAttributePair(STATE, "awaiting_action"),
    ]

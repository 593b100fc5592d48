"""The custom search attributes of DESIGN.md, defined once: what staff filter lists by in
the Web UI. Every place that registers them (dev server, tests, compose) reads this list.
And how every journey is started (`start_options`): the starters, the lab, the dev stack's
demo, the benchmarks and the tests start journeys the same way."""

from __future__ import annotations

from typing import Any

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from contracts.deal import Crm, DealClosed
from contracts.journey import TASK_QUEUE, workflow_id_for
from contracts.metadata import static_details, static_summary

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
# The person the journey is with now: the owner, or an escalation's backup or manager as it
# moves up (workflows/awaiting.py `assignee`); empty once it has ended. Set from journey v3.8.
ASSIGNEE = SearchAttributeKey.for_keyword("OnboardingAssignee")

ALL: tuple[SearchAttributeKey[Any], ...] = (
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
    ASSIGNEE,
)


def cli_type(key: SearchAttributeKey[Any]) -> str:
    """Type name as `temporal operator search-attribute create --type` spells it."""
    return {"KEYWORD": "Keyword", "DATETIME": "Datetime", "INT": "Int", "BOOL": "Bool"}[key.indexed_value_type.name]


def start_search_attributes(deal_id: str, customer_id: str, segment: str) -> list[SearchAttributePair[Any]]:
    """What a starter sets at start, so a journey is findable before its first transition."""
    return [
        SearchAttributePair(DEAL_ID, deal_id),
        SearchAttributePair(CUSTOMER_ID, customer_id),
        SearchAttributePair(SEGMENT, segment),
        SearchAttributePair(STATE, "awaiting_action"),
    ]


def start_options(
    deal: DealClosed | str,
    *,
    task_queue: str = TASK_QUEUE,
    crm: Crm | None = None,
    playbook_name: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """The options of `Client.start_workflow` for a deal's journey (DESIGN.md section 4): id
    `onboarding-<deal id>` with conflict policy USE_EXISTING and reuse policy
    REJECT_DUPLICATE, so a redelivery never makes a second journey; the start search
    attributes and the static summary (and details), so staff find and read it before its
    first transition. `deal` is the deal, or only its id when the details come later: read
    from `crm` by the journey, or brought by the deal-closed webhook."""
    if isinstance(deal, DealClosed):
        deal_id = deal.deal_id
        attributes = start_search_attributes(deal.deal_id, deal.account.id, deal.segment)
        summary = static_summary(deal)
        details: str | None = static_details(deal, playbook_name=playbook_name, owner=owner)
    elif crm is not None:
        deal_id, details = deal, None
        attributes = [SearchAttributePair(DEAL_ID, deal_id), SearchAttributePair(STATE, "awaiting_action")]
        summary = f"{crm} deal {deal_id} · details fetched from the CRM"
    else:
        deal_id, details = deal, None
        attributes = [SearchAttributePair(DEAL_ID, deal_id)]
        summary = f"{deal_id} · waiting for the deal-closed webhook"
    options: dict[str, Any] = {
        "id": workflow_id_for(deal_id),
        "task_queue": task_queue,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "search_attributes": TypedSearchAttributes(attributes),
        "static_summary": summary,
    }
    if details is not None:
        options["static_details"] = details
    return options

"""The journey's effects: every activity it calls, with named option profiles.

QUICK reads local data (playbook, roster); DELIVERY reaches the outside world (SMTP,
Slack, CRM) and may take minutes to come back; STAFF_CHOICE answers a person waiting on
an update, so it gives up after a few attempts and says why. All retry durably otherwise:
a journey never gives up on telling the customer.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.cancellation import cancellation_requester
    from activities.escalation import EscalationActivities
    from activities.messaging import MessagingActivities
    from activities.playbook import NO_PLAYBOOK, PlaybookActivities
    from contracts import languages
    from contracts.cancellation import CancellationRequester
    from contracts.deal import DealClosed
    from contracts.escalations import CloseEscalationTask, EscalationTaskRequest
    from contracts.messages import MessageRequest, SendReceipt
    from contracts.owners import AssignOwnerRequest, OwnerAssignment, ReleaseOwnerRequest
    from contracts.playbook import PlaybookSnapshot, SnapshotRequest
    from owners.activities import OwnerActivities
    from workflows import metrics as journey_metrics

QUICK: dict[str, Any] = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
)
DELIVERY: dict[str, Any] = dict(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=30),  # a sender that died is retried after 30 s, not 60
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10)),
)
STAFF_CHOICE: dict[str, Any] = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_attempts=3),
)


async def fetch_deal(crm: str, deal_id: str) -> DealClosed:
    deal: DealClosed = await workflow.execute_activity(
        f"fetch_{crm}_deal",
        {"deal_id": deal_id},
        result_type=DealClosed,
        summary=f"read deal {deal_id} from {crm}",
        **DELIVERY,
    )
    return deal


async def snapshot(deal: DealClosed) -> PlaybookSnapshot:
    return await workflow.execute_activity_method(
        PlaybookActivities.snapshot_playbook,
        SnapshotRequest(segment=deal.segment, product=deal.product),
        summary=f"snapshot the playbook for {deal.segment}/{deal.product or '*'}",
        **QUICK,
    )


def no_playbook(err: ActivityError) -> str | None:
    """The reason no playbook can run the journey, when that is why the snapshot failed
    (activities/playbook.py `NoPlaybook`, never retried); None for any other failure."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == NO_PLAYBOOK:
        return cause.message
    return None


def customer_language(deal: DealClosed) -> str:
    """The language the customer reads (`de`): their contact's locale, else the account's."""
    return languages.language_of(deal.reader_locale)


async def assign_owner(deal: DealClosed, today: date) -> OwnerAssignment:
    return await workflow.execute_activity_method(
        OwnerActivities.assign_owner,
        AssignOwnerRequest(deal_id=deal.deal_id, segment=deal.segment, as_of=today, language=customer_language(deal)),
        summary=f"assign one owner ({deal.segment})",
        **QUICK,
    )


async def replace_owner(deal: DealClosed, today: date, silent: str) -> OwnerAssignment | None:
    """Another eligible owner for a silent one, or None when there is nobody else."""
    try:
        return await workflow.execute_activity_method(
            OwnerActivities.assign_owner,
            AssignOwnerRequest(
                deal_id=deal.deal_id,
                segment=deal.segment,
                as_of=today,
                exclude=[silent],
                language=customer_language(deal),
            ),
            summary=f"replace {silent}: no acknowledgement",
            **STAFF_CHOICE,
        )
    except ActivityError:
        return None


async def choose_owner(deal: DealClosed, today: date, owner_id: str) -> OwnerAssignment:
    """A staff member's choice of owner, checked against the roster; a refusal fails only
    the update that asked, with the roster's reason."""
    try:
        return await workflow.execute_activity_method(
            OwnerActivities.assign_owner,
            AssignOwnerRequest(deal_id=deal.deal_id, segment=deal.segment, as_of=today, preferred=owner_id),
            summary=f"reassign to {owner_id}",
            **STAFF_CHOICE,
        )
    except ActivityError as err:
        cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err.cause)
        raise ApplicationError(f"reassign refused: {cause}", non_retryable=True) from None


async def release_owner(deal: DealClosed, owner_id: str) -> None:
    """The journey is over: its owner's place in the roster is free again. (A reassignment
    moves the place by itself, through assign_owner.)"""
    await workflow.execute_activity_method(
        OwnerActivities.release_owner,
        ReleaseOwnerRequest(deal_id=deal.deal_id),
        summary=f"release {owner_id}'s place",
        **QUICK,
    )


async def requester() -> str | None:
    """v3.8: who requested the journey's cancellation (the history's identity), or None when
    it cannot be read: the journey closes either way, the reason naming whom it knows."""
    try:
        found: CancellationRequester | None = await workflow.execute_activity(
            cancellation_requester, summary="who requested the cancellation", **STAFF_CHOICE
        )
    except ActivityError:
        return None
    return found.identity if found is not None else None  # the lab's world answers nothing


async def send(request: MessageRequest, summary: str) -> SendReceipt:
    receipt: SendReceipt = await workflow.execute_activity_method(
        MessagingActivities.send_message, request, summary=summary, **DELIVERY
    )
    journey_metrics.message(request, receipt)
    return receipt


async def close_task(request: CloseEscalationTask) -> None:
    """The escalation's task in the records: resolved, ended by the customer, or cancelled."""
    try:
        await workflow.execute_activity_method(
            EscalationActivities.close_escalation_task,
            request,
            summary=f"close escalation task: {request.outcome}",
            **QUICK,
        )
    except ActivityError:
        workflow.logger.warning("escalation task not closed in the records")


async def create_task(request: EscalationTaskRequest) -> None:
    await workflow.execute_activity_method(
        EscalationActivities.create_escalation_task,
        request,
        summary=f"human task for {request.assignee.name} ({request.level_name}, level {request.level})",
        **DELIVERY,
    )

"""Escalation tasks in the records (records/tasks.py): `create_escalation_task` opens the
task for the owner, or moves it up a level, and notifies the assignee;
`close_escalation_task` closes it when a human decided, the customer acted on their own, or
the journey was cancelled. Both idempotent: a retry changes nothing and notifies nobody twice."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.messaging import MessagingActivities
from activities.settings import ActivitySettings
from contracts.escalations import (
    CloseEscalationTask,
    EscalationTask,
    EscalationTaskRecord,
    EscalationTaskRequest,
    TaskOpening,
    parse_task_key,
    task_id,
)
from contracts.messages import CHANNELS, MessageRequest, MessageTemplate, Recipient
from records.database import Database
from records.tasks import TaskNotFound, TaskStore

log = structlog.get_logger(__name__)


_TEMPLATE = MessageTemplate(
    subject="{{ milestone_title }} escalation: {{ account_name }} needs you",
    body=(
        "{{ account_name }} is stuck and needs a human.\n\n"
        "Why: {{ reason }}\n\n"
        "Open the journey and resolve it (retry, skip, reassign or close): {{ cta_url }}\n"
    ),
)


class EscalationActivities:
    def __init__(
        self, settings: ActivitySettings, messaging: MessagingActivities, records: Database | None = None
    ) -> None:
        self._settings = settings
        self._messaging = messaging
        self._tasks = TaskStore(records or Database.from_settings(settings.database_url, settings.data_dir))

    @property
    def tasks(self) -> TaskStore:
        return self._tasks

    @activity.defn
    async def create_escalation_task(self, request: EscalationTaskRequest) -> EscalationTask:
        parsed = parse_task_key(request.key)
        escalation = request.escalation or (parsed[1] if parsed else 0)
        # A key the journey did not build from an escalation number is its own task.
        ident = task_id(request.workflow_id, escalation) if escalation else request.key
        record = await self._tasks.open(
            TaskOpening(
                **request.task_fields(),
                escalation=escalation,
                assignee=request.assignee.id,
                assignee_name=request.assignee.name,
                at=request.at or datetime.now(UTC),
            ),
            id=ident,
        )
        link = f"{self._settings.ui_url}/namespaces/{self._settings.namespace}/workflows/{request.workflow_id}"
        channel = request.channel if request.channel in CHANNELS else "email"
        await self._messaging.send_message(
            MessageRequest(
                key=f"{request.key}:notice",
                deal_id=request.deal_id,
                kind="escalation",
                audience="owner",
                channel=channel,
                to=Recipient(name=request.assignee.name, email=request.assignee.email, slack=request.assignee.slack),
                template=_TEMPLATE,
                context={
                    "milestone_title": f"Level {request.level} ({request.level_name})",
                    "account_name": request.account_name,
                    "reason": request.reason,
                    "cta_url": link,
                },
            )
        )
        log.info(
            "escalation.task",
            task=record.id,
            escalation_level=record.level,
            assignee=record.assignee,
            status=record.status.value,
        )
        return EscalationTask(
            task_id=record.id, assignee=record.assignee, level=record.level, status=record.status.value
        )

    @activity.defn
    async def close_escalation_task(self, request: CloseEscalationTask) -> EscalationTaskRecord:
        try:
            record = await self._tasks.close(request)
        except TaskNotFound as err:
            # Nothing to close (the task was never written): retrying cannot change that.
            raise ApplicationError(str(err), type="TaskNotFound", non_retryable=True) from None
        log.info("escalation.task_closed", task=record.id, status=record.status.value, decision=record.decision)
        return record

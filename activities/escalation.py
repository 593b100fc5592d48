"""create_escalation_task: a human task for the owner (or the next level up), recorded and
notified. Idempotent: the same key never creates a second task or a second notice."""

from __future__ import annotations

import json
import re
from pathlib import Path

import structlog
from pydantic import BaseModel
from temporalio import activity

from activities.messaging import MessageRequest, MessagingActivities, Recipient
from activities.settings import ActivitySettings
from playbooks.schema import MessageTemplate
from workflows.models import Person

log = structlog.get_logger(__name__)


class EscalationTaskRequest(BaseModel):
    key: str
    workflow_id: str
    deal_id: str
    account_name: str
    milestone: str
    level: int
    level_name: str
    assignee: Person
    reason: str
    channel: str = "email"


class EscalationTask(BaseModel):
    task_id: str
    assignee: str
    level: int
    path: str


_TEMPLATE = MessageTemplate(
    subject="{{ milestone_title }} escalation: {{ account_name }} needs you",
    body=(
        "{{ account_name }} is stuck and needs a human.\n\n"
        "Why: {{ reason }}\n\n"
        "Open the journey and resolve it (retry, skip, reassign or close): {{ cta_url }}\n"
    ),
)


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)


class EscalationActivities:
    def __init__(self, settings: ActivitySettings, messaging: MessagingActivities) -> None:
        self._settings = settings
        self._messaging = messaging

    @activity.defn
    async def create_escalation_task(self, request: EscalationTaskRequest) -> EscalationTask:
        tasks = Path(self._settings.data_dir) / "escalations"
        tasks.mkdir(parents=True, exist_ok=True)
        path = tasks / f"{_safe(request.key)}.json"
        task = EscalationTask(task_id=request.key, assignee=request.assignee.id, level=request.level, path=str(path))
        if not path.exists():
            record = {**request.model_dump(mode="json"), "status": "open"}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, indent=2))
            tmp.replace(path)  # atomic: a retry sees either no task or the whole task
        link = f"{self._settings.ui_url}/namespaces/{self._settings.namespace}/workflows/{request.workflow_id}"
        channel = request.channel if request.channel in ("email", "slack", "console") else "email"
        await self._messaging.send_message(
            MessageRequest(
                key=f"{request.key}:notice",
                deal_id=request.deal_id,
                kind="escalation",
                audience="owner",
                channel=channel,  # type: ignore[arg-type]
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
        log.info("escalation.task", key=request.key, escalation_level=request.level, assignee=request.assignee.id)
        return task

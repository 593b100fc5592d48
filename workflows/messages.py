"""What the journey asks activities to deliver: customer messages, owner notices and
escalation tasks, built from the state and the playbook snapshot. Pure: no I/O, no clock
(the caller passes the times), so it is the same on every replay."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from contracts.escalations import EscalationTaskRequest
from contracts.journey import JourneyState
from contracts.messages import MessageRequest, MessageTemplate, Recipient
from contracts.playbook import Action, Milestone, Playbook
from workflows import business_hours, decisions, staffing


def customer_message(
    s: JourneyState,
    playbook: Playbook,
    m: Milestone,
    step: str,
    template: MessageTemplate,
    action: Action,
    due: datetime,
    reason: str,
) -> MessageRequest:
    customer, tz = s.deal.champion, s.deal.account.timezone
    # The message's language, and how its due date and amount are written (the sender
    # formats them: activities/localise.py).
    locale = s.deal.reader_locale
    return MessageRequest(
        key=decisions.message_key(workflow.info().workflow_id, m.key, step, s.messages),
        deal_id=s.deal.deal_id,
        kind=step,
        audience="customer",
        channel=playbook.channels.customer,
        to=Recipient(
            name=customer.name,
            email=str(customer.email),
            form_of_address=customer.form_of_address,
            family_name=customer.family_name,
        ),
        template=template,
        context={
            "customer_name": customer.name.split(" ")[0] if customer.name else "there",
            "account_name": s.deal.account.name,
            "action_title": action.title,
            "action_instruction": action.instruction,
            "cta_url": str(action.link),
            "owner_name": staffing.sender_name(s.owner),
            "owner_email": s.owner.owner.email,
            "due_local": business_hours.describe(due, tz).split(" (")[0],
            "milestone_title": m.title,
            "reason": reason,
        },
        locale=locale,
        timezone=tz,
        due=due,
        amount=s.deal.amount,
        currency=s.deal.currency,
    )


def task_request(s: JourneyState, playbook: Playbook, m: Milestone, level: int, reason: str) -> EscalationTaskRequest:
    level_name, assignee = decisions.escalation_assignee(playbook.escalation, level, s.owner)
    workflow_id = workflow.info().workflow_id
    return EscalationTaskRequest(
        key=decisions.message_key(workflow_id, m.key, f"escalation-{s.escalations}", level),
        workflow_id=workflow_id,
        deal_id=s.deal.deal_id,
        account_name=s.deal.account.name,
        milestone=m.key,
        level=level,
        level_name=level_name,
        assignee=assignee,
        reason=reason,
        channel=playbook.channels.owner,
        escalation=s.escalations,
        at=workflow.now(),
    )
